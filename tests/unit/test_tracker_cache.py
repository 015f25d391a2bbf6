"""The preflight cache as Chromium keeps it, seen through the tracker; bounded state.

References: https://fetch.spec.whatwg.org/#cors-preflight-cache, and Chromium's version of it,
`network::cors::PreflightCache` (services/network/cors/preflight_cache.cc: one entry per origin and URL,
replaced by a new preflight, erased by a failing lookup, never a hit for Authorization under `*`) with
lifetimes from `PreflightResult` (services/network/cors/preflight_result.cc: 5 s default, 7200 s cap); a
request that needed a preflight and finds none, docs/proxy-limits.md, "Preflight-cache hits from before
the proxy started". What Chromium 156 did is checked by the e2e cases `cache-*` (tests/e2e/README.md).
"""

import pytest

from mitmproxy_cors.engine.preflight_cache import CacheEntry, PreflightCache
from mitmproxy_cors.engine.preflight_check import PreflightResult
from mitmproxy_cors.engine.tracker import Tracker

from .wire import API, PAGE, Wire, acac, acah, acam, acao, max_age

URL = API + "/cached"


def preflighted_put(w, t=0.0, *extra, acrh=None, url=URL):
    pre = w.preflight(url, "PUT", acrh, acao(PAGE), acam("PUT"), *extra, t=t)
    act = w.fetch("PUT", url, (), [acao(PAGE)], t=t + 0.05)
    assert act.verdict.paired_flow_id == pre.verdict.flow_id
    return pre


def test_cache_hit_within_default_max_age():
    # Seen in Chromium: without Access-Control-Max-Age, a second request after 1 s had no preflight
    # (e2e case `cache-default-5s`).
    w = Wire()
    pre = preflighted_put(w, 0.0)
    again = w.fetch("PUT", URL, (), [acao(PAGE)], t=1.0).verdict
    assert again.preflight_cache["state"] == "hit"
    assert again.paired_flow_id == pre.verdict.flow_id
    assert again.verdict == "allowed"


def test_cache_miss_after_default_five_seconds():
    # Seen in Chromium: a third request after 6 s needed a new preflight; without one on the wire it is
    # unexplained.
    w = Wire()
    preflighted_put(w, 0.0)
    late = w.fetch("PUT", URL, (), [acao(PAGE)], t=6.0).verdict
    assert late.preflight_cache["state"] == "unseen"
    assert late.preflight_cache["lookup"] == "expired"
    assert late.paired_flow_id is None
    assert any("preflight" in n for n in late.notes)


def test_cache_hit_within_explicit_max_age():
    w = Wire()
    preflighted_put(w, 0.0, max_age("600"))
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=599.0).verdict.preflight_cache["state"] == "hit"


def test_cache_miss_after_explicit_max_age():
    w = Wire()
    preflighted_put(w, 0.0, max_age("600"))
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=601.0).verdict.preflight_cache["state"] == "unseen"


def test_max_age_zero_is_never_a_cache_hit():
    w = Wire()
    preflighted_put(w, 0.0, max_age("0"))
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=0.5).verdict.preflight_cache["state"] == "unseen"


def test_negative_max_age_is_never_a_cache_hit():
    w = Wire()
    preflighted_put(w, 0.0, max_age("-5"))
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=0.5).verdict.preflight_cache["state"] == "unseen"


def test_non_integer_max_age_caches_for_five_seconds():
    w = Wire()
    preflighted_put(w, 0.0, max_age("10.5"))
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=4.0).verdict.preflight_cache["state"] == "hit"
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=6.0).verdict.preflight_cache["state"] == "unseen"


def test_max_age_is_capped_at_7200_seconds():
    w = Wire()
    preflighted_put(w, 0.0, max_age("86400"))
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=7100.0).verdict.preflight_cache["state"] == "hit"
    preflighted_put(w, 10000.0, max_age("86400"))
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=10000.0 + 7300).verdict.preflight_cache["state"] == "unseen"


def test_cache_is_per_url():
    w = Wire()
    preflighted_put(w, 0.0, max_age("600"))
    assert w.fetch("PUT", URL + "?page=2", (), [acao(PAGE)], t=1.0).verdict.preflight_cache["state"] == "unseen"


def test_cache_is_per_origin():
    w = Wire()
    preflighted_put(w, 0.0, max_age("600"))
    other = w.fetch("PUT", URL, (), [acao("*")], t=1.0, origin="http://evil.test").verdict
    assert other.preflight_cache["state"] == "unseen"


def test_one_preflight_serves_every_request_it_covers():
    # Seen in Chromium: one preflight answering ACAM PUT + ACAH x-foo served a PUT, a GET with X-Foo and
    # another PUT without new OPTIONS (e2e cases `cache-put-then-xfoo-get`, `cache-xfoo-then-put`).
    w = Wire()
    pre = w.preflight(URL, "PUT", "x-foo", acao(PAGE), acam("PUT"), acah("x-foo"), max_age("600"), t=0.0)
    w.fetch("PUT", URL, [("X-Foo", "1")], [acao(PAGE)], t=0.1)
    get = w.fetch("GET", URL, [("X-Foo", "2")], [acao(PAGE)], t=1.0).verdict
    put = w.fetch("PUT", URL, (), [acao(PAGE)], t=2.0).verdict
    assert get.preflight_cache["state"] == "hit" and get.paired_flow_id == pre.verdict.flow_id
    assert put.preflight_cache["state"] == "hit"


