"""A HAR recorded by real Chromium, read with `mitmdump -r`: never a false all-clear.

Chromium runs the demo's scenarios (blocked and allowed CORS requests, preflights that fail) with
Playwright recording a HAR, and CDP says which requests Chromium failed and why. The HAR holds each
failed request with status -1, no response header, only the headers the page set and no preflight.
Read back through the addon, every request Chromium failed must be reported as blocked or as
'no response in the capture' (with the preflight it needed, when Chromium's error was a preflight's),
none as allowed; the requests Chromium allowed must be allowed; the gate fails the run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mitmproxy_cors.demo.browser import CHROMIUM, check_browser_available
from mitmproxy_cors.demo.scenarios import SCENARIOS, scenario_url
from mitmproxy_cors.demo.servers import DemoServers

REPO = Path(__file__).resolve().parents[2]
MITMDUMP = Path(sys.executable).parent / "mitmdump"


def record_har(har: Path) -> dict[str, str | None]:
    """Run every demo scenario in Chromium, recording a HAR; returns {url: Chromium's CorsError or
    None when the page read the response}."""
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    from playwright.sync_api import sync_playwright

    outcome: dict[str, str | None] = {}
    profile = tempfile.mkdtemp(prefix="cors-har-profile-")
    try:
        with DemoServers() as servers, sync_playwright() as pw:
            page_origin = servers.page.origin()
            # The API on "localhost" is another site than the page on 127.0.0.1, as on most real setups.
            api = servers.api.origin().replace("127.0.0.1", "localhost")
            api2 = servers.api2.origin().replace("127.0.0.1", "localhost")
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, ignore_default_args=True, record_har_path=str(har),
                args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      "--remote-debugging-pipe", f"--user-data-dir={profile}"])
            try:
                page = ctx.new_page()
                cdp = ctx.new_cdp_session(page)
                cdp.send("Network.enable")
                urls: dict[str, str] = {}
                errors: dict[str, str] = {}
                cdp.on("Network.requestWillBeSent", lambda p: urls.setdefault(p["requestId"], p["request"]["url"]))
                cdp.on("Network.loadingFailed", lambda p: errors.__setitem__(
                    p["requestId"], (p.get("corsErrorStatus") or {}).get("corsError") or p.get("errorText")))
                page.goto(page_origin + "/")
                for s in SCENARIOS:
                    url = scenario_url(s, api, api2)
                    page.evaluate("async ([js, url]) => { const f = eval(js.replaceAll('__fetch', 'fetch'));"
                                  " try { await f({url}); } catch (e) {} }", [s.js, url])
                    outcome[url] = None
                page.wait_for_timeout(500)
                for rid, err in errors.items():
                    if urls.get(rid) in outcome:
                        outcome[urls[rid]] = err
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return outcome


@pytest.mark.e2e
def test_a_chromium_har_is_never_an_all_clear(tmp_path):
    har = tmp_path / "chromium.har"
    chromium = record_har(har)
    failed = {u for u, e in chromium.items() if e}
    assert len(failed) >= 6 and len(chromium) - len(failed) >= 3, chromium  # the demo blocks most, allows some
    entries = json.loads(har.read_text())["log"]["entries"]
    recorded = {e["request"]["url"]: e["response"]["status"] for e in entries}
    assert all(recorded[u] <= 0 for u in failed), recorded  # what makes a browser's HAR misleading

    report = tmp_path / "report.jsonl"
    junit = tmp_path / "junit.xml"
    proc = subprocess.run([str(MITMDUMP), "-n", "-r", str(har), "-s", str(REPO / "cors_addon.py"),
                           "--set", f"cors_report={report}", "--set", "cors_fail_on=blocked",
                           "--set", f"cors_junit={junit}"], capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    lines = {d["url"]: d for d in map(json.loads, report.read_text().splitlines())}
    for url, error in chromium.items():
        d = lines[url]
        if error is None:
            assert d["verdict"] == "allowed", (url, d["summary"])
            continue
        assert d["verdict"] == "blocked", (url, error, d["summary"])
        assert d.get("not_in_capture") or d["reason"] == error, (url, error, d["summary"])
        if error.startswith(("Preflight", "HeaderDisallowedByPreflight", "MethodDisallowedByPreflight")):
            assert d["kind"] == "actual" and "it needed a preflight" in d["cause"], (url, error, d["cause"])
        assert f"CORS UNKNOWN {d['method']} {url}" in out or f"CORS BLOCKED {d['method']} {url}" in out
    assert f"{len(failed)} with no response in the capture" in out
    assert "0 flow(s) blocked by CORS" in out or "flow(s) blocked by CORS" in out
    assert 'failures="0"' not in junit.read_text()
