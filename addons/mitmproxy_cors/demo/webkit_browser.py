"""Drive Debian's WebKitGTK (Safari's engine) through a proxy and record WebKit's console sentences.

The counterpart of browser.py's ChromiumDriver for WebKit, with the same page helpers and snippets:
Xvfb gives WebKitGTK a display, WebKitWebDriver (WebDriver classic over HTTP/JSON, plain urllib)
starts webkit_minibrowser.py under the system's python3 (PyGObject), whose web process prints
console messages to its output (``CONSOLE SECURITY ERROR Origin ... is not allowed by ...``).
WebKit reports a CORS reason only there: the page sees ``TypeError: Load failed``.

Snippets run one at a time; after each, the page logs ``barrier N`` and every console line before it
belongs to that snippet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .browser import PAGE_HELPERS, BrowserUnavailable, Snippet

__all__ = ["WEBKIT_PACKAGES", "WebKitDriver", "WebKitResult", "check_webkit_available", "cors_sentences"]

WEBKIT_PACKAGES = ("webkit2gtk-driver", "gir1.2-webkit2-4.1", "python3-gi", "xvfb")
SYSTEM_PYTHON = "/usr/bin/python3"
MINIBROWSER = Path(__file__).with_name("webkit_minibrowser.py")
_CONSOLE = re.compile(r"^CONSOLE ([A-Z-]+) (?:(LOG|ERROR|WARN|WARNING|INFO|DEBUG) )?(.*)$")


def check_webkit_available() -> None:
    """Raise BrowserUnavailable (tests fail, never skip) naming what is missing."""
    problems = [f"{tool} not found" for tool in ("WebKitWebDriver", "Xvfb") if shutil.which(tool) is None]
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('WebKit2', '4.1'); "
                            "gi.require_version('Gtk', '3.0'); from gi.repository import WebKit2, Gtk"],
                           capture_output=True, text=True) if Path(SYSTEM_PYTHON).exists() else None
    if probe is None or probe.returncode != 0:
        problems.append("PyGObject with WebKit2 4.1 is not importable by /usr/bin/python3")
    if problems:
        raise BrowserUnavailable("; ".join(problems) + " (Debian: apt-get install -y " + " ".join(WEBKIT_PACKAGES) + ")")


@dataclass
class WebKitResult:
    id: str
    page: list[dict[str, Any]]  # step results from the page helpers
    threw: str | None
    console: list[tuple[str, str, str]]  # (source, level, text) of the lines before this snippet's barrier

    @property
    def page_ok(self) -> bool:
        return self.threw is None and all(step.get("ok") for step in self.page)


def cors_sentences(console: Sequence[tuple[str, str, str]]) -> list[str]:
    """WebKit's reason sentences among a snippet's console lines: the security errors, without the
    generic lines WebKit adds after them ("Fetch API cannot load ...", "XMLHttpRequest cannot load ...",
    "Failed to load resource: ...")."""
    out = []
    for source, level, text in console:
        if source != "SECURITY" or level != "ERROR":
            continue
        if text.endswith("due to access control checks.") or text.startswith("Failed to load resource"):
            continue
        out.append(text)
    return out


class WebKitDriver:
    """One WebKitGTK under WebKitWebDriver, on its own Xvfb display, talking through ``proxy``."""

    def __init__(self, proxy: str):
        self.proxy = proxy
        self._dir: str | None = None
        self._xvfb: subprocess.Popen | None = None
        self._driver: subprocess.Popen | None = None
        self._port = 0
        self._session: str | None = None
        self._log: Path | None = None
        self._read = 0
        self._barrier = 0
        self.version = ""

    # -- processes ---------------------------------------------------------------------------------------
    def start(self) -> "WebKitDriver":
        check_webkit_available()
        self._dir = tempfile.mkdtemp(prefix="cors-webkit-")
        try:
            display = self._start_xvfb()
            self._port = _free_port()
            self._log = Path(self._dir) / "webdriver.log"
            env = {**os.environ, "DISPLAY": display}
            env.pop("WAYLAND_DISPLAY", None)
            with open(self._log, "wb") as log:
                self._driver = subprocess.Popen(["WebKitWebDriver", f"--port={self._port}"], stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                                start_new_session=True)
            _wait_listening(self._port, self._driver, 20)
            caps = {"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": {
                "binary": SYSTEM_PYTHON,
                "args": [str(MINIBROWSER), self._dir, f"http://{self.proxy}"]}}}}
            value = self._call("POST", "/session", caps, timeout=60)
            self._session = value["sessionId"]
            self.version = str(value.get("capabilities", {}).get("browserVersion", ""))
        except Exception:
            self.stop()
            raise
        return self

    def _start_xvfb(self) -> str:
        read, write = os.pipe()
        self._xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24",
                                       "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(write)
        number = b""
        deadline = time.monotonic() + 20
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read, 16)
            if not chunk:
                break
            number += chunk
        os.close(read)
        if not number.strip():
            raise BrowserUnavailable("Xvfb did not report a display")
        return ":" + number.decode().strip()

    def stop(self) -> None:
        if self._session and self._driver and self._driver.poll() is None:
            try:
                self._call("DELETE", f"/session/{self._session}", timeout=15)
            except Exception:
                pass
        self._session = None
        for proc in (self._driver, self._xvfb):
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)  # its own process group: the browser it started too
                    proc.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(5)
        self._driver = self._xvfb = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> "WebKitDriver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- WebDriver ---------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(f"http://127.0.0.1:{self._port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.code} {e.read()[:500]!r}\n{self.log_tail()}") from None

    def _script(self, script: str, args: list, asynchronous: bool = False, timeout: float = 30) -> Any:
        kind = "async" if asynchronous else "sync"
        return self._call("POST", f"/session/{self._session}/execute/{kind}", {"script": script, "args": args},
                          timeout=timeout)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-n:]) if self._log else ""
        except FileNotFoundError:
            return ""

    def _console_until_barrier(self, timeout: float = 10) -> list[tuple[str, str, str]]:
        """The console lines printed since the last barrier, up to a new one."""
        self._barrier += 1
        marker = f"barrier {self._barrier}"
        self._script(f"console.log({json.dumps(marker)});", [])
        deadline = time.monotonic() + timeout
        while True:
            raw = self._log.read_bytes()[self._read:] if self._log else b""
            text = raw.decode(errors="replace")
            lines = text.split("\n")
            for i, line in enumerate(lines[:-1]):
                m = _CONSOLE.match(line.strip())
                if m and m.group(3) == marker:
                    self._read += len("\n".join(lines[:i + 1]).encode(errors="replace")) + 1
                    out = []
                    for earlier in lines[:i]:
                        e = _CONSOLE.match(earlier.strip())
                        if e:
                            out.append((e.group(1), e.group(2), e.group(3)))
                    return out
            if time.monotonic() > deadline:
                raise RuntimeError(f"console barrier {self._barrier} never printed\n{self.log_tail()}")
            time.sleep(0.05)

    def run(self, page_url: str, snippets: Sequence[Snippet], *, setup_js: str | None = None) -> dict[str, WebKitResult]:
        """Open ``page_url``, run ``setup_js``, then every snippet in order, each followed by a barrier."""
        assert self._session, "driver not started"
        self._call("POST", f"/session/{self._session}/url", {"url": page_url}, timeout=60)
        self._script(PAGE_HELPERS, [])
        runner = ("const done = arguments[arguments.length - 1];"
                  "const [source, urls, timeoutMs] = arguments;"
                  "let fn; try { fn = (0, eval)('(' + source + ')'); } catch (e) { done({threw: 'syntax: ' + e}); return; }"
                  "const timer = setTimeout(() => done({threw: 'timeout'}), timeoutMs);"
                  "Promise.resolve().then(() => fn(urls)).then((v) => { clearTimeout(timer); done({value: v}); },"
                  " (e) => { clearTimeout(timer); done({threw: String(e)}); });")
        if setup_js:
            outcome = self._script(runner, [setup_js, {}, 15000], asynchronous=True)
            if "threw" in (outcome or {}):
                raise RuntimeError(f"setup script failed: {outcome['threw']}")
        self._console_until_barrier()
        results = {}
        for snippet in snippets:
            outcome = self._script(runner, [snippet.js, snippet.urls, snippet.timeout_ms], asynchronous=True,
                                   timeout=snippet.timeout_ms / 1000 + 30) or {}
            console = self._console_until_barrier()
            value = outcome.get("value")
            steps = value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])
            results[snippet.id] = WebKitResult(snippet.id, steps, outcome.get("threw"), console)
        return results


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrowserUnavailable(f"WebKitWebDriver exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise BrowserUnavailable(f"WebKitWebDriver did not listen on {port} within {timeout}s")
