"""The active audit's pure half: which requests it sends, and what their answers prove."""

from __future__ import annotations

import re

import pytest

from mitmproxy_cors.audit.active import CONTROL, ProbeResult, judge_probes, plan_probes
from mitmproxy_cors.audit.finding import AuthContext
from mitmproxy_cors.engine.model import Headers, RequestSnapshot

PAGE = "https://www.app.example.com"
COOKIES = AuthContext(cookies="requests to api.app.example.com carry cookies (flow 1234abcd)")
BEARER = AuthContext(authorization="requests to api.app.example.com carry an Authorization header (flow 1)")


def _req(method="GET", url="https://api.app.example.com/items?page=2", **headers):
    fields = [("Host", "api.app.example.com"), ("Origin", PAGE), ("Cookie", "sid=secret"),
              ("If-None-Match", '"v1"'), *headers.items()]
    return RequestSnapshot(method, url, Headers(fields))


def _answer(plan, server):
    """Each probe answered by `server(origin, kind) -> header fields`."""
    return [ProbeResult(p, 200 if p.kind == "preflight" else 200, tuple(server(p.origin, p.kind)))
            for p in plan.probes]


def reflect(origin, kind):
    return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "GET, PUT")]


def allow_list(origin, kind):
    return [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")] \
        if origin == PAGE else []


def test_a_get_is_replayed_with_its_headers_and_each_crafted_origin_without_conditional_headers():
    plan = plan_probes(_req(), "f1", ("10.0.0.5", 443))
    assert plan.endpoint == "GET https://api.app.example.com/items"
    assert plan.address == ("10.0.0.5", 443)
    assert {p.kind for p in plan.probes} == {"actual"}
    assert plan.probes[0].cls == CONTROL and plan.probes[0].origin == PAGE
    origins = [p.origin for p in plan.probes[1:]]
    assert "https://cors-audit-attacker.com" in origins and "null" in origins
    assert "https://www.app.example.com.cors-audit-attacker.com" in origins  # prefix
    assert "https://corsauditattackerexample.com" in origins  # suffix
    assert "https://www.appxexample.com" in origins  # unescaped dot
    assert "http://www.app.example.com" in origins  # downgrade
    assert "https://cors-audit-attacker.example.com" in origins  # subdomain
    for p in plan.probes:
        names = [k.lower() for k, _ in p.headers]
        assert names.count("origin") == 1 and "if-none-match" not in names and "host" not in names
        assert ("Cookie", "sid=secret") in p.headers  # the server answers as it would to the user


def test_a_put_is_never_sent_again_only_its_preflight():
    plan = plan_probes(_req("PUT", **{"Content-Type": "application/json"}))
    assert {p.kind for p in plan.probes} == {"preflight"}
    p = plan.probes[1]
    h = dict(p.headers)
    assert p.method == "OPTIONS" and h["Access-Control-Request-Method"] == "PUT"
    assert h["Access-Control-Request-Headers"] == "content-type"
    assert "Cookie" not in h  # a preflight never carries cookies


def test_reflection_with_cookies_is_one_high_vulnerability_listing_every_origin():
    plan = plan_probes(_req(), "f1")
    findings, line = judge_probes(plan, _answer(plan, reflect), COOKIES, (PAGE,))
    (f,) = [f for f in findings if f.cls == "origin-reflected"]
    assert (f.kind, f.severity, f.source) == ("vulnerability", "high", "active")
    assert "https://cors-audit-attacker.com" in f.origins_granted and "null" in f.origins_granted
    assert PAGE not in f.origins_granted  # the control is not a finding
    assert f.fix[0].startswith("on every CORS response: set Access-Control-Allow-Origin only to an origin on an allow-list")
    assert PAGE in f.fix[0]
    assert "secret" not in repr(f.record())
    assert "granted with credentials" in line


def test_the_same_reflection_where_only_an_authorization_header_authenticates_is_a_smell():
    plan = plan_probes(_req())
    findings, _ = judge_probes(plan, _answer(plan, reflect), BEARER, (PAGE,))
    assert [(f.cls, f.kind, f.severity) for f in findings if f.cls == "origin-reflected"] == \
        [("origin-reflected", "smell", "low")]


def test_a_correct_allow_list_is_never_a_finding():
    plan = plan_probes(_req())
    findings, line = judge_probes(plan, _answer(plan, allow_list), COOKIES, (PAGE,))
    assert findings == ()
    assert "0 granted with credentials" in line


def test_a_grant_without_credentials_is_what_star_does_and_no_finding():
    plan = plan_probes(_req())
    findings, _ = judge_probes(plan, _answer(plan, lambda o, k: [("Access-Control-Allow-Origin", o)]), COOKIES, ())
    assert [f.cls for f in findings] == []


@pytest.mark.parametrize("check, expected", [
    (lambda host: host.startswith("www.app.example.com"), {"prefix-match"}),
    (lambda host: host.endswith("example.com"), {"suffix-match"}),
    (lambda host: re.fullmatch(r"www.app.example.com", host) is not None, {"unescaped-dot"}),
    (lambda host: host.endswith(".github.io") or host == "www.app.example.com", {"third-party-hosting"}),
    (lambda host: host.endswith(".app.example.com") or host.endswith(".example.com"), {"subdomain-trusted"}),
])
def test_each_way_of_matching_origins_wrongly_is_named(check, expected):
    from urllib.parse import urlsplit

    def server(origin, kind):
        host = urlsplit(origin).hostname if origin != "null" else ""
        ok = origin == PAGE or (host and check(host) and origin.startswith("https://"))
        return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")] if ok else []
    plan = plan_probes(_req())
    findings, _ = judge_probes(plan, _answer(plan, server), COOKIES, (PAGE,))
    assert {f.cls for f in findings} == expected
    sev = {f.severity for f in findings}
    assert sev == ({"low"} if expected == {"subdomain-trusted"} else {"high"})


def test_an_answer_that_depends_on_the_origin_and_is_cacheable_without_vary_is_flagged():
    def server(origin, kind):
        base = [("Cache-Control", "public, max-age=600")]
        return base + ([("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")]
                       if origin == PAGE else [])
    plan = plan_probes(_req())
    findings, _ = judge_probes(plan, _answer(plan, server), COOKIES, (PAGE,))
    assert [(f.cls, f.kind, f.severity) for f in findings] == [("vary-origin-missing", "vulnerability", "medium")]
    # with Vary: Origin it is correct
    findings, _ = judge_probes(plan, _answer(plan, lambda o, k: server(o, k) + [("Vary", "Origin")]), COOKIES, (PAGE,))
    assert findings == ()
    # a fixed Access-Control-Allow-Origin (the same for every Origin) needs no Vary
    findings, _ = judge_probes(plan, _answer(plan, lambda o, k: server(PAGE, k)), COOKIES, (PAGE,))
    assert findings == ()


def test_unanswered_probes_are_counted_not_judged():
    plan = plan_probes(_req())
    results = [ProbeResult(p, None, None, "ConnectionRefusedError: refused") for p in plan.probes]
    findings, line = judge_probes(plan, results, COOKIES, ())
    assert findings == () and "unanswered (ConnectionRefusedError: refused)" in line


def test_ip_hosts_get_only_the_origins_that_make_sense():
    req = RequestSnapshot("GET", "http://127.0.0.1:8002/x", Headers([("Origin", "http://127.0.0.1:8001")]))
    classes = {p.cls for p in plan_probes(req).probes}
    assert not classes & {"suffix-match", "unescaped-dot", "subdomain-trusted", "http-origin-trusted"}
    assert {"origin-reflected", "null-origin-allowed", "prefix-match"} <= classes


def test_no_plan_for_urls_that_are_not_http():
    assert plan_probes(RequestSnapshot("GET", "ws://a/b", Headers())) is None
