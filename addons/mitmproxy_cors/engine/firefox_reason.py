"""Firefox's reason for a response Chromium blocks, where it is not the catalogue's nearest key.

Firefox logs one `security.properties` key per blocked request (`nsCORSListenerProxy.cpp`,
`CheckRequestApproved`); `reasons.py` holds the nearest key for each Chromium CorsError. Where Firefox
looks at the same response and names another failure, the key follows what Firefox checks and
`firefox_note` says so. Measured with Debian's firefox-esr 153 through mitmdump
(tests/e2e/test_e2e_firefox.py).
"""

from __future__ import annotations

from .model import Headers, normalized
from .reasons import REASONS

_MULTIPLE = frozenset({"MultipleAllowOriginValues", "PreflightMultipleAllowOriginValues"})

COMMA_LIST_NOTE = "Firefox names a comma list in one header line a mismatch, not multiple values"
REDIRECTED_PREFLIGHT_NOTE = (
    "Firefox checks a redirected preflight's Access-Control-Allow-Origin (and -Credentials) before it "
    "refuses the redirect, and names that failure; with it fixed Firefox says CORSExternalRedirectNotAllowed")
# How a note gives Firefox's key when the page sends credentials the proxy cannot see (a preflight's).
WITH_CREDENTIALS = "with credentials 'include' Firefox names"


def firefox_reading(reason: str, headers: Headers | None, origin: str | None,
                    credentials: str) -> tuple[str | None, str | None]:
    """(Firefox's reason key, a note when Firefox names another failure than Chromium's nearest) for
    a response Chromium blocks with `reason`. `headers`: the response's (None: judged again without
    it; then the catalogue's key). `origin`: the request's Origin header; `credentials`: include,
    omit or unknown (read as omit; the note then gives Firefox's key under 'include' if it differs)."""
    entry = REASONS.get(reason)
    default = (entry.firefox or None) if entry else None
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
