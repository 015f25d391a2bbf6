"""engine/opaque_response_blocking.py: Chromium's Opaque Response Blocking on no-cors responses, the
rules tests/e2e/test_orb_chromium.py measured in Chromium 156, plus what the wire alone can tell."""

import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from mitmproxy_cors.engine.opaque_response_blocking import (MediaUrls, extract_mime_type, has_nosniff, orb_block,
                                                            sniff_html, sniff_json, sniff_media_type)
from mitmproxy_cors.engine.request_mode import classify
from mitmproxy_cors.engine.tracker import Tracker

GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
HTML = b"<!doctype html><html><body>Not found</body></html>"
PAGE = "http://127.0.0.1:8001/"
URL = "http://127.0.0.1:8002/x"


def _req(url=URL, dest="image", referer=PAGE, site="same-site", mode="no-cors", **extra):
    headers = [("Sec-Fetch-Mode", mode), ("Sec-Fetch-Dest", dest), ("Sec-Fetch-Site", site)]
    if referer:
        headers.append(("Referer", referer))
    headers += [(k.replace("_", "-"), v) for k, v in extra.items()]
    return RequestSnapshot("GET", url, Headers(headers), client="c")


def _why(ct, body, *, status=200, h=(), media=None, **req):
    r = _req(**req)
    headers = Headers(([("Content-Type", ct)] if ct is not None else []) + list(h))
    b = orb_block(classify(r), r, status, headers, body, media if media is not None else MediaUrls())
    return b.why if b else None


NOSNIFF = ("X-Content-Type-Options", "nosniff")


@pytest.mark.parametrize("ct, body, h, status, expected", [
    ("text/html", HTML, (), 404, "html"),  # the status plays no part: an HTML 404 sniffs as HTML
    ("text/html", b"Not found", (), 404, None),
    ("text/html; charset=utf-8", b"<!-- c -->\n<p>hi", (), 200, "html"),
    ("TEXT/HTML", b"<HTML><BODY>", (), 200, "html"),
    ("text/html", b" " * 1019 + b"<html>", (), 200, "html"),  # "<html" ends at byte 1024
    ("text/html", b" " * 1020 + b"<html>", (), 200, None),  # beyond the 1024 bytes sniffed
    ("text/html", b"", (), 200, None),
    ("text/html", b"", (NOSNIFF,), 200, "nosniff"),
    ("text/html", b"BM<html>", (), 200, None),  # a BMP's signature: sniffed as an image
    ("text/html", b"ID3<html>", (), 200, None),  # an MP3's
    ("application/json", b'{"a": 1}', (), 200, "json"),
    ("application/json", b"[1, 2]", (), 200, None),  # only objects are sniffed as JSON
    ("application/ld+json", b' \n {"a": 1}', (), 200, "json"),
    ("application/json", b'{"a"}', (), 200, None),
    ("text/javascript", b'{"a": 1}', (), 200, "json"),  # JavaScript types are sniffed too (not the proposal)
    ("application/json", b")]}',\n{}", (), 200, "json"),
    ("text/javascript", b"for(;;);{}", (), 200, "json"),
    ("text/plain", b"{}&& {}", (), 200, "json"),
    ("text/plain", b" )]}'\n[1]", (), 200, None),  # breakers are matched at byte 0 only
    ("text/xml", b'<?xml version="1.0"?><a/>', (), 200, "xml"),
    ("text/xml", b'<?XML version="1.0"?><a/>', (), 200, None),
    ("image/svg+xml", b'<?xml version="1.0"?><svg/>', (), 200, None),
    ("application/pdf", b"%PDF-1.4", (), 200, "never-sniffed"),
    ("application/pdf", GIF, (), 200, "never-sniffed"),
    ("text/csv", b"a,b", (), 200, "never-sniffed"),
    ("application/x-protobuf", GIF, (), 200, "never-sniffed"),
    ("application/octet-stream", b"PK\x03\x04" + bytes(20), (), 200, None),
    ("text/plain", b"hello", (), 200, None),
    ("text/plain", b"hello", (NOSNIFF,), 200, "nosniff"),
    ("text/plain", b"hello", (("X-Content-Type-Options", "NoSniff"),), 200, "nosniff"),
    ("text/plain", b"hello", (NOSNIFF, NOSNIFF), 200, "nosniff"),  # two lines: the first value counts
    ("application/json", b"var orb = 1;", (NOSNIFF,), 200, "nosniff"),
    ("text/javascript", b"var orb = 1;", (NOSNIFF,), 200, None),
    ("text/css", b"<html> body {}", (), 200, None),  # opaque-safelisted: never sniffed
    ("text/html", b"body { color: red }", (), 200, None),
    ("text/html", GIF, (), 200, None), ("application/json", GIF, (), 200, None),
    ("application/octet-stream", GIF, (), 200, None), (None, GIF, (), 200, None),
    ("text/plain", GIF, (NOSNIFF,), 200, "nosniff"),
    ("image/png", HTML, (), 200, "html"),  # image types other than SVG are sniffed
    (None, HTML, (), 200, None), ("html", HTML, (), 200, None),  # no MIME type: allowed
    ("video/mp4", HTML, (), 200, None),
    ("text/html", b"", (), 204, None),
    ("application/pdf", b"", (), 304, None),  # the cached copy is judged, not the 304
    ("text/plain", b"0123456789", (("Content-Range", "bytes 10-19/100"),), 206, "range"),
    ("video/mp4", b"0123456789", (("Content-Range", "bytes 10-19/100"),), 206, None),
    ("text/html", HTML, (("Content-Range", "bytes 0-49/100"),), 206, "html"),
    ("text/plain", b"0123456789", (("Content-Range", "bytes 0-9/100"),), 206, None),
])
def test_the_rules_as_measured(ct, body, h, status, expected):
    assert _why(ct, body, status=status, h=h) == expected


