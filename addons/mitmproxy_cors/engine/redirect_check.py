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

# `net::HttpResponseHeaders::IsRedirectResponseCode`: not 300 ("users probably want to see 300 (multiple
# choice) pages"), which Chromium hands the page as a response (a preflight's 300 is
# PreflightInvalidStatus, not PreflightDisallowedRedirect; measured in Chromium 156).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def redirect_location(url: str, status: int, headers: Headers) -> str | None:
    """The absolute URL a redirect response points to, or None if it is not a redirect: Chromium
    follows only a non-empty Location (`HttpResponseHeaders::IsRedirect`). An empty userinfo
    (`http://@host/`, `http://:@host/`) is dropped, as GURL does: the browser requests the URL without it."""
    if status not in REDIRECT_STATUSES:
        return None
    location = headers.get("Location")
    if not location:
        return None
    if _PLAIN_ABSOLUTE.match(location):
        return _without_empty_userinfo(location) if "@" in location else location  # urljoin's result, cheaper
    try:
        return _without_empty_userinfo(urljoin(url, location))
    except ValueError:
        return None


def _without_empty_userinfo(url: str) -> str:
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    userinfo, at, _ = parts.netloc.rpartition("@")
    if not at or userinfo.replace(":", ""):
        return url
    return parts._replace(netloc=parts.netloc[len(userinfo) + 1:]).geturl()


# An absolute http(s) URL in printable ASCII with a host and no query, fragment, parameters or
# backslash: urljoin returns it unchanged (it neither resolves dot segments nor lowercases here).
_PLAIN_ABSOLUTE = re.compile(r'https?://[!"$-.0-:<->@-Z^-~]+(?:/[!"$-:<->@-\[\]-~]*)?\Z')


def has_userinfo(url: str) -> bool:
    """The URL "includes credentials" (https://url.spec.whatwg.org/#include-credentials): a non-empty
    username or password, as GURL's has_username()/has_password(); `http://@host/` has none."""
    if "@" not in url:
        return False  # no user:password@ without an "@"; spares a urlsplit per redirect
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.username) or bool(parts.password)


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


_SUBFRAMES = frozenset({"iframe", "frame", "embed", "object", "fencedframe"})  # Sec-Fetch-Dest of nested navigations
# Schemes net refuses to redirect to (URLRequestJobFactory::IsSafeRedirectTarget): net::ERR_UNSAFE_REDIRECT in
# every mode, after the redirect response's CORS check. Measured in Chromium 156 (data:, about:, file:).
UNSAFE_REDIRECT_SCHEMES = frozenset({"data", "about", "file"})
UNSAFE_REDIRECT = "net::ERR_UNSAFE_REDIRECT"
UNKNOWN_SCHEME = "net::ERR_UNKNOWN_URL_SCHEME"
ABORTED = "net::ERR_ABORTED"


def location_scheme(location: str) -> str:
    scheme, colon, _ = location.partition(":")
    return scheme.lower() if colon else ""


def unsafe_redirect(location: str) -> bool:
    """net refuses to follow a redirect to this URL (net::ERR_UNSAFE_REDIRECT), whatever the request mode."""
    return location_scheme(location) in UNSAFE_REDIRECT_SCHEMES


def scheme_failure(location: str) -> Failure | None:
    """CorsDisabledScheme: a CORS-flagged request redirected to a scheme that is neither http(s) nor
    refused by net (ftp:, ws:, javascript:, mailto:, ... measured in Chromium 156): the next hop starts as
    a CORS request, which `CorsURLLoader::StartRequest` refuses for a scheme without CORS."""
    scheme = location_scheme(location)
    if scheme in ("http", "https", "") or scheme in UNSAFE_REDIRECT_SCHEMES:
        return None
    return Failure("CorsDisabledScheme", "", (
        FixStep("redirect", "set", "Location", "an http(s) URL",
                f"a CORS request follows a redirect only to http(s), not to {scheme}:"),))


def uncovered_redirect_outcome(mode: str, page: Origin | None, target: Origin | None, location: str,
                               accept: str, destination: str = "") -> tuple[str, str] | None:
    """A request the CORS check does not cover on the wire (same-origin, no-cors, or no Sec-Fetch-Mode
    on a plain-http host), from `page` to `target`, redirected to `location`: how Chromium fails it, as
    ("cors", its CorsError) or ("net", the net error, no CORS error), or None when it follows it.

    * A `location` that includes credentials: RedirectContainsCredentials for a cors-mode request whose
      origin is not `location`'s (`CheckRedirectLocation` in services/network/cors/cors_url_loader.cc;
      HTTP-redirect fetch: "request's mode is cors, locationURL includes credentials, and request's
      origin is not same origin with locationURL's origin"). Any other subresource load is aborted
      (net::ERR_ABORTED): Blink blocks every subresource request whose URL includes credentials
      (BlockCredentialedSubresources), a redirect's next hop too, and an iframe's navigation
      (`NavigationRequest::CheckCredentialedSubresource`); measured in Chromium 156 for a same-origin
      fetch redirected within its origin, a no-cors fetch, an image and an iframe.
    * A scheme net refuses (data:, about:, file:): net::ERR_UNSAFE_REDIRECT. Another scheme that is not
      http(s): CorsDisabledScheme for a cors-mode request (its next hop is cross-origin, so CORS-flagged),
      net::ERR_UNKNOWN_URL_SCHEME for a no-cors load. Measured in Chromium 156 for seven schemes.

    `mode` "unknown" (no Sec-Fetch-Mode: a plain-http host that is not potentially trustworthy; `page`
    then comes from the Referer): judged as fetch()/XHR in cors mode, as request_mode.py judges such
    requests, unless Accept shows a navigation, an image or a stylesheet, or the request went to another
    origin without Origin (only no-cors sends that). A top-level navigation is left alone."""
    credentials = has_userinfo(location)
    unsafe = unsafe_redirect(location)
    other_scheme = scheme_failure(location) is not None
    if not (credentials or unsafe or other_scheme) or mode == "websocket":
        return None
    if mode in ("navigate", "nested-navigate"):
        nested = mode == "nested-navigate" or destination in _SUBFRAMES
        return ("net", ABORTED) if credentials and nested else None
    if mode == "unknown":
        accept = accept.lower()
        if accept.startswith("text/html"):
            return None
        if page is None:
            return ("net", UNSAFE_REDIRECT) if unsafe else None
        if accept.startswith(("image/", "text/css")) or target is None or not page.same_origin(target):
            mode = "no-cors"
    cors = mode in ("cors", "unknown")
    if credentials:
        there = origin_of_url(location)
        if cors and page is not None and there is not None and not page.same_origin(there):
            return ("cors", "RedirectContainsCredentials")
        return ("net", ABORTED)
    if unsafe:
        return ("net", UNSAFE_REDIRECT)
    return ("cors", "CorsDisabledScheme") if cors else ("net", UNKNOWN_SCHEME)
