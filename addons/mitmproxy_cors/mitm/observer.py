"""The mitmproxy addon that gives every finished flow the browser's CORS verdict.

Verdicts are made in `response` (after every addon's `responseheaders`, so header rules such as
`--modify-headers` are reflected) and in `error` (mitmproxy's own 502 for an unreachable server). A
long-lived response (an event stream, a streamed body: engine/long_lived.py) is judged at its headers,
once every addon's `responseheaders` ran, since its `response` comes only when the stream closes.

Where (`cors_analysis`): in this process, annotating each flow before the next addon sees it; or in
the analysis worker (mitm/worker.py), a child process that runs the same pipeline and writes the
report (in mitmdump also the terminal lines and the summary), so the proxy's event loop only hands
each finished flow over. In the console and mitmweb the worker's decisions come back and annotate
the flows a few milliseconds later (then the View is told); in mitmdump, when nothing reads the
flows, none come back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from mitmproxy import ctx, hooks, http

from ..engine.long_lived import BUFFERED_EVENT_STREAM, STREAMED_EVENT_STREAM, delivery_of
from ..engine.verdict import Verdict
from .addon_chain import FLOW_HOOKS, any_addon_with, foreign_addons_with
from .analysis import Analysis
from .annotate import FlowIndex
from .offload import AnalysisWorker, worker_command
from .page_probe import annotate_delivery
from .options import ANALYSIS_CHOICES, LOG_CHOICES, choice, reported
from .report import ReportWriter, writable
from .snapshot import Capture, capture, record_of
from .terminal import in_mitmdump, stopping, summary_due, verbose

if TYPE_CHECKING:
    from .fixer import CorsFixer
    from .gate import CorsGate

logger = logging.getLogger("mitmproxy_cors")

# mitmproxy's own options whose addons change a request after `requestheaders` (cookies, auth,
# headers, URL, or a user editing an intercepted flow). With none set, a request reaches `response`
# as the browser sent it (mitmproxy itself only drops `Expect: 100-continue`, a header no browser
# may send), and the record can be taken there, from one hook instead of two.
REQUEST_CHANGING_OPTIONS = ("anticache", "anticomp", "stickycookie", "stickyauth", "modify_headers",
                            "modify_body", "map_remote", "upstream_auth", "proxyauth", "intercept")


def wants_digest(level: str, line: dict) -> bool:
    """analysis.wants_line for a flow line (what the worker sends back)."""
    if level == "off":
        return False
    if line["verdict"] == "blocked" and (line["reason"] or line["warnings"]) or (line["conditional"] or {}).get("evidence"):
        return True
    return bool(line.get("not_in_capture")) or (level == "cors" and line["kind"] in ("preflight", "actual", "simple"))


def _log_lines(lines: list[tuple[tuple | None, str]]) -> None:
    """The event log's lines for a frame of the worker's decisions, as one log record. Each record
    costs mitmproxy an `add_log` hook through the whole addon chain, scheduled on the event loop:
    4% of the proxy's CPU under load when every blocked flow had a record of its own. A developer
    clicking through a page still gets one entry per flow: frames then hold one decision."""
    if not lines:
        return
    peers = {peer for peer, _ in lines}
    peer = peers.pop() if len(peers) == 1 else None  # mitmproxy prefixes one client address
    logger.info("%s", "\n".join(text for _, text in lines), extra={"client": peer} if peer else None)


def log_line(v: Verdict, peer: tuple | None) -> None:
    """The event log's line for a verdict (the console, mitmweb); mitmdump prints a rich one instead."""
    logger.info("%s %s %s", v.method, v.url, v.summary(), extra={"client": peer} if peer else None)


