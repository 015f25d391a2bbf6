"""The tracker: pairing preflights with actual requests, and credentials from the pairing.

References: https://fetch.spec.whatwg.org/#cors-preflight-fetch; the preflight's
Access-Control-Request-Headers is exactly the set Chromium considers CORS-unsafe, so it is the truth about
unsafe headers (`CorsUnsafeNotForbiddenRequestHeaderNames`, services/network/cors/cors_util.cc, used by
`PreflightController` in services/network/cors/preflight_controller.cc); credentials,
docs/proxy-limits.md, "Credentials"; how a preflight and its actual request are paired and judged,
docs/architecture.md, theory of operation of tracker.py; a good preflight does not excuse a bad actual
response, because `CorsURLLoader` CORS-checks the actual response again
(services/network/cors/cors_url_loader.cc).
"""

from mitmproxy_cors.engine.tracker import Tracker

from .wire import API, OTHER, PAGE, Wire, acac, acah, acam, acao, cors_request, preflight_request, response

URL = API + "/api/items/1"


def test_preflight_and_actual_are_paired_both_ways():
    w = Wire()
    pre = w.preflight(URL, "PUT", "x-foo", acao(PAGE), acam("PUT"), acah("x-foo"), t=0.0)
    act = w.fetch("PUT", URL, [("X-Foo", "1")], [acao(PAGE)], t=0.05)
    assert pre.verdict.kind == "preflight"
    assert act.verdict.kind == "actual"
    assert act.verdict.paired_flow_id == pre.verdict.flow_id
    [updated] = act.updated
    assert updated.flow_id == pre.verdict.flow_id
    assert updated.paired_flow_id == act.verdict.flow_id
    assert act.verdict.preflight_cache["state"] == "preflighted"


def test_preflight_alone_is_not_yet_paired():
    w = Wire()
    pre = w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT"))
    assert pre.verdict.paired_flow_id is None
    assert pre.updated == ()


def test_allowed_pair_is_allowed_on_both_sides():
    w = Wire()
    pre = w.preflight(URL, "DELETE", None, acao(PAGE), acam("DELETE"), t=0.0)
    act = w.fetch("DELETE", URL, (), [acao(PAGE), ("Vary", "Origin")], t=0.1)
    assert pre.verdict.verdict == "allowed"
    assert act.verdict.verdict == "allowed"
    assert act.updated[0].verdict == "allowed"


def test_good_preflight_does_not_excuse_a_bad_actual_response():
    # Chromium CORS-checks the actual response after a good preflight: an actual response without ACAO
    # was reported as MissingAllowOriginHeader (e2e case `pf-ok-actual-no-acao`).
    w = Wire()
    w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), t=0.0)
    act = w.fetch("PUT", URL, (), [], t=0.1)
    assert act.verdict.verdict == "blocked"
    assert (act.verdict.reason, act.verdict.failed_parameter) == ("MissingAllowOriginHeader", "")
    assert act.verdict.paired_flow_id is not None


def test_unrelated_flows_between_preflight_and_actual_do_not_break_pairing():
    w = Wire()
    pre = w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), t=0.0)
    w.fetch("GET", API + "/other", (), [acao("*")], t=0.01)
    w.preflight(API + "/elsewhere", "PATCH", None, acao(PAGE), acam("PATCH"), t=0.02)
    w.fetch("GET", OTHER + "/x", (), [acao("*")], t=0.03)
    act = w.fetch("PUT", URL, (), [acao(PAGE)], t=0.04)
    assert act.verdict.paired_flow_id == pre.verdict.flow_id


def test_pairing_needs_the_same_url():
    w = Wire()
    w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), t=0.0)
    act = w.fetch("PUT", URL + "?v=2", (), [acao(PAGE)], t=0.1)
    assert act.verdict.preflight_cache["state"] != "preflighted"
    assert act.updated == ()


def test_pairing_needs_the_requested_method():
    w = Wire()
    w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT, DELETE"), t=0.0)
    act = w.fetch("DELETE", URL, (), [acao(PAGE)], t=0.1)
    assert act.verdict.preflight_cache["state"] != "preflighted"


def test_pairing_needs_the_same_origin():
    w = Wire()
    w.preflight(URL, "PUT", None, acao("*"), acam("PUT"), t=0.0, origin="http://evil.test")
    act = w.fetch("PUT", URL, (), [acao("*")], t=0.1)
    assert act.verdict.preflight_cache["state"] != "preflighted"


def test_pairing_needs_the_same_client():
    w = Wire()
    w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), t=0.0, client="10.0.0.1")
    act = w.fetch("PUT", URL, (), [acao(PAGE)], t=0.1, client="10.0.0.2")
    assert act.verdict.preflight_cache["state"] != "preflighted"


def test_a_preflight_pairs_with_one_actual_request_only():
    w = Wire()
    pre = w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), ("Access-Control-Max-Age", "0"), t=0.0)
    first = w.fetch("PUT", URL, (), [acao(PAGE)], t=0.1)
    second = w.fetch("PUT", URL, (), [acao(PAGE)], t=0.2)
    assert first.verdict.paired_flow_id == pre.verdict.flow_id
    assert second.verdict.paired_flow_id != pre.verdict.flow_id


