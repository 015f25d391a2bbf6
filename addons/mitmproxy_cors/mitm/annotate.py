"""A Decision -> what mitmproxy shows on the flow: metadata["cors"], the comment and the marker."""

from __future__ import annotations

import weakref

from mitmproxy import flow as mflow
from mitmproxy import http

MARK_BLOCKED = ":no_entry:"
MARK_WARNING = ":warning:"
MARK_PATCHED = ":wrench:"
_OUR_MARKS = (MARK_BLOCKED, MARK_WARNING, MARK_PATCHED)
METADATA_KEY = "cors"


class FlowIndex:
    """The recent flows by id, for re-annotating a flow a later flow completes and for describing a
    paired flow. Weak: the proxy (or the user, in the console) decides how long flows live."""

    def __init__(self) -> None:
        self._flows: weakref.WeakValueDictionary[str, http.HTTPFlow] = weakref.WeakValueDictionary()

    def add(self, f: http.HTTPFlow) -> None:
        self._flows[f.id] = f

    def get(self, flow_id: str) -> mflow.Flow | None:
        return self._flows.get(flow_id)

    def __contains__(self, flow_id: str) -> bool:
        return flow_id in self._flows


def annotate(f: http.HTTPFlow, line: dict) -> None:
    """Store a Decision's report line on its flow and set our comment and marker from it."""
    f.metadata[METADATA_KEY] = line
    kind, verdict = line["kind"], line["verdict"]
    if not (kind in ("preflight", "actual", "simple") or verdict == "blocked" and line["reason"]):
        return
    patch = line.get("cors_patch")
    # A comment the user wrote stays; ours is replaced as the verdict evolves.
    ours = not f.comment or f.comment.startswith("CORS ")
    if patch and patch.get("patched"):
        if ours:
            f.comment = patched_summary(patch, line)
        f.marked = MARK_PATCHED
        return
    if ours:
        f.comment = line["summary"]
    if verdict == "blocked" and line["reason"]:
        f.marked = MARK_BLOCKED
    elif line["conditional"] or line["warnings"]:
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
