"""Which response headers page JavaScript can read (Access-Control-Expose-Headers).

Follows Blink's `ExtractCorsExposedHeaderNamesList`
(third_party/blink/renderer/platform/loader/cors/cors.cc; the Fetch Standard's rule is
https://fetch.spec.whatwg.org/#http-access-control-expose-headers): the list is parsed leniently
(empty items skipped), any item that is not a token exposes nothing, and `*` exposes everything only
for requests without credentials. Set-Cookie is never exposed.
"""

from __future__ import annotations

from .memo import memoized
from .model import Headers, normalized
from .syntax import is_token, split_list

SAFELISTED_RESPONSE_HEADERS = frozenset({
    "cache-control", "content-language", "content-length", "content-type", "expires",
    "last-modified", "pragma",
})
NEVER_EXPOSED = frozenset({"set-cookie", "set-cookie2"})
# Headers too generic to mention as "hidden from the page".
_UNINTERESTING = frozenset({
    "date", "server", "connection", "keep-alive", "transfer-encoding", "vary", "content-encoding",
    "access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers",
    "access-control-allow-methods", "access-control-allow-headers", "access-control-max-age",
})


def exposed_header_names(headers: Headers, include: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(readable, unreadable) response header names, lowercased, for a CORS response."""
    index = headers.by_name
    return _split_names(tuple(index), normalized(index.get("access-control-expose-headers")), include)


# A server sends the same header names, in the same order, on every response of a route.
@memoized()
def _split_names(names: tuple[str, ...], raw: str | None, include: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    listed = frozenset() if raw is None else _listed_names(raw)
    wildcard = "*" in listed and not include
    readable, hidden = [], []
    for name in names:
        if name in NEVER_EXPOSED:
            hidden.append(name)
        elif name in SAFELISTED_RESPONSE_HEADERS or wildcard or name in listed:
            readable.append(name)
        elif name not in _UNINTERESTING:
            hidden.append(name)
    return tuple(readable), tuple(hidden)


def _listed_names(raw: str) -> frozenset[str]:
    """The lowercased names an Access-Control-Expose-Headers value lists (none if one is no token)."""
    items = split_list(raw)
    if all(is_token(i) for i in items):
        return frozenset(i.lower() for i in items)
    return frozenset()


