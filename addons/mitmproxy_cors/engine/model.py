"""Plain snapshots of what crossed the wire: the engine's only input.

Header values are kept as latin-1 strings so that one character is one byte, which is how
Chromium measures the 128- and 1024-byte safelist limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

_LWS = " \t"
# The names the engine asks for, lowercased once: `get` runs about a dozen times per exchange.
_LOWER = {name: name.lower() for name in (
    "Origin", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-Site", "Upgrade", "Accept",
    "Upgrade-Insecure-Requests", "Access-Control-Request-Method", "Access-Control-Request-Headers",
    "Access-Control-Request-Private-Network", "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
    "Access-Control-Max-Age", "Access-Control-Expose-Headers", "Access-Control-Allow-Private-Network",
    "Vary", "Location", "Content-Type", "Cookie", "Authorization", "ETag", "Last-Modified",
)}


# Raw header name -> (decoded, lowercased), bounded below. A plain table read inline rather than a
# memo.memoized function: it is consulted for every header field of every flow, and a call per field
# would cost more than the decoding it saves (Headers.from_bytes takes 40% longer).
_NAMES: dict[bytes, tuple[str, str]] = {}


def _name(raw: bytes) -> tuple[str, str]:
    name = raw.decode("latin-1")
    n = (name, name.lower())
    if len(_NAMES) < 4096 and len(raw) <= 128:  # real traffic has a few hundred short names
        _NAMES[raw] = n
    return n


class Headers:
    """An ordered, repeated-name-preserving header list with case-insensitive lookup."""

    # `by_name`: lowercased name -> its value (a str) or, for a name sent on several lines, its values
    # in order (a list); raw, not trimmed. The engine reads it directly on its hot path, with
    # `normalized()`, instead of calling `get` a dozen times per flow. One str per name keeps the
    # index free of containers: the garbage collector neither tracks nor visits it (a list per name
    # was half of what the proxy allocated per flow). `fields` is decoded when first read (the engine
    # reads the index; only rare paths read the fields).
    __slots__ = ("_fields", "_raw", "by_name")

    def __init__(self, fields: tuple[tuple[str, str], ...] | list[tuple[str, str]] = ()) -> None:
        self._fields: tuple[tuple[str, str], ...] | None = tuple(fields)
        self._raw = None
        index: dict[str, str | list[str]] = {}
        for name, value in self._fields:
            _index_add(index, name.lower(), value)
        self.by_name = index

    @classmethod
    def from_bytes(cls, fields) -> Headers:
        """From raw (name, value) byte pairs, decoded as latin-1 (one character per byte). `fields`
        must not change afterwards (mitmproxy's header fields are a tuple of bytes)."""
        # The hot path of every exchange: names repeat from flow to flow, so each raw name is decoded
        # and lowercased once (_NAMES), and the index is built in the same pass.
        self = cls.__new__(cls)
        index: dict[str, str | list[str]] = {}
        names = _NAMES
        for k, v in fields:
            n = names.get(k)
            if n is None:
                n = _name(k)
            value = v.decode("latin-1")
            old = index.get(n[1])
            if old is None:
                index[n[1]] = value
            else:
                _index_add(index, n[1], value)
        self._fields = None
        self._raw = fields
        self.by_name = index
        return self

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        f = self._fields
        if f is None:
            names = _NAMES
            f = self._fields = tuple(((names.get(k) or _name(k))[0], v.decode("latin-1")) for k, v in self._raw)
            self._raw = None
        return f

    @classmethod
    def of(cls, *pairs: tuple[str, str], **kw: str) -> Headers:
        """Test/REPL helper: Headers.of(("Origin", "http://a")) or Headers.of(origin="http://a")."""
        return cls(list(pairs) + [(k.replace("_", "-"), v) for k, v in kw.items()])

    def get_all(self, name: str) -> list[str]:
        values = self.by_name.get(_LOWER.get(name) or name.lower())
        if values is None:
            return []
        return [values] if type(values) is str else list(values)

    def __contains__(self, name: str) -> bool:
        return (_LOWER.get(name) or name.lower()) in self.by_name

    def names(self) -> list[str]:
        """Lowercased names in first-seen order."""
        return list(self.by_name)

    def get(self, name: str) -> str | None:
        """The value as Chromium's `HttpResponseHeaders::GetNormalizedHeader` gives it.

        Each line's value is trimmed of spaces and tabs, and repeated lines are joined with ", "
        (so two identical Access-Control-Allow-Origin lines read as "a, a").
        """
        return normalized(self.by_name.get(_LOWER.get(name) or name.lower()))

    def __len__(self) -> int:
        return len(self.fields)

    def __repr__(self) -> str:
        return f"Headers({list(self.fields)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self.fields == other.fields

    def __hash__(self) -> int:
        return hash(self.fields)


def _index_add(index: dict[str, str | list[str]], lower: str, value: str) -> None:
    old = index.get(lower)
    if old is None:
        index[lower] = value
    elif type(old) is str:
        index[lower] = [old, value]
    else:
        old.append(value)


def normalized(values: str | list[str] | None) -> str | None:
    """`Headers.get` for an index entry (`Headers.by_name[name]`): each line's value trimmed, repeated
    lines joined with ", "."""
    if values is None:
        return None
    if type(values) is str:
        return values.strip(_LWS)
    return ", ".join(v.strip(_LWS) for v in values)


@dataclass(frozen=True, slots=True)
class RequestSnapshot:
    method: str
    url: str
    headers: Headers
    timestamp: float = 0.0
    # Who sent it (client IP): stands in for Chromium's network partition in cache keys.
    client: str = ""

    @property
    def split_url(self):
        return urlsplit(self.url)


@dataclass(frozen=True, slots=True)
class ResponseSnapshot:
    status: int
    headers: Headers
    timestamp: float = 0.0
    # The body's first bytes (decoded), for Opaque Response Blocking's sniffing; kept for no-cors
    # requests only, None when not kept (engine/opaque_response_blocking.py).
    body_head: bytes | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came back: a response, or an error (then `response` is None).

    `proxy_answered_error` says the proxy sent the browser its own error page (mitmproxy answers
    a failed upstream connection with a 502 that carries no CORS headers).

    `not_in_capture` says the exchange comes from a capture that recorded the request but no
    response: a browser's HAR stores a request the browser blocked or that failed (status 0 or -1, no
    headers), and leaves its preflight out. What the browser judged is not in the file.
    """

    id: str
    request: RequestSnapshot
    response: ResponseSnapshot | None = None
    error: str | None = None
    proxy_answered_error: bool = False
    extra: dict = field(default_factory=dict)
    not_in_capture: bool = False
