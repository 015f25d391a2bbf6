"""Firefox on the redirects Chromium judges apart: an empty Location, credentials in a Location, and a
Location that is not http(s). The verdict stays Chromium's; `firefox_reason` is the key Firefox logs
(None when Firefox loads it or fails it without a CORS error) and `firefox_note` says where it
differs. Measured with Debian's firefox-esr 153 through mitmdump (tests/e2e/test_e2e_firefox.py, the
18 redirect cases): Firefox resolves an empty Location to the same URL and follows it; it does not
block a URL with user:password@; its content-security check refuses data: and file: before
nsCORSListenerProxy::AsyncOnChannelRedirect checks the 3xx, and it cannot follow about:, ftp:, ws:,
javascript: or mailto: after that check passes: both fail the fetch as CORSDidNotSucceed, and with no
CORS error when the request had been same-origin so far.
"""

from __future__ import annotations

from .firefox_reason import WITH_CREDENTIALS, firefox_access_check
from .model import Headers
from .redirect_check import ABORTED, has_userinfo, location_scheme, unsafe_redirect
from .verdict import Verdict

GENERIC = "CORSDidNotSucceed"
# How a note starts when Firefox loads what Chromium fails, or fails it with no CORS error (the e2e test reads them).
FIREFOX_LOADS = "Firefox loads it"
NO_CORS_ERROR = "Firefox logs no CORS error"
# nsHttpChannel::IsRedirectStatus (300 unmeasured: Chromium's own rule for it differs).
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Refused by Firefox's content-security check before nsCORSListenerProxy checks the 3xx (measured;
# about: is checked for CORS first, as ftp: is).
_SECURITY_REFUSED = frozenset({"data", "file"})
_CORS_KINDS = frozenset({"simple", "actual"})

EMPTY_LOCATION_NOTE = ("Firefox follows a {status} with an empty Location back to the same URL (Chromium "
                       "does not treat it as a redirect)")
EMPTY_LOCATION_CORS = ("; answered like this every time, Firefox stops at its redirect limit (20) and "
                       "reports CORSDidNotSucceed")
EMPTY_LOCATION_PREFLIGHT = "; a redirected preflight: Firefox names it CORSExternalRedirectNotAllowed"
USERINFO_NOTE = (f"{FIREFOX_LOADS}: Firefox does not block a subresource or frame URL with user:password@ "
                 "(Chromium aborts it), the redirect's Location included")
REFUSED_SCHEME_NOTE = ("Firefox refuses a redirect to {scheme}: before its CORS check of the redirect and "
                       "reports CORSDidNotSucceed")
UNOPENED_SCHEME_NOTE = ("Firefox checks CORS on the redirect, then cannot follow it to {scheme}: and reports "
                        "CORSDidNotSucceed")
SAME_ORIGIN_SCHEME_NOTE = (f"{NO_CORS_ERROR}: the request was same-origin until this redirect to {{scheme}}:, "
                           "and Firefox fails the fetch (NetworkError) without a CORS error")


def firefox_on_redirect(v: Verdict, status: int, headers: Headers) -> Verdict:
    """`v` with Firefox's key and note where Firefox treats this redirect response otherwise; `v`
    itself when it does not (the common case: one dict lookup)."""
    location = headers.by_name.get("location")
    if type(location) is not str:
        return v  # none, or several lines (unmeasured in Firefox)
    location = location.strip()
    if not location:
        return _empty_location(v, status, headers)
    scheme = location_scheme(location)
    if v.verdict != "blocked":
        return v
    cause = v.cause or ""
    if v.reason is None and ABORTED in cause and "includes credentials" in cause and has_userinfo(location):
        return v._replace(firefox_reason=None, firefox_note=USERINFO_NOTE)
    if v.kind in _CORS_KINDS and scheme in _SECURITY_REFUSED:
        # Chromium's failure here (ERR_UNSAFE_REDIRECT, or the 3xx's own CORS error) is not Firefox's.
        return _blocked_as(v, GENERIC, REFUSED_SCHEME_NOTE.format(scheme=scheme), before_cors=True)
    if v.kind in _CORS_KINDS and v.reason is None and cause and unsafe_redirect(location):
        # about:: Firefox's CORS check of the 3xx passed (as Chromium's did), then it cannot follow it.
        return _blocked_as(v, GENERIC, UNOPENED_SCHEME_NOTE.format(scheme=scheme))
    if v.reason == "CorsDisabledScheme":
        if v.kind not in _CORS_KINDS:  # same-origin until this hop: Firefox logs no CORS error (measured)
            return v._replace(firefox_reason=None, firefox_note=SAME_ORIGIN_SCHEME_NOTE.format(scheme=scheme))
        return _blocked_as(v, GENERIC, UNOPENED_SCHEME_NOTE.format(scheme=scheme))
    return v


def _empty_location(v: Verdict, status: int, headers: Headers) -> Verdict:
    if status not in _REDIRECT_STATUSES:
        return v
    note = EMPTY_LOCATION_NOTE.format(status=status)
    if v.kind == "preflight" and v.verdict == "blocked":
        # AsyncOnChannelRedirect checks the 3xx's Access-Control-Allow-Origin before refusing the redirect.
        refused = "CORSExternalRedirectNotAllowed"
        key = firefox_access_check(headers, v.origin, v.credentials == "include") or refused
        note += EMPTY_LOCATION_PREFLIGHT
        if v.credentials == "unknown":
            with_credentials = firefox_access_check(headers, v.origin, True) or refused
            if with_credentials != key:
                note += f"; {WITH_CREDENTIALS} {with_credentials}"
        return _blocked_as(v, key, note)
    if v.kind in _CORS_KINDS and v.verdict == "allowed":
        return _blocked_as(v, GENERIC, note + EMPTY_LOCATION_CORS)
    return v  # Chromium blocks it: Firefox's check of the 3xx names the same failure


def _blocked_as(v: Verdict, key: str, note: str, before_cors: bool = False) -> Verdict:
    """`before_cors`: Firefox fails it before any CORS check, so under credentials 'include' too."""
    conditional = v.conditional
    if before_cors and conditional and conditional.get("verdict") == "blocked":
        conditional = {**conditional, "firefox_reason": key}
    return v._replace(firefox_reason=key, firefox_note=note, conditional=conditional)
