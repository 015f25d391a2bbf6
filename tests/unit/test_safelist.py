"""Chromium's CORS-safelisted request-headers and when a preflight is needed.

References: https://fetch.spec.whatwg.org/#cors-safelisted-method,
https://fetch.spec.whatwg.org/#cors-safelisted-request-header,
https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names,
https://fetch.spec.whatwg.org/#forbidden-request-header, and when main fetch takes the preflight path,
https://fetch.spec.whatwg.org/#main-fetch; Chromium's version with its extra safelisted names and a
forbidden User-Agent: `network::cors::IsCorsSafelistedHeader`, `CorsUnsafeRequestHeaderNames`,
`IsCorsSafelistedMethod` (services/network/public/cpp/cors/cors.cc), `net::HttpUtil::IsSafeHeader`
(net/http/http_util.cc); WPT cors/cors-safelisted-request-header.any.js. What Chromium 156 did with
these headers is checked by the e2e cases under "preflight: headers" and "more safelist edges" in
tests/e2e/README.md.
"""

import pytest

from mitmproxy_cors.engine.safelist import (
    cors_unsafe_request_header_names,
    has_cors_unsafe_request_header_byte,
    is_cors_safelisted_header,
    is_cors_safelisted_method,
    is_forbidden_request_header,
    needs_preflight,
    parse_request_headers_list,
)

from .wire import H

# -- methods (https://fetch.spec.whatwg.org/#cors-safelisted-method) -----------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_safelisted_methods(method):
    assert is_cors_safelisted_method(method)
    assert not needs_preflight(method, [])


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "patch", "OPTIONS", "PROPFIND"])
def test_other_methods_need_a_preflight(method):
    assert not is_cors_safelisted_method(method)
    assert needs_preflight(method, [])


def test_safelisted_method_with_an_unsafe_header_needs_a_preflight():
    assert needs_preflight("GET", ["x-foo"])


# -- the 128-byte value limit (https://fetch.spec.whatwg.org/#cors-safelisted-request-header) ------
# Chromium preflighted an Accept value of 129 bytes (e2e case `accept-129-bytes`).


@pytest.mark.parametrize("name", ["Accept", "Accept-Language", "Content-Language"])
def test_value_of_128_bytes_is_safelisted(name):
    assert is_cors_safelisted_header(name, "a" * 128)


@pytest.mark.parametrize("name", ["Accept", "Accept-Language", "Content-Language"])
def test_value_of_129_bytes_is_not_safelisted(name):
    assert not is_cors_safelisted_header(name, "a" * 129)


def test_content_type_at_and_over_128_bytes():
    assert is_cors_safelisted_header("Content-Type", "text/plain;" + "1" * 117)  # 128 bytes
    assert not is_cors_safelisted_header("Content-Type", "text/plain;" + "1" * 118)  # 129 bytes


def test_limit_counts_bytes_not_characters():
    # Header values are latin-1 strings: one character per byte on the wire.
    assert is_cors_safelisted_header("Accept", "\xe9" * 128)
    assert not is_cors_safelisted_header("Accept", "\xe9" * 129)


# -- Accept (https://fetch.spec.whatwg.org/#cors-safelisted-request-header) ------------------------


@pytest.mark.parametrize("value", ["*/*", "application/json", "text/html, */*;q=0.8", "", "a\tb"])
def test_accept_without_unsafe_bytes_is_safelisted(value):
    assert is_cors_safelisted_header("accept", value)


UNSAFE_BYTES = ['"', "(", ")", ":", "<", ">", "?", "@", "[", "\\", "]", "{", "}", "\x7f", "\x00", "\x01",
                "\x0a", "\x0b", "\x0c", "\x0d", "\x1f"]


@pytest.mark.parametrize("byte", UNSAFE_BYTES)
def test_accept_with_an_unsafe_byte_is_not_safelisted(byte):
    assert has_cors_unsafe_request_header_byte("text/" + byte)
    assert not is_cors_safelisted_header("Accept", "text/" + byte)


@pytest.mark.parametrize("byte", ["\t", " ", "/", ",", ";", "=", "*", "\x80", "\xff"])
def test_bytes_that_are_not_cors_unsafe(byte):
    assert not has_cors_unsafe_request_header_byte(byte)


