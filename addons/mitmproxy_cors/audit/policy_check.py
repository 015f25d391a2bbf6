"""Would the audit flag this CORS configuration? The active audit's crafted origins, answered by the
emulated middleware (server/middleware.py) instead of a server.

Used where the project itself writes or applies a configuration: `cors_policy` (the proxy answers
as that policy would: it says so at load when the audit would flag it) and the tests that hold
`cors.fix`'s configurations and `cors_fix`'s live answers to "never a hole".
"""

from __future__ import annotations

from ..engine.model import Headers, RequestSnapshot
from ..server.middleware import answer_preflight, decorate
from ..server.policy import Policy
from .active import ProbeResult, judge_probes, plan_probes
from .finding import AuthContext, Finding

# The worst case: the session rides on cookies.
_COOKIES = AuthContext(cookies="assumed: the session rides on cookies")


def policy_findings(policy: Policy, url: str = "https://api.app.example/data",
                    page_origin: str | None = None) -> tuple[Finding, ...]:
    """The findings the active audit would report against a server configured with `policy`, for a
    GET and a preflighted PUT from `page_origin` (default: the policy's first listed origin)."""
    page = page_origin or next((o for o in policy.exact_origins if o != "null"), "https://www.app.example")
    out: list[Finding] = []
    for method, extra in (("GET", [("Cookie", "sid=1")]), ("PUT", [("Content-Type", "application/json")])):
        req = RequestSnapshot(method, url, Headers([("Origin", page), *extra]))
        plan = plan_probes(req)
        if plan is None:
            continue
        results = []
        for p in plan.probes:
            probe_req = RequestSnapshot(p.method, url, Headers(list(p.headers)))
            if p.kind == "preflight":
                answer = answer_preflight(policy, probe_req)
                results.append(ProbeResult(p, answer.status, tuple(answer.headers)))
            else:
                results.append(ProbeResult(p, 200, tuple(decorate(policy, probe_req, Headers([("Content-Type", "text/plain")])))))
        findings, _ = judge_probes(plan, results, _COOKIES, tuple(policy.exact_origins))
        out.extend(findings)
    return tuple(out)
