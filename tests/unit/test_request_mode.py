"""Classifying a request from the wire and what it proves about credentials.

References: request modes, https://fetch.spec.whatwg.org/#concept-request-mode; when Chromium adds
`Origin`, `CorsURLLoader::StartRequest` in services/network/cors/cors_url_loader.cc (the standard's rule is
https://fetch.spec.whatwg.org/#origin-header); `Sec-Fetch-*`, `SetFetchMetadataHeaders` in
services/network/sec_header_helpers.cc (sent only to potentially trustworthy targets); what the wire
proves about credentials, docs/proxy-limits.md, "Credentials".
"""

from mitmproxy_cors.engine.request_mode import classify, credentials_evidence

from .wire import API, PAGE, cors_request, preflight_request, request

# -- preflights ------------------------------------------------------------------------------------


def test_options_with_origin_and_acrm_is_a_preflight():
    facts = classify(preflight_request(API + "/x", "PUT", "x-b,content-type"))
    assert facts.kind == "preflight"
    assert facts.mode == "cors"
    assert facts.acrm == "PUT"
    assert facts.acrh == ("content-type", "x-b")
    assert facts.origin.serialize() == PAGE


def test_preflight_keeps_the_method_as_sent():
    assert classify(preflight_request(API + "/x", "patch")).acrm == "patch"


def test_preflight_without_acrh_has_no_unsafe_headers():
    assert classify(preflight_request(API + "/x", "PUT")).acrh == ()


def test_options_without_acrm_is_not_a_preflight():
    facts = classify(request("OPTIONS", API + "/x", ("Origin", PAGE)))
    assert facts.kind != "preflight"


def test_options_with_acrm_but_no_origin_is_not_a_preflight():
    facts = classify(request("OPTIONS", API + "/x", ("Access-Control-Request-Method", "PUT")))
    assert facts.kind != "preflight"


def test_tainted_preflight_has_the_opaque_origin():
    facts = classify(preflight_request(API + "/x", "PUT", origin="null"))
    assert facts.kind == "preflight" and facts.origin.opaque


# -- with Sec-Fetch-Mode (https://w3c.github.io/webappsec-fetch-metadata/#sec-fetch-mode-header) ---

LOCAL_PAGE = "http://localhost:8001"
LOCAL_API = "http://localhost:8002"


def sfm_request(method, url, mode, *headers, origin=LOCAL_PAGE, dest="empty"):
    base = [("Sec-Fetch-Mode", mode), ("Sec-Fetch-Dest", dest), ("Sec-Fetch-Site", "same-site")]
    if origin is not None:
        base.append(("Origin", origin))
    return request(method, url, *base, *headers)


def test_sec_fetch_mode_cors_cross_origin_is_cors():
    facts = classify(sfm_request("GET", LOCAL_API + "/x", "cors"))
    assert facts.kind == "cors" and facts.mode == "cors"
    assert "Sec-Fetch-Mode" in facts.mode_source


def test_sec_fetch_mode_no_cors_is_never_cors_checked():
    assert classify(sfm_request("GET", LOCAL_API + "/img.png", "no-cors", origin=None, dest="image")).kind == "no-cors"
    # A no-cors POST carries Origin (`CorsURLLoader::StartRequest`) but is still no-cors.
    assert classify(sfm_request("POST", LOCAL_API + "/beacon", "no-cors")).kind == "no-cors"


def test_sec_fetch_mode_navigate_is_not_cors():
    facts = classify(sfm_request("POST", LOCAL_API + "/form", "navigate", dest="document"))
    assert facts.kind == "not-cors" and facts.mode == "navigate"


def test_sec_fetch_mode_websocket_is_not_cors():
    facts = classify(sfm_request("GET", LOCAL_API + "/ws", "websocket", ("Upgrade", "websocket")))
    assert facts.kind == "not-cors" and facts.mode == "websocket"


def test_sec_fetch_mode_cors_same_origin_is_same_origin():
    facts = classify(sfm_request("POST", LOCAL_PAGE + "/x", "cors"))
    assert facts.kind == "same-origin"


def test_sec_fetch_mode_cors_without_origin_is_a_same_origin_get():
    # A same-origin GET carries no Origin (`CorsURLLoader::StartRequest`; https://fetch.spec.whatwg.org/#origin-header).
    assert classify(sfm_request("GET", LOCAL_PAGE + "/x", "cors", origin=None)).kind == "same-origin"


def test_sec_fetch_mode_cors_with_null_origin_is_cors_even_to_the_page_host():
    assert classify(sfm_request("GET", LOCAL_PAGE + "/x", "cors", origin="null")).kind == "cors"


def test_sec_fetch_dest_names_the_initiator():
    # Chromium's console names the initiator: "Access to image at ...", "Access to script at ..." (seen for
    # `<img crossorigin>` and `<script crossorigin>`).
    assert classify(sfm_request("GET", LOCAL_API + "/i.png", "cors", dest="image")).initiator == "image"
    assert classify(sfm_request("GET", LOCAL_API + "/s.js", "cors", dest="script")).initiator == "script"
    assert classify(sfm_request("GET", LOCAL_API + "/x", "cors", dest="empty")).initiator == "fetch"


