"""The preflight response checks, in Chromium's order, and Access-Control-Max-Age.

References: https://fetch.spec.whatwg.org/#cors-preflight-fetch, and how Chromium does it:
`network::cors::PreflightController` (order of the checks; services/network/cors/preflight_controller.cc)
and `PreflightResult` (ACAM/ACAH parsing, method and header matching, `*` covering Authorization,
Access-Control-Max-Age with its 5 s default and 7200 s cap; services/network/cors/preflight_result.cc);
the reasons PreflightInvalidStatus to HeaderDisallowedByPreflightResponse in docs/reasons.md; WPT
fetch/api/cors/cors-preflight-star.any.js and cors-preflight-status.any.js. What Chromium 156 reported
for these responses is checked by the e2e cases `pf-*`, `put-*`, `xfoo-*`, `auth-*` (tests/e2e/README.md).
"""

import pytest

from mitmproxy_cors.engine.preflight_check import check_preflight, parse_max_age
from mitmproxy_cors.engine.reasons import AUTHORIZATION_COVERED_BY_WILDCARD

from .wire import H

ORIGIN = "http://a.test:8001"
ECHO = ("Access-Control-Allow-Origin", ORIGIN)
STAR = ("Access-Control-Allow-Origin", "*")
ACAC = ("Access-Control-Allow-Credentials", "true")


def preflight(*headers, status=200, method="PUT", unsafe=(), include=False, redirected=False, origin=ORIGIN):
    outcome, result = check_preflight(status=status, headers=H(*headers), origin=origin, include=include,
                                      method=method, unsafe_headers=list(unsafe), redirected=redirected)
    return outcome, result


def first(*headers, **kw):
    outcome, _ = preflight(*headers, **kw)
    return (outcome.reason, outcome.parameter) if outcome.blocked else None


def acam(v):
    return ("Access-Control-Allow-Methods", v)


def acah(v):
    return ("Access-Control-Allow-Headers", v)


# -- passing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 204, 206, 299])
def test_ok_statuses_pass(status):
    # Any ok status passes (https://fetch.spec.whatwg.org/#ok-status; WPT
    # fetch/api/cors/cors-preflight-status.any.js); Chromium passed a 204 preflight (e2e case `pf-204`).
    assert first(ECHO, acam("PUT"), status=status) is None


def test_passing_preflight_reports_what_it_allows():
    outcome, result = preflight(ECHO, acam("PUT, DELETE"), acah("X-Foo, x-bar"), ("Access-Control-Max-Age", "600"),
                                unsafe=["x-foo"])
    assert not outcome.blocked
    assert result.methods == {"PUT", "DELETE"}
    assert result.headers == {"x-foo", "x-bar"}  # lowercased
    assert result.max_age == 600
    assert result.include is False


def test_safelisted_method_needs_no_acam():
    # A GET preflighted for a header passes without ACAM: GET is a CORS-safelisted method
    # (https://fetch.spec.whatwg.org/#cors-preflight-fetch; WPT fetch/api/cors/cors-preflight-star.any.js).
    assert first(ECHO, acah("x-foo"), method="GET", unsafe=["x-foo"]) is None


def test_acam_get_lowercase_with_get_passes():
    # `ACAM: get` with GET passes (GET is safelisted anyway; WPT fetch/api/cors/cors-preflight-star.any.js).
    assert first(ECHO, acam("get"), acah("x-foo"), method="GET", unsafe=["x-foo"]) is None


def test_empty_list_items_are_skipped():
    assert first(ECHO, acam(" , PUT,,"), acah(",x-foo ,"), unsafe=["x-foo"]) is None


# -- check order (`network::cors::PreflightController`, services/network/cors/preflight_controller.cc) ---


def test_redirect_is_checked_before_anything_else():
    # Even with no ACAO and a bad status, a redirect is PreflightDisallowedRedirect.
    assert first(status=302, redirected=True) == ("PreflightDisallowedRedirect", "")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_disallowed(status):
    assert first(ECHO, acam("PUT"), status=status, redirected=True) == ("PreflightDisallowedRedirect", "")


