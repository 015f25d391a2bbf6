"""Commands: `cors.explain`, `cors.report`, `cors.analyze`, `cors.clear`.

Names are lowercase with dots only, so mitmweb's command bar can run them (its route is
`/commands/[a-z.]+`). They return lists of lines (the console shows one row per line, mitmweb a
JSON list) or one string, and never an empty list (the console's data viewer cannot show one).
Flow arguments are resolved by the View addon (console, mitmweb: `@focus`, `@marked`, `@all`,
filters); mitmdump has no View, so there other addons must pass flows natively
(`ctx.master.commands.call("cors.explain", [flow])`).
"""

from __future__ import annotations

from collections.abc import Sequence

from mitmproxy import command, ctx, exceptions, hooks, http
from mitmproxy import flow as mflow

from ..pipeline import Pipeline
from . import explain
from .analysis import Analysis
from .ledger import report_lines
from .annotate import FlowIndex
from .snapshot import exchange_of_record, record_of
from .view import flow_finder, wrap_width

EXPLAIN_LIMIT = 50


def _http_flows(name: str, flows: Sequence[mflow.Flow]) -> tuple[list[http.HTTPFlow], list[str]]:
    """The HTTP flows among `flows`, and a note about the others; errors when nothing is left."""
    if not flows:
        raise exceptions.CommandError(
            f"{name}: no flows given. Select one (@focus in the console), or pass @marked, @all or a "
            f"filter such as \"~marker heavy_multiplication_x\".")
    good = [f for f in flows if isinstance(f, http.HTTPFlow)]
    others = sorted({f.type for f in flows if not isinstance(f, http.HTTPFlow)})
    if not good:
        raise exceptions.CommandError(
            f"{name}: CORS applies to HTTP flows only; the {len(flows)} flow(s) given are "
            f"{', '.join(others)}.")
    notes = []
    if others:
        notes.append(f"({len(flows) - len(good)} {', '.join(others)} flow(s) skipped: CORS applies to HTTP only)")
    return good, notes


class CorsCommands:
    name = "cors-commands"

    def __init__(self, analysis: Analysis, flows: FlowIndex, observer) -> None:
        self.analysis = analysis
        self.flows = flows
        self.find = flow_finder(flows)
        self.observer = observer  # mitm/observer.py: its analysis worker, if one runs, is told of cors.clear

    @command.command("cors.explain")
    def explain(self, flows: Sequence[mflow.Flow]) -> Sequence[str]:
        """The whole CORS analysis of each flow: origins, inferred mode and credentials, every
        check with the value needed and seen, the paired flow, the preflight cache, the fix."""
        good, notes = _http_flows("cors.explain", flows)
        out: list[str] = list(notes)
        for i, f in enumerate(good[:EXPLAIN_LIMIT]):
            if i or notes:
                out.append("")
                out.append("-" * 60)
            out.append(f"{f.request.method} {f.request.pretty_url}  [flow {f.id[:8]}]")
            lines = explain.story(f, self.find, self.flows.line_of(f))
            width = wrap_width(command=True)
            out.extend(explain.plain(explain.wrap(lines, width) if width else lines))
        if len(good) > EXPLAIN_LIMIT:
            out.append("")
            out.append(f"... {len(good) - EXPLAIN_LIMIT} more flows not shown: narrow the selection "
                       f"(e.g. \"~marker heavy_multiplication_x\").")
        return out

    @command.command("cors.report")
    def report(self) -> Sequence[str]:
        """Blocked CORS flows of this session, grouped by page origin, target and reason, with counts."""
        worker = self.observer.worker
        if worker is not None:  # mitmdump's analysis worker holds the session's verdicts: ask it
            lines = worker.ask(("report",))
            if lines is None:
                raise exceptions.CommandError("cors.report: the analysis worker did not answer")
            return lines
        return report_lines(self.analysis.ledger)

    @command.command("cors.analyze")
    def analyze(self, flows: Sequence[mflow.Flow]) -> Sequence[str]:
        """Run the CORS engine over flows that no addon has seen (e.g. loaded with the console's L),
        in the order they were sent, and annotate them (marker, comment, metadata)."""
        good, notes = _http_flows("cors.analyze", flows)
        done = [f for f in good if f.response is not None or f.error is not None]
        waiting = len(good) - len(done)
        pipeline = Pipeline()  # a session of its own: these flows, in the order they were sent
        by_id = {f.id: f for f in done}
        changed: dict[str, http.HTTPFlow] = {}
        for f in sorted(done, key=_sent_at):
            record = record_of(f)
            result = pipeline.decide(exchange_of_record(record))
            for d in (result.decision, *result.updates):
                other = by_id.get(d.flow_id)
                if other is not None:
                    self.flows.annotate(other, d, record if other is f else None)
                    changed[other.id] = other
                self.analysis.ledger.ingest(d.verdict, d.patch)
            if result.new_findings:
                self.analysis.ledger.add_findings(result.new_findings)
        if changed:
            ctx.master.addons.trigger(hooks.UpdateHook(list(changed.values())))
        verdicts = [explain.verdict_of(f) for f in done]
        cors = [v for v in verdicts if explain.is_cors(v)]
        blocked = [v for v in cors if v["verdict"] == "blocked"]
        out = [f"cors.analyze: {len(done)} flow(s) analysed in order: {len(cors)} CORS, "
               f"{len(blocked)} blocked, {len(cors) - len(blocked)} allowed."]
        out.extend(notes)
        if waiting:
            out.append(f"({waiting} flow(s) without a response or error skipped)")
        for v in blocked[:EXPLAIN_LIMIT]:
            out.append(f"  {v['method']} {v['url']}: {v.get('summary', '')}")
        if len(blocked) > EXPLAIN_LIMIT:
            out.append(f"  ... and {len(blocked) - EXPLAIN_LIMIT} more (filter: ~marker heavy_multiplication_x)")
        return out

    @command.command("cors.clear")
    def clear(self) -> str:
        """Forget pending preflights, the preflight cache and the report counts (flows keep their
        marker, comment and metadata)."""
        sizes = self.analysis.clear()
        if self.observer.worker is not None:
            self.observer.worker.send(("clear",))
        n = sizes["verdicts"]
        return (f"cors.clear: forgot {n} verdict(s) of the report, {sizes.get('pending_preflights', 0)} pending "
                f"preflight(s), {sizes.get('preflight_cache', 0)} cached preflight(s) and "
                f"{sizes.get('redirect_hops', 0)} redirect hop(s).")


def _sent_at(f: http.HTTPFlow) -> float:
    return f.request.timestamp_start or f.timestamp_created or 0.0
