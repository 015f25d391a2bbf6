"""The browser-cache trap: a response Chromium's HTTP cache stores and later reuses, without a request,
for a CORS request it does not fit. The CORS check then fails on the stored copy, and the proxy never
sees the request that failed.

Measured in Chromium 156 through mitmdump (tests/e2e/test_cache_trap_chromium.py): a response that
is fresh (max-age, or heuristically: Last-Modified without Cache-Control) and has no `Vary: Origin`
- fetched first as no-cors (`<img>`, `fetch(u, {mode: 'no-cors'})`) without Access-Control-Allow-Origin
  (the server adds it only when the request has an Origin), is reused for a later `fetch(u)` or
  `<img crossorigin>`: `MissingAllowOriginHeader`, and the server sees one request;
- fetched first by origin A with `Access-Control-Allow-Origin: A`, is reused for origin B when both
  pages share a cache partition (same top-level site: two ports of 127.0.0.1): `AllowOriginMismatch`;
  a page of another site has its own partition and asks the server.
`Vary: Origin`, `no-store`, and `no-cache` (the browser revalidates: the request reaches the proxy)
avoid it. The cache does not split by credentials mode: a `*` stored for a fetch without credentials
is reused for one with credentials (`WildcardOriginNotAllowed`, no request) - but the server's `*`
would fail that request anyway, so no warning here.

What the proxy can tell: that a response sets the trap. A no-cors response without
Access-Control-Allow-Origin sets it only where its URL (path, without query) answered CORS requests
with the header before (`CacheTraps.cors_endpoints`), so that its CORS headers depend on the
request. It cannot see the failed request itself; a preflight for a trapped URL is the one sign it
gets, and its warning points at the response that set the trap.
"""

from __future__ import annotations

from collections import OrderedDict
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from .access_check import varies_on_origin
from .memo import memoized
from .model import Exchange, Headers, normalized
from .request_mode import RequestFacts
from .verdict import Verdict

# Statuses a cache may store without explicit freshness (RFC 9110 §15.1, "heuristically cacheable").
_HEURISTIC = frozenset({200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501})


def fresh_for(status: int, headers: Headers) -> float:
    """Seconds Chromium's HTTP cache reuses this GET response without asking the server (0: never):
    explicit freshness (max-age, else Expires - Date), else 10% of Date - Last-Modified
    (`HttpResponseHeaders::GetFreshnessLifetimes`); no-store, no-cache and `Vary: *` give 0."""
    idx = headers.by_name
    return _fresh_for(normalized(idx.get("cache-control")) or "", status in _HEURISTIC,
                      normalized(idx.get("expires")), normalized(idx.get("date")),
                      normalized(idx.get("last-modified")), (normalized(idx.get("vary")) or "").strip() == "*")


@memoized()
def _fresh_for(cache_control: str, heuristic: bool, expires: str | None, date: str | None,
               last_modified: str | None, vary_star: bool) -> float:
    directives = {}
    for d in cache_control.lower().split(","):
        name, _, value = d.strip().partition("=")
        directives[name.strip()] = value.strip().strip('"')
    if vary_star or "no-store" in directives or "no-cache" in directives:
        return 0.0
    if "max-age" in directives:
        value = directives["max-age"]
        return float(value) if value.isdigit() else 0.0
    if expires is not None:
        return max(0.0, _seconds(expires, date)) if date else 0.0
    if heuristic and last_modified and date:
        return max(0.0, _seconds(date, last_modified) / 10)
    return 0.0


def _seconds(later: str, earlier: str) -> float:
    try:
        return (parsedate_to_datetime(later) - parsedate_to_datetime(earlier)).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0


class Trap(NamedTuple):
    flow_id: str
    expires: float  # the proxy's clock: when the stored copy stops being reused
    acao: str | None  # the stored copy's Access-Control-Allow-Origin
    time: float