def test_origin_check_comes_before_status():
    # Chromium checks the origin before the status (`CheckPreflightAccess`, preflight_controller.cc): it
    # reported a 404 preflight without ACAO as PreflightMissingAllowOriginHeader (e2e case `pf-404-no-acao`).
    assert first(status=404) == ("PreflightMissingAllowOriginHeader", "")


def test_status_is_checked_once_origin_passes():
    # Chromium reported a 404 preflight with a matching ACAO as PreflightInvalidStatus (e2e case `pf-404-acao`).
    assert first(ECHO, acam("PUT"), status=404) == ("PreflightInvalidStatus", "")


@pytest.mark.parametrize("status", [100, 199, 300, 304, 400, 401, 403, 405, 500, 503])
def test_non_ok_statuses_fail(status):
    assert first(ECHO, acam("PUT"), status=status) == ("PreflightInvalidStatus", "")


def test_status_comes_before_acam_parsing():
    assert first(ECHO, acam("Bad method"), status=500) == ("PreflightInvalidStatus", "")


def test_acam_is_parsed_before_acah():
    assert first(ECHO, acam("Bad method"), acah("x y"), unsafe=["x-foo"]) == (
        "InvalidAllowMethodsPreflightResponse", "")


def test_acah_parse_failure_comes_before_method_check():
    # Both headers are parsed (CreatePreflightResult) before the method is checked.
    assert first(ECHO, acah("x y"), method="PUT", unsafe=["x-foo"]) == ("InvalidAllowHeadersPreflightResponse", "")


def test_method_is_checked_before_headers():
    assert first(ECHO, method="PUT", unsafe=["x-foo"]) == ("MethodDisallowedByPreflightResponse", "PUT")


def test_first_offending_header_in_acrh_order():
    # Seen in Chromium: X-B, x-a and Content-Type: application/json gave the preflight ACRH
    # `content-type,x-a,x-b`; with ACAH `x-a` it reported failedParameter `content-type`
    # (e2e case `several-headers-partial`).
    assert first(ECHO, acah("x-a"), method="POST", unsafe=["content-type", "x-a", "x-b"]) == (
        "HeaderDisallowedByPreflightResponse", "content-type")


def test_all_failures_are_kept_in_chromium_order():
    outcome, _ = preflight(status=500, method="PUT", unsafe=["x-foo"])
    assert [f.reason for f in outcome.failures][:2] == ["PreflightMissingAllowOriginHeader", "PreflightInvalidStatus"]


# -- the origin check on the preflight uses the actual request's credentials mode -------------------


@pytest.mark.parametrize("headers, include, expected", [
    ((), False, ("PreflightMissingAllowOriginHeader", "")),
    ((STAR,), True, ("PreflightWildcardOriginNotAllowed", "")),
    ((STAR, ACAC), True, ("PreflightWildcardOriginNotAllowed", "")),
    ((("Access-Control-Allow-Origin", "http://a.test:8001, http://x.test"),), False,
     ("PreflightMultipleAllowOriginValues", "http://a.test:8001, http://x.test")),
    ((ECHO, ECHO), False, ("PreflightMultipleAllowOriginValues", f"{ORIGIN}, {ORIGIN}")),
    ((("Access-Control-Allow-Origin", "foo"),), False, ("PreflightInvalidAllowOriginValue", "foo")),
    ((("Access-Control-Allow-Origin", "http://other.test"),), False,
     ("PreflightAllowOriginMismatch", "http://other.test")),
    ((("Access-Control-Allow-Origin", "null"),), False, ("PreflightAllowOriginMismatch", "null")),
    ((ECHO,), True, ("PreflightInvalidAllowCredentials", "")),
    ((ECHO, ("Access-Control-Allow-Credentials", "True")), True, ("PreflightInvalidAllowCredentials", "True")),
])
def test_preflight_origin_variants(headers, include, expected):
    assert first(*headers, acam("PUT"), include=include) == expected


