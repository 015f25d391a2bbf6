"""The mitmproxy addon that gives every finished flow the browser's CORS verdict.

Verdicts are made in `response` (after every addon's `responseheaders`, so header rules such as
`--modify-headers` are reflected) and in `error` (mitmproxy's own 502 for an unreachable server).
"""

from __future__ import annotations

import logging
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from mitmproxy import ctx, exceptions, hooks, http
from mitmproxy.addonmanager import traverse

from ..engine.tracker import Tracker
from ..engine.verdict import Verdict
from .annotate import annotate
from .fixer import META_FIX, fix_record
from .report import ReportWriter
from .snapshot import Capture, capture, exchange_of, snapshot_of

if TYPE_CHECKING:
    from .ledger import Ledger

logger = logging.getLogger("mitmproxy_cors")

LOG_CHOICES = ("blocked", "cors", "off")


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

    def load(self, loader) -> None:
        loader.add_option(
            "cors_report", str, "",
            "Write a JSON Lines report of every CORS verdict to this file ('+path' appends).",
        )
        loader.add_option(
            "cors_log", str, "blocked",
            "Which verdicts to log: 'blocked', 'cors' (every CORS flow) or 'off'.",
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

    def _fix_text_readers(self) -> bool:
        """Will anyone read `metadata["cors_fix"]`? The report does; so does whoever keeps the flows:
        the console and mitmweb (a View), a saved stream (-w) or a HAR dump. A bare mitmdump drops
        each flow once its hooks ran, and `cors.fix` computes what it needs itself."""
        if self.report is not None:
            return True
        try:
            options, addons = ctx.options, ctx.master.addons
        except Exception:  # no master: assume a reader
            return True
        if any(getattr(options, name, None) for name in ("save_stream_file", "hardump")):
            return True
        return addons.get("view") is not None

    def done(self) -> None:
        if self.report is not None:
            self.report.close()
            self.report = None

    # -- hooks --------------------------------------------------------------------------------

    def requestheaders(self, f: http.HTTPFlow) -> None:
        # Our script runs before stickycookie and modify_headers: this is the browser's request.
        self._requests[f.id] = capture(f)
        if len(self._requests) > self.PENDING_REQUESTS:  # flows that never finish must not pile up
            del self._requests[next(iter(self._requests))]

    def response(self, f: http.HTTPFlow) -> None:
        self._decide(f)

    def error(self, f: http.HTTPFlow) -> None:
        # Also when the response was cut off mid-body: then `response` never fires, but the
        # browser already had the headers (or mitmproxy's 502), so the flow still needs a verdict.
        if f.id not in self._flows:
            self._decide(f)

    # -- work ---------------------------------------------------------------------------------

    def _decide(self, f: http.HTTPFlow) -> Verdict | None:
        try:
            taken = self._requests.pop(f.id, None)
            exchange = exchange_of(f, snapshot_of(taken) if taken is not None else None)
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
        if changed and _update_has_listeners():
            ctx.master.addons.trigger(hooks.UpdateHook(changed))
        return v

    def _log(self, f: http.HTTPFlow, v: Verdict) -> None:
        if self.log_level == "off" or not (v.blocked or (self.log_level == "cors" and v.cors_relevant)):
            return
        if self.line_sink is not None:
            self.line_sink(f, v)
            return
        peer = f.client_conn.peername if f.client_conn else None
        logger.info("%s %s %s", v.method, v.url, v.summary(), extra={"client": peer} if peer else None)


def _update_has_listeners() -> bool:
    """Does any addon have an `update` hook (the console's and mitmweb's View do; a bare mitmdump has
    none)? Triggering it walks the whole addon chain, which costs more than asking."""
    for a in traverse(ctx.master.addons.chain):
        fn = getattr(a, "update", None)
        if fn is not None and callable(fn) and not isinstance(fn, types.ModuleType):
            return True
    return False


def _report_extra(f: http.HTTPFlow | None) -> dict | None:
    """What the fixer (mitm/fixer.py) knows about a flow: the configuration that fixes it
    (`cors_fix`, for blocked flows) and what it patched (`cors_patch`)."""
    if f is None:
        return None
    extra = {key: f.metadata[key] for key in ("cors_fix", "cors_patch") if key in f.metadata}
    return extra or None
