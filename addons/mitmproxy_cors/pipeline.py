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

from collections import OrderedDict
from dataclasses import dataclass

from .audit.finding import Finding
from .audit.passive import PassiveAudit
from .engine.checks import Check, checks_of, preflight_needed_for
from .engine.long_lived import with_delivery
from .engine.memo import memoized
from .engine.model import Exchange, Headers
from .engine.origin import Origin, origin_of_url
from .engine.page_intent import PageRecord, Refusal, page_refusal
from .engine.redirect_check import redirect_location
from .engine.request_mode import classify
from .engine.tracker import Tracker, settle_credentials
from .engine.webkit_messages import with_webkit
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
        # Safari's sentence is a rendering of the verdict and its exchange, made when a line is:
        # working it out for every flow cost the engine a fifth of its rate.
        v = with_webkit(self.verdict, self.exchange)
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
            "webkit_message": v.webkit_message,
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
            "webkit_note": v.webkit_note,
            "exposed_headers": list(v.exposed_headers) if v.exposed_headers is not None else None,
            "unexposed_headers": list(v.unexposed_headers) if v.unexposed_headers is not None else None,
            "summary": v.summary(),
            "update": self.update,
            **({"not_in_capture": True} if v.not_in_capture else {}),
            **({"cookies": v.cookies} if v.cookies is not None else {}),
        }


@dataclass(frozen=True, slots=True)
class Result:
    decision: Decision
    updates: tuple[Decision, ...] = ()
    new_findings: tuple[Finding, ...] = ()  # the audit's, first found on this exchange


@dataclass(frozen=True, slots=True)
class PageResult:
    """What one delivery of the page probe's records settles: earlier flows judged again under the
    credentials mode the page used (updates), and the requests the browser refused before sending."""

    updates: tuple[Decision, ...] = ()
    refusals: tuple[Refusal, ...] = ()


class _PageFlow:
    """A recent flow the page probe's records may describe (kept only while the probe is on)."""

    __slots__ = ("decision", "claimed")

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.claimed = False


class Pipeline:
    PAGE_FLOWS = 2048  # recent flows kept for the page probe's records, oldest dropped first

    def __init__(self, capacity: int = 4096, pair_window: float = 60.0) -> None:
        self.tracker = Tracker(capacity, pair_window)
        self.audit = PassiveAudit(self.tracker.credentials, min(capacity, 1024))
        # flow id -> _PageFlow, in the order flows finished; None while no page is probed
        self.page_flows: OrderedDict[str, _PageFlow] | None = None

    def probe_pages(self, on: bool) -> None:
        """Keep recent flows for the page probe's records (mitm/page_probe.py), or stop keeping them."""
        if not on:
            self.page_flows = None
        elif self.page_flows is None:
            self.page_flows = OrderedDict()

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
        result = Result(Decision(verdict, ex, findings=findings), updates, new)
        if self.page_flows is not None:
            self._keep_for_page(result)
        return result

    def _keep_for_page(self, result: Result) -> None:
        flows = self.page_flows
        for d in (*result.updates, result.decision):
            kept = flows.get(d.flow_id)
            if kept is not None:
                kept.decision = d
            else:
                flows[d.flow_id] = _PageFlow(d)
        while len(flows) > self.PAGE_FLOWS:
            flows.popitem(last=False)

    def page_records(self, page: Origin, records: tuple[PageRecord, ...]) -> PageResult:
        """The page probe's records from `page` (the origin they were delivered from): each is matched
        with the oldest flow not yet matched that it describes (same URL, method, and this page's
        Origin), which is judged again under the page's credentials mode; a failed call that matches
        no flow was refused by the browser before sending. A flow whose outcome the page saw
        differently from the verdict gets a warning saying so."""
        flows = self.page_flows if self.page_flows is not None else OrderedDict()
        updates: list[Decision] = []
        refusals: list[Refusal] = []
        page_text = page.serialize()
        for record in records:
            chain = self._claim(flows, page_text, record)
            if not chain:
                refusal = page_refusal(record, page)
                if refusal is not None:
                    refusals.append(refusal)
                continue
            for pf in chain:
                d = self._settled(pf.decision, record, pf is chain[-1], page)
                if d is not None:
                    pf.decision = d
                    updates.append(d)
        return PageResult(tuple(updates), tuple(refusals))

    @staticmethod
    def _claim(flows: OrderedDict, page: str, record: PageRecord) -> list[_PageFlow]:
        """The flows of one call: its preflight (if any), the request, and the hops of its redirects."""
        chain: list[_PageFlow] = []
        first = None
        for pf in flows.values():
            v = pf.decision.verdict
            if pf.claimed or v.url != record.url or (v.origin or None) not in (page, None):
                continue
            if v.kind == "preflight" and pf.decision.exchange.request.headers.get(
                    "Access-Control-Request-Method") == record.method and v.origin == page:
                if not chain:
                    chain.append(pf)
                    if v.paired_flow_id is None:  # a failed preflight: no request followed
                        break
                continue
            if v.method == record.method and (v.origin == page or v.kind in ("same-origin", "no-cors", "not-cors")):
                first = pf
                break
        if first is None and not chain:
            return []
        if first is not None:
            chain.append(first)
            hop = first.decision.flow_id
            for pf in flows.values():  # the redirect's later hops, in order
                if not pf.claimed and pf.decision.verdict.redirected_from == hop:
                    chain.append(pf)
                    hop = pf.decision.flow_id
        for pf in chain:
            pf.claimed = True
        return chain

    @staticmethod
    def _settled(d: Decision, record: PageRecord, last: bool, page: Origin) -> Decision | None:
        """`d` once the page said how it made the request, or None when that changes nothing."""
        v = d.verdict
        if v.kind == "not-cors" and v.mode == "unknown" and record.api != "beacon":
            return _settled_kind(d, record, page)
        if v.kind not in CHECKED_KINDS:
            return None
        creds = "include" if record.credentials == "include" else "omit"
        source = f"the page probe: {record.describe()}"
        if record.redirect == "error" and v.verdict == "allowed" and _redirects(d.exchange):
            return _redirect_refused(d, record)
        order = record.headers if record.api == "xhr" else None
        settled = settle_credentials(d.exchange, v, creds, source, order) or v
        if v.credentials not in ("unknown", creds) and v.kind != "preflight":
            settled = settled._replace(warnings=settled.warnings + (
                f"the page probe says the page made it with credentials '{record.credentials}', but the wire shows "
                f"credentials {v.credentials} ({v.credentials_source})",))
        if last and v.kind != "preflight":
            saw_failure = record.outcome in ("error", "refused")
            if saw_failure != settled.blocked and record.outcome != "queued":
                seen = (f"failed ({record.error or 'no detail'})" if saw_failure else
                        f"got its response (status {record.status})")
                settled = settled._replace(warnings=settled.warnings + (
                    f"the page saw this request {'fail' if saw_failure else 'succeed'}: it {seen}, while the addon "
                    f"judged it {settled.verdict}: something other than this response's CORS headers decided "
                    f"(a later hop, the browser's cache, an extension), or the addon is wrong: please report it",))
        if settled == v:
            return None
        return Decision(settled, d.exchange, update=True, findings=d.findings)

    def clear(self) -> dict[str, int]:
        sizes = self.tracker.state_size()
        sizes["audit"] = self.audit.state_size()
        if self.page_flows is not None:
            sizes["page_flows"] = len(self.page_flows)
            self.page_flows.clear()
        self.tracker.clear()
        self.audit.clear()
        return sizes


