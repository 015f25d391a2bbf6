"""The analysis worker: a child process that judges mitmdump's flows off the proxy's event loop.

mitmproxy runs every addon on one event loop, so each microsecond spent judging a flow is one the
proxy does not spend forwarding traffic. In mitmdump nothing keeps the flows (no View, no `-w`),
so nothing needs the verdict before the flow is gone: the observer (mitm/observer.py, through
mitm/offload.py) then hands each finished flow to this process as a plain record
(snapshot.record_of) and returns at once. Here the same engine judges the records in the same
order, and this process writes what mitmdump would have written: the report lines, the terminal
lines and, at the end, the summary table. It is a transport: the records go to the very
Analysis (mitm/analysis.py) the proxy runs when it judges flows itself.

Protocol on stdin: frames of a 4-byte little-endian length and a `marshal`led list of messages,
  ("config", {...})   the observer's and terminal's settings (sent again when they change)
  ("flow", record)    one finished flow; with a decisions pipe (the console, mitmweb), its decisions
                      go back on it, one frame per frame read: (flow id, flow line, plain verdict,
                      update) each, for the proxy to annotate its flows
  ("findings", records, line, endpoint)
                      what the active audit's crafted origins proved (mitm/audit.py), for the report
                      and the summary
  ("clear",)          cors.clear
  ("report",)         cors.report: its lines go back as one frame on the reply pipe
  ("html", path)      cors.html: write the HTML report now; ["ok" | "error", line] goes back likewise
  ("finish", {...})   the proxy is stopping: print the summary if asked, write the JUnit file
                      (`junit`) and the HTML report (`html`), then exit, with GATE_TRIPPED when
                      the session fails `fail_on`
End of input without "finish" (the proxy died): exit once all is written. SIGINT and SIGTERM are
ignored: Ctrl-C reaches the whole process group, and the proxy still has flows to hand over then.

Started by offload.py (`worker_command`), which ignores SIGINT and SIGTERM before importing this.
"""

from __future__ import annotations

import logging
import marshal
import os
import signal
import sys
from typing import BinaryIO

from ..audit.finding import Finding
from ..engine.verdict import verdict_to_plain
from .analysis import Analysis, log_finding
from .gate import GATE_TRIPPED, finish_session
from .html_report import write_now
from .ledger import report_lines
from .report import ReportWriter
from .terminal import finding_line, print_summary, terminal_console, verdict_line

logger = logging.getLogger("mitmproxy_cors.worker")

HEADER = 4
MAX_FRAME = 1 << 30
REPLY_FD_ENV = "MITMPROXY_CORS_REPLY_FD"
DECISIONS_FD_ENV = "MITMPROXY_CORS_DECISIONS_FD"


