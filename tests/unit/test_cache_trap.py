"""engine/cache_trap.py: which responses set the browser-cache trap tests/e2e/test_cache_trap_chromium.py
measured in Chromium 156, how long Chromium reuses them, and the preflight that points at it."""

import pytest

from mitmproxy_cors.engine.cache_trap import fresh_for
from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from mitmproxy_cors.engine.tracker import Tracker

PAGE = "http://127.0.0.1:8001"
API = "http://127.0.0.1:8002"
DATE = ("Date", "Mon, 01 Jan 2024 10:00:00 GMT")


@pytest.mark.parametrize("status, headers, seconds", [
    (200, [("Cache-Control", "max-age=600")], 600),
    (200, [("Cache-Control", "private, max-age=60")], 60),
    (200, [("Cache-Control", "max-age=0")], 0),
    (200, [("Cache-Control", "no-store, max-age=600")], 0),
    (200, [("Cache-Control", "no-cache, max-age=600")], 0),  # revalidated: the request reaches the proxy
    (200, [("Cache-Control", "max-age=600"), ("Vary", "*")], 0),
    (200, [("ETag", '"x"')], 0),  # validators alone: revalidated every time
    (200, [DATE, ("Expires", "Mon, 01 Jan 2024 11:00:00 GMT")], 3600),
    (200, [DATE, ("Expires", "0")], 0),
    (200, [DATE, ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")], 3600),  # heuristic: 10% of 10 h
    (500, [DATE, ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")], 0),
    (200, [("Cache-Control", "max-age=abc")], 0),
    (200, [], 0),
])
def test_how_long_chromium_reuses_a_response(status, headers, seconds):
    assert fresh_for(status, Headers(headers)) == seconds


class Session:
    def __init__(self):
        self.t = Tracker()
        self.n = 0

    def flow(self, method, url, req, resp=(), status=200, at=None):
        self.n += 1
        ex = Exchange(f"f{self.n}", RequestSnapshot(method, url, Headers(list(req)), at or self.n, "c"),
                      ResponseSnapshot(status, Headers(list(resp)), at or self.n))
        return self.t.observe(ex).verdict

    def cors(self, url, resp, origin=PAGE, **kw):
        return self.flow("GET", url, [("Origin", origin), ("Sec-Fetch-Mode", "cors"), ("Referer", PAGE + "/")], resp, **kw)

    def image(self, url, resp, **kw):
        return self.flow("GET", url, [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image"),
                                      ("Referer", PAGE + "/")], resp, **kw)


def _trap(v):
    return [w for w in v.warnings if w.startswith("browser cache:")]


def test_a_no_cors_copy_of_a_url_that_answers_cors_sets_the_trap():
    s = Session()
    s.cors(API + "/api/x?v=0", [("Access-Control-Allow-Origin", PAGE), ("Vary", "Origin")])
    v = s.image(API + "/api/x?v=1", [("Cache-Control", "max-age=600")])
    assert v.verdict == "allowed" and v.kind == "no-cors"
    (w,) = _trap(v)
    assert "MissingAllowOriginHeader" in w and "600 s" in w and "Vary: Origin" in w and "no flow in the proxy" in w
    assert v.summary().startswith("CORS n/a: no-cors; warning: browser cache:")


@pytest.mark.parametrize("resp", [
    [("Cache-Control", "max-age=600"), ("Vary", "Origin")],
    [("Cache-Control", "no-store")],
    [("Cache-Control", "no-cache"), ("ETag", '"1"')],
    [("Cache-Control", "max-age=600"), ("Access-Control-Allow-Origin", "*")],  # the same for every request
])
def test_no_trap_where_chromium_asks_the_server_or_the_copy_fits(resp):
    s = Session()
    s.cors(API + "/api/x", [("Access-Control-Allow-Origin", PAGE), ("Vary", "Origin")])
    assert not _trap(s.image(API + "/api/x?v=1", resp))


def test_an_image_nothing_showed_to_answer_cors_is_not_flagged():
    s = Session()
    assert not _trap(s.image(API + "/logo.gif", [("Cache-Control", "max-age=600")]))


def test_an_origin_specific_grant_without_vary_is_flagged_with_what_fails():
    s = Session()
    v = s.cors(API + "/api/me", [("Access-Control-Allow-Origin", PAGE), ("Cache-Control", "max-age=60")])
    (w,) = _trap(v)
    assert "AllowOriginMismatch" in w and "same site" in w
    assert not any(x.startswith("Access-Control-Allow-Origin names one origin") for x in v.warnings)  # replaced
    v = s.cors(API + "/api/me2", [("Access-Control-Allow-Origin", PAGE), ("Cache-Control", "no-store")])
    assert not _trap(v) and any(x.startswith("Access-Control-Allow-Origin names one origin") for x in v.warnings)


def test_a_preflight_for_a_trapped_url_points_at_the_copy():
    s = Session()
    s.cors(API + "/api/x?v=0", [("Access-Control-Allow-Origin", PAGE)])
    img = s.image(API + "/api/x", [("Cache-Control", "max-age=600")], at=100.0)
    pre = s.flow("OPTIONS", API + "/api/x", [("Origin", PAGE), ("Access-Control-Request-Method", "GET"),
                                             ("Access-Control-Request-Headers", "x-trap"), ("Sec-Fetch-Mode", "cors")],
                 [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Headers", "x-trap")], 204, at=110.0)
    assert pre.verdict == "allowed"
    assert any(f"flow {img.flow_id[:8]}" in w and "no actual request" in w for w in pre.warnings)
    late = s.flow("OPTIONS", API + "/api/x", [("Origin", PAGE), ("Access-Control-Request-Method", "GET"),
                                              ("Sec-Fetch-Mode", "cors")], [("Access-Control-Allow-Origin", PAGE)],
                  204, at=800.0)
    assert not any("no actual request" in w for w in late.warnings)  # the copy went stale: asked again


def test_the_tables_are_bounded():
    t = Tracker(capacity=8)
    for i in range(100):
        for req, resp in (([("Origin", PAGE), ("Sec-Fetch-Mode", "cors")], [("Access-Control-Allow-Origin", PAGE),
                                                                            ("Cache-Control", "max-age=9")]),
                          ([("Sec-Fetch-Mode", "no-cors")], [("Cache-Control", "max-age=9")])):
            t.observe(Exchange(f"x{i}", RequestSnapshot("GET", f"{API}/p{i}", Headers(req), i, "c"),
                               ResponseSnapshot(200, Headers(resp), i)))
    assert t.state_size()["cache_traps"] <= 16
