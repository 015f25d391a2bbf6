"""The order in which Chromium lists a fetch()'s request headers to its CORS checks.

When several request headers are missing from a preflight's Access-Control-Allow-Headers, Chromium
names the *first* one in `HeaderDisallowedByPreflightResponse`.  "First" is the order of
`CorsUnsafeNotForbiddenRequestHeaderNames(request.headers)` (services/network/cors/cors_util.cc,
used by `PreflightResult::EnsureAllowedCrossOriginHeaders` in services/network/cors/preflight_result.cc):
the CORS-unsafe names in the order of the `network::ResourceRequest::headers` vector, followed, when the
safelisted values total more than 1024 bytes, by the safelisted names in that same order.  It is neither
the sorted Access-Control-Request-Headers order nor the order the page set them in.

That vector is built by Blink, and its order is the iteration order of a WTF hash table:

1. `FetchManager::Loader::PerformHTTPFetch` (third_party/blink/renderer/core/fetch/fetch_manager.cc)
   copies the request's `FetchHeaderList` into the `ResourceRequest`'s `HTTPHeaderMap` with
   `AddHttpHeaderField`.  `FetchHeaderList` (fetch_header_list.cc) is a `std::multimap` with an
   ASCII-case-insensitive comparator, so the headers are *inserted* in sorted lower-case order.  The list
   holds the page's headers plus the `Content-Type` that a body adds when the page set none
   (`text/plain;charset=UTF-8` for a string, ...).
   (XMLHttpRequest instead copies its own `HTTPHeaderMap`, filled in `setRequestHeader` order, with
   `AddHTTPHeaderFields` - core/xmlhttprequest/xml_http_request.cc.)
2. Blink then adds its own fields to the same map (core/loader/frame_fetch_context.cc):
   `AddClientHintsIfNecessary` the low-entropy User-Agent client hints `sec-ch-ua`,
   `sec-ch-ua-mobile`, `sec-ch-ua-platform` ("client hints are allowed only on secure URLs": https or
   a loopback host such as 127.0.0.1/localhost), then `PrepareRequest` `User-Agent`.  They are
   forbidden header names, so the CORS check skips them, but they occupy slots of the table.
3. `PopulateResourceRequest` (platform/loader/fetch/url_loader/request_conversion.cc) walks
   `HTTPHeaderMap` in iteration order and `SetHeader`s each field into the vector, then
   `network_utils::SetAcceptHeader` appends `Accept: */*` with `SetHeaderIfMissing` - so a default
   Accept comes *after* every header of the map, while an Accept set by the page is in the map.

`HTTPHeaderMap` (platform/network/http_header_map.h) is
`HashMap<AtomicString, AtomicString, CaseFoldingHashTraits<AtomicString>>`:

* the hash is `CaseFoldingHash` (platform/wtf/text/case_folding_hash.h): every character is passed
  through `kLatin1CaseFoldTable` and expanded to UTF-16 (`CaseFoldingHashReader<LChar>`,
  `kExpansionFactor` 2), and `StringHasher::ComputeHashAndMaskTop8Bits` (wtf/text/string_hasher.h)
  runs Chromium's rapidhash (third_party/rapidhash/rapidhash.h, default seed and secrets, with the
  reader's `ReadSmall` for a 1-character name) over those 2*n bytes and keeps the low 24 bits
  (0 becomes 0x800000);
* the table (wtf/hash_table.h, wtf/hash_traits.h) is open addressing with a power-of-two size, at least
  `kMinimumTableSize` = 8; a key starts at `hash & (size - 1)` and probes triangularly
  (`i = (i + ++probe_count) & mask`); after an insertion that makes `key_count * kMaxLoad(2) >= size`
  the table doubles and the old slots are re-inserted in slot order; iteration walks the slots from 0.

Verified against Debian's Chromium 156.0.8078.108 with 1,610 random header sets (1,422 fetch(), 188
XMLHttpRequest; 2-9 custom names in random case, JSON/text/form bodies, page-set Accept,
Accept-Language and Content-Language, more than 1024 bytes of safelisted values; loopback, plain-http
and https targets): the header Chromium named in `HeaderDisallowedByPreflightResponse` (1,602 failures,
8 requests without a preflight) and the wire order of the same request when allowed agreed with this
model every time.  tests/unit/test_blink_header_order.py holds the observed cases.  Pure Python, no I/O.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["chromium_header_order"]

_M64 = (1 << 64) - 1
# third_party/rapidhash/rapidhash.h
_RAPID_SEED = 0xBDD89AA982704029
_RAPID_SECRET = (0x2D358DCCAA6C78A5, 0x8BB84B93962EACC9, 0x4B33A62ED433D4A3)

# wtf/hash_traits.h, wtf/hash_table.h
_MINIMUM_TABLE_SIZE = 8
_MAX_LOAD = 2

# FrameFetchContext adds these (in this order) after the page's headers when the request URL is
# potentially trustworthy; User-Agent is always set.
_UA_CLIENT_HINTS = ("sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform")
_USER_AGENT = "user-agent"


def _mul128(a: int, b: int) -> tuple[int, int]:
    r = a * b
    return r & _M64, r >> 64


def _mix(a: int, b: int) -> int:
    lo, hi = _mul128(a, b)
    return lo ^ hi


def _r32(p: bytes, i: int) -> int:
    return int.from_bytes(p[i:i + 4], "little")


def _r64(p: bytes, i: int) -> int:
    return int.from_bytes(p[i:i + 8], "little")


def _rapidhash(p: bytes, small: int | None = None) -> int:
    """`rapidhash_internal` over ``p``; ``small`` replaces `Reader::ReadSmall` for 1-3 byte inputs."""
    s0, s1, s2 = _RAPID_SECRET
    n = len(p)
    seed = _RAPID_SEED ^ _mix(_RAPID_SEED ^ s0, s1) ^ n
    if n <= 16:
        if n >= 4:
            last = n - 4
            a = (_r32(p, 0) << 32) | _r32(p, last)
            delta = (n & 24) >> (n >> 3)
            b = (_r32(p, delta) << 32) | _r32(p, last - delta)
        elif n > 0:
            a = small if small is not None else (p[0] << 56) | (p[n >> 1] << 32) | p[n - 1]
            b = 0
        else:
            a = b = 0
    else:
        i, pos = n, 0
        if i > 48:
            see1 = see2 = seed
            while True:
                seed = _mix(_r64(p, pos) ^ s0, _r64(p, pos + 8) ^ seed)
                see1 = _mix(_r64(p, pos + 16) ^ s1, _r64(p, pos + 24) ^ see1)
                see2 = _mix(_r64(p, pos + 32) ^ s2, _r64(p, pos + 40) ^ see2)
                pos += 48
                i -= 48
                if i < 48:
                    break
            seed ^= see1 ^ see2
        if i > 16:
            seed = _mix(_r64(p, pos) ^ s2, _r64(p, pos + 8) ^ seed ^ s1)
            if i > 32:
                seed = _mix(_r64(p, pos + 16) ^ s2, _r64(p, pos + 24) ^ seed)
        a = _r64(p, pos + i - 16)
        b = _r64(p, pos + i - 8)
    a ^= s1
    b ^= seed
    a, b = _mul128(a, b)
    return _mix(a ^ s0 ^ n, b ^ s1)


def _fold(ch: str) -> int:
    """`StringImpl::kLatin1CaseFoldTable` (ASCII and Latin-1); beyond Latin-1 an approximation of
    `WTF::unicode::FoldCase` clamped to 16 bits (header names are ASCII tokens anyway)."""
    c = ord(ch)
    if 0x41 <= c <= 0x5A or (0xC0 <= c <= 0xDE and c != 0xD7):
        return c + 0x20
    if c == 0xB5:
        return 0x3BC
    if c < 0x100:
        return c
    folded = ch.casefold()
    return ord(folded[0]) & 0xFFFF if len(folded) == 1 else c & 0xFFFF


def _folded_key(name: str) -> tuple[int, ...]:
    return tuple(_fold(ch) for ch in name)


def _case_folding_hash(units: tuple[int, ...]) -> int:
    """`CaseFoldingHash::GetHash` of a name given as folded UTF-16 code units."""
    data = b"".join(u.to_bytes(2, "little") for u in units)
    # CaseFoldingHashReader::ReadSmall is only reached with one character (2 output bytes).
    h = _rapidhash(data, small=units[0] if len(units) == 1 else None)
    h &= (1 << 24) - 1  # StringHasher::MaskTop8Bits
    return h or 0x800000


def _insert(table: list, key: tuple[int, ...]) -> None:
    mask = len(table) - 1
    i = _case_folding_hash(key) & mask
    probe = 0
    while table[i] is not None:
        probe += 1
        i = (i + probe) & mask
    table[i] = key


def _iteration_order(keys: Iterable[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Insert ``keys`` one by one into an empty WTF HashTable; return its iteration order."""
    table: list = []
    present: set[tuple[int, ...]] = set()
    for key in keys:
        if key in present:  # HashMap::Set / Add of an existing key keeps its slot
            continue
        if not table:
            table = [None] * _MINIMUM_TABLE_SIZE
        _insert(table, key)
        present.add(key)
        if len(present) * _MAX_LOAD >= len(table):  # ShouldExpand -> Expand -> Rehash
            old, table = table, [None] * (len(table) * 2)
            for slot in old:
                if slot is not None:
                    _insert(table, slot)
    return [slot for slot in table if slot is not None]


