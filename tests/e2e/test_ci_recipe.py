"""docs/ci.md's recipe, run as written: a Playwright test suite (docs/ci/test_app_playwright.py) whose
Chromium goes through mitmdump with the addon (docs/ci/run-with-cors-gate.sh). The suite passes either
way; the job fails when Chromium blocked the page's API call, and the JUnit file names the request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mitmproxy_cors.demo.browser import CHROMIUM
from mitmproxy_cors.demo.servers import DemoServers, api_url

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "docs" / "ci" / "run-with-cors-gate.sh"
SUITE = REPO / "docs" / "ci" / "test_app_playwright.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def servers():
    with DemoServers() as s:
        yield s


@pytest.mark.e2e
@pytest.mark.parametrize("api_allows, status", [(False, 1), (True, 0)])
def test_the_job_fails_when_chromium_blocked_the_pages_api_call(servers, tmp_path, api_allows, status):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: the recipe needs a real Chromium (never skipped)"
    junit = tmp_path / "cors-junit.xml"
    page = servers.page.origin()
    api = api_url(servers.api.origin(), "/c/ci/items", {"acao": "echo"} if api_allows else {})
    env = {**os.environ, "CORS_ADDON": str(REPO / "cors_addon.py"), "MITMDUMP": str(Path(sys.executable).parent / "mitmdump"),
           "CORS_PORT": str(_free_port()), "CORS_JUNIT": str(junit), "CHROMIUM": CHROMIUM,
           "APP_URL": page + "/", "API_URL": api}
    job = subprocess.run(["bash", str(RECIPE), sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SUITE)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    out = job.stdout + job.stderr
    assert "1 passed" in out, out  # the suite itself passes either way
    assert job.returncode == status, out
    suite = ET.parse(junit).getroot().find("testsuite")
    failures = [c for c in suite if c.find("failure") is not None]
    if api_allows:
        assert not failures and "exit status 1" not in out
    else:
        assert "mitmproxy-cors: 1 flow(s) blocked by CORS (cors_fail_on=blocked): exit status 1" in out
        assert f"CORS BLOCKED GET {api} from {page}" in out  # mitmdump's line in the job's log
        [case] = failures
        assert case.get("name") == f"blocked: {page} -> {servers.api.origin()}: MissingAllowOriginHeader"
        assert f"fix: on the actual response: add Access-Control-Allow-Origin: {page}" in case.find("failure").text
        html = (tmp_path / "cors-report.html").read_text()  # the page for people, next to the JUnit file
        assert "MissingAllowOriginHeader" in html and "breaks here" in html