def test_wildcard_preflight_passes_without_credentials():
    assert first(STAR, acam("PUT")) is None


def test_preflight_with_credentials_passes_with_echo_and_acac():
    assert first(ECHO, ACAC, acam("PUT"), include=True) is None


# -- ACAM / ACAH parsing (`PreflightResult`, services/network/cors/preflight_result.cc) ------------


@pytest.mark.parametrize("value", ["Bad method", "PUT, Bad method", "PU(T", "PUT;", 'PUT, "GET"', "PU/T"])
def test_non_token_acam_item(value):
    assert first(ECHO, acam(value)) == ("InvalidAllowMethodsPreflightResponse", "")


@pytest.mark.parametrize("value", ["x y", "x-foo, x y", "x-foo;", "x:foo", "x@foo"])
def test_non_token_acah_item(value):
    assert first(ECHO, acam("PUT"), acah(value), unsafe=["x-foo"]) == ("InvalidAllowHeadersPreflightResponse", "")


def test_acam_parse_failure_even_when_method_would_be_safelisted():
    assert first(ECHO, acam("Bad method"), acah("x-foo"), method="GET", unsafe=["x-foo"]) == (
        "InvalidAllowMethodsPreflightResponse", "")


# -- methods (https://fetch.spec.whatwg.org/#cors-preflight-fetch; `PreflightResult`) --------------


def test_missing_acam_disallows_put():
    assert first(ECHO) == ("MethodDisallowedByPreflightResponse", "PUT")


@pytest.mark.parametrize("method, allowed", [("patch", "PATCH"), ("PATCH", "patch"), ("PUT", "put")])
def test_method_comparison_is_case_sensitive(method, allowed):
    assert first(ECHO, acam(allowed), method=method) == ("MethodDisallowedByPreflightResponse", method)


@pytest.mark.parametrize("method", ["patch", "PATCH", "DELETE", "PROPFIND"])
def test_method_listed_in_its_own_case_passes(method):
    assert first(ECHO, acam(f"GET, {method}"), method=method) is None


def test_star_method_without_credentials_allows_any_method():
    assert first(ECHO, acam("*"), method="PUT") is None
    assert first(ECHO, acam("*"), method="patch") is None


def test_star_method_with_credentials_is_a_literal_name():
    # Chromium reported a credentialed PUT under ACAM `*` as MethodDisallowedByPreflightResponse / PUT
    # (e2e case `put-acam-star-include`).
    assert first(ECHO, ACAC, acam("*"), include=True) == ("MethodDisallowedByPreflightResponse", "PUT")


def test_literal_star_method_with_credentials_matches_a_method_named_star():
    # A literal method `*` with credentials passes as an exact match (WPT
    # fetch/api/cors/cors-preflight-star.any.js).
    assert first(ECHO, ACAC, acam("*"), acah("*"), method="*", unsafe=["*"], include=True) is None


# -- headers (https://fetch.spec.whatwg.org/#cors-preflight-fetch; `PreflightResult`) ---------------


def test_missing_acah_disallows_the_header():
    # Chromium reported X-Foo without ACAH as HeaderDisallowedByPreflightResponse / x-foo
    # (e2e case `xfoo-no-acah`).
    assert first(ECHO, method="GET", unsafe=["x-foo"]) == ("HeaderDisallowedByPreflightResponse", "x-foo")


def test_header_names_match_case_insensitively():
    assert first(ECHO, acah("X-FOO"), method="GET", unsafe=["x-foo"]) is None


def test_star_headers_without_credentials_allow_any_header():
    assert first(ECHO, acah("*"), method="GET", unsafe=["x-foo", "content-type"]) is None


def test_star_headers_with_credentials_is_a_literal_name():
    # Chromium reported a credentialed X-Foo under ACAH `*` as HeaderDisallowedByPreflightResponse / x-foo
    # (e2e case `xfoo-acah-star-include`).
    assert first(ECHO, ACAC, acah("*"), method="GET", unsafe=["x-foo"], include=True) == (
        "HeaderDisallowedByPreflightResponse", "x-foo")


