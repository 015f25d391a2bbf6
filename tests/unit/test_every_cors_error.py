"""Every CorsError that can be seen from the wire, reached through the tracker from wire-shaped flows.

Each scenario follows a row of Chromium's CorsError table (docs/reasons.md) or a case Chromium was
checked against (tests/e2e/README.md). The errors left out are the ones nothing on the wire can show:
InvalidResponse (DevTools uses it for warnings only), CorsDisabledScheme (decided in the renderer, before
anything is sent: docs/proxy-limits.md, "Requests the page blocks before sending"), and the Local Network
Access errors (checked before anything is sent: docs/proxy-limits.md, "Local Network Access (Private
Network Access) prompts").
"""

import pytest

from mitmproxy_cors.engine.reasons import REASONS

from .wire import (
    API, OTHER, PAGE, Wire, acac, acah, acam, acao, cors_request, preflight_request, response,
)

URL = API + "/e"
# DisallowedByMode: Chromium 156 fails mode 'same-origin' in the renderer, before anything is sent or
# after a redirect (net::ERR_ABORTED): never a CorsError a proxy could see.
NOT_ON_THE_WIRE = {"InvalidResponse", "CorsDisabledScheme", "InsecureLocalNetwork", "InvalidLocalNetworkAccess",
                   "LocalNetworkAccessPermissionDenied", "DisallowedByMode"}


def tainted_hop(w, acao_value):
    w.fetch("GET", URL, (), [acao(PAGE), ("Location", OTHER + "/x")], status=302, t=0.0)
    return w.observe(cors_request("GET", OTHER + "/x", origin="null", t=0.1), response(200, acao(acao_value), t=0.1))


# name -> (scenario(wire) -> Observation, expected (reason, failedParameter), Firefox reason, conditional?)
# "conditional": a preflight carries no credentials, so its verdict under `include` is the conditional one.
SCENARIOS = {
    "WildcardOriginNotAllowed": (
        lambda w: w.fetch("GET", URL, [("Cookie", "sid=1")], [acao("*"), acac()]),
        ("WildcardOriginNotAllowed", ""), "CORSNotSupportingCredentials", False),
    "MissingAllowOriginHeader": (
        lambda w: w.fetch("GET", URL), ("MissingAllowOriginHeader", ""), "CORSMissingAllowOrigin", False),
    "MultipleAllowOriginValues": (
        lambda w: w.fetch("GET", URL, (), [acao(PAGE), acao(PAGE)]),
        ("MultipleAllowOriginValues", f"{PAGE}, {PAGE}"), "CORSMultipleAllowOriginNotAllowed", False),
    "InvalidAllowOriginValue": (
        lambda w: w.fetch("GET", URL, (), [acao("foo")]),
        ("InvalidAllowOriginValue", "foo"), "CORSAllowOriginNotMatchingOrigin", False),
    "AllowOriginMismatch": (
        lambda w: tainted_hop(w, PAGE), ("AllowOriginMismatch", PAGE), "CORSAllowOriginNotMatchingOrigin", False),
    "InvalidAllowCredentials": (
        lambda w: w.fetch("GET", URL, [("Cookie", "sid=1")], [acao(PAGE), acac("True")]),
        ("InvalidAllowCredentials", "True"), "CORSMissingAllowCredentials", False),
    "PreflightInvalidStatus": (
        lambda w: w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), status=404),
        ("PreflightInvalidStatus", ""), "CORSPreflightDidNotSucceed", False),
    "PreflightDisallowedRedirect": (
        lambda w: w.preflight(URL, "PUT", None, acao(PAGE), ("Location", URL + "/"), status=308),
        ("PreflightDisallowedRedirect", ""), "CORSExternalRedirectNotAllowed", False),
    "PreflightWildcardOriginNotAllowed": (
        lambda w: w.preflight(URL, "PUT", None, acao("*"), acac(), acam("PUT")),
        ("PreflightWildcardOriginNotAllowed", ""), "CORSNotSupportingCredentials", True),
    "PreflightMissingAllowOriginHeader": (
        lambda w: w.preflight(URL, "PUT", None, status=404),
        ("PreflightMissingAllowOriginHeader", ""), "CORSMissingAllowOrigin", False),
    "PreflightMultipleAllowOriginValues": (
        lambda w: w.preflight(URL, "PUT", None, acao(PAGE), acao("http://x.test"), acam("PUT")),
        ("PreflightMultipleAllowOriginValues", f"{PAGE}, http://x.test"), "CORSMultipleAllowOriginNotAllowed", False),
    "PreflightInvalidAllowOriginValue": (
        lambda w: w.preflight(URL, "PUT", None, acao("foo"), acam("PUT")),
        ("PreflightInvalidAllowOriginValue", "foo"), "CORSAllowOriginNotMatchingOrigin", False),
    "PreflightAllowOriginMismatch": (
        lambda w: w.preflight(URL, "PUT", None, acao("http://A.test:8001"), acam("PUT")),
        ("PreflightAllowOriginMismatch", "http://A.test:8001"), "CORSAllowOriginNotMatchingOrigin", False),
    "PreflightInvalidAllowCredentials": (
        lambda w: w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT")),
        ("PreflightInvalidAllowCredentials", ""), "CORSMissingAllowCredentials", True),
    "InvalidAllowMethodsPreflightResponse": (
        lambda w: w.preflight(URL, "PUT", None, acao(PAGE), acam("Bad method")),
        ("InvalidAllowMethodsPreflightResponse", ""), "CORSInvalidAllowMethod", False),
    "InvalidAllowHeadersPreflightResponse": (
        lambda w: w.preflight(URL, "PUT", "x-foo", acao(PAGE), acam("PUT"), acah("x y")),
        ("InvalidAllowHeadersPreflightResponse", ""), "CORSInvalidAllowHeader", False),
    "MethodDisallowedByPreflightResponse": (
        lambda w: w.preflight(URL, "patch", None, acao(PAGE), acam("PATCH")),
        ("MethodDisallowedByPreflightResponse", "patch"), "CORSMethodNotFound", False),
    "HeaderDisallowedByPreflightResponse": (
        lambda w: w.preflight(URL, "GET", "x-foo", acao(PAGE)),
        ("HeaderDisallowedByPreflightResponse", "x-foo"), "CORSMissingAllowHeaderFromPreflight", False),
    "RedirectContainsCredentials": (
        lambda w: w.fetch("GET", URL, (), [acao(PAGE), ("Location", "http://u:p@c.test:8003/")], status=302),
        ("RedirectContainsCredentials", ""), REASONS["RedirectContainsCredentials"].firefox or None, False),
}

