"""Drive Debian's Firefox ESR through a proxy over WebDriver BiDi, and read Firefox's CORS reasons.

What it relies on is in /work/shared/firefox-e2e-notes.md and tests/e2e/README.md ("Driving Firefox
here"): Firefox speaks WebDriver BiDi itself (no geckodriver, no Playwright build), started as
``firefox-esr --headless --no-remote --remote-debugging-port=0 --profile <fresh dir>``; the proxy and
the switches that silence its background traffic go into the fresh profile's ``user.js``.

The websocket is spoken with ``wsproto`` (a dependency of mitmproxy, so already installed) on a plain
socket; one reader thread hands command results back and keeps the ``log.entryAdded`` events::

    with FirefoxBrowser(proxy_port) as ff:
        ff.goto("http://127.0.0.1:8000/")
        value = ff.run("async (url) => (await fetch(url)).status", "http://127.0.0.1:8001/x")
        errors = ff.console_errors()          # list[ConsoleEntry]
        reasons = [firefox_cors_reason(e.text) for e in errors]

Firefox's CORS verdict is a console error, "Cross-Origin Request Blocked: ... (Reason: ...)", whose
text is one of the templates in ``security.properties`` (inside ``omni.ja``); :func:`firefox_cors_reason`
maps it back to the template's key, without the version suffix Firefox adds when a text changes
(``CORSMissingAllowOrigin2`` -> ``CORSMissingAllowOrigin``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from collections.abc import Callable
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, RejectConnection, Request,
                            TextMessage)

__all__ = [
    "FIREFOX",
    "BiDiError",
    "ConsoleEntry",
    "FirefoxBrowser",
    "FirefoxUnavailable",
    "check_firefox_available",
    "firefox_cors_reason",
    "security_properties",
]

FIREFOX = os.environ.get("CORS_E2E_FIREFOX", "/usr/bin/firefox-esr")


class FirefoxUnavailable(RuntimeError):
    """firefox-esr is missing: the Firefox end-to-end tests must fail, not skip."""


class BiDiError(RuntimeError):
    """A BiDi command failed, or the script it ran threw."""


def check_firefox_available(executable: str = FIREFOX) -> None:
    if not (Path(executable).is_file() or shutil.which(executable)):
        raise FirefoxUnavailable(
            f"Firefox executable {executable!r} not found: install Debian's firefox-esr "
            "(apt-get install -y firefox-esr; scripts/test.sh does it) or set CORS_E2E_FIREFOX")


def profile_prefs(proxy_host: str, proxy_port: int) -> dict[str, Any]:
    """``user.js`` of a fresh profile: every request through the proxy, loopback included, and none
    of Firefox's own background traffic, so that the proxy's flow list holds only the page's."""
    return {
        "network.proxy.type": 1,
        "network.proxy.http": proxy_host,
        "network.proxy.http_port": proxy_port,
        "network.proxy.ssl": proxy_host,
        "network.proxy.ssl_port": proxy_port,
        "network.proxy.share_proxy_settings": True,
        "network.proxy.no_proxies_on": "",
        "network.proxy.allow_hijacking_localhost": True,  # else 127.0.0.1 and localhost bypass the proxy
        "network.proxy.socks_remote_dns": False,
        # background traffic off: updates, telemetry, safe browsing, captive portal, remote settings, ...
        "app.update.disabledForTesting": True,
        "app.update.auto": False,
        "app.normandy.enabled": False,
        "app.shield.optoutstudies.enabled": False,
        "toolkit.telemetry.enabled": False,
        "toolkit.telemetry.unified": False,
        "toolkit.telemetry.server": "",
        "toolkit.telemetry.archive.enabled": False,
        "datareporting.healthreport.uploadEnabled": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "datareporting.usage.uploadEnabled": False,
        "browser.ping-centre.telemetry": False,
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "browser.safebrowsing.downloads.enabled": False,
        "browser.safebrowsing.downloads.remote.enabled": False,
        "browser.safebrowsing.blockedURIs.enabled": False,
        "browser.safebrowsing.provider.google4.updateURL": "",
        "browser.safebrowsing.provider.google.updateURL": "",
        "browser.safebrowsing.provider.mozilla.updateURL": "",
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "services.settings.server": "data:,",
        "services.sync.engine.addons": False,
        "extensions.update.enabled": False,
        "extensions.getAddons.cache.enabled": False,
        "extensions.systemAddon.update.enabled": False,
        "extensions.blocklist.enabled": False,
        "media.gmp-manager.updateEnabled": False,
        "media.gmp-gmpopenh264.enabled": False,
        "browser.region.update.enabled": False,
        "browser.region.network.url": "",
        "geo.provider.network.url": "",
        "browser.topsites.contile.enabled": False,
        "browser.newtabpage.enabled": False,
        "browser.newtabpage.activity-stream.feeds.topsites": False,
        "browser.newtabpage.activity-stream.feeds.section.topstories": False,
        "browser.newtabpage.activity-stream.feeds.telemetry": False,
        "browser.newtabpage.activity-stream.telemetry": False,
        "browser.startup.page": 0,
        "browser.startup.homepage": "about:blank",
        "browser.startup.homepage_override.mstone": "ignore",
        "browser.shell.checkDefaultBrowser": False,
        "browser.aboutwelcome.enabled": False,
        "network.dns.disablePrefetch": True,
        "network.prefetch-next": False,
        "network.predictor.enabled": False,
        "network.http.speculative-parallel-limit": 0,
        "network.trr.mode": 5,
        "security.OCSP.enabled": 0,
        "security.remote_settings.crlite_filters.enabled": False,
        "security.remote_settings.intermediates.enabled": False,
        "browser.search.update": False,
        "browser.urlbar.suggest.quicksuggest.sponsored": False,
        "browser.urlbar.quicksuggest.enabled": False,
        "toolkit.startup.max_resumed_crashes": -1,
        "browser.sessionstore.resume_from_crash": False,
        "browser.tabs.warnOnClose": False,
    }