def test_header_not_covered_by_the_entry_needs_a_new_preflight():
    # A header the entry does not cover needs a new preflight (`PreflightCache` lookup); Chromium sent one
    # (e2e case `cache-put-then-put-xbar`).
    w = Wire()
    w.preflight(URL, "PUT", "x-foo", acao(PAGE), acam("PUT"), acah("x-foo"), max_age("600"), t=0.0)
    w.fetch("PUT", URL, [("X-Foo", "1")], [acao(PAGE)], t=0.1)
    v = w.fetch("PUT", URL, [("X-Foo", "1"), ("X-Bar", "2")], [acao(PAGE)], t=1.0).verdict
    assert v.preflight_cache["state"] == "unseen"


def test_method_not_covered_by_the_entry_needs_a_new_preflight():
    w = Wire()
    preflighted_put(w, 0.0, max_age("600"))
    assert w.fetch("DELETE", URL, (), [acao(PAGE)], t=1.0).verdict.preflight_cache["state"] == "unseen"


def test_a_new_preflight_replaces_the_entry_for_the_url():
    # Chromium keys the cache per URL (`PreflightCache`); a new preflight replaces what was learned.
    w = Wire()
    preflighted_put(w, 0.0, max_age("600"))
    w.preflight(URL, "DELETE", None, acao(PAGE), acam("DELETE"), max_age("600"), t=10.0)
    w.fetch("DELETE", URL, (), [acao(PAGE)], t=10.1)
    assert w.fetch("PUT", URL, (), [acao(PAGE)], t=11.0).verdict.preflight_cache["state"] == "unseen"


def test_authorization_covered_by_star_is_never_a_cache_hit():
    # Chromium's cache lookup never lets `*` cover Authorization (`PreflightCache`), so Authorization +
    # `ACAH: *` re-preflighted every time, even with max-age=600 (e2e case `cache-auth-acah-star`).
    w = Wire()
    w.preflight(URL, "GET", "authorization", acao(PAGE), acah("*"), max_age("600"), t=0.0)
    w.fetch("GET", URL, [("Authorization", "Bearer t")], [acao(PAGE)], t=0.1)
    v = w.fetch("GET", URL, [("Authorization", "Bearer t")], [acao(PAGE)], t=1.0).verdict
    assert v.preflight_cache["state"] != "hit"


def test_star_methods_entry_serves_any_method_without_credentials():
    w = Wire()
    w.preflight(URL, "PUT", None, acao(PAGE), acam("*"), max_age("600"), t=0.0)
    w.fetch("PUT", URL, (), [acao(PAGE)], t=0.1)
    assert w.fetch("PATCH", URL, (), [acao(PAGE)], t=1.0).verdict.preflight_cache["state"] == "hit"


# -- credentials and the cache (`PreflightCache`, services/network/cors/preflight_cache.cc) --------


def credentialed_preflight(w, t):
    return w.preflight(URL, "PUT", "x-foo", acao(PAGE), acac(), acam("PUT"), acah("x-foo"), max_age("600"), t=t)


def test_omit_entry_does_not_serve_a_credentialed_request():
    # Seen in Chromium: after an omit preflight, an include request to the same URL preflights again
    # (e2e case `cache-omit-then-include`).
    w = Wire()
    credentialed_preflight(w, 0.0)
    w.fetch("PUT", URL, [("X-Foo", "1")], [acao(PAGE), acac()], t=0.1)  # no cookie: omit entry
    v = w.fetch("PUT", URL, [("X-Foo", "1"), ("Cookie", "sid=1")], [acao(PAGE), acac()], t=1.0).verdict
    assert v.credentials == "include"
    assert v.preflight_cache["state"] != "hit"


def test_include_entry_serves_a_later_omit_request():
    # Seen in Chromium: omit, include, omit -> 1, 2, 2 OPTIONS in total: the third reuses the include
    # entry (e2e cases `cache-omit-then-include`, `cache-include-then-omit`).
    w = Wire()
    credentialed_preflight(w, 0.0)
    w.fetch("PUT", URL, [("X-Foo", "1")], [acao(PAGE), acac()], t=0.1)
    second = credentialed_preflight(w, 1.0)
    w.fetch("PUT", URL, [("X-Foo", "1"), ("Cookie", "sid=1")], [acao(PAGE), acac()], t=1.1)
    third = w.fetch("PUT", URL, [("X-Foo", "1")], [acao(PAGE), acac()], t=2.0).verdict
    assert third.preflight_cache["state"] == "hit"
    assert third.paired_flow_id == second.verdict.flow_id


