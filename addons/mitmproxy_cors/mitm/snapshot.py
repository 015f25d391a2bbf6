"""mitmproxy flow -> engine snapshots. Header bytes are decoded as latin-1 (one char per byte)."""

from __future__ import annotations

import zlib
from typing import NamedTuple
from urllib.parse import quote

from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.net import encoding
from mitmproxy.net.http import url as murl

from ..engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from ..engine.opaque_response_blocking import SNIFF_BYTES

PATCH_KEY = "cors_patch"  # flow.metadata: what mitm/fixer.py changed in the response


def _proxy_answered(error: mflow.Error | None) -> bool:
    """mitmproxy answers the client itself (502) when the upstream failed; not when the client left."""
    if error is None:
        return False
    msg = error.msg or ""
    return msg != mflow.Error.KILLED_MESSAGE and "client disconnected" not in msg.lower()


def _saveable(url: str) -> str:
    """The URL as a browser would have sent it: bytes that are not UTF-8 percent-encoded.

    mitmproxy decodes a raw non-UTF-8 path with surrogate escapes, which neither JSON files nor
    saved flows can hold.
    """
    try:
        url.encode("utf-8")
        return url
    except UnicodeEncodeError:
        return quote(url.encode("utf-8", "surrogateescape"), safe="!#$%&'()*+,-./:;=?@[]~_")


def _star_path_kept() -> bool:
    """mitmproxy 11's `Request.url` keeps an asterisk-form path ("OPTIONS *"); 12 drops it."""
    req = http.Request("x", 80, b"OPTIONS", b"http", b"", b"*", b"HTTP/1.1", (), None, None, 0.0, None)
    return req.url.endswith("*")


_STAR_PATH_KEPT = _star_path_kept()


def request_of(f: http.HTTPFlow) -> RequestSnapshot:
    return snapshot_of(capture(f))


class Capture(NamedTuple):
    """The request as it is now, for `snapshot_of` later: only references to what mitmproxy holds
    as immutable values (its header fields are a tuple of bytes, the request line's parts are
    bytes), so taking it costs a few attribute reads on the request path, and later changes by
    other addons do not reach it. The URL is put together later, as mitmproxy would."""

    method: bytes
    scheme: bytes
    host: str
    port: int
    authority: bytes
    path: bytes
    fields: tuple
    timestamp: float
    peer: tuple | None


C_FIELDS, C_TIMESTAMP, C_PEER = (Capture._fields.index(n) for n in ("fields", "timestamp", "peer"))


def capture(f: http.HTTPFlow) -> Capture:
    return Capture._make(_request_fields(f))


def _request_fields(f: http.HTTPFlow) -> tuple:
    d = f.request.data
    return (d.method, d.scheme, d.host, d.port, d.authority, d.path, d.headers.fields,
            d.timestamp_start or f.timestamp_created, f.client_conn.peername if f.client_conn else None)


def url_of(c: Capture) -> str:
    """`Request.url` for the captured request line, as the running mitmproxy builds it (building a
    Request to ask would cost ten times more)."""
    if c.method.decode("utf-8", "surrogateescape").upper() == "CONNECT":
        return _saveable(f"{c.host}:{c.port}")
    path = c.path.decode("utf-8", "surrogateescape")
    if path == "*" and not _STAR_PATH_KEPT:
        path = ""
    return _saveable(murl.unparse(c.scheme.decode("utf-8", "surrogateescape"), c.host, c.port, path))


def snapshot_of(c: Capture) -> RequestSnapshot:
    return RequestSnapshot(
        method=c.method.decode("latin-1"),  # like headers: undecodable bytes must stay saveable
        url=url_of(c),
        headers=Headers.from_bytes(c.fields),
        timestamp=c.timestamp,
        client=str(c.peer[0]) if c.peer else "",
    )


def exchange_of(f: http.HTTPFlow, c: Capture | None = None) -> Exchange:
    """The flow as the engine sees it; `c` is the request as the browser sent it, when it was
    captured before other addons (stickycookie, modify_headers) changed it."""
    return exchange_of_record(record_of(f, c))


# -- flow records: a finished flow as plain tuples, for the engine in this process or in the worker --

