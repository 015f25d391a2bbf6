"""Local HTTP servers for the CORS demo and the Chromium end-to-end tests (stdlib only).

Every server answers the same way; "page" and "API" are roles, not different code:

* ``GET /`` - a blank HTML page (the page origin serves it).
* ``GET /set-cookie`` - sets ``sid=1; Path=/; SameSite=None; Secure`` (accepted over plain http on
  127.0.0.1 and localhost, which are secure contexts), so that credentialed requests from a page on
  ``http://127.0.0.1:A`` to ``http://127.0.0.1:B`` carry a ``Cookie`` (same site: ports don't count).
* any other path, any method - a response fully controlled by the query string (in the style of WPT's
  ``cors/resources/cors-makeheader.py``), described below.

Query parameters
----------------
A request is a *preflight* when its method is ``OPTIONS`` and it carries
``Access-Control-Request-Method``; every other request is an *actual* request.  Parameter names are
prefixed ``p_`` (preflight) or ``a_`` (actual); an unprefixed name applies to both phases unless that
phase has its own prefixed parameter of the same name.  Repeating a parameter repeats the header line.

=============  ==================================================================================
``status``     status code (default 200; 302 when ``location`` is given)
``acao``       ``Access-Control-Allow-Origin`` line; ``echo`` = the request's ``Origin`` (no line if
               the request has none).  ``acao=`` (empty) sends an empty header value.
``acac``       ``Access-Control-Allow-Credentials``
``acam``       ``Access-Control-Allow-Methods``; ``echo`` = the request's ``Access-Control-Request-Method``
``acah``       ``Access-Control-Allow-Headers``; ``echo`` = the request's ``Access-Control-Request-Headers``
``aceh``       ``Access-Control-Expose-Headers``
``maxage``     ``Access-Control-Max-Age``
``location``   ``Location`` value, verbatim (build the next hop's URL, with its own parameters, with
               :func:`api_url` and pass it here: each hop carries its own parameters)
``h``          a raw header line ``Name: value`` written verbatim (any bytes after the colon are kept)
``body``       ``gif`` (a 1x1 GIF, ``Content-Type: image/gif``), ``js`` (an empty script), ``html`` (the
               blank page, for a document with headers of its own: COEP, iframes) or text
               (default ``ok``; preflights default to an empty body)
``bodyhex``    the body as hex bytes (any bytes; ``Content-Type: application/octet-stream``)
``ct``         the ``Content-Type`` line instead of the body's own, verbatim; ``ct=`` sends none
``cache``      ``Cache-Control`` of the response; defaults to ``no-store`` so that repeated requests
               always reach the wire; ``cache=`` (empty) sends none
``sse``        a server-sent event stream held open this many seconds (actual requests only):
               ``Content-Type: text/event-stream``, no length, one event at once and one before it
               closes (``retry`` is ten minutes, so that EventSource does not reconnect in a test)
=============  ==================================================================================

Header values are written byte-exactly (``name: value`` with one space after the colon and the value
untouched): trailing spaces, empty values and duplicate lines survive.

Every exchange is recorded in ``server.log`` (request line and headers in wire order, response status
and headers), which the tests use to show what was on the wire and to prove that nothing was sent.

Command line: ``python servers.py [--page-port N] [--api-port N] [--api2-port N]`` starts a page server
and two API servers on 127.0.0.1 and prints their origins.
"""

from __future__ import annotations

import argparse
import http.server
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence

__all__ = ["CorsTestServer", "DemoServers", "Exchange", "api_url", "encode_params"]

