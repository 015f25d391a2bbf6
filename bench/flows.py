"""Corpus wire flows -> real mitmproxy `HTTPFlow` objects, as the proxy hands them to the addon."""

from __future__ import annotations

from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.test import tflow


def to_flow(w) -> http.HTTPFlow:
    req = http.Request.make(w.method, w.url, b"",
                            [(k.encode("latin-1"), v.encode("latin-1")) for k, v in w.req_headers])
    req.timestamp_start = req.timestamp_end = w.t
    client = tflow.tclient_conn()
    client.peername = (w.client, 50_000 + hash(w.client) % 10_000)
    resp = False
    if w.status is not None:
        resp = http.Response(b"HTTP/1.1", w.status, b"", 
                             http.Headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in w.resp_headers]),
                             b"", None, w.t, w.t)
    err = mflow.Error(w.error) if w.error is not None else False
    f = tflow.tflow(client_conn=client, req=req, resp=resp, err=err)
    f.id = w.id
    return f


def hooks_for(addon, f: http.HTTPFlow) -> None:
    """The hooks mitmproxy calls at the end of a flow: `response`, or `error` without a response."""
    if f.response is not None:
        addon.response(f)
    else:
        addon.error(f)
