"""Redirects of CORS requests: the Fetch Standard's HTTP-redirect fetch
(https://fetch.spec.whatwg.org/#http-redirect-fetch) as Chromium's `CorsURLLoader::OnReceiveRedirect`
does it (services/network/cors/cors_url_loader.cc).

For a CORS-flagged request each redirect response must itself pass the CORS check; then a
Location with userinfo is refused (RedirectContainsCredentials); then the request origin becomes
opaque (`Origin: null`) when the hop crosses origins away from a URL that was already cross-origin.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from .model import Headers
from .origin import Origin, origin_of_url
from .verdict import Failure, FixStep

# `net::HttpResponseHeaders::IsRedirectResponseCode` (with a Location header).
REDIRECT_STATUSES = frozenset({300, 301, 302, 303, 307, 308})


def redirect_location(url: str, status: int, headers: Headers) -> str | None:
    """The absolute URL a redirect response points to, or None if it is not a redirect."""
    if status not in REDIRECT_STATUSES:
        return None
    location = headers.get("Location")
    if location is None:
        return None
    if _PLAIN_ABSOLUTE.match(location):
        return location  # what urljoin would return, without its cost
    try:
        return urljoin(url, location)
    except ValueError:
        return None


# An absolute http(s) URL in printable ASCII with a host and no query, fragment, parameters or
# backslash: urljoin returns it unchanged (it neither resolves dot segments nor lowercases here).
_PLAIN_ABSOLUTE = re.compile(r'https?://[!"$-.0-:<->@-Z^-~]+(?:/[!"$-:<->@-\[\]-~]*)?\Z')


def has_userinfo(url: str) -> bool:
    if "@" not in url:
        return False  # no user:password@ without an "@"; spares a urlsplit per redirect
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None


def userinfo_failure(location: str) -> Failure | None:
    """RedirectContainsCredentials: the CORS flag is set and Location has user:password@."""
    if not has_userinfo(location):
        return None
    return Failure("RedirectContainsCredentials", "", (
        FixStep("redirect", "set", "Location", _strip_userinfo(location),
                "a CORS request may not follow a redirect to a URL with credentials"),))


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=netloc).geturl()


def taints_origin(request_origin: Origin, current_url: str, location: str) -> bool:
    """HTTP-redirect fetch, the step that sets the request's tainted origin flag
    (https://fetch.spec.whatwg.org/#http-redirect-fetch): the hop from `current_url` to `location`
    makes the origin `null` when both URLs differ in origin and the request origin differs from
    `current_url`'s origin."""
    here, there = origin_of_url(current_url), origin_of_url(location)
    if here is None or there is None:
        return False
    return not here.same_origin(there) and not request_origin.same_origin(here)


def method_after_redirect(method: str, status: int) -> str:
    """301/302 turn POST into GET; 303 turns everything but GET/HEAD into GET."""
    if (status in (301, 302) and method == "POST") or (status == 303 and method not in ("GET", "HEAD")):
        return "GET"
    return method
