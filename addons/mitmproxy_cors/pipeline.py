"""The one place where an exchange becomes a decision.

    Exchange ──Pipeline.decide──▶ Result(decision, updates)

`Pipeline.decide(exchange)` takes one finished exchange, in the order the proxy saw them
finish, and returns the `Decision` for it plus new Decisions for earlier flows whose story it
completes (a preflight, once its actual request arrives). A Decision is a frozen value:

- `verdict`: what the browser decides (engine/tracker.py, the browser model);
- `checks()`: every check the browser made, with what was needed and what was seen (engine/checks.py);
- `fix()`: for a blocked flow, the server configuration that makes it pass, judged on the server's own
  response (server/fix_plan.py, then server/snippets.py for eight frameworks);
- `findings`: what the audit (audit/) found wrong with the server's CORS policy on this flow's
  endpoint, passive or active (a Result's `new_findings` are those found for the first time);
- `patch`: what the proxy changed in the response (`cors_fix`, `cors_policy`, `--modify-headers`),
  carried in `exchange.extra["cors_patch"]`,
  as mitm/fixer.py recorded it, with no cookie or credential values;
- `report_line()`: the JSON object every front end renders (docs/report-schema.md); `flow_line()` is
  the part a flow carries in the proxy (the rest is rendered when the view or `cors.explain` asks).

Every output (the flow's comment and marker, the content view, `cors.explain`, mitmdump's line and
summary, the JSON Lines report, `cors.fix`) is a rendering of a Decision; none of them judges again.
Whoever runs the pipeline (the proxy, the analysis worker, `cors.analyze` on loaded flows) gets the
same Decisions for the same exchanges.

Pure: no mitmproxy, no I/O, no clock. The only state is the tracker's: a waiting preflight keeps its
exchange there, and the tracker hands it back with the updated verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from .audit.finding import Finding
from .audit.passive import PassiveAudit
from .engine.checks import Check, checks_of, preflight_needed_for
from .engine.long_lived import with_delivery
from .engine.memo import memoized
from .engine.model import Exchange, Headers
from .engine.request_mode import classify
from .engine.tracker import Tracker
from .engine.verdict import Verdict
from .server.fix_plan import Requirement, plan
from .server.snippets import Needs, aggregate, policy_for, render_all

CHECKED_KINDS = ("preflight", "actual", "simple")  # the kinds the browser runs CORS checks on
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
REDACTED = "(redacted)"
NOT_IN_CAPTURE_FIX = ("the capture holds no response to judge (a browser's HAR): record the page through the "
                      "proxy to get the browser's reason and the server's fix")


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything the addon says about one flow (see the module docstring)."""

    verdict: Verdict
    exchange: Exchange
    update: bool = False  # supersedes an earlier Decision for the same flow
    findings: tuple[Finding, ...] = ()

    @property
    def patch(self) -> dict | None:
        """What the proxy changed in the response (mitm/fixer.py), secrets redacted."""
        return patch_of(self.exchange)

    @property
    def flow_id(self) -> str:
        return self.verdict.flow_id

    # What follows is derived from the fields above when a front end asks for it: mitmdump's worker
    # without a report needs neither, and the fix costs more than the verdict.

    def checks(self) -> tuple[Check, ...]:
        """The checks the browser made."""
        return checks_of(self.exchange, self.verdict)

    def fix(self) -> dict | None:
        """`cors_fix`: {requirement, configs, not_fixable} for a flow the browser blocks, the proxy
        patched, or no response reached; None otherwise."""
        return fix_for(self.exchange, self.verdict, self.patch)

    def flow_line(self) -> dict:
        """What the flow carries (`flow.metadata["cors"]`): a digest of the report line, the fields of
        the verdict a filter or a glance at the console's Detail tab needs (docs/report-schema.md). The
        whole line (messages, fix steps, checks, the server configuration) costs more than the verdict
        and made the Detail tab forty lines long: the content view and `cors.explain` render it from
        the Decision when asked (mitm/annotate.py keeps what it takes beside the flow)."""
        v = self.verdict
        cond = v.conditional
        line = {
            "verdict": v.verdict,
            "reason": v.reason,
            "failed_parameter": v.failed_parameter,
            "kind": v.kind,
            "summary": v.summary(),
            "credentials": v.credentials,
            "conditional": ({"reason": cond["reason"], "failed_parameter": cond["failed_parameter"],
                             "evidence": cond["evidence"]} if cond else None),
            "warnings": list(v.warnings),
            "paired_flow_id": v.paired_flow_id,
            "redirected_from": v.redirected_from,
            "method": v.method,
            "url": v.url,
            "origin": v.origin,
            "flow_id": v.flow_id,
            "update": self.update,
        }
        if self.patch is not None:
            line["cors_patch"] = self.patch
        if v.kind in CHECKED_KINDS:
            resp = self.exchange.response
            line["status"] = resp.status if resp is not None else None
        if v.not_in_capture:
            line["not_in_capture"] = True
        if self.findings:
            line["audit"] = [f.digest() for f in self.findings]
        return line

    def report_line(self) -> dict:
        """The whole line (docs/report-schema.md): `flow_line()` and what is derived from the exchange."""
        v = self.verdict
        line = self._verdict_fields()
        fix = self.fix()
        if fix is not None:
            line["cors_fix"] = fix
        if self.patch is not None:
            line["cors_patch"] = self.patch
        if v.kind in CHECKED_KINDS:
            resp = self.exchange.response
            line["status"] = resp.status if resp is not None else None
            line["checks"] = [c.to_dict() for c in self.checks()]
            if v.kind != "preflight":
                line["preflight_needed_for"] = list(preflight_needed_for(self.exchange))
        return line

    def _verdict_fields(self) -> dict:
        v = self.verdict
        return {
            "flow_id": v.flow_id,
            "time": v.time,
            "method": v.method,
            "url": v.url,
            "origin": v.origin,
            "kind": v.kind,
            "verdict": v.verdict,
            "reason": v.reason,
            "failed_parameter": v.failed_parameter,
            "firefox_reason": v.firefox_reason,
            "message": v.message,
            "fix": [
                {"response": s.response, "action": s.action, "header": s.header, "value": s.value,
                 "why": s.why, "required": s.required, "text": s.text()}
                for s in v.fix
            ],
            "paired_flow_id": v.paired_flow_id,
            "credentials": v.credentials,
            "conditional": v.conditional,
            "credentials_source": v.credentials_source,
            "mode": v.mode,
            "mode_source": v.mode_source,
            "failures": [{"reason": f.reason, "failed_parameter": f.parameter} for f in v.failures],
            "redirected_from": v.redirected_from,
            "preflight_cache": v.preflight_cache,
            "cause": v.cause,
            "warnings": list(v.warnings),
            "notes": list(v.notes),
            "firefox_note": v.firefox_note,
            "exposed_headers": list(v.exposed_headers) if v.exposed_headers is not None else None,
            "unexposed_headers": list(v.unexposed_headers) if v.unexposed_headers is not None else None,
            "summary": v.summary(),
            "update": self.update,
            **({"not_in_capture": True} if v.not_in_capture else {}),
        }


