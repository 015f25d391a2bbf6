"""Redirect chains of CORS requests through the tracker.

References: https://fetch.spec.whatwg.org/#http-redirect-fetch, and how Chromium follows redirects:
`CorsURLLoader::OnReceiveRedirect` (services/network/cors/cors_url_loader.cc: CORS check on the redirect,
then userinfo, then taint; the request is re-issued, with a new preflight if needed) and
`PreflightController` (a redirected preflight fails first of all; services/network/cors/preflight_controller.cc);
the reasons DisallowedByMode, PreflightDisallowedRedirect and RedirectContainsCredentials in
docs/reasons.md; `null` matches a tainted origin in `network::cors::CheckAccess`
(services/network/public/cpp/cors/cors.cc); WPT fetch/api/cors/cors-redirect.any.js,
cors-redirect-credentials.any.js and cors-preflight-redirect.any.js. What Chromium 156 did is checked by
the e2e cases `redir-*` and `pf-redirect-*` (tests/e2e/README.md).
"""

from .wire import API, OTHER, PAGE, Wire, acam, acao, cors_request, preflight_request, request, response

FIRST = API + "/redirect"
SECOND = OTHER + "/final"


def location(url):
    return ("Location", url)


def test_redirect_without_acao_is_blocked_as_missing_allow_origin():
    # Each redirect of a CORS-flagged request must pass the CORS check (`CorsURLLoader::OnReceiveRedirect`);
    # Chromium reported a redirect without ACAO as MissingAllowOriginHeader (e2e case `redir-no-acao-on-3xx`).
    v = Wire().fetch("GET", FIRST, (), [location(SECOND)], status=302).verdict
    assert v.verdict == "blocked"
    assert (v.reason, v.failed_parameter) == ("MissingAllowOriginHeader", "")
    # Chromium's message names the redirecting URL.
    assert f"at '{FIRST}'" in v.message


def test_redirect_with_acao_is_allowed_and_announces_the_null_origin():
    v = Wire().fetch("GET", FIRST, (), [acao(PAGE), location(SECOND)], status=302).verdict
    assert v.verdict == "allowed"
    assert any("Origin: null" in n for n in v.notes)


def test_tainted_hop_with_acao_null_passes():
    # Seen in Chromium: the second hop carries Origin: null and passes with ACAO null (e2e case
    # `redir-api2-acao-null`).
    w = Wire()
    first = w.fetch("GET", FIRST, (), [acao(PAGE), location(SECOND)], status=302, t=0.0)
    second = w.fetch("GET", SECOND, (), [acao("null")], origin="null", t=0.1).verdict
    assert second.verdict == "allowed"
    assert second.origin == "null"
    assert second.redirected_from == first.verdict.flow_id


def test_tainted_hop_with_echoed_null_passes():
    w = Wire()
    w.fetch("GET", FIRST, (), [acao(PAGE), location(SECOND)], status=307, t=0.0)
    assert w.fetch("GET", SECOND, (), [acao("null")], origin="null", t=0.1).verdict.verdict == "allowed"


def test_tainted_hop_with_wildcard_passes_without_credentials():
    w = Wire()
    w.fetch("GET", FIRST, (), [acao(PAGE), location(SECOND)], status=302, t=0.0)
    assert w.fetch("GET", SECOND, (), [acao("*")], origin="null", t=0.1).verdict.verdict == "allowed"


def test_tainted_hop_with_the_page_origin_is_a_mismatch():
    w = Wire()
    w.fetch("GET", FIRST, (), [acao(PAGE), location(SECOND)], status=302, t=0.0)
    v = w.fetch("GET", SECOND, (), [acao(PAGE)], origin="null", t=0.1).verdict
    assert (v.reason, v.failed_parameter) == ("AllowOriginMismatch", PAGE)


def test_blocked_final_hop_names_the_first_url():
    # Chromium's console format: "Access to fetch at '<url>' (redirected from '<first url>') from origin ...".
    w = Wire()
    w.fetch("GET", FIRST, (), [acao(PAGE), location(SECOND)], status=302, t=0.0)
    v = w.fetch("GET", SECOND, (), [], origin="null", t=0.1).verdict
    assert v.reason == "MissingAllowOriginHeader"
    assert f"at '{SECOND}' (redirected from '{FIRST}') from origin" in v.message