PHASES = ("p", "a")
HEADER_PARAMS = {
    "acao": "Access-Control-Allow-Origin",
    "acac": "Access-Control-Allow-Credentials",
    "acam": "Access-Control-Allow-Methods",
    "acah": "Access-Control-Allow-Headers",
    "aceh": "Access-Control-Expose-Headers",
    "maxage": "Access-Control-Max-Age",
}
ECHO_SOURCE = {
    "acao": "Origin",
    "acam": "Access-Control-Request-Method",
    "acah": "Access-Control-Request-Headers",
}
SET_COOKIE = "sid=1; Path=/; SameSite=None; Secure"
BLANK_PAGE = b"<!doctype html><html><head><title>cors demo</title></head><body></body></html>\n"
GIF_1X1 = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@dataclass
class Exchange:
    """One request as the server received it and the response it wrote."""

    server: str
    time: float
    method: str
    target: str  # request target as received (path and query)
    request_headers: list[tuple[str, str]]
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path

    def request_header(self, name: str) -> list[str]:
        return [v for k, v in self.request_headers if k.lower() == name.lower()]


def encode_params(params: Mapping[str, object] | Sequence[tuple[str, object]]) -> str:
    """Encode parameters; a list value repeats the parameter (one header line each)."""
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((key, str(v)) for v in values)
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote, safe="")


