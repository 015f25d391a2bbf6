"""Opaque Response Blocking (ORB) as Chromium applies it to no-cors responses from another origin
(`network::orb::OpaqueResponseBlockingAnalyzer`, services/network/orb/orb_impl.cc, orb_mimetypes.cc,
orb_sniffers.cc; the proposal is https://github.com/annevk/orb). Chromium ships "ORB v0.1", which
departs from the proposal; where they differ this follows Chromium, as measured in Chromium 156
(tests/e2e/test_orb_chromium.py):

1. Allowed: the MIME type is opaque-safelisted: text/css, image/svg+xml, audio/*, video/*,
   application/ogg, application/dash+xml, application/vnd.apple.mpegurl, text/vtt (the proposal has
   JavaScript types here and no audio/video; Chromium sniffs JavaScript types like any other).
2. Blocked: a never-sniffed type (PDF, zip, protobuf, csv, Office documents, multipart/...).
3. Blocked: `X-Content-Type-Options: nosniff` on HTML, JSON, XML or text/plain.
4. Blocked: a 206 whose Content-Range starts after byte 0, unless the same URL was sniffed as audio or
   video before (a media element seeking); the proposal's "no-cors media request state" is not
   known to the network service.
5. The first 1024 bytes are sniffed: audio/video (the URL is remembered, rule 4) or image signatures
   allow; a missing or unparsable Content-Type allows; HTML, XML (`<?xml`), JSON (`{"...":`) or a
   JavaScript parser breaker (`)]}'`, `{}&&`, `for(;;);`, ...) block; anything else is allowed
   (the proposal ends with "block" and parses JavaScript; Chromium fails open).
The status plays no part (the proposal's "not an ok status" step is skipped): an HTML 404 is
blocked because it sniffs as HTML, a text 404 is not. Nothing of CORS helps: the blocked load is
no-cors, and `Access-Control-Allow-Origin` on it changes nothing.

What a block does depends on the destination (`ShouldHandleBlockedResponseAs`): an element load
(`Sec-Fetch-Dest` image, script, style, audio, video, ...) fails with net::ERR_BLOCKED_BY_ORB;
`fetch(url, {mode: 'no-cors'})` (destination empty) resolves with an empty opaque response.
CORP is checked before ORB: a response both block fails with CORP's error (measured).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import NamedTuple

from .model import Exchange, Headers, RequestSnapshot, normalized
from .origin import origin_of_url
from .request_mode import RequestFacts
from .verdict import Verdict

SNIFF_BYTES = 1024  # net::kMaxBytesToSniff; measured: "<html" ending at byte 1024 blocks, at 1025 not
NET_ERROR = "net::ERR_BLOCKED_BY_ORB"

_SAFELISTED = frozenset(("text/css", "image/svg+xml", "application/ogg", "application/dash+xml",
                         "application/vnd.apple.mpegurl", "text/vtt"))
# orb_mimetypes.cc GetNeverSniffedMimeTypes
_NEVER_SNIFFED = frozenset((
    "application/gzip", "application/x-gzip", "application/x-protobuf", "application/zip", "text/event-stream",
    "application/msexcel", "application/mspowerpoint", "application/msword", "application/msword-template",
    "application/pdf", "application/vnd.ces-quickpoint", "application/vnd.ces-quicksheet",
    "application/vnd.ces-quickword", "application/vnd.ms-excel", "application/vnd.ms-excel.sheet.macroenabled.12",
    "application/vnd.ms-powerpoint", "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    "application/vnd.ms-word", "application/vnd.ms-word.document.12",
    "application/vnd.ms-word.document.macroenabled.12", "application/vnd.msword",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.template",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "application/vnd.presentation-openxml", "application/vnd.presentation-openxmlm",
    "application/vnd.spreadsheet-openxml", "application/vnd.wordprocessing-openxml",
    "text/csv", "text/pdf", "multipart/signed", "multipart/byteranges"))

# net/base/mime_sniffer.cc, SniffMimeTypeFromLocalData: kExtraMagicNumbers, then kMagicNumbers, first
# match wins. "." matches any byte (also the leading 0x2E of RealAudio's, as in Chromium); entries
# with a mask compare masked bytes. Non-media entries are kept: they win over later media ones.
_EXTRA_MAGIC = (
    ("image/x-xbitmap", b"#define"), ("image/x-icon", b"\x00\x00\x01\x00"),
    ("audio/wav", b"RIFF....WAVEfmt "), ("video/avi", b"RIFF....AVI LIST"), ("audio/ogg", b"OggS\x00"),
    ("video/mpeg", b"\x00\x00\x01\xb0", b"\xff\xff\xff\xf0"), ("audio/mpeg", b"\xff\xe0", b"\xff\xe0"),
    ("video/3gpp", b"....ftyp3g"), ("video/3gpp", b"....ftypavcl"), ("video/mp4", b"....ftyp"),
    ("video/quicktime", b"....moov"), ("application/x-shockwave-flash", b"CWS"),
    ("application/x-shockwave-flash", b"FWS"), ("video/x-flv", b"FLV"), ("audio/x-flac", b"fLaC"),
    ("audio/amr", b"#!AMR\n"), ("image/x-canon-cr2", b"II\x2a\x00\x10\x00\x00\x00CR"),
    ("image/x-canon-crw", b"II\x1a\x00\x00\x00HEAPCCDR"), ("image/x-minolta-mrw", b"\x00MRM"),
    ("image/x-olympus-orf", b"MMOR"), ("image/x-olympus-orf", b"IIRO"), ("image/x-olympus-orf", b"IIRS"),
    ("image/x-fuji-raf", b"FUJIFILMCCD-RAW "), ("image/x-panasonic-raw", b"IIU\x00\x08\x00\x00\x00"),
    ("image/x-panasonic-raw", b"IIU\x00\x18\x00\x00\x00"), ("image/x-phaseone-raw", b"MMMMRaw"),
    ("image/x-x3f", b"FOVb"),
)
_MAGIC = (
    ("application/pdf", b"%PDF-"), ("application/postscript", b"%!PS-Adobe-"), ("image/gif", b"GIF87a"),
    ("image/gif", b"GIF89a"), ("image/png", b"\x89PNG\r\n\x1a\n"), ("image/jpeg", b"\xff\xd8\xff"),
    ("image/bmp", b"BM"), ("text/plain", b"#!"), ("text/plain", b"%!"), ("text/plain", b"From"),
    ("text/plain", b">From"), ("application/x-gzip", b"\x1f\x8b\x08"), ("audio/x-pn-realaudio", b".RMF"),
    ("video/x-ms-asf", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c"),
    ("image/tiff", b"I I"), ("image/tiff", b"II*"), ("image/tiff", b"MM\x00*"), ("audio/mpeg", b"ID3"),
    ("image/webp", b"RIFF....WEBPVP"), ("video/webm", b"\x1a\x45\xdf\xa3"), ("application/zip", b"PK\x03\x04"),
    ("application/x-rar-compressed", b"Rar!\x1a\x07\x00"), ("application/x-msmetafile", b"\xd7\xcd\xc6\x9a"),
    ("application/octet-stream", b"MZ"),
)
_HTML_TAGS = (b"<!doctype html", b"<script", b"<html", b"<head", b"<iframe", b"<h1", b"<div", b"<font",
              b"<table", b"<a", b"<style", b"<title", b"<b", b"<p")
_PARSER_BREAKERS = (b")]}'", b"{}&&", b"{} &&", b"for(;;);", b"while(1);", b"for (;;);", b"while (1);")
_WS = b" \t\r\n"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)\s*-\s*(\d+)\s*/\s*(\d+|\*)", re.I)

# Why Chromium blocked (BlockingDecisionReason), in words for the cause.
WHY = {
    "never-sniffed": "its Content-Type {mime} is never sniffed: no image, script, stylesheet or media is of this type",
    "nosniff": "X-Content-Type-Options: nosniff on a {mime} response",
    "range": "a 206 for the middle of a resource ({range}) the browser has not sniffed as audio or video",
    "html": "its first bytes sniff as HTML (Content-Type {mime})",
    "xml": "its first bytes sniff as XML (Content-Type {mime})",
    "json": ("its first bytes sniff as JSON or a JavaScript parser breaker such as )]}' or for(;;); "
             "(Content-Type {mime})"),
}


class OrbBlock(NamedTuple):
    why: str  # a key of WHY: never-sniffed | nosniff | range | html | xml | json
    detail: str  # the sentence
    mime: str  # the MIME type Chromium extracted ("" if none)
    destination: str  # Sec-Fetch-Dest ("empty" for fetch)

    @property
    def network_error(self) -> bool:
        """An element load fails; fetch() (destination empty) gets an empty opaque response."""
        return self.destination != "empty"


def extract_mime_type(headers: Headers) -> str:
    """`HttpResponseHeaders::GetMimeType`: of the Content-Type values (lines split at commas outside
    quotes), the last whose type has a '/' and is not */*, lowercased, without parameters; "" if
    none (Chromium's failure). Measured: "image/png, text/plain" and a second line are text/plain."""
    mime = ""
    values = headers.by_name.get("content-type")
    if values is None:
        return mime
    for line in [values] if type(values) is str else values:
        for part in _split_commas(line):
            essence = part.split(";", 1)[0].strip(" \t").lower()
            if "/" in essence and essence != "*/*" and not any(c in essence for c in " \t\"(),"):
                mime = essence
    return mime


