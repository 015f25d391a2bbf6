"""The whole CORS story of one flow, as styled lines every front end can render.

Input is the Decision's report line (pipeline.Decision.report_line, handed over by
annotate.FlowIndex.line_of; else what `flow.metadata["cors"]` holds): the verdict, and the checks the
browser made with what was needed and what was seen. Paired flows are described through a lookup function. Nothing is judged here:
this module lays out what the pipeline decided.

A line is `(style, text)`; styles: title-blocked, title-allowed, title-warn, title-na, head, text,
pass, fail, cond, skip, info, fix, warn, dim. `plain()` drops the styles.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from mitmproxy import flow as mflow
from mitmproxy import http

from ..engine.origin import origin_of_url
from ..engine.reasons import REASONS
from .annotate import METADATA_KEY
from .sequence import sequence_of, text_lines

Line = tuple[str, str]
FindFlow = Callable[[str], "mflow.Flow | None"]

MARK = {"pass": "✓", "fail": "✗", "cond": "~", "skip": "-", "info": "·"}
KIND_TEXT = {
    "preflight": "CORS preflight (OPTIONS sent by the browser before the actual request)",
    "actual": "actual request of a preflighted CORS request",
    "simple": "CORS request without preflight (safelisted method and headers)",
    "no-cors": "no-cors request (opaque response, never blocked by CORS)",
    "same-origin": "same-origin request (CORS does not apply)",
    "not-cors": "not a CORS request",
}


def verdict_of(f: mflow.Flow) -> dict | None:
    v = f.metadata.get(METADATA_KEY) if isinstance(f, http.HTTPFlow) else None
    return v if isinstance(v, dict) and "verdict" in v else None


def is_cors(v: dict | None) -> bool:
    """Worth a verdict in the UI: a CORS-checked kind, or blocked with a reason."""
    return bool(v) and (v.get("kind") in ("preflight", "actual", "simple") or bool(v.get("reason")))


def title(v: dict) -> Line:
    if v.get("not_in_capture"):
        return ("title-warn", "CORS UNKNOWN: the capture holds this request without a response")
    if v["verdict"] == "blocked" and not v.get("reason") and v.get("warnings") and v.get("kind") not in (
            "preflight", "actual", "simple"):
        return ("title-warn", "FAILED, NOT CORS: " + (v.get("cause") or v["warnings"][0]))
    if v["verdict"] == "blocked" and (v.get("reason") or v.get("kind") in ("preflight", "actual", "simple")):
        text = "CORS BLOCKED"
        if v.get("reason"):
            text += f": {v['reason']}"
            if v.get("failed_parameter"):
                text += f" (failedParameter '{v['failed_parameter']}')"
        else:
            text += " (no response reached the browser)"
        return ("title-blocked", text)
    if v.get("kind") in ("preflight", "actual", "simple"):
        if (v.get("conditional") or {}).get("evidence"):
            return ("title-warn", f"CORS allowed, but blocked with {v['conditional']['reason']} if the page "
                                  "sends credentials")
        if v.get("warnings"):
            return ("title-warn", "CORS allowed, with warnings")
        return ("title-allowed", "CORS allowed")
    if v.get("warnings"):  # the browser's cache, Local Network Access
        return ("title-warn", f"CORS does not apply: {v.get('kind')}, with warnings")
    return ("title-na", f"CORS does not apply: {v.get('kind')}")


def _short(flow_id: str | None) -> str:
    return (flow_id or "")[:8]


def describe_flow(f: mflow.Flow | None, flow_id: str | None) -> str:
    """`OPTIONS http://x/y -> 204` for a paired flow, or a note that it is gone."""
    if f is None or not isinstance(f, http.HTTPFlow):
        return f"flow {_short(flow_id)} (no longer available: deleted, or mitmdump, which keeps no flows)"
    status = str(f.response.status_code) if f.response else ("error: " + f.error.msg if f.error else "in flight")
    text = f"{f.request.method} {f.request.pretty_url} -> {status}  [flow {_short(f.id)}]"
    v = verdict_of(f)
    if v:
        text += f"  {v.get('summary', '')}"
    return text


def _check_lines(f: http.HTTPFlow, v: dict) -> list[Line]:
    status = v.get("status")
    if status is None:
        status_text = "no response from the server: mitmproxy answered 502 Bad Gateway itself"
    else:
        reason = f.response.reason if f.response is not None and f.response.status_code == status else ""
        status_text = f"{status} {reason}".strip()
    label = "preflight" if v["kind"] == "preflight" else "actual"
    out: list[Line] = [("head", f"Checks on the {label} response ({status_text})")]
    for c in v["checks"]:
        state = c["state"]
        out.append((state if state in MARK else "info", f"  {MARK.get(state, '·')} {c['check']}: {c['result']}"))
        if c.get("needed") is not None:
            out.append(("text", f"      needed: {c['needed']}"))
        if c.get("seen") is not None:
            out.append(("text", f"      seen:   {c['seen']}"))
        out.extend(("text", f"      {d}") for d in c.get("details") or ())
    return out


def _request_lines(f: http.HTTPFlow, v: dict) -> list[Line]:
    req = f.request
    out: list[Line] = [("head", "Request")]
    target = origin_of_url(req.url)
    origin = v.get("origin")
    out.append(("text", f"  page origin:  {origin if origin is not None else '(no Origin header)'}"))
    out.append(("text", f"  target:       {target.serialize() if target else '?'}  ({req.method} {req.pretty_url})"))
    kind = v.get("kind", "")
    out.append(("text", f"  kind:         {KIND_TEXT.get(kind, kind)}"))
    out.append(("text", f"  mode:         {v.get('mode') or '?'}  (why: {v.get('mode_source') or '?'})"))
    if kind in ("preflight", "actual", "simple"):
        out.append(("text", f"  credentials:  {v.get('credentials')}  (why: {v.get('credentials_source') or '?'})"))
    if kind == "preflight":
        out.append(("text", f"  asks for:     method {req.headers.get('Access-Control-Request-Method')!s}, "
                            f"headers {req.headers.get('Access-Control-Request-Headers') or '(none)'}"))
    elif kind in ("actual", "simple") and "preflight_needed_for" in v:
        why = v["preflight_needed_for"]
        out.append(("text", "  needs a preflight: " + ("yes, for " + " and ".join(why) if why
                                                        else "no (safelisted method and headers)")))
    return out


def _pair_lines(f: http.HTTPFlow, v: dict, find: FindFlow) -> list[Line]:
    kind = v.get("kind")
    out: list[Line] = []
    pid = v.get("paired_flow_id")
    cache = v.get("preflight_cache") or {}
    if kind == "preflight":
        out.append(("head", "Paired flow"))
        if pid:
            out.append(("text", "  actual request: " + describe_flow(find(pid), pid)))
        elif v["verdict"] == "blocked" and v.get("reason"):
            out.append(("text", "  actual request: none, the browser never sends it after a failed preflight"))
        else:
            out.append(("text", "  actual request: not seen (yet): the page may not have sent it, or it failed "
                                "in the browser"))
    elif kind == "actual":
        out.append(("head", "Paired flow"))
        if pid and cache.get("state") == "hit":
            out.append(("text", f"  preflight (cached {cache.get('age')} s earlier): " + describe_flow(find(pid), pid)))
        elif pid:
            out.append(("text", "  preflight: " + describe_flow(find(pid), pid)))
        elif v.get("not_in_capture"):
            out.append(("text", "  preflight: none in the capture (a browser's HAR leaves preflights out)"))
        else:
            out.append(("text", "  preflight: none seen by the proxy"))
    if v.get("redirected_from"):
        rid = v["redirected_from"]
        out.append(("text", "  redirected from: " + describe_flow(find(rid), rid)))
    return out


_CACHE_TEXT = {
    "preflighted": "a preflight was sent for this request just before it",
    "hit": "no preflight on the wire: the browser reused a cached one",
    "miss": "the proxy saw no preflight and has no cached one: the browser used a preflight cached before "
            "the proxy saw it, or the unsafe headers were guessed wrongly from the wire",
    "expired": "the preflight the proxy saw has expired (Access-Control-Max-Age): the browser should have sent "
               "a new one, or cached it longer",
    "insufficient": "the cached preflight does not cover this method or these headers: the browser should "
                    "have sent a new one",
}


def _cache_lines(v: dict) -> list[Line]:
    kind = v.get("kind")
    if v.get("not_in_capture"):
        return []
    if kind == "actual":
        cache = v.get("preflight_cache") or {}
        state = cache.get("state")
        lookup = cache.get("lookup")
        text = _CACHE_TEXT.get(lookup if state == "unseen" else state, state or "unknown")
        return [("head", "Preflight cache"), ("text", f"  {state}: {text}")]
    if kind == "simple":
        return [("head", "Preflight cache"), ("text", "  not used: this request needs no preflight")]
    return []


def _sequence_lines(f: http.HTTPFlow, v: dict, find: FindFlow) -> list[Line]:
    """The story as the browser ran it (mitm/sequence.py), with its paired flow when still known."""
    pid = v.get("paired_flow_id")
    other = find(pid) if pid else None
    seq = sequence_of(v, verdict_of(other) if other is not None else None,
                      f.request.headers.get("Access-Control-Request-Method"))
    if seq is None:
        return []
    return [("head", "Sequence (▸ this flow)")] + text_lines(seq)


def _fix_lines(v: dict) -> list[Line]:
    out: list[Line] = []
    steps = v.get("fix") or []
    reason = v.get("reason")
    if v["verdict"] == "blocked" and (steps or reason):
        out.append(("head", "Fix (on the server)"))
        by_response: dict[str, list[dict]] = {}
        for s in steps:
            by_response.setdefault(s.get("response") or "", []).append(s)
        for response, group in by_response.items():
            label = {"preflight": "the preflight (OPTIONS) response", "actual": "the actual response",
                     "redirect": "the redirect response"}.get(response, response)
            out.append(("text", f"  on {label}:"))
            for s in group:
                why = s.get("why") or ""
                if not s.get("required", True):
                    why = "recommended: " + why
                out.append(("fix", f"    {s.get('text')}" + (f"   ({why})" if why else "")))
        entry = REASONS.get(reason) if reason else None
        if entry is not None:
            out.append(("text", f"  in short: {entry.fix}"))
    cond = v.get("conditional")
    if cond and cond.get("fix"):
        out.append(("head", "Fix if the page sends credentials"))
        out.extend(("fix", f"    {t}") for t in cond["fix"])
    return out


def _audit_lines(findings: list[dict] | None) -> list[Line]:
    """The audit's findings on this flow's endpoint (audit/): is the server's CORS policy safe?"""
    if not findings:
        return []
    out: list[Line] = [("head", "Audit of the server's CORS policy (cors_audit)")]
    for a in findings:
        style = "fail" if a.get("kind") == "vulnerability" else "warn"
        out.append((style, f"  {a.get('summary', '')}"
                           + (" [crafted origins sent by the audit]" if a.get("source") == "active" else "")))
        if a.get("fix"):
            out.append(("fix", f"    fix: {a['fix']}"))
    out.append(("text", "  cors.audit @focus lists the evidence and the framework configuration"))
    return out


