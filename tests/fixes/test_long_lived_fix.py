"""cors_fix on a long-lived response (an event stream): the patch is recorded before the verdict, which is
made at the headers (mitm/observer.py), and neither is made again when the stream closes."""

from __future__ import annotations

import asyncio

import pytest
from mitmproxy.proxy.layers.http import HttpErrorHook, HttpRequestHeadersHook, HttpRequestHook, HttpResponseHeadersHook, \
    HttpResponseHook
from mitmproxy.test import tflow

from mitmproxy_cors.engine.long_lived import JUDGED_AT_HEADERS

from .conftest import cors_req, response

pytestmark = pytest.mark.asyncio

SSE = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store")]


@pytest.mark.parametrize("stream", [False, True])
async def test_patched_event_stream_judged_at_its_headers(proxy, stream):
    proxy.set(cors_fix="~d api.test")
    f = tflow.tflow(req=cors_req(url="http://api.test/events"), resp=False)
    trigger = proxy.master.addons.handle_lifecycle
    await trigger(HttpRequestHeadersHook(f))
    await trigger(HttpRequestHook(f))
    f.response = response(200, SSE)[0]
    f.response.stream = stream
    await trigger(HttpResponseHeadersHook(f))
    await asyncio.sleep(0)  # the verdict waits for every addon's responseheaders
    line = proxy.line(f)
    assert line is not None and JUDGED_AT_HEADERS in line["notes"]
    assert line["verdict"] == "allowed"  # the patched headers are judged
    meta = f.metadata["cors_patch"]
    assert meta["patched"] and meta["by"] == "cors_fix"
    assert {c["header"] for c in meta["changed"]} >= {"Access-Control-Allow-Origin"}
    assert not any(k.startswith("_") for k in meta)
    changed = meta["changed"]
    await trigger(HttpResponseHook(f))  # the stream closes
    await trigger(HttpErrorHook(f))  # mitmproxy 11 fires both when the client left a streamed flow
    assert f.metadata["cors_patch"]["changed"] == changed
    assert proxy.line(f)["notes"] == line["notes"]
