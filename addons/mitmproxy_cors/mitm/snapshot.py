"""mitmproxy flow -> engine snapshots. Header bytes are decoded as latin-1 (one char per byte)."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

from mitmproxy import flow as mflow
from mitmproxy import http

from ..engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot


def _headers(h: http.Headers) -> Headers:
    return Headers.from_bytes(h.fields)


def _client(f: http.HTTPFlow) -> str:
    peer = f.client_conn.peername if f.client_conn else None
    return str(peer[0]) if peer else ""


def _proxy_answered(error: mflow.Error | None) -> bool:
    """mitmproxy answers the client itself (502) when the upstream failed; not when the client left."""
    if error is None:
        return False
    msg = error.msg or ""
    return msg != mflow.Error.KILLED_MESSAGE and "client disconnected" not in msg.lower()


def _url(req: http.Request) -> str:
    """The URL as a browser would have sent it: bytes that are not UTF-8 percent-encoded.

    mitmproxy decodes a raw non-UTF-8 path with surrogate escapes, which neither JSON files nor
    saved flows can hold.
    """
    url = req.url
    try:
        url.encode("utf-8")
        return url
    except UnicodeEncodeError:
        return quote(url.encode("utf-8", "surrogateescape"), safe="!#$%&'()*+,-./:;=?@[]~_")


def request_of(f: http.HTTPFlow) -> RequestSnapshot:
    return snapshot_of(capture(f))


class Capture(NamedTuple):
    """The request as it is now, for `snapshot_of` later: only references to what mitmproxy holds
    as immutable values (its header fields are a tuple of bytes), so taking it costs next to
    nothing on the request path, and later changes by other addons do not reach it."""

    method: bytes
    url: str
    fields: tuple
    timestamp: float
    client: str


def capture(f: http.HTTPFlow) -> Capture:
    req = f.request
    return Capture(req.data.method, _url(req), req.data.headers.fields,
                   req.timestamp_start or f.timestamp_created, _client(f))


def snapshot_of(c: Capture) -> RequestSnapshot:
    return RequestSnapshot(
        method=c.method.decode("latin-1"),  # like headers: undecodable bytes must stay saveable
        url=c.url,
        headers=Headers.from_bytes(c.fields),
        timestamp=c.timestamp,
        client=c.client,
    )


def exchange_of(f: http.HTTPFlow, request: RequestSnapshot | None = None) -> Exchange:
    """The flow as the engine sees it; `request` is the request as the browser sent it, when it was
    taken before other addons (stickycookie, modify_headers) changed it."""
    request = request or request_of(f)
    response = None
    if f.response is not None:
        resp = f.response
        response = ResponseSnapshot(resp.status_code, _headers(resp.headers),
                                    resp.timestamp_start or request.timestamp)
    error = f.error.msg if f.error else None
    return Exchange(f.id, request, response, error,
                    proxy_answered_error=response is None and _proxy_answered(f.error))
