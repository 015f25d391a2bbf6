"""A request a capture holds without a response (a browser's HAR: blocked or failed in the browser).

Chromium's HAR entry for such a request has status 0 (DevTools) or -1 (Playwright), no response
header, and only the headers the page set (no Origin, no Sec-Fetch-*); its preflight is not in the
file. It is never an all-clear: the engine says what the request alone shows and what is missing.
tests/e2e/test_browser_har.py holds a real Chromium HAR against the same rules.
"""

from __future__ import annotations

from mitmproxy_cors.engine.model import Exchange
from mitmproxy_cors.engine.tracker import Tracker
from mitmproxy_cors.pipeline import Pipeline

from .wire import API, PAGE, cors_request, request

# What Chromium records for a fetch() it failed (its provisional headers).
PROVISIONAL = (("sec-ch-ua-platform", '"Linux"'), ("Referer", PAGE + "/"), ("User-Agent", "Mozilla/5.0"),
               ("sec-ch-ua", '"Chromium";v="156"'), ("sec-ch-ua-mobile", "?0"))


def unanswered(req, status: int = -1):
    return Tracker().observe(Exchange("f1", req, None, f"status {status}", not_in_capture=True)).verdict


def test_a_simple_request_is_unknown_never_allowed():
    v = unanswered(request("GET", API + "/data", *PROVISIONAL))
    assert v.verdict == "blocked" and v.reason is None and v.not_in_capture
    assert v.kind == "simple" and v.origin == PAGE  # the page's origin, from the Referer
    assert "Referer" in v.mode_source
    assert v.summary().startswith("CORS unknown: no response in the capture (status -1)")
    assert not v.blocked  # not a CORS block the addon can name
    assert "HAR" in v.message and not v.fix


def test_a_request_that_needed_a_preflight_says_why():
    v = unanswered(request("PUT", API + "/items/1", *PROVISIONAL, ("Content-Type", "application/json"),
                           ("Authorization", "Bearer t")))
    assert v.kind == "actual"
    assert "it needed a preflight (method PUT; headers authorization, content-type)" in v.cause
    assert "preflight failed" in v.message


def test_recorded_origin_and_fetch_metadata_are_used_when_present():
    # Firefox's HAR, or a Chromium entry whose real headers arrived, carries Origin.
    v = unanswered(cors_request("DELETE", API + "/x"))
    assert (v.kind, v.origin) == ("actual", PAGE)
    assert "method DELETE" in v.cause


def test_same_origin_navigation_and_unknown_page_are_not_called_cors():
    same = unanswered(request("GET", PAGE + "/api", *PROVISIONAL))
    assert same.kind == "same-origin" and "not a CORS error" in same.cause
    nav = unanswered(request("GET", API + "/", ("Referer", PAGE + "/"), ("Accept", "text/html,*/*"),
                             ("Upgrade-Insecure-Requests", "1")))
    assert nav.kind == "not-cors" and "navigation" in nav.mode_source
    nobody = unanswered(request("GET", API + "/x", ("User-Agent", "Mozilla/5.0")))
    assert nobody.kind == "not-cors" and nobody.origin is None
    assert "neither Origin nor Referer" in nobody.cause


def test_the_decision_carries_it_and_offers_no_server_fix():
    d = Pipeline().decide(Exchange("f1", request("GET", API + "/d", *PROVISIONAL), None, "status 0",
                                   not_in_capture=True)).decision
    line = d.report_line()
    assert line["not_in_capture"] is True and d.flow_line()["not_in_capture"] is True
    assert line["checks"] == [] and line["cors_fix"]["configs"] is None
    assert "record the page through the proxy" in line["cors_fix"]["not_fixable"]
    # An ordinary flow's line has no such key (the schema adds it only where it is true).
    ok = Pipeline().decide(Exchange("f2", cors_request("GET", API + "/d"), None, "connection refused")).decision
    assert "not_in_capture" not in ok.report_line()


def test_other_schemes_are_not_cors_checked():
    # A browser's HAR lists the browser's own loads (chrome://, extensions); no server answers them.
    v = Tracker().observe(Exchange("f1", cors_request("GET", "chrome://resources/js/util.js",
                                                      origin="chrome://new-tab-page"), None, "x")).verdict
    assert v.kind == "not-cors" and "chrome: URL" in v.mode_source
