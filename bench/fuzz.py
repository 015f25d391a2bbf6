"""Random hostile flows (real mitmproxy `HTTPFlow`s) for the robustness run of the benchmark.

Plain `random` rather than hypothesis, so that 100,000+ flows take seconds; tests/property holds
the hypothesis versions. Everything a browser, a broken server or a scanner might put on the wire:
arbitrary header names and values (duplicates, any byte 0x00-0xff, empty, huge), odd URLs (no
host, IPv6 with zone ids, userinfo, ports 0/65535, non-ASCII paths, `*`, CONNECT authority
form), any method, status codes 0-999, responses missing, errors of every kind, missing client
addresses and timestamps that go backwards. Pairing-relevant values (origins, URLs, ACRM/ACRH) are
drawn from small pools so that preflights, actual requests, redirects and 304s meet each other.
"""

from __future__ import annotations

import random

from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.test import tflow

ORIGINS = ["https://app.example", "http://app.example:8080", "null", "https://APP.example", "https://app.example/",
           "http://[::1]:3000", "file://", "https://xn--bcher-kva.example", "https://a.example, https://b.example",
           "*", "", " https://app.example ", "https://app.example:443", "http://localhost", "chrome-extension://abc",
           "https://user:pw@app.example", "https://app.example\x00", "https://\xe4pp.example"]
HOSTS = ["api.example", "app.example", "127.0.0.1", "::1", "fe80::1%eth0", "", "localhost", "xn--bcher-kva.example",
         "h\xe4st.example", "UPPER.Example", "a" * 300, "user:pw@host", "[::1]", "1.2.3.4.5", "-bad-", "ex ample"]
SCHEMES = [b"http", b"https", b"HTTP", b"ws", b"wss", b"ftp", b"", b"chrome-extension", b"h\xfftp", b"data"]
PATHS = [b"/", b"/api/items", b"/api/items?x=1", b"", b"*", b"/a b", b"/\xff\xfe", b"/%zz", b"/?#frag",
         b"//double", b"/" + b"x" * 5000, b"/\x00", b"/caf\xc3\xa9", b"http://other.example/abs"]
METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"HEAD", b"PATCH", b"CONNECT", b"get", b"options",
           b"", b"G\xffT", b"TRACE", b"X-CUSTOM", b"M" * 500, b"GET POST"]
PORTS = [80, 443, 8080, 0, 1, 65535, 3000, 8443]

CORS_REQ_NAMES = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers", "Sec-Fetch-Mode",
                  "Sec-Fetch-Dest", "Sec-Fetch-Site", "Sec-Fetch-Storage-Access", "Content-Type", "Accept",
                  "Accept-Language", "Content-Language", "Range", "Cookie", "Authorization", "X-Custom",
                  "If-None-Match", "If-Modified-Since", "Upgrade-Insecure-Requests", "Host", "DPR", "Width",
                  "Device-Memory", "ECT", "Save-Data", "RTT", "Downlink", "Viewport-Width", "Intervention",
                  "Proxy-Authorization", "Sec-CH-UA", "User-Agent"]
CORS_RESP_NAMES = ["Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                   "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age",
                   "Access-Control-Expose-Headers", "Vary", "Location", "ETag", "Last-Modified", "Set-Cookie",
                   "Content-Type", "Content-Length", "Cache-Control", "X-Total-Count"]
VALUES = ["", " ", "*", "true", "TRUE", "null", "GET", "PUT", "get, put", "GET,,PUT", "content-type,x-custom",
          "authorization", "*, authorization", "Origin", "origin, *", "600", "-1", "99999999999999999999",
          "7200", "abc", "bytes=0-", "bytes=5-1", "bytes=0-1,2-3", "application/json", "text/plain; charset=x",
          "multipart/form-data;boundary=\x7f", "en-US,en;q=0.9", "cors", "no-cors", "navigate", "websocket",
          "same-origin", "empty", "image", "document", "on", "4g", "1.5", "x" * 129, "\x00\x01\x7f",
          "\xff\xfe\x80", "caf\xe9", "a,b,c", "\t tabbed \t", "\"quoted\"", "(paren)", "<tag>",
          "https://evil.example", "/relative", "//proto.relative/x", "http://user:pw@other.example/x",
          "http://[::1", "https://app.example:99999", "\r\n", "W/\"etag\"", "Wed, 21 Oct 2015 07:28:00 GMT"]
