"""engine/resource_policy.py: the Cross-Origin-Resource-Policy check on no-cors responses, the rules
tests/e2e/test_corp_chromium.py measured in Chromium, plus what the wire alone can tell."""

import pytest

from mitmproxy_cors.engine.model import Headers, RequestSnapshot
from mitmproxy_cors.engine.request_mode import classify
from mitmproxy_cors.engine.resource_policy import corp_block


def _check(url, corp, **req):
    headers = [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")] + [(k.replace("_", "-"), v) for k, v in req.items()]
    r = RequestSnapshot("GET", url, Headers(headers))
    b = corp_block(classify(r), r, Headers([("Cross-Origin-Resource-Policy", corp)] if corp else []))
    return b.blocked_reason if b else None


@pytest.mark.parametrize("page, url, corp, expected", [
    ("https://a.example.com/p", "https://a.example.com/i.gif", "same-origin", None),
    ("https://a.example.com/p", "https://b.example.com/i.gif", "same-origin", "corp-not-same-origin"),
    ("https://a.example.com/p", "https://b.example.com/i.gif", "same-site", None),
    ("http://a.example.com/p", "https://b.example.com/i.gif", "same-site", "corp-not-same-site"),  # http page, https resource
    ("https://a.example.com/p", "http://b.example.com/i.gif", "same-site", None),
    ("https://a.example.com/p", "https://other.test/i.gif", "same-site", "corp-not-same-site"),
    ("http://127.0.0.1:8001/", "http://127.0.0.1:8002/i.gif", "same-site", "corp-not-same-site"),  # IPs never same-site
    ("http://localhost:8001/", "http://localhost:8002/i.gif", "same-site", None),
    ("https://a.example.com/p", "https://b.example.com/i.gif", "cross-origin", None),
    ("https://a.example.com/p", "https://b.example.com/i.gif", "Same-Origin", None),  # exact value only
    ("https://a.example.com/p", "https://b.example.com/i.gif", "same-origin, same-origin", None),
    ("https://a.example.com/p", "https://b.example.com/i.gif", None, None),
])
def test_the_policy_against_the_page_named_by_referer(page, url, corp, expected):
    assert _check(url, corp, Referer=page, Sec_Fetch_Site="cross-site") == expected


@pytest.mark.parametrize("site, url, corp, expected", [
    ("same-origin", "https://b.example.com/i.gif", "same-origin", None),
    ("same-site", "https://b.example.com/i.gif", "same-origin", "corp-not-same-origin"),
    ("same-site", "https://b.example.com/i.gif", "same-site", None),
    ("same-site", "http://127.0.0.1:8002/i.gif", "same-site", "corp-not-same-site"),
    ("cross-site", "https://b.example.com/i.gif", "same-site", "corp-not-same-site"),
    ("none", "https://b.example.com/i.gif", "same-origin", None),  # a load the user started: nothing to tell
])
def test_without_referer_sec_fetch_site_decides(site, url, corp, expected):
    assert _check(url, corp, Sec_Fetch_Site=site) == expected


def test_cors_mode_is_never_subject_to_corp():
    r = RequestSnapshot("GET", "https://b.example.com/x", Headers([("Origin", "https://a.example.com"),
                                                                     ("Sec-Fetch-Mode", "cors")]))
    assert corp_block(classify(r), r, Headers([("Cross-Origin-Resource-Policy", "same-origin")])) is None
