"""mitmdump's terminal: one rich line per CORS verdict as it is decided, a summary table at exit.

Only in mitmdump (the master has a Dumper and no View): the console draws its screen with urwid
and mitmweb's terminal is secondary, so there the observer's plain log line stays (event log).

What is printed follows three options: `cors_log` (which verdicts get a line: blocked / cors /
off; the observer owns it), `cors_summary` (on / off: the table when the proxy stops) and
mitmproxy's own `termlog_verbosity` (lines and table are info-level output: `-q` silences them).
The table is written straight to the terminal because logging is gone by the time `done` runs.
"""

from __future__ import annotations

import sys
import time

from typing import TYPE_CHECKING

from mitmproxy import ctx
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..audit.finding import Finding, by_severity
from ..engine.verdict import Verdict, steps_text
from .ledger import Ledger, counts_text, target_of, refusal_lines
from .options import SUMMARY_CHOICES, choice, reported

if TYPE_CHECKING:
    from .analysis import Analysis

_INFO_LEVELS = ("info", "alert", "debug")


def in_mitmdump() -> bool:
    addons = ctx.master.addons
    return addons.get("dumper") is not None and addons.get("view") is None


def verbose() -> bool:
    """Lines and table are info-level output: mitmproxy's `-q` (termlog_verbosity) silences them."""
    if "termlog_verbosity" not in ctx.options:
        return True
    return ctx.options.termlog_verbosity in _INFO_LEVELS


def summary_due() -> bool:
    """Is the proxy stopping (not a hot reload of the script) with the table wanted?"""
    if "cors_summary" in ctx.options and ctx.options.cors_summary != "on":
        return False
    if not verbose():
        return False
    return stopping()


def stopping() -> bool:
    """Is the proxy stopping? A hot reload of the script also runs `done`, mid-session."""
    should_exit = getattr(ctx.master, "should_exit", None)
    return should_exit is None or should_exit.is_set()


def verdict_line(v: Verdict, client: tuple | None = None, now: float | None = None) -> Text:
    """`[12:00:00.000][127.0.0.1:5000] BLOCKED GET url from origin  Reason ('param')  fix: ...`"""
    t = now if now is not None else time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}"
    line = Text()
    line.append(f"[{stamp}]", style="dim cyan")
    if client:
        line.append(f"[{client[0]}:{client[1]}]", style="dim yellow")
    line.append(" ")
    if v.not_in_capture:
        line.append("CORS UNKNOWN", style="bold black on yellow")
    elif v.failed_not_cors:
        line.append("FAILED, NOT CORS", style="bold black on yellow")
    elif v.blocked:
        line.append("CORS BLOCKED", style="bold white on red")
    elif v.credentials_risk:
        line.append("CORS BLOCKED IF CREDENTIALS", style="bold black on yellow")
    elif v.cookies is not None and v.warnings:  # the browser withheld or refused a cookie
        line.append(("CORS allowed" if v.cors_relevant else "CORS n/a") + ", COOKIE*", style="bold black on yellow")
    elif v.warnings:
        line.append("CORS allowed*", style="bold black on yellow")
    elif v.cors_relevant:
        line.append("CORS allowed", style="bold green")
    else:
        line.append("CORS n/a", style="dim")
    line.append(f" {v.method} {v.url}")
    if v.origin:
        line.append(f" from {v.origin}", style="dim")
    if v.kind == "preflight":
        line.append(" (preflight)", style="dim")
    if v.not_in_capture:
        line.append(f"  {v.cause}", style="yellow")
    elif v.failed_not_cors:
        line.append(f"  {v.warnings[0]}", style="yellow")
    elif v.blocked:
        if v.reason:
            line.append("  ")
            line.append(v.reason, style="bold red")
            if v.failed_parameter:
                line.append(f" ('{v.failed_parameter}')", style="red")
        steps = [s for s in v.fix if s.required]
        if steps:
            line.append("  fix: ", style="bold")
            line.append(steps_text(steps[:3]) + (f" (+{len(steps) - 3} more)" if len(steps) > 3 else ""),
                        style="cyan")
        if v.cause:
            line.append(f"  [{v.cause}]", style="yellow")
    elif v.credentials_risk:
        risk = v.credentials_risk
        line.append(f"  blocked with {risk['reason']} if the page sends credentials ({risk['evidence']})",
                    style="yellow")
        if risk.get("fix"):
            line.append("  fix: ", style="bold")
            line.append("; ".join(risk["fix"][:3]), style="cyan")
    elif v.warnings:
        line.append(f"  warning: {v.warnings[0]}", style="yellow")
    return line


def summary_table(ledger: Ledger) -> Table | Text:
    c = ledger.counts()
    if not c["cors"]:
        return Text("CORS summary: no cross-origin requests seen.", style="dim")
    groups = ledger.groups()
    conditional = ledger.groups("conditional")
    unknown = ledger.groups("unknown")
    title = "CORS summary: " + counts_text(c)
    if not groups and not conditional and not unknown:
        return Text(title + ": nothing blocked.", style="green")
    table = Table(title=title, title_style="bold", show_lines=False, expand=False)
    table.add_column("count", justify="right", style="bold")
    table.add_column("page origin", overflow="fold")
    table.add_column("target", overflow="fold")
    table.add_column("reason", style="red", overflow="fold")
    table.add_column("fix", style="cyan", overflow="fold")
    for g in groups:
        table.add_row(str(g.count), g.origin, g.target, g.reason, g.fix)
    for g in conditional:
        table.add_row(str(g.count), g.origin, g.target, Text(f"{g.reason} if the page sends credentials",
                                                             style="yellow"), g.fix)
    for g in unknown:
        table.add_row(str(g.count), g.origin, g.target, Text(g.reason, style="yellow"), g.fix)
    return table


