"""The page probe as mitmproxy drives it (cors_probe): what it injects and where, the Content-Security-
Policy it amends, the deliveries it answers itself, and the verdicts the records settle. Real
Chromium and Firefox run it in tests/e2e/test_page_probe_*.py."""

from __future__ import annotations

import json

from .flows import API, PAGE, cors_get, make_flow
from mitmproxy.test import taddons

from mitmproxy_cors.mitm.analysis import Analysis
from mitmproxy_cors.mitm.annotate import FlowIndex
from mitmproxy_cors.mitm.observer import CorsObserver
from mitmproxy_cors.mitm.page_probe import PROBE_PATH, CorsPageProbe, amend_policy

DOC = b"<!doctype html><html><head><title>t</title></head><body>hi</body></html>"


def document(body: bytes = DOC, headers=(), url: str = PAGE + "/", dest: str = "document"):
    return make_flow("GET", url, [("Sec-Fetch-Dest", dest), ("Sec-Fetch-Mode", "navigate")], status=200,
                     resp_headers=[("Content-Type", "text/html; charset=utf-8"), *headers], body=body)


def addons():
    analysis, flows = Analysis(), FlowIndex()
    observer = CorsObserver(analysis, flows)
    return analysis, observer, CorsPageProbe(analysis, flows, observer)


def delivery(probe: CorsPageProbe, records: list[dict], token: str | None = None, origin: str = PAGE,
             body: bytes | None = None):
    f = make_flow("POST", f"{PAGE}{PROBE_PATH}?t={token or probe.token}",
                  [("Origin", origin), ("Sec-Fetch-Site", "same-origin"), ("Content-Type", "text/plain")])
    f.request.content = body if body is not None else json.dumps({"records": records}).encode()
    return f


def fetch_record(url: str, credentials: str = "include", outcome: str = "error", **kw) -> dict:
    return {"api": "fetch", "url": url, "method": "GET", "mode": "cors", "credentials": credentials,
            "redirect": "follow", "headers": [], "outcome": outcome, "error": "Failed to fetch", **kw}


async def test_off_by_default_every_response_passes_byte_for_byte():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe)
        f = document(headers=[("Content-Security-Policy", "script-src 'self'")])
        before = f.response.copy()
        await tctx.cycle(probe, f)
        assert f.response.raw_content == before.raw_content and f.response.headers == before.headers
        assert "cors_probe" not in f.metadata


async def test_the_script_goes_first_into_head_and_unselected_responses_stay_identical():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~d a.test")
        f = document()
        await tctx.cycle(probe, f)
        body = f.response.content
        assert body.startswith(b"<!doctype html><html><head><script nonce=")
        assert probe.token.encode() in body and b"<title>t</title>" in body
        assert f.metadata["cors_probe"] == {"injected": True, "csp_amended": []}
        # another host, a script, JSON: not selected, not touched
        for other in (document(url=API + "/"), make_flow("GET", PAGE + "/app.js", [("Sec-Fetch-Dest", "script")],
                                                         status=200, resp_headers=[("Content-Type", "text/html")],
                                                         body=b"<html>"),
                      cors_get(status=200, resp_headers=[("Content-Type", "application/json")], body=b"{}")):
            raw = other.response.raw_content
            await tctx.cycle(probe, other)
            assert other.response.raw_content == raw


async def test_a_strict_policy_gets_a_nonce_for_the_one_script_and_the_one_delivery_url():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        f = document(headers=[("Content-Security-Policy", "default-src 'none'; script-src 'self'")])
        await tctx.cycle(probe, f)
        csp = f.response.headers["Content-Security-Policy"]
        nonce = f.response.content.split(b'nonce="')[1].split(b'"')[0].decode()
        assert f"script-src 'self' 'nonce-{nonce}'" in csp
        assert f"connect-src {PAGE}{PROBE_PATH}" in csp and "default-src 'none'" in csp
        assert len(f.metadata["cors_probe"]["csp_amended"]) == 2


