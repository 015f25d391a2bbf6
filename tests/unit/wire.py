"""Builders for engine tests: what Chromium puts on the wire (`Origin`: `CorsURLLoader::StartRequest`,
services/network/cors/cors_url_loader.cc; the preflight: `PreflightController`,
services/network/cors/preflight_controller.cc; `Sec-Fetch-*`: `SetFetchMetadataHeaders`,
services/network/sec_header_helpers.cc).

Origins follow the set-up Chromium was first checked with (`*.test` hosts mapped to loopback): the page
is `http://a.test:8001`, the API `http://b.test:8002`, a third origin `http://c.test:8003`. None of them
is potentially trustworthy (https://w3c.github.io/webappsec-secure-contexts/#is-origin-trustworthy), and
Chromium sends `Sec-Fetch-*` only to potentially trustworthy targets, so by default requests carry no
`Sec-Fetch-*` except the preflight's `Sec-Fetch-Mode: cors`, which Chromium always sets.
"""

from __future__ import annotations

import itertools

from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from mitmproxy_cors.engine.tracker import Observation, Tracker

PAGE = "http://a.test:8001"
API = "http://b.test:8002"
OTHER = "http://c.test:8003"
CLIENT = "10.0.0.1"


def H(*pairs: tuple[str, str]) -> Headers:
    return Headers(list(pairs))


def request(method: str, url: str, *headers: tuple[str, str], t: float = 0.0,
            client: str = CLIENT) -> RequestSnapshot:
    return RequestSnapshot(method, url, Headers(list(headers)), t, client)


def response(status: int = 200, *headers: tuple[str, str], t: float = 0.0) -> ResponseSnapshot:
    return ResponseSnapshot(status, Headers(list(headers)), t)


def preflight_request(url: str, method: str, acrh: str | None = None, *, origin: str = PAGE,
                      t: float = 0.0, client: str = CLIENT, extra=()) -> RequestSnapshot:
    """A Chromium preflight as `PreflightController` builds it (services/network/cors/preflight_controller.cc)."""
    headers = [("Accept", "*/*"), ("Access-Control-Request-Method", method)]
    if acrh is not None:
        headers.append(("Access-Control-Request-Headers", acrh))
    headers += [("Origin", origin), ("Sec-Fetch-Mode", "cors"), ("User-Agent", "Chromium/156")]
    headers += list(extra)
    return RequestSnapshot("OPTIONS", url, Headers(headers), t, client)


def cors_request(method: str, url: str, *headers: tuple[str, str], origin: str = PAGE,
                 t: float = 0.0, client: str = CLIENT) -> RequestSnapshot:
    """A cross-origin fetch() to a non-trustworthy host: Origin, no Sec-Fetch-*."""
    base = [("Accept", "*/*"), ("Origin", origin), ("User-Agent", "Chromium/156")]
    return RequestSnapshot(method, url, Headers(base + list(headers)), t, client)


class Wire:
    """Feeds exchanges to one Tracker with fresh flow ids, in the order the proxy sees them end."""

    def __init__(self, tracker: Tracker | None = None) -> None:
        self.tracker = tracker or Tracker()
        self._ids = itertools.count(1)

    def observe(self, req: RequestSnapshot, resp: ResponseSnapshot | None = None, *,
                error: str | None = None, proxy_answered_error: bool = False,
                flow_id: str | None = None) -> Observation:
        fid = flow_id or f"f{next(self._ids)}"
        return self.tracker.observe(Exchange(fid, req, resp, error, proxy_answered_error))

    def preflight(self, url: str, method: str, acrh: str | None, *resp_headers: tuple[str, str],
                  status: int = 200, origin: str = PAGE, t: float = 0.0, client: str = CLIENT) -> Observation:
        return self.observe(preflight_request(url, method, acrh, origin=origin, t=t, client=client),
                            response(status, *resp_headers, t=t))

    def fetch(self, method: str, url: str, req_headers=(), resp_headers=(), *, status: int = 200,
              origin: str = PAGE, t: float = 0.0, client: str = CLIENT) -> Observation:
        return self.observe(cors_request(method, url, *req_headers, origin=origin, t=t, client=client),
                            response(status, *resp_headers, t=t))


def acao(value: str) -> tuple[str, str]:
    return ("Access-Control-Allow-Origin", value)


def acac(value: str = "true") -> tuple[str, str]:
    return ("Access-Control-Allow-Credentials", value)


def acam(value: str) -> tuple[str, str]:
    return ("Access-Control-Allow-Methods", value)


def acah(value: str) -> tuple[str, str]:
    return ("Access-Control-Allow-Headers", value)


def max_age(value: str) -> tuple[str, str]:
    return ("Access-Control-Max-Age", value)
