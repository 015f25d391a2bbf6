"""Redirect rules for CORS requests: userinfo, taint, method change.

References: https://fetch.spec.whatwg.org/#http-redirect-fetch, and Chromium's order for each redirect
(CORS check on the redirect response, redirect count, userinfo, taint), `CorsURLLoader::OnReceiveRedirect`
in services/network/cors/cors_url_loader.cc.
"""

import pytest

from mitmproxy_cors.engine.origin import OPAQUE, origin_of_url
from mitmproxy_cors.engine.redirect_check import (
    has_userinfo,
    method_after_redirect,
    redirect_location,
    taints_origin,
    userinfo_failure,
)

from .wire import H

PAGE = origin_of_url("http://a.test:8001/")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_statuses_with_location(status):
    assert redirect_location("http://b.test/x", status, H(("Location", "/y"))) == "http://b.test/y"


# 300 is no redirect in Chromium (net::HttpResponseHeaders::IsRedirectResponseCode): the page gets it, and
# a preflight's 300 with a Location is PreflightInvalidStatus (e2e cases pf-300-location, get-300-*).
@pytest.mark.parametrize("status", [200, 201, 300, 304, 305, 306, 399, 400])
def test_other_statuses_are_not_redirects(status):
    assert redirect_location("http://b.test/x", status, H(("Location", "/y"))) is None


def test_redirect_without_location_is_not_followed():
    assert redirect_location("http://b.test/x", 302, H()) is None


def test_redirect_with_an_empty_location_is_not_followed():  # e2e cases pf-302-empty-location, get-302-empty-location
    assert redirect_location("http://b.test/x", 302, H(("Location", ""))) is None


@pytest.mark.parametrize("location", ["http://@c.test:1/z", "http://:@c.test:1/z", "//@c.test:1/z"])
def test_an_empty_userinfo_is_dropped(location):  # GURL drops it: the next hop's URL has none
    assert redirect_location("http://b.test/x", 302, H(("Location", location))) == "http://c.test:1/z"


def test_relative_location_resolves_against_the_current_url():
    assert redirect_location("http://b.test:8002/a/b", 307, H(("Location", "c?d=1"))) == "http://b.test:8002/a/c?d=1"


def test_absolute_location_to_another_origin():
    assert redirect_location("http://b.test/x", 302, H(("Location", "http://c.test:8003/z"))) == "http://c.test:8003/z"


def test_garbled_location_does_not_raise():
    assert redirect_location("http://b.test/x", 302, H(("Location", "http://[::1"))) in (None, "http://[::1")


# -- userinfo (https://fetch.spec.whatwg.org/#http-redirect-fetch; RedirectContainsCredentials) ----
# Chromium reported a Location with `u:p@` as RedirectContainsCredentials / "" (e2e case
# `redir-userinfo-api2`).


@pytest.mark.parametrize("url", ["http://@c.test/", "http://:@c.test/", "http://c.test/a@b"])
def test_an_empty_userinfo_is_no_credentials(url):  # e2e cases redir-userinfo-empty*
    assert not has_userinfo(url) and userinfo_failure(url) is None


@pytest.mark.parametrize("url", ["http://u:p@c.test/", "http://u@c.test/", "http://:p@c.test/"])
def test_location_with_userinfo(url):
    assert has_userinfo(url)
    failure = userinfo_failure(url)
    assert failure.reason == "RedirectContainsCredentials"
    assert failure.parameter == ""


def test_location_without_userinfo_passes():
    assert not has_userinfo("http://c.test/p@th")
    assert userinfo_failure("http://c.test/x?u=a@b") is None


def test_userinfo_fix_strips_the_credentials():
    step = userinfo_failure("http://u:p@c.test:8003/x").steps[0]
    assert step.header == "Location" and step.value == "http://c.test:8003/x"


# -- redirect taint (https://fetch.spec.whatwg.org/#http-redirect-fetch) ---------------------------


def test_hop_between_two_other_origins_taints():
    # a.test page; b.test redirects to c.test -> Origin: null from then on.
    assert taints_origin(PAGE, "http://b.test:8002/r", "http://c.test:8003/x")


def test_hop_within_the_same_cross_origin_does_not_taint():
    assert not taints_origin(PAGE, "http://b.test:8002/r", "http://b.test:8002/x")


def test_hop_from_the_page_origin_to_another_origin_does_not_taint():
    # same-origin -> cors: the request origin equals the current URL's origin.
    assert not taints_origin(PAGE, "http://a.test:8001/r", "http://b.test:8002/x")


def test_hop_back_to_the_page_origin_taints():
    # WPT fetch/api/cors/cors-redirect.any.js, "cors to same origin": the origin becomes null.
    assert taints_origin(PAGE, "http://b.test:8002/r", "http://a.test:8001/x")


def test_already_tainted_origin_stays_tainted_across_origins():
    assert taints_origin(OPAQUE, "http://b.test/r", "http://c.test/x")


# -- method change (https://fetch.spec.whatwg.org/#http-redirect-fetch) ----------------------------


@pytest.mark.parametrize("status, method, after", [
    (301, "POST", "GET"), (302, "POST", "GET"), (303, "POST", "GET"), (303, "PUT", "GET"),
    (303, "DELETE", "GET"), (303, "GET", "GET"), (303, "HEAD", "HEAD"),
    (301, "PUT", "PUT"), (302, "DELETE", "DELETE"), (301, "GET", "GET"),
    (307, "POST", "POST"), (308, "POST", "POST"), (307, "PUT", "PUT"), (308, "PATCH", "PATCH"),
])
def test_method_after_redirect(status, method, after):
    assert method_after_redirect(method, status) == after
