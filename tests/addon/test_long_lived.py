"""Long-lived responses (an EventSource's text/event-stream, a streamed body) are judged at their
headers, once: `response` comes only when the stream closes (engine/long_lived.py; measured in
Chromium by tests/e2e/test_event_stream_chromium.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Optional

from mitmproxy_cors.engine.long_lived import BUFFERED_WARNING, JUDGED_AT_HEADERS

from .flows import API, PAGE, cors_get

SSE = [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-store")]


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


async def _headers_then_end(cors, f, end: str = "response") -> dict | None:
    tctx, obs = cors.tctx, cors.observer
    await tctx.master.addons.handle_lifecycle(_hook("requestheaders", f))
    await tctx.master.addons.handle_lifecycle(_hook("request", f))
    await tctx.master.addons.handle_lifecycle(_hook("responseheaders", f))
    await asyncio.sleep(0)  # the decision waits for the loop's next turn (after every addon's responseheaders)
    early = obs.flows.line_of(f)
    await tctx.master.addons.handle_lifecycle(_hook(end, f))
    return early


def _hook(name: str, f):
    from mitmproxy.proxy.layers import http as layers

    return {"requestheaders": layers.HttpRequestHeadersHook, "request": layers.HttpRequestHook,
            "responseheaders": layers.HttpResponseHeadersHook, "response": layers.HttpResponseHook,
            "error": layers.HttpErrorHook}[name](f)


async def test_event_stream_is_judged_at_its_headers_once(cors, tmp_path):
    path = tmp_path / "r.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    f = cors_get(API + "/events", status=200, resp_headers=SSE)
    early = await _headers_then_end(cors, f)
    assert early is not None, "judged before the stream ended"
    assert (early["verdict"], early["reason"]) == ("blocked", "MissingAllowOriginHeader")
    assert JUDGED_AT_HEADERS in early["notes"] and BUFFERED_WARNING in early["warnings"]
    await cors.tctx.master.addons.handle_lifecycle(_hook("error", f))  # mitmproxy 11: both hooks for a left stream
    lines = _lines(path)
    assert [x["flow_id"] for x in lines] == [f.id], "one verdict line per flow"


async def test_allowed_event_stream(cors):
    f = cors_get(API + "/events", status=200, resp_headers=[*SSE, ("Access-Control-Allow-Origin", PAGE)])
    early = await _headers_then_end(cors, f)
    assert early["verdict"] == "allowed" and early["reason"] is None
    assert f.marked == ":warning:", "the buffered stream is said on the flow"


async def test_streamed_body_is_judged_at_its_headers_without_the_buffering_warning(cors):
    f = cors_get(API + "/long-poll", status=200, resp_headers=[("Content-Type", "application/json")])
    f.response.stream = True
    early = await _headers_then_end(cors, f)
    assert early is not None and JUDGED_AT_HEADERS in early["notes"]
    assert BUFFERED_WARNING not in early["warnings"]


async def test_stream_large_bodies_counts_as_streamed_for_an_event_stream(cors):
    if "stream_large_bodies" not in cors.tctx.options:  # mitmproxy's proxyserver addon declares it
        cors.tctx.options.add_option("stream_large_bodies", Optional[str], None, "")
    cors.tctx.options.stream_large_bodies = "1"
    f = cors_get(API + "/events", status=200, resp_headers=SSE)
    early = await _headers_then_end(cors, f)
    assert BUFFERED_WARNING not in early["warnings"]


async def test_ordinary_response_is_judged_when_it_ends(cors):
    f = cors_get(API + "/api", status=200, resp_headers=[("Content-Type", "text/plain")])
    early = await _headers_then_end(cors, f)
    assert early is None
    line = cors.observer.flows.line_of(f)
    assert line is not None and JUDGED_AT_HEADERS not in line["notes"]


async def test_event_stream_cut_off_is_judged_once(cors, tmp_path):
    path = tmp_path / "r.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    f = cors_get(API + "/events", status=200, resp_headers=SSE, error="Client disconnected.")
    await _headers_then_end(cors, f, end="error")
    await cors.tctx.master.addons.handle_lifecycle(_hook("response", f))
    assert [x["flow_id"] for x in _lines(path)] == [f.id]


async def test_flow_read_from_a_file_is_judged_when_it_ends(cors):
    f = cors_get(API + "/events", status=200, resp_headers=SSE, live=False)
    early = await _headers_then_end(cors, f)
    assert early is None
    assert cors.observer.flows.line_of(f) is not None