def finding_line(f: Finding) -> Text:
    """`CORS AUDIT HIGH origin-reflected (vulnerability) GET https://... reflects any Origin ...  fix: ...`"""
    style = "bold red" if f.kind == "vulnerability" else "yellow"
    line = Text(f"CORS AUDIT {f.severity.upper()} {f.cls} ({f.kind}) ", style=style)
    line.append(f"{f.endpoint} {f.title()}")
    if f.origins_granted:
        line.append(f"  granted: {', '.join(f.origins_granted[:3])}", style=style)
    if f.fix:
        line.append("  fix: ", style="bold")
        line.append(f.fix[0], style="cyan")
    return line


def findings_table(ledger: Ledger) -> Table | None:
    findings = by_severity(ledger.findings.values())
    if not findings:
        return None
    vuln = sum(f.kind == "vulnerability" for f in findings)
    table = Table(title=f"CORS audit: {vuln} vulnerabilit{'y' if vuln == 1 else 'ies'}, "
                        f"{len(findings) - vuln} smell(s)", title_style="bold", expand=False)
    table.add_column("severity", style="bold")
    table.add_column("class", overflow="fold")
    table.add_column("endpoint", overflow="fold")
    table.add_column("granted", overflow="fold")
    table.add_column("fix", style="cyan", overflow="fold")
    for f in findings:
        sev = Text(f"{f.severity} {f.kind}", style="red" if f.kind == "vulnerability" else "yellow")
        table.add_row(sev, f.cls, f.endpoint, ", ".join(f.origins_granted[:3]), f.fix[0] if f.fix else "")
    return table


def terminal_console() -> Console:
    # file=None: rich writes to whatever sys.stdout is now (mitmdump's TermLog writes there too).
    out = Console(highlight=False, soft_wrap=True, emoji=False)
    if not out.is_terminal:  # piped or redirected: don't squeeze the table into 80 columns
        out = Console(highlight=False, soft_wrap=True, emoji=False, width=max(out.width, 160))
    return out


def print_summary(out: Console, ledger: Ledger) -> None:
    try:
        out.print()
        out.print(summary_table(ledger))
        for line in refusal_lines(ledger):  # the page probe's: requests that left no flow
            out.print(Text(line, style="red" if line.startswith("cors probe") else ""))
        audit = findings_table(ledger)
        if audit is not None:
            out.print(audit)
        echoes = ledger.unexplained_echoes()
        if echoes:
            out.print(Text(f"CORS audit: {echoes} endpoint(s) echo the page's origin with credentials: an "
                           "allow-list or any origin? The traffic cannot tell; --set cors_audit=active (with "
                           "cors_audit_scope) sends crafted origins to find out.", style="dim"))
        sys.stdout.flush()
    except (OSError, ValueError):  # stdout closed at shutdown
        pass


class CorsTerminal:
    name = "cors-terminal"

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.active = False  # set in running() when the front end is mitmdump
        self.console: Console | None = None
        self._replaced = None

    def load(self, loader) -> None:
        loader.add_option(
            "cors_summary", str, "on",
            "mitmdump: print a table of the blocked CORS flows when the proxy stops ('on' or 'off'). "
            "Per-flow lines follow cors_log.",
            choices=SUMMARY_CHOICES,
        )

    def configure(self, updated: set[str]) -> None:
        if "cors_summary" in updated:
            with reported(updated):
                choice("cors_summary", ctx.options.cors_summary, SUMMARY_CHOICES)

    def running(self) -> None:
        if in_mitmdump():
            self.activate()

    def activate(self, console: Console | None = None) -> None:
        """Print each verdict's line here instead of the event log's (tests call this directly)."""
        self.active = True
        self.console = console
        if self._replaced is None:
            self._replaced = (self.analysis.print_line, self.analysis.print_finding)
        self.analysis.print_line = self.line
        self.analysis.print_finding = self.finding

    def _console(self) -> Console:
        if self.console is not None:
            return self.console
        return terminal_console()

    def line(self, v: Verdict, peer: tuple | None) -> None:
        if not verbose():
            return
        try:
            self._console().print(verdict_line(v, peer))
        except OSError:
            pass

    def finding(self, f: Finding) -> None:
        if not verbose():
            return
        try:
            self._console().print(finding_line(f))
        except OSError:
            pass

    def done(self) -> None:
        if not self.active:
            return
        self.active = False
        if self._replaced is not None and self.analysis.print_line == self.line:
            self.analysis.print_line, self.analysis.print_finding = self._replaced
        self._replaced = None
        if self.analysis.offloaded:
            return  # the analysis worker kept the session's verdicts and prints the table itself
        if summary_due():
            print_summary(self._console(), self.analysis.ledger)


__all__ = ["CorsTerminal", "summary_table", "target_of", "verdict_line"]