def chromium_header_order(
    names: Iterable[str],
    *,
    ua_client_hints: bool = True,
    default_accept: bool | None = None,
    xhr: bool = False,
) -> list[str]:
    """Return ``names`` (lower-cased, duplicates dropped) in the order of the `network::ResourceRequest`
    header vector that Chromium builds for a ``fetch()`` - the order in which its CORS checks meet them.

    ``names``: the request headers in the fetch's header list: every header the page set (any case;
    compared ASCII-case-insensitively) plus the ``content-type`` a body brings when the page set none.
    Safelisted ones count too (they are in Blink's map and move the others), as does ``accept`` - but
    only if the *page* set Accept: the default ``Accept: */*`` is not in Blink's map; Chromium appends
    it after every other header.  Headers that the browser or network stack adds (Origin, Referer,
    Sec-Fetch-*, Accept-Encoding, ...) must not be passed; ``user-agent`` and ``sec-ch-ua*`` are
    ignored if passed (Blink adds them itself, see ``ua_client_hints``).

    ``ua_client_hints``: whether Blink added ``sec-ch-ua``, ``sec-ch-ua-mobile`` and
    ``sec-ch-ua-platform`` to the map: it does when the request URL is potentially trustworthy (https,
    or a loopback host); pass False for a plain-http request to any other host.  (User-Agent is always
    in the map.)  Neither these nor User-Agent are returned.

    ``default_accept``: if ``accept`` is among ``names``, True says it is Chromium's default (returned
    last), False that the page set it (placed by the hash table); None (default) means the latter.  If
    ``accept`` is not among ``names`` it is not returned; the default Accept would come after all of
    them.

    ``xhr``: the request comes from XMLHttpRequest, not fetch().  XHR keeps its own `HTTPHeaderMap`
    (xml_http_request.cc), filled in ``setRequestHeader`` call order with the body's Content-Type added
    by ``send()`` last, and that map's iteration order is the insertion order into the request's map.
    Pass ``names`` in that call order then; for fetch() their order does not matter.

    The first name of the result that is CORS-unsafe and not allowed by the preflight is the one
    Chromium reports; when the safelisted values total more than 1024 bytes, the safelisted names
    follow all the unsafe ones, in this same order.
    """
    browser_keys = [_folded_key(b) for b in (*_UA_CLIENT_HINTS, _USER_AGENT)]
    page: dict[tuple[int, ...], str] = {}  # folded name -> lower-cased name, first occurrence wins
    for name in names:
        key = _folded_key(name)
        if key and key not in page and key not in browser_keys:
            page[key] = name.lower()
    accept_key = _folded_key("accept")
    accept_last = default_accept is True and accept_key in page
    map_keys = [k for k in page if not (accept_last and k == accept_key)]
    if xhr:
        insertion = _iteration_order(map_keys)  # the XHR's own map, copied by AddHTTPHeaderFields
    else:
        insertion = sorted(map_keys)  # FetchHeaderList order (CodeUnitCompareIgnoringASCIICase)
    insertion += browser_keys if ua_client_hints else browser_keys[-1:]
    order = [page[k] for k in _iteration_order(insertion) if k in page]
    if accept_last:
        order.append(page[accept_key])
    return order
