"""Hypothesis strategies for hostile wire data: engine snapshots and real mitmproxy flows.

Values that make pairing, caching and redirects meet (origins, URLs, Access-Control-Request-*,
Location) come from small pools, so a batch of flows exercises the tracker's state; everything
else is drawn from the whole byte range, with duplicates, empty and huge values.
"""

from __future__ import annotations

from hypothesis import strategies as st
from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.test import tflow

from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot

ORIGINS = ["http://a.test:8001", "https://app.example", "null", "http://[::1]:3000", "https://APP.example",
           "https://app.example/", " https://app.example ", "*", "", "http://a.test:8001, http://c.test",
           "https://u:p@app.example", "http://a.test:99999", "http://a.test:\xb2", "file://", "http://\xe4.test"]
URLS = ["http://b.test:8002/api", "http://b.test:8002/api?x=1", "https://api.example/v1/items", "http://a.test:8001/x",
        "https://[::1]:8443/", "https://[fe80::1%25eth0]/", "http://u:p@b.test:8002/api", "http://b.test:0/",
        "http://b.test:65535/", "http://b.test:99999/", "https://api.example:443/v1/items", "ftp://b.test/",
        "", "not a url", "http://", "http:///x", "//b.test/api", "http://b.test/caf\udce9", "*", "b.test:443",
        "http://b.test:8002/" + "x" * 3000, "http://xn--bcher-kva.example/", "http://h\xe4st.test/"]
METHODS = ["GET", "OPTIONS", "PUT", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "get", "options",
           "", "G\xe9T", "X" * 300]
REQ_NAMES = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers", "Sec-Fetch-Mode",
             "Sec-Fetch-Dest", "Sec-Fetch-Site", "Sec-Fetch-Storage-Access", "Cookie", "Authorization",
             "Content-Type", "Range", "Accept", "Accept-Language", "Content-Language", "DPR", "Width",
             "Viewport-Width", "Device-Memory", "RTT", "Downlink", "ECT", "Save-Data", "Intervention",
             "If-None-Match", "If-Modified-Since", "Upgrade", "Upgrade-Insecure-Requests", "Host", "X-Custom",
             "Proxy-Authorization", "Sec-CH-UA", "User-Agent"]
RESP_NAMES = ["Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
              "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Access-Control-Expose-Headers",
              "Access-Control-Allow-Private-Network", "Location", "Vary", "ETag", "Last-Modified",
              "Set-Cookie", "Content-Type", "Content-Length", "Cache-Control"]
VALUES = ["*", "null", "true", "TRUE", "false", "", " ", "GET", "PUT", "get, put", "GET,,PUT", "x-custom",
          "content-type,x-custom", "authorization", "*, authorization", "Origin", "origin, *", "600", "-1", "0",
          "99999999999999999999999", "7200", "abc", "cors", "no-cors", "navigate", "websocket", "same-origin",
          "empty", "image", "document", "bytes=0-", "bytes=5-1", "bytes=0-1,2-3", "application/json",
          "text/plain;charset=x", "multipart/form-data; boundary=\x7f", "en-US,en;q=0.9", "on", "4g", "1.5",
          "/relative", "//proto.relative/x", "http://u:p@c.test/x", "http://[::1", "W/\"etag\"", "\x00\x01\x7f",
          "\xff\xfe\x80", "caf\xe9", "\t tab \t", "a,b,c", "(paren)", "<tag>", "9" * 5000] + ORIGINS + URLS

# Well-formed CORS headers, mixed into the random ones so that real preflights, actual requests,
# redirects and revalidations occur (purely random headers are almost never CORS at all).
CORE_REQ = [("Origin", "http://a.test:8001"), ("Origin", "https://app.example"), ("Origin", "null"),
            ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "empty"),
            ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "content-type,x-custom"), ("Access-Control-Request-Headers", "authorization"),
            ("Cookie", "a=b"), ("Authorization", "Bearer x"), ("Content-Type", "application/json"),
            ("X-Custom", "1"), ("If-None-Match", '"e1"'), ("Accept", "*/*")]