@dataclass(frozen=True, slots=True)
class Result:
    decision: Decision
    updates: tuple[Decision, ...] = ()
    new_findings: tuple[Finding, ...] = ()  # the audit's, first found on this exchange


class Pipeline:
    def __init__(self, capacity: int = 4096, pair_window: float = 60.0) -> None:
        self.tracker = Tracker(capacity, pair_window)
        self.audit = PassiveAudit(self.tracker.credentials, min(capacity, 1024))

    def decide(self, ex: Exchange) -> Result:
        """`ex.extra["cors_patch"]`: the flow's patch record when the proxy changed the server's
        response (its `original` is what the server sent, which the fix is judged on)."""
        observed = self.tracker.observe(ex)
        updates = tuple(Decision(u, earlier, update=True, findings=self.audit.findings_on(earlier))
                        for u, earlier in zip(observed.updated, observed.completed))
        # The audit judges the server's policy as the server sent it, not as the proxy patched it.
        findings, new = (self.audit.observe(ex, self.tracker.last_facts)
                         if not (patch_of(ex) or {}).get("patched") else ((), ()))
        verdict = with_delivery(observed.verdict, ex.extra.get("delivery")) if ex.extra else observed.verdict
        return Result(Decision(verdict, ex, findings=findings), updates, new)

    def clear(self) -> dict[str, int]:
        sizes = self.tracker.state_size()
        sizes["audit"] = self.audit.state_size()
        self.tracker.clear()
        self.audit.clear()
        return sizes