def test_redirect_chain_of_three_hops_keeps_the_first_url():
    w = Wire()
    third = OTHER + "/third"
    w.fetch("GET", FIRST, (), [acao(PAGE), location(SECOND)], status=302, t=0.0)
    w.fetch("GET", SECOND, (), [acao("null"), location(third)], status=302, origin="null", t=0.1)
    v = w.fetch("GET", third, (), [], origin="null", t=0.2).verdict
    assert f"(redirected from '{FIRST}')" in v.message


def test_redirect_within_the_same_cross_origin_keeps_the_page_origin():
    w = Wire()
    first = w.fetch("GET", FIRST, (), [acao(PAGE), location(API + "/moved")], status=301, t=0.0)
    assert not any("Origin: null" in n for n in first.verdict.notes)
    v = w.fetch("GET", API + "/moved", (), [acao(PAGE)], t=0.1).verdict
    assert v.verdict == "allowed"
    assert v.redirected_from == first.verdict.flow_id


def test_redirect_back_to_the_page_origin_is_still_cors_with_origin_null():
    # The CORS flag stays set (`CorsURLLoader::SetCorsFlagIfNeeded` returns early once it is set); WPT
    # fetch/api/cors/cors-redirect.any.js "cors to same origin" expects Origin: null.
    w = Wire()
    w.fetch("GET", FIRST, (), [acao(PAGE), location(PAGE + "/back")], status=302, t=0.0)
    v = w.fetch("GET", PAGE + "/back", (), [], origin="null", t=0.1).verdict
    assert v.verdict == "blocked"
    assert v.reason == "MissingAllowOriginHeader"


def test_redirect_location_with_userinfo_is_blocked():
    # Chromium reported a Location with u:p@ as RedirectContainsCredentials / "", its message quoting ''
    # (e2e case `redir-userinfo-api2`).
    v = Wire().fetch("GET", FIRST, (), [acao(PAGE), location("http://u:p@c.test:8003/final")], status=302).verdict
    assert (v.reason, v.failed_parameter) == ("RedirectContainsCredentials", "")
    assert v.message.endswith("Redirect location '' contains a username and password, which is disallowed "
                              "for cross-origin requests.")


def test_cors_check_on_the_redirect_comes_before_the_userinfo_check():
    # `CorsURLLoader::OnReceiveRedirect` order: CORS check on the redirect -> ... -> userinfo.
    v = Wire().fetch("GET", FIRST, (), [location("http://u:p@c.test:8003/final")], status=302).verdict
    assert v.reason == "MissingAllowOriginHeader"


def test_same_origin_request_redirected_to_userinfo_location_is_blocked():
    # https://fetch.spec.whatwg.org/#http-redirect-fetch: mode cors and the location is cross-origin to the
    # request origin -> network error.
    local = "http://localhost:8001"
    req = request("GET", local + "/r", ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty"),
                  ("Sec-Fetch-Site", "same-origin"))
    v = Wire().observe(req, response(302, location("http://u:p@localhost:8002/x"))).verdict
    assert (v.reason, v.failed_parameter) == ("RedirectContainsCredentials", "")


def test_same_origin_mode_redirected_to_another_origin_fails_without_a_cors_error():
    # `CorsURLLoader`'s code suggests DisallowedByMode, but Chromium 156 aborts such a fetch in the renderer
    # (net::ERR_ABORTED, no corsErrorStatus; e2e case same-origin-mode-redirect-to-api): the page
    # cannot read it, and it is not a CORS error. The next hop never reaches the wire.
    local = "http://localhost:8001"
    req = request("GET", local + "/r", ("Sec-Fetch-Mode", "same-origin"), ("Sec-Fetch-Dest", "empty"),
                  ("Sec-Fetch-Site", "same-origin"))
    v = Wire().observe(req, response(302, location("http://localhost:8002/x"))).verdict
    assert v.verdict == "blocked"
    assert v.reason is None and not v.blocked
    assert "ERR_ABORTED" in v.cause
    assert v.summary().startswith("CORS n/a")


def test_same_origin_mode_redirect_within_the_origin_is_fine():
    local = "http://localhost:8001"
    req = request("GET", local + "/r", ("Sec-Fetch-Mode", "same-origin"), ("Sec-Fetch-Dest", "empty"))
    v = Wire().observe(req, response(302, location(local + "/x"))).verdict
    assert v.verdict == "allowed"


