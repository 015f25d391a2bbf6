"""Session fixtures: servers, one mitmdump with the addon, one Chromium; every case runs once."""

from __future__ import annotations

import os

import pytest

from e2e_cases import CASES
from e2e_harness import DemoServers, E2ERun, MitmDump, addon_enabled, dump, run_all


@pytest.fixture(scope="session")
def e2e_run(tmp_path_factory) -> E2ERun:
    # Fails (never skips) when Chromium or Playwright is missing: ChromiumDriver raises BrowserUnavailable.
    workdir = tmp_path_factory.mktemp("cors-e2e")
    with DemoServers() as servers:
        mitmdump = MitmDump(workdir, with_addon=addon_enabled()).start()
        try:
            run = run_all(CASES, servers, mitmdump)
        finally:
            mitmdump.stop()
    if os.environ.get("CORS_E2E_DUMP"):
        dump(run, CASES, os.environ["CORS_E2E_DUMP"])
    return run
