"""The mitmproxy console (urwid) driven in tmux: what a user sees, captured as text.

Checks the flow list markers, the `c` key (cors.explain @focus), the Response tab (the cors view on
11; "No content" on 12, where the key, the command and the Detail tab carry the analysis), the
Detail tab's comment, the flow filter and `cors.report` before any traffic (never an empty list).
Captures go to docs/img/console-<major>-<step>.txt when missing or when CORS_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request

import pytest
from mitmproxy.version import VERSION
from .procs import ADDON, BIN, REPO, free_port, wait_port

from mitmproxy_cors.demo.servers import DemoServers, api_url

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]
MAJOR = VERSION.split(".")[0]
DOCS_IMG = REPO / "docs" / "img"


class Tmux:
    def __init__(self, name: str, command: str, width: int = 150, height: int = 45):
        self.name = name
        self.tmux("kill-session", "-t", name, check=False)
        self.tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command)
        # keep the pane after the program exits, to read a crash
        self.tmux("set-option", "-t", name, "remain-on-exit", "on", check=False)

    def tmux(self, *args: str, check: bool = True) -> str:
        r = subprocess.run(["tmux", *args], capture_output=True, text=True)
        if check and r.returncode:
            raise RuntimeError(f"tmux {args}: {r.stderr}")
        return r.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on the screen:\n{screen}")

    def command(self, cmd: str) -> None:
        self.keys(":")
        time.sleep(0.3)
        self.keys(cmd, literal=True)
        time.sleep(0.2)
        self.keys("Enter")

    def close(self) -> None:
        self.tmux("kill-session", "-t", self.name, check=False)


def keep(screen: str, step: str) -> None:
    dst = DOCS_IMG / f"console-{MAJOR}-{step}.txt"
    if os.environ.get("CORS_UPDATE_SCREENSHOTS") == "1" or not dst.exists():
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        dst.write_text("\n".join(line.rstrip() for line in screen.splitlines()).rstrip() + "\n")


def test_console(tmp_path):
    port = free_port()
    confdir = tmp_path / "conf"  # no user keys.yaml or config.yaml
    confdir.mkdir()
    with DemoServers() as servers:
        tm = Tmux(f"cors-ui-{MAJOR}-{port}",
                  f"{BIN / 'mitmproxy'} --listen-host 127.0.0.1 -p {port} --set confdir={confdir} -s {ADDON}")
        try:
            tm.wait_for("[scripts:1]")
            wait_port(port, _NoProc())

            # A report before any traffic: one line in the data viewer, no crash.
            tm.command("cors.report")
            tm.wait_for("cors.report: no CORS flows seen yet")
            tm.keys("q")

            opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"}))
            page, api = servers.page.origin(), servers.api.origin()
            h = {"Origin": page, "Sec-Fetch-Mode": "cors"}
            for url, method, extra in [
                (api_url(api, "/c/con/put", {"p_status": "204"}), "OPTIONS", {"Access-Control-Request-Method": "PUT"}),
                (api_url(api, "/c/con/get", {"acao": "http://evil.test"}), "GET", {}),
                (api_url(api, "/c/con/ok", {"acao": "echo", "acac": "true", "h": "Vary: Origin"}), "GET", {}),
            ]:
                with opener.open(urllib.request.Request(url, method=method, headers={**h, **extra}), timeout=10):
                    pass

            tm.wait_for("/c/con/ok")
            # The verdicts come from the analysis worker a few milliseconds after the flows.
            deadline = time.monotonic() + 10
            while True:
                screen = tm.screen()
                rows = [line for line in screen.splitlines() if "/c/con/" in line]
                if sum(r.rstrip().endswith("✖") for r in rows) >= 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert len(rows) == 3
            assert rows[0].rstrip().endswith("✖") and rows[1].rstrip().endswith("✖")
            assert not rows[2].rstrip().endswith("✖")
            keep(screen, "list")

            # The key: cors.explain @focus on the focused (first) flow.
            tm.keys("g")
            tm.keys("c")
            screen = tm.wait_for("Data viewer")
            assert "CORS BLOCKED: PreflightMissingAllowOriginHeader" in screen
            assert "✗ Access-Control-Allow-Origin: fails" in screen
            keep(screen, "explain")
            tm.keys("q")

            # The flow view: Response tab, then Detail tab.
            tm.keys("Enter")
            tm.wait_for("Flow Details")
            tm.keys("Tab")
            time.sleep(0.8)
            screen = tm.screen()
            if MAJOR == "11":
                assert "CORS BLOCKED: PreflightMissingAllowOriginHeader" in screen
            else:
                assert "No content" in screen and "CORS BLOCKED" not in screen
            keep(screen, "response")
            tm.keys("Tab")
            screen = tm.wait_for("Comment: PreflightMissingAllowOriginHeader — CORS blocked: fix")
            assert "Metadata:" in screen
            keep(screen, "detail")
            tm.command("cors.explain @focus")  # the same from the flow view
            tm.wait_for("Data viewer")
            tm.keys("q")
            tm.keys("q")

            # Only the blocked flows.
            tm.command("set view_filter '~marker heavy_multiplication_x'")
            time.sleep(1)
            screen = tm.screen()
            rows = [line for line in screen.splitlines() if "/c/con/" in line]
            assert len(rows) == 2 and all(r.rstrip().endswith("✖") for r in rows)
            keep(screen, "filter")

            tm.command("cors.report")
            screen = tm.wait_for("cors.report: 2 blocked of 3 CORS flow(s)")
            keep(screen, "report")
            tm.keys("q")
        finally:
            tm.close()


class _NoProc:
    def poll(self):
        return None
