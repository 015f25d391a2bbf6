"""Safari's console sentences (`webkit_message`) and WebKit's differences (`webkit_note`).

References: WebKit's `passesAccessControlCheck` and `validatePreflightResponse`
(Source/WebCore/loader/CrossOriginAccessControl.cpp), `CrossOriginPreflightResultCacheItem::create` and
`validateMethodAndHeaders` (CrossOriginPreflightResultCache.cpp), `NetworkLoadChecker::checkRedirection`
(Source/WebKit/NetworkProcess/NetworkLoadChecker.cpp). Each sentence below is one WebKitGTK 2.50.6 printed
in tests/e2e/test_webkit.py (the case named in the comment).
"""

from mitmproxy_cors.engine import webkit_messages as wk
from mitmproxy_cors.engine.verdict import verdict_from_plain, verdict_to_plain

from mitmproxy_cors.engine.model import Exchange
from mitmproxy_cors.engine.tracker import Observation

from .wire import API, PAGE, acam, acao, cors_request, preflight_request, request, response
from .wire import Wire as _Wire


class Wire(_Wire):
    """The tracker's verdicts as every front end gets them: with Safari's sentence rendered from each
    verdict's exchange (pipeline.Decision does it when it renders a line)."""

    def observe(self, req, resp=None, *, error=None, proxy_answered_error=False, flow_id=None) -> Observation:
        ex = Exchange(flow_id or f"f{next(self._ids)}", req, resp, error, proxy_answered_error)
        obs = self.tracker.observe(ex)
        return Observation(wk.with_webkit(obs.verdict, ex),
                           tuple(wk.with_webkit(v, e) for v, e in zip(obs.updated, obs.completed)), obs.completed)

URL = API + "/r"
NOT_ALLOWED = f"Origin {PAGE} is not allowed by Access-Control-Allow-Origin. Status code: 200"


# -- the access check ------------------------------------------------------------------------------------
def test_access_check_sentences():
    check = wk.access_message
    assert check(None, None, PAGE, 200, False) == NOT_ALLOWED  # get-no-acao
    assert check(None, None, PAGE, 404, False).endswith("Status code: 404")  # get-status-404-no-acao
    assert check("", None, PAGE, 200, False) == NOT_ALLOWED  # get-acao-empty
    assert check("foo", None, PAGE, 200, False) == NOT_ALLOWED  # get-acao-foo: no "invalid value" of its own
    assert check(f"{PAGE} http://o.test", None, PAGE, 200, False) == NOT_ALLOWED  # get-acao-space-list
    assert check(f"{PAGE}, {PAGE}", None, PAGE, 200, False) == wk.MULTIPLE  # get-acao-two-lines
    assert check("*, *", None, PAGE, 200, False) == wk.MULTIPLE  # get-acao-two-stars
    assert check("*", None, PAGE, 200, False) is None
    assert check("*", "true", PAGE, 200, True) == wk.WILDCARD  # inc-acao-star-acac
    assert check(PAGE, None, PAGE, 200, True) == wk.CREDENTIALS  # inc-echo-no-acac
    assert check(PAGE, "True", PAGE, 200, True) == wk.CREDENTIALS  # inc-echo-acac-True
    assert check(PAGE, "true, true", PAGE, 200, True) == wk.CREDENTIALS  # inc-echo-acac-two
    assert check(PAGE, "true", PAGE, 200, True) is None
    assert check("null", "true", "null", 200, True) is None  # redir-include-api2-null-acac


def test_trimmed_values_pass_as_webkit_reads_them():
    # get-acao-padded, get-acao-tab-padded, inc-echo-acac-padded: allowed in WebKit.
    v = Wire().fetch("GET", URL, [("Cookie", "a=1")], [("Access-Control-Allow-Origin", f" \t{PAGE} "),
                                                       ("Access-Control-Allow-Credentials", "  true ")]).verdict
    assert v.webkit_message is None


# -- the preflight ---------------------------------------------------------------------------------------
def pf(status=200, acao_=PAGE, acac=None, acam_=None, acah=None, method="PUT", headers=(), creds=False):
    return wk.preflight_message(status, acao_, acac, acam_, acah, PAGE, method, tuple(headers), creds)


