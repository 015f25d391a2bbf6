"""The passive audit: findings from what the traffic itself shows, through the pipeline."""

from __future__ import annotations

from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from mitmproxy_cors.pipeline import Pipeline

PAGE = "https://www.shop.example"
API = "https://api.shop.example"
_n = 0


def _ex(method="GET", path="/data", req=(), resp=(), status=200, origin=PAGE):
    global _n
    _n += 1
    headers = [("Origin", origin)] if origin else []
    headers += list(req)
    return Exchange(f"{_n:08d}-flow", RequestSnapshot(method, API + path, Headers(headers), 1000.0 + _n),
                    ResponseSnapshot(status, Headers(list(resp)), 1000.0 + _n))


def test_an_allow_list_seen_in_traffic_gives_no_finding():
    p = Pipeline()
    r = p.decide(_ex(req=[("Cookie", "sid=1")], resp=[("Access-Control-Allow-Origin", PAGE),
                                                        ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")]))
    assert r.new_findings == () and r.decision.findings == ()
    assert "audit" not in r.decision.flow_line()
    # but it is counted: an echo with credentials, which only the active audit can tell apart
    assert len(p.audit.echoing) == 1


def test_null_with_credentials_where_cookies_carry_the_session_is_high():
    p = Pipeline()
    p.decide(_ex(path="/login", resp=[("Set-Cookie", "sid=secret; Path=/; Secure; SameSite=None")], origin=None))
    r = p.decide(_ex(origin="null", resp=[("Access-Control-Allow-Origin", "null"),
                                          ("Access-Control-Allow-Credentials", "true")]))
    (f,) = r.new_findings
    assert (f.cls, f.kind, f.severity, f.source) == ("null-origin-allowed", "vulnerability", "high", "passive")
    assert any("sets cookies" in e and "SameSite=None" in e for e in f.evidence)
    assert "secret" not in repr(f.record())
    line = r.decision.flow_line()
    assert line["audit"][0]["class"] == "null-origin-allowed"
    # reported once per endpoint: the next flow shows it, but it is not new
    r2 = p.decide(_ex(origin="null", resp=[("Access-Control-Allow-Origin", "null"),
                                           ("Access-Control-Allow-Credentials", "true")]))
    assert r2.new_findings == () and r2.decision.findings[0].cls == "null-origin-allowed"


def test_cookies_that_stay_same_site_make_a_cross_site_grant_medium():
    """SameSite=Lax (and no SameSite, Chromium's default Lax) cookies do not go with another site's fetch."""
    for cookie in ("sid=1; Path=/", "sid=1; SameSite=Lax", "sid=1; SameSite=None; Secure; Partitioned"):
        p = Pipeline()
        p.decide(_ex(path="/login", resp=[("Set-Cookie", cookie)], origin=None))
        r = p.decide(_ex(origin="null", resp=[("Access-Control-Allow-Origin", "null"),
                                              ("Access-Control-Allow-Credentials", "true")]))
        assert [(f.kind, f.severity) for f in r.new_findings] == [("vulnerability", "medium")], cookie
        assert "same site only" in " ".join(r.new_findings[0].evidence)


def test_null_without_credentials_is_what_star_does():
    p = Pipeline()
    r = p.decide(_ex(origin="null", resp=[("Access-Control-Allow-Origin", "null")]))
    assert r.new_findings == ()


def test_an_http_origin_trusted_by_an_https_site():
    p = Pipeline()
    r = p.decide(_ex(origin="http://www.shop.example", req=[("Cookie", "sid=1")],
                     resp=[("Access-Control-Allow-Origin", "http://www.shop.example"),
                           ("Access-Control-Allow-Credentials", "true")]))
    assert [(f.cls, f.kind, f.severity) for f in r.new_findings] == [("http-origin-trusted", "vulnerability", "medium")]
    # loopback development origins are fine
    r = p.decide(_ex(path="/dev", origin="http://localhost:3000",
                     resp=[("Access-Control-Allow-Origin", "http://localhost:3000"),
                           ("Access-Control-Allow-Credentials", "true")]))
    assert r.new_findings == ()


def test_an_origin_dependent_answer_cached_without_vary():
    p = Pipeline()
    cache = [("Cache-Control", "public, max-age=300")]
    r1 = p.decide(_ex(resp=[("Access-Control-Allow-Origin", PAGE), *cache]))
    assert r1.new_findings == ()  # one origin seen: a fixed value needs no Vary
    r2 = p.decide(_ex(origin="https://admin.shop.example",
                      resp=[("Access-Control-Allow-Origin", "https://admin.shop.example"), *cache]))
    assert [(f.cls, f.kind, f.severity) for f in r2.new_findings] == [("vary-origin-missing", "vulnerability", "medium")]
    r3 = p.decide(_ex(path="/other", origin="https://admin.shop.example",
                      resp=[("Access-Control-Allow-Origin", "https://admin.shop.example"), *cache, ("Vary", "Origin")]))
    assert r3.new_findings == ()
    r4 = p.decide(_ex(path="/private", origin="https://admin.shop.example",
                      resp=[("Access-Control-Allow-Origin", "https://admin.shop.example"),
                            ("Cache-Control", "private, max-age=60")]))
    assert [(f.cls, f.kind, f.severity) for f in r4.new_findings] == [("vary-origin-missing", "smell", "low")]
    r5 = p.decide(_ex(path="/nostore", origin="https://admin.shop.example",
                      resp=[("Access-Control-Allow-Origin", "https://admin.shop.example"),
                            ("Cache-Control", "no-store")]))
    assert r5.new_findings == ()


def test_star_on_a_host_whose_requests_carry_cookies_is_a_smell_once_per_host():
    p = Pipeline()
    r = p.decide(_ex(origin=None, req=[("Cookie", "sid=1")], resp=[("Access-Control-Allow-Origin", "*")]))
    assert [(f.cls, f.kind, f.severity, f.endpoint) for f in r.new_findings] == \
        [("wildcard-with-cookies", "smell", "low", f"* {API}")]
    r = p.decide(_ex(path="/b", origin=None, req=[("Cookie", "sid=1")], resp=[("Access-Control-Allow-Origin", "*")]))
    assert r.new_findings == ()
    # a public API without cookies: correct
    q = Pipeline()
    assert q.decide(_ex(resp=[("Access-Control-Allow-Origin", "*")])).new_findings == ()


def test_long_max_age_and_private_network_for_any_origin():
    p = Pipeline()
    pre = [("Access-Control-Request-Method", "PUT")]
    r = p.decide(_ex("OPTIONS", req=pre, resp=[("Access-Control-Allow-Origin", PAGE),
                                                ("Access-Control-Allow-Methods", "PUT"),
                                                ("Access-Control-Max-Age", "31536000")], status=204))
    assert [(f.cls, f.severity, f.endpoint) for f in r.new_findings] == [("long-max-age", "low", f"PUT {API}/data")]
    r = p.decide(_ex("OPTIONS", path="/dev", req=pre + [("Access-Control-Request-Private-Network", "true")],
                     resp=[("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "PUT"),
                           ("Access-Control-Allow-Private-Network", "true")], status=204))
    assert [(f.cls, f.kind) for f in r.new_findings] == [("private-network-any-origin", "vulnerability")]


def test_off_means_no_finding():
    p = Pipeline()
    p.audit.enabled = False
    r = p.decide(_ex(origin="null", resp=[("Access-Control-Allow-Origin", "null"),
                                          ("Access-Control-Allow-Credentials", "true")]))
    assert r.new_findings == () and r.decision.findings == ()


def test_state_is_bounded():
    p = Pipeline(capacity=50)
    for i in range(500):
        p.decide(_ex(path=f"/n{i}", origin="null", resp=[("Access-Control-Allow-Origin", "null"),
                                                         ("Access-Control-Allow-Credentials", "true")]))
    assert p.audit.state_size() <= 3 * 50


def test_a_preflight_updated_by_its_actual_request_keeps_its_findings():
    """The preflight's Decision is made again once its actual request arrives: its flow must not lose
    what the audit found on it."""
    p = Pipeline()
    pre = p.decide(_ex("OPTIONS", req=[("Access-Control-Request-Method", "PUT"), ("Sec-Fetch-Mode", "cors")],
                       resp=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Methods", "PUT"),
                             ("Access-Control-Max-Age", "999999")], status=204))
    assert [f.cls for f in pre.decision.findings] == ["long-max-age"]
    actual = p.decide(_ex("PUT", req=[("Sec-Fetch-Mode", "cors")], resp=[("Access-Control-Allow-Origin", PAGE)]))
    (update,) = actual.updates
    assert update.flow_id == pre.decision.flow_id
    assert [f.cls for f in update.findings] == ["long-max-age"]
    assert update.flow_line()["audit"][0]["class"] == "long-max-age"