class CorsObserver:
    name = "cors"
    PENDING_REQUESTS = 10_000
    _JUDGED = ()  # `_long`: judged at its headers already

    def __init__(self, analysis: Analysis | None = None, flows: FlowIndex | None = None,
                 fixer: CorsFixer | None = None, gate: CorsGate | None = None) -> None:
        self.analysis = analysis if analysis is not None else Analysis()
        self.flows = flows if flows is not None else FlowIndex()
        self.fixer = fixer  # its cors_policy may change requests: then they are captured early
        self.analysis.print_line = log_line
        self.report_spec = ""
        self.mode = "auto"
        self.is_running = False
        self._requests: dict[str, Capture] = {}  # flow id -> request as the browser sent it
        # Long-lived flows (bounded): id -> (delivery, judge at the headers?), or _JUDGED.
        self._long: dict[str, tuple] = {}
        self.capture_early = True  # see _capture_early
        self._updates_wanted: bool | None = None  # does any addon have `update` (a View)? asked once
        self.worker: AnalysisWorker | None = None
        self.annotating = False  # the worker's decisions come back to annotate the flows
        self.force_annotations = False  # bench/: mitmdump on the console's and mitmweb's path
        self.gate = gate  # mitm/gate.py: what the analysis worker needs to finish the session

    @property
    def decided(self) -> int:
        return self.analysis.decided

    @property
    def internal_errors(self) -> int:
        return self.analysis.internal_errors

    def load(self, loader) -> None:
        loader.add_option(
            "cors_report", str, "",
            "Write a JSON Lines report of every CORS verdict to this file ('+path' appends).",
        )
        loader.add_option(
            "cors_log", str, "blocked",
            "Which verdicts to log: 'blocked', 'cors' (every CORS flow) or 'off'.",
            choices=LOG_CHOICES,
        )
        loader.add_option(
            "cors_analysis", str, "auto",
            "Where flows are judged: 'inline' (in the proxy, each flow annotated before the next addon "
            "sees it), 'worker' (in a child process running the same pipeline: the console and mitmweb "
            "get the verdicts on their flows milliseconds later; mitmdump gets the report, lines and "
            "summary) or 'auto' (the worker, unless something reads a flow's verdict as the flow ends: "
            "-w, hardump, mitmdump's --flow-detail 3 or flow filter, another script with flow hooks). "
            "Read at start-up.",
            choices=ANALYSIS_CHOICES,
        )

    def configure(self, updated: set[str]) -> None:
        with reported(updated):
            self._configure(updated)

    def _configure(self, updated: set[str]) -> None:
        # Check everything first: a bad value raises before anything changes.
        level = choice("cors_log", ctx.options.cors_log, LOG_CHOICES) if "cors_log" in updated else None
        mode = choice("cors_analysis", ctx.options.cors_analysis, ANALYSIS_CHOICES) \
            if "cors_analysis" in updated else None
        spec = None
        if "cors_report" in updated:
            spec = writable("cors_report", ctx.options.cors_report.strip())
        if level is not None:
            self.analysis.log_level = level
        if mode is not None:
            self.mode = mode
        if spec is not None and spec != self.report_spec:
            # Opened at once while the proxy runs; at start-up in `running` (or by the first line),
            # once every addon accepted its options and the proxy listens.
            self.report_spec = spec
            self._set_report()
        if "cors_html" in updated or "cors_html" not in ctx.options:
            self.analysis.keep_stories = self._stories_wanted()
        if self.worker is not None and updated & {"cors_log", "cors_report", "termlog_verbosity", "cors_html", "cors_audit"}:
            self.worker.send(("config", self._worker_config()))
        self.capture_early = self._capture_early()
        self._updates_wanted = None  # the addons may have changed (a script loaded): ask again

    def _set_report(self) -> None:
        self.analysis.close()
        self.analysis.report = ReportWriter(self.report_spec) if self.report_spec else None
        if self.is_running:
            self._open_report()

    def _open_report(self) -> None:
        if self.analysis.report is not None:
            try:
                self.analysis.report.open()
            except OSError as e:
                logger.error("cors_report: cannot open %r: %s", self.report_spec, e.strerror or e)
                self.analysis.close()

    def _capture_early(self) -> bool:
        """Take the request in `requestheaders`, as the browser sent it, before other addons change
        it? Needed only when something could change a request (a request-changing option, a
        cors_policy, another script with request hooks); else `response` takes the record from the
        flow as it is, and a capture per flow is saved. Asked again whenever options change."""
        try:
            options = ctx.options
            if any(getattr(options, name, None) for name in REQUEST_CHANGING_OPTIONS):
                return True
        except Exception:
            return True
        if self.fixer is not None and self.fixer.policies:
            return True
        return foreign_addons_with(("requestheaders", "request"))

    def running(self) -> None:
        self.is_running = True
        self.analysis.keep_stories = self._stories_wanted()  # every addon and option is there now
        self._open_report()
        if self.worker is None:
            mode = self._worker_mode()
            if mode is not None:
                self._start_worker(annotate=mode == "annotate")
        self.capture_early = self._capture_early()

    def _start_worker(self, annotate: bool) -> None:
        command = worker_command()
        if command is None:
            if self.mode == "worker":
                logger.warning("cors_analysis=worker: no Python interpreter to run the worker with; "
                               "judging flows in the proxy")
            return
        try:
            self.worker = AnalysisWorker(asyncio.get_running_loop(), command,
                                         self._annotate_from_worker if annotate else None)
        except (OSError, RuntimeError) as e:
            logger.warning("mitmproxy-cors: cannot start the analysis worker (%s); judging flows in the proxy", e)
            return
        self.annotating = annotate
        self.analysis.offloaded = True
        self.worker.send(("config", self._worker_config()))

    def _stories_wanted(self) -> bool:
        """Keep what the HTML report draws? Where it can be asked for: cors_html, or a front end whose
        user may run cors.html (the console, mitmweb)."""
        try:
            if "cors_html" in ctx.options and ctx.options.cors_html:
                return True
            return not in_mitmdump() or self.force_annotations
        except Exception:
            return True

    def _worker_mode(self) -> str | None:
        """None: judge in the proxy; "plain": in the worker, nothing comes back (mitmdump where nothing
        reads a flow's annotations); "annotate": in the worker, its decisions annotate the flows
        when they come back (the console, mitmweb).

        In the proxy (`auto`) whenever something reads a flow's annotations in the hook that finishes
        it, before the worker could answer: a saved stream or HAR dump (-w, hardump), mitmdump's
        --flow-detail 3 with the `cors` view or its flow filter, another script with flow hooks (it
        may read metadata["cors"]). `inline` and `worker` decide it yourself."""
        if self.mode == "inline":
            return None
        try:
            options = ctx.options
            dump = in_mitmdump()
            view = ctx.master.addons.get("view") is not None
        except Exception:
            return None
        if not dump and not view:
            return None  # an embedding tool of someone else's: judge where it can read the verdicts
        read_now = (
            any(getattr(options, name, None) for name in ("save_stream_file", "hardump"))
            or (dump and (getattr(options, "flow_detail", 0) >= 3
                          or getattr(options, "dumper_default_contentview", "") == "cors"
                          or bool(getattr(options, "dumper_filter", None))))
            or foreign_addons_with(FLOW_HOOKS))
        if self.mode == "auto" and read_now:
            return None
        return "annotate" if view or read_now or self.force_annotations else "plain"

    def _worker_config(self) -> dict:
        # Annotating (the console, mitmweb): the proxy logs the lines itself; the worker's stdout is
        # the console's screen.
        return {"log": self.analysis.log_level, "verbose": verbose() and not self.annotating,
                "report": self.report_spec, "stories": self.analysis.keep_stories,
                "audit": self.analysis.audit_enabled, "probe": self.analysis.probe_pages}

    def done(self) -> None:
        if self.worker is not None:
            # The worker keeps the session's ledger: it prints the summary and finishes the session
            # for mitm/gate.py (the JUnit file, cors_fail_on), which reads its exit status.
            finish = {"summary": summary_due() and in_mitmdump()}
            if self.gate is not None and stopping():  # not a hot reload of the script
                finish.update(self.gate.worker_finish())
            self.analysis.worker_exit = self.worker.close(finish)
            self.worker = None
        self.analysis.close()

    # -- hooks --------------------------------------------------------------------------------

    def requestheaders(self, f: http.HTTPFlow) -> None:
        """Our script runs before stickycookie and modify_headers: this is the browser's request."""
        if not self.capture_early:
            return
        self._requests[f.id] = capture(f)
        if len(self._requests) > self.PENDING_REQUESTS:  # flows that never finish must not pile up
            del self._requests[next(iter(self._requests))]

    def responseheaders(self, f: http.HTTPFlow) -> None:
        """A long-lived response is judged at its headers: the browser's CORS check needs nothing
        else, and `response` comes only when the stream closes (an EventSource's may last hours)."""
        resp = f.response
        if resp is None or not f.live:
            return
        how = delivery_of(_content_type(resp.data.headers.fields), bool(resp.stream))
        if how is None:
            return
        if how == BUFFERED_EVENT_STREAM and _large_bodies_streamed():
            # Not streamed yet, but mitmproxy streams a body without a length once it has buffered
            # stream_large_bodies bytes of it (measured: =1 gives the page `open` within 0.2 s).
            how = STREAMED_EVENT_STREAM
        # A buffered body's headers reach the browser only with it: an addon's `response` (or a user
        # editing an intercepted flow) may still change them, and then it is judged there.
        early = how != BUFFERED_EVENT_STREAM or not self._responses_changed_later()
        self._long[f.id] = (how, early)
        if len(self._long) > self.PENDING_REQUESTS:
            del self._long[next(iter(self._long))]
        if early:
            try:  # after the other addons' `responseheaders` (--modify-headers), which run after ours
                asyncio.get_running_loop().call_soon(self._judge_at_headers, f)
            except RuntimeError:  # no event loop (a test calling the hook): now
                self._judge_at_headers(f)

    def _responses_changed_later(self) -> bool:
        try:  # the console and mitmweb only (mitmdump has no such option)
            if "intercept_active" in ctx.options and ctx.options.intercept_active:
                return True
        except Exception:
            return True
        return foreign_addons_with(("response",))

    def _judge_at_headers(self, f: http.HTTPFlow) -> None:
        delivery = self._long.get(f.id)
        if not delivery or not delivery[1]:
            return  # judged already, or its `response` came first
        self._long[f.id] = self._JUDGED
        try:
            if self.fixer is not None:
                self.fixer.settle(f)  # what cors_fix changed, recorded before the verdict
        except Exception:
            logger.exception("mitmproxy-cors could not record the patch of %s %s", f.request.method,
                             f.request.pretty_url)
        if self.worker is not None and self._offload(f, delivery):
            return
        self._decide(f, delivery=delivery)
        if self._updates_wanted is None:
            self._updates_wanted = any_addon_with("update")
        if self._updates_wanted:  # the hook's own `update` ran before this verdict
            ctx.master.addons.trigger(hooks.UpdateHook([f]))

    def _delivery(self, f: http.HTTPFlow) -> tuple | None:
        """A long-lived flow's delivery for the record of its `response` or `error`, or _JUDGED when it
        was judged already: one verdict per flow. A streamed flow the client left gets both `response`
        and `error` in mitmproxy 11, so _JUDGED stays (until the bound drops it)."""
        delivery = self._long.get(f.id)
        if delivery is None or delivery is self._JUDGED:
            return delivery
        self._long[f.id] = self._JUDGED
        return (delivery[0], False)

    def response(self, f: http.HTTPFlow) -> None:
        delivery = self._delivery(f) if self._long else None
        if delivery is self._JUDGED:
            return
        if self.worker is not None and self._offload(f, delivery):
            return
        self._decide(f, delivery=delivery)

    def error(self, f: http.HTTPFlow) -> None:
        # Also when the response was cut off mid-body: then `response` never fires, but the
        # browser already had the headers (or mitmproxy's 502), so the flow still needs a verdict.
        delivery = self._delivery(f) if self._long else None
        if delivery is self._JUDGED:
            return
        if self.worker is not None:
            if f.response is not None and self._response_seen(f):
                return
            if self._offload(f, delivery):
                return
        if f.id not in self.flows:
            self._decide(f, delivery=delivery)

    def _response_seen(self, f: http.HTTPFlow) -> bool:
        """Did `response` already hand this flow over? With the early capture, it took the request
        out of _requests. Without: a live flow gets either `response` or `error` (mitmproxy fires
        `error` only for a response cut off mid-body); a loaded one (mitmdump -r) gets both."""
        if self.capture_early:
            return f.id not in self._requests
        return not f.live

    def _record(self, f: http.HTTPFlow, delivery: tuple | None = None) -> tuple | None:
        taken = self._requests.pop(f.id, None)
        try:
            return record_of(f, taken, delivery)
        except Exception:
            self.analysis.internal_errors += 1
            logger.exception("mitmproxy-cors could not read flow %s %s", f.request.method, f.request.pretty_url)
            return None

    def _offload(self, f: http.HTTPFlow, delivery: tuple | None = None) -> bool:
        record = self._record(f, delivery)
        if record is None:
            return True
        if self.worker.send(("flow", record)):
            if self.annotating:
                self.flows.add(f, record)
            return True
        self.worker = None  # it died and said so: judge here from now on
        self.annotating = False
        self.analysis.offloaded = False
        self.capture_early = True
        self._decide(f, record)
        return True

    def _annotate_from_worker(self, decisions: list) -> None:
        """The worker's decisions, in the order it made them: annotate the flows still here, log the
        lines cors_log asks for, tell the View."""
        changed = []
        level = self.analysis.log_level
        lines: list[tuple[tuple | None, str]] = []
        for flow_id, line, plain, update in decisions:
            f = self.flows.get(flow_id)
            if plain is None:  # the page probe's delivery: the requests the browser refused before sending
                if f is not None:
                    annotate_delivery(f, line["page_refusals"])
                    changed.append(f)
                continue
            before = (f.metadata.get("cors") or {}) if f is not None and update else {}
            if f is not None:
                self.flows.annotate_line(f, line, plain, update)
                changed.append(f)
            # an update gets a line when it changes what the browser does (the page probe settled it)
            changed_verdict = update and before and (before.get("verdict"), before.get("reason")) != (
                line["verdict"], line["reason"])
            if (not update or changed_verdict) and wants_digest(level, line):
                peer = f.client_conn.peername if f is not None and f.client_conn else None
                lines.append((peer, f"{line['method']} {line['url']} {line['summary']}"))
        _log_lines(lines)
        if changed and self._updates_wanted is None:
            self._updates_wanted = any_addon_with("update")
        if changed and self._updates_wanted:
            ctx.master.addons.trigger(hooks.UpdateHook(changed))

    def _decide(self, f: http.HTTPFlow, record: tuple | None = None, delivery: tuple | None = None) -> None:
        if record is None:
            record = self._record(f, delivery)
        if record is None:
            return
        changed = []
        decisions = self.analysis.handle(record)
        if not decisions:  # the pipeline failed on it (and said so): still judged, not to be judged again
            self.flows.add(f)
        for d in decisions:  # this flow's decision first, then the earlier flows it completes
            other = f if d.flow_id == f.id else self.flows.get(d.flow_id)
            if other is None:
                continue
            self.flows.annotate(other, d, record if other is f else None)
            if other is not f:
                changed.append(other)
        if changed and self._updates_wanted is None:
            self._updates_wanted = any_addon_with("update")
        if changed and self._updates_wanted:  # triggering walks the whole chain: ask first
            ctx.master.addons.trigger(hooks.UpdateHook(changed))


def _content_type(fields: tuple) -> str | None:
    """The Content-Type of a response's header fields (bytes), read without building a dict: this runs
    for every response."""
    for name, value in fields:
        if len(name) == 12 and name.lower() == b"content-type":
            return value.decode("latin-1")
    return None


def _large_bodies_streamed() -> bool:
    try:
        return bool(ctx.options.stream_large_bodies)
    except Exception:
        return False
