"""server/fix_plan.py: the smallest change, and never one that browsers reject."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mitmproxy_cors.engine.access_check import check_access
from mitmproxy_cors.server.fix_plan import credentials_hole
from mitmproxy_cors.server.fix_plan import plan
from mitmproxy_cors.engine.model import Headers, RequestSnapshot
from mitmproxy_cors.engine.preflight_check import check_preflight
from mitmproxy_cors.engine.safelist import parse_request_headers_list

O = "http://127.0.0.1:8001"
U = "http://127.0.0.1:8002/api/x"


def pf(acrm="PUT", acrh=None, origin=O, extra=()):
    h = [("Origin", origin), ("Access-Control-Request-Method", acrm), ("Sec-Fetch-Mode", "cors"), *extra]
    if acrh:
        h.append(("Access-Control-Request-Headers", acrh))
    return RequestSnapshot("OPTIONS", U, Headers(h))


def actual(method="GET", extra=(), origin=O, url=U):
    return RequestSnapshot(method, url, Headers([("Origin", origin), ("Sec-Fetch-Mode", "cors"), *extra]))


def names(fields):
    return [k for k, _ in fields]


def passes_preflight(req, status, fields, include):
    h = Headers(fields)
    outcome, _ = check_preflight(status=status, headers=h, origin=req.headers.get("Origin"), include=include,
                                 method=req.headers.get("Access-Control-Request-Method"),
                                 unsafe_headers=parse_request_headers_list(
                                     req.headers.get("Access-Control-Request-Headers")),
                                 redirected=False)
    return not outcome.blocked


# -- preflights --------------------------------------------------------------------------------------

def test_failing_preflight_is_answered_204_with_exactly_the_needed_headers():
    req = pf("PUT", "x-foo,content-type")
    p = plan(req, 404, Headers([("Content-Type", "text/html"), ("Content-Length", "9")]))
    assert p.action == "answer" and p.status == 204
    assert p.headers == [("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Credentials", "true"),
                         ("Access-Control-Allow-Methods", "PUT"),
                         ("Access-Control-Allow-Headers", "content-type,x-foo"), ("Vary", "Origin")]
    assert p.server.text() == "blocked, PreflightMissingAllowOriginHeader"
    assert passes_preflight(req, 204, p.headers, include=True)
    assert passes_preflight(req, 204, p.headers, include=False)
    assert any("404" in n for n in p.requirement.notes)


def test_safelisted_method_needs_no_allow_methods():
    p = plan(pf("POST", "x-foo"), 403, Headers())
    assert "Access-Control-Allow-Methods" not in names(p.headers)
    assert ("Access-Control-Allow-Headers", "x-foo") in p.headers


def test_method_case_is_kept():
    p = plan(pf("patch"), 204, Headers([("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Methods", "PATCH")]))
    assert p.server.reason == "MethodDisallowedByPreflightResponse"
    assert ("Access-Control-Allow-Methods", "patch") in p.headers


def test_redirected_preflight_is_answered():
    p = plan(pf(), 301, Headers([("Location", "https://127.0.0.1:8002/api/x")]))
    assert p.action == "answer"
    assert p.server.reason == "PreflightDisallowedRedirect"
    assert any("redirect" in n for n in p.requirement.notes)


def test_passing_preflight_is_left_alone():
    good = [("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "PUT")]
    p = plan(pf(), 204, Headers(good))
    assert p.action == "none" and p.server.verdict == "allowed"


def test_preflight_that_only_fails_with_credentials_is_answered():
    p = plan(pf(), 204, Headers([("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "PUT")]))
    assert p.server.verdict == "blocked" and p.server.only_with_credentials
    assert p.server.text() == "blocked if credentials are included, PreflightWildcardOriginNotAllowed"
    assert p.action == "answer" and ("Access-Control-Allow-Origin", O) in p.headers
    assert p.requirement.credentials is True


def test_private_network_request_is_answered():
    p = plan(pf(extra=[("Access-Control-Request-Private-Network", "true")]), 404, Headers())
    assert ("Access-Control-Allow-Private-Network", "true") in p.headers
    assert p.requirement.private_network


def test_null_origin_preflight_echoes_null():
    p = plan(pf(origin="null"), 404, Headers())
    assert p.headers[0] == ("Access-Control-Allow-Origin", "null")


# -- actual responses ----------------------------------------------------------------------------------

def test_missing_acao_gets_acao_acac_and_vary_appended_keeping_the_rest():
    server = [("Content-Type", "text/plain"), ("X-Other", "1")]
    p = plan(actual(), 500, Headers(server))
    assert p.action == "patch"
    assert p.headers == server + [("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Credentials", "true"),
                                  ("Vary", "Origin")]
    assert p.server.text() == "blocked, MissingAllowOriginHeader"
    assert any("500" in n for n in p.requirement.notes)


def test_two_acao_lines_become_one_in_place():
    p = plan(actual(), 200, Headers([("Access-Control-Allow-Origin", O), ("X", "1"), ("Access-Control-Allow-Origin", O)]))
    assert p.server.reason == "MultipleAllowOriginValues"
    assert p.headers[:2] == [("Access-Control-Allow-Origin", O), ("X", "1")]
    assert [k for k, _ in p.headers].count("Access-Control-Allow-Origin") == 1


def test_wildcard_with_cookie_is_echoed_and_expose_star_listed():
    server = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "*"), ("X-Total", "3"),
              ("Content-Type", "text/plain"), ("Set-Cookie", "a=b"), ("Vary", "Accept-Encoding")]
    p = plan(actual(extra=[("Cookie", "sid=1")]), 200, Headers(server))
    assert p.server.text() == "blocked, WildcardOriginNotAllowed"
    h = dict(p.headers)
    assert h["Access-Control-Allow-Origin"] == O
    assert h["Access-Control-Allow-Credentials"] == "true"
    assert h["Access-Control-Expose-Headers"] == "X-Total"
    assert h["Vary"] == "Accept-Encoding, Origin"
    assert p.requirement.expose == ["x-total"] and p.requirement.credentials is True


def test_acac_True_corrected():
    p = plan(actual(extra=[("Cookie", "a=1")]), 200,
             Headers([("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Credentials", "True")]))
    assert p.server.reason == "InvalidAllowCredentials"
    assert dict(p.headers)["Access-Control-Allow-Credentials"] == "true"


def test_allowed_response_is_left_alone():
    for server in ([("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Credentials", "true")],):
        p = plan(actual(), 200, Headers(server))
        assert p.action == "none" and p.headers is None


def test_wildcard_without_visible_credentials_is_fixed_for_include_too():
    p = plan(actual(), 200, Headers([("Access-Control-Allow-Origin", "*")]))
    assert p.server.verdict == "blocked" and p.server.only_with_credentials
    assert p.action == "patch" and dict(p.headers)["Access-Control-Allow-Origin"] == O


def test_redirect_with_userinfo_is_not_fixable():
    p = plan(actual(), 302, Headers([("Location", "http://user:pw@127.0.0.1:8003/x")]))
    assert p.action == "unfixable" and "RedirectContainsCredentials" in p.why
    assert p.requirement.problem


def test_redirect_hop_gets_acao():
    p = plan(actual(), 302, Headers([("Location", "http://127.0.0.1:8003/x")]))
    assert p.action == "patch"


def test_null_origin_after_redirect():
    p = plan(actual(origin="null"), 200, Headers([("Access-Control-Allow-Origin", O)]))
    assert dict(p.headers)["Access-Control-Allow-Origin"] == "null"
    assert any("null" in n for n in p.requirement.notes)


def test_not_cors_requests_are_never_planned():
    nav = RequestSnapshot("GET", U, Headers([("Sec-Fetch-Mode", "navigate")]))
    same = RequestSnapshot("GET", U, Headers([("Origin", "http://127.0.0.1:8002"), ("Sec-Fetch-Mode", "cors")]))
    nocors = RequestSnapshot("GET", U, Headers([("Sec-Fetch-Mode", "no-cors")]))
    options = RequestSnapshot("OPTIONS", U, Headers([("Origin", O), ("Sec-Fetch-Mode", "cors")]))
    for r in (nav, same, nocors):
        assert plan(r, 200, Headers()).kind == "none"
    assert plan(options, 405, Headers()).action != "answer"  # an OPTIONS without ACRM is no preflight


# -- property: whatever the server sent, a fix is something every browser accepts --------------------------

ORIGINS = [O, "http://localhost:8001", "null"]
header_values = st.sampled_from(["*", O, "null", "http://other.test", f"{O}, {O}", "", "true", "True", "PUT",
                                 "put", "x-foo", "x-foo, *", "Bad method", "GET, PUT", "a b"])
header_names = st.sampled_from(["Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                                "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                                "Access-Control-Expose-Headers", "Vary", "X-Custom", "Location"])


@settings(max_examples=300, deadline=None)
@given(
    origin=st.sampled_from(ORIGINS),
    method=st.sampled_from(["GET", "POST", "PUT", "patch", "DELETE"]),
    req_headers=st.lists(st.sampled_from(["x-foo", "authorization", "content-type"]), unique=True, max_size=3),
    cookie=st.booleans(),
    status=st.sampled_from([200, 204, 302, 401, 404, 500]),
    fields=st.lists(st.tuples(header_names, header_values), max_size=6),
    is_preflight=st.booleans(),
)
def test_fixes_never_produce_what_browsers_reject(origin, method, req_headers, cookie, status, fields, is_preflight):
    if is_preflight:
        extra = [("Access-Control-Request-Headers", ",".join(sorted(req_headers)))] if req_headers else []
        req = RequestSnapshot("OPTIONS", U, Headers([("Origin", origin), ("Access-Control-Request-Method", method),
                                                     ("Sec-Fetch-Mode", "cors"), *extra]))
    else:
        extra = [("Cookie", "sid=1")] if cookie else []
        req = actual(method, extra=extra + [(h, "1") for h in req_headers if h != "content-type"], origin=origin)
    p = plan(req, status, Headers(fields))
    if not p.changes_response:
        return
    h = Headers(p.headers)
    acao, acac = h.get("Access-Control-Allow-Origin"), h.get("Access-Control-Allow-Credentials")
    assert acao == origin and len(h.get_all("Access-Control-Allow-Origin")) == 1
    # Never a hole the audit flags: 'null' (or http: for an https: API) gets no credentials.
    hole = credentials_hole(origin, U)
    assert acac == (None if hole else "true")
    assert {"origin", "*"} & {v.strip().lower() for v in ",".join(h.get_all("Vary")).split(",")}
    assert not (acao == "*" and acac is not None)
    if p.action == "answer":  # (on actual responses these headers mean nothing; they are left as sent)
        for name in ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers"):
            assert "*" not in [v.strip() for v in (h.get(name) or "").split(",")]
        assert p.status == 204
        assert passes_preflight(req, 204, p.headers, include=not hole)
        assert passes_preflight(req, 204, p.headers, include=False)
    else:
        assert hole or check_access(acao, acac, origin, True) is None
        assert check_access(acao, acac, origin, False) is None


def test_requirement_to_dict_is_asdict_and_copies_the_lists():
    import dataclasses

    from mitmproxy_cors.server.fix_plan import Requirement

    r = Requirement("preflight", "https://api.test/x", "https://app.test", "PUT", headers=["x-a"],
                    credentials=True, expose=["x-total"], private_network=True, preflighted=True,
                    notes=["n"], problem=None)
    d = r.to_dict()
    assert d == dataclasses.asdict(r)
    d["headers"].append("x-b")
    assert r.headers == ["x-a"]
    assert Requirement.from_dict(r.to_dict()) == r
