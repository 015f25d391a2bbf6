"""A CORS request as the sequence the browser runs, and the hop where it breaks:

    page ──▶ [preflight OPTIONS ──▶ server status ──▶ browser check] ──▶ actual request ──▶ server
         status ──▶ browser check

Built from report lines (pipeline.Decision.report_line, or the digest a flow carries): the flow's own
and, when known, its paired flow's (preflight <-> actual request). Rendered as text by explain.py (the
content view, `cors.explain`) and as a picture by html_report.py. Nothing is judged here: each hop's
state is the verdict the pipeline gave that flow. Pure: no mitmproxy.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKED_KINDS = ("preflight", "actual", "simple")
# The order in which a hop is "where it breaks": a CORS failure first, then the credentials case, then
# what the capture cannot tell.
BREAK_ORDER = ("fail", "cond", "unknown")


@dataclass(frozen=True, slots=True)
class Hop:
    role: str  # "preflight" | "actual" | "request" (a CORS request without preflight)
    method: str
    url: str
    sent: bool  # False: the browser never sent it
    status: int | None  # the server's status; None: no response (or none known)
    state: str  # pass | fail | cond (fails if the page sends credentials) | unknown | skip (never sent) | pending
    outcome: str  # the browser's verdict on this hop, short: a reason, "allowed", "never sent: ..."
    flow_id: str | None = None
    this: bool = False  # the flow the sequence is drawn for


@dataclass(frozen=True, slots=True)
class Sequence:
    page: str
    server: str
    hops: tuple[Hop, ...]
    broken: int | None  # index of the hop where it breaks; None: nothing breaks
    ending: str  # what the page gets, in one sentence


def _judged(line: dict) -> tuple[str, str]:
    """(state, outcome) of the flow a report line describes."""
    if line.get("not_in_capture"):
        return "unknown", "no response in the capture"
    if line.get("verdict") == "blocked":
        if line.get("reason"):
            return "fail", line["reason"]
        return "fail", "no response reached the browser"
    cond = line.get("conditional")
    if cond and cond.get("evidence"):  # flagged as the front ends flag it (Verdict.credentials_risk)
        return "cond", f"{cond.get('reason')} with credentials"
    return "pass", "allowed"


def _hop(role: str, line: dict, this: bool = False) -> Hop:
    state, outcome = _judged(line)
    return Hop(role, line.get("method") or "?", line.get("url") or "", True, line.get("status"), state, outcome,
               line.get("flow_id"), this)


def _target(url: str) -> str:
    # scheme://host[:port] without importing the engine's parser for a label
    head, sep, rest = url.partition("://")
    return head + sep + rest.split("/", 1)[0].split("?", 1)[0] if sep else url


def sequence_of(line: dict, paired: dict | None = None, asked_method: str | None = None) -> Sequence | None:
    """The sequence of a CORS flow (None for other kinds). `line`: its report line (or digest);
    `paired`: its paired flow's, when still known; `asked_method`: a preflight's
    Access-Control-Request-Method (the method of the actual request it asks for)."""
    kind = line.get("kind")
    if kind not in CHECKED_KINDS:
        return None
    url = line.get("url") or ""
    pid = line.get("paired_flow_id")
    if kind == "simple":
        hops = [_hop("request", line, this=True)]
    elif kind == "preflight":
        pre = _hop("preflight", line, this=True)
        if paired is not None:
            act = _hop("actual", paired)
        elif pre.state == "fail":  # the browser stops at a failed preflight
            act = Hop("actual", asked_method or "?", url, False, None, "skip", "never sent: the preflight failed")
        elif pre.state == "unknown":
            act = Hop("actual", asked_method or "?", url, False, None, "unknown", "not in the capture")
        else:
            act = Hop("actual", asked_method or "?", url, False, None, "pending",
                      f"flow {pid[:8]}, no longer kept" if pid else "not seen (yet)")
        hops = [pre, act]
    else:  # an actual request: its preflight passed in the browser, seen or not, or it was never sent
        cache = line.get("preflight_cache") or {}
        if paired is not None:
            pre = _hop("preflight", paired)
            if cache.get("state") == "hit":
                pre = Hop(pre.role, pre.method, pre.url, pre.sent, pre.status, pre.state,
                          f"{pre.outcome}, cached {cache.get('age')} s earlier", pre.flow_id)
        elif line.get("not_in_capture"):
            pre = Hop("preflight", "OPTIONS", url, False, None, "unknown", "not in the capture (a HAR leaves it out)")
        elif pid:
            pre = Hop("preflight", "OPTIONS", url, True, None, "pass", f"allowed (flow {pid[:8]}, no longer kept)", pid)
        else:
            pre = Hop("preflight", "OPTIONS", url, False, None, "pass",
                      "not seen: the browser's cached one")
        hops = [pre, _hop("actual", line, this=True)]
    broken = next((i for state in BREAK_ORDER for i, h in enumerate(hops) if h.state == state), None)
    return Sequence(line.get("origin") or "null", _target(url), tuple(hops), broken, _ending(hops, broken))


def _ending(hops: list[Hop], broken: int | None) -> str:
    if broken is None:
        if any(h.state == "pending" for h in hops):
            return "the preflight passed; the actual request has not been seen"
        return "the browser lets the page read the response"
    h = hops[broken]
    where = f"breaks at {broken + 1}"
    if h.state == "cond":
        return f"{where} only if the page sends credentials; allowed as sent"
    if h.state == "unknown":
        return f"{where}?: the capture holds no response, so it cannot say where or why"
    if h.status is None:
        return f"{where}: no response reached the browser; the page gets a network error"
    if h.role == "preflight":
        return f"{where}: the preflight ({h.status}) failed; the actual request is never sent"
    return f"{where}: the server answered {h.status}; the browser hid it from the page"


STYLE = {"pass": "pass", "fail": "fail", "cond": "cond", "unknown": "warn", "skip": "skip", "pending": "dim"}
MARKS = {"pass": "✓", "fail": "✗", "cond": "~", "unknown": "?", "skip": "-", "pending": "…"}
ASCII_MARKS = {"pass": "+", "fail": "X", "cond": "~", "unknown": "?", "skip": "-", "pending": "."}


def text_lines(seq: Sequence, ascii: bool = False) -> list[tuple[str, str]]:
    """A few (style, text) lines (explain.py's styles), under 80 columns for every reason's name; the
    flow drawn for is marked ▸. `ascii`: for terminals and fonts without ✓ ✗ ▸ and box drawing."""
    marks = ASCII_MARKS if ascii else MARKS
    arrow, never, here = ("->", "..", ">") if ascii else ("─▶", "··", "▸")
    out = [("text", f"  page {seq.page}  {arrow}  server {seq.server}")]
    for i, h in enumerate(seq.hops):
        if h.sent:
            status = str(h.status) if h.status is not None else ("?" if h.state == "unknown" else "none")
            step = f"{arrow} {status:<4}"
        else:
            step = f"{never}     "
        lead = here if h.this else " "
        out.append((STYLE[h.state], f" {lead}{i + 1} {h.role:<9} {h.method[:7]:<7} {step} {marks[h.state]} {h.outcome}"))
    mark = marks[seq.hops[seq.broken].state] if seq.broken is not None else marks["pass"]
    out.append((STYLE[seq.hops[seq.broken].state] if seq.broken is not None else "pass", f"  {mark} {seq.ending}"))
    return out
