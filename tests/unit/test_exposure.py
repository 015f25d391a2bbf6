"""Access-Control-Expose-Headers: what page JavaScript can read.

References: https://fetch.spec.whatwg.org/#http-access-control-expose-headers,
https://fetch.spec.whatwg.org/#cors-safelisted-response-header-name; Chromium parses the header in Blink's
`ExtractCorsExposedHeaderNamesList` (third_party/blink/renderer/platform/loader/cors/cors.cc); WPT
cors/access-control-expose-headers-parsing.window.js.
"""

import pytest

from mitmproxy_cors.engine.exposure import exposed_header_names

from .wire import H

SAFELISTED = [("Cache-Control", "no-cache"), ("Content-Language", "en"), ("Content-Length", "2"),
              ("Content-Type", "text/plain"), ("Expires", "0"), ("Last-Modified", "x"), ("Pragma", "no-cache")]


def readable(*headers, include=False):
    return set(exposed_header_names(H(*headers), include)[0])


def hidden(*headers, include=False):
    return set(exposed_header_names(H(*headers), include)[1])


@pytest.mark.parametrize("include", [False, True])
def test_safelisted_response_headers_are_always_readable(include):
    assert readable(*SAFELISTED, ("X-Custom", "1"), include=include) == {
        "cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"}


def test_unlisted_header_is_not_readable():
    assert "x-request-id" in hidden(("X-Request-Id", "1"))
    assert "x-request-id" not in readable(("X-Request-Id", "1"))


def test_listed_header_is_readable_case_insensitively():
    assert "x-request-id" in readable(("X-Request-Id", "1"), ("Access-Control-Expose-Headers", "X-REQUEST-ID"))


def test_listed_header_with_credentials_is_readable():
    assert "x-request-id" in readable(("X-Request-Id", "1"), ("Access-Control-Expose-Headers", "x-request-id"),
                                      include=True)


def test_star_exposes_everything_without_credentials():
    headers = (("X-A", "1"), ("X-B", "2"), ("Access-Control-Expose-Headers", "*"))
    assert {"x-a", "x-b"} <= readable(*headers)


def test_star_is_literal_with_credentials():
    # Seen in Chromium: ACEH `*` with credentials exposed only the safelisted headers.
    headers = (("Content-Type", "text/plain"), ("X-A", "1"), ("Access-Control-Expose-Headers", "*"))
    assert readable(*headers, include=True) == {"content-type"}
    assert "x-a" in hidden(*headers, include=True)


def test_star_with_credentials_plus_listed_name():
    headers = (("X-A", "1"), ("X-B", "2"), ("Access-Control-Expose-Headers", "*, X-A"))
    assert readable(*headers, include=True) == {"x-a"}


def test_empty_items_are_skipped():
    headers = (("X-A", "1"), ("X-B", "2"), ("Access-Control-Expose-Headers", " , x-a,, x-b ,"))
    assert {"x-a", "x-b"} <= readable(*headers)


def test_several_expose_lines_are_combined():
    headers = (("X-A", "1"), ("X-B", "2"), ("Access-Control-Expose-Headers", "x-a"),
               ("Access-Control-Expose-Headers", "x-b"))
    assert {"x-a", "x-b"} <= readable(*headers)


@pytest.mark.parametrize("value", ["x-a, x b", "x-a; x-b", "x-a, (x-b)", "x-a, \"x-b\""])
def test_a_bad_token_exposes_nothing(value):
    # `ExtractCorsExposedHeaderNamesList`: any syntax error -> nothing exposed (beyond the safelist).
    headers = (("Content-Type", "text/plain"), ("X-A", "1"), ("Access-Control-Expose-Headers", value))
    assert readable(*headers) == {"content-type"}
    assert "x-a" in hidden(*headers)


@pytest.mark.parametrize("aceh", ["Set-Cookie", "*", "set-cookie, Set-Cookie2"])
def test_set_cookie_is_never_exposed(aceh):
    headers = (("Set-Cookie", "sid=1"), ("Set-Cookie2", "x=1"), ("Access-Control-Expose-Headers", aceh))
    assert not readable(*headers) & {"set-cookie", "set-cookie2"}
    assert {"set-cookie", "set-cookie2"} <= hidden(*headers)
