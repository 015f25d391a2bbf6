"""The mitmproxy side: small addons with plain hooks around the pure pipeline (../pipeline.py)."""


def make_addons() -> list:
    """What cors_addon.py gives mitmproxy: a plain list of addons, sharing what they share through
    their constructors. Order matters: the fixer patches in `request`/`responseheaders`/`response`
    before the observer judges the final headers in `response`."""
    from .analysis import Analysis
    from .audit import CorsAudit
    from .annotate import FlowIndex
    from .commands import CorsCommands
    from .fixer import CorsFixer
    from .gate import CorsGate
    from .html_command import CorsHtmlCommand
    from .observer import CorsObserver
    from .page_probe import CorsPageProbe
    from .terminal import CorsTerminal
    from .view import CorsDisplay

    analysis = Analysis()  # the pipeline and its outputs: report, ledger, terminal line
    flows = FlowIndex()  # recent flows by id: re-annotated when a later flow completes them
    fixer = CorsFixer()
    gate = CorsGate(analysis)  # cors_fail_on, cors_junit, cors_html
    observer = CorsObserver(analysis, flows, fixer, gate)
    # The audit before the observer: its `configure` says whether the pipeline audits before the
    # observer tells the worker, and its `done` finishes the probes before the worker is closed.
    # The gate last: its `done` reads what the observer's `done` got from the analysis worker.
    # The page probe before the observer too: it answers its deliveries in `request` and instruments
    # documents in `response` before the observer takes the flow.
    return [fixer, CorsAudit(analysis, flows, observer), CorsPageProbe(analysis, flows, observer), observer,
            CorsDisplay(flows), CorsCommands(analysis, flows, observer),
            CorsHtmlCommand(analysis, observer), CorsTerminal(analysis), gate]