# -- preflights and redirects (https://fetch.spec.whatwg.org/#http-redirect-fetch) -----------------
# A preflight may not redirect (`PreflightController`); Chromium follows a redirect of the actual request
# after a good preflight and preflights the new URL if needed, as current Fetch does (WPT
# fetch/api/cors/cors-preflight-redirect.any.js still expects the older behaviour).


def test_preflight_redirect_is_disallowed():
    w = Wire()
    v = w.preflight(FIRST, "PUT", None, acao(PAGE), acam("PUT"), location(SECOND), status=302).verdict
    assert v.verdict == "blocked"
    assert (v.reason, v.failed_parameter) == ("PreflightDisallowedRedirect", "")
    assert "Response to preflight request doesn't pass access control check: Redirect is not allowed for a " \
           "preflight request." in v.message
    assert v.firefox_reason == "CORSExternalRedirectNotAllowed"


def test_preflight_redirect_wins_over_a_missing_acao():
    v = Wire().preflight(FIRST, "PUT", None, location(SECOND), status=301).verdict
    assert v.reason == "PreflightDisallowedRedirect"


def test_preflight_3xx_without_location_is_an_invalid_status():
    v = Wire().preflight(FIRST, "PUT", None, acao(PAGE), acam("PUT"), status=302).verdict
    assert v.reason == "PreflightInvalidStatus"


def test_actual_request_redirected_after_a_good_preflight_is_preflighted_again_with_origin_null():
    # Seen in Chromium: a 307 after a good preflight, to another origin -> a new OPTIONS to c.test with
    # Origin: null (e2e case `redir-307-put-preflight-api2`).
    w = Wire()
    w.preflight(FIRST, "PUT", None, acao(PAGE), acam("PUT"), t=0.0)
    first = w.fetch("PUT", FIRST, (), [acao(PAGE), location(SECOND)], status=307, t=0.1)
    assert first.verdict.verdict == "allowed"
    pre2 = w.observe(preflight_request(SECOND, "PUT", origin="null", t=0.2),
                     response(204, acao("null"), acam("PUT"), t=0.2))
    assert pre2.verdict.verdict == "allowed"
    final = w.observe(cors_request("PUT", SECOND, origin="null", t=0.3), response(200, acao("null"), t=0.3))
    assert final.verdict.verdict == "allowed"
    assert final.verdict.paired_flow_id == pre2.verdict.flow_id
    assert final.verdict.redirected_from == first.verdict.flow_id


def test_second_preflight_for_a_tainted_hop_needs_acao_null():
    w = Wire()
    v = w.observe(preflight_request(SECOND, "PUT", origin="null"), response(204, acao(PAGE), acam("PUT"))).verdict
    assert (v.reason, v.failed_parameter) == ("PreflightAllowOriginMismatch", PAGE)


# -- 300, empty userinfo, credentials in a Location no CORS check covers (issue 15) -----------------------

def test_a_300_with_location_is_a_response_not_a_redirect():
    # Chromium follows only 301/302/303/307/308 (e2e cases get-300-location-*): a Location with
    # credentials on a 300 changes nothing, the page reads the 300.
    v = Wire().fetch("GET", FIRST, (), [acao(PAGE), location("http://u:p@c.test:8003/")], status=300).verdict
    assert v.verdict == "allowed"


def test_a_preflight_answered_300_with_location_is_an_invalid_status():
    v = Wire().preflight(FIRST, "PUT", None, acao(PAGE), acam("PUT"), location(SECOND), status=300).verdict
    assert v.reason == "PreflightInvalidStatus"  # e2e case pf-300-location


def test_an_empty_userinfo_is_no_credentials_and_the_next_hop_pairs():
    w = Wire()
    first = w.fetch("GET", FIRST, (), [acao(PAGE), location("http://@c.test:8003/final")], status=302, t=0.0)
    assert first.verdict.verdict == "allowed"  # e2e case redir-userinfo-empty
    second = w.fetch("GET", SECOND, (), [acao("*")], origin="null", t=0.1).verdict
    assert second.redirected_from == first.verdict.flow_id


def _same_origin_get(url: str, *extra):
    # A same-origin fetch() to a plain-http host that is not potentially trustworthy: no Origin, no
    # Sec-Fetch-*, the page's URL as Referer.
    return request("GET", url, ("Accept", "*/*"), ("Referer", PAGE + "/app"), *extra)


