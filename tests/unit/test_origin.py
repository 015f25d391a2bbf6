"""Origins: serialization (the byte-serialized origin the CORS check compares,
https://fetch.spec.whatwg.org/#cors-check), same-origin, same-site (tests/e2e/README.md, "Origins and
cookies on one machine")."""

import pytest

from mitmproxy_cors.engine.origin import OPAQUE, Origin, origin_of_url, parse_origin_header


@pytest.mark.parametrize("url, serialized", [
    ("http://a.test:8001/path?q=1#frag", "http://a.test:8001"),
    ("HTTP://A.TEST:8001/", "http://a.test:8001"),  # lowercase scheme and host
    ("http://a.test:80/x", "http://a.test"),  # default port omitted
    ("https://a.test:443/", "https://a.test"),
    ("https://a.test:80/", "https://a.test:80"),  # 80 is not https's default
    ("http://a.test:443/", "http://a.test:443"),
    ("http://a.test/", "http://a.test"),  # no trailing slash
    ("http://user:pass@a.test:8001/", "http://a.test:8001"),  # userinfo is not part of the origin
    ("http://[::1]:8001/x", "http://[::1]:8001"),
    ("http://[::1]/", "http://[::1]"),
    ("http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080"),
    ("http://127.0.0.1:8002/api", "http://127.0.0.1:8002"),
])
def test_origin_serialization(url, serialized):
    assert origin_of_url(url).serialize() == serialized


@pytest.mark.parametrize("url", ["", "/relative/path", "http://", "http://a.test:99999/", "http://[::1/"])
def test_url_without_comparable_origin_gives_none(url):
    assert origin_of_url(url) is None


def test_opaque_origin_serializes_as_null():
    assert OPAQUE.serialize() == "null"
    assert str(OPAQUE) == "null"


def test_origin_header_null_is_the_opaque_origin():
    origin = parse_origin_header("null")
    assert origin is not None and origin.opaque


@pytest.mark.parametrize("value", ["http://a.test:8001", "https://a.test", "http://[::1]:8001"])
def test_origin_header_round_trips(value):
    assert parse_origin_header(value).serialize() == value


@pytest.mark.parametrize("value", ["foo", "", "http://a.test:8001/some/path", "http://a.test:abc"])
def test_garbled_origin_header_is_rejected(value):
    assert parse_origin_header(value) is None


def test_absent_origin_header_is_none():
    assert parse_origin_header(None) is None


@pytest.mark.parametrize("a, b", [
    ("http://a.test:8001/x", "http://a.test:8001/y?z"),
    ("http://a.test/", "http://a.test:80/"),
    ("https://A.test/", "https://a.test:443/"),
    ("http://[::1]:8001/", "http://[::1]:8001/other"),
])
def test_same_origin(a, b):
    assert origin_of_url(a).same_origin(origin_of_url(b))


@pytest.mark.parametrize("a, b", [
    ("http://a.test:8001/", "http://a.test:8002/"),  # port
    ("http://a.test/", "https://a.test/"),  # scheme
    ("http://a.test/", "http://b.a.test/"),  # host
    ("http://127.0.0.1:8001/", "http://localhost:8001/"),
])
def test_not_same_origin(a, b):
    assert not origin_of_url(a).same_origin(origin_of_url(b))


def test_opaque_origin_is_never_same_origin_even_with_itself_on_the_wire():
    # Two `Origin: null` requests need not come from the same opaque origin.
    assert not OPAQUE.same_origin(OPAQUE)
    assert not OPAQUE.same_origin(origin_of_url("http://a.test/"))


def test_loopback_ports_are_same_site():
    # Seen in Chromium (tests/e2e/README.md, "Origins and cookies on one machine"): 127.0.0.1:A and
    # 127.0.0.1:B are different origins, same site.
    a, b = origin_of_url("http://127.0.0.1:8001/"), origin_of_url("http://127.0.0.1:8002/")
    assert not a.same_origin(b)
    assert a.same_site(b)


def test_localhost_and_127_are_cross_site():
    assert not origin_of_url("http://127.0.0.1:8001/").same_site(origin_of_url("http://localhost:8002/"))


def test_subdomains_are_same_site():
    assert origin_of_url("https://app.example.com/").same_site(origin_of_url("https://api.example.com/"))


def test_site_is_schemeful():
    assert not origin_of_url("http://example.com/").same_site(origin_of_url("https://example.com/"))


def test_opaque_origin_has_no_site():
    assert not OPAQUE.same_site(OPAQUE)
    assert not OPAQUE.same_site(origin_of_url("http://a.test/"))


def test_origin_dataclass_default_port_compares_equal_to_explicit():
    assert Origin("http", "a.test", None).same_origin(Origin("http", "a.test", 80))
