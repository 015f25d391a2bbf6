"""Firefox's reason for a response Chromium blocks, where it is not the catalogue's nearest key.

Firefox logs one `security.properties` key per blocked request (`nsCORSListenerProxy.cpp`,
`CheckRequestApproved`); `reasons.py` holds the nearest key for each Chromium CorsError. Where Firefox
looks at the same response and names another failure, the key follows what Firefox checks and
`firefox_note` says so. Measured with Debian's firefox-esr 153 through mitmdump
(tests/e2e/test_e2e_firefox.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import Headers, normalized
from .reasons import REASONS
from .verdict import Failure

_MULTIPLE = frozenset({"MultipleAllowOriginValues", "PreflightMultipleAllowOriginValues"})

COMMA_LIST_NOTE = "Firefox names a comma list in one header line a mismatch, not multiple values"
REDIRECTED_PREFLIGHT_NOTE = (
    "Firefox checks a redirected preflight's Access-Control-Allow-Origin (and -Credentials) before it "
    "refuses the redirect, and names that failure; with it fixed Firefox says CORSExternalRedirectNotAllowed")
METHOD_FIRST_NOTE = ("Firefox checks that the method is allowed before it parses "
                     "Access-Control-Allow-Headers, and names the method")
# The preflight checks after the Access-Control-Allow-Origin/-Credentials ones, in Firefox's order.
_PREFLIGHT_ORDER = {"PreflightInvalidStatus": 0, "InvalidAllowMethodsPreflightResponse": 1,
                    "MethodDisallowedByPreflightResponse": 2, "InvalidAllowHeadersPreflightResponse": 3,
                    "HeaderDisallowedByPreflightResponse": 4}
# How a note gives Firefox's key when the page sends credentials the proxy cannot see (a preflight's).
WITH_CREDENTIALS = "with credentials 'include' Firefox names"


def firefox_reading(failures: Sequence[Failure], headers: Headers | None, origin: str | None,
                    credentials: str) -> tuple[str | None, str | None]:
    """(Firefox's reason key, a note when Firefox names another failure than Chromium) for a response
    Chromium blocks with `failures` (every failed check, Chromium's first first). `headers`: the
    response's (None: judged again without it). `origin`: the request's Origin header;
    `credentials`: include, omit or unknown (read as omit; the note then gives Firefox's key under
    'include' when it differs)."""
    if not failures:
        return None, None
    reason = failures[0].reason
    default = _key(reason)
    if reason in _PREFLIGHT_ORDER:
        # nsCORSPreflightListener::CheckPreflightRequestApproved: status, the methods' tokens, the
        # method, then the headers' tokens and the headers; Chromium parses both lists first.
        first = min((f.reason for f in failures if f.reason in _PREFLIGHT_ORDER), key=_PREFLIGHT_ORDER.get)
        if first != reason:
            return _key(first), METHOD_FIRST_NOTE
    if headers is None:
        return default, None
    if reason == "PreflightDisallowedRedirect":
        # nsCORSListenerProxy::AsyncOnChannelRedirect runs CheckRequestApproved on the 3xx first.
        key = firefox_access_check(headers, origin, credentials == "include") or default
        note = REDIRECTED_PREFLIGHT_NOTE if key != default else None
        if credentials == "unknown":
            with_credentials = firefox_access_check(headers, origin, True) or default
            if with_credentials != key:
                note = f"{note or REDIRECTED_PREFLIGHT_NOTE}; {WITH_CREDENTIALS} {with_credentials}"
        return key, note
    if reason in _MULTIPLE and len(headers.get_all("Access-Control-Allow-Origin")) < 2:
        # Firefox counts header lines; one line holding a list is compared as a whole.
        return "CORSAllowOriginNotMatchingOrigin", COMMA_LIST_NOTE
    return default, None


def _key(reason: str) -> str | None:
    entry = REASONS.get(reason)
    return (entry.firefox or None) if entry else None


def firefox_access_check(headers: Headers, origin: str | None, include: bool) -> str | None:
    """`nsCORSListenerProxy::CheckRequestApproved` on a response's headers, in its order: the key
    Firefox logs, None when it passes. `origin` None is an opaque origin ("null")."""
    if len(headers.get_all("Access-Control-Allow-Origin")) > 1:
        return "CORSMultipleAllowOriginNotAllowed"
    acao = normalized(headers.by_name.get("access-control-allow-origin"))
    if acao is None:
        return "CORSMissingAllowOrigin"
    if include and acao == "*":
        return "CORSNotSupportingCredentials"
    if (include or acao != "*") and acao != (origin or "null"):
        return "CORSAllowOriginNotMatchingOrigin"
    if include and normalized(headers.by_name.get("access-control-allow-credentials")) != "true":
        return "CORSMissingAllowCredentials"
    return None
