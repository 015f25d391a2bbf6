"""What an allowed CORS response gives the page, warnings worth fixing, and revalidations.

References: exposure, https://fetch.spec.whatwg.org/#http-access-control-expose-headers; Vary: Origin,
https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches; a 304 to a revalidation is merged into the
cached response, and that is CORS-checked (https://fetch.spec.whatwg.org/#http-network-or-cache-fetch;
Chromium's `net::HttpResponseHeaders::Update`; docs/architecture.md, theory of operation of tracker.py);
Chromium's deviations from the standard: `Access-Control-Allow-Headers: *` covering Authorization with a
deprecation warning (`PreflightResult`, services/network/cors/preflight_result.cc) and extra safelisted
request headers (`network::cors::IsCorsSafelistedHeader`, services/network/public/cpp/cors/cors.cc),
which Firefox, following https://fetch.spec.whatwg.org/#cors-safelisted-request-header, preflights;
trusting `null` as a misconfiguration, https://portswigger.net/web-security/cors.
"""

from .wire import API, PAGE, Wire, acac, acah, acao, cors_request, request, response

URL = API + "/r"


def test_allowed_response_lists_readable_and_hidden_headers():
    v = Wire().fetch("GET", URL, (), [acao("*"), ("Content-Type", "application/json"), ("X-Total", "3"),
                                      ("X-Trace", "t"), ("Access-Control-Expose-Headers", "X-Total")]).verdict
    assert "content-type" in v.exposed_headers and "x-total" in v.exposed_headers
    assert "x-trace" in v.unexposed_headers


def test_wildcard_expose_with_cookie_is_literal():
    v = Wire().fetch("GET", URL, [("Cookie", "a=1")], [acao(PAGE), acac(), ("X-Trace", "t"),
                                                       ("Access-Control-Expose-Headers", "*")]).verdict
    assert v.verdict == "allowed"
    assert "x-trace" in v.unexposed_headers


def test_echoed_origin_without_vary_is_a_warning():
    # A per-request ACAO needs Vary: Origin, or caches serve it to other origins
    # (https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches).
    v = Wire().fetch("GET", URL, (), [acao(PAGE)]).verdict
    assert v.verdict == "allowed"
    assert any("Vary" in w for w in v.warnings)


def test_echoed_origin_with_vary_origin_has_no_vary_warning():
    v = Wire().fetch("GET", URL, (), [acao(PAGE), ("Vary", "Accept-Encoding, Origin")]).verdict
    assert not any("Vary" in w for w in v.warnings)


def test_wildcard_needs_no_vary():
    v = Wire().fetch("GET", URL, (), [acao("*")]).verdict
    assert not any("Vary" in w for w in v.warnings)


def test_acao_null_is_allowed_for_a_tainted_request_but_flagged():
    # `null` matches an opaque or redirect-tainted origin (https://fetch.spec.whatwg.org/#cors-check);
    # trusting `null` is a misconfiguration (https://portswigger.net/web-security/cors).
    v = Wire().fetch("GET", URL, (), [acao("null"), ("Vary", "Origin")], origin="null").verdict
    assert v.verdict == "allowed"
    assert any("null" in w for w in v.warnings)


def test_chromium_only_safelisted_header_gets_a_firefox_note():
    # Firefox preflights DPR/Width/..., which the Fetch Standard's safelist does not list
    # (https://fetch.spec.whatwg.org/#cors-safelisted-request-header); Chromium does not
    # (`network::cors::IsCorsSafelistedHeader` safelists them).
    v = Wire().fetch("GET", URL, [("DPR", "2")], [acao("*")]).verdict
    assert v.kind == "simple"
    assert v.firefox_note and "dpr" in v.firefox_note.lower()


def test_user_agent_set_by_script_does_not_make_a_request_need_a_preflight():
    v = Wire().fetch("GET", URL, [("User-Agent", "bot/1")], [acao("*")]).verdict
    assert v.kind == "simple"


def test_request_needing_a_preflight_without_one_on_the_wire_is_flagged():
    # No earlier preflight within max-age -> "unexplained" (docs/proxy-limits.md, "Preflight-cache hits
    # from before the proxy started").
    v = Wire().fetch("PUT", URL, [("X-Foo", "1")], [acao("*")]).verdict
    assert v.kind == "actual"
    assert v.preflight_cache["state"] == "unseen"
    assert v.notes


def test_authorization_covered_by_star_carries_the_deprecation_warning():
    w = Wire()
    pre = w.preflight(URL, "GET", "authorization", acao(PAGE), acah("*"))
    assert pre.verdict.verdict == "allowed"
    assert pre.verdict.warnings
    assert pre.verdict.conditional is not None  # with credentials `*` is literal


# -- revalidation (https://fetch.spec.whatwg.org/#http-network-or-cache-fetch) ---------------------


def test_304_to_a_revalidation_is_judged_on_the_cached_response():
    w = Wire()
    first = w.fetch("GET", URL, (), [acao(PAGE), ("Vary", "Origin"), ("ETag", '"v1"')], t=0.0).verdict
    assert first.verdict == "allowed"
    d = w.observe(cors_request("GET", URL, ("If-None-Match", '"v1"'), t=10.0), response(304, ("ETag", '"v1"'), t=10.0))
    assert d.verdict.verdict == "allowed"


def test_304_with_changed_cors_headers_is_judged_on_the_merged_headers():
    w = Wire()
    w.fetch("GET", URL, (), [acao(PAGE), ("Vary", "Origin"), ("ETag", '"v1"')], t=0.0)
    d = w.observe(cors_request("GET", URL, ("If-None-Match", '"v1"'), t=10.0),
                  response(304, ("ETag", '"v1"'), acao("http://other.test"), t=10.0))
    assert (d.verdict.reason, d.verdict.failed_parameter) == ("AllowOriginMismatch", "http://other.test")


def test_unconditional_304_is_judged_as_it_is():
    # Without If-None-Match / If-Modified-Since it is no revalidation: the bare response is checked.
    w = Wire()
    d = w.observe(cors_request("GET", URL), response(304))
    assert d.verdict.reason == "MissingAllowOriginHeader"


def test_navigation_is_never_cors_checked():
    d = Wire().observe(request("GET", URL, ("Accept", "text/html"), ("Upgrade-Insecure-Requests", "1")),
                       response(200))
    assert d.verdict.verdict == "allowed"
    assert d.verdict.kind == "not-cors"
