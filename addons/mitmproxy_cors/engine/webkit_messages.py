"""The sentence Safari's console prints for a CORS failure, worked out from the wire as WebKit checks it.

WebKit has no CorsError names: it prints one sentence (`ResourceError::localizedDescription`) and then
"Fetch API cannot load <url> due to access control checks." (or "XMLHttpRequest cannot load ...",
"Cannot load image ..."). The sentences and the order of the checks are WebKit's own, so they are
derived here from the response, not translated from Chromium's reason:

* `passesAccessControlCheck` (Source/WebCore/loader/CrossOriginAccessControl.cpp): Access-Control-Allow-Origin
  compared as one string (repeated lines joined with ", ", each trimmed), then Allow-Credentials;
* `validatePreflightResponse` (same file): the status first, then that check, then
  `CrossOriginPreflightResultCacheItem::create` and `validateMethodAndHeaders`
  (CrossOriginPreflightResultCache.cpp);
* `NetworkLoadChecker::checkRedirection` (Source/WebKit/NetworkProcess): a redirect response that fails
  the check, a Location with userinfo or with a scheme that is not http(s).

Measured in WebKitGTK 2.50.6 on the project's end-to-end cases (tests/e2e/test_webkit.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .memo import memoized
from .model import Headers, normalized
from .origin import origin_of_url
from .redirect_check import location_scheme, redirect_location
from .syntax import is_token

WILDCARD = "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true."
MULTIPLE = "Access-Control-Allow-Origin cannot contain more than one origin."
CREDENTIALS = 'Credentials flag is true, but Access-Control-Allow-Credentials is not "true".'
_SIMPLE_METHODS = frozenset({"GET", "HEAD", "POST"})
_ASCII_WS = " \t\n\r\f"

# WebKit's known header names (Source/WebCore/platform/network/HTTPHeaderNames.in) that a page can set:
# WebKit keeps them apart from other headers and checks them first, and names them in this spelling.
# Any other header is named as the page spelled it, which the preflight (lowercased names) does not keep.
_KNOWN = {n.lower(): n for n in (
    "Accept", "Accept-Charset", "Accept-Language", "Accept-Encoding", "Authorization", "Cache-Control",
    "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Type", "Content-Range",
    "DNT", "ETag", "If-Match", "If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since",
    "Last-Event-ID", "Pragma", "Purpose", "Range", "Timing-Allow-Origin", "User-Agent",
    "X-Content-Type-Options", "X-DNS-Prefetch-Control", "X-Frame-Options", "X-Powered-By",
    "X-XSS-Protection",
)}

# How pages usually spell the client hints, which are no words to capitalise.
_USUAL = {"dpr": "DPR", "ect": "ECT", "rtt": "RTT"}

# Headers Chromium sends without a preflight that WebKit does not safelist (measured: WebKit preflights
# a fetch setting any of them, and Chromium none).
WEBKIT_UNSAFE = frozenset({"dpr", "width", "viewport-width", "save-data", "device-memory", "rtt", "downlink",
                           "ect", "intervention", "user-agent"})
_HINTS = WEBKIT_UNSAFE - {"user-agent"}  # every request carries a User-Agent, not only those a page set


@memoized()
def access_message(acao: str | None, acac: str | None, origin: str, status: int, credentials: bool) -> str | None:
    """`passesAccessControlCheck`: WebKit's sentence, or None when the response passes. `acao` and
    `acac` as WebKit reads them: each line trimmed, repeated lines joined with ", "."""
    value = acao or ""
    if value == "*" and not credentials:
        return None
    if value != origin:
        if value == "*":
            return WILDCARD
        if "," in value:
            return MULTIPLE
        return f"Origin {origin} is not allowed by Access-Control-Allow-Origin. Status code: {status}"
    if credentials and acac != "true":
        return CREDENTIALS
    return None


def _allow_list(value: str | None) -> list[str] | None:
    """`parseAccessControlAllowList`: split on commas (empty items dropped), each trimmed and a token;
    None when one is not (WebKit then rejects the whole header)."""
    items = []
    for part in (value or "").split(","):
        if not part:
            continue
        item = part.strip(_ASCII_WS)
        if not is_token(item):
            return None
        items.append(item)
    return items


def header_spelling(name: str) -> str:
    """The name as WebKit prints it: its own spelling for a known header; for another one the page's,
    guessed as the usual capitalised form (the preflight carries names lowercased)."""
    known = _KNOWN.get(name.lower()) or _USUAL.get(name.lower())
    if known:
        return known
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def webkit_header_order(names) -> list[str]:
    """Request header names in the order WebKit checks them: its known headers first, then the others
    (each group in the page's order, which the preflight's sorted list stands in for)."""
    names = list(names)
    return [n for n in names if n.lower() in _KNOWN] + [n for n in names if n.lower() not in _KNOWN]


@memoized()
def preflight_message(status: int, acao: str | None, acac: str | None, acam: str | None, acah: str | None,
                      origin: str, method: str, request_headers: tuple[str, ...], credentials: bool) -> str | None:
    """`validatePreflightResponse`: the status, the access check, the two lists, the method, the headers."""
    if not 200 <= status < 300:
        return f"Preflight response is not successful. Status code: {status}"
    failed = access_message(acao, acac, origin, status, credentials)
    if failed:
        return failed
    methods = _allow_list(acam)
    if methods is None:
        return f"Header Access-Control-Allow-Methods has an invalid value: {acam}"
    headers = _allow_list(acah)
    if headers is None:
        return f"Header Access-Control-Allow-Headers has an invalid value: {acah}"
    if not (method in methods or ("*" in methods and not credentials) or method in _SIMPLE_METHODS):
        return f"Method {method} is not allowed by Access-Control-Allow-Methods."
    allowed = {h.lower() for h in headers}
    if "*" in allowed and not credentials:
        return None
    for name in webkit_header_order(request_headers):
        if name.lower() not in allowed:
            return f"Request header field {header_spelling(name)} is not allowed by Access-Control-Allow-Headers."
    return None


def redirect_message(location: str, inner: str | None) -> str | None:
    """`NetworkLoadChecker::checkRedirection` for a CORS request: the redirect response's own check
    (`inner`), then the Location's scheme, then its userinfo."""
    if inner:
        return f"Cross-origin redirection to {location} denied by Cross-Origin Resource Sharing policy: {inner}"
    try:
        split = urlsplit(location)
    except ValueError:
        return None
    if split.scheme.lower() not in ("http", "https"):
        return (f"Cross-origin redirection to {location} denied by Cross-Origin Resource Sharing policy: "
                "not allowed to follow a cross-origin CORS redirection with non CORS scheme")
    if split.username is not None or split.password is not None:
        host = split.netloc.rpartition("@")[2]
        bare = urlunsplit((split.scheme, host, split.path, split.query, split.fragment))
        return (f"Cross-origin redirection to {bare} denied by Cross-Origin Resource Sharing policy: "
                f"redirection URL {location} has credentials")
    return None


