"""A realistic mixed corpus of browser traffic, as the engine and the addon see it.

`scenarios(n, seed)` yields lists of "wire flows" (plain tuples, no engine or mitmproxy types), in
the order a proxy would see them finish. The mix imitates a single-page app talking to an API on
another origin, plus the same-origin / no-cors / navigation traffic that surrounds it:

* simple CORS GETs, allowed (ACAO echo + Vary) and blocked (missing ACAO, mismatch, wildcard with
  cookies, credentials without Access-Control-Allow-Credentials);
* preflight + actual pairs (PUT/DELETE/POST JSON with custom headers), allowed and blocked
  (method or header not allowed, preflight 404/401), with Access-Control-Max-Age;
* actual requests without a preflight on the wire that hit the preflight cache (and a few that miss);
* redirected CORS requests (302 to another origin, then the next hop with Origin: null);
* same-origin XHR, no-cors images/scripts, navigations, plain-http requests without Sec-Fetch-*;
* upstream failures (mitmproxy's own 502) and client aborts.

`to_exchange` turns a wire flow into an engine `Exchange`; `bench/flows.py` turns it into a real
mitmproxy `HTTPFlow`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CHROME_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Safari/537.36")
SEC_CH_UA = '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'

APP = "https://app.example.com"
APP2 = "http://localhost:5173"
API = "https://api.example.net"
API_HTTP = "http://api.internal.test:8080"
CDN = "https://cdn.example.org"
EVIL = "https://evil.example"


@dataclass(slots=True)
class WireFlow:
    id: str
    method: str
    url: str
    req_headers: list[tuple[str, str]]
    client: str
    t: float
    status: int | None  # None: no response
    resp_headers: list[tuple[str, str]] | None
    error: str | None = None
    proxy_answered: bool = False


def _browser_headers(origin: str | None, mode: str, dest: str, site: str, extra=(), cookie=False):
    h = [("host", ""),  # filled in by _flow
         ("sec-ch-ua", SEC_CH_UA), ("sec-ch-ua-mobile", "?0"), ("sec-ch-ua-platform", '"Linux"'),
         ("user-agent", CHROME_UA)]
    h.extend(extra)
    h.append(("accept", "application/json, text/plain, */*" if dest == "empty" else "*/*"))
    if origin is not None:
        h.append(("origin", origin))
    h.extend([("sec-fetch-site", site), ("sec-fetch-mode", mode), ("sec-fetch-dest", dest),
              ("referer", (origin or APP) + "/dashboard"),
              ("accept-encoding", "gzip, deflate, br, zstd"),
              ("accept-language", "en-US,en;q=0.9,de;q=0.8")])
    if cookie:
        h.append(("cookie", "session=3f2a9c1e8b7d; theme=dark; _ga=GA1.2.1234567890.1700000000"))
    return h


def _server_headers(ctype="application/json; charset=utf-8", length=512, extra=()):
    h = [("server", "nginx/1.22.1"), ("date", "Tue, 25 Nov 2026 12:00:00 GMT"),
         ("content-type", ctype), ("content-length", str(length)), ("connection", "keep-alive")]
    h.extend(extra)
    h.extend([("cache-control", "no-store"), ("x-request-id", "5b0e6f7c-1d2e-4f3a-9b8c")])
    return h


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.t = 1_764_072_000.0
        self.n = 0

    def _flow(self, method, url, req_headers, status, resp_headers, client, error=None, proxy_answered=False):
        self.n += 1
        self.t += self.r.uniform(0.0005, 0.02)
        host = url.split("/", 3)[2]
        req_headers = [(k, host) if k == "host" else (k, v) for k, v in req_headers]
        return WireFlow(f"f{self.n:08d}", method, url, req_headers, client, self.t, status, resp_headers,
                        error, proxy_answered)

    # -- scenarios ------------------------------------------------------------------------------

    def simple(self, client):
        r = self.r
        origin = r.choice((APP, APP, APP2))
        url = f"{API}/v1/items/{r.randrange(50_000)}?fields=name,price&page={r.randrange(20)}"
        cookie = r.random() < 0.25
        kind = r.random()
        if kind < 0.65:
            acao = [("access-control-allow-origin", origin), ("vary", "Origin, Accept-Encoding"),
                    ("access-control-expose-headers", "X-Total-Count, ETag")]
            if cookie:
                acao.append(("access-control-allow-credentials", "true"))
        elif kind < 0.80:
            acao = []  # MissingAllowOriginHeader
        elif kind < 0.88:
            acao = [("access-control-allow-origin", "*")]  # blocked with cookies, allowed without
        elif kind < 0.94:
            acao = [("access-control-allow-origin", "https://other.example.com"), ("vary", "Origin")]
        else:
            acao = [("access-control-allow-origin", origin), ("access-control-allow-origin", origin)]
        hdrs = _browser_headers(origin, "cors", "empty", "cross-site", cookie=cookie)
        return [self._flow("GET", url, hdrs, r.choice((200, 200, 200, 304, 404, 500)),
                           _server_headers(extra=acao + [("etag", '"abc123"'), ("x-total-count", "42")]),
                           client)]

    def preflighted(self, client):
        r = self.r
        origin = r.choice((APP, APP, APP2))
        method = r.choice(("PUT", "DELETE", "POST", "PATCH"))
        url = f"{API}/v1/orders/{r.randrange(5_000)}"
        want = ["content-type", "x-csrf-token"] + (["authorization"] if r.random() < 0.3 else [])
        cookie = r.random() < 0.3
        outcome = r.random()
        allow_methods = "GET, POST, PUT, DELETE, PATCH"
        allow_headers = "Content-Type, X-CSRF-Token, Authorization"
        status = 204
        acao = origin
        if outcome < 0.12:
            allow_methods = "GET, POST"  # MethodDisallowedByPreflightResponse (for PUT/DELETE/PATCH)
        elif outcome < 0.22:
            allow_headers = "Content-Type"  # HeaderDisallowedByPreflightResponse
        elif outcome < 0.28:
            status = r.choice((404, 401, 405))  # PreflightInvalidStatus / missing ACAO
        elif outcome < 0.33:
            acao = "*"
        pre_req = [("host", ""), ("accept", "*/*"), ("access-control-request-method", method),
                   ("access-control-request-headers", ",".join(want)), ("origin", origin),
                   ("user-agent", CHROME_UA), ("sec-fetch-mode", "cors"), ("sec-fetch-site", "cross-site"),
                   ("sec-fetch-dest", "empty"), ("referer", origin + "/"),
                   ("accept-encoding", "gzip, deflate, br, zstd"), ("accept-language", "en-US,en;q=0.9")]
        pre_resp = [("server", "nginx/1.22.1"), ("date", "Tue, 25 Nov 2026 12:00:00 GMT"),
                    ("content-length", "0"), ("connection", "keep-alive")]
        if status < 400 or r.random() < 0.3:
            pre_resp += [("access-control-allow-origin", acao), ("access-control-allow-methods", allow_methods),
                         ("access-control-allow-headers", allow_headers), ("access-control-max-age", "600"),
                         ("vary", "Origin")]
            if cookie:
                pre_resp.append(("access-control-allow-credentials", "true"))
        out = [self._flow("OPTIONS", url, pre_req, status, pre_resp, client)]
        passed = (status < 300 and acao != "*" and allow_methods.endswith("PATCH")
                  and "X-CSRF" in allow_headers)
        if passed or (acao == "*" and not cookie and "authorization" not in want):
            out.append(self._actual(client, origin, method, url, want, cookie))
            if r.random() < 0.4:  # the page repeats it: a preflight-cache hit, no OPTIONS on the wire
                out.append(self._actual(client, origin, method, url, want, cookie))
        return out

    def _actual(self, client, origin, method, url, want, cookie):
        extra = [("content-type", "application/json"), ("x-csrf-token", "d41d8cd98f00b204e9800998ecf8427e")]
        if "authorization" in want:
            extra.append(("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"))
        extra.append(("content-length", "87"))
        hdrs = _browser_headers(origin, "cors", "empty", "cross-site", extra=extra, cookie=cookie)
        resp = [("access-control-allow-origin", origin), ("vary", "Origin")]
        if cookie:
            resp.append(("access-control-allow-credentials", "true"))
        return self._flow(method, url, hdrs, self.r.choice((200, 201, 204)), _server_headers(extra=resp), client)

    def cache_miss(self, client):
        """An actual request whose preflight the proxy never saw (cached before the proxy started)."""
        r = self.r
        origin = APP
        extra = [("content-type", "application/json"), ("x-requested-with", "XMLHttpRequest")]
        hdrs = _browser_headers(origin, "cors", "empty", "cross-site", extra=extra)
        url = f"{API}/v2/search?q=term{r.randrange(1000)}"
        return [self._flow("POST", url, hdrs, 200,
                           _server_headers(extra=[("access-control-allow-origin", origin)]), client)]

    def redirected(self, client):
        r = self.r
        origin = APP
        first = f"{API}/v1/files/{r.randrange(10_000)}"
        second = f"{CDN}/blobs/{r.randrange(10_000)}.json"
        hdrs = _browser_headers(origin, "cors", "empty", "cross-site")
        ok = r.random() < 0.7
        resp1 = _server_headers(ctype="text/html", length=0,
                                extra=[("location", second)]
                                + ([("access-control-allow-origin", origin)] if ok else []))
        out = [self._flow("GET", first, hdrs, r.choice((302, 301, 307)), resp1, client)]
        if ok:
            hdrs2 = _browser_headers("null", "cors", "empty", "cross-site")
            acao = "*" if r.random() < 0.7 else origin  # the latter is blocked: Origin is null now
            out.append(self._flow("GET", second, hdrs2, 200,
                                  _server_headers(extra=[("access-control-allow-origin", acao)]), client))
        return out

    def same_origin(self, client):
        r = self.r
        url = f"{APP}/api/session/{r.randrange(1000)}"
        hdrs = _browser_headers(None, "cors", "empty", "same-origin", cookie=True)
        return [self._flow("GET", url, hdrs, 200, _server_headers(), client)]

    def no_cors(self, client):
        r = self.r
        dest, ext = r.choice((("image", "png"), ("script", "js"), ("style", "css"), ("font", "woff2")))
        url = f"{CDN}/static/{r.randrange(3000)}.{ext}"
        hdrs = _browser_headers(None, "no-cors", dest, "cross-site")
        return [self._flow("GET", url, hdrs, 200,
                           _server_headers(ctype="image/png", length=20_000,
                                           extra=[("cache-control", "max-age=31536000")]), client)]

    def navigation(self, client):
        r = self.r
        url = f"{APP}/{r.choice(('', 'dashboard', 'settings', 'orders'))}"
        hdrs = _browser_headers(None, "navigate", "document", "none",
                                extra=[("upgrade-insecure-requests", "1")], cookie=True)
        return [self._flow("GET", url, hdrs, 200, _server_headers(ctype="text/html", length=4000), client)]

    def plain_http(self, client):
        """A page on http://localhost calling an http API: no Sec-Fetch-*; the engine infers the mode."""
        r = self.r
        method = r.choice(("GET", "POST"))
        url = f"{API_HTTP}/rpc/{r.randrange(200)}"
        hdrs = [("host", ""), ("user-agent", CHROME_UA), ("accept", "*/*"), ("origin", APP2),
                ("referer", APP2 + "/"), ("accept-encoding", "gzip, deflate"),
                ("accept-language", "en-US,en;q=0.9")]
        if method == "POST":
            hdrs += [("content-type", "text/plain;charset=UTF-8"), ("content-length", "33")]
        resp = [("access-control-allow-origin", "*")] if r.random() < 0.5 else []
        return [self._flow(method, url, hdrs, 200, _server_headers(extra=resp), client)]

    def failed(self, client):
        r = self.r
        origin = APP
        url = f"{API}/v1/health/{r.randrange(100)}"
        hdrs = _browser_headers(origin, "cors", "empty", "cross-site")
        if r.random() < 0.7:
            return [self._flow("GET", url, hdrs, None, None, client,
                               error="[Errno 111] Connect call failed ('10.0.0.7', 443)", proxy_answered=True)]
        return [self._flow("GET", url, hdrs, None, None, client, error="Client disconnected.")]


