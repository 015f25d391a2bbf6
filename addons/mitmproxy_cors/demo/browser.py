"""Drive Debian's Chromium through a proxy with Playwright and record what Chromium says about CORS.

Chromium is launched as tests/e2e/README.md ("Driving Chromium here") describes: Playwright's default
switches are dropped (``ignore_default_args=True``: they disable CORS-related features and the field
trial config, so Chromium would not behave as users' browsers do) and only the switches in
:func:`chromium_args` are passed, among them ``--proxy-bypass-list=<-loopback>`` without which loopback
traffic would bypass the proxy.

:class:`ChromiumDriver` opens one page on the page origin and runs a list of :class:`Snippet` s in it,
one after the other.  A snippet is the source of an async JavaScript function ``(u) => ...`` that gets
the snippet's URLs and returns a step result or a list of step results; the page helpers
``__fetch(url, init)``, ``__xhr(method, url, opts)`` and ``__img(url, crossOrigin)`` never throw and
return ``{ok, status, type}`` or ``{ok: false, error}``.  A CDP session on the page records the Network
domain (``requestWillBeSent`` incl. preflights, the raw headers of the ``*ExtraInfo`` events,
``responseReceived``, ``loadingFailed`` with ``corsErrorStatus``) and Audits issues; requests are given to
the snippet whose ``match`` (a unique URL path prefix such as ``/c/<id>/``) starts their first URL's path.
The preflight cache is keyed by URL, so every snippet should use URLs of its own.

Command line (a quick probe)::

    python browser.py --proxy 127.0.0.1:8080 --page http://127.0.0.1:A/ \\
        "async (u) => __fetch('http://127.0.0.1:B/c/x/?acao=echo')"
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = [
    "CHROMIUM",
    "BrowserUnavailable",
    "CdpRequest",
    "ChromiumDriver",
    "Snippet",
    "SnippetResult",
    "check_browser_available",
    "chromium_args",
]

CHROMIUM = "/usr/bin/chromium"

PAGE_HELPERS = r"""
(() => {
  window.__fetch = async (url, init) => {
    try {
      const r = await fetch(url, init);
      let body = null;
      try { body = (await r.text()).slice(0, 200); } catch (e) { body = 'body error: ' + e; }
      return {ok: true, status: r.status, type: r.type, body};
    } catch (e) {
      return {ok: false, error: String(e)};
    }
  };
  window.__xhr = (method, url, opts = {}) => new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open(method, url);
    if (opts.withCredentials) x.withCredentials = true;
    for (const [k, v] of (opts.headers || [])) x.setRequestHeader(k, v);
    if (opts.upload) x.upload.onprogress = () => {};
    x.onload = () => resolve({ok: true, status: x.status, type: 'xhr'});
    x.onerror = () => resolve({ok: false, error: 'XMLHttpRequest error event'});
    x.send(opts.body === undefined ? null : opts.body);
  });
  window.__img = (url, crossOrigin) => new Promise((resolve) => {
    const i = new Image();
    if (crossOrigin !== null && crossOrigin !== undefined) i.crossOrigin = crossOrigin;
    i.onload = () => resolve({ok: true, status: null, type: 'image', width: i.naturalWidth});
    i.onerror = () => resolve({ok: false, error: 'image error event'});
    i.src = url;
  });
  window.__sleep = (ms) => new Promise((r) => setTimeout(r, ms));
})();
"""

RUN_SNIPPET = r"""
async ([source, urls, timeoutMs]) => {
  let fn;
  try { fn = (0, eval)('(' + source + ')'); } catch (e) { return {threw: 'syntax: ' + e}; }
  const timeout = new Promise((r) => setTimeout(() => r({threw: 'timeout'}), timeoutMs));
  const run = (async () => {
    try { return {value: await fn(urls)}; } catch (e) { return {threw: String(e)}; }
  })();
  return await Promise.race([run, timeout]);
}
"""

NETWORK_EVENTS = (
    "Network.requestWillBeSent",
    "Network.requestWillBeSentExtraInfo",
    "Network.responseReceived",
    "Network.responseReceivedExtraInfo",
    "Network.loadingFailed",
    "Network.loadingFinished",
)


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing: the end-to-end tests must fail, not skip."""


def check_browser_available(executable: str = CHROMIUM) -> None:
    problems = []
    if not (Path(executable).is_file() or shutil.which(executable)):
        problems.append(f"Chromium executable {executable!r} not found (Debian: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        problems.append(f"Playwright for Python is not importable ({e}); pip install playwright")
    if problems:
        raise BrowserUnavailable("; ".join(problems))


def chromium_args(proxy: str, user_data_dir: str, headless: bool = True) -> list[str]:
    """The complete switch list (Playwright's defaults are ignored, see the module docstring)."""
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--proxy-server=http://{proxy}",
        "--proxy-bypass-list=<-loopback>",
        "--remote-debugging-pipe",
        f"--user-data-dir={user_data_dir}",
    ]
    return (["--headless"] if headless else []) + args