def _user_js(prefs: dict[str, Any]) -> str:
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


# --- BiDi values --------------------------------------------------------------------------------------
def to_local_value(value: Any) -> dict[str, Any]:
    """A Python value as a BiDi ``script.LocalValue`` (the arguments of ``run``)."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, (int, float)):
        return {"type": "number", "value": value}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, (list, tuple)):
        return {"type": "array", "value": [to_local_value(v) for v in value]}
    if isinstance(value, dict):
        return {"type": "object", "value": [[str(k), to_local_value(v)] for k, v in value.items()]}
    raise TypeError(f"cannot pass {type(value).__name__} to the page")


def from_remote_value(rv: dict[str, Any]) -> Any:
    """A BiDi ``script.RemoteValue`` as plain Python (objects without a value, e.g. DOM nodes, as
    ``{"type": ...}``)."""
    kind = rv.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind == "number":
        v = rv.get("value")
        return float(v) if isinstance(v, str) else v  # "NaN", "Infinity", "-0"
    if kind in ("string", "boolean", "bigint"):
        return rv.get("value")
    if kind in ("array", "set") and "value" in rv:
        return [from_remote_value(v) for v in rv["value"]]
    if kind in ("object", "map") and "value" in rv:
        out = {}
        for k, v in rv["value"]:
            out[k if isinstance(k, str) else json.dumps(from_remote_value(k))] = from_remote_value(v)
        return out
    if kind == "error":
        return {"type": "error"}
    return {"type": kind}


@dataclass(frozen=True)
class ConsoleEntry:
    """One ``log.entryAdded`` event: level (error, warn, info, debug), type (javascript, console), text."""

    level: str
    type: str
    text: str
    timestamp: float
    source_context: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# --- Firefox's reason keys ----------------------------------------------------------------------------
def _omni_ja(executable: str) -> Path | None:
    real = Path(shutil.which(executable) or executable).resolve()
    for candidate in (real.parent / "omni.ja", Path("/usr/lib/firefox-esr/omni.ja")):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=4)
def security_properties(executable: str = FIREFOX) -> dict[str, str]:
    """The ``CORS*`` entries of the installed Firefox's ``security.properties``: key -> text template."""
    omni = _omni_ja(executable)
    if omni is None:
        raise FirefoxUnavailable(f"omni.ja of {executable} not found (is firefox-esr installed?)")
    with zipfile.ZipFile(omni) as z:
        name = next(n for n in z.namelist() if n.endswith("/security/security.properties"))
        text = z.read(name).decode("utf-8")
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("CORS"):
            out[key.strip()] = value.strip()
    return out


