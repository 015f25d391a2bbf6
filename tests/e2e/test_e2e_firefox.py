"""Firefox ESR through a real mitmdump with the addon: does the addon name Firefox's reason?

The case table of ``e2e_cases.py`` (the one ``test_e2e_chromium.py`` runs in Chromium) runs once in
headless Debian ``firefox-esr`` driven over WebDriver BiDi (``firefox_driver.py``), through the same
servers and the same mitmdump harness. Per case, Firefox's verdict (the ``security.properties`` key of
its "Cross-Origin Request Blocked" console error, or allowed) is compared with the ``firefox_reason`` of
the addon's report. The addon judges what Firefox put on the wire, so where Firefox sends other requests
than Chromium (a preflight for a header only Chromium safelists, another preflight-cache lifetime) the
report follows the wire.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e_cases import CASES, Case
from e2e_harness import (SET_COOKIE_JS, DemoServers, MitmDump, Origins, addon_enabled, free_port,
                         unreported_exchanges)
from firefox_driver import FirefoxBrowser, check_firefox_available, firefox_cors_reason, security_properties
from mitmproxy_cors.demo.browser import PAGE_HELPERS, RUN_SNIPPET
from mitmproxy_cors.engine.firefox_reason import WITH_CREDENTIALS
from mitmproxy_cors.engine.firefox_redirect import FIREFOX_LOADS, NO_CORS_ERROR

pytestmark = pytest.mark.e2e

# Cases whose question Firefox cannot be asked (kept as few as possible).
EXCLUDED: dict[str, str] = {}

SEEN = [c for c in CASES if not c.unseen and c.id not in EXCLUDED]
UNSEEN = [c for c in CASES if c.unseen and c.id not in EXCLUDED]
ALLOWED = (None, None)
GENERIC = "CORSDidNotSucceed"  # logged after a failed preflight, after the specific reason
_CASE_IN_URL = re.compile(r"/c/([^/?#\s]+)/")


@dataclass
class FirefoxCase:
    page: list[dict[str, Any]]  # step results of the page helpers
    threw: str | None
    console: list[str]  # Firefox's console errors about this case's URLs, in order

    @property
    def page_ok(self) -> bool:
        return self.threw is None and bool(self.page) and all(step.get("ok") for step in self.page)

    @property
    def reasons(self) -> list[str]:
        keys = [firefox_cors_reason(text) for text in self.console]
        return [k for k in keys if k]


@dataclass
class FirefoxRun:
    origins: Origins
    results: dict[str, FirefoxCase]
    exchanges: list
    report: list[dict[str, Any]] | None
    mitmdump_log: str
    firefox_version: str
    seconds: float

    def case_exchanges(self, case: Case) -> list:
        return [e for e in self.exchanges if e.path.startswith(case.match)]

    def case_report(self, case: Case) -> list[dict[str, Any]]:
        """The case's report lines, last line per flow_id, ordered by request time."""
        last: dict[str, dict[str, Any]] = {}
        for line in self.report or []:
            if "record" in line:
                continue
            path = re.sub(r"^[a-z]+://[^/]+", "", line.get("url") or "")
            if path.startswith(case.match):
                last[line["flow_id"]] = line
        return sorted(last.values(), key=lambda line: line.get("time") or 0)


def run_firefox(cases: list[Case], servers: DemoServers, mitmdump: MitmDump) -> FirefoxRun:
    started = time.monotonic()
    origins = Origins(servers, free_port())
    outcomes: dict[str, dict[str, Any]] = {}
    with FirefoxBrowser(mitmdump.port) as ff:
        version = ff.version
        for page_host in dict.fromkeys(c.page for c in cases):
            ff.goto(origins.origin("page", page_host) + "/")
            ff.evaluate(PAGE_HELPERS)
            setup = ff.run(RUN_SNIPPET, [SET_COOKIE_JS, {}, 15000])
            if "threw" in setup:
                raise RuntimeError(f"setup script failed in Firefox: {setup['threw']}")
            for case in (c for c in cases if c.page == page_host):
                snippet = origins.snippet(case)
                outcomes[case.id] = ff.run(RUN_SNIPPET, [snippet.js, snippet.urls, snippet.timeout_ms])
        time.sleep(1.0)  # the last console events
        console: dict[str, list[str]] = {}
        for entry in ff.console_errors():
            found = _CASE_IN_URL.search(entry.text)
            if found:
                console.setdefault(found.group(1), []).append(entry.text)
    mitmdump.stop()
    results = {}
    for case in cases:
        outcome = outcomes.get(case.id) or {"threw": "not run"}
        value = outcome.get("value")
        steps = value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])
        results[case.id] = FirefoxCase(steps, outcome.get("threw"), console.get(case.id, []))
    report = mitmdump.report_lines() if mitmdump.with_addon and mitmdump.report.exists() else None
    return FirefoxRun(origins, results, list(servers.exchanges()), report, mitmdump.log_tail(200), version,
                      time.monotonic() - started)