def _redirects(ex: Exchange) -> bool:
    resp = ex.response
    return resp is not None and redirect_location(ex.request.url, resp.status, resp.headers) is not None


def _redirect_refused(d: Decision, record: PageRecord) -> Decision:
    """fetch(..., {redirect: 'error'}) meets a redirect: the browser fails the fetch (a network error,
    https://fetch.spec.whatwg.org/#concept-http-fetch step 7) whatever CORS allows; only the page
    probe can tell, the wire shows no redirect mode."""
    v = d.verdict
    cause = (f"the page's {record.describe()[:-2]}, redirect: 'error'}}) fails on any redirect, and this response "
             f"redirects ({d.exchange.response.status}); not a CORS error")
    fix = ("follow the redirect (redirect: 'follow', the default), or call the final URL, or have the server "
           "answer without a redirect")
    return Decision(v._replace(verdict="blocked", reason=None, failed_parameter=None, firefox_reason=None,
                               fix=(), failures=(), conditional=None, cause=cause,
                               warnings=(f"{cause}; fix {fix}",) + v.warnings,
                               message=f"The browser fails this fetch: {cause}. Fix {fix}.",
                               credentials_source=f"the page probe: {record.describe()}"),
                    d.exchange, update=True, findings=d.findings)


def _settled_kind(d: Decision, record: PageRecord, page: Origin) -> Decision | None:
    """A request the wire could not classify (plain http to a host that is not potentially
    trustworthy: no Sec-Fetch-*, and no Origin on a same-origin or no-cors GET) is a script's call
    when the page probe says so: same-origin to the page's own origin, else the mode it used."""
    v = d.verdict
    target = origin_of_url(v.url)
    if record.mode == "no-cors":
        kind = "no-cors"
    elif record.mode in ("cors", "same-origin") and target is not None and target.same_origin(page):
        kind = "same-origin"
    else:
        return None
    return Decision(v._replace(kind=kind, mode=record.mode,
                               mode_source=f"the page probe: {record.describe()} (no Sec-Fetch-Mode on the wire)"),
                    d.exchange, update=True, findings=d.findings)


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