def test_authorization_under_star_is_allowed_with_a_deprecation_warning():
    # Unlike the Fetch Standard (https://fetch.spec.whatwg.org/#cors-preflight-fetch), Chromium lets `*`
    # cover Authorization (`PreflightResult`; feature CorsNonWildcardRequestHeadersSupport is off) and only
    # emits a DeprecationIssue; seen in Chromium 156 (e2e case `auth-acah-star`).
    outcome, result = preflight(ECHO, acah("*"), method="GET", unsafe=["authorization"])
    assert not outcome.blocked
    assert result is not None
    assert any(AUTHORIZATION_COVERED_BY_WILDCARD in w for w in outcome.warnings)


def test_authorization_listed_explicitly_needs_no_warning():
    outcome, _ = preflight(ECHO, acah("*, Authorization"), method="GET", unsafe=["authorization"])
    assert not outcome.blocked
    assert not any(AUTHORIZATION_COVERED_BY_WILDCARD in w for w in outcome.warnings)


def test_star_without_authorization_needs_no_warning():
    outcome, _ = preflight(ECHO, acah("*"), method="GET", unsafe=["x-foo"])
    assert not outcome.warnings


def test_authorization_under_star_with_credentials_is_disallowed():
    assert first(ECHO, ACAC, acah("*"), method="GET", unsafe=["authorization"], include=True) == (
        "HeaderDisallowedByPreflightResponse", "authorization")


def test_authorization_not_listed_is_disallowed():
    assert first(ECHO, acah("x-foo"), method="GET", unsafe=["authorization", "x-foo"]) == (
        "HeaderDisallowedByPreflightResponse", "authorization")


def test_failed_preflight_allows_nothing():
    outcome, result = preflight(ECHO, method="PUT")
    assert outcome.blocked and result is None


# -- fixes -----------------------------------------------------------------------------------------


def test_fix_for_method_keeps_listed_methods_and_adds_the_missing_one():
    outcome, _ = preflight(ECHO, acam("GET, POST"), method="PATCH")
    steps = [s for s in outcome.steps() if s.header == "Access-Control-Allow-Methods"]
    assert steps and "PATCH" in steps[0].value and "GET" in steps[0].value


def test_fix_for_header_names_every_missing_header():
    outcome, _ = preflight(ECHO, acah("x-a"), method="POST", unsafe=["content-type", "x-a", "x-b"])
    steps = [s for s in outcome.steps() if s.header == "Access-Control-Allow-Headers"]
    assert steps
    listed = {h.strip() for h in steps[0].value.split(",")}
    assert {"content-type", "x-a", "x-b"} <= listed


def test_fix_for_redirect_is_to_answer_without_redirecting():
    outcome, _ = preflight(status=301, redirected=True)
    assert [s.action for s in outcome.steps()] == ["no-redirect"]


# -- Access-Control-Max-Age (`PreflightResult`: 5 s default, 7200 s cap) ---------------------------


@pytest.mark.parametrize("value, seconds", [
    (None, 5),  # default
    ("0", 0),
    ("1", 1),
    ("600", 600),
    ("7199", 7199),
    ("7200", 7200),
    ("7201", 7200),  # cap
    ("86400", 7200),
    ("99999999999999999999999", 5),  # not an int64
    ("10.5", 5),  # non-integer -> default
    ("abc", 5),
    ("", 5),
    ("-1", 0),  # negative -> 0
    ("-600", 0),
])
def test_max_age(value, seconds):
    assert parse_max_age(value)[0] == seconds


def test_max_age_over_the_cap_notes_firefox_difference():
    _, note = parse_max_age("86400")
    assert note and "7200" in note


def test_preflight_without_max_age_allows_for_five_seconds():
    _, result = preflight(ECHO, acam("PUT"))
    assert result.max_age == 5
