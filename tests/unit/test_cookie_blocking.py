"""The cookie that was not sent, and the Set-Cookie that was refused (engine/cookie_blocking.py).

Each expectation is what Chromium 156 reported over CDP in the three third-party-cookie settings
(tests/e2e/test_cookies_chromium.py checks the same rules against the browser itself)."""

from __future__ import annotations

import json

from mitmproxy_cors.engine.cookie_blocking import parse_set_cookie
from mitmproxy_cors.engine.tracker import Tracker

from .wire import API, PAGE, Wire, request, response

SECURE_API = "https://api.b.test"
SECURE_PAGE = "https://app.a.test"


def _login(w: Wire, *set_cookies: str, t: float = 0.0) -> None:
    """The API's own page sets its cookies (a first-party navigation)."""
    w.observe(request("GET", SECURE_API + "/login", ("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate"),
                      ("Sec-Fetch-Dest", "document"), t=t),
              response(200, *[("Set-Cookie", c) for c in set_cookies], t=t))


def _xfetch(w: Wire, path: str = "/me", *extra, status: int = 200, sfsa: str | None = "none", t: float = 1.0,
            set_cookies=(), method: str = "GET", site: str = "cross-site"):
    headers = [("Origin", SECURE_PAGE), ("Sec-Fetch-Site", site), ("Sec-Fetch-Mode", "cors"),
               ("Sec-Fetch-Dest", "empty")]
    if sfsa is not None:
        headers.append(("Sec-Fetch-Storage-Access", sfsa))
    return w.observe(request(method, SECURE_API + path, *headers, *extra, t=t),
                     response(status, ("Access-Control-Allow-Origin", SECURE_PAGE),
                              ("Access-Control-Allow-Credentials", "true"),
                              *[("Set-Cookie", c) for c in set_cookies], t=t)).verdict


ALL = ("sid=1; Path=/; SameSite=None; Secure", "lax=1; Path=/; SameSite=Lax", "strict=1; Path=/; SameSite=Strict",
       "plain=1; Path=/", "chips=1; Path=/; Secure; SameSite=None; Partitioned")


def _withheld(v) -> dict:
    return {e["name"]: e["reasons"] for e in v.cookies["withheld"]}


def test_third_party_cookies_blocked_names_both_settings_the_wire_cannot_tell_apart():
    w = Wire()
    _login(w, *ALL)
    v = _xfetch(w, status=401)
    assert v.verdict == "allowed" and v.reason is None  # CORS passed: the cookie story is a warning
    assert v.cookies["third_party_cookies"] == "blocked" and v.cookies["settings"] == ["block", "phaseout"]
    assert _withheld(v) == {
        "sid": {"block": ["UserPreferences"], "phaseout": ["ThirdPartyPhaseout"]},
        "lax": {"block": ["SchemefulSameSiteLax", "UserPreferences"], "phaseout": ["SchemefulSameSiteLax"]},
        "strict": {"block": ["SchemefulSameSiteStrict", "UserPreferences"], "phaseout": ["SchemefulSameSiteStrict"]},
        "plain": {"block": ["SchemefulSameSiteUnspecifiedTreatedAsLax", "UserPreferences"],
                  "phaseout": ["SchemefulSameSiteUnspecifiedTreatedAsLax"]},
    }  # the Partitioned cookie lives in the API's own partition: DevTools does not list it
    w0 = v.warnings[0]
    assert w0.startswith("the server answered 401, likely because the browser withheld cookies `sid`")
    assert "SameSite=None; Secure" in w0 and "Storage Access API" in w0 and "Partitioned" in w0


def test_third_party_cookies_allowed_only_samesite_withholds():
    w = Wire()
    _login(w, *ALL)
    v = _xfetch(w, "/me", ("Cookie", "sid=1"), sfsa="active")
    assert v.cookies["third_party_cookies"] == "allowed"
    assert _withheld(v) == {"lax": {"allow": ["SchemefulSameSiteLax"]},
                            "strict": {"allow": ["SchemefulSameSiteStrict"]},
                            "plain": {"allow": ["SchemefulSameSiteUnspecifiedTreatedAsLax"]}}
    assert "`lax` (SameSite=Lax: SchemefulSameSiteLax)" in v.warnings[0]


