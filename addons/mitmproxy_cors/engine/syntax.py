"""HTTP syntax helpers with Chromium's exact leniencies (`net::HttpUtil`, `net/base/mime_util.cc`)."""

from __future__ import annotations

import ipaddress
import re

_NOT_TOKEN = frozenset('()<>@,;:\\"/[]?={}') | frozenset(chr(c) for c in range(0x21)) | frozenset(
    chr(c) for c in range(0x7F, 0x100)
)
_LWS = " \t"
_ASCII_WS = " \t\n\v\f\r"


def is_token(value: str) -> bool:
    """`net::HttpUtil::IsToken`: non-empty, only tchar bytes."""
    return bool(value) and _NOT_TOKEN.isdisjoint(value)


def split_list(value: str) -> list[str]:
    """`HttpUtil::ValuesIterator(',', ignore_empty_values=true)`: items trimmed, empty ones skipped."""
    return [item for item in (part.strip(_LWS) for part in value.split(",")) if item]


def parse_token_list(value: str | None, lower: bool) -> tuple[list[str], str | None]:
    """Parse an Access-Control-Allow-Methods/-Headers value.

    Returns (items, bad_item). `bad_item` is the first item that is not a token, which makes
    Chromium reject the whole header (`ParseAccessControlAllowList`).
    """
    if value is None:
        return [], None
    items = []
    for item in split_list(value):
        if not is_token(item):
            return [], item
        items.append(item.lower() if lower else item)
    return items, None


def mime_essence(value: str) -> str | None:
    """`net::ExtractMimeTypeFromMediaType(value, accept_comma_separated=false)`.

    Everything after the first ';' is ignored; what precedes it must be `token "/" token` with
    leading whitespace allowed before the type and trailing whitespace after the subtype.
    """
    head = value.split(";", 1)[0]
    parts = head.split("/")
    if len(parts) != 2:
        return None
    top, sub = parts[0].lstrip(_ASCII_WS), parts[1].rstrip(_ASCII_WS)
    if not is_token(top) or not is_token(sub):
        return None
    return f"{top}/{sub}"


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_SPECIAL = {"http", "https", "ws", "wss", "ftp"}
_FORBIDDEN_HOST = frozenset(" #%/:<>?@[\\]^|\t\n\r")


def is_valid_url(value: str) -> bool:
    """Approximates `GURL(value).is_valid()` for the values servers put in Access-Control-Allow-Origin.

    Chromium only uses it to tell InvalidAllowOriginValue from AllowOriginMismatch.
    """
    m = _SCHEME.match(value)
    if not m:
        return False
    scheme = value[: m.end() - 1].lower()
    if scheme not in _SPECIAL:
        return True
    rest = value[m.end():].lstrip("/\\")
    authority = re.split(r"[/\\?#]", rest, maxsplit=1)[0]
    hostport = authority.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        host, _, port = hostport.partition("]")
        port = port[1:] if port.startswith(":") else port
        try:
            ipaddress.IPv6Address(host[1:])
        except ValueError:
            return False
    else:
        host, _, port = hostport.partition(":")
        if not host or any(c in _FORBIDDEN_HOST for c in host):
            return False
        if _looks_ipv4(host):
            try:
                ipaddress.IPv4Address(host.rstrip("."))
            except ValueError:
                return False
    if port and not (len(port) <= 5 and all(c in "0123456789" for c in port) and int(port) <= 65535):
        return False
    return True


def _looks_ipv4(host: str) -> bool:
    """The URL Standard parses a host whose last label is a number as IPv4 (simplified: decimal)."""
    last = host.rstrip(".").rsplit(".", 1)[-1]
    return bool(last) and all(c in "0123456789" for c in last)
