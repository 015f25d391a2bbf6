"""Chromium's CheckAccess: Access-Control-Allow-Origin / -Allow-Credentials classification.

References: the CORS check, https://fetch.spec.whatwg.org/#cors-check, and how Chromium classifies a
failure, `network::cors::CheckAccess` in services/network/public/cpp/cors/cors.cc; the reasons
(WildcardOriginNotAllowed to InvalidAllowCredentials) in docs/reasons.md. What Chromium 156 reported for
such values is checked by the e2e cases `get-acao-*` and `inc-*` (tests/e2e/README.md).
"""

import pytest

from mitmproxy_cors.engine.access_check import access_failures, check_access

from .wire import H

ORIGIN = "http://a.test:8001"


def check(headers, include=False, origin=ORIGIN):
    """(reason, failedParameter) or None, from the response's header lines."""
    failures = access_failures(headers, origin, include, "actual")
    return (failures[0].reason, failures[0].parameter) if failures else None


# -- passing ---------------------------------------------------------------------------------------


def test_exact_origin_passes():
    assert check(H(("Access-Control-Allow-Origin", ORIGIN))) is None


def test_wildcard_without_credentials_passes():
    assert check(H(("Access-Control-Allow-Origin", "*"))) is None


def test_wildcard_passes_for_an_opaque_origin():
    assert check(H(("Access-Control-Allow-Origin", "*")), origin="null") is None


def test_null_passes_for_an_opaque_or_tainted_origin():
    assert check(H(("Access-Control-Allow-Origin", "null")), origin="null") is None


@pytest.mark.parametrize("padded", [ORIGIN + "  ", "  " + ORIGIN, "\t" + ORIGIN + "\t"])
def test_padded_origin_passes(padded):
    # Chromium passed `ACAO: "http://a.test:8001  "`: the HTTP layer trims the value before CheckAccess
    # compares it (e2e cases `get-acao-padded`, `get-acao-tab-padded`).
    assert check(H(("Access-Control-Allow-Origin", padded))) is None


def test_acac_is_ignored_without_credentials():
    assert check(H(("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Credentials", "nope"))) is None


def test_include_with_exact_origin_and_acac_true_passes():
    headers = H(("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Credentials", "true"))
    assert check(headers, include=True) is None


def test_acao_header_name_is_case_insensitive():
    assert check(H(("access-control-allow-origin", ORIGIN))) is None


# -- missing / wildcard ----------------------------------------------------------------------------


@pytest.mark.parametrize("include", [False, True])
def test_missing_acao(include):
    assert check(H(("Content-Type", "text/plain")), include=include) == ("MissingAllowOriginHeader", "")


def test_wildcard_with_credentials_is_refused():
    assert check(H(("Access-Control-Allow-Origin", "*")), include=True) == ("WildcardOriginNotAllowed", "")


def test_wildcard_with_credentials_is_refused_even_with_acac_true():
    headers = H(("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true"))
    assert check(headers, include=True) == ("WildcardOriginNotAllowed", "")


@pytest.mark.parametrize("value", ["**", "* ", " *"])
def test_only_an_exact_star_is_the_wildcard(value):
    # Trimmed " *" / "* " is exactly "*" again; "**" is just a bad value.
    result = check(H(("Access-Control-Allow-Origin", value)))
    if value.strip() == "*":
        assert result is None
    else:
        assert result == ("InvalidAllowOriginValue", "**")


# -- multiple values -------------------------------------------------------------------------------


def test_comma_list_in_one_line_is_multiple_values():
    value = "http://a.test:8001, http://x.test"
    assert check(H(("Access-Control-Allow-Origin", value))) == ("MultipleAllowOriginValues", value)


def test_two_identical_lines_are_multiple_values():
    # Two identical lines join as "a, a" (`net::HttpResponseHeaders::GetNormalizedHeader`); Chromium
    # reported MultipleAllowOriginValues with the joined value (e2e case `get-acao-two-lines`).
    headers = H(("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Origin", ORIGIN))
    assert check(headers) == ("MultipleAllowOriginValues", f"{ORIGIN}, {ORIGIN}")


def test_two_different_lines_are_multiple_values():
    headers = H(("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Origin", "http://x.test"))
    assert check(headers) == ("MultipleAllowOriginValues", f"{ORIGIN}, http://x.test")


def test_two_wildcard_lines_are_multiple_values():
    headers = H(("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Origin", "*"))
    assert check(headers) == ("MultipleAllowOriginValues", "*, *")


@pytest.mark.parametrize("value", ["http://a.test:8001 http://x.test", "http://a.test:8001,http://x.test",
                                   "http://a .test"])
def test_space_or_comma_anywhere_is_multiple_values(value):
    assert check(H(("Access-Control-Allow-Origin", value))) == ("MultipleAllowOriginValues", value)


def test_multiple_values_with_credentials_still_reported_as_multiple():
    value = "http://a.test:8001, http://x.test"
    headers = H(("Access-Control-Allow-Origin", value), ("Access-Control-Allow-Credentials", "true"))
    assert check(headers, include=True) == ("MultipleAllowOriginValues", value)