def api_url(origin: str, path: str, params: Mapping[str, object] | None = None) -> str:
    """``origin`` + ``path`` + encoded ``params`` (for ``location``, nest another api_url)."""
    query = encode_params(params or {})
    return f"{origin}{path}" + (f"?{query}" if query else "")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cors-demo/1"
    server: "_HTTPServer"

    def __getattr__(self, name: str):
        # BaseHTTPRequestHandler dispatches to do_<METHOD>; accept any method, in any case.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass

    # -- request --------------------------------------------------------------------------------
    def _read_body(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)

    def _handle(self) -> None:
        self._read_body()
        exchange = Exchange(
            server=self.server.name,
            time=time.time(),
            method=self.command,
            target=self.path,
            request_headers=list(self.headers.items()),
        )
        split = urllib.parse.urlsplit(self.path)
        if split.path == "/" and self.command in ("GET", "HEAD"):
            self._respond(exchange, 200, [("Content-Type", "text/html; charset=utf-8")], BLANK_PAGE)
        elif split.path == "/set-cookie":
            self._respond(
                exchange,
                200,
                [("Set-Cookie", SET_COOKIE), ("Content-Type", "text/plain"), ("Cache-Control", "no-store")],
                b"cookie set\n",
            )
        elif split.path == "/favicon.ico":
            self._respond(exchange, 404, [("Content-Type", "text/plain")], b"")
        else:
            self._controlled(exchange, urllib.parse.parse_qsl(split.query, keep_blank_values=True))

    # -- parameter-driven response ---------------------------------------------------------------
    def _controlled(self, exchange: Exchange, query: list[tuple[str, str]]) -> None:
        preflight = self.command == "OPTIONS" and "Access-Control-Request-Method" in self.headers
        phase = "p" if preflight else "a"

        def values(name: str) -> list[str]:
            own = [v for k, v in query if k == f"{phase}_{name}"]
            return own if own else [v for k, v in query if k == name]

        headers: list[tuple[str, str]] = []
        for param, header in HEADER_PARAMS.items():
            for value in values(param):
                if value == "echo" and param in ECHO_SOURCE:
                    echoed = self.headers.get(ECHO_SOURCE[param])
                    if echoed is None:
                        continue
                    value = echoed
                headers.append((header, value))
        location = values("location")
        for value in location:
            headers.append(("Location", value))
        raw_lines = values("h")
        status_values = values("status")
        status = int(status_values[-1]) if status_values else (302 if location else 200)
        hold = values("sse")
        if hold and not preflight:
            self._event_stream(exchange, status, headers, float(hold[-1]), raw_lines)
            return

        body_kind = (values("body") or ["" if preflight else "ok"])[-1]
        if values("bodyhex"):
            body, content_type = bytes.fromhex(values("bodyhex")[-1]), "application/octet-stream"
        elif body_kind == "gif":
            body, content_type = GIF_1X1, "image/gif"
        elif body_kind == "js":
            body, content_type = b"/* ok */\n", "text/javascript"
        elif body_kind == "html":
            body, content_type = BLANK_PAGE, "text/html; charset=utf-8"
        else:
            body, content_type = body_kind.encode(), "text/plain; charset=utf-8"
        if values("ct"):  # sent as given, even for an empty body
            content_type = values("ct")[-1]
        if content_type and (body or values("ct")):
            headers.append(("Content-Type", content_type))
        cache = values("cache")
        cache_control = cache[-1] if cache else ("" if preflight else "no-store")
        if cache_control:
            headers.append(("Cache-Control", cache_control))
        self._respond(exchange, status, headers, body, raw_lines)

    def _respond(
        self,
        exchange: Exchange,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        raw_lines: Sequence[str] = (),
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        for line in raw_lines:
            self._headers_buffer.append(f"{line}\r\n".encode("latin-1"))
            name, _, value = line.partition(":")
            headers.append((name, value[1:] if value.startswith(" ") else value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304) and body:
            self.wfile.write(body)
        exchange.status = status
        exchange.response_headers = headers
        self.server.record(exchange)


    def _event_stream(self, exchange: Exchange, status: int, headers: list[tuple[str, str]], hold: float,
                      raw_lines: Sequence[str]) -> None:
        """A long-lived response: the headers and a first event at once, a second event after `hold`
        seconds, then the end (the connection closes: the body has no length)."""
        headers += [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store")]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        for line in raw_lines:
            self._headers_buffer.append(f"{line}\r\n".encode("latin-1"))
            name, _, value = line.partition(":")
            headers.append((name, value[1:] if value.startswith(" ") else value))
        self.send_header("Connection", "close")
        self.end_headers()
        exchange.status = status
        exchange.response_headers = headers
        self.server.record(exchange)
        try:
            self.wfile.write(b"retry: 600000\ndata: first\n\n")
            self.wfile.flush()
            time.sleep(hold)
            self.wfile.write(b"data: last\n\n")
            self.wfile.flush()
        except OSError:
            pass  # the client went away
        self.close_connection = True


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], name: str):
        super().__init__(address, _Handler)
        self.name = name
        self.log: list[Exchange] = []
        self._lock = threading.Lock()

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.log.append(exchange)


class CorsTestServer:
    """One server on ``host:port`` (port 0 = pick a free one) running in a daemon thread."""

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0):
        self.name = name
        self.host = host
        self._requested_port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    def origin(self, host: str | None = None) -> str:
        """``http://host:port``; pass ``host="localhost"`` for the same server under another name."""
        return f"http://{host or self.host}:{self.port}"

    @property
    def log(self) -> list[Exchange]:
        assert self._httpd is not None, "server not started"
        with self._httpd._lock:
            return list(self._httpd.log)

    def start(self) -> "CorsTestServer":
        self._httpd = _HTTPServer((self.host, self._requested_port), self.name)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"server-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "CorsTestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class DemoServers:
    """A page server and two API servers (``api``, ``api2``), all on 127.0.0.1."""

    def __init__(self, page_port: int = 0, api_port: int = 0, api2_port: int = 0, host: str = "127.0.0.1"):
        self.page = CorsTestServer("page", host, page_port)
        self.api = CorsTestServer("api", host, api_port)
        self.api2 = CorsTestServer("api2", host, api2_port)

    @property
    def all(self) -> tuple[CorsTestServer, CorsTestServer, CorsTestServer]:
        return (self.page, self.api, self.api2)

    def start(self) -> "DemoServers":
        started = []
        try:
            for server in self.all:
                started.append(server.start())
        except BaseException:
            for server in started:
                server.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.all:
            server.stop()

    def ports(self) -> dict[str, int]:
        return {server.name: server.port for server in self.all}

    def exchanges(self) -> Iterator[Exchange]:
        """All recorded exchanges of the three servers, in time order."""
        yield from sorted((e for s in self.all for e in s.log), key=lambda e: e.time)

    def __enter__(self) -> "DemoServers":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page-port", type=int, default=0)
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--api2-port", type=int, default=0)
    args = parser.parse_args(argv)
    with DemoServers(args.page_port, args.api_port, args.api2_port) as servers:
        for server in servers.all:
            print(f"{server.name:5} {server.origin()}", flush=True)
        example = api_url(servers.api.origin(), "/c/demo/", {"acao": "echo", "p_acam": "PUT"})
        print(f"example API URL: {example}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
