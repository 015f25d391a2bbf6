"""Chromium 156 through a real mitmdump with the addon: does the addon predict Chromium's verdict?

Every case of ``e2e_cases.CASES`` runs once in a shared session (see conftest.py); the tests below only
look at the recorded results, so each case passes or fails on its own.
"""

from __future__ import annotations

import pytest

from e2e_cases import CASES, Case
from e2e_harness import ALLOWED, E2ERun, addon_enabled, addon_verdict, chromium_verdict, describe, unreported_exchanges

pytestmark = pytest.mark.e2e

SEEN = [c for c in CASES if not c.unseen]
UNSEEN = [c for c in CASES if c.unseen]
ids = [c.id for c in CASES]


def test_case_table_is_big_enough():
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert not any(a != b and b.startswith(a + "/") for a in ids for b in ids)
    assert len(SEEN) >= 100


@pytest.mark.parametrize("case", SEEN, ids=lambda c: c.id)
def test_addon_matches_chromium(e2e_run: E2ERun, case: Case):
    if not addon_enabled():
        pytest.skip("CORS_E2E_ADDON=0: mitmdump runs without the addon")
    if e2e_run.report is None:
        pytest.fail("the addon wrote no report (is cors_addon.py loading?)\n" + e2e_run.mitmdump_log)
    result = e2e_run.results[case.id]
    chromium = chromium_verdict(result)
    lines = e2e_run.case_report(case)
    context = describe(e2e_run, case)
    assert lines, f"the addon reported no flow for this case\n{context}"
    missing = unreported_exchanges(e2e_run.case_exchanges(case), lines)
    assert not missing, f"requests on the wire without a report line: {missing}\n{context}"
    addon = addon_verdict(lines, case.creds)
    if chromium[0] == "net-error":  # no CorsError: the addon must say the fetch failed, not why in net:: terms
        addon = (addon[0], chromium[1]) if addon[0] == "net-error" else addon
    assert addon == chromium, f"addon {addon} != Chromium {chromium}\n{context}"


@pytest.mark.parametrize("case", SEEN, ids=lambda c: c.id)
def test_chromium_reports_expected(e2e_run: E2ERun, case: Case):
    """The case does what its name says: Chromium's verdict is the one in the table, the page saw a
    failure exactly when Chromium reported a CORS error, and cache cases put the expected number of
    preflights on the wire."""
    result = e2e_run.results[case.id]
    context = describe(e2e_run, case)
    chromium = chromium_verdict(result)
    assert result.threw is None, context
    assert result.page, f"the snippet returned no step result\n{context}"
    assert result.main_requests, f"Chromium made no request for this case\n{context}"
    assert result.page_ok == (chromium == ALLOWED), f"page outcome disagrees with CDP\n{context}"
    assert chromium == e2e_run.origins.expected(case), context
    if case.preflights is not None:
        wire = [e for e in e2e_run.case_exchanges(case) if e.method == "OPTIONS"]
        assert len(wire) == case.preflights, context
    if (case.init or {}).get("credentials") == "include" and case.url.server != "dead" and case.url.host is None:
        # one credentialed fetch to a same-site target: the page's cookie is on the wire (the addon can see it)
        actual = [e for e in e2e_run.case_exchanges(case) if e.method != "OPTIONS"]
        assert all(e.request_header("Cookie") == ["sid=1"] for e in actual), context


@pytest.mark.parametrize("case", UNSEEN, ids=lambda c: c.id)
def test_renderer_failures_send_nothing(e2e_run: E2ERun, case: Case):
    """Failures inside the renderer: the fetch rejects and nothing reaches the proxy or the servers."""
    result = e2e_run.results[case.id]
    context = describe(e2e_run, case)
    assert result.page and not result.page_ok, context
    assert e2e_run.case_exchanges(case) == [], context
    if e2e_run.report is not None:
        assert e2e_run.case_report(case) == [], context