def response_message(headers: Headers, origin: str, status: int, credentials: bool,
                     location: str | None) -> str | None:
    """WebKit's sentence for a CORS response (an actual request's, or a redirect's)."""
    by_name = headers.by_name
    inner = access_message(normalized(by_name.get("access-control-allow-origin")),
                           normalized(by_name.get("access-control-allow-credentials")), origin, status, credentials)
    if location is not None:
        return redirect_message(location, inner)
    return inner


def preflight_response_message(headers: Headers, status: int, origin: str, method: str,
                               request_headers, credentials: bool) -> str | None:
    by_name = headers.by_name
    return preflight_message(status, normalized(by_name.get("access-control-allow-origin")),
                             normalized(by_name.get("access-control-allow-credentials")),
                             normalized(by_name.get("access-control-allow-methods")),
                             normalized(by_name.get("access-control-allow-headers")),
                             origin, method, tuple(request_headers), credentials)


# -- on a verdict ---------------------------------------------------------------------------------------

def with_webkit(v, ex):
    """`v` with `webkit_message` (and in `conditional`) and `webkit_note` worked out from its exchange
    `ex`; `v` itself when WebKit has nothing to say. Never raises on odd input."""
    try:
        message, include, note = _webkit(v, ex)
    except (ValueError, TypeError, AttributeError):
        return v
    conditional = v.conditional
    if conditional is not None and ("webkit_message" not in conditional or include != conditional["webkit_message"]):
        conditional = {**conditional, "webkit_message": include}
    if message is None and note is None and conditional is v.conditional:
        return v
    return v._replace(webkit_message=message, webkit_note=note, conditional=conditional)


def _scheme_redirect(kind: str, ex, status: int, headers: Headers):
    """WebKit's sentence for a redirect to a scheme that is not http(s) (measured in WebKitGTK 2.50.6 on
    the e2e cases redir-scheme-*), None when WebKit fails it without one, False when not such a redirect
    or when the CORS sentences below say it (a cors-mode request to data:, about:, ws:, ...)."""
    location = redirect_location(ex.request.url, status, headers)
    if location is None:
        return False
    scheme = location_scheme(location)
    if scheme in ("http", "https"):
        return False
    if scheme == "ftp":
        return "FTP URLs are disabled"  # in every mode, before any CORS check
    if kind in ("actual", "simple"):
        return False
    if scheme == "file":
        return f"Not allowed to load local resource: {location}"
    if kind == "same-origin":
        return False
    dest = (normalized(ex.request.headers.by_name.get("sec-fetch-dest")) or "").lower()
    if dest == "image":  # an <img>: no sentence for data: and about:, and this one without its period
        return None if scheme in ("data", "about") else "Redirection to URL with a scheme that is not HTTP(S)"
    return "Redirection to URL with a scheme that is not HTTP(S)."


