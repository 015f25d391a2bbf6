"""Analysis: a flow record -> the pipeline -> every output but the flow itself.

    record ──exchange_of_record──▶ Exchange ──Pipeline.decide──▶ Decisions ──▶ JSON Lines report
                                                                           ├─▶ ledger (summary, cors.report)
                                                                           ├─▶ stories (the HTML report)
                                                                           └─▶ terminal line (mitmdump)

The same object does this in the proxy (mitm/observer.py, which then annotates the flows) and in
mitmdump's analysis worker (mitm/worker.py): the worker is a transport, so both write the same
report, byte for byte, and print the same lines and summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..audit.finding import Finding
from ..engine.verdict import Verdict
from ..engine.origin import parse_origin_header
from ..engine.page_intent import PageRecord
from ..pipeline import Decision, Pipeline
from .ledger import Ledger
from .report import ReportWriter
from .stories import Stories
from .snapshot import R_ID, exchange_of_record, peer_of_record

logger = logging.getLogger("mitmproxy_cors")

LinePrinter = Callable[[Verdict, "tuple | None"], None]


def log_finding(f: Finding) -> None:
    """The event log's line for a finding (the console, mitmweb); mitmdump prints a rich one."""
    (logger.warning if f.kind == "vulnerability" else logger.info)("%s", f.summary())


def wants_line(level: str, v: Verdict) -> bool:
    """`cors_log`: which verdicts get a line (`blocked` includes those blocked if the page sends
    credentials: allowed as sent, but never to be missed)."""
    return level != "off" and (v.blocked or v.credentials_risk is not None or v.not_in_capture or v.failed_not_cors
                               or (level == "cors" and v.cors_relevant)
                               or (v.cookies is not None and bool(v.warnings)))  # a cookie withheld or refused


class Analysis:
    def __init__(self) -> None:
        self.pipeline = Pipeline()
        self.ledger = Ledger()
        self.ledger.audit = self.pipeline.audit  # the summary asks it what the traffic could not tell
        self.stories = Stories()  # per ledger group, an example story and the server's requirements
        # Off where no HTML report can be asked for (mitmdump without cors_html): a blocked flow's
        # requirement costs some 30 us, in the analysis worker that shares a core with the traffic.
        self.keep_stories = True
        self.report: ReportWriter | None = None
        self.log_level = "blocked"
        self.print_line: LinePrinter | None = None  # set by mitm/terminal.py (mitmdump) or the observer's log
        self.print_finding: Callable[[Finding], None] | None = log_finding
        self.decided = 0
        self.internal_errors = 0
        self.offloaded = False  # mitmdump's analysis worker holds this session's verdicts
        self.worker_exit: int | None = None  # its exit status once it finished (mitm/gate.py reads it)

    def handle(self, record: tuple) -> tuple[Decision, ...]:
        """Decide one finished flow; returns its Decision and the updated earlier ones (the proxy
        annotates flows with them)."""
        try:
            result = self.pipeline.decide(exchange_of_record(record))
            decisions = (result.decision, *result.updates)
            lines = [d.report_line() for d in decisions] if self.report is not None else None
        except Exception:  # the engine must never break the proxy: count it and say so once per flow
            self.internal_errors += 1
            logger.exception("mitmproxy-cors could not decide flow %s", record[R_ID] if record else record)
            return ()
        self.decided += 1
        if lines is not None:
            for line in lines:
                self.report.write(line)
        for d in decisions:
            self.ledger.ingest(d.verdict, d.patch)
        try:
            if self.keep_stories:
                self.stories.ingest(decisions, lines, self.ledger)
        except Exception:  # the HTML report loses a story; the verdict and every other output stand
            self.internal_errors += 1
            logger.exception("mitmproxy-cors could not keep the story of flow %s", result.decision.flow_id)
        if result.new_findings:
            self._found(result.new_findings)
        v = result.decision.verdict
        if self.print_line is not None and wants_line(self.log_level, v):
            self.print_line(v, peer_of_record(record))
        return decisions

    def handle_page(self, page: str, records: list, probe_flow_id: str | None = None) -> tuple[tuple[Decision, ...], list[dict]]:
        """One delivery of the page probe's records (mitm/page_probe.py), already checked, as plain
        tuples (`PageRecord` fields) from the page at origin `page`: the earlier flows they settle
        (update Decisions, reported and counted like any) and the requests the browser refused
        before sending (report records, the summary, a line each)."""
        try:
            origin = parse_origin_header(page)
            result = self.pipeline.page_records(origin, tuple(PageRecord(*r) for r in records)) if origin else None
        except Exception:
            self.internal_errors += 1
            logger.exception("mitmproxy-cors could not use the page probe's records from %s", page)
            return (), []
        if result is None:
            return (), []
        refusals = [r.to_dict(probe_flow_id) for r in result.refusals]
        for d in result.updates:
            if self.report is not None:
                self.report.write(d.report_line())
            self.ledger.ingest(d.verdict, d.patch)
            # settled: the verdict the page really got, said like a new one (mitmdump's line)
            if self.print_line is not None and wants_line(self.log_level, d.verdict):
                self.print_line(d.verdict, None)
        for r, line in zip(result.refusals, refusals):
            if self.report is not None:
                self.report.write(line)
            self.ledger.add_refusal((r.page, r.record.method, r.record.url), r.message)
            if self.log_level != "off":
                logger.warning("%s", r.summary())
        return result.updates, refusals

    @property
    def probe_pages(self) -> bool:
        return self.pipeline.page_flows is not None

    @probe_pages.setter
    def probe_pages(self, on: bool) -> None:
        self.pipeline.probe_pages(on)

    @property
    def audit_enabled(self) -> bool:
        return self.pipeline.audit.enabled

    @audit_enabled.setter
    def audit_enabled(self, on: bool) -> None:
        self.pipeline.audit.enabled = on

    def add_findings(self, findings: tuple[Finding, ...], probe_line: str | None = None,
                     endpoint: str | None = None) -> tuple[Finding, ...]:
        """Findings made outside the pipeline (the active audit's crafted origins, sent to `endpoint`):
        kept with the endpoint's (later flows show them), reported and printed when new."""
        if probe_line:
            self.ledger.add_probe_line(probe_line)
        new = self.pipeline.audit.add(findings, endpoint)
        if new:
            self._found(new)
        return new

    def _found(self, findings: tuple[Finding, ...]) -> None:
        self.ledger.add_findings(findings)
        if self.report is not None:
            for f in findings:
                self.report.write(f.record())
        if self.print_finding is not None and self.log_level != "off":
            for f in findings:
                self.print_finding(f)

    def clear(self) -> dict[str, int]:
        sizes = self.pipeline.clear()
        sizes["verdicts"] = self.ledger.clear()
        self.stories.clear()
        return sizes

    def close(self) -> None:
        if self.report is not None:
            self.report.close()
            self.report = None