# -- Accept-Language / Content-Language (https://fetch.spec.whatwg.org/#cors-safelisted-request-header) ---
# Chromium preflighted Content-Language: en_US (e2e case `content-language-underscore`).


@pytest.mark.parametrize("name", ["Accept-Language", "Content-Language"])
@pytest.mark.parametrize("value", ["en-US", "en-US,en;q=0.9", "de-CH, fr;q=0.5, *", "", "0123456789 ABC abc"])
def test_language_values_with_allowed_bytes(name, value):
    assert is_cors_safelisted_header(name, value)


@pytest.mark.parametrize("name", ["Accept-Language", "Content-Language"])
@pytest.mark.parametrize("value", ["en_US", "en\x01", "@", "en/US", "en\tUS", "fr!", "\xe9"])
def test_language_values_with_other_bytes(name, value):
    assert not is_cors_safelisted_header(name, value)


# -- Content-Type (https://fetch.spec.whatwg.org/#cors-safelisted-request-header) ------------------
# Chromium's `network::cors::IsCorsSafelistedHeader`; WPT cors/cors-safelisted-request-header.any.js.


@pytest.mark.parametrize("value", [
    "text/plain",
    "TEXT/PLAIN",
    "text/plain;charset=UTF-8",  # what fetch() sends for a string body
    "application/x-www-form-urlencoded;charset=UTF-8",  # URLSearchParams
    "multipart/form-data; boundary=----WebKitFormBoundaryabc",  # FormData
    "multipart/form-data",
    "text/plain;",
    "text/plain;garbage",
    "message/ad-auction-trusted-signals-request",  # Chromium extra (IsCorsSafelistedHeader)
])
def test_safelisted_content_types(value):
    assert is_cors_safelisted_header("Content-Type", value)


@pytest.mark.parametrize("value", [
    "application/json",
    "text/html",
    "application/www-form-urlencoded",
    "text /plain",
    "text\t/\tplain",
    "text/plain;garbage\x01\x02",
    "text/plain,",
    ",text/plain",
    "text/plain,text/plain",
    "text/plain,x/x",
    "text/plain\x0b",  # vertical tab
    "text/plain\x0c",  # form feed
    "application/x-www-form-urlencoded;\x7f",
    'multipart/form-data;"',
    'text/plain; charset="utf-8"',  # the quote is an unsafe byte; Chromium preflighted it
    "text",
    "",
])
def test_content_types_that_need_a_preflight(value):
    assert not is_cors_safelisted_header("Content-Type", value)


def test_post_json_needs_a_preflight_listing_content_type():
    # Chromium preflighted a POST with Content-Type: application/json, ACRH `content-type`
    # (e2e case `ct-json-no-acah`).
    assert cors_unsafe_request_header_names(H(("Content-Type", "application/json"))) == ["content-type"]


# -- Range (https://fetch.spec.whatwg.org/#cors-safelisted-request-header) -------------------------
# Chromium's `network::cors::IsCorsSafelistedHeader`; WPT cors/cors-safelisted-request-header.any.js.


@pytest.mark.parametrize("value", ["bytes=0-10", "bytes=100-200", "bytes=200-", "bytes=5-5"])
def test_simple_ranges_are_safelisted(value):
    assert is_cors_safelisted_header("Range", value)


@pytest.mark.parametrize("value", [
    "bytes=-10",  # suffix range; Chromium preflighted it (e2e case `range-suffix`)
    "bytes=-200",
    "bytes=100-200,300-400",  # a list
    "bytes=200-100",  # N > M
    "100-200",
    "MB=100-200",
    "bytes =100-200",
    "bytes\t=100-200",
    "bytes=  100-200",
    "bytes=\t\t100-200",
    "bytes= \t100-200",
    "bytes=100 -200",
    "bytes=100\t-200",
    "bytes=100- 200",
    "bytes=100-\t200",
    "bytes=100-200hello",
    "bytes=abc-def",
    "bytes 100-200",
    "bytes = 100-200",
    ",bytes=100-200",
    "bytes=,100-200",
    "bytes=1" + "0" * 60 + "-2" + "0" * 60,  # 60-digit numbers
])
def test_ranges_that_need_a_preflight(value):
    assert not is_cors_safelisted_header("Range", value)