def test_plain_http_same_origin_fetch_redirected_to_another_origin_with_credentials():
    # Chromium: RedirectContainsCredentials (tests/e2e/test_plain_http_chromium.py)
    v = Wire().observe(_same_origin_get(PAGE + "/r"), response(302, location("http://u:p@c.test:8003/x"))).verdict
    assert (v.verdict, v.reason) == ("blocked", "RedirectContainsCredentials")
    assert v.mode == "cors" and v.mode_source.startswith("assumed")


def test_plain_http_image_redirected_with_credentials_is_aborted_not_cors():
    req = request("GET", PAGE + "/i.gif", ("Accept", "image/avif,image/webp,*/*"), ("Referer", PAGE + "/app"))
    v = Wire().observe(req, response(302, location("http://u:p@c.test:8003/x.gif"))).verdict
    assert v.verdict == "blocked" and v.reason is None and "ERR_ABORTED" in v.cause


def test_plain_http_navigation_redirected_with_credentials_is_followed():
    req = request("GET", PAGE + "/", ("Accept", "text/html,*/*"), ("Upgrade-Insecure-Requests", "1"))
    v = Wire().observe(req, response(302, location("http://u:p@c.test:8003/"))).verdict
    assert v.verdict == "allowed"


def test_same_origin_fetch_redirected_within_its_origin_with_credentials_is_aborted():
    # e2e case redir-from-page-to-page-userinfo: Blink blocks the credentialed subresource URL
    req = request("GET", PAGE + "/r", ("Accept", "*/*"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty"))
    v = Wire().observe(req, response(302, location("http://u:p@a.test:8001/x"))).verdict
    assert v.verdict == "blocked" and v.reason is None and "ERR_ABORTED" in v.cause and v.warnings


def test_no_cors_and_iframe_redirects_with_credentials_are_aborted():
    nocors = request("GET", API + "/r", ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "empty"))
    frame = request("GET", API + "/r", ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "iframe"))
    top = request("GET", API + "/r", ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document"))
    w = Wire()
    for req, blocked in ((nocors, True), (frame, True), (top, False)):
        v = w.observe(req, response(302, location("http://u:p@c.test:8003/x"))).verdict
        assert (v.verdict == "blocked") == blocked and v.reason is None


# -- a Location that is not http(s) (e2e cases redir-scheme-*) -----------------------------------------------

def test_cors_redirect_to_another_scheme_is_cors_disabled_scheme_after_the_cors_check():
    w = Wire()
    v = w.fetch("GET", FIRST, (), [acao(PAGE), location("ftp://c.test/x")], status=302).verdict
    assert (v.reason, v.failed_parameter) == ("CorsDisabledScheme", "")
    v = w.fetch("GET", FIRST + "2", (), [location("ftp://c.test/x")], status=302).verdict
    assert v.reason == "MissingAllowOriginHeader"  # the redirect response's CORS check comes first


def test_redirect_to_data_about_or_file_is_an_unsafe_redirect_in_every_mode():
    w = Wire()
    cors = w.fetch("GET", FIRST, (), [acao(PAGE), location("data:text/plain,x")], status=302).verdict
    nocors = w.observe(request("GET", API + "/n", ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")),
                       response(302, location("file:///etc/hosts"))).verdict
    for v in (cors, nocors):
        assert v.verdict == "blocked" and v.reason is None and "ERR_UNSAFE_REDIRECT" in v.cause
    assert (cors.kind, nocors.kind) == ("simple", "no-cors")


def test_no_cors_redirect_to_another_scheme_is_an_unknown_scheme():
    v = Wire().observe(request("GET", API + "/n", ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")),
                       response(302, location("ftp://c.test/x"))).verdict
    assert v.verdict == "blocked" and v.reason is None and "ERR_UNKNOWN_URL_SCHEME" in v.cause


def test_same_origin_fetch_redirected_to_another_scheme():
    req = request("GET", PAGE + "/r", ("Accept", "*/*"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty"))
    v = Wire().observe(req, response(302, location("javascript:1"))).verdict
    assert v.reason == "CorsDisabledScheme"


def test_top_level_navigation_redirected_to_another_scheme_is_left_alone():
    req = request("GET", API + "/", ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document"))
    assert Wire().observe(req, response(302, location("mailto:a@b.test"))).verdict.verdict == "allowed"
