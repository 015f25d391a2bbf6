"""Firefox's reason key where it is not the catalogue's nearest (engine/firefox_reason.py).

Measured with Debian's firefox-esr 153 through mitmdump (tests/e2e/test_e2e_firefox.py, the
pf-redirect-* and acah-invalid-* cases). Firefox checks a preflight's method before it parses
Access-Control-Allow-Headers. On a redirected preflight Firefox runs its CORS check on the 3xx
(`nsCORSListenerProxy::AsyncOnChannelRedirect` -> `CheckRequestApproved`) before it refuses the
redirect, and names that failure; Chromium names PreflightDisallowedRedirect whatever the 3xx holds.
"""

from __future__ import annotations

import pytest

from mitmproxy_cors.engine.firefox_reason import (COMMA_LIST_NOTE, METHOD_FIRST_NOTE, WITH_CREDENTIALS,
                                                  firefox_access_check, firefox_reading)
from mitmproxy_cors.engine.model import Headers
from mitmproxy_cors.engine.verdict import Failure

from .wire import PAGE, Wire, acac, acah, acam, acao

URL = "http://b.test:8002/api"
LOCATION = ("Location", URL + "/")


@pytest.mark.parametrize("headers, include, key", [
    ([], False, "CORSMissingAllowOrigin"),
    ([acao(PAGE), acao(PAGE)], False, "CORSMultipleAllowOriginNotAllowed"),
    ([acao("*")], False, None),
    ([acao("*")], True, "CORSNotSupportingCredentials"),
    ([acao("http://other.test")], False, "CORSAllowOriginNotMatchingOrigin"),
    ([acao(f"{PAGE}, http://other.test")], False, "CORSAllowOriginNotMatchingOrigin"),
    ([acao(f"  {PAGE}  ")], False, None),
    ([acao(PAGE)], True, "CORSMissingAllowCredentials"),
    ([acao(PAGE), acac("True")], True, "CORSMissingAllowCredentials"),
    ([acao(PAGE), acac()], True, None),
])
def test_firefox_access_check_in_firefox_order(headers, include, key):
    assert firefox_access_check(Headers(headers), PAGE, include) == key


def test_opaque_origin_is_null():
    assert firefox_access_check(Headers([acao("null")]), None, False) is None


@pytest.mark.parametrize("resp, key", [
    ([acao(PAGE), acac(), acam("PUT"), LOCATION], "CORSExternalRedirectNotAllowed"),  # pf-redirect-include-ok
    ([LOCATION], "CORSMissingAllowOrigin"),  # pf-redirect-no-acao
    ([acao("http://other.test"), LOCATION], "CORSAllowOriginNotMatchingOrigin"),  # pf-redirect-acao-other
    ([acao(PAGE), acao(PAGE), LOCATION], "CORSMultipleAllowOriginNotAllowed"),  # pf-redirect-two-acao-lines
])
def test_redirected_preflight_gets_firefox_reason_of_its_3xx(resp, key):
    v = Wire().preflight(URL, "PUT", None, *resp, status=302).verdict
    assert (v.reason, v.firefox_reason) == ("PreflightDisallowedRedirect", key)
    if key == "CORSExternalRedirectNotAllowed":
        assert v.firefox_note is None
    else:
        assert "before it refuses the redirect" in v.firefox_note


@pytest.mark.parametrize("resp, key", [
    ([acao("*"), acac(), LOCATION], "CORSNotSupportingCredentials"),  # pf-redirect-star-include
    ([acao(PAGE), LOCATION], "CORSMissingAllowCredentials"),  # pf-redirect-include-no-acac
])
def test_redirected_preflight_names_firefox_key_under_credentials_in_its_note(resp, key):
    # A preflight carries no credentials: the proxy reads it as 'omit', the note gives 'include'.
    v = Wire().preflight(URL, "PUT", None, *resp, status=302).verdict
    assert v.credentials == "unknown"
    assert v.firefox_reason == "CORSExternalRedirectNotAllowed"
    assert f"{WITH_CREDENTIALS} {key}" in v.firefox_note


def test_credentialed_redirect_that_passes_needs_no_note():
    v = Wire().preflight(URL, "PUT", None, acao(PAGE), acac(), LOCATION, status=302).verdict
    assert (v.firefox_reason, v.firefox_note) == ("CORSExternalRedirectNotAllowed", None)


def F(*reasons: str) -> tuple[Failure, ...]:
    return tuple(Failure(r, "") for r in reasons)


def test_reading_without_headers_is_the_catalogue_key():
    assert firefox_reading(F("PreflightDisallowedRedirect"), None, PAGE, "unknown") == (
        "CORSExternalRedirectNotAllowed", None)
    assert firefox_reading(F("MultipleAllowOriginValues"), Headers([acao(f"{PAGE} x")]), PAGE, "omit") == (
        "CORSAllowOriginNotMatchingOrigin", COMMA_LIST_NOTE)
    assert firefox_reading(F("DisallowedByMode"), Headers(), PAGE, "omit") == (None, None)
    assert firefox_reading((), None, PAGE, "omit") == (None, None)


@pytest.mark.parametrize("failures, key", [
    (F("InvalidAllowHeadersPreflightResponse", "MethodDisallowedByPreflightResponse"), "CORSMethodNotFound"),
    (F("PreflightMissingAllowOriginHeader", "PreflightInvalidStatus"), "CORSMissingAllowOrigin"),
    (F("PreflightInvalidStatus", "InvalidAllowMethodsPreflightResponse"), "CORSPreflightDidNotSucceed"),
    (F("InvalidAllowMethodsPreflightResponse", "InvalidAllowHeadersPreflightResponse"), "CORSInvalidAllowMethod"),
    (F("MethodDisallowedByPreflightResponse", "HeaderDisallowedByPreflightResponse"), "CORSMethodNotFound"),
])
def test_firefox_checks_the_method_before_it_parses_allow_headers(failures, key):
    # nsCORSPreflightListener::CheckPreflightRequestApproved; acah-invalid-method-missing, -put-only
    assert firefox_reading(failures, None, PAGE, "omit")[0] == key


def test_preflight_with_bad_allow_headers_and_unlisted_method():
    v = Wire().preflight(URL, "PUT", "x-foo", acao(PAGE), acah("x y")).verdict
    assert (v.reason, v.firefox_reason) == ("InvalidAllowHeadersPreflightResponse", "CORSMethodNotFound")
    assert v.firefox_note == METHOD_FIRST_NOTE
    v = Wire().preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), acah("x y")).verdict
    assert (v.firefox_reason, v.firefox_note) == ("CORSInvalidAllowHeader", None)
