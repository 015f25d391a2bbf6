"""Firefox on the redirects Chromium judges apart (engine/firefox_redirect.py): the verdict stays
Chromium's, `firefox_reason`/`firefox_note` say what Firefox does.

Measured with Debian's firefox-esr 153 through mitmdump (tests/e2e/test_e2e_firefox.py: the
*-302-empty-location, *-redirect-userinfo and redir-scheme-* cases).
"""

from __future__ import annotations

import pytest

from mitmproxy_cors.engine.firefox_redirect import FIREFOX_LOADS, NO_CORS_ERROR
from mitmproxy_cors.engine.firefox_reason import WITH_CREDENTIALS

from .wire import API, PAGE, Wire, acam, acao, request, response

URL = API + "/api"


def same_origin(location: str, *, accept: str = "*/*"):
    """A same-origin request on a plain-http host (mode from the Referer), redirected to `location`."""
    return Wire().observe(request("GET", PAGE + "/r", ("Accept", accept), ("Referer", PAGE + "/")),
                          response(302, ("Location", location))).verdict


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_empty_location_chromium_reads_is_a_redirect_loop_in_firefox(status):
    v = Wire().fetch("GET", URL, resp_headers=[acao(PAGE), ("Location", "")], status=status).verdict
    assert (v.verdict, v.reason) == ("allowed", None)  # Chromium hands the page the 3xx
    assert v.firefox_reason == "CORSDidNotSucceed"
    assert "empty Location" in v.firefox_note and "redirect limit" in v.firefox_note


def test_empty_location_on_300_or_without_location_is_left_alone():
    for status, headers in ((300, [acao(PAGE), ("Location", "")]), (302, [acao(PAGE)])):
        v = Wire().fetch("GET", URL, resp_headers=headers, status=status).verdict
        assert (v.verdict, v.firefox_reason, v.firefox_note) == ("allowed", None, None)


def test_empty_location_blocked_by_chromium_keeps_the_catalogue_key():
    # Firefox checks the 3xx's CORS headers before it follows it: the same failure.
    v = Wire().fetch("GET", URL, resp_headers=[("Location", "")], status=302).verdict
    assert (v.reason, v.firefox_reason, v.firefox_note) == ("MissingAllowOriginHeader", "CORSMissingAllowOrigin", None)


def test_preflight_with_empty_location_is_a_refused_redirect_in_firefox():
    v = Wire().preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), ("Location", ""), status=302).verdict
    assert (v.reason, v.firefox_reason) == ("PreflightInvalidStatus", "CORSExternalRedirectNotAllowed")
    assert "empty Location" in v.firefox_note
    # Firefox checks the 3xx first: missing Access-Control-Allow-Origin is named before the redirect.
    v = Wire().preflight(URL, "PUT", None, ("Location", ""), status=302).verdict
    assert v.firefox_reason == "CORSMissingAllowOrigin"
    v = Wire().preflight(URL, "PUT", None, acao("*"), ("Location", ""), status=302).verdict
    assert f"{WITH_CREDENTIALS} CORSNotSupportingCredentials" in v.firefox_note


@pytest.mark.parametrize("accept", ["*/*", "image/avif,image/webp,*/*", "text/html,*/*"])
def test_credentials_in_a_location_chromium_aborts_firefox_loads(accept):
    v = same_origin(PAGE.replace("//", "//u:p@") + "/next", accept=accept)
    if accept.startswith("text/html"):
        assert v.firefox_note is None  # a top-level navigation: Chromium follows it too
        return
    assert (v.verdict, v.reason) == ("blocked", None) and "ERR_ABORTED" in v.cause
    assert v.firefox_reason is None and v.firefox_note.startswith(FIREFOX_LOADS)


@pytest.mark.parametrize("location", ["data:text/plain,hi", "file:///etc/hosts"])
@pytest.mark.parametrize("headers", [[acao(PAGE)], []])
def test_cors_redirect_to_data_file_is_did_not_succeed_in_firefox(location, headers):
    v = Wire().fetch("GET", URL, resp_headers=headers + [("Location", location)], status=302).verdict
    assert v.verdict == "blocked"  # ERR_UNSAFE_REDIRECT, or the 3xx's CORS error, in Chromium
    assert v.firefox_reason == "CORSDidNotSucceed"
    assert "before its CORS check" in v.firefox_note


def test_cors_redirect_to_about_is_checked_for_cors_first_in_firefox():
    v = Wire().fetch("GET", URL, resp_headers=[acao(PAGE), ("Location", "about:blank")], status=302).verdict
    assert (v.reason, v.firefox_reason) == (None, "CORSDidNotSucceed")
    v = Wire().fetch("GET", URL, resp_headers=[("Location", "about:blank")], status=302).verdict
    assert (v.firefox_reason, v.firefox_note) == ("CORSMissingAllowOrigin", None)


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/x", "ws://127.0.0.1/x", "javascript:1", "mailto:a@b.test"])
def test_cors_redirect_to_another_scheme(location):
    v = Wire().fetch("GET", URL, resp_headers=[acao(PAGE), ("Location", location)], status=302).verdict
    assert (v.reason, v.firefox_reason) == ("CorsDisabledScheme", "CORSDidNotSucceed")
    # Without Access-Control-Allow-Origin Firefox's check of the 3xx fails first, as Chromium's does.
    v = Wire().fetch("GET", URL, resp_headers=[("Location", location)], status=302).verdict
    assert (v.firefox_reason, v.firefox_note) == ("CORSMissingAllowOrigin", None)


def test_same_origin_redirect_to_another_scheme_fails_without_a_cors_error_in_firefox():
    v = same_origin("ftp://127.0.0.1/x")
    assert v.reason == "CorsDisabledScheme"
    assert v.firefox_reason is None and v.firefox_note.startswith(NO_CORS_ERROR)


def test_same_origin_redirect_to_data_is_a_network_error_in_both():
    v = same_origin("data:text/plain,hi")
    assert (v.verdict, v.reason, v.firefox_reason, v.firefox_note) == ("blocked", None, None, None)


def test_ordinary_redirect_is_untouched():
    v = Wire().fetch("GET", URL, resp_headers=[acao(PAGE), ("Location", URL + "/next")], status=302).verdict
    assert (v.verdict, v.firefox_reason, v.firefox_note) == ("allowed", None, None)