def test_no_storage_access_header_leaves_every_setting_open_unless_a_cookie_went():
    w = Wire()
    _login(w, "lax=1; Path=/; SameSite=Lax", "sid=1; Path=/; SameSite=None; Secure")
    unknown = w.observe(request("GET", SECURE_API + "/a", ("Origin", SECURE_PAGE)),
                        response(401, ("Access-Control-Allow-Origin", SECURE_PAGE))).verdict
    assert unknown.cookies["settings"] == ["block", "phaseout", "allow"]
    assert unknown.cookies["credentials"] == "unknown"
    assert _withheld(unknown)["sid"] == {"block": ["UserPreferences"], "phaseout": ["ThirdPartyPhaseout"], "allow": []}
    went = w.observe(request("GET", SECURE_API + "/b", ("Origin", SECURE_PAGE), ("Cookie", "sid=1")),
                     response(200)).verdict
    assert went.cookies["settings"] == ["allow"] and list(_withheld(went)) == ["lax"]


def test_credentials_omitted_and_same_site_requests_withhold_nothing():
    w = Wire()
    _login(w, *ALL)
    assert _xfetch(w, sfsa=None).cookies is None  # Sec-Fetch-Site without Storage-Access: omit
    assert _xfetch(w, site="same-site", sfsa=None).cookies is None
    assert Tracker().state_size()["cookie_domains"] == 0


def test_set_cookie_refused_in_a_cross_site_response_per_setting():
    w = Wire()
    sets = ("a=1; SameSite=None; Secure", "b=1; SameSite=None", "c=1; SameSite=Lax", "d=1",
            "e=1; SameSite=None; Secure; Partitioned", "f=1; Secure; Partitioned", "g=1; Partitioned")
    blocked = _xfetch(w, "/x", set_cookies=sets)
    refused = {e["name"]: e for e in blocked.cookies["refused"]}
    assert refused["a"]["reasons"] == {"block": ["UserPreferences"], "phaseout": ["ThirdPartyPhaseout"]}
    assert refused["b"]["reasons"] == {"block": ["UserPreferences"], "phaseout": ["ThirdPartyPhaseout"]}
    assert refused["c"]["reasons"] == {"block": ["UserPreferences"], "phaseout": ["UserPreferences"]}
    assert "e" not in refused
    assert refused["f"]["reasons"]["block"] == ["SchemefulSameSiteUnspecifiedTreatedAsLax"]
    assert refused["g"]["silent"] is True
    assert "dropped Set-Cookie `g` silently" in blocked.warnings[0]
    allowed = {e["name"]: e["reasons"]["allow"] for e in _xfetch(w, "/y", set_cookies=sets, sfsa="active").cookies["refused"]}
    assert allowed == {"b": ["SameSiteNoneInsecure"], "c": ["SchemefulSameSiteLax"],
                       "d": ["SchemefulSameSiteUnspecifiedTreatedAsLax"],
                       "f": ["SchemefulSameSiteUnspecifiedTreatedAsLax"], "g": []}


def test_same_site_set_cookie_refuses_only_none_without_secure():
    w = Wire()
    v = _xfetch(w, "/s", site="same-site", sfsa=None, set_cookies=("a=1; SameSite=None", "b=1; SameSite=Lax", "c=1; Partitioned"))
    assert [(e["name"], e["reasons"], e.get("silent")) for e in v.cookies["refused"]] == [
        ("a", {"any": ["SameSiteNoneInsecure"]}, None), ("c", {"any": []}, True)]
    # the Lax cookie was kept: a later cross-site request goes without it
    later = _xfetch(w, "/t", sfsa="active", t=5.0)
    assert _withheld(later) == {"b": {"allow": ["SchemefulSameSiteLax"]}}