# -- failing preflights ----------------------------------------------------------------------------


def test_blocked_preflight_is_noted_as_never_followed_by_the_actual_request():
    w = Wire()
    pre = w.preflight(URL, "PUT", None, acao(PAGE), acam("GET"))
    v = pre.verdict
    assert v.verdict == "blocked"
    assert (v.reason, v.failed_parameter) == ("MethodDisallowedByPreflightResponse", "PUT")
    assert any("never sent" in n for n in v.notes)


def test_preflight_failure_is_reported_with_the_preflight_prefix():
    # The Preflight* errors start "Response to preflight request doesn't pass access control check: "
    # (docs/reasons.md, "Prefix and hint").
    w = Wire()
    v = w.preflight(URL, "PUT", None, status=500).verdict
    assert v.reason == "PreflightMissingAllowOriginHeader"
    assert "Response to preflight request doesn't pass access control check: " in v.message
    assert "No 'Access-Control-Allow-Origin' header is present on the requested resource." in v.message


def test_preflight_verdict_quotes_the_url_and_origin():
    w = Wire()
    v = w.preflight(URL, "PUT", "x-foo", acao(PAGE), acam("PUT")).verdict
    assert v.message == (
        f"Access to fetch at '{URL}' from origin '{PAGE}' has been blocked by CORS policy: "
        "Request header field x-foo is not allowed by Access-Control-Allow-Headers in preflight response.")


def test_preflight_acrh_order_decides_the_failed_parameter():
    # Chromium reported ACRH `content-type,x-a,x-b` answered by ACAH `x-a` with failedParameter
    # content-type (e2e case `several-headers-partial`).
    w = Wire()
    v = w.preflight(URL, "POST", "content-type,x-a,x-b", acao(PAGE), acah("x-a")).verdict
    assert (v.reason, v.failed_parameter) == ("HeaderDisallowedByPreflightResponse", "content-type")


# -- credentials (docs/proxy-limits.md, "Credentials") ---------------------------------------------


def test_preflight_with_unknown_credentials_gives_the_include_verdict_as_conditional():
    w = Wire()
    v = w.preflight(URL, "PUT", None, acao("*"), acam("PUT")).verdict
    assert v.verdict == "allowed"
    assert v.credentials == "unknown"
    assert v.conditional["verdict"] == "blocked"
    assert v.conditional["reason"] == "PreflightWildcardOriginNotAllowed"


def test_preflight_without_acac_is_conditionally_blocked():
    w = Wire()
    v = w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT")).verdict
    assert v.verdict == "allowed"
    assert (v.conditional["reason"], v.conditional["failed_parameter"]) == ("PreflightInvalidAllowCredentials", "")


def test_star_methods_are_conditionally_blocked_for_credentials():
    w = Wire()
    v = w.preflight(URL, "PUT", None, acao(PAGE), acac(), acam("*")).verdict
    assert v.verdict == "allowed"
    assert (v.conditional["reason"], v.conditional["failed_parameter"]) == ("MethodDisallowedByPreflightResponse", "PUT")


def test_star_headers_are_conditionally_blocked_for_credentials():
    w = Wire()
    v = w.preflight(URL, "GET", "x-foo", acao(PAGE), acac(), acah("*")).verdict
    assert v.verdict == "allowed"
    assert (v.conditional["reason"], v.conditional["failed_parameter"]) == (
        "HeaderDisallowedByPreflightResponse", "x-foo")


def test_actual_sent_after_a_preflight_that_refuses_credentials_proves_omit():
    w = Wire()
    pre = w.preflight(URL, "PUT", None, acao("*"), acam("PUT"), t=0.0)
    act = w.fetch("PUT", URL, (), [acao("*")], t=0.1)
    assert act.verdict.credentials == "omit"
    assert act.verdict.conditional is None
    [updated] = act.updated
    assert updated.flow_id == pre.verdict.flow_id
    assert updated.credentials == "omit"
    assert updated.verdict == "allowed"
    assert updated.conditional is None


def test_actual_with_cookie_makes_the_preflight_credentialed():
    w = Wire()
    w.preflight(URL, "PUT", None, acao(PAGE), acac(), acam("PUT"), t=0.0)
    act = w.fetch("PUT", URL, [("Cookie", "sid=1")], [acao(PAGE), acac()], t=0.1)
    assert act.verdict.credentials == "include"
    assert act.verdict.verdict == "allowed"
    assert act.updated[0].credentials == "include"
    assert act.updated[0].verdict == "allowed"


def test_actual_with_cookie_and_no_acac_is_blocked():
    w = Wire()
    w.preflight(URL, "PUT", None, acao(PAGE), acac(), acam("PUT"), t=0.0)
    act = w.fetch("PUT", URL, [("Cookie", "sid=1")], [acao(PAGE)], t=0.1)
    assert (act.verdict.reason, act.verdict.failed_parameter) == ("InvalidAllowCredentials", "")