def test_preflight_status_comes_before_allow_origin():
    # pf-404-no-acao: Chromium names the missing Allow-Origin, WebKit the status.
    assert pf(404, acao_=None) == "Preflight response is not successful. Status code: 404"
    assert pf(302) == "Preflight response is not successful. Status code: 302"  # pf-redirect-302


def test_preflight_lists_methods_and_headers():
    assert pf(acam_="Bad method") == "Header Access-Control-Allow-Methods has an invalid value: Bad method"
    assert pf(acam_="PUT, Bad method") == ("Header Access-Control-Allow-Methods has an invalid value: "
                                           "PUT, Bad method")  # put-acam-invalid-but-unneeded
    assert pf(acam_="PUT", acah="x y", headers=["x-foo"]) == (
        "Header Access-Control-Allow-Headers has an invalid value: x y")  # acah-invalid
    assert pf(acam_=", PUT ,,") is None  # put-acam-padded-empty-items
    assert pf() == "Method PUT is not allowed by Access-Control-Allow-Methods."  # put-no-acam
    assert pf(acam_="put") == "Method PUT is not allowed by Access-Control-Allow-Methods."  # case-sensitive
    assert pf(method="patch", acam_="PATCH") == "Method patch is not allowed by Access-Control-Allow-Methods."
    assert pf(acam_="*") is None
    assert pf(acam_="*", acac="true", creds=True) == "Method PUT is not allowed by Access-Control-Allow-Methods."
    assert pf(method="GET", headers=["x-foo"]) == (
        "Request header field X-Foo is not allowed by Access-Control-Allow-Headers.")  # xfoo-no-acah
    assert pf(method="GET", acah="X-FOO", headers=["x-foo"]) is None  # xfoo-acah-upper
    assert pf(method="GET", acah="*", headers=["authorization"]) is None  # auth-acah-star
    assert pf(method="GET", acah="*", acac="true", headers=["authorization"], creds=True) == (
        "Request header field Authorization is not allowed by Access-Control-Allow-Headers.")


def test_known_headers_first_and_their_spelling():
    # several-headers-partial, headers-order-content-type: Content-Type before unknown names.
    assert pf(method="GET", acah="x-a", headers=["content-type", "x-a", "x-b"]) == (
        "Request header field Content-Type is not allowed by Access-Control-Allow-Headers.")
    assert pf(method="GET", headers=["dpr"]).startswith("Request header field DPR ")  # dpr-decimal
    assert pf(method="GET", headers=["ect"]).startswith("Request header field ECT ")  # ect-4g
    assert wk.header_spelling("x-requested-with") == "X-Requested-With"
    assert wk.header_spelling("etag") == "ETag"


# -- redirects -------------------------------------------------------------------------------------------
def test_redirect_sentences():
    target = "http://c.test:8003/next"
    assert wk.redirect_message(target, NOT_ALLOWED) == (
        f"Cross-origin redirection to {target} denied by Cross-Origin Resource Sharing policy: {NOT_ALLOWED}")
    assert wk.redirect_message(target, None) is None
    assert wk.redirect_message("http://u:p@c.test:8003/next", None) == (  # redir-userinfo-api2
        f"Cross-origin redirection to {target} denied by Cross-Origin Resource Sharing policy: "
        "redirection URL http://u:p@c.test:8003/next has credentials")
    assert wk.redirect_message("data:text/plain,hi", None).endswith(  # wk-redirect-to-data
        "not allowed to follow a cross-origin CORS redirection with non CORS scheme")


# -- on verdicts -----------------------------------------------------------------------------------------
def test_verdict_report_and_conditional_carry_the_sentence():
    v = Wire().fetch("GET", URL, (), [acao("*")]).verdict  # credentials unknown: allowed, '*' fails with them
    assert v.webkit_message is None
    assert v.conditional["webkit_message"] == wk.WILDCARD
    blocked = Wire().fetch("GET", URL).verdict
    assert blocked.webkit_message == NOT_ALLOWED
    assert blocked.to_dict()["webkit_message"] == NOT_ALLOWED
    assert verdict_from_plain(verdict_to_plain(blocked)) == blocked


