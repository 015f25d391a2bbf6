"""A cookie the browser withheld, or a Set-Cookie it refused, reaches every front end as a warning
beside the CORS verdict (engine/cookie_blocking.py; tests/e2e/test_cookies_chromium.py in Chromium)."""

import json

from mitmproxy_cors.mitm.analysis import wants_line
from mitmproxy_cors.mitm.annotate import MARK_WARNING
from mitmproxy_cors.mitm.explain import title
from mitmproxy_cors.mitm.terminal import verdict_line

from .flows import make_flow

PAGE = "https://app.a.test"
API = "https://api.b.test"
XSITE = [("Origin", PAGE), ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty"),
         ("Sec-Fetch-Storage-Access", "none")]


async def test_a_withheld_session_cookie_is_a_warning_on_an_allowed_flow(cors):
    login = make_flow("GET", API + "/login", [("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate"),
                                              ("Sec-Fetch-Dest", "document")],
                      status=200, resp_headers=[("Set-Cookie", "session=s3cr3t; Path=/; SameSite=Lax; Secure")])
    await cors.run(login)
    f = make_flow("GET", API + "/me", XSITE, status=401,
                  resp_headers=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true"),
                                ("Vary", "Origin")])
    line = await cors.run(f)
    assert (line["verdict"], line["reason"]) == ("allowed", None)
    assert f.comment.startswith("CORS allowed (simple); warning: the server answered 401, likely because the "
                                "browser withheld cookie `session` (SameSite=Lax: block: SchemefulSameSiteLax, "
                                "UserPreferences; phaseout: SchemefulSameSiteLax)")
    assert f.marked == MARK_WARNING
    assert title(line) == ("title-warn", "CORS allowed, with warnings")
    v = cors.observer.flows._by_id[f.id][1]
    assert v.cookies["withheld"][0]["name"] == "session" and wants_line("blocked", v)
    assert "CORS allowed, COOKIE* GET" in str(verdict_line(v))
    assert "s3cr3t" not in json.dumps(f.metadata["cors"]) and "s3cr3t" not in f.comment


async def test_a_refused_set_cookie_on_a_navigation_is_flagged(cors):
    f = make_flow("GET", API + "/", [("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate"),
                                     ("Sec-Fetch-Dest", "document")],
                  status=200, resp_headers=[("Set-Cookie", "sid=1; SameSite=None")])
    line = await cors.run(f)
    assert line["kind"] == "not-cors" and f.marked == MARK_WARNING
    assert f.comment.startswith("CORS n/a: not-cors; warning: the browser refused Set-Cookie `sid` (SameSiteNoneInsecure)")
