"""Plumbing of the end-to-end run: URLs for the case table, the mitmdump process, one run of every case
in Chromium, and the two verdicts that are compared (Chromium's over CDP, the addon's from its report)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "addons"))

from mitmproxy_cors.demo.browser import (CHROMIUM, ChromiumDriver, Snippet, SnippetResult,  # noqa: E402
                                         chromium_args)
from mitmproxy_cors.demo.servers import DemoServers, Exchange, api_url  # noqa: E402

from e2e_cases import Case, Url  # noqa: E402

ADDON_SCRIPT = REPO / "cors_addon.py"
SET_COOKIE_JS = "async () => { const r = await fetch('/set-cookie'); if (!r.ok) throw new Error('set-cookie failed'); }"

Verdict = tuple  # (reason or None, failed_parameter or None); (None, None) = allowed
ALLOWED: Verdict = (None, None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- URLs -----------------------------------------------------------------------------------------------
@dataclass
class Origins:
    servers: DemoServers
    dead_port: int

    def origin(self, server: str, host: str | None = None, userinfo: str | None = None) -> str:
        if server == "dead":
            port, default_host = self.dead_port, "127.0.0.1"
        else:
            srv = getattr(self.servers, server)
            port, default_host = srv.port, srv.host
        auth = f"{userinfo}@" if userinfo is not None else ""  # "" gives http://@host: an empty userinfo
        return f"http://{auth}{host or default_host}:{port}"

    def fields(self, case: Case) -> dict[str, Any]:
        return {
            "page": self.origin("page", case.page),
            "page_port": self.servers.page.port,
            "api": self.origin("api"),
            "api2": self.origin("api2"),
        }

    def url(self, case: Case, url: Url, hop: int = 0, name: str = "m") -> str:
        fields = self.fields(case)

        def fmt(value: Any) -> Any:
            if isinstance(value, (list, tuple)):
                return [fmt(v) for v in value]
            return str(value).format(**fields)

        params = {k: fmt(v) for k, v in url.params.items()}
        if url.next is not None:
            params[url.next_key] = self.url(case, url.next, hop + 1, name)
        path = f"{case.match}{name}{hop}"
        return api_url(self.origin(url.server, url.host, url.userinfo), path, params)

    def expected(self, case: Case) -> Verdict:
        if case.expect is None:
            return ALLOWED
        return (case.expect, case.fp.format(**self.fields(case)))

    def snippet(self, case: Case) -> Snippet:
        urls = {"m": self.url(case, case.url)}
        urls.update({name: self.url(case, u, name=name) for name, u in case.urls.items()})
        return Snippet(case.id, case.snippet_js(), urls, match=case.match)


# --- mitmdump --------------------------------------------------------------------------------------------
class MitmDump:
    """A real ``mitmdump`` of the running interpreter's venv, optionally with the addon."""

    def __init__(self, workdir: Path, with_addon: bool = True):
        self.binary = Path(sys.executable).parent / "mitmdump"
        self.workdir = workdir
        self.report = workdir / "report.jsonl"
        self.logfile = workdir / "mitmdump.log"
        self.with_addon = with_addon
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        cmd = [str(self.binary), "--listen-host", "127.0.0.1", "-p", str(self.port)]
        if self.with_addon:
            cmd += ["-s", str(ADDON_SCRIPT), "--set", f"cors_report={self.report}"]
        return cmd + ["--set", "termlog_verbosity=warn"]

    def start(self, timeout: float = 30.0) -> "MitmDump":
        if not self.binary.exists():
            raise RuntimeError(f"mitmdump not found next to the interpreter: {self.binary}")
        if self.with_addon and not ADDON_SCRIPT.exists():
            raise RuntimeError(f"addon script missing: {ADDON_SCRIPT}")
        for _attempt in range(3):
            self.port = free_port()
            log = open(self.logfile, "ab")
            self.proc = subprocess.Popen(self.command(), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                    return self
                except OSError:
                    time.sleep(0.1)
            else:
                self.stop()
                raise RuntimeError(f"mitmdump did not listen within {timeout}s:\n{self.log_tail()}")
            if "Address already in use" not in self.log_tail():
                raise RuntimeError(f"mitmdump exited with {self.proc.returncode}:\n{self.log_tail()}")
        raise RuntimeError(f"mitmdump could not bind a port:\n{self.log_tail()}")

    def stop(self) -> None:
        """Graceful shutdown (the addon's ``done`` hook runs and flushes its report)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.logfile.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no mitmdump output)"
        return "\n".join(lines[-n:])

    def report_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.report.read_text().splitlines():
            if raw.strip():
                lines.append(json.loads(raw))
        return lines


# --- Chromium, for the tests that drive it themselves ------------------------------------------------------
@contextlib.contextmanager
def chromium_through(dump: MitmDump, extra_args: list[str] | None = None, preferences: dict | None = None):
    """Debian's Chromium, driven by Playwright, with a profile of its own and the complete switch list
    of `chromium_args` (Playwright's defaults left out), proxied by `dump`: the persistent context,
    closed and its profile removed on exit. `extra_args`: more switches; `preferences`: the profile's
    Preferences file, written before the launch (a cookie setting)."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="cors-e2e-profile-")
    try:
        if preferences is not None:
            (Path(profile) / "Default").mkdir(parents=True)
            (Path(profile) / "Default" / "Preferences").write_text(json.dumps(preferences))
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, ignore_default_args=True,
                args=chromium_args(f"127.0.0.1:{dump.port}", profile) + (extra_args or []))
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class NetworkLog:
    """What DevTools' Network domain reports for the loads of one page or frame (CDP): `failed[url]`
    holds the `loadingFailed` events of the requests to that URL, in order (`corsErrorStatus`,
    `blockedReason`, `errorText`)."""

    def __init__(self, ctx, page_or_frame) -> None:
        self.cdp = ctx.new_cdp_session(page_or_frame)
        self.cdp.send("Network.enable")
        self._urls: dict[str, str] = {}
        self.failed: dict[str | None, list[dict]] = {}
        self.cdp.on("Network.requestWillBeSent",
                    lambda p: self._urls.__setitem__(p["requestId"], p["request"]["url"]))
        self.cdp.on("Network.loadingFailed",
                    lambda p: self.failed.setdefault(self._urls.get(p["requestId"]), []).append(p))

    def last_failure(self, url: str | None) -> dict:
        """The last `loadingFailed` event of a request to `url` ({} when none failed)."""
        events = self.failed.get(url)
        return events[-1] if events else {}

    def cors_error(self, url: str | None) -> str | None:
        return (self.last_failure(url).get("corsErrorStatus") or {}).get("corsError")

    def blocked_reason(self, url: str | None) -> str | None:
        return self.last_failure(url).get("blockedReason")


# --- one run of every case ------------------------------------------------------------------------------
@dataclass
class E2ERun:
    origins: Origins
    results: dict[str, SnippetResult]
    exchanges: list[Exchange]  # everything the servers received
    report: list[dict[str, Any]] | None  # the addon's report lines (None without the addon)
    mitmdump_log: str
    chromium_version: str
    seconds: float

    def case_exchanges(self, case: Case) -> list[Exchange]:
        return [e for e in self.exchanges if e.path.startswith(case.match)]

    def case_report(self, case: Case) -> list[dict[str, Any]]:
        """The case's report lines, last line per flow_id, ordered by request time."""
        last: dict[str, dict[str, Any]] = {}
        for line in self.report or []:
            if "record" in line:  # the audit's findings are lines of their own (docs/report-schema.md)
                continue
            if urllib.parse.urlsplit(line.get("url") or "").path.startswith(case.match):
                last[line["flow_id"]] = line
        return sorted(last.values(), key=lambda line: line.get("time") or 0)


def run_all(cases: Iterable[Case], servers: DemoServers, mitmdump: MitmDump) -> E2ERun:
    started = time.monotonic()
    origins = Origins(servers, free_port())
    cases = list(cases)
    results: dict[str, SnippetResult] = {}
    executable = os.environ.get("CORS_E2E_CHROMIUM", CHROMIUM)
    with ChromiumDriver(f"127.0.0.1:{mitmdump.port}", executable=executable) as driver:
        version = driver.version
        for page_host in dict.fromkeys(c.page for c in cases):
            group = [origins.snippet(c) for c in cases if c.page == page_host]
            page_url = origins.origin("page", page_host) + "/"
            results.update(driver.run(page_url, group, setup_js=SET_COOKIE_JS))
    mitmdump.stop()
    report = mitmdump.report_lines() if mitmdump.with_addon and mitmdump.report.exists() else None
    return E2ERun(origins, results, list(servers.exchanges()), report, mitmdump.log_tail(200), version,
                  time.monotonic() - started)


# --- verdicts ---------------------------------------------------------------------------------------------
def chromium_verdict(result: SnippetResult) -> Verdict:
    """CorsError and failedParameter of the first main request that Chromium failed with a
    ``corsErrorStatus``.  Without one the case is allowed if every page step succeeded; a failed step
    without a CORS error comes back as ``("net-error", errorText)`` so that it can never look allowed.
    (A ``loadingFailed`` with ``net::ERR_ABORTED`` and no CORS error is seen for an opaque 502 whose
    fetch() resolved: the body load is abandoned, the request was not blocked.)"""
    failure = next((r for r in result.main_requests if r.cors_error is not None), None)
    if failure is not None:
        return (failure.cors_error, failure.failed_parameter)
    if result.page_ok:
        return ALLOWED
    failed = result.first_failure()
    return ("net-error", failed.failed.get("errorText") if failed and failed.failed else result.threw)


def addon_verdict(lines: list[dict[str, Any]], credentials: str) -> Verdict:
    """First blocked line (last line per flow, by time) wins.  For a case that used
    ``credentials: 'include'``, a line whose credentials the addon could not see (``unknown``) is judged by
    its ``conditional`` (the verdict under ``include``) when it has one."""
    for line in lines:
        verdict = (line.get("verdict"), line.get("reason"), line.get("failed_parameter"))
        conditional = line.get("conditional")
        if credentials == "include" and line.get("credentials") == "unknown" and conditional:
            verdict = (conditional.get("verdict"), conditional.get("reason"), conditional.get("failed_parameter"))
        if verdict[0] == "blocked":
            # blocked without a CorsError: the addon says the request failed for another reason
            return (verdict[1], verdict[2]) if verdict[1] is not None else ("net-error", None)
    return ALLOWED


def unreported_exchanges(exchanges: list[Exchange], lines: list[dict[str, Any]]) -> list[str]:
    """Requests that reached a server but have no report line (compared by method and path?query)."""

    def key(method: str, url: str) -> tuple[str, str]:
        split = urllib.parse.urlsplit(url)
        return (method.upper(), split.path + (f"?{split.query}" if split.query else ""))

    reported = Counter(key(line.get("method") or "", line.get("url") or "") for line in lines)
    seen = Counter(key(e.method, e.target) for e in exchanges)
    return [f"{m} {t} (x{n - reported[(m, t)]})" for (m, t), n in seen.items() if reported[(m, t)] < n]


def describe(run: E2ERun, case: Case) -> str:
    """What was on the wire and what both sides said, for assertion messages."""
    result = run.results.get(case.id)
    out = [f"case {case.id} (credentials={case.creds})"]
    if result is not None:
        out.append(f"  page: {json.dumps(result.page)}{' threw ' + result.threw if result.threw else ''}")
        for r in result.requests:
            out.append(f"  cdp: {json.dumps(r.summary())}")
    for e in run.case_exchanges(case):
        out.append(f"  wire: {e.method} {e.target}")
        out.extend(f"    > {k}: {v}" for k, v in e.request_headers)
        out.append(f"    < {e.status}")
        out.extend(f"    < {k}: {v}" for k, v in e.response_headers)
    for line in run.case_report(case):
        keep = ("method", "url", "origin", "kind", "verdict", "reason", "failed_parameter", "credentials",
                "conditional", "paired_flow_id", "flow_id")
        out.append(f"  report: {json.dumps({k: line.get(k) for k in keep})}")
    return "\n".join(out)


def dump(run: E2ERun, cases: list[Case], path: str) -> None:
    """Write a JSON summary of the run (set CORS_E2E_DUMP=/path/file.json)."""
    data = []
    for case in cases:
        result = run.results.get(case.id)
        data.append({
            "id": case.id,
            "credentials": case.creds,
            "expected": run.origins.expected(case),
            "chromium": chromium_verdict(result) if result else None,
            "addon": addon_verdict(run.case_report(case), case.creds) if run.report is not None else None,
            "page": result.page if result else None,
            "cdp": [r.summary() for r in result.requests] if result else [],
            "issues": [i.get("code") for i in result.issues] if result else [],
            "wire": [{"method": e.method, "target": e.target, "request": e.request_headers,
                      "status": e.status, "response": e.response_headers} for e in run.case_exchanges(case)],
            "report": run.case_report(case),
        })
    Path(path).write_text(json.dumps({"chromium": run.chromium_version, "seconds": run.seconds,
                                      "cases": data}, indent=1))


def addon_enabled() -> bool:
    return os.environ.get("CORS_E2E_ADDON", "1") != "0"