def test_include_entry_with_star_does_not_cover_a_new_header():
    # An entry made for a credentialed request treats `*` literally, for later requests too.
    w = Wire()
    w.preflight(URL, "PUT", "x-foo", acao(PAGE), acac(), acam("PUT"), acah("*, x-foo"), max_age("600"), t=0.0)
    w.fetch("PUT", URL, [("X-Foo", "1"), ("Cookie", "sid=1")], [acao(PAGE), acac()], t=0.1)
    v = w.fetch("PUT", URL, [("X-Bar", "1")], [acao(PAGE), acac()], t=1.0).verdict
    assert v.preflight_cache["state"] != "hit"


# -- the cache data structure directly ---------------------------------------------------------------


def _entry(max_age=5.0, include=False, t=0.0):
    return CacheEntry(PreflightResult(frozenset({"PUT"}), frozenset(), include, max_age), t + max_age, "p", t)


def test_cache_lookup_states():
    c = PreflightCache()
    key = ("c", PAGE, URL)
    assert c.lookup(key, 0.0, "PUT", [], False)[1] == "miss"
    c.store(key, _entry())
    assert c.lookup(key, 1.0, "PUT", [], False)[1] == "hit"
    assert c.lookup(key, 1.0, "DELETE", [], False)[1] == "insufficient"
    # A failing lookup erases the entry (`PreflightCache`).
    assert c.lookup(key, 1.0, "PUT", [], False)[1] == "miss"
    c.store(key, _entry())
    assert c.lookup(key, 5.0, "PUT", [], False)[1] == "expired"
    assert len(c) == 0


def test_long_urls_are_never_cached():
    # `PreflightCache`: URLs of >= 1024 characters are never cached.
    c = PreflightCache()
    c.store(("c", PAGE, "http://b.test/" + "x" * 1100), _entry())
    assert len(c) == 0


def test_cache_capacity_is_bounded():
    c = PreflightCache(capacity=10)
    for i in range(100):
        c.store(("c", PAGE, f"{URL}/{i}"), _entry())
    assert len(c) <= 10


# -- bounded state -----------------------------------------------------------------------------------


def test_state_stays_bounded_after_many_flows():
    t = Tracker(capacity=64)
    w = Wire(t)
    for i in range(2000):
        ts = i * 0.01
        w.preflight(f"{URL}/{i}", "PUT", "x-foo", acao(PAGE), acam("PUT"), acah("x-foo"), max_age("7200"), t=ts)
        if i % 2:
            w.fetch("PUT", f"{URL}/{i}", [("X-Foo", "1")], [acao(PAGE), ("ETag", f'"{i}"')], t=ts)
        w.fetch("GET", f"{API}/r/{i}", (), [acao(PAGE), ("Location", f"{API}/final/{i}")], status=302, t=ts)
        w.fetch("GET", f"{API}/etag/{i}", (), [acao(PAGE), ("ETag", f'"{i}"')], t=ts)
    sizes = t.state_size()
    assert sizes, "state_size() reports the tables it keeps"
    for name, size in sizes.items():
        assert size <= 64, (name, size)


@pytest.mark.parametrize("n", [5000])
def test_default_tracker_state_is_bounded(n):
    t = Tracker()
    w = Wire(t)
    for i in range(n):
        w.preflight(f"{URL}/{i}", "PUT", None, acao(PAGE), acam("PUT"), max_age("7200"), t=float(i) / 1000)
    for size in t.state_size().values():
        assert size <= t.capacity


def test_clear_empties_every_table():
    t = Tracker()
    w = Wire(t)
    preflighted_put(w, 0.0, max_age("600"))
    w.preflight(URL + "/2", "PUT", None, acao(PAGE), acam("PUT"))
    t.clear()
    assert all(size == 0 for size in t.state_size().values())


def test_bearer_token_request_reusing_a_cached_preflight_is_allowed():
    # A page-set Authorization listed in the cached preflight is not HTTP-auth-cache evidence of
    # credentials: the repeated PUT reuses the preflight and Chromium allows it.
    from mitmproxy_cors.engine import Exchange, Headers, RequestSnapshot, ResponseSnapshot, Tracker

    page, url = "http://a.test:8001", "http://b.test:8002/api"
    t = Tracker()

    def observe(i, method, req_headers, resp_headers, ts, status=200):
        return t.observe(Exchange(i, RequestSnapshot(method, url, Headers(req_headers), ts, "c"),
                                  ResponseSnapshot(status, Headers(resp_headers), ts))).verdict

    allow = [("Access-Control-Allow-Origin", page)]
    observe("p", "OPTIONS", [("Origin", page), ("Access-Control-Request-Method", "PUT"),
                             ("Access-Control-Request-Headers", "authorization,content-type")],
            allow + [("Access-Control-Allow-Methods", "PUT"),
                     ("Access-Control-Allow-Headers", "authorization, content-type"),
                     ("Access-Control-Max-Age", "600")], 100.0, status=204)
    put = [("Origin", page), ("Authorization", "Bearer t"), ("Content-Type", "application/json")]
    first = observe("a1", "PUT", put, allow, 100.1)
    again = observe("a2", "PUT", put, allow, 110.0)
    assert first.verdict == "allowed"
    assert again.verdict == "allowed", again.summary()
    assert again.preflight_cache["state"] == "hit" and again.paired_flow_id == "p"
