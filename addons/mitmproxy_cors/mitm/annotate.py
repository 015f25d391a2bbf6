"""Verdict -> what mitmproxy shows: comment, marker, metadata."""

from __future__ import annotations

from mitmproxy import http

from ..engine.verdict import Verdict
from .report import report_line

MARK_BLOCKED = ":no_entry:"
MARK_WARNING = ":warning:"
MARK_PATCHED = ":wrench:"
_OUR_MARKS = (MARK_BLOCKED, MARK_WARNING, MARK_PATCHED)
METADATA_KEY = "cors"
PATCH_KEY = "cors_patch"  # set by mitm/fixer.py when the proxy changed the server's response


def annotate(f: http.HTTPFlow, v: Verdict) -> dict:
    """Returns what it stored in `f.metadata["cors"]` (the verdict's report line)."""
    line = f.metadata[METADATA_KEY] = report_line(v)
    if not (v.cors_relevant or v.blocked):
        return line
    patch = f.metadata.get(PATCH_KEY)
    if patch and patch.get("patched"):
        if not f.comment or f.comment.startswith("CORS "):
            f.comment = patched_summary(patch, v)
        f.marked = MARK_PATCHED
        return line
    # A comment the user wrote stays; ours is replaced as the verdict evolves.
    if not f.comment or f.comment.startswith("CORS "):
        f.comment = v.summary()
    if v.blocked:
        f.marked = MARK_BLOCKED
    elif v.conditional or v.warnings:
        f.marked = MARK_WARNING
    elif f.marked in _OUR_MARKS:
        f.marked = ""
    return line


def patched_summary(patch: dict, v: Verdict) -> str:
    """`CORS patched by cors_fix: server: blocked, X; with fix: allowed; +Access-Control-Allow-Origin`"""
    server = (patch.get("server") or {}).get("text") or "not asked (answered by the proxy)"
    now = f"blocked, {v.reason}" if v.blocked else "allowed"
    signs = {"add": "+", "remove": "-", "set": "~"}
    changed = " ".join(f"{signs.get(c.get('action'), '~')}{c.get('header')}" for c in patch.get("changed") or [])
    if patch.get("status"):
        changed = f"status {patch['status'][0]}->{patch['status'][1]} " + changed
    return f"CORS patched by {patch.get('by')}: server: {server}; with fix: {now}; {changed}".rstrip()
