"""WebKitGTK (Safari's engine) through a real mitmdump with the addon: does the report's `webkit_message`
say what WebKit's console says?

Every case of ``e2e_cases.CASES`` that reaches the wire runs once in WebKitGTK (plus a few cases of
WebKit's own below); WebKit's console sentence for each (``CONSOLE SECURITY ERROR ...``, tied to the
case by a barrier) is compared with the report, and so is the outcome: WebKit blocked the page's load
exactly when the report carries a WebKit sentence. The driver is ``mitmproxy_cors.demo.webkit_browser``;
the packages it needs are in scripts/test.sh. Without them the tests fail, never skip.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest

from e2e_cases import CASES, ECHO, A, Case, redirect
from e2e_harness import SET_COOKIE_JS, DemoServers, MitmDump, Origins, free_port

from mitmproxy_cors.demo.webkit_browser import WebKitDriver, WebKitResult, check_webkit_available, cors_sentences

pytestmark = pytest.mark.e2e

# Cases of WebKit's own: where it differs from Chromium on the same page code.
WEBKIT_CASES = [
    # A preflighted POST answered 303: WebKit preflights the GET that follows; Chromium sends it plainly.
    Case("wk-303-after-preflighted-post", redirect(A(acao=ECHO, p_acah="content-type"), A(acao=ECHO), 303),
         init={"method": "POST", "body": "{}", "headers": [["Content-Type", "application/json"]]}),
    # A redirect to a data: URL is a CORS error in WebKit.
    Case("wk-redirect-to-data", A(acao=ECHO, a_status=302, a_location="data:text/plain,hi")),
    # Two unknown headers, both refused: WebKit names the first the page set.
    Case("wk-two-headers-page-order", A(acao=ECHO), init={"headers": [["X-Second", "1"], ["X-First", "1"]]}),
]

# Where the addon, which models Chromium, reads WebKit's wire otherwise (checked to still hold).
KNOWN_DIFFERENT = {
    "get-302-empty-location": (
        "(no console sentence; page: [{'error': 'TypeError: Load failed', 'ok': False}], threw: None)",
        "WebKit fails a 302 whose Location is empty (no console sentence); Chromium reads it as a response "
        "(no redirect without a Location), which the page gets"),
    "cache-auth-acah-star": (
        None,  # WebKit allowed both fetches
        "WebKit's cached preflight with Access-Control-Allow-Headers: * covers Authorization, so its second "
        "fetch goes without a preflight; Chromium preflights again, and the addon reads an Authorization "
        "sent without one as the browser's HTTP auth cache (credentials: include)"),
}

CHECKED = [c for c in CASES if not c.unseen] + WEBKIT_CASES
HEADER = re.compile(r"^Request header field (\S+) is not allowed by Access-Control-Allow-Headers\.$")


@dataclass
class WebKitRun:
    origins: Origins
    results: dict[str, WebKitResult]
    report: list[dict[str, Any]]
    wire: dict[str, list]
    version: str
    seconds: float

    def lines(self, case: Case) -> list[dict[str, Any]]:
        last: dict[str, dict[str, Any]] = {}
        for line in self.report:
            if "record" not in line and _path(line.get("url") or "").startswith(case.match):
                last[line["flow_id"]] = line
        return sorted(last.values(), key=lambda line: line.get("time") or 0)


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


@pytest.fixture(scope="module")
def webkit_run(tmp_path_factory) -> WebKitRun:
    check_webkit_available()  # BrowserUnavailable (a failure) names the packages to install
    started = time.monotonic()
    workdir = tmp_path_factory.mktemp("cors-webkit")
    with DemoServers() as servers:
        mitmdump = MitmDump(workdir).start()
        origins = Origins(servers, free_port())
        results: dict[str, WebKitResult] = {}
        try:
            with WebKitDriver(f"127.0.0.1:{mitmdump.port}") as driver:
                version = driver.version
                for host in dict.fromkeys(c.page for c in CHECKED):
                    group = [origins.snippet(c) for c in CHECKED if c.page == host]
                    results.update(driver.run(origins.origin("page", host) + "/", group, setup_js=SET_COOKIE_JS))
        finally:
            mitmdump.stop()
        assert mitmdump.report.exists(), "the addon wrote no report\n" + mitmdump.log_tail()
        exchanges = list(servers.exchanges())
    wire = {c.id: [e for e in exchanges if e.path.startswith(c.match)] for c in CHECKED}
    return WebKitRun(origins, results, mitmdump.report_lines(), wire, version, time.monotonic() - started)


def webkit_sentence(result: WebKitResult) -> str | None:
    """WebKit's reason for the case's first failed load, None when every page step succeeded."""
    if result.page_ok:
        return None
    found = cors_sentences(result.console)
    return found[0] if found else f"(no console sentence; page: {result.page}, threw: {result.threw})"


def addon_sentence(lines: list[dict[str, Any]], credentials: str) -> tuple[str | None, dict | None]:
    """The first WebKit sentence of the case's report lines (by time), read under credentials 'include'
    from `conditional` when the case used them and the line could not see them; and its line."""
    for line in lines:
        message = line.get("webkit_message")
        conditional = line.get("conditional")
        if credentials == "include" and line.get("credentials") == "unknown" and conditional:
            message = conditional.get("webkit_message")
        if message:
            return message, line
    return None, None


def silent_failure(webkit: str | None, addon: str | None, lines: list[dict[str, Any]]) -> bool:
    """WebKit failed the load without a console sentence (an <img> redirected to data:, a Location with
    user:password@), and the report has no sentence either but says the load fails, not by CORS."""
    return (webkit is not None and webkit.startswith("(no console sentence") and addon is None
            and any(x["verdict"] == "blocked" and x["reason"] is None for x in lines))


def agrees(webkit: str | None, addon: str | None, line: dict | None) -> bool:
    """Equal, or the same header sentence where WebKit named another of the refused headers than the
    addon could tell from the preflight (its sorted list loses the page's order; the note says so)."""
    if webkit == addon:
        return True
    w, a = HEADER.match(webkit or ""), HEADER.match(addon or "")
    note = (line or {}).get("webkit_note") or ""
    return bool(w and a and "names the first of" in note
                and w.group(1).lower() in [n.strip() for n in note.split("names the first of ")[1]
                                           .split(" that the page set")[0].lower().split(",")])


def describe(run: WebKitRun, case: Case) -> str:
    result = run.results.get(case.id)
    out = [f"case {case.id} (credentials={case.creds}), WebKitGTK {run.version}"]
    if result is not None:
        out.append(f"  page: {result.page} threw={result.threw}")
        out.extend(f"  console: {source} {level} {text}" for source, level, text in result.console)
    for e in run.wire.get(case.id, []):
        out.append(f"  wire: {e.method} {e.target} -> {e.status}")
    for line in run.lines(case):
        out.append("  report: " + str({k: line.get(k) for k in (
            "kind", "method", "verdict", "reason", "credentials", "webkit_message", "webkit_note")}))
    return "\n".join(out)


@pytest.mark.parametrize("case", CHECKED, ids=lambda c: c.id)
def test_webkit_message_matches_webkit(webkit_run: WebKitRun, case: Case):
    result = webkit_run.results[case.id]
    context = describe(webkit_run, case)
    lines = webkit_run.lines(case)
    assert lines, f"the addon reported no flow for this case\n{context}"
    webkit = webkit_sentence(result)
    addon, line = addon_sentence(lines, case.creds)
    if case.id in KNOWN_DIFFERENT:
        expected, why = KNOWN_DIFFERENT[case.id]
        assert webkit == expected and addon != webkit, f"no longer different ({why})\n{context}"
        return
    if silent_failure(webkit, addon, lines):
        return
    assert agrees(webkit, addon, line), f"WebKit said {webkit!r}, the report {addon!r}\n{context}"
    # The outcome: WebKit blocked the load exactly when the report has a WebKit sentence for it.
    assert (webkit is not None) == (addon is not None), context


def test_webkit_differences_are_noted(webkit_run: WebKitRun):
    """Where WebKit decides otherwise than Chromium, the wire shows it and the report says so."""
    notes = {c.id: " ".join(line.get("webkit_note") or "" for line in webkit_run.lines(c)) for c in CHECKED}
    for case_id in ("dpr-decimal", "ect-4g", "device-memory", "dpr-no-preflight", "user-agent-no-preflight"):
        assert webkit_run.results[case_id].page_ok is False, describe(webkit_run, _case(case_id))
        assert "sends this preflight for" in notes[case_id], describe(webkit_run, _case(case_id))
    case = _case("wk-303-after-preflighted-post")
    preflights = [e for e in webkit_run.wire[case.id] if e.method == "OPTIONS"]
    assert len(preflights) == 2, describe(webkit_run, case)
    assert "new preflight" in notes[case.id], describe(webkit_run, case)


def test_webkit_summary(webkit_run: WebKitRun, capsys):
    """The figures for the docs: cases, agreement, run time (printed with -s)."""
    agree = 0
    for case in CHECKED:
        addon, line = addon_sentence(webkit_run.lines(case), case.creds)
        webkit = webkit_sentence(webkit_run.results[case.id])
        agree += agrees(webkit, addon, line) or silent_failure(webkit, addon, webkit_run.lines(case))
    blocked = sum(1 for c in CHECKED if not webkit_run.results[c.id].page_ok)
    with capsys.disabled():
        print(f"\nWebKitGTK {webkit_run.version}: {len(CHECKED)} cases ({blocked} blocked), {agree} agree, "
              f"{len(KNOWN_DIFFERENT)} known different, {webkit_run.seconds:.0f} s")
    assert agree + len(KNOWN_DIFFERENT) == len(CHECKED)
    assert len(CHECKED) >= 30
    assert webkit_run.seconds < 300


def _case(case_id: str) -> Case:
    return next(c for c in CHECKED if c.id == case_id)