@dataclass
class Snippet:
    id: str
    js: str  # source of an async function (u) => step result | [step results]
    urls: dict[str, str] = field(default_factory=dict)
    match: str = ""  # URL path prefix that identifies this snippet's requests; default /c/<id>/
    timeout_ms: int = 15000

    def __post_init__(self) -> None:
        if not self.match:
            self.match = f"/c/{self.id}/"


@dataclass
class CdpRequest:
    """One Chromium request id: a fetch/XHR/image request with its redirect hops, or a preflight."""

    request_id: str
    type: str | None
    method: str
    urls: list[str]  # first URL, then each redirect target
    timestamp: float
    initiator: dict[str, Any] = field(default_factory=dict)
    sent_headers: list[dict[str, Any]] = field(default_factory=list)  # requestWillBeSentExtraInfo, per hop
    responses: list[dict[str, Any]] = field(default_factory=list)  # redirectResponse / response, per hop
    raw_responses: list[dict[str, Any]] = field(default_factory=list)  # responseReceivedExtraInfo
    failed: dict[str, Any] | None = None  # loadingFailed params
    finished: bool = False

    @property
    def is_preflight(self) -> bool:
        # Chromium 156 reports preflights with type "Other" and initiator {type: "preflight", requestId}
        return self.type == "Preflight" or self.initiator.get("type") == "preflight"

    @property
    def cors_error(self) -> str | None:
        status = (self.failed or {}).get("corsErrorStatus")
        return status.get("corsError") if status else None

    @property
    def failed_parameter(self) -> str | None:
        status = (self.failed or {}).get("corsErrorStatus")
        return status.get("failedParameter") if status else None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.request_id, "type": self.type, "method": self.method, "urls": self.urls}
        if self.failed:
            out["failed"] = {
                k: self.failed.get(k) for k in ("errorText", "corsErrorStatus", "blockedReason") if self.failed.get(k)
            }
        statuses = [r.get("status") for r in self.responses]
        if statuses:
            out["statuses"] = statuses
        return out


@dataclass
class SnippetResult:
    id: str
    page: list[dict[str, Any]]  # step results as returned by the page helpers
    threw: str | None  # the snippet itself threw or timed out
    requests: list[CdpRequest]  # Chromium's requests for this snippet, in the order they started
    issues: list[dict[str, Any]]  # Audits issues that mention one of those requests

    @property
    def page_ok(self) -> bool:
        return self.threw is None and all(step.get("ok") for step in self.page)

    @property
    def main_requests(self) -> list[CdpRequest]:
        return [r for r in self.requests if not r.is_preflight]

    @property
    def preflights(self) -> list[CdpRequest]:
        return [r for r in self.requests if r.is_preflight]

    def first_failure(self) -> CdpRequest | None:
        """The first main request that failed (a preflight failure is reported on its actual request)."""
        return next((r for r in self.main_requests if r.failed), None)


class ChromiumDriver:
    """One headless Chromium (persistent context in a fresh profile) talking through ``proxy``."""

    def __init__(self, proxy: str, *, executable: str = CHROMIUM, headless: bool = True):
        self.proxy = proxy
        self.executable = executable
        self.headless = headless
        self._pw_manager = None
        self._pw = None
        self.context = None
        self._profile: str | None = None

    def start(self) -> "ChromiumDriver":
        check_browser_available(self.executable)
        from playwright.sync_api import sync_playwright

        self._profile = tempfile.mkdtemp(prefix="cors-e2e-profile-")
        self._pw_manager = sync_playwright()
        self._pw = self._pw_manager.start()
        try:
            self.context = self._pw.chromium.launch_persistent_context(
                self._profile,
                executable_path=self.executable,
                ignore_default_args=True,
                args=chromium_args(self.proxy, self._profile, self.headless),
            )
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.context is not None:
            try:
                self.context.close()
            except Exception:
                pass
            self.context = None
        if self._pw_manager is not None:
            self._pw_manager.__exit__(None, None, None)
            self._pw_manager = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def __enter__(self) -> "ChromiumDriver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def version(self) -> str:
        assert self.context is not None
        return self.context.browser.version if self.context.browser else ""

    def run(
        self,
        page_url: str,
        snippets: Sequence[Snippet],
        *,
        setup_js: str | None = None,
        settle_ms: int = 500,
    ) -> dict[str, SnippetResult]:
        """Open ``page_url``, run ``setup_js`` (an async function source, e.g. to set a cookie), then
        every snippet in order; returns the results keyed by snippet id."""
        assert self.context is not None, "driver not started"
        page = self.context.new_page()
        recorder = _CdpRecorder(self.context.new_cdp_session(page))
        try:
            page.goto(page_url)
            page.evaluate(PAGE_HELPERS)
            if setup_js:
                outcome = page.evaluate(RUN_SNIPPET, [setup_js, {}, 15000])
                if "threw" in outcome:
                    raise RuntimeError(f"setup script failed: {outcome['threw']}")
            outcomes = {}
            for snippet in snippets:
                outcomes[snippet.id] = page.evaluate(RUN_SNIPPET, [snippet.js, snippet.urls, snippet.timeout_ms])
            page.wait_for_timeout(settle_ms)  # let the last CDP events arrive
        finally:
            page.close()
        return {s.id: recorder.result_for(s, outcomes.get(s.id, {"threw": "not run"})) for s in snippets}


