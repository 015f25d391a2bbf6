"""Which requests need a CORS preflight, as Chromium decides it.

Follows Chromium's services/network/public/cpp/cors/cors.cc (`IsCorsSafelistedHeader`,
`CorsUnsafeRequestHeaderNames`, `IsCorsSafelistedMethod`) and services/network/cors/cors_util.cc
(`CorsUnsafeNotForbiddenRequestHeaderNames`); the Fetch Standard's rules are
https://fetch.spec.whatwg.org/#cors-safelisted-request-header and
https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names. Data is in tables; the rules are
functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .memo import memoized
from .model import Headers
from .syntax import mime_essence

SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})

# Fetch's CORS-safelisted request-header names plus Chromium's additions (Intervention, the legacy
# client hints and `sec-ch-*` hints; the latter are forbidden for script anyway).
SAFELISTED_HEADER_NAMES = frozenset({
    "accept", "accept-language", "content-language", "content-type", "range",
    "intervention", "device-memory", "dpr", "width", "viewport-width", "rtt", "downlink", "ect",
    "save-data",
})
# Chromium-only safelisted names: Firefox and the spec would preflight them.
CHROMIUM_ONLY_SAFELISTED = frozenset({
    "intervention", "device-memory", "dpr", "width", "viewport-width", "rtt", "downlink", "ect",
    "save-data",
})

SAFELISTED_CONTENT_TYPES = frozenset({
    "application/x-www-form-urlencoded", "multipart/form-data", "text/plain",
    # Chromium: while ProtectedAudienceCorsSafelistKVv2Signals is on (default).
    "message/ad-auction-trusted-signals-request",
})

# Forbidden request-header names (Fetch) plus Chromium's `User-Agent`: script cannot set them, so
# they never make a request need a preflight. `proxy-*` and `sec-*` are forbidden by prefix.
FORBIDDEN_HEADER_NAMES = frozenset({
    "accept-charset", "accept-encoding", "access-control-request-headers",
    "access-control-request-method", "connection", "content-length", "cookie", "cookie2", "date",
    "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te", "trailer",
    "transfer-encoding", "upgrade", "via", "user-agent",
})
# Headers the browser's network stack adds below the CORS layer (HTTP cache revalidation,
# priority hints, navigations). Seen on the wire, they say nothing about what the page set.
UA_ADDED_HEADER_NAMES = frozenset({
    "if-modified-since", "if-none-match", "if-range", "cache-control", "pragma", "priority",
    "upgrade-insecure-requests", "purpose", "x-client-data",
})
# Firefox lets script set User-Agent, so there it triggers a preflight.
FIREFOX_NOT_FORBIDDEN = frozenset({"user-agent"})

_UNSAFE_BYTES = frozenset('"():<>?@[\\]{}\x7f') | frozenset(chr(c) for c in range(0x20) if c != 0x09)
_LANGUAGE_BYTES = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;=")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
_DOUBLE = re.compile(r"\d+(\.\d+)?")
_ECT_VALUES = frozenset({"slow-2g", "2g", "3g", "4g"})
_INT64_MAX = 2**63 - 1
SAFELIST_VALUE_LIMIT = 128
SAFELIST_TOTAL_LIMIT = 1024


def is_cors_safelisted_method(method: str) -> bool:
    """`IsCorsSafelistedMethod`: upper-cases first, so `get` counts too."""
    return method.upper() in SAFELISTED_METHODS


def is_forbidden_request_header(name: str) -> bool:
    lower = name.lower()
    return lower in FORBIDDEN_HEADER_NAMES or lower.startswith(("proxy-", "sec-"))


def has_cors_unsafe_request_header_byte(value: str) -> bool:
    return not _UNSAFE_BYTES.isdisjoint(value)


def is_simple_range(value: str) -> bool:
    """A single `bytes=N-` or `bytes=N-M` range, no whitespace or commas, no suffix range."""
    lower = value.lower()
    if any(c in " \t," for c in lower):
        return False
    m = _RANGE.fullmatch(lower)
    if not m:
        return False
    first = int(m.group(1))
    if first > _INT64_MAX:
        return False
    if m.group(2):
        last = int(m.group(2))
        return last <= _INT64_MAX and first <= last
    return True


def is_cors_safelisted_header(name: str, value: str) -> bool:
    """`IsCorsSafelistedHeader(name, value)` with Chromium's value rules."""
    if len(value) > SAFELIST_VALUE_LIMIT:
        return False
    lower = name.lower()
    if lower not in SAFELISTED_HEADER_NAMES:
        return False
    if lower == "accept":
        return not has_cors_unsafe_request_header_byte(value)
    if lower in ("accept-language", "content-language"):
        return _LANGUAGE_BYTES.issuperset(value)
    if lower == "content-type":
        v = value.lower()
        if has_cors_unsafe_request_header_byte(v):
            return False
        return mime_essence(v) in SAFELISTED_CONTENT_TYPES
    if lower == "range":
        return is_simple_range(value)
    if lower in ("device-memory", "dpr", "downlink"):
        return bool(_DOUBLE.fullmatch(value)) and value.isascii()
    if lower in ("width", "viewport-width", "rtt"):
        return value.isascii() and value.isdigit()
    if lower == "ect":
        return value in _ECT_VALUES
    if lower == "save-data":
        return value.lower() == "on"
    return True  # intervention: any value


