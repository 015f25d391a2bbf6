"""Origins as HTML defines them (https://html.spec.whatwg.org/multipage/browsers.html#origin): tuple
origins and the opaque origin (`null`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .memo import memoized

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# Schemes for which CORS is defined; anything else is CorsDisabledScheme.
CORS_ENABLED_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str = ""
    host: str = ""
    port: int | None = None
    opaque: bool = False
    # Origins come from bounded caches and are judged against on every flow: serialize once.
    _serialized: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        if self.opaque:
            text = "null"
        elif self.port is None or DEFAULT_PORTS.get(self.scheme) == self.port:
            text = f"{self.scheme}://{self.host}"
        else:
            text = f"{self.scheme}://{self.host}:{self.port}"
        object.__setattr__(self, "_serialized", text)

    def serialize(self) -> str:
        """https://html.spec.whatwg.org/#ascii-serialisation-of-an-origin"""
        return self._serialized

    def __str__(self) -> str:
        return self.serialize()

    def same_origin(self, other: Origin) -> bool:
        if self.opaque or other.opaque:
            return False  # an opaque origin is only same-origin with itself, never on the wire
        return (self.scheme, self.host, self._port()) == (other.scheme, other.host, other._port())

    def _port(self) -> int | None:
        return self.port if self.port is not None else DEFAULT_PORTS.get(self.scheme)

    def potentially_trustworthy(self) -> bool:
        """https/wss, or a loopback host: "potentially trustworthy" as Chromium applies it
        (`network::IsOriginPotentiallyTrustworthy`, services/network/public/cpp/is_potentially_trustworthy.cc;
        https://w3c.github.io/webappsec-secure-contexts/#is-origin-trustworthy)."""
        if self.opaque:
            return False
        if self.scheme in ("https", "wss"):
            return True
        host = self.host
        return (host == "localhost" or host.endswith(".localhost") or host == "[::1]"
                or (host.startswith("127.") and host.replace(".", "").isdigit()))

    def site(self) -> tuple[str, str] | None:
        """Schemeful site, approximated without the Public Suffix List: the last two labels."""
        if self.opaque:
            return None
        host = self.host
        if host.startswith("[") or host.replace(".", "").isdigit() or "." not in host:
            return (self.scheme, host)
        labels = host.split(".")
        return (self.scheme, ".".join(labels[-2:]))

    def same_site(self, other: Origin) -> bool:
        mine, theirs = self.site(), other.site()
        return mine is not None and mine == theirs


OPAQUE = Origin(opaque=True)


# "scheme://authority" in printable ASCII, ending where the path, query or fragment starts. For such
# a prefix urlsplit() finds the same scheme and netloc in the prefix as in the whole URL.
_ORIGIN_PREFIX = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*://[!"$-.0->@-~]*(?=[/?#]|\Z)')


def origin_of_url(url: str) -> Origin | None:
    """The origin of an absolute URL, or None if it has none we can compare."""
    # Only the scheme and authority matter: remember the origin of those, since URLs differ in path
    # and query.
    m = _ORIGIN_PREFIX.match(url)
    return _origin_of(m.group() if m else url)


@memoized(maxsize=4096)  # one per host the proxy sees
def _origin_of(url: str) -> Origin | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if not scheme or not host:
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return Origin(scheme, host, port if port != DEFAULT_PORTS.get(scheme) else None)


@memoized()
def parse_origin_header(value: str | None) -> Origin | None:
    """The `Origin` request header: a serialized origin or `null`. None when absent or garbled."""
    if value is None:
        return None
    value = value.strip(" \t")
    if value == "null":
        return OPAQUE
    origin = origin_of_url(value)
    if origin is None or origin.serialize() != value.lower().rstrip("/"):
        return None
    return origin
