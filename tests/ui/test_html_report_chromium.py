"""`cors_html` from a real session, read in real Chromium.

A page in headless Chromium, through mitmdump with the addon (its analysis worker judges the flows),
calls an API four ways: a PUT whose preflight has no Access-Control-Allow-Origin, a GET answered
with another origin, a DELETE whose preflight passes and whose response has no
Access-Control-Allow-Origin, and a credentialed fetch answered with '*' (the login case); plus one
allowed call. When mitmdump stops, the report is opened in a second, proxy-less Chromium: the
summary, one story per failing group with its sequence and the hop where it broke, the checks and
the merged fix per framework.

docs/img/html-report.png (the top of the page) and html-report-story.png (the failed preflight's story)
are written when missing or when CORS_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from .procs import REPO, Proc

from mitmproxy_cors.demo.browser import CHROMIUM, ChromiumDriver, Snippet
from mitmproxy_cors.demo.servers import DemoServers, api_url

pytestmark = pytest.mark.e2e
DOCS_IMG = REPO / "docs" / "img"

SNIPPET = """async (u) => [
  await __fetch(u.put, {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: '{}'}),
  await __fetch(u.get),
  await __fetch(u.del, {method: 'DELETE'}),
  await __fetch(u.login, {credentials: 'include'}),
  await __fetch(u.ok),
]"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("html-report")
    path = workdir / "cors-report.html"
    with DemoServers() as servers:
        api = servers.api.origin()
        urls = {
            "put": api_url(api, "/c/html/put", {"p_status": "204"}),
            "get": api_url(api, "/c/html/get", {"acao": "http://evil.test"}),
            "del": api_url(api, "/c/html/del", {"p_acao": "echo", "p_acam": "DELETE", "p_status": "204"}),
            "login": api_url(api, "/c/html/login", {"acao": "*", "acac": "true"}),
            "ok": api_url(api, "/c/html/ok", {"acao": "echo"}),
        }
        dump = Proc("mitmdump", ["--set", f"cors_html={path}"], workdir).start()
        try:
            with ChromiumDriver(f"127.0.0.1:{dump.port}") as chromium:
                result = chromium.run(servers.page.origin() + "/", [Snippet("html", SNIPPET, urls, match="/c/html/")])
        finally:
            out = dump.stop()
        assert dump.proc.returncode == 0, out
        yield servers, result["html"], path


@pytest.fixture(scope="module")
def viewer():
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="cors-html-viewer-")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, ignore_default_args=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--remote-debugging-pipe",
                  f"--user-data-dir={profile}"],
            viewport={"width": 1100, "height": 1000})
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


def test_chromium_blocked_what_the_report_describes(report):
    _servers, result, _path = report
    errors = sorted(r.cors_error for r in result.main_requests if r.cors_error)
    assert errors == ["AllowOriginMismatch", "MissingAllowOriginHeader", "PreflightMissingAllowOriginHeader",
                      "WildcardOriginNotAllowed"], result.main_requests


def test_the_report_opens_offline_with_a_story_per_failing_group(report, viewer, tmp_path):
    servers, _result, path = report
    page = viewer.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    assert requests == [path.as_uri()]  # self-contained: nothing else is fetched

    cards = {c.get_attribute("class").split()[1]: c.get_attribute("data-count")
             for c in page.locator(".card").all()}
    # allowed: the call that passed, the DELETE's preflight, and the login case as sent
    assert cards == {"blocked": "3", "conditional": "1", "unknown": "0", "pass": "3"}
    assert page.locator("table.groups tbody.blocked tr:not(.group-head)").count() == 3

    stories = page.locator("article.story")
    by_reason = {s.get_attribute("data-reason"): s for s in stories.all()}
    assert sorted(by_reason) == ["AllowOriginMismatch", "MissingAllowOriginHeader",
                                 "PreflightMissingAllowOriginHeader", "WildcardOriginNotAllowed"]
    for story in by_reason.values():
        assert story.locator("svg g.hop.broken").count() == 1
        assert story.locator("svg g.hop.broken").is_visible()
        assert story.locator("table.checks tr.check").count() >= 2

    def hops(reason: str) -> list[tuple[str, str]]:
        return [(g.get_attribute("data-role"), g.get_attribute("data-state"))
                for g in by_reason[reason].locator("svg g.hop").all()]

    # the failed preflight: broken at the preflight, the actual request never sent
    assert hops("PreflightMissingAllowOriginHeader") == [("preflight", "fail"), ("actual", "skip")]
    pre = by_reason["PreflightMissingAllowOriginHeader"]
    assert "never sent" in pre.locator("svg").text_content()
    assert "breaks here: PreflightMissingAllowOriginHeader" in pre.locator("g.hop.broken").text_content()
    assert "Response to preflight request doesn't pass access control check" in pre.locator("pre.console").inner_text()
    page_origin = servers.page.origin()
    assert f"add Access-Control-Allow-Origin: {page_origin}" in pre.locator("ul.fix").inner_text()
    # the DELETE: its preflight passed (the paired flow), the actual response broke
    assert hops("MissingAllowOriginHeader") == [("preflight", "pass"), ("actual", "fail")]
    assert hops("AllowOriginMismatch") == [("request", "fail")]
    assert hops("WildcardOriginNotAllowed") == [("request", "cond")]
    assert by_reason["WildcardOriginNotAllowed"].get_attribute("data-which") == "conditional"

    # the merged fix: one configuration per framework, the first one open, every method named
    frameworks = page.locator("details.framework")
    assert frameworks.count() == 8
    express = page.locator("details.framework[data-framework=express]")
    assert express.get_attribute("open") is not None and page_origin in express.locator("pre").inner_text()
    needs = page.locator("ul.needs").inner_text()
    assert "PUT" in needs and "DELETE" in needs and "GET" in needs

    page.screenshot(path=str(tmp_path / "html-report-full.png"), full_page=True)
    # what the docs show: the summary with the first story, and the failed preflight's story
    top = tmp_path / "html-report.png"
    page.screenshot(path=str(top), clip={"x": 0, "y": 0, "width": 1100, "height": 1500}, full_page=True)
    story = tmp_path / "html-report-story.png"
    pre.screenshot(path=str(story))
    for shot in (top, story):
        if os.environ.get("CORS_UPDATE_SCREENSHOTS") == "1" or not (DOCS_IMG / shot.name).exists():
            shutil.copyfile(shot, DOCS_IMG / shot.name)
    page.close()


def test_inline_mitmdump_writes_the_page_too_and_a_bad_path_stops_it(tmp_path):
    path = tmp_path / "inline.html"
    with DemoServers() as servers:
        dump = Proc("mitmdump", ["--set", "cors_analysis=inline", "--set", f"cors_html={path}"], tmp_path).start()
        h = {"Origin": servers.page.origin(), "Sec-Fetch-Mode": "cors"}
        dump.request(api_url(servers.api.origin(), "/c/i/pre", {"p_status": "204"}), "OPTIONS",
                     {**h, "Access-Control-Request-Method": "PUT"})
        out = dump.stop()
    assert dump.proc.returncode == 0, out
    text = path.read_text()
    assert text.count("<article") == 1 and 'data-reason="PreflightMissingAllowOriginHeader"' in text
    assert "never sent: the preflight failed" in text

    bad = Proc("mitmdump", ["--set", f"cors_html={tmp_path / 'no' / 'such' / 'r.html'}"], tmp_path)
    bad.proc.wait(30)
    out = bad.output()
    assert bad.proc.returncode == 1 and "cors_html: cannot write" in out and "Traceback" not in out, out