def test_range_with_huge_numbers_within_128_bytes_is_not_safelisted():
    # Chromium parses into int64; a 30-digit position does not fit.
    assert not is_cors_safelisted_header("Range", "bytes=1" + "0" * 30 + "-")


# -- Chromium's extra safelisted names (`network::cors::IsCorsSafelistedHeader`) -------------------


@pytest.mark.parametrize("name, value", [
    ("DPR", "2"), ("DPR", "1.5"), ("Device-Memory", "8"), ("Device-Memory", "0.25"),
    ("Downlink", "10.0"), ("Width", "100"), ("Viewport-Width", "1280"), ("RTT", "50"),
    ("ECT", "4g"), ("ECT", "slow-2g"), ("ECT", "2g"), ("ECT", "3g"),
    ("Save-Data", "on"), ("Save-Data", "ON"),
    ("Intervention", "x"), ("Intervention", "<https://www.chromestatus.com/feature/1>; level=\"warning\""),
])
def test_chromium_extra_headers_with_valid_values_are_safelisted(name, value):
    assert is_cors_safelisted_header(name, value)


@pytest.mark.parametrize("name, value", [
    ("DPR", "two"), ("DPR", "1."), ("DPR", ".5"), ("DPR", "1.2.3"), ("DPR", ""),
    ("Device-Memory", "-1"), ("Downlink", "1e3"),
    ("Width", "1.5"), ("Width", "-100"), ("Width", ""), ("Viewport-Width", "wide"), ("RTT", "50ms"),
    ("ECT", "5g"), ("ECT", "4G"), ("ECT", ""),
    ("Save-Data", "off"), ("Save-Data", "1"),
])
def test_chromium_extra_headers_with_bad_values_are_not_safelisted(name, value):
    assert not is_cors_safelisted_header(name, value)


def test_experiment_dpr_width_intervention_save_data_need_no_preflight():
    # Seen in Chromium: DPR, Width, Intervention, Save-Data set by fetch() produced no preflight
    # (e2e cases `dpr-no-preflight`, `width-no-preflight`, `save-data-no-preflight`).
    headers = H(("DPR", "2"), ("Width", "100"), ("Intervention", "x"), ("Save-Data", "on"))
    assert cors_unsafe_request_header_names(headers) == []


@pytest.mark.parametrize("name", ["X-Foo", "Authorization", "Last-Modified", "Cache-Control-X", "Lang"])
def test_other_names_are_not_safelisted(name):
    assert not is_cors_safelisted_header(name, "x")


def test_header_name_matching_is_case_insensitive():
    assert is_cors_safelisted_header("aCcEpT", "*/*")
    assert is_cors_safelisted_header("SAVE-DATA", "on")


# -- forbidden request-headers (https://fetch.spec.whatwg.org/#forbidden-request-header) -----------
# Chromium also forbids User-Agent (`net::HttpUtil::IsSafeHeader`, net/http/http_util.cc).

SPEC_FORBIDDEN = [
    "Accept-Charset", "Accept-Encoding", "Access-Control-Request-Headers", "Access-Control-Request-Method",
    "Connection", "Content-Length", "Cookie", "Cookie2", "Date", "DNT", "Expect", "Host", "Keep-Alive",
    "Origin", "Referer", "Set-Cookie", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Via",
]


@pytest.mark.parametrize("name", SPEC_FORBIDDEN + ["User-Agent", "user-agent"])
def test_forbidden_request_headers(name):
    assert is_forbidden_request_header(name)


@pytest.mark.parametrize("name", ["Proxy-Authorization", "proxy-foo", "Sec-Fetch-Mode", "sec-ch-ua",
                                  "Sec-Anything"])
def test_proxy_and_sec_prefixes_are_forbidden(name):
    assert is_forbidden_request_header(name)


@pytest.mark.parametrize("name", ["X-Foo", "Authorization", "Content-Type", "Proxy", "Secret", "X-Sec-Foo"])
def test_headers_a_script_may_set_are_not_forbidden(name):
    assert not is_forbidden_request_header(name)


