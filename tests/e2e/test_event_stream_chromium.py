"""Server-sent events through a real mitmdump, judged by Chromium 156 (issue 15, long-lived responses).

An `EventSource` to another origin, allowed (Access-Control-Allow-Origin echoed) and blocked (none),
whose stream the server holds open for HOLD seconds. The addon judges it at the response headers: its
report line must be there while the stream is still open, and agree with Chromium's corsErrorStatus.

What mitmproxy does with an event stream is measured too, on whichever mitmproxy this venv runs (11 or
12): with default options it buffers the body, so the page's `open` event and every message come only
when the stream closes (the flow says so); `--set stream_large_bodies=1` streams it (`open` at once).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from e2e_harness import MitmDump, addon_verdict, chromium_verdict

from mitmproxy_cors.demo.browser import ChromiumDriver, Snippet, _CdpRecorder, check_browser_available
from mitmproxy_cors.demo.servers import DemoServers, api_url
from mitmproxy_cors.engine.long_lived import BUFFERED_WARNING, JUDGED_AT_HEADERS

pytestmark = pytest.mark.e2e

HOLD = 4.0  # seconds the server keeps each stream open

OPEN = """([id, url]) => { window.__sse = window.__sse || {}; const log = window.__sse[id] = [];
  const t0 = performance.now(); const es = new EventSource(url);
  es.onopen = () => log.push(['open', performance.now() - t0]);
  es.onmessage = (e) => log.push(['message', performance.now() - t0, e.data]);
  es.onerror = () => { log.push(['error', performance.now() - t0, es.readyState]); es.close(); }; }"""


class _Dump(MitmDump):
    def __init__(self, workdir: Path, sets: list[str]):
        super().__init__(workdir)
        self.sets = sets

    def command(self) -> list[str]:
        return super().command() + [x for s in self.sets for x in ("--set", s)]


def _run(tmp_path: Path, sets: list[str]) -> dict:
    """Both streams in one page; the report is read while they are open."""
    out: dict = {"report_at": {}}
    with DemoServers() as servers:
        dump = _Dump(tmp_path, sets).start()
        try:
            with ChromiumDriver(f"127.0.0.1:{dump.port}") as driver:
                page = driver.context.new_page()
                recorder = _CdpRecorder(driver.context.new_cdp_session(page))
                page.goto(servers.page.origin() + "/")
                urls = {"allowed": api_url(servers.api.origin(), "/c/sse-allowed/m0", {"acao": "echo", "sse": HOLD}),
                        "blocked": api_url(servers.api.origin(), "/c/sse-blocked/m0", {"sse": HOLD})}
                started = time.monotonic()
                for name, url in urls.items():
                    page.evaluate(OPEN, [name, url])
                while time.monotonic() - started < HOLD + 2.5:
                    lines = [json.loads(x) for x in dump.report.read_text().splitlines()] if dump.report.exists() else []
                    for line in lines:
                        for name, url in urls.items():
                            if line.get("url") == url and name not in out["report_at"]:
                                out["report_at"][name] = time.monotonic() - started
                    time.sleep(0.1)
                out["page"] = page.evaluate("window.__sse")
                out["chromium"] = {
                    name: recorder.result_for(Snippet(name, "", match=f"/c/sse-{name}/"),
                                              {"value": {"ok": any(e[0] == "open" for e in out["page"][name])}})
                    for name in urls}
                page.close()
        finally:
            dump.stop()
        out["urls"] = urls
        out["report"] = [json.loads(x) for x in dump.report.read_text().splitlines() if x.strip()]
        out["log"] = dump.log_tail(40)
    return out


@pytest.mark.parametrize("streamed", [False, True], ids=["default-options", "stream_large_bodies=1"])
def test_event_stream_judged_while_open(tmp_path, streamed):
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    run = _run(tmp_path, ["stream_large_bodies=1"] if streamed else [])
    context = json.dumps({k: v for k, v in run.items() if k != "chromium"}, indent=1, default=str)
    for name, url in run["urls"].items():
        lines = [x for x in run["report"] if x.get("url") == url and "record" not in x]
        assert len(lines) == 1, f"one verdict line per flow\n{context}"  # not again when the stream closes
        line = lines[0]
        # The verdict is there while the server still holds the stream open.
        assert run["report_at"].get(name, HOLD) < HOLD - 1.0, context
        assert JUDGED_AT_HEADERS in line["notes"], context
        result = run["chromium"][name]
        assert result.main_requests and result.main_requests[0].type == "EventSource", context
        assert addon_verdict(lines, "same-origin") == chromium_verdict(result), context
        assert chromium_verdict(result) == ((None, None) if name == "allowed" else ("MissingAllowOriginHeader", "")), context
        assert (BUFFERED_WARNING in line["warnings"]) == (not streamed), context
    # What mitmproxy does with the stream: buffered, the page gets `open` only when it closes.
    opened = next(e[1] for e in run["page"]["allowed"] if e[0] == "open") / 1000
    if streamed:
        assert opened < 1.5, context
    else:
        assert opened >= HOLD - 0.5, context