def _split_commas(value: str) -> list[str]:
    parts, current, quoted = [], [], False
    for c in value:
        if c == '"':
            quoted = not quoted
        if c == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def has_nosniff(headers: Headers) -> bool:
    """X-Content-Type-Options' first value is nosniff, in any case (measured: "nosniff, nosniff" and
    two lines of it count; the Chromium source read compares the whole joined value)."""
    value = normalized(headers.by_name.get("x-content-type-options"))
    return value is not None and value.split(",", 1)[0].strip(" \t").lower() == "nosniff"


def canonical(mime: str) -> str:
    """`GetCanonicalMimeType`: html | json | xml | plain | never-sniffed | others."""
    if mime in ("image/svg+xml", "application/dash+xml"):
        return "others"
    if mime == "text/html":
        return "html"
    if mime in ("application/json", "text/json", "application/json+protobuf") or mime.endswith("+json"):
        return "json"
    if mime in ("application/xml", "text/xml") or mime.endswith("+xml"):
        return "xml"
    if mime == "text/plain":
        return "plain"
    return "never-sniffed" if mime in _NEVER_SNIFFED else "others"


def is_audio_or_video(mime: str) -> bool:
    """`IsAudioOrVideoMimeType` (Chromium also counts application/ogg, DASH, HLS and text/vtt)."""
    return mime.startswith(("audio/", "video/")) or mime in (
        "application/ogg", "application/dash+xml", "application/vnd.apple.mpegurl", "text/vtt")


