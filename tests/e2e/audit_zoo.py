"""The audit zoo: one threaded stdlib HTTP server on 127.0.0.1 that answers for every Host name.

* `www.app.test` is the page: a blank page at `/`, and `/whoami` (a same-origin call with an
  Authorization header, out of the audit's scope).
* `api.app.test` is the API under audit. Every endpoint decides `Access-Control-Allow-Origin` from the
  request's `Origin`, comparing the parsed host name (the port never matters), the same way for the
  preflight (OPTIONS, 204, with `Access-Control-Allow-Methods/-Headers` for what it asked) and for the
  actual request (a small JSON body). `ENDPOINTS` says what each one does; `/login` sets the `sid`
  cookie the session rides on.
* Any other Host name is an "attacker" site: a blank page at `/`. Through a proxy that sends every
  host here (loopback_resolver.py), a browser can open a page at any crafted origin.

A connection whose first byte is a TLS handshake (0x16) is served over TLS with a self-signed
certificate, so https origins (`https://cors-audit-attacker.github.io`) can be served too, by a proxy
that does not verify the upstream certificate (`--set ssl_insecure=true`).

Every request is logged (`Zoo.hits()`): method, host, path, query, Origin, whether it carried
`X-Mitmproxy-Cors-Audit` (the active audit's probes do), whether it carried a Cookie, TLS, status and
the CORS headers of the answer.
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

PAGE_HOST = "www.app.test"
API_HOST = "api.app.test"
AUDIT_HEADER = "x-mitmproxy-cors-audit"

Policy = Callable[[str | None], bool]  # the Origin's host name (None for "null") -> granted?


def _page(host: str | None) -> bool:
    return host == PAGE_HOST


@dataclass(frozen=True)
class Endpoint:
    path: str
    grants: Policy | None  # None: Access-Control-Allow-Origin: *
    credentials: bool = True  # Access-Control-Allow-Credentials: true with a grant
    null: bool = False  # also grants the origin "null"
    method: str = "GET"  # how the page calls it
    cache: str = "no-store"
    what: str = ""


ENDPOINTS: dict[str, Endpoint] = {e.path: e for e in (
    Endpoint("/login", _page, what="sets the sid cookie; the page origin with credentials (correct)"),
    Endpoint("/reflect", lambda h: True, null=True, what="echoes any Origin with credentials"),
    Endpoint("/reflect-nocreds", lambda h: True, credentials=False, null=True,
             what="echoes any Origin without credentials (correct: public data)"),
    Endpoint("/allowlist", _page, what="exactly the page origin with credentials (correct)"),
    Endpoint("/null", _page, null=True, what="the page origin or null"),
    Endpoint("/prefix", lambda h: h is not None and h.startswith("www.app.test"), what="host startswith www.app.test"),
    Endpoint("/suffix", lambda h: h is not None and h.endswith("app.test"), what="host endswith app.test"),
    Endpoint("/regex-dot", lambda h: h is not None and re.fullmatch(r"www.app.test", h) is not None,
             what="re.fullmatch(r'www.app.test', host), dots unescaped"),
    Endpoint("/hosting", lambda h: _page(h) or (h is not None and h.endswith(".github.io")),
             what="the page origin or any *.github.io"),
    Endpoint("/subdomain", lambda h: _page(h) or (h is not None and h.endswith(".app.test")),
             what="the page origin or any *.app.test"),
    Endpoint("/star", None, credentials=False, what="* without credentials (correct: public API)"),
    Endpoint("/put", lambda h: True, null=True, method="PUT",
             what="PUT with JSON; the preflight (and the answer) echo any Origin with credentials"),
    Endpoint("/vary", _page, cache="public, max-age=600",
             what="exactly the page origin, cacheable, without Vary: Origin"),
)}


@dataclass(frozen=True)
class Hit:
    time: float  # when the request line was read
    method: str
    host: str  # the Host header's name, lowercased, without the port
    path: str
    query: str
    origin: str | None
    audit: bool  # carried X-Mitmproxy-Cors-Audit
    cookie: str | None  # the Cookie header's value
    authorization: str | None
    tls: bool
    status: int
    acao: str | None
    acac: str | None
    set_cookie: str | None


def origin_host(origin: str | None) -> str | None:
    """The host name of an Origin header value ('null' and unparsable values: None)."""
    if not origin or origin == "null":
        return None
    try:
        return urllib.parse.urlsplit(origin).hostname
    except ValueError:
        return None


def _self_signed(workdir: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "audit zoo")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("zoo.invalid")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = workdir / "zoo-cert.pem", workdir / "zoo-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    zoo: "Zoo"

    def handle_error(self, request, client_address) -> None:
        """Clients that hang up (Chromium, a proxy closing idle connections) are no error."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)

    def finish_request(self, request, client_address) -> None:
        """Plain HTTP, or TLS when the client's first byte says so."""
        request.settimeout(10)
        try:
            first = request.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":
            try:
                tls = self.zoo.tls_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
            try:
                self.RequestHandlerClass(tls, client_address, self)
            finally:
                tls.close()
            return
        self.RequestHandlerClass(request, client_address, self)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def _handle(self) -> None:
        zoo = self.server.zoo
        received = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        host = (self.headers.get("Host") or "").lower()
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        split = urllib.parse.urlsplit(self.path)
        origin = self.headers.get("Origin")
        status, headers, body = self._answer(zoo, host, split.path, origin)
        if self.command == "HEAD":
            body = b""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        # One request per connection: through loopback_resolver.py mitmproxy never reuses a server
        # connection (it matches them by the address the request names, and the script rewrote it),
        # and it keeps at most 5 open per address and client connection, so idle keep-alive
        # connections would stall the 6th request until they time out.
        self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)
        h = dict((k.lower(), v) for k, v in headers)
        zoo._log(Hit(received, self.command, host, split.path, split.query, origin,
                     AUDIT_HEADER in (k.lower() for k in self.headers.keys()), self.headers.get("Cookie"),
                     self.headers.get("Authorization"), isinstance(self.connection, ssl.SSLSocket), status,
                     h.get("access-control-allow-origin"), h.get("access-control-allow-credentials"),
                     h.get("set-cookie")))

    def _answer(self, zoo: "Zoo", host: str, path: str, origin: str | None):
        if host == API_HOST:
            return self._api(zoo, path, origin)
        if host == PAGE_HOST:
            if path == "/":
                return 200, [("Content-Type", "text/html"), ("Cache-Control", "no-store")], \
                    b"<!doctype html><title>app</title><body></body>"
            if path == "/whoami":
                return 200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], b'{"me": 1}'
            return 404, [("Content-Type", "text/plain")], b"not found"
        if path == "/":
            return 200, [("Content-Type", "text/html"), ("Cache-Control", "no-store")], \
                b"<!doctype html><title>attacker</title><body></body>"
        return 404, [("Content-Type", "text/plain")], b"not found"

    def _api(self, zoo: "Zoo", path: str, origin: str | None):
        ep = ENDPOINTS.get(path)
        if ep is None:
            return 404, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], b'{"error": "none"}'
        headers: list[tuple[str, str]] = []
        if origin is not None:
            if ep.grants is None:
                headers.append(("Access-Control-Allow-Origin", "*"))
            else:
                host = origin_host(origin)
                granted = (origin == "null" and ep.null) or (host is not None and ep.grants(host))
                if granted:
                    headers.append(("Access-Control-Allow-Origin", origin))
                    if ep.credentials:
                        headers.append(("Access-Control-Allow-Credentials", "true"))
        if self.command == "OPTIONS" and self.headers.get("Access-Control-Request-Method"):
            headers.append(("Access-Control-Allow-Methods", self.headers["Access-Control-Request-Method"]))
            if self.headers.get("Access-Control-Request-Headers"):
                headers.append(("Access-Control-Allow-Headers", self.headers["Access-Control-Request-Headers"]))
            return 204, headers + [("Cache-Control", "no-store")], b""
        headers += [("Content-Type", "application/json"), ("Cache-Control", ep.cache)]
        if path == "/login":
            headers.append(("Set-Cookie", f"sid={zoo.session}; Path=/; SameSite=Lax; HttpOnly"))
        return 200, headers, json.dumps({"endpoint": path, "ok": True}).encode()


class Zoo:
    """`with Zoo(workdir) as zoo:` serves on 127.0.0.1:`zoo.port` until the block ends."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.session = "zoo" + secrets.token_hex(12)  # the sid cookie's value; must never reach a report
        self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._hits: list[Hit] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> "Zoo":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tls_context.load_cert_chain(*_self_signed(self.workdir))
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.zoo = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="audit-zoo", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Zoo":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _log(self, hit: Hit) -> None:
        with self._lock:
            self._hits.append(hit)

    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def page_origin(self) -> str:
        return f"http://{PAGE_HOST}:{self.port}"

    def api_url(self, path: str) -> str:
        return f"http://{API_HOST}:{self.port}{path}"