CORE_RESP = [("Access-Control-Allow-Origin", "http://a.test:8001"), ("Access-Control-Allow-Origin", "https://app.example"),
             ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Origin", "null"),
             ("Access-Control-Allow-Credentials", "true"), ("Access-Control-Allow-Methods", "GET, PUT, DELETE"),
             ("Access-Control-Allow-Methods", "*"), ("Access-Control-Allow-Headers", "content-type, x-custom"),
             ("Access-Control-Allow-Headers", "*"), ("Access-Control-Max-Age", "600"),
             ("Access-Control-Expose-Headers", "x-total"), ("Vary", "Origin"), ("ETag", '"e1"'),
             ("Location", "http://b.test:8002/api"), ("Location", "https://api.example/v1/items"),
             ("Location", "http://u:p@b.test:8002/api"), ("Location", "/relative")]
VALID_URLS = ["http://b.test:8002/api", "https://api.example/v1/items", "http://a.test:8001/x",
              "https://[::1]:8443/", "http://b.test:8002/api?x=1"]

LATIN1 = st.characters(min_codepoint=0, max_codepoint=255)


def _huge(alphabet: st.SearchStrategy) -> st.SearchStrategy:
    """Values of 10 to 200 kB, built by repetition (hypothesis draws small data)."""
    return st.tuples(alphabet, st.integers(2_000, 40_000)).map(lambda t: t[0] * t[1])


def _cased(name: str) -> st.SearchStrategy:
    return st.sampled_from([name, name.lower(), name.upper()])


# -- engine snapshots (str, one char per byte as the adapter decodes them) -------------------------

TEXT_NAMES = st.one_of(st.sampled_from(REQ_NAMES + RESP_NAMES).flatmap(_cased), st.text(LATIN1, max_size=20))
TEXT_VALUES = st.one_of(st.sampled_from(VALUES), st.text(LATIN1, max_size=40), _huge(st.text(LATIN1, min_size=1,
                                                                                                max_size=5)))
def _with_duplicates(fields: list) -> st.SearchStrategy:
    return st.lists(st.sampled_from(fields), max_size=4).map(lambda dup: fields + dup) if fields else st.just(fields)


@st.composite
def _core_request(draw) -> list:
    """A coherent browser request: one Origin, perhaps Sec-Fetch-Mode, preflight or unsafe headers."""
    fields = [("Origin", draw(st.sampled_from(["http://a.test:8001", "https://app.example", "null"])))]
    if draw(st.booleans()):
        fields.append(("Sec-Fetch-Mode", draw(st.sampled_from(["cors", "cors", "no-cors", "navigate"]))))
    extra = draw(st.lists(st.sampled_from(CORE_REQ[6:]), max_size=4, unique=True))
    return fields + extra


@st.composite
def _core_response(draw) -> list:
    acao = draw(st.sampled_from(["http://a.test:8001", "https://app.example", "*", "null", None]))
    fields = [] if acao is None else [("Access-Control-Allow-Origin", acao)]
    return fields + draw(st.lists(st.sampled_from(CORE_RESP[4:]), max_size=5, unique=True))