def is_opaque_safelisted(mime: str) -> bool:
    return mime in _SAFELISTED or is_audio_or_video(mime)


def middle_range(status: int, headers: Headers) -> str | None:
    """`IsRangeResponseWithMiddleOfResource`: the Content-Range of a 206 that starts after byte 0."""
    if status != 206:
        return None
    value = normalized(headers.by_name.get("content-range"))
    m = _CONTENT_RANGE.fullmatch(value.strip(" \t")) if value else None
    if m is None:
        return None
    first, last, length = int(m[1]), int(m[2]), m[3]
    if first > last or (length != "*" and last >= int(length)):
        return None
    return value if first > 0 else None


def _table_pattern(table) -> re.Pattern:
    """One anchored alternation per table, in table order (the first alternative that matches wins,
    as Chromium's first matching entry does): "." is any byte, a masked byte the values it admits."""
    alternatives = []
    for i, entry in enumerate(table):
        magic, mask = entry[1], entry[2] if len(entry) > 2 else None
        parts = []
        for j, m in enumerate(magic):
            if m == 0x2E:
                parts.append(b".")
            elif mask is not None:
                parts.append(b"[" + b"".join(re.escape(bytes([v])) for v in range(256) if v & mask[j] == m) + b"]")
            else:
                parts.append(re.escape(bytes([m])))
        alternatives.append(b"(?P<m%d>" % i + b"".join(parts) + b")")
    return re.compile(b"|".join(alternatives), re.DOTALL)


_MAGIC_PATTERNS = tuple((table, _table_pattern(table)) for table in (_EXTRA_MAGIC, _MAGIC))