def test_policy_amendments_are_minimal():
    amended: list[str] = []
    # allowed already: nothing changes
    assert amend_policy("default-src 'self' 'unsafe-inline'", "n", "http://x/p", amended) == "default-src 'self' 'unsafe-inline'"
    assert amended == []
    # a nonce of the page's own disables 'unsafe-inline': ours is added beside it
    assert amend_policy("script-src 'unsafe-inline' 'nonce-abc'", "n", "http://x/p", amended) == \
        "script-src 'unsafe-inline' 'nonce-abc' 'nonce-n'"
    # connect-src without 'self': the delivery URL alone
    assert amend_policy("connect-src https://api.test", None, "http://x/p", []) == "connect-src https://api.test http://x/p"


async def test_a_sandboxed_or_streamed_document_is_left_alone_and_says_why():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        f = document(headers=[("Content-Security-Policy", "sandbox allow-scripts")])
        await tctx.cycle(probe, f)
        assert f.response.content == DOC and "sandbox" in f.metadata["cors_probe"]["why"]


async def test_a_delivery_settles_the_conditional_verdict_of_the_flow_it_describes():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        tctx.configure(observer)
        api = cors_get(API + "/me", status=200, resp_headers=[("Access-Control-Allow-Origin", "*")])
        await tctx.cycle(observer, api)
        assert api.metadata["cors"]["verdict"] == "allowed" and api.metadata["cors"]["conditional"]
        d = delivery(probe, [fetch_record(API + "/me")])
        await tctx.cycle(probe, d)
        assert d.response.status_code == 204 and d.metadata["cors_probe"]["records"] == 1
        line = observer.flows.line_of(api)
        assert line["verdict"] == "blocked" and line["reason"] == "WildcardOriginNotAllowed"
        assert line["credentials"] == "include" and line["conditional"] is None
        assert line["credentials_source"].startswith("the page probe: fetch(")
        assert line["webkit_message"] == "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true."
        assert api.marked == ":heavy_multiplication_x:"


async def test_without_credentials_the_conditional_goes_and_the_verdict_stays():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        tctx.configure(observer)
        api = cors_get(API + "/pub", status=200, resp_headers=[("Access-Control-Allow-Origin", "*")])
        await tctx.cycle(observer, api)
        await tctx.cycle(probe, delivery(probe, [fetch_record(API + "/pub", "same-origin", "response", status=200)]))
        line = observer.flows.line_of(api)
        assert line["verdict"] == "allowed" and line["credentials"] == "omit" and line["conditional"] is None


async def test_a_request_refused_before_sending_is_named_on_the_delivery():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        d = delivery(probe, [fetch_record(API + "/x", "same-origin", mode="same-origin")])
        await tctx.cycle(probe, d)
        refusal = d.metadata["cors_probe"]["refusals"][0]
        assert refusal["reason"] == "DisallowedByMode" and refusal["url"] == API + "/x"
        assert d.comment.startswith("DisallowedByMode — CORS blocked in the page before sending")
        assert d.marked == ":heavy_multiplication_x:"
        assert "blocked in the page before sending" in "\n".join(
            __import__("mitmproxy_cors.mitm.ledger", fromlist=["report_lines"]).report_lines(analysis.ledger))


async def test_untrusted_deliveries_are_refused_and_never_forwarded():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        for bad in (delivery(probe, [fetch_record(API + "/x")], token="guess"),
                    delivery(probe, [fetch_record(API + "/x")], origin="http://evil.test")):
            await tctx.cycle(probe, bad)
            assert bad.response.status_code == 403 and "refused" in bad.metadata["cors_probe"]
        junk = delivery(probe, [], body=b"{not json")
        await tctx.cycle(probe, junk)
        assert junk.response.status_code == 204 and junk.metadata["cors_probe"]["problems"]


async def test_through_the_analysis_worker_the_console_gets_the_settled_verdicts_and_the_refusals():
    """The console and mitmweb judge in the worker: the delivery goes there as a message, and the
    updates and refusals come back to annotate the flows."""
    import asyncio
    import time

    from mitmproxy_cors.mitm.offload import AnalysisWorker, worker_command

    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        tctx.configure(observer)
        observer.worker = AnalysisWorker(asyncio.get_running_loop(), worker_command(), observer._annotate_from_worker)
        observer.annotating = True
        observer.worker.send(("config", observer._worker_config()))
        try:
            api = cors_get(API + "/me", status=200, resp_headers=[("Access-Control-Allow-Origin", "*")])
            await tctx.cycle(observer, api)
            d = delivery(probe, [fetch_record(API + "/me"), fetch_record(API + "/gone", mode="same-origin")])
            await tctx.cycle(probe, d)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                    (api.metadata.get("cors") or {}).get("verdict") == "blocked" and d.marked):
                await asyncio.sleep(0.05)
        finally:
            assert observer.worker.close({"summary": False}) == 0
        assert api.metadata["cors"]["verdict"] == "blocked" and api.metadata["cors"]["credentials"] == "include"
        assert d.metadata["cors_probe"]["refusals"][0]["reason"] == "DisallowedByMode"
        assert d.comment.startswith("DisallowedByMode")