# -- mismatch and invalid --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "http://other.test",  # another origin (Chromium reported AllowOriginMismatch)
    "http://A.test:8001",  # case differs (Chromium reported AllowOriginMismatch)
    "http://a.test:8001/",  # trailing slash (Chromium reported AllowOriginMismatch)
    "https://a.test:8001",  # scheme
    "http://a.test:8002",  # port
    "http://a.test",  # port missing
    "http://a.test:8001/path",
])
def test_parseable_other_value_is_a_mismatch(value):
    assert check(H(("Access-Control-Allow-Origin", value))) == ("AllowOriginMismatch", value)


def test_null_for_a_non_opaque_origin_is_a_mismatch():
    # Chromium reported ACAO `null` on a normal (non-opaque) page as AllowOriginMismatch / `null`
    # (e2e case `get-acao-null`).
    assert check(H(("Access-Control-Allow-Origin", "null"))) == ("AllowOriginMismatch", "null")


def test_echoed_origin_for_a_tainted_request_is_a_mismatch():
    assert check(H(("Access-Control-Allow-Origin", ORIGIN)), origin="null") == ("AllowOriginMismatch", ORIGIN)


@pytest.mark.parametrize("value", ["foo", "a.test", "http://", "http://a.test:99999", "//a.test"])
def test_unparseable_value_is_invalid(value):
    # Values GURL cannot parse are InvalidAllowOriginValue (CheckAccess; docs/reasons.md); Chromium
    # reported `foo` as InvalidAllowOriginValue / `foo` (e2e case `get-acao-foo`).
    assert check(H(("Access-Control-Allow-Origin", value))) == ("InvalidAllowOriginValue", value)


@pytest.mark.parametrize("value", ["http://[not-an-ipv6]", "http://256.256.256.256"])
def test_value_whose_host_the_url_parser_rejects_is_invalid(value):
    # CheckAccess: InvalidAllowOriginValue iff GURL cannot parse the value; a bracketed host that is not
    # an IPv6 address and a dotted-decimal host with an octet over 255 are both parse failures.
    assert check(H(("Access-Control-Allow-Origin", value))) == ("InvalidAllowOriginValue", value)


def test_empty_value_is_invalid_with_empty_parameter():
    # An empty ACAO fails; GURL("") is invalid -> InvalidAllowOriginValue with value "", as Chromium 156
    # reported it (e2e case `get-acao-empty`).
    assert check(H(("Access-Control-Allow-Origin", ""))) == ("InvalidAllowOriginValue", "")


def test_origin_check_comes_before_credentials():
    headers = H(("Access-Control-Allow-Origin", "http://other.test"))
    assert check(headers, include=True) == ("AllowOriginMismatch", "http://other.test")


# -- Access-Control-Allow-Credentials (https://fetch.spec.whatwg.org/#cors-check, last steps) -------


def test_include_without_acac():
    assert check(H(("Access-Control-Allow-Origin", ORIGIN)), include=True) == ("InvalidAllowCredentials", "")


@pytest.mark.parametrize("value", ["True", "TRUE", "1", "yes", "false", ""])
def test_acac_must_be_exactly_lowercase_true(value):
    headers = H(("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Credentials", value))
    assert check(headers, include=True) == ("InvalidAllowCredentials", value)


def test_acac_sent_twice_is_not_true():
    headers = H(("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Allow-Credentials", "true"))
    assert check(headers, include=True) == ("InvalidAllowCredentials", "true, true")


def test_null_origin_with_credentials_needs_acac():
    assert check(H(("Access-Control-Allow-Origin", "null")), include=True, origin="null") == (
        "InvalidAllowCredentials", "")


# -- the raw function ------------------------------------------------------------------------------


def test_check_access_raw_values():
    assert check_access(None, None, ORIGIN, False) == ("MissingAllowOriginHeader", "")
    assert check_access("*", None, ORIGIN, False) is None
    assert check_access("*", "true", ORIGIN, True) == ("WildcardOriginNotAllowed", "")
    assert check_access(ORIGIN, None, ORIGIN, True) == ("InvalidAllowCredentials", "")
    assert check_access(ORIGIN, "true", ORIGIN, True) is None


# -- fixes -----------------------------------------------------------------------------------------


def _fix(headers, include=False):
    return access_failures(headers, ORIGIN, include, "actual")[0].steps


def test_fix_for_missing_acao_adds_the_exact_origin():
    steps = _fix(H())
    required = [(s.action, s.header, s.value) for s in steps if s.required]
    assert required == [("add", "Access-Control-Allow-Origin", ORIGIN)]


def test_fix_for_wildcard_with_credentials_echoes_origin_and_adds_acac():
    steps = _fix(H(("Access-Control-Allow-Origin", "*")), include=True)
    required = {(s.header, s.value) for s in steps if s.required}
    assert required == {("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Credentials", "true")}


def test_fix_recommends_vary_origin_when_echoing():
    steps = _fix(H(("Access-Control-Allow-Origin", "http://other.test")))
    assert any(s.header == "Vary" and s.value == "Origin" and not s.required for s in steps)


def test_fix_for_acac_sets_true():
    steps = _fix(H(("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Credentials", "True")),
                 include=True)
    assert [(s.action, s.header, s.value) for s in steps if s.required] == [
        ("set", "Access-Control-Allow-Credentials", "true")]