class WorkerAnalysis:
    """The worker's end of the pipe: messages in, the same Analysis the proxy would run."""

    def __init__(self, out=None, reply=None, decisions=None) -> None:
        self.analysis = Analysis()
        self.reply = reply  # a binary file: answers to ("report",)
        self.decisions = decisions  # a binary file: the decisions, for the proxy to annotate its flows
        self._decided: list = []
        self.report_spec = ""
        self.verbose = True
        self.out = out  # a rich Console; made on first use
        self.exit_status = 0

    @property
    def decided(self) -> int:
        return self.analysis.decided

    @property
    def internal_errors(self) -> int:
        return self.analysis.internal_errors

    def handle(self, msg: tuple) -> bool:
        """One message; False when the session is over."""
        kind = msg[0]
        if kind == "flow":
            decisions = self.analysis.handle(msg[1])
            if self.decisions is not None:
                self._decided.extend((d.flow_id, d.flow_line(), verdict_to_plain(d.verdict), d.update)
                                     for d in decisions)
        elif kind == "page":  # the page probe's records: ("page", page origin, records, probe flow id)
            updates, refusals = self.analysis.handle_page(msg[1], msg[2], msg[3])
            if self.decisions is not None:
                self._decided.extend((d.flow_id, d.flow_line(), verdict_to_plain(d.verdict), d.update)
                                     for d in updates)
                if msg[3]:  # the delivery's own flow shows what the browser refused (plain None marks it)
                    self._decided.append((msg[3], {"page_refusals": refusals}, None, False))
        elif kind == "findings":
            self.analysis.add_findings(tuple(Finding.from_record(r) for r in msg[1]), msg[2], msg[3])
        elif kind == "config":
            self.configure(msg[1])
        elif kind == "clear":
            self.analysis.clear()
        elif kind == "report" and self.reply is not None:
            self._answer(report_lines(self.analysis.ledger))
        elif kind == "html" and self.reply is not None:
            self._answer(write_now(msg[1], self.analysis.ledger, self.analysis.stories))
        elif kind == "finish":
            cfg = msg[1]
            self.exit_status = self.finish(bool(cfg.get("summary")), cfg.get("junit") or "", cfg.get("fail_on") or "off",
                                           cfg.get("html") or "")
            return False
        return True

    def _answer(self, answer: list) -> None:
        try:
            self.reply.write(frame(answer))
            self.reply.flush()
        except (OSError, ValueError):
            pass

    def send_decisions(self) -> None:
        """What was decided since the last call, as one frame (the proxy reads it when idle)."""
        if not self._decided:
            return
        batch, self._decided = self._decided, []
        try:
            self.decisions.write(frame(batch))
            self.decisions.flush()
        except ValueError:  # something unmarshallable: one by one, skipping that one
            for item in batch:
                try:
                    self.decisions.write(frame([item]))
                except ValueError:
                    pass
            self.decisions.flush()
        except OSError:  # the proxy is gone or stopped reading: judging goes on
            self.decisions = None

    def configure(self, cfg: dict) -> None:
        self.analysis.log_level = cfg.get("log", self.analysis.log_level)
        self.analysis.keep_stories = cfg.get("stories", self.analysis.keep_stories)
        self.analysis.audit_enabled = cfg.get("audit", self.analysis.audit_enabled)
        self.analysis.probe_pages = cfg.get("probe", self.analysis.probe_pages)
        self.verbose = cfg.get("verbose", self.verbose)
        self.analysis.print_line = self._print_line if self.verbose else None
        self.analysis.print_finding = self._print_finding if self.verbose else log_finding
        spec = cfg.get("report", self.report_spec)
        if spec != self.report_spec:
            self.analysis.close()
            self.report_spec = spec
            if spec:
                try:
                    # The proxy opened (and so created or truncated) it already: append from here.
                    self.analysis.report = ReportWriter("+" + spec.removeprefix("+"))
                except OSError as e:
                    logger.error("cors_report: cannot open %r: %s", spec, e.strerror or e)

    def _console(self):
        if self.out is None:
            self.out = terminal_console()
        return self.out

    def _print_line(self, v, peer) -> None:
        try:
            self._console().print(verdict_line(v, tuple(peer) if peer else None))
        except (OSError, ValueError):
            pass

    def _print_finding(self, f) -> None:
        try:
            self._console().print(finding_line(f))
        except (OSError, ValueError):
            pass

    def finish(self, summary: bool, junit: str = "", fail_on: str = "off", html: str = "") -> int:
        """The end of the session; returns the exit status (GATE_TRIPPED: it fails `fail_on`)."""
        if summary:
            print_summary(self._console(), self.analysis.ledger)
        if self.internal_errors:
            logger.error("mitmproxy-cors: %d flow(s) could not be decided", self.internal_errors)
        self.analysis.close()
        return GATE_TRIPPED if finish_session(self.analysis, junit, fail_on, html) else 0


def read_frames(stream: BinaryIO):
    """Yields lists of messages until the end of input (a truncated frame ends it too)."""
    while True:
        head = stream.read(HEADER)
        if len(head) < HEADER:
            return
        n = int.from_bytes(head, "little")
        if n > MAX_FRAME:
            raise ValueError(f"frame of {n} bytes")
        body = stream.read(n)
        if len(body) < n:
            return
        yield marshal.loads(body)


def frame(messages: list) -> bytes:
    data = marshal.dumps(messages)
    return len(data).to_bytes(HEADER, "little") + data


def main() -> int:
    # Ctrl-C, or a SIGTERM to the whole process group, is the proxy's to handle: it hands over
    # what is left and says "finish". Our end comes with that, or with the end of input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:  # background work: the proxy and the browser come first when the machine is busy
        os.nice(10)
    except OSError:
        pass
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    fd = os.environ.get(REPLY_FD_ENV)
    decisions_fd = os.environ.get(DECISIONS_FD_ENV)
    worker = WorkerAnalysis(reply=os.fdopen(int(fd), "wb") if fd else None,
                            decisions=os.fdopen(int(decisions_fd), "wb") if decisions_fd else None)
    for messages in read_frames(sys.stdin.buffer):
        for msg in messages:
            if not worker.handle(msg):
                worker.send_decisions()
                return worker.exit_status
        worker.send_decisions()
    worker.analysis.close()  # the proxy went away without saying goodbye
    return 0


if __name__ == "__main__":
    sys.exit(main())