FIREFOX_CREDENTIALS_KEYS = ("CORSMissingAllowCredentials", "CORSMIssingAllowCredentials")


def test_scenarios_cover_every_cors_error_the_wire_can_show():
    assert set(SCENARIOS) == set(REASONS) - NOT_ON_THE_WIRE


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cors_error_is_reached(name):
    run, expected, _, is_conditional = SCENARIOS[name]
    v = run(Wire()).verdict
    if is_conditional:
        assert v.verdict == "allowed" and v.credentials == "unknown"
        assert (v.conditional["reason"], v.conditional["failed_parameter"]) == expected
    else:
        assert (v.reason, v.failed_parameter) == expected


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_blocked_verdict_carries_message_fix_and_firefox_reason(name):
    run, (reason, parameter), firefox, is_conditional = SCENARIOS[name]
    v = run(Wire()).verdict
    if is_conditional:
        c = v.conditional
        assert c["verdict"] == "blocked"
        assert REASONS[reason].console_text(parameter, v.initiator) in c["message"]
        assert c["fix"]
        got = c["firefox_reason"]
    else:
        assert v.verdict == "blocked"
        assert v.message.startswith(f"Access to {v.initiator} at '{v.url}' ")
        assert "has been blocked by CORS policy: " in v.message
        assert REASONS[reason].console_text(parameter, v.initiator) in v.message
        assert v.fix, "every blocked verdict says what to change"
        got = v.firefox_reason
    if firefox in FIREFOX_CREDENTIALS_KEYS:
        assert got in FIREFOX_CREDENTIALS_KEYS
    else:
        assert got == firefox


def test_single_line_comma_list_is_a_mismatch_for_firefox():
    # Firefox calls a comma list in one line CORSAllowOriginNotMatchingOrigin and keeps
    # CORSMultipleAllowOriginNotAllowed for two header lines (netwerk/protocol/http/nsCORSListenerProxy.cpp;
    # https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CORS/Errors).
    v = Wire().fetch("GET", URL, (), [acao(f"{PAGE}, http://x.test")]).verdict
    assert v.reason == "MultipleAllowOriginValues"
    assert v.firefox_reason == "CORSAllowOriginNotMatchingOrigin"


def test_preflight_request_shape_is_judged_as_preflight():
    d = Wire().observe(preflight_request(URL, "PUT"), response(204, acao(PAGE), acam("PUT")))
    assert d.verdict.kind == "preflight" and d.verdict.verdict == "allowed"
