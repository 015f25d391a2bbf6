"""A Decision -> what mitmproxy shows on the flow: metadata["cors"], the comment and the marker.

The flow carries the Decision's `flow_line()`. Its verdict and the flow's record (a tuple of
references to what mitmproxy holds, mitm/snapshot.py) stay beside the flow (FlowIndex, weakly: they go
with the flow), so that the content view and `cors.explain` render the whole report line, checks and
fix included, only for the flow the user looks at. Not the Decision's exchange: rebuilt from the
record when asked, it does not outlive the flow's turn in the proxy (what lives on costs the garbage
collector on every later flow).
"""

from __future__ import annotations

import weakref

from mitmproxy import flow as mflow
from mitmproxy import http

from ..engine.verdict import verdict_from_plain
from ..pipeline import Decision
from .snapshot import exchange_of_record

# Markers whose glyphs common text fonts have (✖ ⚠ ⚙ are in DejaVu Sans, Debian's default): ⛔ and 🔧
# showed as empty boxes in mitmweb where no emoji font is installed.
MARK_BLOCKED = ":heavy_multiplication_x:"
MARK_WARNING = ":warning:"
MARK_PATCHED = ":gear:"
MARK_AUDIT = ":radioactive:"  # ☢: the audit found a vulnerability in the server's CORS policy
_OUR_MARKS = (MARK_BLOCKED, MARK_WARNING, MARK_PATCHED, MARK_AUDIT)
METADATA_KEY = "cors"


class FlowIndex:
    """The recent flows by id, for re-annotating a flow a later flow completes and for describing a
    paired flow, each with what its whole report line is rendered from. Weak: the proxy (or the
    user, in the console) decides how long flows live."""

    def __init__(self) -> None:
        # flow id -> [weak reference to the flow, its latest verdict, its record, is that an update].
        # One weak reference per flow, whose callback takes the entry out when the flow goes.
        self._by_id: dict[str, list] = {}

    def _gone(self, ref: weakref.KeyedRef) -> None:
        entry = self._by_id.get(ref.key)
        if entry is not None and entry[0] is ref:
            del self._by_id[ref.key]

    def _entry(self, f: http.HTTPFlow) -> list:
        entry = self._by_id.get(f.id)
        if entry is None or entry[0]() is not f:
            entry = self._by_id[f.id] = [weakref.KeyedRef(f, self._gone, f.id), None, None, False]
        return entry

    def add(self, f: http.HTTPFlow, record: tuple | None = None) -> None:
        """Know `f` (and the record it is judged on) before its Decision comes (from the worker)."""
        entry = self._entry(f)
        if record is not None:
            entry[2] = record

    def annotate_line(self, f: http.HTTPFlow, line: dict, plain_verdict: tuple, update: bool) -> None:
        """Annotate `f` with a Decision the analysis worker made: its flow line, and its verdict as
        plain data (made a Verdict again only if the view or cors.explain asks)."""
        entry = self._entry(f)
        entry[1] = plain_verdict
        entry[3] = update
        annotate(f, line)

    def annotate(self, f: http.HTTPFlow, d: Decision, record: tuple | None = None) -> None:
        """Annotate `f` with its (latest) Decision; `record`: the flow record it was decided on (an
        update of an earlier flow keeps the record kept with that flow)."""
        entry = self._entry(f)
        entry[1] = d.verdict
        if record is not None:
            entry[2] = record
        entry[3] = d.update
        annotate(f, d.flow_line())

    def line_of(self, f: mflow.Flow) -> dict | None:
        """The whole report line of `f`'s Decision (checks and fix rendered now), else what its
        metadata holds (a flow judged before this addon was loaded, or by another session)."""
        entry = self._by_id.get(f.id) if isinstance(f, http.HTTPFlow) else None
        if entry is not None and entry[0]() is f and entry[1] is not None and entry[2] is not None:
            v = entry[1]
            if type(v) is tuple:  # plain, from the worker (a Verdict is a tuple subclass)
                v = entry[1] = verdict_from_plain(v)
            return Decision(v, exchange_of_record(entry[2]), entry[3]).report_line()
        v = f.metadata.get(METADATA_KEY) if isinstance(f, http.HTTPFlow) else None
        return v if isinstance(v, dict) and "verdict" in v else None

    def get(self, flow_id: str) -> mflow.Flow | None:
        entry = self._by_id.get(flow_id)
        return entry[0]() if entry is not None else None

    def __contains__(self, flow_id: str) -> bool:
        return self.get(flow_id) is not None


def annotate(f: http.HTTPFlow, line: dict) -> None:
    """Store a Decision's line on its flow and set our comment and marker from it."""
    f.metadata[METADATA_KEY] = line
    kind, verdict = line["kind"], line["verdict"]
    audit = line.get("audit")
    if not (kind in ("preflight", "actual", "simple") or verdict == "blocked" and line["reason"] or line["warnings"]
            or line.get("not_in_capture") and line["origin"] is None or audit):
        return  # (a warning without a CORS reason: a block that is not CORS, ORB, the cache trap, LNA)
    patch = line.get("cors_patch")
    # A comment the user wrote stays; ours is replaced as the verdict evolves.
    ours = not f.comment or f.comment.startswith("CORS ")
    if patch and patch.get("patched"):
        if ours:
            f.comment = patched_summary(patch, line)
        f.marked = MARK_PATCHED
        return
    blocked = verdict == "blocked" and line["reason"]
    if ours:
        # What matters first: a block, else the audit's most severe finding (mitmweb cuts the column).
        f.comment = (line["summary"] if not audit else f"{line['summary']} | {audit[0]['summary']}" if blocked
                     else f"{audit[0]['summary']} | {line['summary']}")
    if blocked:
        f.marked = MARK_BLOCKED
    elif audit and any(a["kind"] == "vulnerability" for a in audit):
        f.marked = MARK_AUDIT
    elif (line["conditional"] or {}).get("evidence") or line["warnings"] or line.get("not_in_capture"):
        f.marked = MARK_WARNING
    elif f.marked in _OUR_MARKS:
        f.marked = ""


def patched_summary(patch: dict, line: dict) -> str:
    """`CORS patched by cors_fix: server: blocked, X; with fix: allowed; +Access-Control-Allow-Origin`"""
    server = (patch.get("server") or {}).get("text") or "not asked (answered by the proxy)"
    now = f"blocked, {line['reason']}" if line["verdict"] == "blocked" and line["reason"] else "allowed"
    signs = {"add": "+", "remove": "-", "set": "~"}
    changed = " ".join(f"{signs.get(c.get('action'), '~')}{c.get('header')}" for c in patch.get("changed") or [])
    if patch.get("status"):
        changed = f"status {patch['status'][0]}->{patch['status'][1]} " + changed
    return f"CORS patched by {patch.get('by')}: server: {server}; with fix: {now}; {changed}".rstrip()
