"""The live fix never creates a hole: what `cors_fix` answers and what `cors.fix` prints are
configurations the audit does not flag; a `cors_policy` that opens one is said at load."""

from __future__ import annotations

import pytest

from bench.corpus import generate, to_exchange
from mitmproxy_cors.audit.policy_check import policy_findings
from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from mitmproxy_cors.pipeline import Pipeline, requirement_for
from mitmproxy_cors.server.fix_plan import plan
from mitmproxy_cors.server.policy import Policy
from mitmproxy_cors.server.snippets import aggregate, policy_for


def _corpus(n=3000):
    return [to_exchange(w) for w in generate(n, seed=7)]


def test_cors_fix_configurations_for_the_corpus_are_never_flagged():
    exchanges = [ex for ex in _corpus() if ex.response is not None]
    by_origin: dict[str, list] = {}
    for ex in exchanges:
        r = requirement_for(ex)
        if r is not None and not r.problem:
            by_origin.setdefault(r.origin, []).append(r)
    assert by_origin
    for origin, reqs in list(by_origin.items())[:40]:
        policy = policy_for(aggregate(reqs))
        if policy.any_origin:
            continue  # a public '*' kept as the server sent it, without credentials
        found = policy_findings(policy)
        assert found == (), (origin, [(f.cls, f.origins_granted) for f in found])


@pytest.mark.parametrize("origin", ["https://www.app.example", "null", "http://www.app.example", "http://localhost:3000"])
def test_the_live_patch_grants_no_origin_the_audit_would_flag(origin):
    """The proxy's patched answer, judged by the passive audit as if the server had sent it."""
    for method, extra in (("GET", [("Cookie", "sid=1")]), ("OPTIONS", [("Access-Control-Request-Method", "PUT")])):
        req = RequestSnapshot(method, "https://api.app.example/x", Headers([("Origin", origin), *extra]))
        p = plan(req, 200, Headers([("Content-Type", "text/plain")]))
        if not p.changes_response:
            continue
        pipeline = Pipeline()
        pipeline.decide(Exchange("login", RequestSnapshot("GET", "https://api.app.example/login", Headers()),
                                 ResponseSnapshot(200, Headers([("Set-Cookie", "sid=1")]))))
        r = pipeline.decide(Exchange("f", req, ResponseSnapshot(p.status or 200, Headers(p.headers))))
        assert r.new_findings == (), [(f.cls, f.evidence) for f in r.new_findings]


def test_a_policy_that_opens_a_hole_is_flagged():
    reflect = Policy(scope="~all", allow_origins=("*",), allow_credentials=True)
    assert {f.cls for f in policy_findings(reflect)} == {"origin-reflected"}
    null = Policy(scope="~all", allow_origins=("https://www.app.example", "null"), allow_credentials=True)
    assert {f.cls for f in policy_findings(null)} == {"null-origin-allowed"}
    loose = Policy(scope="~all", allow_origin_regex=r"https://.*app\.example", allow_credentials=True)
    assert "suffix-match" in {f.cls for f in policy_findings(loose)}
    exact = Policy(scope="~all", allow_origins=("https://www.app.example",), allow_credentials=True)
    assert policy_findings(exact) == ()
    public = Policy(scope="~all", allow_origins=("*",))
    assert policy_findings(public) == ()
