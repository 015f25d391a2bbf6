"""The fixer addon in the real addon chain (taddons): scope, answers, patches, metadata, comments,
--modify-headers interplay, options errors, commands, logs."""

from __future__ import annotations

import copy
import logging
import os
import time

import pytest
from mitmproxy import exceptions
from mitmproxy.test import tflow

from .conftest import API, PAGE, cors_req, preflight_req, request, response

pytestmark = pytest.mark.asyncio

NO_CORS = [("Content-Type", "text/plain"), ("Content-Length", "2")]


def hdr(f, name):
    return f.response.headers.get_all(name)


async def test_off_by_default_but_blocked_flows_carry_the_fix_text(proxy):
    f = await proxy.exchange(cors_req(), response(200, NO_CORS, b"ok"))
    assert hdr(f, "Access-Control-Allow-Origin") == []
    assert "cors_patch" not in f.metadata
    assert "cors_fix" not in f.metadata["cors"]  # rendered from the decision when asked: not on every flow
    fix = proxy.line(f)["cors_fix"]
    assert set(fix["configs"]) == {"express", "flask", "starlette", "django", "spring", "aspnet", "go", "nginx"}
    assert f'origins=["{PAGE}"]' in fix["configs"]["flask"]
    assert fix["requirement"]["origin"] == PAGE and fix["not_fixable"] is None
    assert f.metadata["cors"]["verdict"] == "blocked" and f.marked == ":heavy_multiplication_x:"


