"""Verdict -> what mitmproxy shows: comment, marker, metadata."""

from __future__ import annotations

from mitmproxy import http

from ..engine.verdict import Verdict
from .report import report_line

MARK_BLOCKED = ":no_entry:"
MARK_WARNING = ":warning:"
_OUR_MARKS = (MARK_BLOCKED, MARK_WARNING)
METADATA_KEY = "cors"


def annotate(f: http.HTTPFlow, v: Verdict) -> None:
    f.metadata[METADATA_KEY] = report_line(v)
    if not (v.cors_relevant or v.blocked):
        return
    # A comment the user wrote stays; ours is replaced as the verdict evolves.
    if not f.comment or f.comment.startswith("CORS "):
        f.comment = v.summary()
    if v.blocked:
        f.marked = MARK_BLOCKED
    elif v.conditional or v.warnings:
        f.marked = MARK_WARNING
    elif f.marked in _OUR_MARKS:
        f.marked = ""
