"""What the page asked for, as the opt-in page probe reports it (mitm/page_probe.py injects the
script, docs/page-probe.md): the wire does not show a request's credentials mode, the order in which
an XMLHttpRequest set its headers, or the requests the browser refused before sending any.

The probe's records are untrusted input from the page: `parse_page_records` keeps only small,
well-formed records (bounded sizes, known values), and they describe requests of the page they came
from only (the caller passes that page's origin, taken from where the records were delivered, never
from the records).

`page_refusal` says why the browser failed a request the proxy never saw, in the order Chromium's
`FetchManager::Loader::Start` and `MixedContentChecker` refuse them (third_party/blink/renderer/core/
fetch/fetch_manager.cc; https://fetch.spec.whatwg.org/#main-fetch, steps 2-12).
Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .origin import CORS_ENABLED_SCHEMES, Origin, origin_of_url
from .safelist import is_cors_safelisted_method

MAX_BODY = 64 * 1024  # bytes of one delivery
MAX_RECORDS = 100  # records in one delivery
MAX_TEXT = 2048  # characters of a URL, an error or a CSP directive
MAX_HEADERS = 64  # header names of one request
APIS = ("fetch", "xhr", "eventsource", "beacon")
MODES = ("cors", "no-cors", "same-origin", "navigate")
CREDENTIALS = ("omit", "same-origin", "include")
REDIRECTS = ("follow", "error", "manual")
OUTCOMES = ("response", "opaque", "error", "queued", "refused")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class PageRecord:
    """One call the page made: `fetch()`, `XMLHttpRequest.send()`, `new EventSource()` or
    `navigator.sendBeacon()`, and what the page saw of it."""

    api: str  # one of APIS
    url: str  # resolved against the page's URL
    method: str
    mode: str  # the request mode: one of MODES
    credentials: str  # the credentials mode: one of CREDENTIALS
    redirect: str  # one of REDIRECTS
    headers: tuple[str, ...]  # names the script set, lower-cased, in the order it set them
    outcome: str  # one of OUTCOMES: a response it could read, an opaque one, a failure (error)...
    status: int | None = None  # the status the page saw (0 for an opaque response)
    error: str | None = None  # the rejection or error the page saw
    csp: str | None = None  # the CSP directive a securitypolicyviolation event named for this URL
    content_type: str | None = None  # the request's Content-Type, when safelisting depends on it

    def credentials_for(self, page: Origin) -> str:
        """What the browser does across origins: 'include' sends credentials, anything else 'omit'."""
        return "include" if self.credentials == "include" else "omit"

    def describe(self) -> str:
        """How the page made the call, in the page's own words."""
        if self.api == "xhr":
            return f"XMLHttpRequest {self.method}" + (" with withCredentials = true" if self.credentials == "include" else "")
        if self.api == "eventsource":
            return "new EventSource(...)" + (" with withCredentials: true" if self.credentials == "include" else "")
        if self.api == "beacon":
            return "navigator.sendBeacon(...)"
        opts = [f"method: '{self.method}'"] if self.method != "GET" else []
        opts += [f"mode: '{self.mode}'"] if self.mode != "cors" else []
        opts += [f"credentials: '{self.credentials}'"]
        return "fetch(..., {" + ", ".join(opts) + "})"


def parse_page_records(body: bytes) -> tuple[tuple[PageRecord, ...], list[str]]:
    """The records of one delivery, and what was wrong with the rest (a problem per dropped record,
    or one for the whole body). Never raises."""
    if len(body) > MAX_BODY:
        return (), [f"a delivery of {len(body)} bytes (at most {MAX_BODY}) was refused"]
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return (), ["a delivery that is not JSON was refused"]
    items = data.get("records") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return (), ["a delivery without a list of records was refused"]
    problems: list[str] = []
    if len(items) > MAX_RECORDS:
        problems.append(f"{len(items) - MAX_RECORDS} record(s) beyond the first {MAX_RECORDS} were dropped")
        items = items[:MAX_RECORDS]
    records = []
    for i, item in enumerate(items):
        try:
            records.append(_record(item))
        except (TypeError, ValueError, KeyError) as e:
            problems.append(f"record {i} was dropped: {e}")
    return tuple(records), problems


def _record(item) -> PageRecord:
    if not isinstance(item, dict):
        raise TypeError("not an object")
    api = _choice(item, "api", APIS)
    url = _text(item, "url")
    if origin_of_url(url) is None and not url.split(":", 1)[0].isalpha():
        raise ValueError("the URL is not absolute")
    method = _text(item, "method", 32)
    if not method or not set(method.lower()) <= _TOKEN:
        raise ValueError("the method is not a token")
    headers = item.get("headers", [])
    if not isinstance(headers, list) or len(headers) > MAX_HEADERS:
        raise ValueError("headers is not a short list")
    names = []
    for h in headers:
        if not isinstance(h, str) or not h or len(h) > 256 or not set(h.lower()) <= _TOKEN:
            raise ValueError("a header name is not a token")
        names.append(h.lower())
    status = item.get("status")
    if status is not None and (type(status) is not int or not 0 <= status <= 999):
        raise ValueError("status is not a number from 0 to 999")
    return PageRecord(api, url, method.upper() if method.upper() in _NORMALIZED_METHODS else method,
                      _choice(item, "mode", MODES), _choice(item, "credentials", CREDENTIALS),
                      _choice(item, "redirect", REDIRECTS), tuple(names), _choice(item, "outcome", OUTCOMES),
                      status, _text(item, "error", optional=True), _text(item, "csp", optional=True),
                      _text(item, "content_type", 256, optional=True))