def patch_of(ex: Exchange) -> dict | None:
    return ex.extra.get("cors_patch")


# -- the server's fix --------------------------------------------------------------------------------

def fix_for(ex: Exchange, v: Verdict, patch: dict | None) -> dict | None:
    """`cors_fix` for a flow the browser blocks (or that got no response): the server configuration
    that makes it pass, judged on the server's own response, or why none can."""
    if ex.response is None:
        if ex.not_in_capture and v.kind in CHECKED_KINDS:
            return {"requirement": None, "configs": None, "not_fixable": NOT_IN_CAPTURE_FIX}
        if classify(ex.request).kind not in ("preflight", "cors"):
            return None
        why = (f"no response from the server ({ex.error if ex.error is not None else 'unknown error'}): "
               "no CORS header can fix that; fix the connection or the server")
        return {"requirement": None, "configs": None, "not_fixable": why}
    server = _server_response(ex, patch)
    if server is None or (not v.blocked and not (patch or {}).get("original")):
        return None  # a cors_policy answered (the server never saw it), or nothing to fix
    p = plan(ex.request, *server)
    r = p.requirement
    if p.server is None or p.server.verdict != "blocked" or r is None:
        return None
    if r.problem:
        return {"requirement": r.to_dict(), "configs": None, "not_fixable": r.problem}
    return {"requirement": r.to_dict(), "configs": configs_for(r), "not_fixable": None}


def requirement_for(ex: Exchange) -> Requirement | None:
    """What the server must allow for this exchange (`cors.fix` aggregates them), judged on the
    server's own response; None when it is not a CORS request."""
    kind = classify(ex.request).kind
    if kind not in ("preflight", "cors"):
        return None
    server = _server_response(ex, patch_of(ex))
    if server is None and ex.response is not None:  # answered by a policy: the server never saw it
        server = (204, Headers())
    if server is None:
        if ex.not_in_capture:
            return None  # nothing the server sent is known: no requirement to add
        r = Requirement("preflight" if kind == "preflight" else "actual", ex.request.url,
                        ex.request.headers.get("Origin") or "null", ex.request.method)
        r.problem = f"no response from the server ({ex.error or 'none yet'}): no CORS header can fix that"
        return r
    return plan(ex.request, *server).requirement


def _server_response(ex: Exchange, patch: dict | None) -> tuple[int, Headers] | None:
    """(status, headers) as the server sent them: the original the fixer recorded when the proxy
    changed the response, else the response itself; None when the server sent none (no response,
    or a cors_policy answered in its place)."""
    meta = patch or {}
    original = meta.get("original")
    if original:
        return original["status"], Headers([tuple(x) for x in original["headers"]])
    if ex.response is None or meta.get("answered_by_proxy"):
        return None
    return ex.response.status, ex.response.headers


def configs_for(r: Requirement) -> dict[str, str]:
    """The framework configurations for one requirement, as a fresh dict. Every blocked flow of an
    origin needs the same configuration (the URL is not part of it), and rendering eight frameworks
    costs more than a verdict: remembered for the last 256 distinct needs."""
    needs = aggregate([r])
    # The server's own CORS headers are listed per response; for one flow its URL adds nothing and
    # would make every flow's configuration a new one to render (2 ms instead of a memo hit).
    needs.existing = [(kind, method, "(this URL)", fields) for kind, method, _url, fields in needs.existing]
    return dict(_configs(tuple(tuple(v) if isinstance(v, list) else v
                               for v in (getattr(needs, name) for name in needs.__dataclass_fields__))))


@memoized(256, 4096)
def _configs(needs: tuple) -> tuple[tuple[str, str], ...]:
    n = Needs(*[list(v) if isinstance(v, tuple) else v for v in needs])
    return tuple(render_all(policy_for(n), n).items())


def redact(fields) -> list[list[str]]:
    """A response's header fields for a report or flow metadata: cookie and credential values go."""
    return [[k, REDACTED if k.lower() in SECRET_HEADERS else v] for k, v in fields]
