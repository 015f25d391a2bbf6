"""Session fixtures: servers, one mitmdump with the addon, one Chromium; every selected case runs once."""

from __future__ import annotations

import os

import pytest

from e2e_cases import CASES, Case
from e2e_harness import DemoServers, E2ERun, MitmDump, addon_enabled, dump, run_all


def _selected_cases(session: pytest.Session):
    """The cases the collected tests ask about (all of them in a full run; fewer with -k)."""
    wanted = set()
    for item in session.items:
        case = getattr(item, "callspec", None) and item.callspec.params.get("case")
        if isinstance(case, Case):  # other folders parametrize on "case" too
            wanted.add(case.id)
    return [c for c in CASES if c.id in wanted]


@pytest.fixture(scope="session")
def e2e_run(request, tmp_path_factory) -> E2ERun:
    # Fails (never skips) when Chromium or Playwright is missing: ChromiumDriver raises BrowserUnavailable.
    cases = _selected_cases(request.session)
    workdir = tmp_path_factory.mktemp("cors-e2e")
    with DemoServers() as servers:
        mitmdump = MitmDump(workdir, with_addon=addon_enabled()).start()
        try:
            run = run_all(cases, servers, mitmdump)
        finally:
            mitmdump.stop()
    if os.environ.get("CORS_E2E_DUMP"):
        dump(run, cases, os.environ["CORS_E2E_DUMP"])
    return run