# fetch() and XHR upper-case these (https://fetch.spec.whatwg.org/#concept-method-normalize)
_NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})


def _choice(item: dict, key: str, allowed: tuple[str, ...]) -> str:
    value = item.get(key)
    if value not in allowed:
        raise ValueError(f"{key} is not one of {', '.join(allowed)}")
    return value


def _text(item: dict, key: str, limit: int = MAX_TEXT, optional: bool = False) -> str | None:
    value = item.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{key} is not a string of at most {limit} characters")
    return value


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the page made that never reached the proxy: why the browser refused it."""

    record: PageRecord
    page: str  # the page's origin
    reason: str | None  # Chromium's name where there is one (CorsError, or the blocking feature)
    message: str  # what the console says, or what the proxy knows
    fix: str
    known: bool  # False: the proxy cannot tell which part of the browser refused it

    def to_dict(self, probe_flow_id: str | None) -> dict:
        r = self.record
        return {"record": "page_refusal", "page": self.page, "api": r.api, "method": r.method, "url": r.url,
                "mode": r.mode, "credentials": r.credentials, "error": r.error, "reason": self.reason,
                "message": self.message, "fix": self.fix, "known": self.known, "probe_flow_id": probe_flow_id}

    def summary(self) -> str:
        return (f"CORS blocked in the page before sending: {self.reason + ': ' if self.reason else ''}"
                f"{self.record.method} {self.record.url}; {self.fix}")


def page_refusal(record: PageRecord, page: Origin) -> Refusal | None:
    """Why the browser failed `record` without sending it (the proxy saw no request), or None when
    the page saw no failure."""
    if record.outcome not in ("error", "refused"):
        return None
    page_text = page.serialize()
    target = origin_of_url(record.url)
    scheme = record.url.split(":", 1)[0].lower()
    call = record.describe()
    if record.csp:
        return Refusal(record, page_text, "ContentSecurityPolicy",
                       f"Refused to connect to '{record.url}' because it violates the following Content Security "
                       f"Policy directive: \"{record.csp}\".",
                       f"add {target.serialize() if target else record.url} to the page's "
                       f"{record.csp.split()[0] if record.csp.split() else 'connect-src'} directive", True)
    if record.api == "fetch" and record.mode == "no-cors" and not is_cors_safelisted_method(record.method):
        return Refusal(record, page_text, None,
                       f"TypeError: Failed to execute 'fetch': '{record.method}' is unsupported in no-cors mode.",
                       f"use mode: 'cors' (the default) for a {record.method}, and let the server allow it", True)
    if scheme not in CORS_ENABLED_SCHEMES:
        if record.mode == "no-cors":
            return _unknown(record, page_text, call)
        return Refusal(record, page_text, "CorsDisabledScheme",
                       f"Access to fetch at '{record.url}' from origin '{page_text}' has been blocked by CORS policy: "
                       "Cross origin requests are only supported for protocol schemes: http, https, ...",
                       "serve it over http(s), or read it another way (a file input, the page's own origin)", True)
    if (not page.opaque and page.scheme == "https" and target is not None and target.scheme == "http"
            and not target.potentially_trustworthy()):
        return Refusal(record, page_text, "MixedContent",
                       f"Mixed Content: The page at '{page_text}' was loaded over HTTPS, but requested an insecure "
                       f"resource '{record.url}'. This request has been blocked; the content must be served over HTTPS.",
                       f"serve {target.serialize()} over https (or the page over http while developing)", True)
    if record.mode == "same-origin" and target is not None and not target.same_origin(page):
        return Refusal(record, page_text, "DisallowedByMode",
                       f"Fetch API cannot load {record.url}. Request mode is \"same-origin\" but the URL's origin is "
                       f"not same as the request origin {page_text}.",
                       "use mode: 'cors' (the default) and let the server allow this origin, or call a URL of the "
                       "page's own origin (a proxy route)", True)
    return _unknown(record, page_text, call)


def _unknown(record: PageRecord, page: str, call: str) -> Refusal:
    return Refusal(record, page, None,
                   f"the page's {call} failed ({record.error or 'no detail'}) and the proxy saw no request: the browser "
                   "refused it before sending, or served it from its cache",
                   "look at the browser's console for the message: an extension or ad blocker, a cached response "
                   "(docs/proxy-limits.md), or a request the browser never sent", False)
