"""Helpers for the cors_fix / cors_policy / cors.fix tests.

`Proxy` is the addon stack of cors_addon.py (plus a View, and mitmproxy's ModifyHeaders after it,
as in the real chain) inside a taddons context; `Proxy.exchange` walks one flow through the hooks
the way mitmproxy's HTTP layer does: requestheaders, request, then either the addon's own answer or
the server's response (headers first, body stored afterwards unless streamed), responseheaders,
response; or error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.addons import modifyheaders
from mitmproxy.addons import view as mview
from mitmproxy.proxy.layers.http import (HttpErrorHook, HttpRequestHeadersHook, HttpRequestHook,
                                         HttpResponseHeadersHook, HttpResponseHook)
from mitmproxy.test import taddons, tflow

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "addons") not in sys.path:
    sys.path.insert(0, str(REPO / "addons"))
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from mitmproxy_cors.mitm import make_addons  # noqa: E402

PAGE = "http://app.test"
API = "http://api.test:8000"


def request(method: str, url: str, headers: list[tuple[str, str]] | dict, body: bytes = b"") -> http.Request:
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    req = http.Request.make(method, url, body)
    req.headers = http.Headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in items])
    return req


def response(status: int, headers: list[tuple[str, str]] | dict, body: bytes = b"") -> tuple[http.Response, bytes]:
    """A server response as the layer hands it to responseheaders: headers only (body comes later)."""
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    resp = http.Response.make(status, b"")
    resp.headers = http.Headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in items])
    resp.raw_content = None
    return resp, body


def preflight_req(url: str = API + "/p", acrm: str = "PUT", acrh: str | None = None, origin: str = PAGE):
    h = [("Origin", origin), ("Access-Control-Request-Method", acrm), ("Sec-Fetch-Mode", "cors")]
    if acrh:
        h.append(("Access-Control-Request-Headers", acrh))
    return request("OPTIONS", url, h)


def cors_req(method: str = "GET", url: str = API + "/g", extra: list[tuple[str, str]] = (), origin: str = PAGE):
    return request(method, url, [("Origin", origin), ("Sec-Fetch-Mode", "cors"), *extra])


class Proxy:
    def __init__(self, tctx, addons):
        self.tctx = tctx
        self.master = tctx.master
        self.addons = addons
        self.fixer = tctx.master.addons.get("cors_fixer")
        self.observer = tctx.master.addons.get("cors")

    def set(self, **options) -> None:
        self.tctx.options.update(**options)

    def line(self, f: http.HTTPFlow) -> dict:
        """The flow's whole report line, as the content view and cors.explain render it."""
        return self.observer.flows.line_of(f)

    async def exchange(self, req: http.Request, server: tuple[http.Response, bytes] | None = None,
                       *, error: str = "Connect call failed", stream: bool = False,
                       live: bool = True) -> http.HTTPFlow:
        f = tflow.tflow(req=req, resp=False, live=live)
        trigger = self.master.addons.handle_lifecycle
        await trigger(HttpRequestHeadersHook(f))
        await trigger(HttpRequestHook(f))
        if f.response is None:
            if server is None:
                f.error = mflow.Error(error)
                await trigger(HttpErrorHook(f))
                return f
            resp, body = server
            if stream:
                resp.stream = True
            f.response = resp
            await trigger(HttpResponseHeadersHook(f))
            if f.response.stream:
                chunks = f.response.stream(body) if callable(f.response.stream) else [body]
                f.metadata["_sent_body"] = b"".join([chunks] if isinstance(chunks, bytes) else chunks)
            else:
                f.response.raw_content = body  # what the layer does with the body it read
        else:
            await trigger(HttpResponseHeadersHook(f))
        await trigger(HttpResponseHook(f))
        return f


@pytest.fixture
def proxy():
    addons = make_addons()
    with taddons.context(*addons, modifyheaders.ModifyHeaders()) as tctx:
        v = mview.View()
        tctx.master.addons.add(v)
        yield Proxy(tctx, addons)