def firefox_verdict(result: FirefoxCase) -> tuple:
    """(key, None) of the first CORS error Firefox logged for the case (the generic CORSDidNotSucceed
    only when nothing more specific was logged); else allowed when every page step succeeded; else
    ("net-error", what the page saw)."""
    reasons = result.reasons
    specific = [k for k in reasons if k != GENERIC]
    if specific or reasons:
        return ((specific or reasons)[0], None)
    if result.page_ok:
        return ALLOWED
    failed = next((s for s in result.page if not s.get("ok")), None)
    return ("net-error", result.threw or (failed or {}).get("error"))


def addon_firefox_verdict(lines: list[dict[str, Any]], credentials: str) -> tuple:
    """(firefox_reason, firefox_note) of the first blocked line, as ``addon_verdict`` picks it (a line
    whose credentials the addon could not see is judged by its conditional when the case used
    ``include``, or by the key its ``firefox_note`` gives for 'include'); else allowed. Blocked with no reason
    and no Firefox key, or a note saying Firefox logs no CORS error: ("net-error", ...). A line Chromium allows
    but Firefox blocks carries the key; one Chromium fails but Firefox loads says so in its note."""
    for line in lines:
        verdict, reason, fx = line.get("verdict"), line.get("reason"), line.get("firefox_reason")
        conditional = line.get("conditional")
        if credentials == "include" and line.get("credentials") == "unknown" and conditional:
            verdict, reason, fx = conditional.get("verdict"), conditional.get("reason"), conditional.get("firefox_reason")
        note = line.get("firefox_note") or ""
        if credentials == "include" and line.get("credentials") == "unknown" and WITH_CREDENTIALS in note:
            # credentials the proxy cannot see, where only Firefox's reason depends on them
            fx = re.search(re.escape(WITH_CREDENTIALS) + r" (\w+)", note).group(1)
        if fx and verdict != "blocked":  # Firefox blocks what Chromium allows (an empty Location)
            return (fx, line.get("firefox_note"))
        if verdict == "blocked":
            if fx is None and note.startswith(FIREFOX_LOADS):
                continue  # Chromium fails it, Firefox loads it
            if fx is None and note.startswith(NO_CORS_ERROR):
                return ("net-error", note)
            if reason is None:
                return (fx, line.get("firefox_note")) if fx else ("net-error", line.get("cause"))
            return (fx or f"(no Firefox reason for {reason})", line.get("firefox_note"))
    return ALLOWED


def describe(run: FirefoxRun, case: Case) -> str:
    result = run.results.get(case.id)
    out = [f"case {case.id} (credentials={case.creds})"]
    if result is not None:
        out.append(f"  page: {json.dumps(result.page)}{' threw ' + result.threw if result.threw else ''}")
        out.extend(f"  firefox: {text}" for text in result.console)
    for e in run.case_exchanges(case):
        out.append(f"  wire: {e.method} {e.target}")
        out.extend(f"    > {k}: {v}" for k, v in e.request_headers)
        out.append(f"    < {e.status}")
        out.extend(f"    < {k}: {v}" for k, v in e.response_headers)
    keep = ("method", "url", "origin", "kind", "verdict", "reason", "failed_parameter", "firefox_reason",
            "firefox_note", "credentials", "conditional", "flow_id")
    for line in run.case_report(case):
        out.append(f"  report: {json.dumps({k: line.get(k) for k in keep})}")
    return "\n".join(out)