def _webkit(v, ex) -> tuple[str | None, str | None, str | None]:
    """(sentence for the verdict's credentials mode, sentence under credentials 'include', note)."""
    kind = v.kind
    if kind not in ("preflight", "actual", "simple", "same-origin", "no-cors"):
        return None, None, None
    resp = ex.response
    if resp is not None and kind != "preflight":
        scheme_sentence = _scheme_redirect(kind, ex, resp.status, resp.headers)
        if scheme_sentence is not False:
            return scheme_sentence, scheme_sentence if v.conditional is not None else None, None
    if kind == "no-cors":
        return None, None, None
    if resp is not None:
        status, headers = resp.status, resp.headers
    elif ex.proxy_answered_error:
        status, headers = 502, Headers()
    else:
        return None, None, None
    req_headers = ex.request.headers
    origin = v.origin or "null"
    creds = v.credentials == "include"
    if kind == "same-origin":
        return _same_origin_redirect(v, ex.request.url, status, headers), None, None
    if kind == "preflight":
        method = normalized(req_headers.by_name.get("access-control-request-method")) or ""
        names = [n.strip(_ASCII_WS) for n in (normalized(req_headers.by_name.get("access-control-request-headers"))
                                               or "").split(",") if n.strip(_ASCII_WS)]
        message = preflight_response_message(headers, status, origin, method, names, creds)
        include = (preflight_response_message(headers, status, origin, method, names, True)
                   if v.conditional is not None else None)
        only_webkit = [n for n in names if n.lower() in WEBKIT_UNSAFE]
        note = None
        unknown = [n for n in names if n.lower() not in _KNOWN]
        if message and message.startswith("Request header field ") and len(unknown) > 1:
            # WebKit names the first the page set, an order the preflight's sorted list does not keep.
            note = ("Safari (WebKit) names the first of " + ", ".join(unknown) + " that the page set and "
                    "the server does not allow; the preflight lists them sorted, so the name above may be "
                    "another of them")
        elif only_webkit:
            note = ("Safari (WebKit) sends this preflight for " + ", ".join(only_webkit) + ": it does not "
                    "safelist them, while Chromium sends them without a preflight")
        return message, include, _disagreement(v, message) or note
    if status == 304:  # judged on the cached response, which the proxy may not have seen
        return None, None, None
    location = _location(v.url, status, headers)
    message = response_message(headers, origin, status, creds, location)
    include = response_message(headers, origin, status, True, location) if v.conditional is not None else None
    note = _disagreement(v, message)
    if note is None and kind == "simple" and not _HINTS.isdisjoint(req_headers.by_name):
        hints = [n for n in req_headers.names() if n in _HINTS]
        if hints:
            note = ("Safari (WebKit) would send a preflight for " + ", ".join(hints) + " (it does not safelist "
                    "them): the server must answer it and list them in Access-Control-Allow-Headers")
    if note is None and kind == "actual" and status == 303 and location is not None:
        note = ("Safari (WebKit) sends a new preflight for the request that follows this 303, "
                "where Chromium sends the GET without one")
    return message, include, note


def _location(url: str, status: int, headers: Headers) -> str | None:
    return redirect_location(url, status, headers)


def _same_origin_redirect(v, url: str, status: int, headers: Headers) -> str | None:
    """A same-origin request redirected to another origin: in mode 'cors' the Location's own checks
    (userinfo, scheme), in mode 'same-origin' WebKit's refusal (not a CORS sentence)."""
    if v.mode not in ("cors", "same-origin"):
        return None
    location = _location(url, status, headers)
    if location is None:
        return None
    here, there = origin_of_url(url), origin_of_url(location)
    if here is None or (there is not None and here.same_origin(there)):
        return None
    if v.mode == "cors":
        return redirect_message(location, None)
    return (f"Unsafe attempt to load URL {location} from origin {here.serialize()}. "
            "Domains, protocols and ports must match.")


def _disagreement(v, message: str | None) -> str | None:
    """Where WebKit decides otherwise than Chromium on the same response."""
    chromium_blocks = v.verdict == "blocked" and v.reason is not None
    if chromium_blocks and message is None:
        return "Safari (WebKit) lets this response through: its check differs from Chromium's here"
    if not chromium_blocks and v.verdict == "allowed" and message is not None:
        return f"Safari (WebKit) blocks this response where Chromium allows it: {message}"
    return None