@pytest.mark.parametrize("lines, mime", [
    (["text/html"], "text/html"), (["Text/HTML; charset=utf-8"], "text/html"), (["html"], ""), (["*/*"], ""),
    (["image/png", "text/html"], "text/html"), (["text/plain, image/png"], "image/png"),
    (['text/plain; a="x,y"'], "text/plain"), ([], ""),
])
def test_the_mime_type_chromium_extracts(lines, mime):
    assert extract_mime_type(Headers([("Content-Type", v) for v in lines])) == mime


def test_nosniff_is_the_first_value():
    assert has_nosniff(Headers([("X-Content-Type-Options", " nosniff , x")]))
    assert not has_nosniff(Headers([("X-Content-Type-Options", "x, nosniff")]))
    assert not has_nosniff(Headers([]))


def test_sniffers():
    assert sniff_media_type(GIF) == "image/gif"
    assert sniff_media_type(b"OggS\x00...") == "audio/ogg"
    assert sniff_media_type(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert sniff_media_type(b"#!AMR\n") == "audio/amr"  # the extra table comes first
    assert sniff_media_type(b"#!/bin/sh") == "text/plain"
    assert sniff_media_type(b"hello") == ""
    assert sniff_media_type(b"\xff\xe3\x00") == "audio/mpeg"  # masked: FF Ex
    assert sniff_media_type(b"\x00\x00\x01\xb5") == "video/mpeg" and sniff_media_type(b"\x00\x00\x01\xa5") == ""
    assert sniff_media_type(b"xRMF") == "audio/x-pn-realaudio"  # its leading 0x2E is "any byte", as in Chromium
    assert not sniff_html(b"<!-- unterminated")
    assert not sniff_html(b"<!-- c --> no line end")
    assert sniff_html(b"\t\r\n<script>")
    assert not sniff_json(b"{ 'a': 1 }")
    assert sniff_json(b'{"a\\"b": 1}')


def test_same_origin_and_cors_mode_are_not_subject_to_orb():
    assert _why("application/pdf", b"%PDF-", referer="http://127.0.0.1:8002/page", site="same-origin") is None
    assert _why("application/pdf", b"%PDF-", referer=None, site="same-origin") is None
    assert _why("application/pdf", b"%PDF-", referer=None, site="cross-site") == "never-sniffed"
    assert _why("application/pdf", b"%PDF-", mode="cors", Origin="http://127.0.0.1:8001") is None


def test_without_the_body_only_header_rules_decide():
    assert _why("text/html", None) is None
    assert _why("application/pdf", None) == "never-sniffed"
    assert _why("text/plain", None, h=(NOSNIFF,)) == "nosniff"


def test_a_url_sniffed_as_media_may_be_fetched_by_range():
    media = MediaUrls(capacity=2)
    rng = (("Content-Range", "bytes 500-999/1000"),)
    assert _why("application/octet-stream", b"0", status=206, h=rng, media=media, dest="video") == "range"
    assert _why("application/octet-stream", b"OggS\x00" + bytes(10), media=media, dest="video") is None
    assert _why("application/octet-stream", b"0", status=206, h=rng, media=media, dest="video") is None
    for i in range(2):  # bounded: the oldest URL is forgotten
        _why("application/octet-stream", b"OggS\x00", media=media, url=f"{URL}{i}")
    assert _why("application/octet-stream", b"0", status=206, h=rng, media=media) == "range"


def _verdict(dest, ct="application/json", body=b'{"a": 1}', h=()):
    r = _req(dest=dest)
    ex = Exchange("f1", r, ResponseSnapshot(200, Headers([("Content-Type", ct)] + list(h)), 1.0, body))
    return Tracker().observe(ex).verdict


def test_an_element_load_fails_not_cors():
    v = _verdict("image")
    assert v.verdict == "blocked" and v.reason is None and v.failed_not_cors
    assert "net::ERR_BLOCKED_BY_ORB" in v.cause and "JSON" in v.cause
    assert "image/png" in v.warnings[0] and "crossorigin" in v.warnings[0]
    assert v.summary().startswith("CORS n/a: blocked by Opaque Response Blocking")


def test_a_no_cors_fetch_resolves_with_an_empty_body():
    v = _verdict("empty")
    assert v.verdict == "allowed" and v.reason is None
    assert "emptied" in v.warnings[0] and "warning:" in v.summary()
    assert _verdict("empty", body=b"", h=[NOSNIFF]).warnings == ()  # nothing to empty


def test_corp_comes_first():
    v = _verdict("image", h=[("Cross-Origin-Resource-Policy", "same-origin")])
    assert "Cross-Origin-Resource-Policy" in v.cause


def test_the_snapshot_keeps_the_decoded_head_of_no_cors_bodies_only():
    from mitmproxy.test import tflow, tutils

    from mitmproxy_cors.mitm.snapshot import exchange_of

    f = tflow.tflow(resp=tutils.tresp(content=b""))
    f.request.headers["Sec-Fetch-Mode"] = "no-cors"
    f.response.headers["Content-Encoding"] = "gzip"
    f.response.raw_content = gzip.compress(b" " * 5000)
    assert exchange_of(f).response.body_head == b" " * 1024
    f.response.headers["Content-Encoding"] = "br"
    assert exchange_of(f).response.body_head is None  # not decodable: nothing sniffed
    del f.response.headers["Content-Encoding"]
    f.response.raw_content = HTML
    assert exchange_of(f).response.body_head == HTML
    f.request.headers["Sec-Fetch-Mode"] = "cors"
    assert exchange_of(f).response.body_head is None


@settings(max_examples=300, deadline=None)
@given(ct=st.sampled_from(["text/html", "application/json", "text/plain", "image/png", "", "a/b, c", "text/xml"]),
       body=st.binary(max_size=1100) | st.sampled_from([b"<!-- x -->\xe2\x80\xa8<p", b'{"\\', b"\xff\xe0", b")]}"]),
       status=st.sampled_from([200, 206, 404, 204]), rng=st.text(max_size=30), dest=st.sampled_from(["image", "empty"]))
def test_never_raises_on_any_body(ct, body, status, rng, dest):
    r = _req(dest=dest)
    ex = Exchange("f", r, ResponseSnapshot(status, Headers([("Content-Type", ct), ("Content-Range", rng),
                                                            NOSNIFF][: 2 + (status == 404)]), 1.0, body))
    Tracker().observe(ex)