ERRORS = [None, None, None, mflow.Error.KILLED_MESSAGE, "Client disconnected.", "[Errno 111] Connect call failed",
          "", "TLS handshake failed", "\xff\x00 weird", "client disconnected (peer reset)", "x" * 10_000]


class FlowFuzzer:
    def __init__(self, seed: int = 0) -> None:
        self.r = random.Random(seed)
        self.t = 1_764_072_000.0
        self.n = 0
        self.clients = [("10.0.0.1", 5000), ("10.0.0.2", 5001), ("::1", 5002, 0, 0), None]

    def _bytes(self, n_max: int = 40) -> bytes:
        r = self.r
        k = r.random()
        if k < 0.05:
            return r.randbytes(r.choice((10_000, 70_000)))  # huge
        return r.randbytes(r.randrange(n_max))

    def _value(self) -> bytes:
        r = self.r
        k = r.random()
        if k < 0.55:
            return r.choice(VALUES).encode("latin-1")
        if k < 0.7:
            return r.choice(ORIGINS).encode("latin-1")
        if k < 0.8:
            return (r.choice(VALUES) + "," + r.choice(VALUES)).encode("latin-1")
        return self._bytes()

    def _name(self, pool) -> bytes:
        r = self.r
        k = r.random()
        if k < 0.75:
            name = r.choice(pool)
            if r.random() < 0.2:
                name = "".join(c.upper() if r.random() < 0.5 else c.lower() for c in name)
            return name.encode("latin-1")
        if k < 0.85:
            return r.choice((b"", b" ", b"x-\xff", b"a b", b":authority", b"X" * 3000))
        return self._bytes(20)

    def _headers(self, pool, n_max=14) -> http.Headers:
        fields = []
        for _ in range(self.r.randrange(n_max)):
            fields.append((self._name(pool), self._value()))
        if fields and self.r.random() < 0.3:  # duplicates
            fields.extend(self.r.choices(fields, k=self.r.randrange(1, 4)))
        return http.Headers(fields)

    def flow(self) -> http.HTTPFlow:
        r = self.r
        self.t += r.uniform(-2, 30) if r.random() < 0.05 else r.uniform(0, 0.5)
        host = r.choice(HOSTS)
        req = http.Request(host, r.choice(PORTS), r.choice(METHODS), r.choice(SCHEMES),
                           r.choice((b"", b"api.example:443", b"\xff")), r.choice(PATHS),
                           r.choice((b"HTTP/1.1", b"HTTP/2.0", b"HTTP/1.0", b"")),
                           self._headers(CORS_REQ_NAMES), b"" if r.random() < 0.8 else self._bytes(), None,
                           self.t, self.t + 0.01)
        if r.random() < 0.02:
            req.timestamp_start = 0.0
        resp = False
        if r.random() < 0.85:
            status = r.choice((200, 204, 301, 302, 303, 304, 307, 308, 404, 405, 500, 502, 0, 999, 100, 299))
            if r.random() < 0.2:
                status = r.randrange(1000)
            resp = http.Response(r.choice((b"HTTP/1.1", b"HTTP/2.0", b"")), status,
                                 r.choice((b"", b"OK", b"\xff")), self._headers(CORS_RESP_NAMES), b"", None,
                                 self.t + 0.02, self.t + 0.03)
        err = False
        msg = r.choice(ERRORS)
        if msg is not None:
            err = mflow.Error(msg)
        client = tflow.tclient_conn()
        peer = r.choice(self.clients)
        client.peername = peer
        f = tflow.tflow(client_conn=client, req=req, resp=resp, err=err)
        self.n += 1
        f.id = f"fuzz-{self.n:07d}"  # deterministic, so that two runs can be compared
        return f
