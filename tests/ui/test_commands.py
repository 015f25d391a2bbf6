"""cors.explain, cors.report, cors.analyze, cors.clear: names, return values, bad input."""

from __future__ import annotations

import re

import pytest
from .conftest import API, PAGE, cors_get, preflight
from mitmproxy import exceptions
from mitmproxy.test import tflow

FINE = {"Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
COMMANDS = ("cors.explain", "cors.report", "cors.analyze", "cors.clear")


async def test_commands_are_registered_with_web_safe_names_and_help(stack):
    registered = stack.tctx.master.commands.commands
    for name in COMMANDS:
        assert name in registered
        assert re.fullmatch(r"[a-z.]+", name)  # mitmweb's route: /commands/[a-z.]+
        assert registered[name].help


async def test_explain_returns_the_story_as_lines(stack):
    f = cors_get("/x", resp={"Access-Control-Allow-Origin": "http://evil.test"})
    stack.feed(f)
    lines = stack.run('cors.explain "~u /x"')
    assert isinstance(lines, list) and all(isinstance(x, str) for x in lines)
    assert lines[0] == f"GET {API}/x  [flow {f.id[:8]}]"
    assert lines[1].startswith("CORS BLOCKED: AllowOriginMismatch")
    assert any("seen:   'http://evil.test'" in x for x in lines)


async def test_explain_several_flows_separates_them_and_skips_other_kinds(stack):
    a = cors_get("/one", resp={})
    b = cors_get("/two", resp={"Access-Control-Allow-Origin": PAGE})
    stack.feed(a, b)
    stack.view.add([tflow.ttcpflow()])
    lines = stack.run("cors.explain @all")
    assert lines[0] == "(1 tcp flow(s) skipped: CORS applies to HTTP only)"
    assert sum(1 for x in lines if x.startswith("-----")) == 2
    assert any(x.startswith("CORS BLOCKED: MissingAllowOriginHeader") for x in lines)
    assert any(x.startswith("CORS allowed") for x in lines)


async def test_no_flows_and_wrong_kinds_say_so(stack):
    with pytest.raises(exceptions.CommandError, match=r"cors.explain: no flows given"):
        stack.run('cors.explain "~u nothing-matches"')
    with pytest.raises(exceptions.CommandError, match=r"cors.analyze: no flows given"):
        stack.run("cors.analyze @marked")
    stack.view.add([tflow.ttcpflow(), tflow.tudpflow()])
    with pytest.raises(exceptions.CommandError,
                       match=r"cors.explain: CORS applies to HTTP flows only; the 2 flow\(s\) given are tcp, udp"):
        stack.run("cors.explain @all")


async def test_explain_tells_how_to_analyse_loaded_flows(stack):
    f = cors_get("/loaded", resp={})
    stack.view.add([f])  # loaded without addons: no verdict
    lines = stack.run("cors.explain @all")
    assert "CORS: not analysed" in lines
    assert any("cors.analyze @all" in x for x in lines)


async def test_report_is_never_an_empty_list(stack):
    assert stack.run("cors.report") == [
        "cors.report: no CORS flows seen yet (cross-origin requests with an Origin header)."]
    stack.feed(cors_get("/fine", resp=FINE))
    # FINE echoes the page's origin with credentials: an allow-list, or any origin? Said, not a finding.
    assert stack.run("cors.report") == [
        "cors.report: 0 blocked of 1 CORS flow(s): nothing blocked.",
        "cors audit: 1 endpoint(s) echo the page's origin with credentials: an allow-list or any origin? The "
        "traffic cannot tell; cors_audit=active (or cors.audit FLOWS) sends crafted origins to find out."]


async def test_report_groups_by_origin_target_and_reason(stack):
    stack.feed(cors_get("/a", resp={}), cors_get("/b", resp={}),
               cors_get("/c", resp={"Access-Control-Allow-Origin": "http://evil.test"}),
               preflight("/d", "PUT", resp={}),
               cors_get("/ok", resp=FINE))
    lines = stack.run("cors.report")
    assert lines[0] == "cors.report: 4 blocked of 5 CORS flow(s), in 3 group(s):"
    assert lines[1] == f"    2 x  {PAGE} -> {API}  MissingAllowOriginHeader"
    assert lines[2] == f"          fix: on the actual response: add Access-Control-Allow-Origin: {PAGE}"
    assert lines[3] == f"          e.g. GET {API}/a"
    assert f"    1 x  {PAGE} -> {API}  PreflightMissingAllowOriginHeader" in lines


async def test_analyze_loaded_flows_in_order_pairs_and_annotates(stack):
    c = tflow.tclient_conn()
    p = preflight("/L", "PUT", resp={"Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Methods": "PUT"},
                  client=c, ts=7000)
    a = cors_get("/L", method="PUT", resp={}, client=c, ts=7001)
    ok = cors_get("/fine", resp=FINE, ts=7002)
    inflight = cors_get("/wait", ts=7003)
    inflight.response = None
    stack.view.add([ok, a, p, inflight])  # out of order, no hooks run: as the console's L loads
    assert not a.comment and "cors" not in a.metadata
    out = stack.run("cors.analyze @all")
    assert out[0] == "cors.analyze: 3 flow(s) analysed in order: 3 CORS, 1 blocked, 2 allowed."
    assert "(1 flow(s) without a response or error skipped)" in out
    assert a.marked == ":heavy_multiplication_x:" and a.comment.startswith("MissingAllowOriginHeader — CORS blocked: ")
    assert a.metadata["cors"]["paired_flow_id"] == p.id
    assert p.metadata["cors"]["paired_flow_id"] == a.id
    assert stack.run("cors.report")[0] == "cors.report: 1 blocked of 3 CORS flow(s), in 1 group(s):"
    assert any(x.startswith("CORS BLOCKED") for x in stack.run('cors.explain "~u /L & ~m PUT"'))


async def test_clear_forgets_state_and_says_what(stack):
    p = preflight("/k", "PUT", resp={"Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Methods": "PUT",
                                     "Access-Control-Max-Age": "60"})
    stack.feed(p, cors_get("/z", resp={}))
    msg = stack.run("cors.clear")
    assert msg == ("cors.clear: forgot 2 verdict(s) of the report, 1 pending preflight(s), 1 cached preflight(s) "
                   "and 0 redirect hop(s).")
    assert not any(stack.observer.analysis.pipeline.tracker.state_size().values())
    assert stack.run("cors.report")[0].startswith("cors.report: no CORS flows seen yet")
    assert p.marked == ":heavy_multiplication_x:" or p.comment  # annotations stay


async def test_flows_can_be_passed_natively_without_a_view(stack):
    """mitmdump has no View to resolve flow specs; other addons pass flows directly."""
    f = cors_get("/native", resp={})
    stack.feed(f)
    lines = stack.tctx.master.commands.call("cors.explain", [f])
    assert lines[1].startswith("CORS BLOCKED")
