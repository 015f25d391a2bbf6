"""The reasons catalogue against Chromium's `network::mojom::CorsError` (services/network/public/mojom/cors.mojom),
its console texts (third_party/blink/renderer/platform/loader/cors/cors_error_string.cc) and Firefox's reasons
(https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CORS/Errors)."""

import re

import pytest

from mitmproxy_cors.engine.reasons import FETCH_HINT, PREFLIGHT_PREFIX, PREFLIGHT_VARIANT, REASONS
from mitmproxy_cors.engine.verdict import firefox_reason

# name -> number: the current `network::mojom::CorsError` enum, values 0-24, as DevTools reports it
# (https://chromedevtools.github.io/devtools-protocol/tot/Network/#type-CorsError).
ENUM = {
    "DisallowedByMode": 0, "InvalidResponse": 1, "WildcardOriginNotAllowed": 2, "MissingAllowOriginHeader": 3,
    "MultipleAllowOriginValues": 4, "InvalidAllowOriginValue": 5, "AllowOriginMismatch": 6,
    "InvalidAllowCredentials": 7, "CorsDisabledScheme": 8, "PreflightInvalidStatus": 9,
    "PreflightDisallowedRedirect": 10, "PreflightWildcardOriginNotAllowed": 11,
    "PreflightMissingAllowOriginHeader": 12, "PreflightMultipleAllowOriginValues": 13,
    "PreflightInvalidAllowOriginValue": 14, "PreflightAllowOriginMismatch": 15,
    "PreflightInvalidAllowCredentials": 16, "InvalidAllowMethodsPreflightResponse": 17,
    "InvalidAllowHeadersPreflightResponse": 18, "MethodDisallowedByPreflightResponse": 19,
    "HeaderDisallowedByPreflightResponse": 20, "RedirectContainsCredentials": 21, "InsecureLocalNetwork": 22,
    "InvalidLocalNetworkAccess": 23, "LocalNetworkAccessPermissionDenied": 24,
}

WILDCARD = ("The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' "
            "when the request's credentials mode is 'include'.")
MISSING = "No 'Access-Control-Allow-Origin' header is present on the requested resource."
MULTIPLE = "The 'Access-Control-Allow-Origin' header contains multiple values 'a, b', but only one is allowed."
INVALID = "The 'Access-Control-Allow-Origin' header contains the invalid value 'foo'."
MISMATCH = "The 'Access-Control-Allow-Origin' header has a value 'http://x.test' that is not equal to the supplied origin."
CREDS = ("The value of the 'Access-Control-Allow-Credentials' header in the response is 'True' which must be "
         "'true' when the request's credentials mode is 'include'.")
HINT = " Have the server send the header with a valid value."