_SKIPPED_NAMES = UA_ADDED_HEADER_NAMES | FORBIDDEN_HEADER_NAMES
_FORBIDDEN_PREFIXES = ("proxy-", "sec-")
_SKIPPED, _UNSAFE, _BY_VALUE = 0, 1, 2


def _name_kind(lower: str) -> int:
    if lower in _SKIPPED_NAMES or lower.startswith(_FORBIDDEN_PREFIXES):
        return _SKIPPED  # browser-added or forbidden (is_forbidden_request_header)
    if lower in SAFELISTED_HEADER_NAMES:
        return _BY_VALUE
    return _UNSAFE  # is_cors_safelisted_header() is False whatever the value


@memoized()  # a browser sends the same set of header names on every request of a page
def _counted_names(names: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """The lowercased names that count (neither forbidden nor browser-added), with how they count:
    most of a request (User-Agent, Sec-*, Cookie, Referer) is sorted out once per set of names."""
    return tuple((n, kind) for n in names if (kind := _name_kind(n)) != _SKIPPED)


# A page sends the same Accept, Accept-Language and Content-Type on every request.
_safelisted_value = memoized()(is_cors_safelisted_header)


def cors_unsafe_request_header_names(headers: Headers) -> list[str]:
    """`CorsUnsafeNotForbiddenRequestHeaderNames`: the names a preflight would list.

    Forbidden and browser-added headers are left out; if the safelisted values add up to more than
    1024 bytes, every safelisted header becomes unsafe too. Lowercased, sorted, de-duplicated, as
    Access-Control-Request-Headers carries them.
    """
    unsafe: list[str] = []
    safe: list[str] = []
    total = 0
    idx = headers.by_name
    # Grouped by lowercased name (the header index, so each name once): the lists and the total come
    # out the same as walking the fields one by one.
    for lower, kind in _counted_names(tuple(idx)):
        if kind == _UNSAFE:
            unsafe.append(lower)
            continue
        values = idx[lower]
        ok = True
        for value in ((values,) if type(values) is str else values):
            value = value.strip(" \t")
            if len(value) <= SAFELIST_VALUE_LIMIT and _safelisted_value(lower, value):
                total += len(value)
            else:
                ok = False
        (safe if ok else unsafe).append(lower)
    if total > SAFELIST_TOTAL_LIMIT:
        unsafe += safe
    return sorted(unsafe) if unsafe else []


@memoized()  # a page asks about the same few headers again and again
def parse_request_headers_list(value: str | None) -> tuple[str, ...]:
    """Access-Control-Request-Headers as sent: comma-separated, lowercased, sorted, de-duplicated."""
    if not value:
        return ()
    return tuple(sorted({n.strip(" \t").lower() for n in value.split(",") if n.strip(" \t")}))


def needs_preflight(method: str, unsafe_header_names: Sequence[str]) -> bool:
    """Main fetch (https://fetch.spec.whatwg.org/#main-fetch): a CORS request is preflighted when its
    method or a header is unsafe."""
    return not is_cors_safelisted_method(method) or bool(unsafe_header_names)


def preflight_reasons(method: str, unsafe_header_names: Sequence[str]) -> tuple[str, ...]:
    """Why a CORS request needs a preflight, in words: its unsafe method and headers (empty: none)."""
    why = []
    if not is_cors_safelisted_method(method):
        why.append(f"method {method}")
    if unsafe_header_names:
        why.append("headers " + ", ".join(unsafe_header_names))
    return tuple(why)