def story(f: mflow.Flow, find: FindFlow = lambda _id: None, line: dict | None = None) -> list[Line]:
    """Every line of the analysis of one flow; `line`: its whole report line (else its metadata's)."""
    if not isinstance(f, http.HTTPFlow):
        return [("title-na", f"CORS does not apply to {f.type} flows")]
    v = line if line is not None else verdict_of(f)
    if v is None:
        if f.response is None and f.error is None:
            return [("title-na", "CORS: no verdict yet, the response has not arrived")]
        return [("title-na", "CORS: not analysed"),
                ("text", "This flow has no verdict from mitmproxy-cors: it was loaded without addons (the "
                         "console's L) or before the addon ran."),
                ("text", "Run the command  cors.analyze @all  to analyse every flow in order (preflights "
                         "before their actual requests).")]
    out: list[Line] = [title(v)]
    if v.get("reason"):
        out.append(("text", f"  Chromium (DevTools): {v['reason']}"
                            + (f", failedParameter '{v['failed_parameter']}'" if v.get("failed_parameter") else "")))
        out.append(("text", f"  Firefox:             {v.get('firefox_reason') or '(no equivalent)'}"))
    if v.get("webkit_message"):  # Safari's console has no reason names, only this sentence
        out.append(("text", f"  Safari (WebKit):     {v['webkit_message']}"))
    if v.get("message"):
        out.append(("text", f"  {v['message']}"))
    if v.get("cause") and v["cause"] not in (v.get("message") or ""):
        out.append(("warn", f"  underneath: {v['cause']}"))
    cond = v.get("conditional")
    if cond and cond.get("evidence"):
        out.append(("warn", f"  {cond.get('message')}"))
        out.append(("warn", f"  What suggests the page sends credentials: {cond['evidence']}."))
    elif cond:
        out.append(("text", f"  {cond.get('message')} Nothing in this session suggests the page sends "
                            "credentials (no Access-Control-Allow-Credentials: true, no cookies set or sent for "
                            "this host), so the flow is not flagged."))
    if cond and cond.get("webkit_message") and cond["webkit_message"] != v.get("webkit_message"):
        out.append(("text", f"  Safari (WebKit) with credentials: {cond['webkit_message']}"))
    if cond:
        out.append(("text", "  The page probe settles it: --set cors_probe='~d <the page's host>' records the "
                            "credentials mode the page used (docs/page-probe.md)."))
    fix = _fix_lines(v)  # what to change comes right after the verdict; the evidence follows
    if fix:
        out.append(("text", ""))
        out.extend(fix)
    audit = _audit_lines(v.get("audit") or (verdict_of(f) or {}).get("audit"))
    if audit:
        out.append(("text", ""))
        out.extend(audit)
    seq = _sequence_lines(f, v, find)  # where it breaks, before the details of each hop
    if seq:
        out.append(("text", ""))
        out.extend(seq)
    out.append(("text", ""))
    out.extend(_request_lines(f, v))
    if v.get("checks"):
        out.append(("text", ""))
        out.extend(_check_lines(f, v))
    pairs = _pair_lines(f, v, find)
    if pairs:
        out.append(("text", ""))
        out.extend(pairs)
    cache = _cache_lines(v)
    if cache:
        out.append(("text", ""))
        out.extend(cache)
    extra = [("warn", f"  warning: {w}") for w in v.get("warnings") or []]
    extra += [("text", f"  note: {n}") for n in v.get("notes") or []]
    if v.get("firefox_note"):
        extra.append(("text", f"  Firefox: {v['firefox_note']}"))
    if v.get("webkit_note"):
        extra.append(("text", f"  Safari: {v['webkit_note']}"))
    if extra:
        out.append(("text", ""))
        out.append(("head", "Notes"))
        out.extend(extra)
    return out


def wrap(lines: list[Line], width: int = 100) -> list[Line]:
    """Long lines folded at `width`, continuation lines indented under their start."""
    out: list[Line] = []
    for style, text in lines:
        if len(text) <= width:
            out.append((style, text))
            continue
        indent = " " * (len(text) - len(text.lstrip(" ")) + 4)
        for i, part in enumerate(textwrap.wrap(text, width, subsequent_indent=indent,
                                               break_long_words=True, break_on_hyphens=False)):
            out.append((style, part))
    return out


def plain(lines: list[Line]) -> list[str]:
    return [text for _style, text in lines]


def text(f: mflow.Flow, find: FindFlow = lambda _id: None, width: int | None = None,
         line: dict | None = None) -> str:
    lines = story(f, find, line)
    return "\n".join(plain(wrap(lines, width) if width else lines))
