"""The mitmproxy addon that gives every finished flow the browser's CORS verdict.

Verdicts are made in `response` (after every addon's `responseheaders`, so header rules such as
`--modify-headers` are reflected) and in `error` (mitmproxy's own 502 for an unreachable server).

Where (`cors_analysis`): in this process, annotating each flow before the next addon sees it; or,
in mitmdump when nothing keeps the flows, in the analysis worker (mitm/worker.py), a child process
that writes the report, the terminal lines and the summary, so the proxy's event loop only hands
each finished flow over.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from mitmproxy import ctx, exceptions, hooks, http

from ..engine.tracker import Tracker
from ..engine.verdict import Verdict
from .addon_chain import FLOW_HOOKS, any_addon_with, flows_kept, foreign_addons_with, our_part
from .annotate import annotate
from .fixer import META_FIX, fix_record
from .offload import AnalysisWorker, worker_command
from .report import ReportWriter
from .snapshot import Capture, capture, exchange_of, record_of
from .worker import wants_line

if TYPE_CHECKING:
    from .ledger import Ledger

logger = logging.getLogger("mitmproxy_cors")

LOG_CHOICES = ("blocked", "cors", "off")
ANALYSIS_CHOICES = ("auto", "inline", "worker")
# mitmproxy's own options whose addons change a request after `requestheaders` (cookies, auth,
# headers, URL, or a user editing an intercepted flow). With none set, a request reaches `response`
# as the browser sent it (mitmproxy itself only drops `Expect: 100-continue`, a header no browser
# may send), and the analysis worker's record can be taken there, from one hook instead of two.
REQUEST_CHANGING_OPTIONS = ("anticache", "anticomp", "stickycookie", "stickyauth", "modify_headers",
                            "modify_body", "map_remote", "upstream_auth", "proxyauth", "intercept")


class CorsObserver:
    name = "cors"
    PENDING_REQUESTS = 10_000

    def __init__(self, ledger: Ledger | None = None) -> None:
        self.tracker = Tracker()
        # The session summary (cors.report, mitmdump's table) takes each verdict from us directly:
        # mitmproxy fires `update` after every hook of every flow, far too often to re-read them all.
        self.ledger = ledger
        self.report: ReportWriter | None = None
        self.log_level = "blocked"
        # Earlier flows we may re-annotate when a later flow completes their story. Weak: the
        # proxy (or the user, in the console) decides how long flows live, not us.
        self._flows: weakref.WeakValueDictionary[str, http.HTTPFlow] = weakref.WeakValueDictionary()
        self._requests: dict[str, Capture] = {}  # flow id -> request as the browser sent it
        self.decided = 0
        self.internal_errors = 0
        # mitmdump: mitm/terminal.py renders the per-flow line itself (rich) instead of the log line.
        self.line_sink: Callable[[http.HTTPFlow, Verdict], None] | None = None
        self.analysis = "auto"
        self.worker: AnalysisWorker | None = None
        self.offloaded = False  # verdicts went to the worker this session (it prints the summary)
        self.hooks_changed: Callable[[], None] | None = None  # set by the bundle (mitm/bundle.py)
        self._set_hooks()

    def _set_hooks(self) -> None:
        """`requestheaders` (an instance attribute) captures the request as the browser sent it,
        before other addons change it. Left off only where nothing can: in the analysis worker's
        mode (no other script with flow hooks) with no request-changing option set; `response` then
        takes the record. mitmproxy's dispatch of a hook costs more than the capture itself."""
        early = self.worker is None or self._request_may_change()
        if early == ("requestheaders" in self.__dict__):
            return
        if early:
            self.requestheaders = self.capture_request
        else:
            del self.requestheaders
            self._requests.clear()
        if self.hooks_changed is not None:
            self.hooks_changed()

    def _request_may_change(self) -> bool:
        try:
            options = ctx.options
            if any(getattr(options, name, None) for name in REQUEST_CHANGING_OPTIONS):
                return True
        except Exception:
            return True
        fixer = our_part("cors_fixer")
        return bool(getattr(fixer, "policies", None)) or foreign_addons_with(("requestheaders", "request"))

    def load(self, loader) -> None:
        loader.add_option(
            "cors_report", str, "",
            "Write a JSON Lines report of every CORS verdict to this file ('+path' appends).",
        )
        loader.add_option(
            "cors_log", str, "blocked",
            "Which verdicts to log: 'blocked', 'cors' (every CORS flow) or 'off'.",
        )
        loader.add_option(
            "cors_analysis", str, "auto",
            "Where flows are judged: 'inline' (in the proxy, each flow annotated at once), 'worker' "
            "(a child process writes the report, terminal lines and summary; flows get no annotations) "
            "or 'auto' (the worker in mitmdump when nothing reads the flows' annotations: no -w, no "
            "hardump, no --flow-detail 3, no other script with flow hooks). "
            "Read at start-up.",
            choices=ANALYSIS_CHOICES,
        )

    def configure(self, updated: set[str]) -> None:
        if "cors_log" in updated:
            value = ctx.options.cors_log
            if value not in LOG_CHOICES:
                raise exceptions.OptionsError(
                    f"cors_log must be one of {', '.join(LOG_CHOICES)}, not {value!r}")
            self.log_level = value
        if "cors_report" in updated:
            spec = ctx.options.cors_report
            new = None
            if spec:
                try:
                    new = ReportWriter(spec)
                except OSError as e:
                    raise exceptions.OptionsError(f"cors_report: cannot open {spec!r}: {e.strerror or e}") from e
            if self.report is not None:
                self.report.close()
            self.report = new
        if self.worker is not None and updated & {"cors_log", "cors_report", "termlog_verbosity"}:
            self.worker.send(("config", self._worker_config()))
        if self.worker is not None and updated & {*REQUEST_CHANGING_OPTIONS, "cors_policy", "scripts"}:
            self._set_hooks()

    def _fix_text_readers(self) -> bool:
        """Will anyone read `metadata["cors_fix"]`? The report does; so does whoever keeps the flows:
        the console and mitmweb (a View), a saved stream (-w) or a HAR dump. A bare mitmdump drops
        each flow once its hooks ran, and `cors.fix` computes what it needs itself."""
        return self.report is not None or flows_kept()

    def running(self) -> None:
        if self.worker is not None or not self._use_worker():
            return
        command = worker_command()
        if command is None:
            if self.analysis == "worker":
                logger.warning("cors_analysis=worker: no Python interpreter to run the worker with; "
                               "judging flows in the proxy")
            return
        try:
            self.worker = AnalysisWorker(asyncio.get_running_loop(), command)
        except (OSError, RuntimeError) as e:
            logger.warning("mitmproxy-cors: cannot start the analysis worker (%s); judging flows in the proxy", e)
            return
        self.offloaded = True
        self.worker.send(("config", self._worker_config()))
        self._set_hooks()

    def _use_worker(self) -> bool:
        try:
            self.analysis = ctx.options.cors_analysis
            options, addons = ctx.options, ctx.master.addons
        except Exception:
            return False
        if self.analysis != "auto":
            return self.analysis == "worker"
        # Only where nobody reads a flow's annotations: mitmdump (a Dumper) keeping no flows, not
        # showing their bodies (--flow-detail 3 shows the `cors` content view), and no script of
        # someone else's with flow hooks that might read metadata["cors"].
        if addons.get("dumper") is None or flows_kept():
            return False
        if getattr(options, "flow_detail", 0) >= 3 or getattr(options, "dumper_default_contentview", "") == "cors":
            return False
        return not foreign_addons_with(FLOW_HOOKS)

    def _worker_config(self) -> dict:
        addons = ctx.master.addons
        terminal = our_part("cors-terminal")
        # Lines only on mitmdump's terminal: a child printing under the console's screen garbles it.
        dump = terminal is not None and addons.get("dumper") is not None and addons.get("view") is None
        return {"log": self.log_level if dump else "off",
                "verbose": terminal.verbose() if terminal is not None else True,
                "report": self.report.path if self.report is not None else ""}

    def done(self) -> None:
        if self.worker is not None:
            terminal = our_part("cors-terminal")
            summary = bool(terminal is not None and terminal.active and terminal.summary_due())
            self.worker.close({"summary": summary})
            self.worker = None
        if self.report is not None:
            self.report.close()
            self.report = None

    # -- hooks --------------------------------------------------------------------------------

    def capture_request(self, f: http.HTTPFlow) -> None:
        """The `requestheaders` hook (see _set_hooks). Our script runs before stickycookie and
        modify_headers: this is the browser's request."""
        self._requests[f.id] = capture(f)
        if len(self._requests) > self.PENDING_REQUESTS:  # flows that never finish must not pile up
            del self._requests[next(iter(self._requests))]

    def response(self, f: http.HTTPFlow) -> None:
        if self.worker is not None and self._offload(f):
            return
        self._decide(f)

    def error(self, f: http.HTTPFlow) -> None:
        # Also when the response was cut off mid-body: then `response` never fires, but the
        # browser already had the headers (or mitmproxy's 502), so the flow still needs a verdict.
        if self.worker is not None:
            if f.response is not None and self._response_seen(f):
                return
            if self._offload(f):
                return
        if f.id not in self._flows:
            self._decide(f)

    def _response_seen(self, f: http.HTTPFlow) -> bool:
        """Did `response` already hand this flow over? With the early capture, it took the request
        out of _requests. Without: a live flow gets either `response` or `error` (mitmproxy fires
        `error` only for a response cut off mid-body); a loaded one (mitmdump -r) gets both."""
        if "requestheaders" in self.__dict__:
            return f.id not in self._requests
        return not f.live

    def _offload(self, f: http.HTTPFlow) -> bool:
        taken = self._requests.pop(f.id, None)
        try:
            record = record_of(f, taken, _report_extra(f))
        except Exception:
            self.internal_errors += 1
            logger.exception("mitmproxy-cors could not read flow %s %s", f.request.method, f.request.pretty_url)
            return True
        if self.worker.send(("flow", record)):
            return True
        self.worker = None  # it died and said so: judge here from now on
        self.offloaded = False
        if taken is not None:
            self._requests[f.id] = taken
        self._set_hooks()
        return False

    # -- work ---------------------------------------------------------------------------------

    def _decide(self, f: http.HTTPFlow) -> Verdict | None:
        try:
            taken = self._requests.pop(f.id, None)
            exchange = exchange_of(f, taken)
            decision = self.tracker.observe(exchange)
            v = decision.verdict
            if v.blocked and META_FIX not in f.metadata and self._fix_text_readers():
                # The server configuration that fixes it, for blocked flows only, and only when
                # someone can read it (see _fix_text_readers): it costs more than the verdict.
                record = fix_record(f, exchange.request,
                                    exchange.response.headers if exchange.response is not None else None)
                if record is not None:
                    f.metadata[META_FIX] = record
        except Exception:  # the engine must never break a flow; count it and say so once per flow
            self.internal_errors += 1
            logger.exception("mitmproxy-cors could not decide flow %s %s", f.request.method, f.request.pretty_url)
            return None
        self.decided += 1
        line = annotate(f, v)
        self._flows[f.id] = f
        if self.report is not None:
            self.report.write(line, extra=_report_extra(f))
        if self.ledger is not None:
            self.ledger.ingest(f)
        self._log(f, v)
        changed = []
        for u in decision.updated:
            other = self._flows.get(u.flow_id)
            line = None
            if other is not None:
                line = annotate(other, u)
                changed.append(other)
                if self.ledger is not None:
                    self.ledger.ingest(other)
            if self.report is not None:
                self.report.write(line if line is not None else u, update=True, extra=_report_extra(other))
        if changed and any_addon_with("update"):  # triggering walks the whole chain: ask first
            ctx.master.addons.trigger(hooks.UpdateHook(changed))
        return v

    def _log(self, f: http.HTTPFlow, v: Verdict) -> None:
        if not wants_line(self.log_level, v):
            return
        if self.line_sink is not None:
            self.line_sink(f, v)
            return
        peer = f.client_conn.peername if f.client_conn else None
        logger.info("%s %s %s", v.method, v.url, v.summary(), extra={"client": peer} if peer else None)


def _report_extra(f: http.HTTPFlow | None) -> dict | None:
    """What the fixer (mitm/fixer.py) knows about a flow: the configuration that fixes it
    (`cors_fix`, for blocked flows) and what it patched (`cors_patch`)."""
    if f is None or not f.metadata:
        return None
    extra = {key: f.metadata[key] for key in ("cors_fix", "cors_patch") if key in f.metadata}
    return extra or None
