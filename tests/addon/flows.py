"""Flows as mitmproxy hands them to the addon, built with mitmproxy.test.tflow (tests/addon/README.md).

Two cross-origin hosts, the same as in tests/unit/wire.py: page `http://a.test:8001`,
API `http://b.test:8002`.
"""

from __future__ import annotations

from mitmproxy import connection, flow, http
from mitmproxy.test import tflow

PAGE = "http://a.test:8001"
API = "http://b.test:8002"
CONNECT_REFUSED = "[Errno 111] Connect call failed ('127.0.0.1', 8002)"


def client(ip: str = "127.0.0.1") -> connection.Client:
    c = tflow.tclient_conn()
    c.peername = (ip, 50000)
    return c


def make_flow(method: str, url: str, req_headers=(), *, status: int | None = None, resp_headers=(),
              t: float = 1_764_070_000.0, client_conn: connection.Client | None = None,
              error: str | None = None, live: bool = True, body: bytes = b"") -> http.HTTPFlow:
    """One flow; header values may be str or bytes (bytes go on the wire as they are)."""
    req = http.Request.make(method, url, b"", [(_b(k), _b(v)) for k, v in req_headers])
    req.timestamp_start, req.timestamp_end = t, t + 0.001
    resp: http.Response | bool = False
    if status is not None:
        resp = http.Response.make(status, body, [(_b(k), _b(v)) for k, v in resp_headers])
        resp.timestamp_start, resp.timestamp_end = t + 0.002, t + 0.003
    err: flow.Error | bool = flow.Error(error) if error is not None else False
    return tflow.tflow(client_conn=client_conn or client(), req=req, resp=resp, err=err, live=live)


def cors_get(url: str = API + "/api", *extra, origin: str = PAGE, **kw) -> http.HTTPFlow:
    return make_flow("GET", url, [("Accept", "*/*"), ("Origin", origin), *extra], **kw)


def preflight(url: str, method: str, acrh: str | None = None, *, origin: str = PAGE, **kw) -> http.HTTPFlow:
    headers = [("Accept", "*/*"), ("Access-Control-Request-Method", method)]
    if acrh is not None:
        headers.append(("Access-Control-Request-Headers", acrh))
    headers += [("Origin", origin), ("Sec-Fetch-Mode", "cors")]
    return make_flow("OPTIONS", url, headers, **kw)


def put_pair(url: str, **kw) -> tuple[http.HTTPFlow, http.HTTPFlow]:
    """A PUT preflight that the server allows, and the actual PUT it allows, 0.1 s later from the
    same client; `kw` goes to both (e.g. live=False)."""
    pre = preflight(url, "PUT", status=204, resp_headers=[("Access-Control-Allow-Origin", PAGE),
                                                          ("Access-Control-Allow-Methods", "PUT")], t=1000.0, **kw)
    act = make_flow("PUT", url, [("Origin", PAGE)], status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE)],
                    t=1000.1, client_conn=pre.client_conn, **kw)
    return pre, act


def _b(v: str | bytes) -> bytes:
    return v if isinstance(v, bytes) else v.encode("latin-1")
