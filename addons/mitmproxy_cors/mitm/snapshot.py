"""mitmproxy flow -> engine snapshots. Header bytes are decoded as latin-1 (one char per byte)."""

from __future__ import annotations

from urllib.parse import quote

from mitmproxy import flow as mflow
from mitmproxy import http

from ..engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot


def _headers(h: http.Headers) -> Headers:
    return Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in h.fields])


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
    req = f.request
    return RequestSnapshot(
        method=req.data.method.decode("latin-1"),  # like headers: undecodable bytes must stay saveable
        url=_url(req),
        headers=_headers(req.headers),
        timestamp=req.timestamp_start or f.timestamp_created,
        client=_client(f),
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
