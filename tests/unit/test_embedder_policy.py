"""engine/embedder_policy.py: the page's Cross-Origin-Embedder-Policy on its no-cors loads and its
iframes, the rules tests/e2e/test_coep_chromium.py measured in Chromium 156, and how a load finds its
page (Referer, Origin) or says it was not seen."""

import pytest

from mitmproxy_cors.engine.embedder_policy import parse_coep
from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from mitmproxy_cors.engine.tracker import Tracker

PAGE = "https://app.example.com"
CDN = "https://cdn.other.test"
DEFAULTED = "corp-not-same-origin-after-defaulted-to-same-origin-by-coep"


class Session:
    def __init__(self):
        self.tracker = Tracker()
        self.n = 0

    def flow(self, method, url, req, status=200, resp=(), client="10.0.0.1"):
        self.n += 1
        ex = Exchange(f"f{self.n}", RequestSnapshot(method, url, Headers(list(req)), self.n, client),
                      ResponseSnapshot(status, Headers(list(resp)), self.n))
        return self.tracker.observe(ex).verdict

    def document(self, url=PAGE + "/app", coep=None, report_only=None, dest="document", referer=None, client="10.0.0.1"):
        resp = [("Content-Type", "text/html")]
        if coep:
            resp.append(("Cross-Origin-Embedder-Policy", coep))
        if report_only:
            resp.append(("Cross-Origin-Embedder-Policy-Report-Only", report_only))
        req = [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", dest)] + ([("Referer", referer)] if referer else [])
        return self.flow("GET", url, req, 200, resp, client)

    def image(self, url=CDN + "/i.gif", corp=None, referer=PAGE + "/", cookie=False, client="10.0.0.1"):
        req = [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image"), ("Sec-Fetch-Site", "cross-site")]
        req += [("Referer", referer)] if referer else []
        req += [("Cookie", "sid=1")] if cookie else []
        return self.flow("GET", url, req, 200, [("Cross-Origin-Resource-Policy", corp)] if corp else [], client)


def _said(v):
    if v.verdict != "blocked":
        return None
    for r in (DEFAULTED, "coep-frame-resource-needs-coep-header", "corp-not-same-origin", "corp-not-same-site"):
        if r in v.cause:
            return r
    return v.cause


@pytest.mark.parametrize("value, policy", [
    ("require-corp", "require-corp"), ('require-corp; report-to="e"', "require-corp"),
    ("credentialless", "credentialless"), (" credentialless ", "credentialless"),
    ("Require-Corp", "unsafe-none"), ("require-corp, credentialless", "unsafe-none"), ("", "unsafe-none"),
    ("unsafe-none", "unsafe-none"), ("require-corp-x", "unsafe-none"),
])
def test_the_header_is_a_structured_token(value, policy):
    assert parse_coep(value) == policy


@pytest.mark.parametrize("coep, corp, cookie, expected", [
    ("require-corp", None, False, DEFAULTED),
    ("require-corp", None, True, DEFAULTED),
    ("require-corp", "cross-origin", False, None),
    ("require-corp", "same-origin", False, "corp-not-same-origin"),  # the response's own CORP first
    ("require-corp", "Same-Origin", False, DEFAULTED),  # not a policy: defaulted
    ("credentialless", None, False, None),  # sent without cookies: no CORP needed
    ("credentialless", None, True, DEFAULTED),  # a credentialed one would need it
    (None, None, False, None),
])
def test_a_cross_origin_no_cors_load_under_the_pages_policy(coep, corp, cookie, expected):
    s = Session()
    s.document(coep=coep)
    assert _said(s.image(corp=corp, cookie=cookie)) == expected


def test_report_only_blocks_nothing():
    s = Session()
    s.document(report_only="require-corp")
    assert s.image().verdict == "allowed"


def test_a_same_origin_load_passes_and_cors_mode_is_never_corp_checked():
    s = Session()
    s.document(coep="require-corp")
    assert s.image(url=PAGE + "/logo.gif").verdict == "allowed"
    v = s.flow("GET", CDN + "/data", [("Origin", PAGE), ("Sec-Fetch-Mode", "cors"), ("Referer", PAGE + "/")],
               200, [("Access-Control-Allow-Origin", PAGE)])
    assert v.verdict == "allowed" and v.kind == "simple"


def test_the_page_is_found_by_its_full_url_before_its_origin():
    s = Session()
    s.document(url=PAGE + "/isolated", coep="require-corp")
    s.document(url=PAGE + "/plain")  # the last document of that origin has no COEP
    assert _said(s.image(referer=PAGE + "/isolated")) == DEFAULTED
    assert s.image(referer=PAGE + "/").verdict == "allowed"  # only the origin: the last document decides
    v = s.image(referer=PAGE + "/isolated#top")
    assert "its Referer is that document's URL" in v.cause


def test_a_document_that_is_not_a_secure_context_has_no_policy():
    s = Session()
    s.document(url="http://app.example.com/", coep="require-corp")
    assert s.image(referer="http://app.example.com/").verdict == "allowed"
    s.document(url="http://localhost:8001/", coep="require-corp")  # loopback is potentially trustworthy
    assert _said(s.image(referer="http://localhost:8001/")) == DEFAULTED


def test_documents_are_per_client():
    s = Session()
    s.document(coep="require-corp", client="10.0.0.2")
    assert s.image(client="10.0.0.1").verdict == "allowed"
    assert _said(s.image(client="10.0.0.2")) == DEFAULTED


def test_a_page_the_proxy_did_not_see_is_said():
    s = Session()
    v = s.image()
    assert v.verdict == "allowed"
    assert any("did not see the document of the page (https://app.example.com)" in n for n in v.notes)
    assert not any("did not see" in n for n in s.image(corp="cross-origin").notes)
    assert not any("did not see" in n for n in s.image(referer="http://plain.example.com/").notes)  # no COEP there


def test_credentialless_says_the_load_went_without_cookies():
    s = Session()
    s.document(coep="credentialless")
    assert any("credentialless" in n for n in s.image().notes)


@pytest.mark.parametrize("frame_headers, expected", [
    ([], DEFAULTED),
    ([("Cross-Origin-Resource-Policy", "cross-origin")], "coep-frame-resource-needs-coep-header"),
    ([("Cross-Origin-Resource-Policy", "cross-origin"), ("Cross-Origin-Embedder-Policy", "require-corp")], None),
    ([("Cross-Origin-Resource-Policy", "cross-origin"), ("Cross-Origin-Embedder-Policy", "credentialless")], None),
    ([("Cross-Origin-Resource-Policy", "same-origin"), ("Cross-Origin-Embedder-Policy", "require-corp")],
     "corp-not-same-origin"),
])
@pytest.mark.parametrize("parent", ["require-corp", "credentialless"])
def test_an_iframe_under_coep(parent, frame_headers, expected):
    s = Session()
    s.document(coep=parent)
    v = s.flow("GET", CDN + "/frame", [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "iframe"),
                                       ("Referer", PAGE + "/")], 200, frame_headers)
    assert _said(v) == expected
    if expected:
        assert v.kind == "not-cors" and v.reason is None and v.failed_not_cors


def test_a_same_origin_iframe_needs_coep_too():
    s = Session()
    s.document(coep="require-corp")
    v = s.flow("GET", PAGE + "/frame", [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "iframe"),
                                        ("Referer", PAGE + "/app")], 200, [])
    assert _said(v) == "coep-frame-resource-needs-coep-header"


def test_loads_inside_an_iframe_follow_the_frames_policy():
    s = Session()
    s.document(coep="require-corp")
    s.document(url=CDN + "/frame", dest="iframe", referer=PAGE + "/", coep="require-corp")
    assert _said(s.image(url="https://third.test/i.gif", referer=CDN + "/frame")) == DEFAULTED
    assert s.image(url=CDN + "/i.gif", referer=CDN + "/frame").verdict == "allowed"  # the frame's own origin


def test_a_blocked_load_names_the_fixes():
    s = Session()
    s.document(coep="require-corp")
    w = s.image().warnings[0]
    for fix in ("Cross-Origin-Resource-Policy: cross-origin", "crossorigin", "credentialless"):
        assert fix in w


def test_the_documents_table_is_bounded():
    t = Tracker(capacity=5)
    for i in range(50):
        t.observe(Exchange(f"d{i}", RequestSnapshot("GET", f"https://s{i}.test/", Headers(
            [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")]), i), ResponseSnapshot(200, Headers(), i)))
    assert t.state_size()["documents"] <= 10