def sniff_media_type(data: bytes) -> str:
    """`net::SniffMimeTypeFromLocalData`: the type a magic number gives, "" for none."""
    for table, pattern in _MAGIC_PATTERNS:
        m = pattern.match(data)
        if m is not None:
            return table[int(m.lastgroup[1:])][0]
    return ""


def sniff_html(data: bytes) -> bool:
    """orb_sniffers.cc `SniffForHTML` == kYes: a tag after whitespace and complete HTML comments
    (a comment is skipped to the end of its line); case-insensitive."""
    lower = data.lower()
    pos = 0
    while pos < len(lower):
        while pos < len(lower) and lower[pos] in _WS:
            pos += 1
        rest = lower[pos:]
        if any(rest.startswith(tag) for tag in _HTML_TAGS):
            return True
        if not rest.startswith(b"<!--"):
            return False
        end = rest.find(b"-->", 4)
        if end < 0:
            return False
        eol = _js_line_end(rest, end + 3)
        if eol < 0:
            return False
        pos += eol
    return False


def _js_line_end(data: bytes, start: int) -> int:
    """`FindFirstJavascriptLineTerminator`: LF, CR, U+2028 or U+2029 in UTF-8; -1 if none."""
    found = [i for i in (data.find(b"\n", start), data.find(b"\r", start), data.find(b"\xe2\x80\xa8", start),
                         data.find(b"\xe2\x80\xa9", start)) if i >= 0]
    return min(found) if found else -1


def sniff_xml(data: bytes) -> bool:
    return data.lstrip(_WS).startswith(b"<?xml")  # case-sensitive (measured: "<?XML" is allowed)


def sniff_json(data: bytes) -> bool:
    """`SniffForFetchOnlyResource` == kYes: a parser breaker at the very start (no whitespace skipped,
    measured), or `{` `"string"` `:` with whitespace between."""
    if data.startswith(_PARSER_BREAKERS):
        return True
    state = "start"
    for b in data:
        c = chr(b)
        if state not in ("string", "escape") and c in " \t\r\n":
            continue
        if state == "start":
            if c != "{":
                return False
            state = "brace"
        elif state == "brace":
            if c != '"':
                return False
            state = "string"
        elif state == "string":
            state = "end" if c == '"' else "escape" if c == "\\" else "string"
        elif state == "escape":
            state = "string"
        else:
            return c == ":"
    return False


