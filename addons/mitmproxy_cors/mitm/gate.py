"""The end of the session: `cors_fail_on` makes mitmdump exit with status 1 when the session saw flows
the browser blocks; `cors_junit` writes the outcome as JUnit XML (mitm/junit.py) and `cors_html` as a
page for people (mitm/html_report.py) when the proxy stops (`cors.html`, mitm/html_command.py, writes
that page on demand).

The decision is taken from the session's ledger where it is kept: in the proxy, or in mitmdump's
analysis worker, which writes the files itself, prints why, and tells the proxy through its exit
status (GATE_TRIPPED). mitmdump has no way for an addon to set its exit status: once every addon's
`done` has run, an `atexit` handler ends the process with status 1 (after flushing logs and output).
Only in mitmdump: the console and mitmweb are stopped by a person, not by a CI job.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys

from mitmproxy import ctx

from .analysis import Analysis
from .html_report import write_html
from .junit import write_junit
from .options import FAIL_ON_CHOICES, choice, reported
from .report import writable
from .terminal import in_mitmdump, stopping

logger = logging.getLogger("mitmproxy_cors")

GATE_TRIPPED = 3  # the analysis worker's exit status when the session failed the gate


def finish_session(analysis: Analysis, junit: str, fail_on: str, html: str = "") -> bool:
    """Write the JUnit file and the HTML report if asked; True when the session fails `fail_on` (and
    say why on stderr)."""
    if junit:
        try:
            write_junit(junit, analysis.ledger, fail_on)
        except OSError as e:
            logger.error("cors_junit: cannot write %r: %s", junit, e.strerror or e)
    if html:
        try:
            write_html(html, analysis.ledger, analysis.stories)
        except OSError as e:
            logger.error("cors_html: cannot write %r: %s", html, e.strerror or e)
    if fail_on == "off":
        return False
    c = analysis.ledger.counts()
    conditional = c["conditional"] if fail_on == "conditional" else 0
    # A request a browser's HAR holds without a response is never an all-clear, nor one the page
    # probe saw the browser refuse before sending.
    refused = sum(n for n, _ in analysis.ledger.refusals.values())
    if not c["blocked"] + conditional + c["unknown"] + refused:
        return False
    what = f"{c['blocked']} flow(s) blocked by CORS"
    if refused:
        what += f", {refused} request(s) blocked in the page before sending (cors_probe)"
    if conditional:
        what += f", {conditional} blocked if the page sends credentials"
    if c["unknown"]:
        what += f", {c['unknown']} with no response in the capture (blocked or failed in the browser)"
    print(f"mitmproxy-cors: {what} (cors_fail_on={fail_on}): exit status 1", file=sys.stderr, flush=True)
    return True


def path_option(option: str, value: str) -> str:
    """A file the session's end writes in one step: `~` expanded (the writer takes the path as it is),
    checked like every path option (report.writable)."""
    return writable(option, os.path.expanduser(value.strip()))


def _exit_with(status: int) -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


class CorsGate:
    name = "cors-gate"

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.fail_on = "off"
        self.junit = ""
        self.html = ""
        self._exit_registered = False

    def load(self, loader) -> None:
        loader.add_option(
            "cors_fail_on", str, "off",
            "mitmdump: exit with status 1 when the session saw flows the browser blocks ('blocked'), or "
            "also flows blocked only if the page sends credentials ('conditional'); 'off': always 0. "
            "For CI: live, or with -r on a saved capture.",
            choices=FAIL_ON_CHOICES,
        )
        loader.add_option(
            "cors_junit", str, "",
            "Write the session's CORS outcome as JUnit XML to this path when the proxy stops "
            "(blocked groups are failures). Empty: none.",
        )
        loader.add_option(
            "cors_html", str, "",
            "Write the session's CORS report as one self-contained HTML page to this path when the proxy "
            "stops: the summary, each failing request's sequence and checks, the server fix per framework. "
            "Empty: none.",
        )

    def configure(self, updated: set[str]) -> None:
        with reported(updated):
            # Every value is checked before any is taken: a bad one leaves the previous configuration.
            fail_on = choice("cors_fail_on", ctx.options.cors_fail_on, FAIL_ON_CHOICES) \
                if "cors_fail_on" in updated else None
            junit = path_option("cors_junit", ctx.options.cors_junit) if "cors_junit" in updated else None
            html = path_option("cors_html", ctx.options.cors_html) if "cors_html" in updated else None
            if fail_on is not None:
                self.fail_on = fail_on
            if junit is not None:
                self.junit = junit
            if html is not None:
                self.html = html

    def worker_finish(self) -> dict:
        """What the analysis worker needs to finish the session as the proxy would."""
        return {"junit": self.junit, "fail_on": self.fail_on, "html": self.html}

    def done(self) -> None:
        if not stopping():
            return  # a hot reload of the script, not the end of the session
        if self.analysis.offloaded:
            status = self.analysis.worker_exit
            if status == GATE_TRIPPED:
                tripped = True
            elif status == 0:
                tripped = False
            else:  # the worker died or was stopped: nothing tells that the session passed
                tripped = self.fail_on != "off"
                if tripped:
                    print("mitmproxy-cors: the analysis worker did not finish, so no verdict can pass "
                          f"cors_fail_on={self.fail_on}: exit status 1", file=sys.stderr, flush=True)
        else:
            tripped = finish_session(self.analysis, self.junit, self.fail_on, self.html)
        if tripped and in_mitmdump() and not self._exit_registered:
            self._exit_registered = True
            atexit.register(_exit_with, 1)

