"""Addon: `cors.html PATH` writes the session's HTML report (mitm/html_report.py) now, from the
console or mitmweb mid-session; `cors_html` (mitm/gate.py) writes it when the proxy stops.

The page is rendered where the session's ledger is: here, or in the analysis worker, which is asked
over its reply pipe (as `cors.report` asks it) and writes the file itself.
"""

from __future__ import annotations

from mitmproxy import command, exceptions, types

from .analysis import Analysis
from .gate import path_option
from .html_report import write_now


class CorsHtmlCommand:
    name = "cors-html"

    def __init__(self, analysis: Analysis, observer=None) -> None:
        self.analysis = analysis
        self.observer = observer  # mitm/observer.py: its analysis worker, if one runs, holds the session

    @command.command("cors.html")
    def html(self, path: types.Path) -> str:
        """Write the session's CORS report so far as a self-contained HTML page to `path`."""
        try:
            path = path_option("cors.html", str(path))
        except exceptions.OptionsError as e:
            raise exceptions.CommandError(str(e)) from None
        if not path:
            raise exceptions.CommandError("cors.html: give a path, e.g. cors.html ~/cors-report.html")
        worker = getattr(self.observer, "worker", None)
        if worker is not None:
            answer = worker.ask(("html", path), timeout=30.0)
            if not answer:
                raise exceptions.CommandError("cors.html: the analysis worker did not answer")
        else:
            answer = write_now(path, self.analysis.ledger, self.analysis.stories)
        status, line = answer
        if status != "ok":
            raise exceptions.CommandError(line)
        return line