# (scenario, weight): about 55% of flows are CORS-relevant, the rest is what surrounds them.
MIX = (("simple", 26), ("preflighted", 14), ("cache_miss", 2), ("redirected", 5), ("same_origin", 14),
       ("no_cors", 18), ("navigation", 6), ("plain_http", 10), ("failed", 2), ("evil", 3))


def generate(n: int, seed: int = 1) -> list[WireFlow]:
    """At least `n` wire flows (scenarios are not cut in half), in finishing order."""
    g = _Gen(seed)
    names = [m[0] for m in MIX]
    weights = [m[1] for m in MIX]
    clients = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(40)]
    out: list[WireFlow] = []
    while len(out) < n:
        name = g.r.choices(names, weights)[0]
        client = g.r.choice(clients)
        if name == "evil":  # another site probing the API: blocked by a mismatch
            flows = g.simple(client)
            for f in flows:
                f.req_headers = [(k, EVIL if k == "origin" else v) for k, v in f.req_headers]
        else:
            flows = getattr(g, name)(client)
        out.extend(flows)
    return out


def to_exchange(w: WireFlow):
    from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot

    req = RequestSnapshot(w.method, w.url, Headers(w.req_headers), w.t, w.client)
    resp = ResponseSnapshot(w.status, Headers(w.resp_headers), w.t) if w.status is not None else None
    return Exchange(w.id, req, resp, w.error, proxy_answered_error=w.proxy_answered)
