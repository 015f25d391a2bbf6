"""A WebSocket handshake the server refuses: real Chromium fails the connection, and the addon says
the server refused it, not CORS (before, the flow read as 'allowed': issue 15)."""

from __future__ import annotations

import json

from e2e_harness import MitmDump, chromium_through

from mitmproxy_cors.demo.browser import check_browser_available
from mitmproxy_cors.demo.servers import DemoServers

OPEN = """async (url) => new Promise((resolve) => {
  const out = {};
  const ws = new WebSocket(url.replace('http', 'ws'));
  ws.onopen = () => { out.open = true; ws.close(); };
  ws.onerror = () => { out.error = true; };
  ws.onclose = (e) => { out.code = e.code; resolve(out); };
  setTimeout(() => resolve(out), 8000);
})"""


def test_a_refused_websocket_handshake_is_the_servers_refusal_not_cors(tmp_path):
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    console: list[str] = []
    with DemoServers() as servers:
        dump = MitmDump(tmp_path).start()
        try:
            api = servers.api.origin()
            urls = {"403": api + "/c/ws-refused/m0?a_status=403",
                    "302": api + "/c/ws-redirect/m0?a_status=302&a_location=" + api + "%2Fc%2Fws-redirect%2Fm1"}
            with chromium_through(dump) as ctx:
                page = ctx.new_page()
                page.on("console", lambda m: console.append(m.text))
                page.goto(servers.page.origin() + "/")
                seen = {k: page.evaluate(OPEN, u) for k, u in urls.items()}
                page.wait_for_timeout(300)
        finally:
            dump.stop()
    lines = [json.loads(x) for x in dump.report.read_text().splitlines() if x.strip()]
    for status, url in urls.items():
        # What Chromium did: the connection failed (1006), and its console names the status.
        assert seen[status].get("error") and seen[status].get("code") == 1006 and not seen[status].get("open")
        assert any(f"Unexpected response code: {status}" in m for m in console), console
        # What the addon says: failed, not by CORS, refused by the server, with what to change there.
        (line,) = [d for d in lines if "record" not in d and d["url"] == url]
        assert (line["kind"], line["verdict"], line["reason"], line["mode"]) == ("not-cors", "blocked", None, "websocket")
        assert f"the server refused the WebSocket handshake ({status}): not a CORS error" in line["cause"]
        assert f"Unexpected response code: {status}" in line["message"]
        assert "WebSocket origin check" in line["warnings"][0]
        assert line["summary"].startswith("CORS n/a: the server refused the WebSocket handshake")