@lru_cache(maxsize=4)
def _reason_patterns(executable: str) -> tuple[tuple[str, re.Pattern], ...]:
    patterns = []
    for key, template in security_properties(executable).items():
        parts = re.split(r"(%\d\$S)", template)
        regex = "".join(".*?" if re.fullmatch(r"%\d\$S", p) else re.escape(p) for p in parts)
        patterns.append((re.sub(r"\d+$", "", key), re.compile(regex + "$", re.S)))
    # the longest template first: a more specific text wins over a shorter one it contains
    return tuple(sorted(patterns, key=lambda kp: -len(kp[1].pattern)))


def firefox_cors_reason(text: str, executable: str = FIREFOX) -> str | None:
    """The ``security.properties`` key (version suffix dropped) of a Firefox console message, or None
    when the message is not one of Firefox's CORS messages."""
    for key, pattern in _reason_patterns(executable):
        if pattern.match(text.strip()):
            return key
    return None


# --- the websocket ------------------------------------------------------------------------------------
class _BiDiSocket:
    """WebDriver BiDi over one websocket: ``command`` waits for its result; events go to ``on_event``."""

    def __init__(self, port: int, on_event: Callable[[dict[str, Any]], None], timeout: float = 30.0):
        self._sock = socket.create_connection(("127.0.0.1", port), timeout)
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, list] = {}  # id -> [threading.Event, message]
        self._on_event = on_event
        self.closed = threading.Event()
        self._sock.sendall(self._ws.send(Request(host=f"127.0.0.1:{port}", target="/session")))
        self._handshake(timeout)
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read, name="firefox-bidi", daemon=True)
        self._reader.start()

    def _handshake(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self._sock.recv(65536)
            if not data:
                break
            self._ws.receive_data(data)
            for event in self._ws.events():
                if isinstance(event, AcceptConnection):
                    return
                if isinstance(event, RejectConnection):
                    raise BiDiError(f"Firefox refused the BiDi websocket (status {event.status_code})")
        raise BiDiError("no websocket handshake from Firefox's BiDi server")

    def _read(self) -> None:
        parts: list[str] = []
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    break
                self._ws.receive_data(data)
                for event in self._ws.events():
                    if isinstance(event, TextMessage):
                        parts.append(event.data)
                        if event.message_finished:
                            self._dispatch(json.loads("".join(parts)))
                            parts = []
                    elif isinstance(event, BytesMessage):
                        continue
                    elif isinstance(event, Ping):
                        self._send_raw(self._ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        try:
                            self._send_raw(self._ws.send(event.response()))
                        except Exception:
                            pass
                        return
        except (OSError, ValueError):
            pass
        finally:
            self.closed.set()
            for slot in list(self._waiting.values()):
                slot[0].set()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") == "event":
            self._on_event(message)
            return
        slot = self._waiting.get(message.get("id"))
        if slot is not None:
            slot[1] = message
            slot[0].set()

    def _send_raw(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)

    def command(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        if self.closed.is_set():
            raise BiDiError(f"{method}: the BiDi connection is closed")
        cid = next(self._ids)
        slot: list = [threading.Event(), None]
        self._waiting[cid] = slot
        try:
            payload = json.dumps({"id": cid, "method": method, "params": params or {}})
            self._send_raw(self._ws.send(TextMessage(data=payload)))
            if not slot[0].wait(timeout):
                raise BiDiError(f"{method}: no answer within {timeout}s")
        finally:
            self._waiting.pop(cid, None)
        message = slot[1]
        if message is None:
            raise BiDiError(f"{method}: the BiDi connection closed before the answer")
        if message.get("type") == "error":
            raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
        return message.get("result") or {}

    def close(self) -> None:
        try:
            self._send_raw(self._ws.send(CloseConnection(code=1000)))
        except Exception:
            pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._reader.join(5)


def live_group_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies left to init do not count)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":  # fields after "(comm)": state, ppid, pgrp
            members.append(int(entry.name))
    return members


def _group_alive(pgid: int, timeout: float) -> bool:
    """Whether process group ``pgid`` still has a live process after up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while live_group_members(pgid):
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)
    return False


# --- the browser --------------------------------------------------------------------------------------
class FirefoxBrowser:
    """One headless Firefox in a fresh profile, every request through ``proxy_host:proxy_port``
    (``proxy_port=None``: no proxy), with one BiDi session and one top-level browsing context."""

    def __init__(self, proxy_port: int | None, *, proxy_host: str = "127.0.0.1", executable: str = FIREFOX,
                 prefs: dict[str, Any] | None = None, startup_timeout: float = 60.0):
        self.proxy_host = proxy_host
        self.proxy_port = proxy_port
        self.executable = executable
        self.extra_prefs = dict(prefs or {})
        self.startup_timeout = startup_timeout
        self.version = ""
        self.context: str | None = None
        self._dir: str | None = None
        self._proc: subprocess.Popen | None = None
        self._bidi: _BiDiSocket | None = None
        self._entries: list[ConsoleEntry] = []
        self._entries_lock = threading.Lock()

    # lifecycle
    def start(self) -> "FirefoxBrowser":
        check_firefox_available(self.executable)
        self._dir = tempfile.mkdtemp(prefix="cors-e2e-firefox-")
        profile = Path(self._dir) / "profile"
        profile.mkdir()
        prefs = profile_prefs(self.proxy_host, self.proxy_port) if self.proxy_port else {"network.proxy.type": 0}
        prefs.update(self.extra_prefs)
        (profile / "user.js").write_text(_user_js(prefs))
        log = Path(self._dir) / "firefox.log"
        env = {**os.environ, "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1",
               "MOZ_CRASHREPORTER_SHUTDOWN": "1", "MOZ_DISABLE_AUTO_SAFE_MODE": "1",
               # release builds ignore services.settings.server (remote settings) without it
               "MOZ_REMOTE_SETTINGS_DEVTOOLS": "1"}
        try:
            with open(log, "wb") as out:
                # a session of its own, so that stop() can end Firefox's content processes with it
                self._proc = subprocess.Popen(
                    [self.executable, "--headless", "--no-remote", "--remote-debugging-port=0",
                     "--profile", str(profile), "about:blank"],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                    start_new_session=True)
            port = self._wait_for_bidi_port(log)
            self._bidi = _BiDiSocket(port, self._on_event)
            caps = self._bidi.command("session.new", {"capabilities": {}})
            self.version = (caps.get("capabilities") or {}).get("browserVersion", "")
            self._bidi.command("session.subscribe", {"events": ["log.entryAdded"]})
            tree = self._bidi.command("browsingContext.getTree", {"maxDepth": 0})
            contexts = tree.get("contexts") or []
            if contexts:
                self.context = contexts[0]["context"]
            else:
                self.context = self._bidi.command("browsingContext.create", {"type": "tab"})["context"]
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_bidi_port(self, log: Path) -> int:
        deadline = time.monotonic() + self.startup_timeout
        pattern = re.compile(rb"WebDriver BiDi listening on ws://[^:\s]+:(\d+)")
        while time.monotonic() < deadline:
            found = pattern.search(log.read_bytes())
            if found:
                return int(found.group(1))
            if self._proc is not None and self._proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = log.read_text(errors="replace")[-3000:]
        raise FirefoxUnavailable(f"Firefox did not open its BiDi port within {self.startup_timeout}s:\n{tail}")

    def stop(self) -> None:
        """Closes the browser (``browser.close``), then ends whatever of its process group is left."""
        if self._bidi is not None:
            try:
                self._bidi.command("browser.close", timeout=10)
            except Exception:
                pass
            self._bidi.close()
            self._bidi = None
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
            # Firefox's forkserver and helpers outlive the main process for a moment: the group it
            # leads (start_new_session) gets a little time, then SIGKILL, then until init reaps it.
            if _group_alive(proc.pid, 3.0):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                _group_alive(proc.pid, 5.0)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> "FirefoxBrowser":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # events
    def _on_event(self, message: dict[str, Any]) -> None:
        if message.get("method") != "log.entryAdded":
            return
        p = message.get("params") or {}
        entry = ConsoleEntry(level=p.get("level", ""), type=p.get("type", ""), text=p.get("text") or "",
                             timestamp=p.get("timestamp", 0) / 1000.0,
                             source_context=(p.get("source") or {}).get("context"), raw=p)
        with self._entries_lock:
            self._entries.append(entry)

    def console_entries(self) -> list[ConsoleEntry]:
        """Every console entry BiDi forwarded so far (Firefox forwards errors, not warnings)."""
        with self._entries_lock:
            return list(self._entries)

    def console_errors(self) -> list[ConsoleEntry]:
        return [e for e in self.console_entries() if e.level == "error"]

    def wait_for_console(self, predicate: Callable[[ConsoleEntry], bool], timeout: float = 10.0) -> ConsoleEntry:
        """The first entry (already seen or arriving within ``timeout``) that ``predicate`` accepts;
        TimeoutError otherwise. Console events arrive after the call that caused them may return."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((e for e in self.console_entries() if predicate(e)), None)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no matching console entry within {timeout}s")
            time.sleep(0.05)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def clear_console(self) -> None:
        with self._entries_lock:
            self._entries.clear()

    # page
    def _command(self, method: str, params: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        if self._bidi is None:
            raise BiDiError("Firefox is not started")
        return self._bidi.command(method, params, timeout)

    def goto(self, url: str, wait: str = "complete", timeout: float = 60.0) -> None:
        self._command("browsingContext.navigate", {"context": self.context, "url": url, "wait": wait}, timeout)

    def run(self, function: str, *args: Any, timeout: float = 60.0) -> Any:
        """Calls ``function`` (the source of a JavaScript function, async or not) in the page with
        ``args`` (plain data), awaits it, and returns its value as plain data. Raises BiDiError with
        the page's message when it throws."""
        result = self._command("script.callFunction", {
            "functionDeclaration": function,
            "arguments": [to_local_value(a) for a in args],
            "target": {"context": self.context},
            "awaitPromise": True,
            "resultOwnership": "none",
        }, timeout)
        return self._value(result)

    def evaluate(self, expression: str, timeout: float = 60.0) -> Any:
        result = self._command("script.evaluate", {
            "expression": expression, "target": {"context": self.context}, "awaitPromise": True,
            "resultOwnership": "none"}, timeout)
        return self._value(result)

    @staticmethod
    def _value(result: dict[str, Any]) -> Any:
        if result.get("type") == "exception":
            details = result.get("exceptionDetails") or {}
            raise BiDiError(f"the page threw: {details.get('text')}")
        return from_remote_value(result.get("result") or {"type": "undefined"})