def test_cached_authorization_on_the_actual_request_proves_include():
    # Authorization on the actual request but not in its preflight's ACRH -> HTTP auth cache
    # (docs/proxy-limits.md, "Credentials").
    w = Wire()
    w.preflight(URL, "PUT", None, acao(PAGE), acac(), acam("PUT"), t=0.0)
    act = w.fetch("PUT", URL, [("Authorization", "Basic dTpw")], [acao(PAGE), acac()], t=0.1)
    assert act.verdict.credentials == "include"


def test_script_set_authorization_says_nothing_about_credentials():
    w = Wire()
    w.preflight(URL, "GET", "authorization", acao(PAGE), acac(), acah("authorization"), t=0.0)
    act = w.fetch("GET", URL, [("Authorization", "Bearer t")], [acao(PAGE)], t=0.1)
    assert act.verdict.credentials == "unknown"
    assert act.verdict.conditional["reason"] == "InvalidAllowCredentials"


# -- simple requests: conditional verdicts (docs/proxy-limits.md, "Credentials") -------------------


def test_wildcard_without_credential_evidence_is_allowed_with_conditional_block():
    v = Wire().fetch("GET", URL, (), [acao("*")]).verdict
    assert v.kind == "simple"
    assert v.verdict == "allowed"
    assert v.credentials == "unknown"
    assert v.conditional["verdict"] == "blocked"
    assert (v.conditional["reason"], v.conditional["failed_parameter"]) == ("WildcardOriginNotAllowed", "")
    assert v.conditional["firefox_reason"] == "CORSNotSupportingCredentials"
    assert v.conditional["fix"]


def test_echo_without_acac_is_allowed_with_conditional_block():
    v = Wire().fetch("GET", URL, (), [acao(PAGE)]).verdict
    assert v.verdict == "allowed"
    assert v.conditional["reason"] == "InvalidAllowCredentials"


def test_echo_with_acac_true_has_no_conditional():
    v = Wire().fetch("GET", URL, (), [acao(PAGE), acac()]).verdict
    assert v.verdict == "allowed"
    assert v.conditional is None


def test_missing_acao_is_blocked_either_way_and_has_no_conditional():
    v = Wire().fetch("GET", URL, (), []).verdict
    assert v.verdict == "blocked"
    assert v.conditional is None


def test_wildcard_with_cookie_is_blocked():
    v = Wire().fetch("GET", URL, [("Cookie", "sid=1")], [acao("*"), acac()]).verdict
    assert v.verdict == "blocked"
    assert v.credentials == "include"
    assert (v.reason, v.failed_parameter) == ("WildcardOriginNotAllowed", "")
    assert v.firefox_reason == "CORSNotSupportingCredentials"


def test_simple_request_message_is_chromiums_console_text():
    v = Wire().fetch("GET", URL, (), []).verdict
    assert v.message.startswith(
        f"Access to fetch at '{URL}' from origin '{PAGE}' has been blocked by CORS policy: "
        "No 'Access-Control-Allow-Origin' header is present on the requested resource.")


# -- what is not CORS ------------------------------------------------------------------------------


def test_same_origin_request_is_not_checked():
    w = Wire()
    d = w.observe(cors_request("POST", PAGE + "/x", origin=PAGE), response(200))
    assert d.verdict.kind == "same-origin"
    assert d.verdict.verdict == "allowed"


def test_no_cors_request_is_never_blocked():
    w = Wire()
    from .wire import request
    d = w.observe(request("GET", "http://localhost:8002/i.png", ("Sec-Fetch-Mode", "no-cors"),
                          ("Sec-Fetch-Dest", "image")), response(200))
    assert d.verdict.kind == "no-cors"
    assert d.verdict.verdict == "allowed"


def test_websocket_handshake_without_acao_is_not_blocked():
    # A WebSocket handshake carries Origin but is not CORS-checked
    # (https://fetch.spec.whatwg.org/#websocket-protocol); plain ws:// to a non-trustworthy host has no
    # Sec-Fetch-Mode (Chromium's `SetFetchMetadataHeaders`, services/network/sec_header_helpers.cc).
    from .wire import request
    w = Wire()
    d = w.observe(request("GET", API + "/socket", ("Origin", PAGE), ("Connection", "Upgrade"),
                          ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                          ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")),
                  response(101, ("Upgrade", "websocket"), ("Connection", "Upgrade")))
    assert d.verdict.verdict == "allowed"
    assert d.verdict.reason is None


def test_preflight_request_shape_from_the_builder_is_classified_as_preflight():
    # Guard for the helpers themselves.
    t = Tracker()
    from mitmproxy_cors.engine.model import Exchange
    d = t.observe(Exchange("p", preflight_request(URL, "PUT"), response(204, acao(PAGE), acam("PUT"))))
    assert d.verdict.kind == "preflight"