# (reason, failed parameter) -> console text for a fetch() initiator, as cors_error_string.cc words it
# (the preflight prefix included where Chromium prints it).
CONSOLE = [
    ("DisallowedByMode", "", "Cross origin requests are not allowed by request mode."),
    ("InvalidResponse", "", "The response is invalid."),
    ("WildcardOriginNotAllowed", "", WILDCARD),
    ("MissingAllowOriginHeader", "", MISSING),
    ("MultipleAllowOriginValues", "a, b", MULTIPLE + HINT),
    ("InvalidAllowOriginValue", "foo", INVALID + HINT),
    ("AllowOriginMismatch", "http://x.test", MISMATCH + HINT),
    ("InvalidAllowCredentials", "True", CREDS),
    ("PreflightInvalidStatus", "", PREFLIGHT_PREFIX + "It does not have HTTP ok status."),
    ("PreflightDisallowedRedirect", "", PREFLIGHT_PREFIX + "Redirect is not allowed for a preflight request."),
    ("PreflightWildcardOriginNotAllowed", "", PREFLIGHT_PREFIX + WILDCARD),
    ("PreflightMissingAllowOriginHeader", "", PREFLIGHT_PREFIX + MISSING),
    ("PreflightMultipleAllowOriginValues", "a, b", PREFLIGHT_PREFIX + MULTIPLE + HINT),
    ("PreflightInvalidAllowOriginValue", "foo", PREFLIGHT_PREFIX + INVALID + HINT),
    ("PreflightAllowOriginMismatch", "http://x.test", PREFLIGHT_PREFIX + MISMATCH + HINT),
    ("PreflightInvalidAllowCredentials", "True", PREFLIGHT_PREFIX + CREDS),
    ("InvalidAllowMethodsPreflightResponse", "",
     "Cannot parse Access-Control-Allow-Methods response header field in preflight response."),
    ("InvalidAllowHeadersPreflightResponse", "",
     "Cannot parse Access-Control-Allow-Headers response header field in preflight response."),
    ("MethodDisallowedByPreflightResponse", "PUT",
     "Method PUT is not allowed by Access-Control-Allow-Methods in preflight response."),
    ("HeaderDisallowedByPreflightResponse", "x-foo",
     "Request header field x-foo is not allowed by Access-Control-Allow-Headers in preflight response."),
    ("RedirectContainsCredentials", "",
     "Redirect location '' contains a username and password, which is disallowed for cross-origin requests."),
    ("InsecureLocalNetwork", "loopback",
     "The request client is not a secure context and the resource is in more-private address space `loopback`."),
    ("LocalNetworkAccessPermissionDenied", "local",
     "Permission was denied for this request to access the `local` address space."),
]

# The nearest Firefox reason, as MDN page names (https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CORS/Errors);
# None = no Firefox reason.
FIREFOX = {
    "DisallowedByMode": None,
    "WildcardOriginNotAllowed": "CORSNotSupportingCredentials",
    "MissingAllowOriginHeader": "CORSMissingAllowOrigin",
    "MultipleAllowOriginValues": "CORSMultipleAllowOriginNotAllowed",
    "InvalidAllowOriginValue": "CORSAllowOriginNotMatchingOrigin",
    "AllowOriginMismatch": "CORSAllowOriginNotMatchingOrigin",
    "InvalidAllowCredentials": ("CORSMissingAllowCredentials", "CORSMIssingAllowCredentials"),
    "CorsDisabledScheme": "CORSRequestNotHttp",
    "PreflightInvalidStatus": "CORSPreflightDidNotSucceed",
    "PreflightDisallowedRedirect": "CORSExternalRedirectNotAllowed",
    "PreflightWildcardOriginNotAllowed": "CORSNotSupportingCredentials",
    "PreflightMissingAllowOriginHeader": "CORSMissingAllowOrigin",
    "PreflightMultipleAllowOriginValues": "CORSMultipleAllowOriginNotAllowed",
    "PreflightInvalidAllowOriginValue": "CORSAllowOriginNotMatchingOrigin",
    "PreflightAllowOriginMismatch": "CORSAllowOriginNotMatchingOrigin",
    "PreflightInvalidAllowCredentials": ("CORSMissingAllowCredentials", "CORSMIssingAllowCredentials"),
    "InvalidAllowMethodsPreflightResponse": "CORSInvalidAllowMethod",
    "InvalidAllowHeadersPreflightResponse": "CORSInvalidAllowHeader",
    "MethodDisallowedByPreflightResponse": "CORSMethodNotFound",
    "HeaderDisallowedByPreflightResponse": "CORSMissingAllowHeaderFromPreflight",
    "InsecureLocalNetwork": None,
    "InvalidLocalNetworkAccess": None,
    "LocalNetworkAccessPermissionDenied": None,
}

