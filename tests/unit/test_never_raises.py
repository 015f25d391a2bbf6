"""The engine never raises on input: anything malformed is a verdict (docs/architecture.md, `engine/`, Rule 3)."""

import json
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from mitmproxy_cors.engine.tracker import Tracker

# Keep Hypothesis' caches out of the checkout.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-cors-"))

LATIN1 = st.characters(min_codepoint=0, max_codepoint=255)
NAMES = st.sampled_from([
    "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers", "Sec-Fetch-Mode",
    "Sec-Fetch-Dest", "Cookie", "Authorization", "Content-Type", "Range", "Accept", "Accept-Language",
    "DPR", "Width", "Save-Data", "ECT", "X-Foo", "If-None-Match", "Upgrade",
    "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Access-Control-Expose-Headers", "Location",
    "Vary", "ETag", "Set-Cookie",
]) | st.text(LATIN1, min_size=0, max_size=20)
VALUES = st.one_of(
    st.text(LATIN1, max_size=40),
    st.sampled_from(["*", "null", "http://a.test:8001", "http://b.test:8002", "true", "PUT", "x-foo", "",
                     "http://[::1", "http://a.test:99999", "http://u:p@c.test/", "-1", "99999999999999999999999",
                     "cors", "no-cors", "navigate", "same-origin", "websocket", "bytes=0-1", "/relative",
                     "http://a.test:\xb2", "9" * 5000, "http://a.test:" + "1" * 5000]),
    st.text(LATIN1, min_size=1000, max_size=3000),
)
HEADERS = st.lists(st.tuples(NAMES, VALUES), max_size=12).map(Headers)
URLS = st.one_of(
    st.sampled_from(["http://b.test:8002/x", "http://a.test:8001/x", "https://[::1]:8443/", "http://b.test/caf\udce9",
                     "http://c.test:8003/final", "", "not a url", "ftp://b.test/"]),
    st.text(LATIN1, max_size=60),
)
METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS", "patch", "", "G\xe9T"])


@st.composite
def exchanges(draw):
    req = RequestSnapshot(draw(METHODS), draw(URLS), draw(HEADERS), draw(st.floats(0, 1e4)),
                          draw(st.sampled_from(["", "10.0.0.1", "::1"])))
    kind = draw(st.sampled_from(["response", "error", "proxy-error"]))
    resp = None
    if kind == "response":
        resp = ResponseSnapshot(draw(st.integers(0, 999)), draw(HEADERS), draw(st.floats(0, 1e4)))
    return Exchange(draw(st.text(max_size=8)), req, resp,
                    None if kind == "response" else draw(st.text(max_size=30)),
                    proxy_answered_error=kind == "proxy-error")


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exchanges(), min_size=1, max_size=8))
def test_observe_never_raises_and_always_decides(batch):
    tracker = Tracker(capacity=8)
    for ex in batch:
        decision = tracker.observe(ex)
        v = decision.verdict
        assert v.flow_id == ex.id
        assert v.verdict in ("allowed", "blocked")
        assert isinstance(v.summary(), str)
        json.dumps(v.to_dict(), ensure_ascii=True)  # plain data all the way down
        for u in decision.updated:
            assert u.verdict in ("allowed", "blocked")
    assert all(size <= 8 for size in tracker.state_size().values())


# -- inputs that once made the engine raise ---------------------------------------------------------


def test_acao_with_a_superscript_port_is_an_invalid_value():
    # `network::cors::CheckAccess`: a value GURL cannot parse (the port is not digits) -> InvalidAllowOriginValue.
    from mitmproxy_cors.engine.access_check import check_access
    assert check_access("http://a.test:\xb2", None, "http://a.test:8001", False) == (
        "InvalidAllowOriginValue", "http://a.test:\xb2")


def test_acao_with_a_5000_digit_port_is_an_invalid_value():
    from mitmproxy_cors.engine.access_check import check_access
    value = "http://a.test:" + "1" * 5000
    assert check_access(value, None, "http://a.test:8001", False) == ("InvalidAllowOriginValue", value)


def test_max_age_with_5000_digits_is_not_an_int64_so_five_seconds():
    # `PreflightResult` (services/network/cors/preflight_result.cc): a value StringToInt64 rejects -> the 5 s
    # default.
    from mitmproxy_cors.engine.preflight_check import parse_max_age
    assert parse_max_age("9" * 5000)[0] == 5


def test_tracker_decides_a_preflight_with_a_5000_digit_max_age():
    tracker = Tracker()
    req = RequestSnapshot("OPTIONS", "http://b.test:8002/x", Headers([
        ("Origin", "http://a.test:8001"), ("Access-Control-Request-Method", "PUT")]), 0.0, "c")
    resp = ResponseSnapshot(204, Headers([("Access-Control-Allow-Origin", "http://a.test:8001"),
                                          ("Access-Control-Allow-Methods", "PUT"),
                                          ("Access-Control-Max-Age", "9" * 5000)]), 0.0)
    v = tracker.observe(Exchange("p", req, resp)).verdict
    assert v.verdict == "allowed"
