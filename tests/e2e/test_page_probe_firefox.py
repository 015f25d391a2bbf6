"""The page probe (cors_probe) judged by real Firefox ESR through a real mitmdump: the same calls as
test_page_probe_chromium.py, with and without the probe. Firefox's verdict is the reason key of its
"Cross-Origin Request Blocked" console error (firefox_driver.py), compared with the report's
`firefox_reason` of the call's final line; with the probe no conditional answer is left, and the
calls Firefox refuses before sending get their records."""

from __future__ import annotations

import pytest

from firefox_driver import FirefoxBrowser, check_firefox_available, firefox_cors_reason
from mitmproxy_cors.demo.servers import DemoServers
from test_page_probe_chromium import ProbedDump, calls, final_lines

pytestmark = pytest.mark.e2e
GENERIC = "CORSDidNotSucceed"  # logged after the specific reason of a failed preflight


def run_firefox(dump: ProbedDump, page_url: str, api: str) -> dict:
    """case id -> (page outcome, Firefox's reason key or None, the call's URL)."""
    seen = {}
    with FirefoxBrowser(dump.port) as ff:
        ff.goto(page_url)
        for cid, js, args in calls(api):
            ff.clear_console()
            outcome = ff.run(js, args)
            ff.evaluate("new Promise((r) => setTimeout(r, 150))")
            keys = [firefox_cors_reason(e.text) for e in ff.console_errors() if f"/c/{cid}/" in e.text]
            keys = [k for k in keys if k]
            specific = [k for k in keys if k != GENERIC]
            seen[cid] = (outcome, (specific or keys or [None])[0], args[0])
        ff.evaluate("new Promise((r) => setTimeout(r, 800))")  # the probe's last delivery
    return seen


def compare(seen: dict, dump: ProbedDump) -> tuple[list[str], list[str], int, list[dict]]:
    by_flow, refusals = final_lines(dump)
    rows, wrong, conditional = [], [], 0
    for cid, (outcome, key, url) in seen.items():
        lines = [x for x in by_flow.values() if x["url"] == url]
        conditional += sum(bool(x["conditional"]) for x in lines)
        blocked = [x for x in lines if x["verdict"] == "blocked"]
        if not lines:
            said = next((r["reason"] or "refused" for r in refusals if r["url"] == url), "no flow, no record")
            rows.append(f"{cid:26s} firefox {str(outcome)[:30]:30s} {key or '-':32s} addon {said}")
            if not str(outcome).startswith("error"):
                wrong.append(rows[-1])
            continue
        said = blocked[0]["firefox_reason"] if blocked else None
        cond = next((x["conditional"] for x in lines if x["conditional"]), None)
        rows.append(f"{cid:26s} firefox {str(outcome)[:30]:30s} {key or 'allowed':32s} addon {said or 'allowed'}"
                    + (f" (conditional: {cond['firefox_reason']})" if cond else ""))
        if key != said:
            wrong.append(rows[-1])
    return rows, wrong, conditional, refusals


def test_the_probe_settles_what_the_wire_cannot_show_in_firefox(tmp_path):
    check_firefox_available()  # fails, never skips, when Firefox is missing
    results = {}
    with DemoServers() as servers:
        api = servers.api.origin().replace("127.0.0.1", "localhost")  # another site: no cookie goes along
        for probe in ("", "~d 127.0.0.1"):
            dump = ProbedDump(tmp_path / (probe and "probe" or "plain"), probe)
            dump.workdir.mkdir()
            dump.report, dump.logfile = dump.workdir / "report.jsonl", dump.workdir / "mitmdump.log"
            dump.start()
            try:
                seen = run_firefox(dump, servers.page.origin() + "/", api)
            finally:
                dump.stop()
            results[probe or "off"] = compare(seen, dump)
    rows_off, wrong_off, cond_off, _ = results["off"]
    rows_on, wrong_on, cond_on, refusals = results["~d 127.0.0.1"]
    print("\nwithout the probe:\n" + "\n".join(rows_off))
    print(f"Firefox: conditional verdicts without the probe: {cond_off}, with it: {cond_on}; disagreements "
          f"without: {len(wrong_off)}, with: {len(wrong_on)}; refusals recorded: {len(refusals)}")
    print("with the probe:\n" + "\n".join(rows_on))
    assert cond_off > 0 and cond_on == 0
    assert not wrong_on, "\n".join(wrong_on)
    names = {r["url"].split("/c/")[1].split("/")[0]: r["reason"] for r in refusals}
    assert names.get("mode-same-origin") == "DisallowedByMode" and "no-cors-put" in names