class CacheTraps:
    """Bounded: URL paths that answered CORS requests with Access-Control-Allow-Origin, and the
    trap-setting responses per (client, URL) while they are fresh."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self.cors_endpoints: OrderedDict[str, None] = OrderedDict()
        self._traps: OrderedDict[tuple, Trap] = OrderedDict()

    def __len__(self) -> int:
        return len(self.cors_endpoints) + len(self._traps)

    def clear(self) -> None:
        self.cors_endpoints.clear()
        self._traps.clear()

    def judge(self, ex: Exchange, facts: RequestFacts, verdict: Verdict) -> Verdict:
        """`verdict` with the trap's warning when this response sets one, or when it is a preflight
        for a URL whose stored copy fails the request it precedes."""
        req = ex.request
        resp = ex.response
        if resp is None:
            return verdict
        if facts.kind == "preflight":
            trap = self._traps.get((req.client, req.url))
            if trap is None or trap.expires < req.timestamp or trap.acao is not None:
                return verdict
            return verdict._replace(warnings=verdict.warnings + (
                f"the browser's cache holds a copy of this URL without Access-Control-Allow-Origin (flow "
                f"{trap.flow_id[:8]}, a no-cors load, fresh for {trap.expires - req.timestamp:.0f} s more): Chromium "
                "serves the actual request from it without asking the server, so expect no actual request in the "
                "proxy and MissingAllowOriginHeader in DevTools; fix Vary: Origin on that response",))
        if req.method != "GET" or verdict.verdict != "allowed":
            return verdict
        headers = resp.headers
        idx = headers.by_name
        acao = normalized(idx.get("access-control-allow-origin"))
        endpoint = req.url.split("#", 1)[0].split("?", 1)[0]
        if facts.kind == "cors":
            if acao is None:
                return verdict
            self._remember(self.cors_endpoints, endpoint, None)
            if acao == "*" or varies_on_origin(headers):
                return verdict
            lifetime = fresh_for(resp.status, headers)
            if lifetime <= 0:
                return verdict
            self._remember(self._traps, (req.client, req.url), Trap(ex.id, req.timestamp + lifetime, acao, req.timestamp))
            old = ("Access-Control-Allow-Origin names one origin but the response has no "
                   "Vary: Origin; caches may serve it to other origins")
            warning = (f"browser cache: Access-Control-Allow-Origin: {acao} without Vary: Origin on a response "
                       f"Chromium reuses for {lifetime:.0f} s without asking the server: a page of another origin in "
                       "the same site (one cache partition) that fetches this URL gets this copy and fails with "
                       "AllowOriginMismatch, a CORS error in DevTools with no flow in the proxy; fix Vary: Origin")
            return verdict._replace(warnings=tuple(w for w in verdict.warnings if w != old) + (warning,))
        if "origin" in req.headers.by_name or acao is not None or varies_on_origin(headers):
            return verdict
        if endpoint not in self.cors_endpoints or not (
                facts.kind in ("no-cors", "same-origin") or facts.kind == "not-cors" and facts.mode == "unknown"):
            return verdict
        lifetime = fresh_for(resp.status, headers)
        if lifetime <= 0:
            return verdict
        self._remember(self._traps, (req.client, req.url), Trap(ex.id, req.timestamp + lifetime, None, req.timestamp))
        return verdict._replace(warnings=verdict.warnings + (
            f"browser cache: this copy has no Access-Control-Allow-Origin (this URL sends it to CORS requests) and no "
            f"Vary: Origin, and Chromium reuses it for {lifetime:.0f} s without asking the server: a fetch() or "
            "crossorigin load of this URL by a page of this site in that time fails with MissingAllowOriginHeader, a "
            "CORS error in DevTools with no flow in the proxy; fix Vary: Origin (or Cache-Control: no-store on "
            "responses without CORS headers)",))

    def _remember(self, table: OrderedDict, key, value) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.capacity:
            table.popitem(last=False)
