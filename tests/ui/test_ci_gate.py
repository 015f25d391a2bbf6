"""The CI gate in a real mitmdump: `cors_fail_on` sets the exit status (live and with -r, in the proxy
and through the analysis worker), `cors_junit` writes what CI systems read."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

import pytest
from .procs import ADDON, BIN, REPO, Proc

from mitmproxy_cors.demo.servers import DemoServers, api_url


@pytest.fixture(scope="module")
def servers():
    with DemoServers() as s:
        yield s


def blocked_traffic(dump: Proc, servers) -> None:
    page, api = servers.page.origin(), servers.api.origin()
    h = {"Origin": page, "Sec-Fetch-Mode": "cors"}
    dump.request(api_url(api, "/c/g/pre", {"p_status": "204"}), "OPTIONS", {**h, "Access-Control-Request-Method": "PUT"})
    dump.request(api_url(api, "/c/g/mismatch", {"acao": "http://evil.test"}), headers=h)
    dump.request(api_url(api, "/c/g/ok", {"acao": "echo", "acac": "true"}), headers=h)


def conditional_traffic(dump: Proc, servers) -> None:
    """Allowed as sent, blocked if the page sends credentials (Access-Control-Allow-Origin: * from a
    server that also says Allow-Credentials: true), and a public API (*, no credentials) that is fine."""
    h = {"Origin": servers.page.origin(), "Sec-Fetch-Mode": "cors"}
    dump.request(api_url(servers.api.origin(), "/c/g/star", {"acao": "*", "acac": "true"}), headers=h)
    dump.request(api_url(servers.api.origin(), "/c/g/public", {"acao": "*"}), headers=h)


def junit(path) -> ET.Element:
    return ET.parse(path).getroot().find("testsuite")


@pytest.mark.parametrize("analysis", ["inline", "worker"])
def test_blocked_flows_fail_the_run_and_the_junit_report(servers, tmp_path, analysis):
    report = tmp_path / "cors-junit.xml"
    dump = Proc("mitmdump", ["--set", f"cors_analysis={analysis}", "--set", "cors_fail_on=blocked",
                             "--set", f"cors_junit={report}"], tmp_path).start()
    blocked_traffic(dump, servers)
    out = dump.stop()
    assert dump.proc.returncode == 1, out
    assert "mitmproxy-cors: 2 flow(s) blocked by CORS (cors_fail_on=blocked): exit status 1" in out
    suite = junit(report)
    assert suite.get("failures") == "2" and suite.get("tests") == "3"
    failures = {c.get("name"): c.find("failure") for c in suite if c.find("failure") is not None}
    api, page = servers.api.origin(), servers.page.origin()
    mismatch = failures[f"blocked: {page} -> {api}: AllowOriginMismatch"]
    assert mismatch.get("type") == "AllowOriginMismatch"
    assert f"fix: on the actual response: set Access-Control-Allow-Origin: {page}" in mismatch.text
    assert f"blocked: {page} -> {api}: PreflightMissingAllowOriginHeader" in failures
    assert [c.get("name") for c in suite if c.find("failure") is None] == ["allowed CORS flows: 1"]


def test_off_by_default_the_exit_status_stays_0(servers, tmp_path):
    dump = Proc("mitmdump", [], tmp_path).start()
    blocked_traffic(dump, servers)
    out = dump.stop()
    assert dump.proc.returncode == 0, out
    assert "exit status 1" not in out


@pytest.mark.parametrize("analysis", ["inline", "worker"])
def test_conditional_also_fails_flows_blocked_only_with_credentials(servers, tmp_path, analysis):
    for fail_on, status in (("blocked", 0), ("conditional", 1)):
        report = tmp_path / f"{fail_on}.xml"
        dump = Proc("mitmdump", ["--set", f"cors_analysis={analysis}", "--set", f"cors_fail_on={fail_on}",
                                 "--set", f"cors_junit={report}"], tmp_path).start()
        conditional_traffic(dump, servers)
        out = dump.stop()
        assert dump.proc.returncode == status, out
        suite = junit(report)
        [case] = [c for c in suite if c.get("name").startswith("blocked if the page sends credentials:")]
        assert case.get("name").endswith(": WildcardOriginNotAllowed")
        assert (case.find("failure") is not None) == (fail_on == "conditional")
    assert "0 flow(s) blocked by CORS, 1 blocked if the page sends credentials (cors_fail_on=conditional)" in out


def test_a_saved_capture_with_r(servers, tmp_path):
    saved = tmp_path / "session.mitm"
    dump = Proc("mitmdump", ["-w", str(saved)], tmp_path).start()
    blocked_traffic(dump, servers)
    dump.stop()

    def replay(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "mitmdump"), "-n", "-q", "-r", str(saved), "-s", str(ADDON), *extra],
                              cwd=REPO, capture_output=True, text=True, timeout=60)

    failed = replay("--set", "cors_fail_on=blocked")
    assert failed.returncode == 1, failed.stderr
    assert "2 flow(s) blocked by CORS" in failed.stderr
    assert replay().returncode == 0
    assert saved.stat().st_size > 0


def test_no_cors_traffic_is_a_skipped_case_not_a_pass(tmp_path):
    report = tmp_path / "empty.xml"
    dump = Proc("mitmdump", ["--set", "cors_fail_on=blocked", "--set", f"cors_junit={report}"], tmp_path).start()
    out = dump.stop()
    assert dump.proc.returncode == 0, out
    [case] = list(junit(report))
    assert case.find("skipped").get("message").startswith("no cross-origin request went through the proxy")


def test_bad_values_stop_mitmdump_with_one_line(tmp_path):
    for option, value, says in (("cors_fail_on", "always", "cors_fail_on must be one of off, blocked, conditional"),
                                ("cors_junit", str(tmp_path / "no" / "such" / "dir.xml"), "cors_junit: cannot write")):
        dump = Proc("mitmdump", ["--set", f"{option}={value}"], tmp_path)
        dump.proc.wait(30)
        out = dump.output()
        assert dump.proc.returncode == 1 and says in out and "Traceback" not in out, out


def _har_entry(method: str, url: str, status: int, request_headers, response_headers=(), **extra) -> dict:
    return {"startedDateTime": "2026-12-07T05:00:00.000Z", "time": 12.0,
            "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers":
                        [{"name": k, "value": v} for k, v in request_headers], "queryString": [], "cookies": [],
                        "headersSize": -1, "bodySize": 0},
            "response": {"status": status, "statusText": "", "httpVersion": "", "headers":
                         [{"name": k, "value": v} for k, v in response_headers], "cookies": [],
                         "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1,
                         "bodySize": -1, **extra},
            "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}}


@pytest.mark.parametrize("analysis", ["inline", "worker"])
def test_a_devtools_har_with_failed_requests_is_not_an_all_clear(tmp_path, analysis):
    """DevTools exports a request it failed with status 0, no response header and the page's own
    headers; the preflight it never got past is not in the file (tests/e2e/test_browser_har.py
    does the same with a HAR Chromium recorded)."""
    page, api = "http://localhost:8000", "http://localhost:9000"
    sent_by_page = [("Referer", page + "/"), ("User-Agent", "Mozilla/5.0 Chrome/156")]
    har = tmp_path / "devtools.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "WebInspector"}, "entries": [
        _har_entry("GET", page + "/", 200, [("Accept", "text/html")], [("Content-Type", "text/html")]),
        _har_entry("PUT", api + "/items/1", 0, sent_by_page + [("Content-Type", "application/json")],
                   _error="net::ERR_FAILED"),
        _har_entry("GET", api + "/ok", 200, [("Origin", page), ("Sec-Fetch-Mode", "cors")],
                   [("Access-Control-Allow-Origin", page), ("Access-Control-Allow-Credentials", "true"),
                    ("Vary", "Origin")]),
    ]}}))
    junit_path = tmp_path / "junit.xml"
    proc = subprocess.run([str(BIN / "mitmdump"), "-n", "-r", str(har), "-s", str(ADDON),
                           "--set", f"cors_analysis={analysis}", "--set", "cors_fail_on=blocked",
                           "--set", f"cors_junit={junit_path}"], capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert (f"CORS UNKNOWN PUT {api}/items/1 from {page}  no response in the capture (status 0): it needed "
            "a preflight (method PUT; headers content-type), which the capture does not hold") in out
    assert "0 blocked of 2 CORS flow(s), 1 with no response in the capture" in out
    assert "1 with no response in the capture (blocked or failed in the browser) (cors_fail_on=blocked)" in out
    suite = junit(junit_path)
    failure = [c for c in suite if c.find("failure") is not None]
    assert [c.get("name") for c in failure] == [f"no response in the capture; it needed a preflight: {page} -> {api}"]