# Firefox's reason texts (dom/locales/en-US/chrome/security/security.properties; the MDN pages), without
# the "Cross-Origin Request Blocked: ..." frame.
FIREFOX_TEXT = {
    "CORSDidNotSucceed": "CORS request did not succeed",
    "CORSRequestNotHttp": "CORS request not http",
    "CORSMissingAllowOrigin": "CORS header 'Access-Control-Allow-Origin' missing",
    "CORSMultipleAllowOriginNotAllowed": "Multiple CORS header 'Access-Control-Allow-Origin' not allowed",
    "CORSAllowOriginNotMatchingOrigin": "CORS header 'Access-Control-Allow-Origin' does not match 'xyz'",
    "CORSNotSupportingCredentials":
        "Credential is not supported if the CORS header 'Access-Control-Allow-Origin' is '*'",
    "CORSMethodNotFound": "Did not find method in CORS header 'Access-Control-Allow-Methods'",
    "CORSMissingAllowCredentials": "expected 'true' in CORS header 'Access-Control-Allow-Credentials'",
    "CORSPreflightDidNotSucceed": "CORS preflight response did not succeed",
    "CORSInvalidAllowMethod": "invalid token 'xyz' in CORS header 'Access-Control-Allow-Methods'",
    "CORSInvalidAllowHeader": "invalid token 'xyz' in CORS header 'Access-Control-Allow-Headers'",
    "CORSMissingAllowHeaderFromPreflight":
        "header 'xyz' is not allowed according to header 'Access-Control-Allow-Headers' from CORS preflight response",
    "CORSExternalRedirectNotAllowed": "CORS request external redirect not allowed",
}


def test_catalogue_has_every_current_cors_error_with_its_enum_value():
    assert {name: r.number for name, r in REASONS.items() if r.number >= 0} == ENUM


def test_preflight_prefix_exactly_on_the_dagger_rows():
    # CorsError 9-16 (the Preflight* origin, credentials, status and redirect errors) carry
    # "Response to preflight request doesn't pass access control check: " (cors_error_string.cc).
    for name, r in REASONS.items():
        assert r.preflight_prefix == (9 <= r.number <= 16), name


@pytest.mark.parametrize("name, parameter, text", CONSOLE, ids=[c[0] for c in CONSOLE])
def test_console_text(name, parameter, text):
    assert REASONS[name].console_text(parameter, "fetch") == text


def test_preflight_prefix_text():
    assert PREFLIGHT_PREFIX == "Response to preflight request doesn't pass access control check: "
    assert FETCH_HINT == HINT


def test_invalid_local_network_access_text_names_both_address_spaces():
    # CorsError 23: "Request had a target IP address space of `<x>` yet the resource is in address space `<y>`."
    text = REASONS["InvalidLocalNetworkAccess"].console_text("local", "fetch")
    assert re.fullmatch(r"Request had a target IP address space of `local` yet the resource is in address "
                        r"space `[a-z-]+`\.", text), text


def test_cors_disabled_scheme_network_text():
    text = REASONS["CorsDisabledScheme"].console_text("", "fetch")
    assert text.startswith("Cross origin requests are only supported for protocol schemes: ")
    assert "http" in text and "https" in text and text.endswith(".")


@pytest.mark.parametrize("name", ["MultipleAllowOriginValues", "InvalidAllowOriginValue", "AllowOriginMismatch"])
def test_fetch_hint_only_for_fetch_initiators(name):
    # The hint is appended for fetch() initiators only (cors_error_string.cc; docs/reasons.md, "Prefix and
    # hint").
    assert REASONS[name].console_text("v", "fetch").endswith(HINT)
    assert not REASONS[name].console_text("v", "image").endswith(HINT)
    assert not REASONS[name].console_text("v", "script").endswith(HINT)


@pytest.mark.parametrize("name", [n for n in ENUM if n not in (
    "MultipleAllowOriginValues", "InvalidAllowOriginValue", "AllowOriginMismatch",
    "PreflightMultipleAllowOriginValues", "PreflightInvalidAllowOriginValue", "PreflightAllowOriginMismatch")])
def test_no_fetch_hint_elsewhere(name):
    assert not REASONS[name].console_text("v", "fetch").endswith(HINT)


