"""When is a response that fails only for credentialed requests flagged?

The wire cannot show `credentials: 'include'` with no cookie to send (the login call), so such a
flow keeps its verdict for what was sent and carries the verdict under `include` in `conditional`.
It is flagged (every front end's "blocked if the page sends credentials") only when the session
suggests the page sends credentials, and `conditional["evidence"]` says what did: the server's own
`Access-Control-Allow-Credentials: true`, or cookies the host set or received in any flow. A public
API (`*`, no Allow-Credentials, no cookies anywhere) is not flagged. A Cookie or
`Sec-Fetch-Storage-Access` on the request itself proves `include` (no conditional at all).
"""

from __future__ import annotations

from .wire import API, PAGE, Wire, cors_request, request, response


def test_a_public_api_called_without_cookies_is_not_flagged():
    v = Wire().fetch("GET", API + "/data", resp_headers=[("Access-Control-Allow-Origin", "*")]).verdict
    assert v.verdict == "allowed" and v.conditional["reason"] == "WildcardOriginNotAllowed"
    assert v.conditional["evidence"] is None and v.credentials_risk is None
    assert v.summary() == "CORS allowed (simple)"


def test_the_servers_own_allow_credentials_flags_it():
    v = Wire().fetch("GET", API + "/me", resp_headers=[("Access-Control-Allow-Origin", "*"),
                                                       ("Access-Control-Allow-Credentials", "true")]).verdict
    assert v.credentials_risk["evidence"] == "the server sends Access-Control-Allow-Credentials: true"
    assert v.summary().startswith("WildcardOriginNotAllowed — CORS blocked if the page sends credentials")


def test_cookies_the_host_set_in_another_flow_flag_it():
    w = Wire()
    # The API's login response sets a session cookie for the whole domain (a navigation, not CORS).
    w.observe(request("POST", "http://auth.b.test:8002/login"),
              response(302, ("Set-Cookie", "sid=1; Domain=.b.test; Path=/; Secure; SameSite=None")))
    v = w.fetch("GET", API + "/data", resp_headers=[("Access-Control-Allow-Origin", "*")]).verdict
    assert v.credentials_risk and "auth.b.test sets cookies" in v.credentials_risk["evidence"]


def test_cookies_sent_to_the_host_flag_it_and_other_hosts_stay_unflagged():
    w = Wire()
    w.observe(request("GET", API + "/", ("Cookie", "sid=1")), response(200))
    star = [("Access-Control-Allow-Origin", "*")]
    flagged = w.fetch("GET", API + "/data", resp_headers=star).verdict
    assert "requests to b.test carry cookies" in flagged.credentials_risk["evidence"]
    other = w.fetch("GET", "http://c.test:8003/data", resp_headers=star).verdict
    assert other.conditional and other.credentials_risk is None


def test_a_preflight_with_allow_credentials_is_flagged():
    v = Wire().preflight(API + "/x", "PUT", None, ("Access-Control-Allow-Origin", "*"),
                         ("Access-Control-Allow-Methods", "PUT"),
                         ("Access-Control-Allow-Credentials", "true")).verdict
    assert v.credentials_risk and v.credentials_risk["reason"] == "PreflightWildcardOriginNotAllowed"


def test_a_cookie_on_the_request_proves_include():
    v = Wire().observe(cors_request("GET", API + "/data", ("Cookie", "sid=1")),
                       response(200, ("Access-Control-Allow-Origin", "*"))).verdict
    assert v.verdict == "blocked" and v.reason == "WildcardOriginNotAllowed" and v.conditional is None


def test_the_table_of_cookie_hosts_is_bounded():
    from mitmproxy_cors.engine.tracker import Tracker
    w = Wire(Tracker(capacity=10))
    for i in range(50):
        w.observe(request("GET", f"http://h{i}.test/"), response(200, ("Set-Cookie", "a=1")))
    assert w.tracker.state_size()["cookie_hosts"] == 10
    assert PAGE  # the page origin of every CORS request in these tests