@pytest.mark.parametrize("name", SPEC_FORBIDDEN + ["User-Agent", "Sec-Fetch-Dest", "Sec-CH-UA",
                                                   "Proxy-Connection"])
def test_forbidden_headers_never_make_a_request_need_a_preflight(name):
    assert cors_unsafe_request_header_names(H((name, "some value (with) [unsafe] bytes"))) == []


def test_script_set_user_agent_triggers_no_preflight_in_chromium():
    # User-Agent is forbidden in Chromium (`net::HttpUtil::IsSafeHeader`, net/http/http_util.cc), unlike
    # the Fetch Standard's list; a script-set User-Agent produced no preflight (e2e case
    # `user-agent-no-preflight`).
    assert cors_unsafe_request_header_names(H(("User-Agent", "my-bot/1.0"))) == []


# -- the unsafe-names list (https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names) -------


def test_unsafe_names_are_lowercased_sorted_and_deduplicated():
    # As Chromium's preflight showed it: X-B, x-a, Content-Type json -> ACRH `content-type,x-a,x-b`
    # (https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names).
    headers = H(("X-B", "1"), ("x-a", "2"), ("Content-Type", "application/json"), ("X-A", "3"))
    assert cors_unsafe_request_header_names(headers) == ["content-type", "x-a", "x-b"]


def test_safelisted_headers_are_not_listed():
    headers = H(("Accept", "*/*"), ("Accept-Language", "en"), ("Content-Language", "de"),
                ("Content-Type", "text/plain"), ("Range", "bytes=0-1"), ("X-Foo", "1"))
    assert cors_unsafe_request_header_names(headers) == ["x-foo"]


@pytest.mark.parametrize("header, name", [
    (("Accept", "a" * 129), "accept"),
    (("Range", "bytes=-10"), "range"),
    (("Content-Language", "en_US"), "content-language"),
    (("Content-Type", 'text/plain; charset="utf-8"'), "content-type"),
])
def test_experiment_values_that_made_chromium_preflight(header, name):
    # Each made Chromium preflight, naming this header: Accept 129 bytes; Range bytes=-10;
    # Content-Language en_US; quoted charset (e2e cases `accept-129-bytes`, `range-suffix`,
    # `content-language-underscore`, `ct-quoted-charset`).
    assert cors_unsafe_request_header_names(H(header)) == [name]


def test_safelisted_values_totalling_1024_bytes_stay_safe():
    headers = H(*[("Accept", "a" * 128)] * 8)  # exactly 1024
    assert cors_unsafe_request_header_names(headers) == []


def test_safelisted_values_over_1024_bytes_all_become_unsafe():
    # `CorsUnsafeRequestHeaderNames`: safelisted values totalling >1024 bytes all become unsafe; seen in
    # Chromium: nine such headers gave a preflight listing all of them.
    headers = H(("Accept", "a" * 128), ("Accept-Language", "b" * 128), ("Content-Language", "c" * 128),
                ("Content-Type", "text/plain;" + "d" * 117), ("Range", "bytes=0-1"), ("DPR", "2"),
                ("Accept", "e" * 128), ("Accept", "f" * 128), ("Accept", "g" * 128), ("Accept", "h" * 128),
                ("X-Foo", "1"))
    # 8 x 128 + 9 + 1 = 1034 bytes of safelisted values
    assert cors_unsafe_request_header_names(headers) == [
        "accept", "accept-language", "content-language", "content-type", "dpr", "range", "x-foo"]


def test_forbidden_header_values_do_not_count_towards_1024_bytes():
    headers = H(("Accept", "a" * 128), ("Cookie", "c" * 5000), ("User-Agent", "u" * 2000))
    assert cors_unsafe_request_header_names(headers) == []


def test_unsafe_header_values_do_not_count_towards_1024_bytes():
    headers = H(("Accept", "a" * 128), ("X-Big", "x" * 5000))
    assert cors_unsafe_request_header_names(headers) == ["x-big"]


def test_access_control_request_headers_parsing():
    assert parse_request_headers_list("content-type,x-a,x-b") == ("content-type", "x-a", "x-b")
    assert parse_request_headers_list("X-B, x-a ,,") == ("x-a", "x-b")
    assert parse_request_headers_list("") == ()
    assert parse_request_headers_list(None) == ()