async def test_the_delivery_explains_its_refusals_and_the_exit_summary_lists_them():
    import io

    from rich.console import Console

    from mitmproxy_cors.mitm.explain import plain, story
    from mitmproxy_cors.mitm.terminal import print_summary

    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        d = delivery(probe, [fetch_record(API + "/x", "same-origin", mode="same-origin")])
        await tctx.cycle(probe, d)
        text = "\n".join(plain(story(d)))
        assert "1 request(s) blocked in the page before sending" in text
        assert "DisallowedByMode: GET http://b.test:8002/x" in text and "fix: use mode: 'cors'" in text
        out = io.StringIO()
        print_summary(Console(file=out, width=120), analysis.ledger)
        assert "cors probe: 1 request(s) blocked in the page before sending" in out.getvalue()


async def test_a_page_that_saw_otherwise_than_the_verdict_is_shown_not_hidden():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        tctx.configure(observer)
        api = cors_get(API + "/ok", status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE)])
        await tctx.cycle(observer, api)
        assert api.metadata["cors"]["verdict"] == "allowed"
        await tctx.cycle(probe, delivery(probe, [fetch_record(API + "/ok", "omit", "error")]))
        line = observer.flows.line_of(api)
        assert line["verdict"] == "allowed"
        assert any(w.startswith("the page saw this request fail") for w in line["warnings"])
        assert api.marked == ":warning:"


async def test_a_refusal_fails_the_ci_gate():
    from mitmproxy_cors.mitm.gate import finish_session

    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        await tctx.cycle(probe, delivery(probe, [fetch_record(API + "/x", "same-origin", mode="same-origin")]))
    assert finish_session(analysis, "", "blocked", "") is True


async def test_the_html_report_lists_the_refusals():
    from mitmproxy_cors.mitm.html_report import html_report

    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        await tctx.cycle(probe, delivery(probe, [fetch_record(API + "/x<y", "same-origin", mode="same-origin")]))
    page = html_report(analysis.ledger, analysis.stories)
    assert "Blocked in the page before sending (1)" in page and "http://b.test:8002/x&lt;y" in page


async def test_a_redirect_under_redirect_error_fails_the_fetch_not_cors():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        tctx.configure(observer)
        api = cors_get(API + "/moved", status=302, resp_headers=[("Access-Control-Allow-Origin", PAGE),
                                                               ("Location", API + "/there")])
        await tctx.cycle(observer, api)
        assert api.metadata["cors"]["verdict"] == "allowed"
        await tctx.cycle(probe, delivery(probe, [fetch_record(API + "/moved", "omit", redirect="error")]))
        line = observer.flows.line_of(api)
        assert (line["verdict"], line["reason"]) == ("blocked", None)
        assert "redirect: 'error'" in line["cause"] and "not a CORS error" in line["cause"]


async def test_a_failure_that_is_not_cors_stays_one_when_the_probe_settles_credentials():
    analysis, observer, probe = addons()
    with taddons.context(probe, observer) as tctx:
        tctx.configure(probe, cors_probe="~all")
        tctx.configure(observer)
        api = cors_get(API + "/to-data", status=302, resp_headers=[("Access-Control-Allow-Origin", "*"),
                                                                 ("Location", "data:,x")])
        await tctx.cycle(observer, api)
        before = observer.flows.line_of(api)
        assert (before["verdict"], before["reason"]) == ("blocked", None)  # net::ERR_UNSAFE_REDIRECT
        await tctx.cycle(probe, delivery(probe, [fetch_record(API + "/to-data", "omit", "error")]))
        line = observer.flows.line_of(api)
        assert (line["verdict"], line["reason"], line["cause"]) == ("blocked", None, before["cause"])