def _mixed(random_pairs: st.SearchStrategy, core: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a coherent CORS core plus hostile fields (some repeated); sometimes only hostile ones."""
    return st.tuples(st.lists(random_pairs, max_size=8), st.one_of(core, core, core, st.just([]))).map(
        lambda t: t[1] + t[0]).flatmap(_with_duplicates)


TEXT_REQ_HEADERS = _mixed(st.tuples(TEXT_NAMES, TEXT_VALUES), _core_request()).map(Headers)
TEXT_RESP_HEADERS = _mixed(st.tuples(TEXT_NAMES, TEXT_VALUES), _core_response()).map(Headers)
TIMESTAMPS = st.one_of(st.floats(1e9, 1e9 + 100), st.floats(0, 2e9),
                       st.sampled_from([0.0, -1.0, 1e300, float("inf"), float("nan")]))


@st.composite
def exchanges(draw, ids=st.text(max_size=6)):
    req = RequestSnapshot(draw(st.sampled_from(METHODS) | st.text(max_size=10)),
                          draw(st.one_of(*[st.sampled_from(VALID_URLS)] * 4, st.sampled_from(URLS),
                                         st.text(max_size=60))),
                          draw(TEXT_REQ_HEADERS), draw(TIMESTAMPS),
                          draw(st.sampled_from(["10.0.0.1", "10.0.0.1", "", "::1", "\xff"])))
    kind = draw(st.sampled_from(["response"] * 6 + ["error", "proxy-error", "none"]))
    resp = None
    if kind == "response":
        resp = ResponseSnapshot(draw(st.sampled_from([200, 204, 302, 304]) | st.integers(0, 999)),
                                draw(TEXT_RESP_HEADERS), draw(TIMESTAMPS))
    error = None if kind == "response" else draw(st.none() | st.text(max_size=30))
    return Exchange(draw(ids), req, resp, error, proxy_answered_error=kind == "proxy-error")


# -- mitmproxy flows (bytes on the wire) ----------------------------------------------------------

def _b(s: str) -> bytes:
    return s.encode("latin-1", "replace") if all(ord(c) < 256 for c in s) else s.encode("utf-8", "surrogateescape")


BYTE_NAMES = st.one_of(st.sampled_from(REQ_NAMES + RESP_NAMES).flatmap(_cased).map(_b), st.binary(max_size=20))
BYTE_VALUES = st.one_of(st.sampled_from(VALUES).map(_b), st.binary(max_size=40), _huge(st.binary(min_size=1, max_size=5)))
def _encode_fields(fields: list) -> list:
    return [(_b(k) if isinstance(k, str) else k, _b(v) if isinstance(v, str) else v) for k, v in fields]


BYTE_REQ_HEADERS = _mixed(st.tuples(BYTE_NAMES, BYTE_VALUES), _core_request()).map(_encode_fields).map(http.Headers)
BYTE_RESP_HEADERS = _mixed(st.tuples(BYTE_NAMES, BYTE_VALUES), _core_response()).map(_encode_fields).map(http.Headers)
HOSTS = ["b.test", "b.test", "api.example", "a.test", "127.0.0.1", "::1", "fe80::1%eth0", "", "localhost", "[::1]",
         "xn--bcher-kva.example", "h\xe4st.test", "UPPER.Example", "u:p@b.test", "1.2.3.4.5", "-bad-", "a b",
         "a" * 300]
PATHS = [b"/", b"/api", b"/api?x=1", b"", b"*", b"/a b", b"/\xff\xfe", b"/%zz", b"/?#frag", b"//double",
         b"/" + b"x" * 5000, b"/\x00", b"/caf\xc3\xa9", b"http://other.test/abs"]
UTF8_METHODS = st.sampled_from(METHODS).map(lambda m: m.encode("utf-8")) | st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=10).map(str.encode)
ANY_METHODS = UTF8_METHODS | st.binary(max_size=10)
PEERS = [("10.0.0.1", 50000), ("127.0.0.1", 50001), ("::1", 50002, 0, 0)]
ERRORS = [mflow.Error.KILLED_MESSAGE, "Client disconnected.", "[Errno 111] Connect call failed ('127.0.0.1', 8002)",
          "", "TLS handshake failed", "\xff\x00 weird", "x" * 10_000]


@st.composite
def flows(draw, methods=ANY_METHODS, peers=st.sampled_from(PEERS)):
    """A finished (or unfinished) flow with arbitrary request, response and error."""
    t = draw(st.floats(1e9, 1e9 + 100) | st.floats(0, 2e9))
    req = http.Request(
        draw(st.sampled_from(HOSTS) | st.text(max_size=30)), draw(st.sampled_from([8002, 443, 80]) | st.integers(0, 65535)),
        draw(methods),
        draw(st.sampled_from([b"http", b"https", b"HTTP", b"ws", b"", b"ftp"]) | st.binary(max_size=6)),
        draw(st.sampled_from([b"", b"b.test:8002"]) | st.binary(max_size=20)),
        draw(st.sampled_from(PATHS) | st.binary(max_size=40)),
        draw(st.sampled_from([b"HTTP/1.1", b"HTTP/2.0", b"HTTP/1.0", b""])),
        draw(BYTE_REQ_HEADERS), b"", None, t, t + 0.001)
    if draw(st.booleans()):
        req.timestamp_start = 0.0
    resp: http.Response | bool = False
    if draw(st.integers(0, 9)) < 8:
        resp = http.Response(draw(st.sampled_from([b"HTTP/1.1", b"HTTP/2.0", b""])),
                             draw(st.sampled_from([200, 204, 302, 304]) | st.integers(0, 999)),
                             draw(st.sampled_from([b"", b"OK"]) | st.binary(max_size=8)), draw(BYTE_RESP_HEADERS),
                             b"", None, t + 0.002, t + 0.003)
    err: mflow.Error | bool = False
    if draw(st.integers(0, 3)) == 0:
        err = mflow.Error(draw(st.sampled_from(ERRORS) | st.text(max_size=40)))
    client = tflow.tclient_conn()
    client.peername = draw(peers)
    f = tflow.tflow(client_conn=client, req=req, resp=resp, err=err)
    f.live = draw(st.booleans())
    return f


@st.composite
def preflight_pairs(draw):
    """A preflight and the actual request it allows (same client, origin, URL, method), each with
    hostile extras: the tracker pairs them, caches the preflight and may see the actual again."""
    origin = draw(st.sampled_from(["http://a.test:8001", "https://app.example"]))
    url = draw(st.sampled_from(VALID_URLS))
    method = draw(st.sampled_from(["PUT", "DELETE", "POST", "GET"]))
    acrh = draw(st.sampled_from(["", "content-type", "x-custom", "authorization", "content-type,x-custom"]))
    client = "10.0.0.1"
    t = draw(st.floats(1e9, 1e9 + 50))
    pre = [("Origin", origin), ("Access-Control-Request-Method", method), ("Sec-Fetch-Mode", "cors")]
    if acrh:
        pre.append(("Access-Control-Request-Headers", acrh))
    pre_resp = draw(_core_response()) + [("Access-Control-Allow-Methods", draw(st.sampled_from([method, "*", "GET"])))]
    actual = [("Origin", origin), ("Sec-Fetch-Mode", "cors")] + [(h, "v") for h in acrh.split(",") if h]
    noise = draw(st.lists(st.tuples(TEXT_NAMES, TEXT_VALUES), max_size=3))
    status = draw(st.sampled_from([204, 200, 404, 302]) | st.integers(0, 999))
    out = [Exchange(draw(st.text(max_size=4)), RequestSnapshot("OPTIONS", url, Headers(pre + noise), t, client),
                    ResponseSnapshot(status, Headers(pre_resp), t))]
    for i in range(draw(st.integers(1, 2))):
        resp = draw(_core_response())
        out.append(Exchange(draw(st.text(max_size=4)), RequestSnapshot(method, url, Headers(actual), t + 1 + i, client),
                            ResponseSnapshot(draw(st.sampled_from([200, 204, 302, 304])), Headers(resp), t + 1 + i)))
    return out


def exchange_batches(min_size: int = 1, max_size: int = 12):
    """Lists of exchanges: single hostile ones and preflight/actual pairs, interleaved."""
    one = exchanges(ids=st.sampled_from(["a", "b", "c", "d", ""])).map(lambda e: [e])
    return st.lists(st.one_of(one, one, preflight_pairs()), min_size=min_size, max_size=max_size).map(
        lambda groups: [e for g in groups for e in g])


@st.composite
def flow_pairs(draw):
    """A preflight flow and its actual request's flow on one client connection (hostile extras included)."""
    pair = draw(preflight_pairs())
    client = tflow.tclient_conn()
    client.peername = ("10.0.0.1", 50000)
    out = []
    for ex in pair:
        req = http.Request.make(ex.request.method, ex.request.url, b"", _encode_fields(list(ex.request.headers.fields)))
        req.timestamp_start = req.timestamp_end = ex.request.timestamp
        resp = http.Response(b"HTTP/1.1", ex.response.status, b"", http.Headers(_encode_fields(list(ex.response.headers.fields))),
                             b"", None, ex.request.timestamp, ex.request.timestamp)
        out.append(tflow.tflow(client_conn=client, req=req, resp=resp))
    return out


def flow_batches(methods=ANY_METHODS, peers=st.sampled_from(PEERS), min_size: int = 1, max_size: int = 6):
    one = flows(methods=methods, peers=peers).map(lambda f: [f])
    return st.lists(st.one_of(one, one, flow_pairs()), min_size=min_size, max_size=max_size).map(
        lambda groups: [f for g in groups for f in g])