def test_an_empty_or_blank_sec_fetch_dest_reads_as_empty():
    for blank in ("", " ", "\t"):
        assert classify(sfm_request("GET", LOCAL_API + "/x", "cors", dest=blank)).initiator == "fetch"
    assert classify(sfm_request("GET", LOCAL_API + "/x", "cors", dest=" Image ")).initiator == "image"


# -- without Sec-Fetch-Mode: from Origin and the method (`CorsURLLoader::StartRequest`) ------------


def test_cross_origin_get_with_origin_is_cors():
    facts = classify(cors_request("GET", API + "/x"))
    assert facts.kind == "cors" and facts.mode == "cors"


def test_cross_origin_head_with_origin_is_cors():
    assert classify(cors_request("HEAD", API + "/x")).kind == "cors"


def test_cross_origin_get_without_origin_is_not_cors():
    # no-cors or navigation: never "blocked by CORS".
    facts = classify(request("GET", API + "/img.png", ("Accept", "image/avif,image/webp,*/*")))
    assert facts.kind not in ("cors", "preflight")


def test_origin_equal_to_target_is_same_origin():
    assert classify(request("POST", PAGE + "/x", ("Origin", PAGE))).kind == "same-origin"


def test_null_origin_is_cross_origin_to_everything():
    assert classify(cors_request("GET", PAGE + "/x", origin="null")).kind == "cors"


def test_cross_origin_put_is_cors():
    facts = classify(cors_request("PUT", API + "/x"))
    assert facts.kind == "cors"


def test_cross_origin_post_with_unsafe_header_is_cors_and_lists_it():
    facts = classify(cors_request("POST", API + "/x", ("Content-Type", "application/json"), ("X-B", "1")))
    assert facts.kind == "cors"
    assert facts.unsafe_headers == ["content-type", "x-b"]


def test_form_submission_post_is_a_navigation():
    facts = classify(request("POST", API + "/form", ("Origin", PAGE),
                             ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
                             ("Upgrade-Insecure-Requests", "1"),
                             ("Content-Type", "application/x-www-form-urlencoded")))
    assert facts.kind == "not-cors" and facts.mode == "navigate"


def test_safelisted_cross_origin_post_is_judged_as_cors_but_says_it_is_ambiguous():
    # A safelisted cross-origin POST with Origin may be cors, no-cors or a form navigation: ambiguous
    # without Sec-Fetch-Mode; the inference must say so.
    facts = classify(cors_request("POST", API + "/x", ("Content-Type", "text/plain;charset=UTF-8")))
    assert facts.kind == "cors"
    assert "no-cors" in facts.mode_source


def test_garbled_origin_is_not_cors():
    assert classify(request("GET", API + "/x", ("Origin", "foo"))).kind == "not-cors"


def test_websocket_handshake_without_sec_fetch_is_not_cors_checked():
    # Origin on a cross-origin GET means cors *or WebSocket* (`CorsURLLoader::StartRequest` adds it to a
    # GET only in cors mode); a ws:// handshake to a non-trustworthy host carries no Sec-Fetch-Mode
    # (`SetFetchMetadataHeaders`). A WebSocket is never CORS-checked: the CORS check applies only to `cors`
    # response tainting, and mode `websocket` is its own mode (https://fetch.spec.whatwg.org/#concept-request-mode,
    # https://fetch.spec.whatwg.org/#websocket-protocol).
    facts = classify(request("GET", API + "/socket", ("Origin", PAGE), ("Connection", "Upgrade"),
                             ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                             ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")))
    assert facts.kind not in ("cors", "preflight")


def test_forbidden_and_browser_added_headers_are_not_unsafe():
    facts = classify(cors_request("GET", API + "/x", ("Accept-Language", "en-US,en;q=0.9"),
                                  ("Accept-Encoding", "gzip"), ("Cookie", "sid=1"), ("Referer", PAGE + "/")))
    assert facts.unsafe_headers == []


# -- credentials evidence (docs/proxy-limits.md, "Credentials") ------------------------------------


def test_cookie_proves_include():
    assert credentials_evidence(cors_request("GET", API + "/x", ("Cookie", "sid=1")), None)[0] == "include"


def test_sec_fetch_storage_access_proves_include():
    req = cors_request("GET", API + "/x", ("Sec-Fetch-Storage-Access", "active"))
    assert credentials_evidence(req, None)[0] == "include"


def test_authorization_without_a_preflight_came_from_the_auth_cache():
    req = cors_request("GET", API + "/x", ("Authorization", "Basic dTpw"))
    assert credentials_evidence(req, None)[0] == "include"


def test_authorization_not_asked_about_in_the_preflight_came_from_the_auth_cache():
    req = cors_request("PUT", API + "/x", ("Authorization", "Basic dTpw"), ("X-Foo", "1"))
    assert credentials_evidence(req, ["x-foo"])[0] == "include"


def test_script_set_authorization_listed_in_acrh_says_nothing():
    req = cors_request("GET", API + "/x", ("Authorization", "Bearer t"))
    assert credentials_evidence(req, ["authorization"])[0] == "unknown"


def test_no_cookie_no_auth_is_ambiguous():
    credentials, why = credentials_evidence(cors_request("GET", API + "/x"), None)
    assert credentials == "unknown"
    assert why