class _CdpRecorder:
    def __init__(self, session) -> None:
        self.requests: dict[str, CdpRequest] = {}
        self.order: list[str] = []
        self.extra_request: dict[str, list[dict[str, Any]]] = {}
        self.extra_response: dict[str, list[dict[str, Any]]] = {}
        self.issues: list[dict[str, Any]] = []
        for event in NETWORK_EVENTS:
            session.on(event, getattr(self, "_" + event.split(".")[1]))
        session.on("Audits.issueAdded", lambda p: self.issues.append(p.get("issue", {})))
        session.send("Network.enable")
        session.send("Audits.enable")

    def _requestWillBeSent(self, p: dict[str, Any]) -> None:
        rid = p["requestId"]
        existing = self.requests.get(rid)
        if existing is not None and p.get("redirectResponse") is not None:
            existing.responses.append(p["redirectResponse"])
            existing.urls.append(p["request"]["url"])
            return
        self.requests[rid] = CdpRequest(
            request_id=rid,
            type=p.get("type"),
            method=p["request"]["method"],
            urls=[p["request"]["url"]],
            timestamp=p.get("timestamp", 0.0),
            initiator=p.get("initiator") or {},
        )
        self.order.append(rid)

    def _requestWillBeSentExtraInfo(self, p: dict[str, Any]) -> None:
        self.extra_request.setdefault(p["requestId"], []).append(p)

    def _responseReceived(self, p: dict[str, Any]) -> None:
        request = self.requests.get(p["requestId"])
        if request is not None:
            request.responses.append(p["response"])

    def _responseReceivedExtraInfo(self, p: dict[str, Any]) -> None:
        self.extra_response.setdefault(p["requestId"], []).append(p)

    def _loadingFailed(self, p: dict[str, Any]) -> None:
        request = self.requests.get(p["requestId"])
        if request is not None:
            request.failed = p

    def _loadingFinished(self, p: dict[str, Any]) -> None:
        request = self.requests.get(p["requestId"])
        if request is not None:
            request.finished = True

    def result_for(self, snippet: Snippet, outcome: dict[str, Any]) -> SnippetResult:
        requests = []
        for rid in self.order:
            request = self.requests[rid]
            if urllib.parse.urlsplit(request.urls[0]).path.startswith(snippet.match):
                request.sent_headers = self.extra_request.get(rid, [])
                request.raw_responses = self.extra_response.get(rid, [])
                requests.append(request)
        ids = {r.request_id for r in requests}
        issues = [i for i in self.issues if any(rid in json.dumps(i) for rid in ids)]
        value = outcome.get("value")
        steps = value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])
        return SnippetResult(snippet.id, steps, outcome.get("threw"), requests, issues)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run JS snippets in Chromium through a proxy; print CDP results.")
    parser.add_argument("--proxy", required=True, help="host:port of the HTTP proxy (e.g. a mitmdump)")
    parser.add_argument("--page", required=True, help="URL of the page whose origin the snippets run on")
    parser.add_argument("--match", default="/", help="URL path prefix of the requests to report")
    parser.add_argument("js", nargs="+", help="async function sources, e.g. \"async (u) => __fetch('...')\"")
    args = parser.parse_args(list(argv) if argv is not None else None)
    snippets = [Snippet(f"s{i}", js, match=args.match) for i, js in enumerate(args.js)]
    with ChromiumDriver(args.proxy) as driver:
        results = driver.run(args.page, snippets)
    for result in results.values():
        print(json.dumps({"id": result.id, "page": result.page, "threw": result.threw,
                          "requests": [r.summary() for r in result.requests]}, indent=1))


if __name__ == "__main__":
    main()