async def test_failing_preflight_answered_204_marked_and_commented(proxy):
    proxy.set(cors_fix="~d api.test")
    f = await proxy.exchange(preflight_req(acrh="x-foo"), response(404, [("Content-Type", "text/html")], b"nope"))
    assert f.response.status_code == 204
    assert f.response.raw_content == b""
    assert [(k.decode(), v.decode()) for k, v in f.response.headers.fields] == [
        ("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "x-foo"), ("Vary", "Origin")]
    meta = f.metadata["cors_patch"]
    assert meta["patched"] and meta["by"] == "cors_fix" and meta["answered_by_proxy"]
    assert meta["original"] == {"status": 404, "headers": [["Content-Type", "text/html"]]}
    assert meta["server"]["text"] == "blocked, PreflightMissingAllowOriginHeader"
    assert meta["with_fix"]["verdict"] == "allowed" and meta["status"] == [404, 204]
    assert {c["header"] for c in meta["changed"]} == {"Content-Type", "Access-Control-Allow-Origin",
                                                     "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
                                                     "Access-Control-Allow-Headers", "Vary"}
    assert f.marked == ":gear:"
    assert f.comment.startswith("CORS patched by cors_fix: server: blocked, PreflightMissingAllowOriginHeader; "
                                "with fix: allowed; status 404->204 -Content-Type +Access-Control-Allow-Origin")
    assert f.metadata["cors"]["verdict"] == "allowed"  # the observer judged the patched response
    assert "_expected" not in meta and "_clear_body" not in meta


async def test_streamed_preflight_answer_drops_the_server_body(proxy):
    proxy.set(cors_fix="~all")
    f = await proxy.exchange(preflight_req(), response(401, [("Content-Length", "5")], b"login"), stream=True)
    assert f.response.status_code == 204 and f.metadata["_sent_body"] == b""
    assert f.metadata["cors"]["verdict"] == "allowed"


async def test_actual_response_patched_in_responseheaders_even_when_streamed(proxy):
    proxy.set(cors_fix="~all")
    server = [("Access-Control-Allow-Origin", "*"), ("Content-Type", "text/plain")]
    f = await proxy.exchange(cors_req(extra=[("Cookie", "sid=1")]), response(200, server, b"body"), stream=True)
    assert hdr(f, "Access-Control-Allow-Origin") == [PAGE]
    assert hdr(f, "Access-Control-Allow-Credentials") == ["true"]
    assert hdr(f, "Vary") == ["Origin"]
    assert f.metadata["_sent_body"] == b"body"
    assert f.metadata["cors_patch"]["server"]["reason"] == "WildcardOriginNotAllowed"
    assert [c["action"] for c in f.metadata["cors_patch"]["changed"]] == ["set", "add", "add"]
    assert f.comment.endswith("~Access-Control-Allow-Origin +Access-Control-Allow-Credentials +Vary")


@pytest.mark.parametrize("make", [
    lambda: (cors_req(url="http://other.test/g"), response(200, NO_CORS, b"ok")),
    lambda: (preflight_req(url="http://other.test/p"), response(404, NO_CORS, b"no")),
    lambda: (request("GET", API + "/page", {"Sec-Fetch-Mode": "navigate"}), response(200, NO_CORS, b"ok")),
    lambda: (cors_req(), response(200, [("Access-Control-Allow-Origin", PAGE),
                                        ("Access-Control-Allow-Credentials", "true")], b"ok")),
])
async def test_out_of_scope_and_passing_flows_are_byte_identical(proxy, make):
    proxy.set(cors_fix="~d api.test", cors_policy="")
    req, (resp, body) = make()
    expected = copy.deepcopy(resp.data)
    expected.content = body
    f = await proxy.exchange(req, (resp, body))
    assert f.response.data == expected
    assert f.response is resp
    assert not f.metadata.get("cors_patch", {}).get("patched")


async def test_only_preflights_are_ever_answered(proxy):
    """An OPTIONS without Access-Control-Request-Method is an actual request (fetch(u, {method: 'OPTIONS'})):
    its response keeps status and body; only its CORS headers may be corrected."""
    proxy.set(cors_fix="~all")
    f = await proxy.exchange(request("OPTIONS", API + "/o", {"Origin": PAGE, "Sec-Fetch-Mode": "cors"}),
                             response(405, NO_CORS, b"no"))
    assert f.response.status_code == 405 and f.response.raw_content == b"no"
    assert not f.metadata["cors_patch"]["answered_by_proxy"]
    g = await proxy.exchange(request("POST", API + "/x", {"Origin": PAGE, "Sec-Fetch-Mode": "cors",
                                                          "Access-Control-Request-Method": "PUT"}),
                             response(403, NO_CORS, b"no"))
    assert g.response.status_code == 403 and g.response.raw_content == b"no"


async def test_flows_from_a_file_are_never_patched(proxy):
    proxy.set(cors_fix="~all")
    resp, body = response(404, NO_CORS, b"no")
    expected = copy.deepcopy(resp.data)
    expected.content = body
    f = await proxy.exchange(preflight_req(), (resp, body), live=False)
    assert f.response.data == expected


async def test_unreachable_server_is_listed_as_not_fixable(proxy):
    proxy.set(cors_fix="~all")
    f = await proxy.exchange(cors_req(), None, error="[Errno 111] Connect call failed")
    assert "no CORS header can fix that" in f.metadata["cors_patch"]["not_fixable"]
    assert proxy.line(f)["cors_fix"]["not_fixable"]
    lines = proxy.master.commands.execute("cors.fix @all")
    assert any("Not fixable" in line for line in lines)


async def test_redirect_with_userinfo_not_fixable(proxy):
    proxy.set(cors_fix="~all")
    f = await proxy.exchange(cors_req(), response(302, [("Location", "http://u:p@api.test:8000/next")]))
    assert "RedirectContainsCredentials" in f.metadata["cors_patch"]["not_fixable"]
    assert not f.metadata["cors_patch"]["patched"]
    assert f.metadata["cors"]["verdict"] == "blocked"


# -- --modify-headers ---------------------------------------------------------------------------------------

async def test_modify_headers_alone_is_reflected_and_shown(proxy):
    proxy.set(modify_headers=[f"/~s/Access-Control-Allow-Origin/{PAGE}"])
    f = await proxy.exchange(cors_req(), response(200, NO_CORS, b"ok"))
    assert f.metadata["cors"]["verdict"] == "allowed"
    meta = f.metadata["cors_patch"]
    assert meta["by"].startswith("another addon") and meta["patched"]
    assert meta["server"]["reason"] == "MissingAllowOriginHeader"
    assert f.comment.startswith("CORS patched by another addon (e.g. --modify-headers): server: blocked, "
                                "MissingAllowOriginHeader; with fix: allowed; +Access-Control-Allow-Origin")


async def test_modify_headers_runs_after_cors_fix_and_the_verdict_follows_it(proxy):
    proxy.set(cors_fix="~all", modify_headers=["/~s/Access-Control-Allow-Origin/*"])
    f = await proxy.exchange(cors_req(extra=[("Cookie", "sid=1")]), response(200, NO_CORS, b"ok"))
    assert hdr(f, "Access-Control-Allow-Origin") == ["*"]  # modify_headers had the last word
    assert f.metadata["cors"]["verdict"] == "blocked"
    assert f.metadata["cors"]["reason"] == "WildcardOriginNotAllowed"
    assert "--modify-headers" in f.metadata["cors_patch"]["note"]
    assert "with fix: blocked, WildcardOriginNotAllowed" in f.comment


# -- cors_policy ------------------------------------------------------------------------------------------------

POLICY = """
[[policy]]
name = "api"
scope = "~d api.test"
allow_origins = ["http://app.test"]
allow_methods = ["GET", "PUT"]
allow_headers = ["x-foo"]
allow_credentials = true
expose_headers = ["x-total"]
"""


async def test_policy_answers_preflights_without_the_server_and_decorates_responses(proxy, tmp_path):
    path = tmp_path / "cors.toml"
    path.write_text(POLICY)
    proxy.set(cors_policy=str(path))
    f = await proxy.exchange(preflight_req(acrh="x-foo"), None)  # None: the server would be unreachable
    assert f.error is None and f.response.status_code == 204
    assert dict((k.decode(), v.decode()) for k, v in f.response.headers.fields)["Access-Control-Allow-Methods"] == "GET, PUT"
    assert f.metadata["cors_patch"]["by"] == "policy api" and f.metadata["cors_patch"]["server"] is None
    assert f.comment.startswith("CORS patched by policy api: server: not asked (answered by the proxy); with fix: allowed")
    g = await proxy.exchange(cors_req("PUT", extra=[("X-Foo", "1")]), response(200, NO_CORS, b"ok"))
    assert hdr(g, "Access-Control-Allow-Origin") == [PAGE]
    assert hdr(g, "Access-Control-Expose-Headers") == ["x-total"]
    assert g.metadata["cors"]["verdict"] == "allowed" and g.marked == ":gear:"
    bad = await proxy.exchange(preflight_req(acrh="x-bar"), None)
    assert bad.metadata["cors"]["verdict"] == "blocked"
    assert bad.metadata["cors"]["reason"] == "HeaderDisallowedByPreflightResponse"
    other = await proxy.exchange(cors_req(origin="http://evil.test"), response(200, NO_CORS, b"ok"))
    assert hdr(other, "Access-Control-Allow-Origin") == [] and other.metadata["cors"]["verdict"] == "blocked"


async def test_policy_file_edits_are_picked_up_and_broken_edits_keep_the_old_policy(proxy, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    path = tmp_path / "cors.toml"
    path.write_text(POLICY)
    proxy.set(cors_policy=str(path))
    path.write_text(POLICY.replace('["GET", "PUT"]', '["GET", "PUT", "DELETE"]'))
    os.utime(path, (time.time() + 5, time.time() + 5))
    proxy.fixer._next_stat = 0
    f = await proxy.exchange(preflight_req(acrm="DELETE"), None)
    assert f.metadata["cors"]["verdict"] == "allowed"
    path.write_text("scope = ")
    os.utime(path, (time.time() + 10, time.time() + 10))
    proxy.fixer._next_stat = 0
    g = await proxy.exchange(preflight_req(acrm="DELETE"), None)
    assert g.metadata["cors"]["verdict"] == "allowed"
    assert "keeping the previous policy" in caplog.text


# -- options and commands ---------------------------------------------------------------------------------------

async def test_bad_filter_is_one_clear_error_and_the_previous_one_stays(proxy):
    proxy.set(cors_fix="~d api.test")
    with pytest.raises(exceptions.OptionsError, match=r"cors_fix: Invalid filter expression: '~bogus \('"):
        proxy.set(cors_fix="~bogus (")
    assert proxy.tctx.options.cors_fix == "~d api.test"
    f = await proxy.exchange(cors_req(), response(200, NO_CORS, b"ok"))
    assert f.metadata["cors_patch"]["patched"]


async def test_bad_policy_is_one_clear_error_and_the_previous_one_stays(proxy, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(POLICY)
    proxy.set(cors_policy=str(good))
    bad = tmp_path / "bad.toml"
    bad.write_text('scope = "~all"\nallow_origins = ["http://app.test/"]\n')
    with pytest.raises(exceptions.OptionsError, match=r"cors_policy: .*bad\.toml: allow_origins: 'http://app.test/' "
                                                      r"is not an origin"):
        proxy.set(cors_policy=str(bad))
    assert proxy.tctx.options.cors_policy == str(good)
    assert [lp.policy.name for lp in proxy.fixer.policies] == ["api"]


async def test_cors_fix_off_turns_everything_off(proxy, tmp_path):
    path = tmp_path / "cors.toml"
    path.write_text(POLICY)
    proxy.set(cors_fix="~all", cors_policy=str(path))
    proxy.master.commands.execute("cors.fix.off")
    assert proxy.tctx.options.cors_fix == "" and proxy.tctx.options.cors_policy == ""
    assert not proxy.fixer.active
    f = await proxy.exchange(preflight_req(), response(404, NO_CORS, b"no"))
    assert f.response.status_code == 404


async def test_a_log_line_per_patched_flow(proxy, caplog):
    caplog.set_level(logging.INFO, logger="mitmproxy_cors.fix")
    proxy.set(cors_fix="~all")
    await proxy.exchange(preflight_req(), response(403, NO_CORS, b"no"))
    await proxy.exchange(cors_req(), response(200, [("Access-Control-Allow-Origin", PAGE),
                                                    ("Access-Control-Allow-Credentials", "true")], b"ok"))
    lines = [r.getMessage() for r in caplog.records if r.name == "mitmproxy_cors.fix" and "server:" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0] == (f"cors_fix: OPTIONS {API}/p: server: blocked, PreflightMissingAllowOriginHeader; "
                        "with fix: allowed; answered by the proxy: -Content-Type -Content-Length "
                        "+Access-Control-Allow-Origin +Access-Control-Allow-Credentials +Access-Control-Allow-Methods +Vary")


async def test_cors_fix_command(proxy):
    await proxy.exchange(preflight_req(acrm="PUT", acrh="x-foo"), response(404, NO_CORS, b"no"))
    await proxy.exchange(cors_req("PUT", extra=[("X-Foo", "1"), ("Cookie", "s=1")]), response(200, NO_CORS, b"ok"))
    await proxy.exchange(cors_req("GET", url="http://other.test/x", origin="http://second.test"),
                         response(200, NO_CORS, b"ok"))
    flask = "\n".join(proxy.master.commands.execute("cors.fix @all flask"))
    assert 'origins=["http://app.test", "http://second.test"]' in flask
    assert 'methods=["GET", "PUT"]' in flask and 'allow_headers=["x-foo"]' in flask
    assert "supports_credentials=True" in flask
    compile(flask, "<flask snippet>", "exec")
    everything = "\n".join(proxy.master.commands.execute("cors.fix @all"))
    for title in ("Express", "Flask-CORS", "Starlette", "django-cors-headers", "Spring", "ASP.NET", "Go rs/cors", "nginx"):
        assert f"=== {title}" in everything
    with pytest.raises(exceptions.CommandError, match="unknown framework"):
        proxy.master.commands.execute("cors.fix @all cobol")
    assert proxy.master.commands.execute('cors.fix "~m NOTHING"') == ["cors.fix: no CORS requests among the 0 flow(s)"]


async def test_policy_decorates_non_cors_responses_like_the_middleware(proxy, tmp_path):
    path = tmp_path / "cors.yaml"
    path.write_text("scope: '~d api.test'\nmiddleware: starlette\nallow_origins: ['http://app.test']\n")
    proxy.set(cors_policy=str(path))
    f = await proxy.exchange(request("GET", API + "/page", {"Sec-Fetch-Mode": "navigate"}), response(200, NO_CORS, b"ok"))
    assert hdr(f, "Vary") == ["Origin"]  # Starlette's CORSMiddleware varies every response on Origin
    assert f.metadata["cors_patch"]["by"] == "policy '~d api.test'" and f.metadata["cors_patch"]["server"] is None
    g = await proxy.exchange(cors_req(url="http://other.test/x"), response(200, NO_CORS, b"ok"))
    assert hdr(g, "Vary") == [] and "cors_patch" not in g.metadata


async def test_report_lines_carry_the_fix_and_the_patch(proxy, tmp_path):
    # docs/report-schema.md: blocked flows carry `cors_fix`, patched flows `cors_patch`.
    import json

    path = tmp_path / "cors.jsonl"
    proxy.set(cors_report=str(path))
    await proxy.exchange(cors_req(), response(200, NO_CORS, b"ok"))
    proxy.set(cors_fix="~all")
    await proxy.exchange(cors_req(), response(200, NO_CORS, b"ok"))
    blocked, patched = [json.loads(line) for line in path.read_text().splitlines()]
    assert blocked["verdict"] == "blocked" and "flask" in blocked["cors_fix"]["configs"]
    assert "cors_patch" not in blocked
    assert patched["verdict"] == "allowed" and patched["cors_patch"]["patched"] is True
    assert patched["cors_patch"]["server"]["verdict"] == "blocked"


# -- cost when patching is off ------------------------------------------------------------------------

async def test_patching_off_leaves_passing_flows_without_patch_metadata(proxy):
    ok = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")]
    f = await proxy.exchange(cors_req(), response(200, ok, b"ok"))
    assert f.metadata["cors"]["verdict"] == "allowed"
    assert "cors_patch" not in f.metadata and "cors_fix" not in f.metadata["cors"]
    assert proxy.fixer._originals == {}


async def test_conditionally_allowed_flows_leave_the_fix_to_cors_fix_command(proxy):
    """`*` without a cookie: allowed (blocked only if the page sends credentials). Only blocked flows
    carry the fix text (docs/report-schema.md); `cors.fix` still covers the credentialed case."""
    f = await proxy.exchange(cors_req(), response(200, [("Access-Control-Allow-Origin", "*")], b"ok"))
    assert f.metadata["cors"]["verdict"] == "allowed" and f.metadata["cors"]["conditional"]
    assert "cors_fix" not in f.metadata["cors"]
    lines = proxy.master.commands.execute("cors.fix @all flask")
    assert any("supports_credentials=True" in line for line in lines)


async def test_flows_that_never_finish_do_not_pile_up_in_the_fixer(proxy, monkeypatch):
    from mitmproxy.proxy.layers.http import HttpResponseHeadersHook

    from mitmproxy_cors.mitm import fixer as fixer_module

    monkeypatch.setattr(fixer_module, "PENDING_FLOWS", 50)
    for _ in range(120):
        f = tflow.tflow(req=cors_req(), resp=False)
        f.response = response(200, NO_CORS)[0]
        await proxy.master.addons.handle_lifecycle(HttpResponseHeadersHook(f))
    assert len(proxy.fixer._originals) <= 50


async def test_the_fix_text_is_part_of_every_blocked_flows_decision(tmp_path):
    """One decision per flow: a bare mitmdump (no View, no report, no -w) has the same fix text for
    the view and cors.explain as the console, mitmweb and the report."""
    from mitmproxy.addons import save
    from mitmproxy.test import taddons

    from mitmproxy_cors.mitm import make_addons

    from .conftest import Proxy

    addons = make_addons()
    with taddons.context(*addons, save.Save()) as tctx:
        bare = Proxy(tctx, addons)
        f = await bare.exchange(cors_req(), response(200, NO_CORS, b"ok"))
        assert f.metadata["cors"]["verdict"] == "blocked" and "flask" in bare.line(f)["cors_fix"]["configs"]


class _HeaderChanger:
    """Someone else's addon with a response hook (it might change CORS headers)."""

    def response(self, f):
        pass


async def test_per_flow_hooks_leave_flows_alone_when_there_is_no_work():
    """Plain hooks with a guard: with patching off and nothing else that could change a response, the
    fixer touches no flow and remembers nothing; it watches responses once something may change them."""
    from mitmproxy.addons import modifyheaders
    from mitmproxy.test import taddons

    from mitmproxy_cors.mitm.fixer import CorsFixer

    def run(fixer):
        f = tflow.tflow(req=cors_req(), resp=response(200, NO_CORS, b"ok")[0])
        fixer.request(f)
        fixer.responseheaders(f)
        remembered = dict(fixer._originals)
        fixer.response(f)
        return f, remembered

    fixer = CorsFixer()
    with taddons.context(fixer, modifyheaders.ModifyHeaders()) as tctx:
        fixer.running()
        f, remembered = run(fixer)
        assert remembered == {} and "cors_patch" not in f.metadata
        tctx.configure(fixer, modify_headers=["/~s/Access-Control-Allow-Origin/*"])
        f, remembered = run(fixer)
        assert f.id in remembered
        tctx.configure(fixer, modify_headers=[])
        tctx.master.addons.add(_HeaderChanger())
        fixer.running()
        f, remembered = run(fixer)
        assert f.id in remembered


async def test_a_flow_patched_before_patching_was_turned_off_is_still_finished(proxy):
    """cors_fix cleared between a flow's responseheaders and response: the flow keeps its record of
    what was changed, and none of the unredacted bookkeeping."""
    from mitmproxy.proxy.layers.http import HttpResponseHeadersHook, HttpResponseHook

    proxy.set(cors_fix="~all")
    f = tflow.tflow(req=cors_req(), resp=response(200, [*NO_CORS, ("Set-Cookie", "s=secret")], b"ok")[0])
    await proxy.master.addons.handle_lifecycle(HttpResponseHeadersHook(f))
    proxy.set(cors_fix="")
    await proxy.master.addons.handle_lifecycle(HttpResponseHook(f))
    meta = f.metadata["cors_patch"]
    assert meta["patched"] and not [k for k in meta if k.startswith("_")]
    assert "secret" not in str(f.metadata)


async def test_with_patching_on_the_summary_says_what_the_server_alone_blocks(proxy):
    """'0 blocked' through cors_fix must not read as a fixed server."""
    from mitmproxy_cors.mitm.ledger import report_lines
    from mitmproxy_cors.mitm.terminal import summary_table

    proxy.set(cors_fix="~all")
    for i in range(2):
        f = await proxy.exchange(cors_req(), response(200, NO_CORS, b"ok"))
        assert f.metadata["cors"]["verdict"] == "allowed" and f.metadata["cors_patch"]["patched"]
    ledger = proxy.observer.analysis.ledger
    head = "0 blocked of 2 CORS flow(s) through the proxy's patches (the server alone: 2 blocked, 2 patched)"
    assert report_lines(ledger)[0] == f"cors.report: {head}: nothing blocked."
    assert summary_table(ledger).plain == f"CORS summary: {head}: nothing blocked."