# A plain tuple (marshal takes nothing else) of immutable values mitmproxy already holds, so building
# one costs a few attribute reads. The proxy judges a record itself or hands it to the analysis
# worker (mitm/analysis.py): the same record, the same pipeline. Fields, by index (R_REQUEST: the
# Capture's fields, as a tuple; R_PATCH: the fixer's `cors_patch`, when the proxy changed the response):
# R_NOT_IN_CAPTURE: a flow read from a file whose response is only a placeholder (see `_not_in_capture`).
# R_SERVER_IP: the address the proxy connected to (Local Network Access; absent from older records).
# R_BODY_HEAD: the response body's first bytes, decoded, for a no-cors request only (`_body_head`).
# R_DELIVERY: for a long-lived response, (how it reaches the browser, judged at its headers?)
# (engine/long_lived.py), else None.
(R_ID, R_REQUEST, R_STATUS, R_RESP_FIELDS, R_RESP_TIME, R_ERROR, R_PROXY_ANSWERED, R_PATCH, R_NOT_IN_CAPTURE,
 R_SERVER_IP, R_BODY_HEAD, R_DELIVERY) = range(12)


def record_of(f: http.HTTPFlow, c: Capture | None = None, delivery: tuple | None = None) -> tuple:
    """`c`: the request as `requestheaders` captured it (else as it is now).

    A flow read from a file (not live) whose response has status 0 or below and no header is a
    browser HAR's entry for a request the browser blocked or that failed (DevTools writes status 0,
    Playwright -1, mitmproxy's HAR reader keeps it): no server answered it that way, so it is
    judged as a request without a response in the capture, never as a response."""
    req = _request_fields(f) if c is None else tuple(c)
    resp = f.response
    err = f.error
    patch = f.metadata.get(PATCH_KEY) if f.metadata else None
    server = f.server_conn
    # Through an upstream proxy the peer is that proxy, not the server: no address then.
    peer = server.peername if server is not None and not getattr(server, "via", None) else None
    ip = str(peer[0]) if peer else None
    if resp is not None:
        if resp.status_code <= 0 and not f.live and not resp.data.headers.fields:
            return (f.id, req, None, None, None, f"status {resp.status_code}", False, patch, True, ip, None, None)
        return (f.id, req, resp.status_code, resp.data.headers.fields, resp.timestamp_start or req[C_TIMESTAMP],
                err.msg if err else None, False, patch, False, ip, _body_head(resp, req[C_FIELDS]), delivery)
    return (f.id, req, None, None, None, err.msg if err else None, _proxy_answered(err), patch, False, ip, None, None)


def _body_head(resp: http.Response, request_fields: tuple) -> bytes | None:
    """The first bytes Chromium sniffs for Opaque Response Blocking, decoded as the browser sees them;
    only for `Sec-Fetch-Mode: no-cors` (every other flow pays one scan of its request's names). None
    when the body is not at hand (streamed) or cannot be decoded."""
    for name, value in request_fields:
        if len(name) == 14 and name.lower() == b"sec-fetch-mode":
            if value.strip().lower() == b"no-cors":
                break
            return None
    else:
        return None
    raw = resp.raw_content
    if raw is None or getattr(resp, "stream", False):  # streamed: the proxy never held the body
        return None
    enc = (resp.headers.get("content-encoding") or "").strip().lower()
    try:
        if enc in ("", "identity"):
            return raw[:SNIFF_BYTES]
        if enc in ("gzip", "x-gzip", "deflate"):  # inflate only what is sniffed
            wbits = (zlib.MAX_WBITS | 16 if enc != "deflate"  # deflate: zlib-wrapped (0x78...) or raw
                     else zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS)
            return zlib.decompressobj(wbits).decompress(raw, SNIFF_BYTES)
        return encoding.decode(raw, enc)[:SNIFF_BYTES]
    except Exception:  # a body the browser cannot decode either fails in the browser: nothing to sniff
        return None


def peer_of_record(r: tuple) -> tuple | None:
    return r[R_REQUEST][C_PEER]


def exchange_of_record(r: tuple) -> Exchange:
    request = snapshot_of(Capture._make(r[R_REQUEST]))
    response = None
    if r[R_STATUS] is not None:
        response = ResponseSnapshot(r[R_STATUS], Headers.from_bytes(r[R_RESP_FIELDS]), r[R_RESP_TIME],
                                    r[R_BODY_HEAD] if len(r) > R_BODY_HEAD else None)
    extra = {PATCH_KEY: r[R_PATCH]} if r[R_PATCH] else {}
    if len(r) > R_SERVER_IP and r[R_SERVER_IP]:
        extra["server_ip"] = r[R_SERVER_IP]
    if len(r) > R_DELIVERY and r[R_DELIVERY]:
        extra["delivery"] = r[R_DELIVERY]
    return Exchange(r[R_ID], request, response, r[R_ERROR], proxy_answered_error=r[R_PROXY_ANSWERED],
                    extra=extra, not_in_capture=r[R_NOT_IN_CAPTURE])