def dump(run: FirefoxRun, cases: list[Case], path: str) -> None:
    data = []
    for case in cases:
        result = run.results[case.id]
        data.append({
            "id": case.id, "credentials": case.creds, "firefox": firefox_verdict(result),
            "addon": addon_firefox_verdict(run.case_report(case), case.creds) if run.report is not None else None,
            "page": result.page, "threw": result.threw, "console": result.console,
            "wire": [{"method": e.method, "target": e.target, "request": e.request_headers, "status": e.status,
                      "response": e.response_headers} for e in run.case_exchanges(case)],
            "report": run.case_report(case),
        })
    Path(path).write_text(json.dumps({"firefox": run.firefox_version, "seconds": run.seconds, "cases": data},
                                     indent=1))


@pytest.fixture(scope="module")
def firefox_run(request, tmp_path_factory) -> FirefoxRun:
    check_firefox_available()  # raises FirefoxUnavailable: an error, never a skip
    wanted = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec else None
        if isinstance(case, Case) and item.module is request.module:
            wanted.add(case.id)
    cases = [c for c in CASES if c.id in wanted]
    workdir = tmp_path_factory.mktemp("cors-e2e-firefox")
    with DemoServers() as servers:
        mitmdump = MitmDump(workdir, with_addon=addon_enabled()).start()
        try:
            run = run_firefox(cases, servers, mitmdump)
        finally:
            mitmdump.stop()
    if os.environ.get("CORS_E2E_FIREFOX_DUMP"):
        dump(run, cases, os.environ["CORS_E2E_FIREFOX_DUMP"])
    return run


def test_excluded_cases_exist():
    ids = {c.id for c in CASES}
    assert set(EXCLUDED) <= ids
    assert len(SEEN) >= 100


@pytest.mark.parametrize("case", SEEN, ids=lambda c: c.id)
def test_addon_matches_firefox(firefox_run: FirefoxRun, case: Case):
    if not addon_enabled():
        pytest.skip("CORS_E2E_ADDON=0: mitmdump runs without the addon")
    if firefox_run.report is None:
        pytest.fail("the addon wrote no report (is cors_addon.py loading?)\n" + firefox_run.mitmdump_log)
    result = firefox_run.results[case.id]
    context = describe(firefox_run, case)
    assert result.threw is None, context
    assert result.page, f"the snippet returned no step result\n{context}"
    firefox = firefox_verdict(result)
    # A CORS error in the console exactly when the page saw a failure (else the console was not read).
    assert result.page_ok == (firefox == ALLOWED), f"page outcome disagrees with Firefox's console\n{context}"
    lines = firefox_run.case_report(case)
    assert lines, f"the addon reported no flow for this case\n{context}"
    missing = unreported_exchanges(firefox_run.case_exchanges(case), lines)
    assert not missing, f"requests on the wire without a report line: {missing}\n{context}"
    addon = addon_firefox_verdict(lines, case.creds)
    if firefox[0] == "net-error":  # no CORS error in the console: the addon must say the fetch failed
        assert addon[0] == "net-error", f"addon {addon} != Firefox {firefox}\n{context}"
    else:
        assert addon[0] == firefox[0], f"addon {addon} != Firefox {firefox}\n{context}"


@pytest.mark.parametrize("case", UNSEEN, ids=lambda c: c.id)
def test_firefox_renderer_failures_send_nothing(firefox_run: FirefoxRun, case: Case):
    """Failures before the network: the fetch rejects and nothing reaches the proxy or the servers."""
    result = firefox_run.results[case.id]
    context = describe(firefox_run, case)
    assert result.page and not result.page_ok, context
    assert firefox_run.case_exchanges(case) == [], context
    if firefox_run.report is not None:
        assert firefox_run.case_report(case) == [], context


def test_every_firefox_cors_message_maps_back_to_its_key():
    """Each template of the installed security.properties, filled in, is read back as its own key."""
    templates = security_properties()
    assert {"CORSMissingAllowOrigin2", "CORSAllowOriginNotMatchingOrigin", "CORSPreflightDidNotSucceed3"} <= set(templates)
    for key, template in templates.items():
        text = re.sub(r"%\d\$S", "http://127.0.0.1:1/c/x/m0?a=b", template)
        assert firefox_cors_reason(text) == re.sub(r"\d+$", "", key), key
    assert firefox_cors_reason("TypeError: NetworkError when attempting to fetch resource.") is None