def test_redirected_hop_has_origin_null_and_the_redirect_sentence():
    w = Wire()
    v = w.fetch("GET", URL, (), [("Location", "http://c.test:8003/n")], status=302).verdict
    assert v.webkit_message.startswith("Cross-origin redirection to http://c.test:8003/n denied by ")
    v = w.observe(request("GET", "http://c.test:8003/n", ("Origin", "null")), response(200)).verdict
    assert v.webkit_message == "Origin null is not allowed by Access-Control-Allow-Origin. Status code: 200"


def test_completed_preflight_is_judged_again_with_the_credentials_shown():
    w = Wire()
    first = w.preflight(URL, "PUT", None, acao(PAGE), acam("PUT")).verdict
    assert first.webkit_message is None and first.conditional["webkit_message"] == wk.CREDENTIALS
    obs = w.fetch("PUT", URL, [("Cookie", "a=1")], [acao(PAGE), ("Access-Control-Allow-Credentials", "true")])
    (pre,) = obs.updated
    assert pre.credentials == "include" and pre.webkit_message == wk.CREDENTIALS


def test_proxy_502_gives_the_status_webkit_saw():
    w = Wire()
    v = w.observe(preflight_request(URL, "PUT"), None, error="connection refused", proxy_answered_error=True).verdict
    assert v.webkit_message == "Preflight response is not successful. Status code: 502"  # refused-put


def test_notes_where_webkit_decides_otherwise():
    w = Wire()
    v = w.preflight(URL, "GET", "dpr", acao(PAGE)).verdict  # WebKit's preflight for a client hint
    assert "sends this preflight for dpr" in v.webkit_note
    v = w.fetch("GET", API + "/s", [("DPR", "2")], [acao(PAGE)]).verdict  # Chromium's simple request
    assert v.verdict == "allowed" and "would send a preflight for dpr" in v.webkit_note
    v = w.fetch("GET", API + "/t", [("User-Agent", "x")], [acao(PAGE)]).verdict  # every request has one
    assert v.webkit_note is None
    w.preflight(API + "/p", "POST", "content-type", acao(PAGE), ("Access-Control-Allow-Headers", "content-type"))
    v = w.fetch("POST", API + "/p", [("Content-Type", "application/json")],
                [acao(PAGE), ("Location", API + "/q")], status=303).verdict
    assert "new preflight" in v.webkit_note  # wk-303-after-preflighted-post
    v = w.fetch("GET", API + "/d", (), [acao(PAGE), ("Location", "data:,x")], status=302).verdict
    # Chromium fails it too (net::ERR_UNSAFE_REDIRECT, not CORS): no difference to note, WebKit's sentence stays
    assert (v.verdict, v.reason) == ("blocked", None) and v.webkit_note is None
    assert v.webkit_message.startswith("Cross-origin redirection to data:,x denied")
    v = w.preflight(API + "/h", "GET", "x-a,x-b", acao(PAGE)).verdict
    assert "names the first of x-a, x-b" in v.webkit_note  # headers-order-two


def test_same_origin_mode_redirected_elsewhere():
    # same-origin-mode-redirect-to-api: not a CORS sentence.
    req = request("GET", PAGE + "/a", ("Sec-Fetch-Mode", "same-origin"), ("Sec-Fetch-Site", "same-origin"))
    v = Wire().observe(req, response(302, ("Location", API + "/b"))).verdict
    assert v.mode == "same-origin"  # told from Sec-Fetch-Mode
    assert v.webkit_message == (f"Unsafe attempt to load URL {API}/b from origin {PAGE}. "
                                "Domains, protocols and ports must match.")


def test_hostile_input_never_raises():
    w = Wire()
    for junk in ("\x00", "http://[::1", "://", "data:", "\xff" * 300, "*" * 5000):
        w.fetch("GET", URL, [("X-" + "a" * 10, junk)], [("Access-Control-Allow-Origin", junk), ("Location", junk)],
                status=302)
        w.preflight(URL, junk, junk, ("Access-Control-Allow-Methods", junk), ("Access-Control-Allow-Headers", junk))
        w.observe(cors_request("GET", URL), response(999, ("Access-Control-Allow-Origin", junk)))