class MediaUrls:
    """URLs whose response Chromium sniffed as audio or video (`per_factory_state_`): a later 206 for
    the middle of one is allowed. Bounded; keyed by client, as Chromium keys it by its loader factory."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._urls: OrderedDict[tuple[str, str], None] = OrderedDict()

    def add(self, client: str, url: str) -> None:
        self._urls[(client, url)] = None
        self._urls.move_to_end((client, url))
        while len(self._urls) > self.capacity:
            self._urls.popitem(last=False)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._urls

    def clear(self) -> None:
        self._urls.clear()


def orb_block(facts: RequestFacts, req: RequestSnapshot, status: int, headers: Headers,
              body_head: bytes | None, media: MediaUrls) -> OrbBlock | None:
    """The block ORB puts on this no-cors response, or None: allowed, or not knowable (a decision
    that needs the body when the proxy did not keep its first bytes)."""
    if facts.mode != "no-cors" or facts.target is None or status == 304 or not _cross_origin(facts, req):
        return None  # (ORB judges the cached response a 304 revalidates, which the proxy does not see)
    dest = (normalized(req.headers.by_name.get("sec-fetch-dest")) or "").lower() or "empty"
    mime = extract_mime_type(headers)
    shown = mime or "(none)"
    if mime:
        if is_opaque_safelisted(mime):
            return None
        kind = canonical(mime)
        if kind == "never-sniffed":
            return OrbBlock("never-sniffed", WHY["never-sniffed"].replace("{mime}", mime), mime, dest)
        if kind in ("html", "json", "plain", "xml") and has_nosniff(headers):
            return OrbBlock("nosniff", WHY["nosniff"].replace("{mime}", mime), mime, dest)
    rng = middle_range(status, headers)
    if rng is not None:
        if (req.client, req.url) in media:
            return None
        return OrbBlock("range", WHY["range"].replace("{range}", rng), mime, dest)
    if body_head is None:
        return None
    data = body_head[:SNIFF_BYTES]
    sniffed = sniff_media_type(data)
    if is_audio_or_video(sniffed):
        media.add(req.client, req.url)
        return None
    if sniffed.startswith("image/") or not mime:
        return None
    for why, sniffer in (("html", sniff_html), ("xml", sniff_xml), ("json", sniff_json)):
        if sniffer(data):
            return OrbBlock(why, WHY[why].replace("{mime}", shown), mime, dest)
    return None  # Chromium fails open here (the proposal would block what is not JavaScript)


def _cross_origin(facts: RequestFacts, req: RequestSnapshot) -> bool:
    """The page's origin (Origin, else the Referer's) differs from the URL's; without either,
    Sec-Fetch-Site says so (ORB compares the initiator with the URL, as CORP does)."""
    initiator = facts.origin
    if initiator is None:
        referer = normalized(req.headers.by_name.get("referer"))
        initiator = origin_of_url(referer) if referer else None
    if initiator is not None:
        return initiator.opaque or not initiator.same_origin(facts.target)
    site = (normalized(req.headers.by_name.get("sec-fetch-site")) or "").lower()
    return site in ("same-site", "cross-site")


def orb_verdict(ex: Exchange, facts: RequestFacts, status: int, headers: Headers,
                media: MediaUrls) -> Verdict | None:
    """The verdict when ORB blocks this no-cors response, else None. An element load ORB fails is
    'failed, not CORS'. A no-cors fetch() it empties is allowed (the promise resolves) with a warning
    that the page gets an empty body; not when the body was empty anyway (Chromium then raises no
    issue either)."""
    body_head = ex.response.body_head if ex.response is not None else None
    block = orb_block(facts, ex.request, status, headers, body_head, media)
    if block is None or (not block.network_error and (body_head == b"" or status == 204)):
        return None
    req = ex.request
    fix = _fix(block)
    if block.network_error:
        cause = (f"blocked by Opaque Response Blocking ({NET_ERROR}; DevTools issue ResponseWasBlockedByORB), "
                 f"not by CORS: {block.detail}")
        return Verdict(
            flow_id=ex.id, kind=facts.kind, verdict="blocked", method=req.method, url=req.url,
            origin=facts.origin_header, time=req.timestamp, mode=facts.mode, mode_source=facts.mode_source,
            initiator=facts.initiator, cause=cause, warnings=(f"{cause}; fix: {fix}",),
            message=f"The browser fails this {facts.initiator or 'no-cors'} load: {cause}. Fix: {fix}.")
    warning = (f"Opaque Response Blocking emptied this no-cors response: fetch() resolves, but with an empty "
               f"body ({block.detail}); fix: {fix}")
    return Verdict(
        flow_id=ex.id, kind=facts.kind, verdict="allowed", method=req.method, url=req.url,
        origin=facts.origin_header, time=req.timestamp, mode=facts.mode, mode_source=facts.mode_source,
        initiator=facts.initiator, warnings=(warning,),
        message=("Not governed by CORS: a no-cors fetch() gets an opaque response, and here an empty one: "
                 f"{warning}."))


_RIGHT_TYPE = {"image": "an image type (image/png, image/jpeg, image/webp...)", "script": "text/javascript",
               "style": "text/css", "audio": "an audio type (audio/mpeg...)", "video": "a video type (video/mp4...)",
               "track": "text/vtt"}


def _fix(block: OrbBlock) -> str:
    want = _RIGHT_TYPE.get(block.destination)
    if block.why == "range":
        first = "serve the whole resource (200) to a first request, or label the media with its audio/video type"
    elif want:
        first = (f"if the URL really is the {block.destination}, serve it as {want}"
                 + (" without X-Content-Type-Options: nosniff on a wrong type" if block.why == "nosniff" else "")
                 + "; if it is not (an error page, JSON, a PDF), point the element at the real resource")
    else:
        first = "if the page only needs the request sent, nothing is lost; to read the body, it needs CORS"
    return (first + "; for data the page must read, make a CORS request (fetch() in cors mode, or the element's "
            "crossorigin attribute) and have the server answer with Access-Control-Allow-Origin: "
            "Access-Control-Allow-Origin on this no-cors load changes nothing")
