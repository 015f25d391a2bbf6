"""Classifying a request from the wire: is it a preflight, a CORS request, no-cors, same-origin?

The request mode comes from `Sec-Fetch-Mode` where Chromium sends it (potentially trustworthy
targets: https, localhost, loopback), and otherwise from `Origin` and the method, using Chromium's
rule for when it adds `Origin` (`CorsURLLoader::StartRequest`): a cross-origin GET/HEAD carries
`Origin` only in `cors` mode. Every inference says what it was drawn from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import RequestSnapshot, normalized
from .origin import Origin, origin_of_url, parse_origin_header
from .safelist import cors_unsafe_request_header_names, needs_preflight, parse_request_headers_list

# Sec-Fetch-Dest -> the word Chromium's console uses ("Access to <kind> at ...").
_INITIATOR = {"empty": "fetch", "image": "image", "script": "script", "font": "font",
              "style": "stylesheet", "audio": "audio", "video": "video", "track": "track",
              "worker": "worker", "sharedworker": "shared worker", "manifest": "manifest",
              "json": "fetch"}


@dataclass(slots=True)
class RequestFacts:
    kind: str  # "preflight" | "cors" | "no-cors" | "same-origin" | "not-cors"
    mode: str  # the request mode as inferred
    mode_source: str
    origin: Origin | None  # the request origin from the Origin header (OPAQUE for "null")
    target: Origin | None
    initiator: str
    unsafe_headers: Sequence[str]  # recomputed from the request's own headers (not for preflights)
    origin_header: str | None = None  # the Origin header as sent (trimmed), None when absent
    acrm: str | None = None  # preflights: Access-Control-Request-Method
    acrh: Sequence[str] | None = None  # preflights: Access-Control-Request-Headers, as sent


def classify(req: RequestSnapshot) -> RequestFacts:
    idx = req.headers.by_name  # runs for every flow: the index is read directly
    target = origin_of_url(req.url)
    origin_value = normalized(idx.get("origin"))
    origin = parse_origin_header(origin_value)
    dest = (normalized(idx.get("sec-fetch-dest")) or "").lower() or "empty"
    initiator = _INITIATOR.get(dest, dest)

    if req.method == "OPTIONS" and origin_value is not None and "access-control-request-method" in idx:
        f = RequestFacts("preflight", "cors", "OPTIONS with Origin and Access-Control-Request-Method",
                         origin, target, initiator, [], origin_value)
        f.acrm = normalized(idx["access-control-request-method"])
        f.acrh = parse_request_headers_list(normalized(idx.get("access-control-request-headers")))
        if origin is None:
            f.kind = "not-cors"
            f.mode_source += f"; but its Origin '{origin_value}' is not an origin"
        return f
    kind, mode, source, unsafe = _kind(req, origin_value, origin, target)
    return RequestFacts(kind, mode, source, origin, target, initiator, unsafe, origin_value)


def _kind(req: RequestSnapshot, origin_value: str | None, origin: Origin | None,
          target: Origin | None) -> tuple[str, str, str, list[str]]:
    """(kind, mode, why, unsafe header names) of a request that is not a preflight."""
    idx = req.headers.by_name
    sfm = (normalized(idx.get("sec-fetch-mode")) or "").lower()
    if "websocket" in (normalized(idx.get("upgrade")) or "").lower() or sfm == "websocket":
        return ("not-cors", "websocket",
                "Upgrade: websocket (a WebSocket handshake: the server checks Origin itself; CORS does not apply)", [])
    if origin_value is not None and origin is None:
        return "not-cors", "unknown", f"Origin '{origin_value}' is not a serialized origin", []
    if target is None:
        return "not-cors", "unknown", "the URL has no origin", []
    if target.scheme not in ("http", "https"):
        # Only a file can hold these (a browser's HAR lists chrome:// and extension loads): the
        # browser serves such schemes itself, and no server's CORS headers bear on them.
        return "not-cors", "unknown", f"a {target.scheme}: URL, which no server answers", []

    if sfm:
        source = _SFM_SOURCE.get(sfm) or f"Sec-Fetch-Mode: {sfm}"
        if sfm in ("navigate", "nested-navigate"):
            return "not-cors", "navigate", source + " (navigations are not CORS-checked)", []
        if origin is None:
            # Chromium omits Origin only on same-origin GET/HEAD and no-cors GET/HEAD.
            if sfm == "no-cors":
                return "no-cors", "no-cors", source, []
            return "same-origin", sfm, source + " without Origin: a same-origin request", []
        if origin.same_origin(target):
            return "same-origin", sfm, source + "; Origin equals the target's origin", []
        if sfm == "no-cors":
            return "no-cors", "no-cors", source + " (the response is opaque, never blocked by CORS)", []
        if sfm == "same-origin":
            return "not-cors", "same-origin", source + " to another origin (the browser fails it itself)", []
        return "cors", "cors", source, cors_unsafe_request_header_names(req.headers)

    # No Sec-Fetch-* (a plain-http, non-local target): infer from Origin and the method.
    if origin is None:
        return ("not-cors", "unknown",
                "no Origin and no Sec-Fetch-Mode: a navigation, a no-cors or a same-origin request", [])
    if origin.same_origin(target):
        return "same-origin", "unknown", "Origin equals the target's origin", []
    unsafe = cors_unsafe_request_header_names(req.headers)
    method = req.method
    if method in ("GET", "HEAD"):
        return "cors", "cors", "inferred: a cross-origin GET/HEAD carries Origin only in cors mode", unsafe
    accept = (normalized(idx.get("accept")) or "").lower()
    if accept.startswith("text/html") and "upgrade-insecure-requests" in idx:
        return ("not-cors", "navigate",
                "inferred: Accept: text/html and Upgrade-Insecure-Requests (a form submission)", [])
    if needs_preflight(method, unsafe):
        return ("cors", "cors",
                "inferred: its method or headers are not safelisted, so only cors mode could send it", unsafe)
    return ("cors", "cors",
            f"assumed: a cross-origin {method} with safelisted headers may also be no-cors or a form "
            "submission; judged as fetch()/XHR in cors mode", unsafe)


# The few Sec-Fetch-Mode values a browser sends, so that their description is not rebuilt per flow.
_SFM_SOURCE = {m: f"Sec-Fetch-Mode: {m}" for m in (
    "cors", "no-cors", "same-origin", "navigate", "nested-navigate", "websocket")}


def credentials_evidence(req: RequestSnapshot, acrh: Sequence[str] | None) -> tuple[str, str]:
    """(credentials, why) from what the request carries; "unknown" when nothing proves `include`.

    `acrh` is the paired preflight's Access-Control-Request-Headers, if one was seen: an
    Authorization header the page did not ask the preflight about came from the HTTP auth cache.
    """
    h = req.headers.by_name
    if "cookie" in h:
        return "include", "the request carries a Cookie header"
    if "sec-fetch-storage-access" in h:
        return "include", "the request carries Sec-Fetch-Storage-Access"
    if "authorization" in h and (acrh is None or "authorization" not in acrh):
        return "include", "Authorization was sent without the page asking the preflight for it (HTTP auth cache)"
    if (normalized(h.get("sec-fetch-dest")) or "").lower() == "font":
        # CSS Fonts: a font is fetched in cors mode with credentials 'same-origin', whatever the page
        # does: a cross-origin font never carries credentials, so it can never fail for them.
        return "omit", "a web font is fetched with credentials 'same-origin' (CSS Fonts): never with credentials across origins"
    return "unknown", "no Cookie or cached Authorization on the wire: credentials 'omit', 'same-origin', or 'include' with no cookie to send"
