"""Opaque Response Blocking through the addon: the proxy keeps the first body bytes of a no-cors
response (and only of those), the flow is flagged 'failed, not CORS', a no-cors fetch() it empties gets
a warning (tests/e2e/test_orb_chromium.py shows both in Chromium)."""

import gzip
import json

from mitmproxy_cors.mitm.annotate import MARK_WARNING
from mitmproxy_cors.mitm.explain import title
from mitmproxy_cors.mitm.terminal import verdict_line

from .flows import API, PAGE, make_flow


def _no_cors(dest, ctype="application/json", body=b'{"user": "me"}', extra=()):
    req = [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", dest), ("Sec-Fetch-Site", "cross-site"),
           ("Referer", PAGE + "/")]
    return make_flow("GET", API + "/me", req, status=200, resp_headers=[("Content-Type", ctype), *extra], body=body)


async def test_an_image_of_json_fails_not_cors(cors):
    f = _no_cors("image")
    line = await cors.run(f)
    assert (line["verdict"], line["reason"], line["kind"]) == ("blocked", None, "no-cors")
    assert f.comment.startswith("CORS n/a: blocked by Opaque Response Blocking (net::ERR_BLOCKED_BY_ORB")
    assert f.marked == MARK_WARNING
    assert title(line)[0] == "title-warn"
    assert str(verdict_line(cors.observer.flows._by_id[f.id][1])).split("] ", 1)[1].startswith("FAILED, NOT CORS")
    assert "\"me\"" not in json.dumps(line)  # the body is sniffed, never reported


async def test_a_gzipped_html_page_as_a_script_is_sniffed_decoded(cors):
    f = _no_cors("script", "text/html", b"<!doctype html><p>404", [("Content-Encoding", "gzip")])
    assert gzip.decompress(f.response.raw_content) == b"<!doctype html><p>404"  # make() encoded it
    line = await cors.run(f)
    assert "sniff as HTML" in line["cause"]


async def test_a_no_cors_fetch_gets_a_warning_not_a_block(cors):
    f = _no_cors("empty")
    line = await cors.run(f)
    assert line["verdict"] == "allowed" and "emptied" in line["warnings"][0]
    assert f.marked == MARK_WARNING and "warning: Opaque Response Blocking emptied" in f.comment


async def test_an_image_served_as_an_image_stays_unflagged(cors):
    f = _no_cors("image", "image/gif", b"GIF89a\x01\x00\x01\x00")
    line = await cors.run(f)
    assert line["verdict"] == "allowed" and not line["warnings"] and not f.marked and not f.comment