@pytest.mark.parametrize("name", sorted(FIREFOX))
def test_firefox_reason(name):
    expected = FIREFOX[name]
    got = REASONS[name].firefox or None
    if isinstance(expected, tuple):
        assert got in expected
    else:
        assert got == expected
    assert firefox_reason(name) == got


def test_invalid_response_maps_to_did_not_succeed():
    assert REASONS["InvalidResponse"].firefox in ("CORSDidNotSucceed", "CORSPreflightDidNotSucceed")


@pytest.mark.parametrize("name", [n for n in REASONS if REASONS[n].firefox])
def test_firefox_text_matches_firefox(name):
    r = REASONS[name]
    key = r.firefox if r.firefox != "CORSMIssingAllowCredentials" else "CORSMissingAllowCredentials"
    expected = FIREFOX_TEXT[key]
    # Parameterised texts: compare with the placeholder filled in.
    assert r.firefox_text.format(p="xyz").lower() == expected.lower()


@pytest.mark.parametrize("name", sorted(REASONS))
def test_every_reason_has_a_meaning_and_a_fix(name):
    r = REASONS[name]
    assert r.meaning.strip()
    assert r.fix.strip()


@pytest.mark.parametrize("name, words", [
    ("WildcardOriginNotAllowed", ["Origin", "Access-Control-Allow-Credentials", "Vary"]),
    ("MissingAllowOriginHeader", ["Access-Control-Allow-Origin"]),
    ("MultipleAllowOriginValues", ["one"]),
    ("AllowOriginMismatch", ["Origin"]),
    ("InvalidAllowCredentials", ["Access-Control-Allow-Credentials: true"]),
    ("PreflightInvalidStatus", ["OPTIONS", "204"]),
    ("PreflightDisallowedRedirect", ["OPTIONS"]),
    ("PreflightInvalidAllowCredentials", ["Access-Control-Allow-Credentials: true", "OPTIONS"]),
    ("MethodDisallowedByPreflightResponse", ["Access-Control-Allow-Methods"]),
    ("HeaderDisallowedByPreflightResponse", ["Access-Control-Allow-Headers"]),
    ("RedirectContainsCredentials", ["Location"]),
])
def test_fix_names_what_to_change(name, words):
    for word in words:
        assert word in REASONS[name].fix, (name, word)


def test_preflight_variants_of_the_access_check():
    assert PREFLIGHT_VARIANT == {
        "WildcardOriginNotAllowed": "PreflightWildcardOriginNotAllowed",
        "MissingAllowOriginHeader": "PreflightMissingAllowOriginHeader",
        "MultipleAllowOriginValues": "PreflightMultipleAllowOriginValues",
        "InvalidAllowOriginValue": "PreflightInvalidAllowOriginValue",
        "AllowOriginMismatch": "PreflightAllowOriginMismatch",
        "InvalidAllowCredentials": "PreflightInvalidAllowCredentials",
    }


def test_firefox_reason_of_nothing_is_none():
    assert firefox_reason(None) is None
    assert firefox_reason("NotAReason") is None


def test_the_one_line_fix_names_the_response_to_change():
    """The comment, mitmdump's line and the summary say which response each step changes."""
    from mitmproxy_cors.engine.verdict import FixStep, steps_text

    steps = [FixStep("redirect", "add", "Access-Control-Allow-Origin", "http://a"),
             FixStep("preflight", "add", "Access-Control-Allow-Origin", "http://a"),
             FixStep("preflight", "add", "Access-Control-Allow-Methods", "PUT"),
             FixStep("actual", "status", None, "200")]
    assert steps_text(steps) == ("on the redirect response: add Access-Control-Allow-Origin: http://a; "
                                 "on the preflight response: add Access-Control-Allow-Origin: http://a, "
                                 "add Access-Control-Allow-Methods: PUT; "
                                 "on the actual response: answer the actual with status 200")
