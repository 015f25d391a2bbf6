"""A plain-http host that is not potentially trustworthy, judged by Chromium 156 through mitmdump (issue 15).

There Chromium sends no `Sec-Fetch-*`, and a same-origin GET carries no `Origin`: the addon infers the
request mode from the wire (engine/request_mode.py, engine/redirect_check.py). The page is
`http://www.app.test:P`, the API `http://api.app.test:Q`: names no resolver knows, which mitmdump reaches
through tests/e2e/loopback_resolver.py (every name to the page server, which answers like any other, see
addons/mitmproxy_cors/demo/servers.py). Cases: e2e_cases.PLAIN_HTTP_CASES.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_cases import PLAIN_HTTP_CASES, Case
from e2e_harness import (ALLOWED, DemoServers, E2ERun, MitmDump, addon_verdict, chromium_verdict, describe, run_all,
                         unreported_exchanges)

pytestmark = pytest.mark.e2e

RESOLVER = Path(__file__).resolve().parent / "loopback_resolver.py"


class _ResolvingDump(MitmDump):
    """The addon's mitmdump, with every server connection sent to one loopback port."""

    def __init__(self, workdir: Path, port: int):
        super().__init__(workdir)
        self.loopback_port = port

    def command(self) -> list[str]:
        return super().command() + ["-s", str(RESOLVER), "--set", f"loopback_port={self.loopback_port}"]


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory) -> E2ERun:
    workdir = tmp_path_factory.mktemp("cors-plain-http")
    with DemoServers() as servers:
        dump = _ResolvingDump(workdir, servers.page.port).start()
        try:
            return run_all(PLAIN_HTTP_CASES, servers, dump)
        finally:
            dump.stop()


@pytest.mark.parametrize("pcase", PLAIN_HTTP_CASES, ids=lambda c: c.id)
def test_plain_http_addon_matches_chromium(plain_run: E2ERun, pcase: Case):
    result = plain_run.results[pcase.id]
    context = describe(plain_run, pcase)
    chromium = chromium_verdict(result)
    assert result.threw is None, context
    assert chromium == plain_run.origins.expected(pcase), context  # the case does what its name says
    assert result.page_ok == (chromium == ALLOWED), context
    wire = plain_run.case_exchanges(pcase)
    # The premise: no Sec-Fetch-* to a host that is not potentially trustworthy (measured: Chromium 156 still
    # sends Sec-Fetch-Mode: cors on a preflight there, and on nothing else).
    assert wire and not any(e.request_header("Sec-Fetch-Mode") for e in wire if e.method != "OPTIONS"), context
    lines = plain_run.case_report(pcase)
    assert lines, f"the addon reported no flow for this case\n{context}"
    missing = unreported_exchanges(wire, lines)
    assert not missing, f"requests on the wire without a report line: {missing}\n{context}"
    addon = addon_verdict(lines, pcase.creds)
    if chromium[0] == "net-error":  # no CorsError: the addon must say the fetch failed, not why in net:: terms
        addon = (addon[0], chromium[1]) if addon[0] == "net-error" else addon
    assert addon == chromium, f"addon {addon} != Chromium {chromium}\n{context}"
