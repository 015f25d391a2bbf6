"""mitmweb with the addon, checked in real Chromium.

Chromium (through mitmweb's proxy) makes a preflighted PUT that fails and a GET whose
Access-Control-Allow-Origin names another origin; a second, proxy-less Chromium opens mitmweb's page
and finds the verdicts in the flow list (marker, comment column), in the detail view (the cors
content view, which "auto" picks for the preflight's empty body) and through the Search filter.

Screenshots go to the test's tmp dir; docs/img/mitmweb-<major>.png is written when missing or when
CORS_UPDATE_SCREENSHOTS=1 (so ordinary test runs leave the committed images alone).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from mitmproxy.version import VERSION
from .procs import REPO, Proc, free_port, wait_port

from mitmproxy_cors.demo.browser import CHROMIUM, ChromiumDriver, Snippet
from mitmproxy_cors.demo.servers import DemoServers, api_url

pytestmark = pytest.mark.e2e
MAJOR = VERSION.split(".")[0]
TOKEN = "cors-ui-test"
DOCS_IMG = REPO / "docs" / "img"

# Which rows a Search expression leaves, per mitmproxy major (docs/filtering.md): "put" is the blocked
# preflight, "get" the blocked GET; every other row (the page, Chromium's own requests) must be hidden.
WEB_RECIPES = {
    '~comment "CORS blocked"': {"11": {"put", "get"}, "12": {"put", "get"}},
    '~comment "cors blocked"': {"11": {"put", "get"}, "12": {"put", "get"}},
    '~comment "(?i)cors blocked"': {"11": {"put", "get"}, "12": {"put", "get"}},
    "~comment Preflight": {"11": {"put"}, "12": {"put"}},
    "~marker heavy_multiplication_x": {"11": set(), "12": {"put", "get"}},
    "~marker ✖": {"11": {"put", "get"}, "12": set()},
    "~marker heavy_multiplication_x & ~m OPTIONS": {"11": set(), "12": {"put"}},
    "~meta \"'kind': 'preflight'\"": {"11": set(), "12": {"put"}},
}


def visible_rows(page) -> set[str]:
    out = set()
    for text in page.locator(".flow-table tbody tr.has-request").all_inner_texts():
        out.add("put" if "/c/ui/put" in text else "get" if "/c/ui/get" in text else text.split()[0])
    return out


SNIPPET = """async (u) => [
  await __fetch(u.put, {method: 'PUT', body: 'x'}),
  await __fetch(u.get),
]"""


def keep_screenshot(src: Path, name: str) -> None:
    dst = DOCS_IMG / name
    if os.environ.get("CORS_UPDATE_SCREENSHOTS") == "1" or not dst.exists():
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


@pytest.fixture(scope="module")
def mitmweb(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mitmweb")
    web_port = free_port()
    args = ["--web-host", "127.0.0.1", "--web-port", str(web_port), "--set", "web_open_browser=false"]
    if MAJOR != "11":  # 12 protects the UI with a token
        args += ["--set", f"web_password={TOKEN}"]
    web = Proc("mitmweb", args, workdir).start()
    wait_port(web_port, web.proc)
    url = f"http://127.0.0.1:{web_port}/" + (f"?token={TOKEN}" if MAJOR != "11" else "")
    yield web, url
    web.stop()


@pytest.fixture(scope="module")
def traffic(mitmweb):
    web, _url = mitmweb
    with DemoServers() as servers:
        api = servers.api.origin()
        urls = {"put": api_url(api, "/c/ui/put", {"p_status": "204"}),
                "get": api_url(api, "/c/ui/get", {"acao": "http://evil.test"})}
        with ChromiumDriver(f"127.0.0.1:{web.port}") as chromium:
            results = chromium.run(servers.page.origin() + "/", [Snippet("ui", SNIPPET, urls, match="/c/ui/")])
        yield servers, results["ui"]


@pytest.fixture(scope="module")
def viewer():
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="cors-ui-viewer-")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, ignore_default_args=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--remote-debugging-pipe",
                  f"--user-data-dir={profile}"],
            viewport={"width": 1800, "height": 1000})
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


def test_chromium_blocked_both_requests(traffic):
    _servers, result = traffic
    errors = sorted(r.cors_error for r in result.main_requests if r.cors_error)
    assert errors == ["AllowOriginMismatch", "PreflightMissingAllowOriginHeader"], result.main_requests


def test_mitmweb_shows_the_verdicts(mitmweb, traffic, viewer, tmp_path):
    _web, url = mitmweb
    page = viewer.new_page()
    page.goto(url)
    rows = page.locator(".flow-table tbody tr")
    pre = rows.filter(has_text="/c/ui/put").filter(has_text="OPTIONS")
    pre.first.wait_for(timeout=20000)
    get = rows.filter(has_text="/c/ui/get")

    # Flow list: the marker and the comment column (added because web_columns was left at its default).
    # The column is cut after some twenty characters: the reason comes first.
    assert pre.locator("td.col-comment").inner_text().startswith("PreflightMissingAllow")
    assert get.locator("td.col-comment").inner_text().startswith("AllowOriginMismatch")
    assert "✖" in pre.locator("td.col-path").inner_text()

    # Detail: the preflight's response tab opens on the cors view (auto wins for the empty body).
    pre.first.click()
    page.get_by_text("Response", exact=True).first.click()
    view = page.locator(".contentview")
    view.get_by_text("CORS BLOCKED: PreflightMissingAllowOriginHeader").first.wait_for(timeout=10000)
    text = view.inner_text()
    assert "✗ Access-Control-Allow-Origin: fails" in text
    assert "Paired flow" in text and "actual request: none" in text
    assert "Fix (on the server)" in text
    shot = tmp_path / "detail.png"
    page.screenshot(path=str(shot))
    keep_screenshot(shot, f"mitmweb-{MAJOR}.png")

    # The comment tab has the one-line verdict too.
    page.get_by_text("Comment", exact=True).last.click()
    assert "PreflightMissingAllowOriginHeader — CORS blocked: fix" in page.locator(".flow-detail").inner_text()

    # Filtering: the Search box (on the "Flow List" tab). mitmweb 11 filters in the browser, against the
    # marker's glyph and case-insensitively; 12 filters on the server, against the shortcode.
    page.get_by_text("Flow List", exact=True).first.click()
    search = page.locator("input[placeholder=Search]")
    seen = {}
    for expr in WEB_RECIPES:
        search.fill(expr)
        page.wait_for_timeout(700)
        seen[expr] = visible_rows(page)
    assert seen == {expr: rows[MAJOR] for expr, rows in WEB_RECIPES.items()}
    search.fill('~comment "CORS blocked"')
    page.wait_for_timeout(700)
    shot = tmp_path / "filtered.png"
    page.screenshot(path=str(shot))
    keep_screenshot(shot, f"mitmweb-filter-{MAJOR}.png")
    page.close()


def test_mitmweb_runs_the_commands(mitmweb, traffic, viewer):
    """The command bar's API: POST /commands/<name> (names must match [a-z.]+)."""
    _web, url = mitmweb
    page = viewer.new_page()
    page.goto(url)
    page.locator(".flow-table tbody tr", has_text="/c/ui/").first.wait_for(timeout=20000)
    result = page.evaluate("""async () => {
        // tornado's XSRF cookie: _xsrf (11) or _mitmproxy_xsrf (12)
        const xsrf = document.cookie.split('; ').map(c => c.split('=')).find(([k]) => k.endsWith('xsrf'));
        const headers = {'Content-Type': 'application/json'};
        if (xsrf) headers['X-XSRFToken'] = xsrf.slice(1).join('=');
        const call = async (name, args) => {
            const r = await fetch('/commands/' + name, {method: 'POST', headers, body: JSON.stringify({arguments: args})});
            const text = await r.text();
            try { return JSON.parse(text); } catch (e) { return {status: r.status, text: text.slice(0, 300)}; }
        };
        return {report: await call('cors.report', []),
                explain: await call('cors.explain', ['~marker heavy_multiplication_x & ~m OPTIONS']),
                none: await call('cors.explain', ['~u no-such-flow'])};
    }""")
    page.close()
    report = result["report"]["value"]
    assert report[0].startswith("cors.report: 2 blocked of 2 CORS flow(s)")
    assert any("PreflightMissingAllowOriginHeader" in line for line in report)
    assert any(line.startswith("CORS BLOCKED: PreflightMissingAllowOriginHeader") for line in result["explain"]["value"])
    assert result["none"]["error"].startswith("cors.explain: no flows given")