def test_top_level_navigation_withholds_strict_and_on_post_lax():
    w = Wire()
    _login(w, "lax=1; Path=/; SameSite=Lax", "strict=1; Path=/; SameSite=Strict", "plain=1; Path=/", t=0.0)

    def nav(method, t):
        return w.observe(request(method, SECURE_API + "/home", ("Sec-Fetch-Site", "cross-site"),
                                 ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document"), t=t),
                         response(200)).verdict
    assert _withheld(nav("GET", 10.0)) == {"strict": {"any": ["SchemefulSameSiteStrict"]}}
    assert _withheld(nav("POST", 10.0)) == {"lax": {"any": ["SchemefulSameSiteLax"]},
                                            "strict": {"any": ["SchemefulSameSiteStrict"]}}
    # an unspecified cookie older than two minutes no longer goes on a top-level POST
    assert _withheld(nav("POST", 500.0))["plain"] == {"any": ["SchemefulSameSiteUnspecifiedTreatedAsLax"]}


def test_paths_domains_and_expiry():
    w = Wire()
    _login(w, "p=1; Path=/admin; SameSite=Lax", "d=1; Domain=b.test; SameSite=Lax", "gone=1; SameSite=Lax")
    w.observe(request("GET", SECURE_API + "/logout"), response(200, ("Set-Cookie", "gone=; Max-Age=0")))
    v = _xfetch(w, "/me", sfsa="active")
    assert set(_withheld(v)) == {"d"}
    assert set(_withheld(_xfetch(w, "/admin/x", sfsa="active"))) == {"d", "p"}


def test_401_with_third_party_cookies_blocked_and_no_known_cookie():
    v = _xfetch(Wire(), status=401)
    assert v.cookies["withheld"] == [] and v.cookies["third_party_cookies"] == "blocked"
    assert v.warnings[0].startswith("the server answered 401, likely because the browser sent no cookie")


def test_values_never_reach_the_report():
    w = Wire()
    _login(w, "sid=SECRETVALUE; Path=/; SameSite=Lax")
    v = _xfetch(w, status=401, set_cookies=("tok=OTHERSECRET; SameSite=Lax",))
    text = json.dumps(v.to_dict())
    assert "SECRETVALUE" not in text and "OTHERSECRET" not in text and "`sid`" in text and "`tok`" in text


def test_plain_http_flows_without_cookies_are_untouched():
    v = Wire().fetch("GET", API + "/data", resp_headers=[("Access-Control-Allow-Origin", PAGE)]).verdict
    assert v.cookies is None


def test_hostile_set_cookie_lines_never_raise():
    for line in ("", ";", "=", "a", "a=1; Expires=garbage", "a=1; Max-Age=abc", "a=1; Domain=", "\x00=1",
                 "a=1; SameSite=bogus", "a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "x" * 5000 + "=1"):
        parse_set_cookie(line, 0.0)
        _xfetch(Wire(), set_cookies=(line,))


def test_the_jar_is_bounded():
    w = Wire(Tracker(capacity=8))
    for i in range(50):
        w.observe(request("GET", f"https://h{i}.b.test/", ("Sec-Fetch-Site", "none")),
                  response(200, *[("Set-Cookie", f"c{j}=1") for j in range(100)]))
    assert len(w.tracker.cookies) <= 8
    assert all(len(c) <= 64 for c in w.tracker.cookies._jar.values())


HTTP_PAGE = "http://www.a.test"
HTTP_API = "http://api.b.test"


def _plain(w: Wire, method: str, url: str, *headers, status: int = 200, set_cookies=(), t: float = 1.0):
    """A request to a host that is not a secure context: no Sec-Fetch-* at all."""
    return w.observe(request(method, url, *headers, t=t),
                     response(status, ("Access-Control-Allow-Origin", HTTP_PAGE),
                              ("Access-Control-Allow-Credentials", "true"),
                              *[("Set-Cookie", c) for c in set_cookies], t=t)).verdict


def test_secure_from_http_and_a_foreign_domain_are_refused_in_any_context():
    w = Wire()
    v = _plain(w, "GET", HTTP_API + "/setup", set_cookies=(
        "s=1; Secure; SameSite=Lax", "n=1; SameSite=None; Secure", "d=1; Domain=other.test", "tld=1; Domain=test",
        "ok=1; Domain=b.test; SameSite=Lax"))
    refused = {e["name"]: e["reasons"] for e in v.cookies["refused"]}
    assert v.cookies["context"] == "unknown" and v.cookies["settings"] == ["any"]
    assert refused == {"s": {"any": ["SecureOnly"]}, "n": {"any": ["SecureOnly"]},
                       "d": {"any": ["InvalidDomain"]}, "tld": {"any": ["InvalidDomain"]}}
    assert "serve the page over https" in v.warnings[0]
    # a cross-site answer: the setting decides, except for a Domain that does not cover the host
    x = _plain(w, "GET", HTTP_API + "/x", ("Origin", HTTP_PAGE),
               set_cookies=("y=1; Secure; SameSite=Lax", "z=1; Domain=other.test"))
    refused = {e["name"]: e["reasons"] for e in x.cookies["refused"]}
    assert refused["z"] == {"block": ["InvalidDomain"], "phaseout": ["InvalidDomain"], "allow": ["InvalidDomain"]}
    assert refused["y"] == {"block": ["UserPreferences"], "phaseout": ["UserPreferences"],
                            "allow": ["SchemefulSameSiteLax", "SecureOnly"]}


def test_a_cookie_kept_only_under_some_settings_is_withheld_only_under_them():
    w = Wire()
    # set by a cross-site answer while the setting was unknown: kept only where third-party cookies
    # are allowed
    w.observe(request("GET", SECURE_API + "/x", ("Origin", SECURE_PAGE)),
              response(200, ("Set-Cookie", "later=1; SameSite=None; Secure")))
    assert "later" not in _withheld(_xfetch(w, status=401))  # blocked: the browser never kept it


def test_a_navigation_without_fetch_metadata_is_top_level_when_a_lax_cookie_went():
    w = Wire()
    _plain(w, "GET", HTTP_API + "/setup", set_cookies=("lax=1; SameSite=Lax", "strict=1; SameSite=Strict"))
    nav = [("Accept", "text/html,application/xhtml+xml"), ("Upgrade-Insecure-Requests", "1"),
           ("Referer", HTTP_PAGE + "/")]
    top = _plain(w, "GET", HTTP_API + "/home", *nav, ("Cookie", "lax=1"))
    assert _withheld(top) == {"strict": {"any": ["SchemefulSameSiteStrict"]}}
    # nothing went: a frame or a top-level POST, the wire does not say; not judged
    assert _plain(w, "GET", HTTP_API + "/frame", *nav).cookies is None


def test_storage_access_header_marks_a_frames_own_requests_third_party():
    w = Wire()
    _login(w, "lax=1; Path=/; SameSite=Lax", "part=1; Path=/; SameSite=Lax; Secure; Partitioned")
    # an iframe of the API's site inside another site's page fetches its own origin: Sec-Fetch-Site
    # says same-origin, yet its cookies are third-party
    v = w.observe(request("GET", SECURE_API + "/in-frame", ("Sec-Fetch-Site", "same-origin"),
                          ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty"),
                          ("Sec-Fetch-Storage-Access", "none"), ("Referer", SECURE_API + "/frame"), t=1.0),
                  response(200)).verdict
    assert v.cookies["context"] == "cross-site"
    # the Partitioned cookie was set under the API's own top-level site, which is not this page's
    assert _withheld(v) == {"lax": {"block": ["SchemefulSameSiteLax", "UserPreferences"],
                                    "phaseout": ["SchemefulSameSiteLax"]}}
    frame_nav = w.observe(request("GET", SECURE_API + "/frame", ("Sec-Fetch-Site", "cross-site"),
                                  ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "iframe"),
                                  ("Sec-Fetch-Storage-Access", "none"), t=1.0), response(200)).verdict
    assert set(_withheld(frame_nav)) == {"lax"}


def test_a_redirect_back_to_the_pages_site_is_not_third_party():
    w = Wire()
    _login(w, "strict=1; Path=/; SameSite=Strict", "lax=1; Path=/; SameSite=Lax")
    # Sec-Fetch-Site counts the cross-site hop before it; no Storage-Access header: cookies went
    v = _xfetch(w, "/back", ("Cookie", "lax=1"), sfsa=None)
    assert v.cookies is None


def test_a_storage_access_value_chromium_never_sends_is_no_evidence():
    w = Wire()
    _login(w, "lax=1; Path=/; SameSite=Lax")
    v = w.observe(request("GET", SECURE_API + "/x", ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "cors"),
                          ("Sec-Fetch-Storage-Access", "chrome-extension://abc"), t=1.0), response(200)).verdict
    assert v.cookies is None


def test_a_deletion_the_browser_refuses_keeps_the_cookie():
    w = Wire()
    _login(w, "lax=1; Path=/; SameSite=Lax")
    _xfetch(w, "/logout", set_cookies=("lax=; Path=/; Max-Age=0",))  # third-party: refused, not deleted
    assert "lax" in _withheld(_xfetch(w, "/me", status=401, t=2.0))
