"""The `cors` content view: the whole story of a flow, on mitmproxy 11 and 12."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from .conftest import API, PAGE, cors_get, make_flow, preflight
from .helpers import V12, auto_picks_cors, render, styled_lines
from mitmproxy import contentviews
from mitmproxy.test import tflow

from mitmproxy_cors.mitm import explain


def ok_preflight_headers(**extra):
    h = {"Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Methods": "PUT",
         "Access-Control-Allow-Headers": "content-type, x-token", "Vary": "Origin"}
    h.update(extra)
    return h


async def test_view_is_registered_under_cors(stack):
    if V12:
        assert "cors" in contentviews.registry.available_views()
    else:
        assert contentviews.get("cors") is stack.display.view


async def test_blocked_simple_request_shows_every_check_with_needed_and_seen(stack):
    f = cors_get("/d", resp={"Access-Control-Allow-Origin": "http://evil.test"}, extra={"Cookie": "sid=1"})
    stack.feed(f)
    _desc, text = render(f.response, f)
    assert text.startswith("CORS BLOCKED: AllowOriginMismatch (failedParameter 'http://evil.test')")
    assert "Firefox:             CORSAllowOriginNotMatchingOrigin" in text
    assert "page origin:  http://app.test" in text
    assert "target:       http://api.test:8000" in text
    assert "credentials:  include  (why: the request carries a Cookie header)" in text
    assert "mode:         cors  (why: Sec-Fetch-Mode: cors)" in text
    assert "✗ Access-Control-Allow-Origin: fails" in text
    assert "needed: 'http://app.test' exactly" in text
    assert "seen:   'http://evil.test'" in text
    assert "✗ Access-Control-Allow-Credentials: must be fixed too" in text
    assert "· status: 200: any status passes" in text
    assert "set Access-Control-Allow-Origin: http://app.test" in text
    assert "add Vary: Origin   (recommended:" in text
    # the request tab tells the same story
    assert render(f.request, f)[1] == text


async def test_preflight_and_actual_name_each_other(stack):
    c = tflow.tclient_conn()
    p = preflight("/a", "PUT", "content-type,x-token", resp=ok_preflight_headers(**{"Access-Control-Max-Age": "600"}),
                  client=c)
    a = cors_get("/a", method="PUT", extra={"Content-Type": "application/json", "X-Token": "1"},
                 resp={"Access-Control-Allow-Origin": PAGE, "Vary": "Origin", "X-Secret": "s"}, client=c)
    stack.feed(p, a)
    _d, ptext = render(p.response, p)
    _d, atext = render(a.response, a)
    assert f"actual request: PUT {API}/a -> 200  [flow {a.id[:8]}]" in ptext
    assert f"preflight: OPTIONS {API}/a -> 204  [flow {p.id[:8]}]" in atext
    assert "✓ Access-Control-Allow-Methods: passes" in ptext
    assert "needed: 'PUT' listed (case-sensitive)" in ptext
    assert "needed: 'content-type, x-token' listed (any case)" in ptext
    assert "Chromium caches this preflight for 600 s" in ptext
    assert "preflighted: a preflight was sent for this request just before it" in atext
    assert "needs a preflight: yes, for method PUT and headers content-type, x-token" in atext
    assert "hidden from the page: x-secret" in atext


async def test_cache_hit_is_explained(stack):
    c = tflow.tclient_conn()
    p = preflight("/c", "PUT", resp=ok_preflight_headers(**{"Access-Control-Max-Age": "600"}), client=c, ts=5000)
    a1 = cors_get("/c", method="PUT", resp={"Access-Control-Allow-Origin": PAGE, "Vary": "Origin"}, client=c, ts=5001)
    a2 = cors_get("/c", method="PUT", resp={"Access-Control-Allow-Origin": PAGE, "Vary": "Origin"}, client=c, ts=5030)
    stack.feed(p, a1, a2)
    _d, text = render(a2.response, a2)
    assert "hit: no preflight on the wire: the browser reused a cached one" in text
    assert f"preflight (cached 30 s earlier): OPTIONS {API}/c -> 204  [flow {p.id[:8]}]" in text


async def test_unseen_preflight_is_explained(stack):
    a = cors_get("/u", method="DELETE", resp={"Access-Control-Allow-Origin": PAGE})
    stack.feed(a)
    _d, text = render(a.response, a)
    assert "unseen: the proxy saw no preflight and has no cached one" in text
    assert "preflight: none seen by the proxy" in text


async def test_failed_preflight_says_the_actual_request_was_never_sent(stack):
    p = preflight("/f", "DELETE", status=403, resp={"Access-Control-Allow-Origin": "*"})
    stack.feed(p)
    _d, text = render(p.response, p)
    assert text.startswith("CORS BLOCKED: PreflightInvalidStatus")
    assert "✗ status: fails" in text and "seen:   403" in text
    assert "~ Access-Control-Allow-Origin: passes without credentials only" in text
    assert "actual request: none, the browser never sends it after a failed preflight" in text
    assert "answer the preflight with status 204" in text
    assert "Fix if the page sends credentials" in text


async def test_preflight_redirect_stops_the_checks(stack):
    p = preflight("/r", "PUT", status=301, resp={"Location": "https://api.test/r"})
    stack.feed(p)
    _d, text = render(p.response, p)
    assert "✗ redirect: a preflight must not be redirected" in text
    assert "not reached (the browser stops at the redirect)" in text


async def test_proxy_502_is_explained(stack):
    f = cors_get("/dead", status=None)
    f.error = __import__("mitmproxy").flow.Error("[Errno 111] Connect call failed ('127.0.0.1', 9)")
    stack.observer.error(f)
    stack.view.add([f])
    text = explain.text(f, line=stack.observer.flows.line_of(f))
    assert "no response from the server: mitmproxy answered 502 Bad Gateway itself" in text
    assert "the proxy could not reach the server" in text


async def test_same_origin_and_unanalysed_flows(stack):
    same = make_flow("GET", API + "/s", {"Origin": API, "Sec-Fetch-Mode": "cors"}, 200, {}, body=b"x")
    stack.feed(same)
    assert render(same.response, same)[1].startswith("CORS does not apply: same-origin")
    fresh = cors_get("/never")  # not fed: like a flow loaded with the console's L
    text = render(fresh.response, fresh)[1]
    assert "CORS: not analysed" in text and "cors.analyze @all" in text


async def test_auto_picks_cors_for_empty_bodies_and_bodies_the_page_never_reads(stack):
    p = preflight("/auto", "PUT", resp=ok_preflight_headers())
    blocked = cors_get("/json", resp={"Access-Control-Allow-Origin": "http://x.test", "Content-Type": "application/json"},
                       body=b'{"a": 1}')
    pre_body = preflight("/auto2", "PUT", status=200, resp={**ok_preflight_headers(), "Content-Type": "application/json"})
    pre_body.response.content = b'{"ok": true}'  # a framework's route answering OPTIONS with its JSON
    allowed = cors_get("/ok", resp={"Access-Control-Allow-Origin": "*", "Content-Type": "application/json"},
                       body=b'{"a": 1}')
    same = make_flow("GET", API + "/s2", {}, 204, {})
    stack.feed(p, blocked, pre_body, allowed, same)
    assert auto_picks_cors(p.response, p)
    # The page never reads these bodies: the verdict is what to see first.
    assert auto_picks_cors(blocked.response, blocked)
    assert auto_picks_cors(pre_body.response, pre_body)
    assert not auto_picks_cors(allowed.response, allowed)  # JSON the page reads stays JSON
    assert not auto_picks_cors(same.response, same)
    assert render(allowed.response, allowed, "cors")[1].startswith("CORS allowed")  # but it renders when chosen


async def test_long_lines_are_wrapped_for_the_web_pre(stack):
    f = cors_get("/w" + "x" * 150, resp={"Access-Control-Allow-Origin": "http://evil.test"})
    stack.feed(f)
    text = render(f.response, f)[1]
    assert max(len(line) for line in text.splitlines()) <= 90


@pytest.mark.skipif(V12, reason="styled lines are the mitmproxy 11 View API")
async def test_11_styles(stack):
    f = cors_get("/st", resp={})
    stack.feed(f)
    lines = styled_lines(f.response, f)
    assert lines[0] == [("error", "CORS BLOCKED: MissingAllowOriginHeader")]
    assert all(text for line in lines for _s, text in line)  # no empty lines: 11's web UI drops them


async def test_done_unregisters_on_11_and_reload_works(stack):
    stack.display.done()
    if not V12:
        assert contentviews.get("cors") is None
    stack.display.load(SimpleNamespace(add_option=lambda *a, **k: None))  # a hot reload: no "Duplicate view"
    if not V12:
        assert contentviews.get("cors") is stack.display.view
