"""The catalogue of Chromium's CORS errors (`network::mojom::CorsError`).

Everything user-visible about a reason lives here: its DevTools name, whether Chromium prefixes
it as a preflight failure, the console sentence, the nearest Firefox reason and the fix. The docs'
catalogue is generated from this table, so the two never drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from .memo import memoized

PREFLIGHT_PREFIX = "Response to preflight request doesn't pass access control check: "
FETCH_HINT = " Have the server send the header with a valid value."


@dataclass(frozen=True, slots=True)
class Reason:
    name: str  # as DevTools reports corsErrorStatus.corsError
    number: int  # value in cors.mojom (-1: renderer-only)
    preflight_prefix: bool  # console text starts with PREFLIGHT_PREFIX
    text: str  # console text; {p} is the failed parameter
    firefox: str  # Firefox's reason key (MDN page name)
    firefox_text: str
    meaning: str  # one plain sentence
    fix: str  # what the server must do
    fetch_hint: bool = False  # fetch() initiators get FETCH_HINT appended

    def console_text(self, parameter: str | None, initiator: str = "fetch") -> str:
        text = self.text.format(p=parameter or "")
        if self.fetch_hint and initiator == "fetch":
            text += FETCH_HINT
        return (PREFLIGHT_PREFIX + text) if self.preflight_prefix else text


_WILDCARD = (
    "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard "
    "'*' when the request's credentials mode is 'include'."
)
_MISSING = "No 'Access-Control-Allow-Origin' header is present on the requested resource."
_MULTIPLE = "The 'Access-Control-Allow-Origin' header contains multiple values '{p}', but only one is allowed."
_INVALID = "The 'Access-Control-Allow-Origin' header contains the invalid value '{p}'."
_MISMATCH = "The 'Access-Control-Allow-Origin' header has a value '{p}' that is not equal to the supplied origin."
_CREDS = (
    "The value of the 'Access-Control-Allow-Credentials' header in the response is '{p}' which must be "
    "'true' when the request's credentials mode is 'include'."
)

_ALL = [
    Reason("DisallowedByMode", 0, False, "Cross origin requests are not allowed by request mode.",
           "", "", "The page asked for mode 'same-origin' but the URL is cross-origin.",
           "Client-side: use mode 'cors'."),
    Reason("InvalidResponse", 1, False, "The response is invalid.", "CORSDidNotSucceed",
           "CORS request did not succeed", "The request failed below HTTP (network or TLS error).",
           "Fix the network or server error."),
    Reason("WildcardOriginNotAllowed", 2, False, _WILDCARD, "CORSNotSupportingCredentials",
           "Credential is not supported if the CORS header 'Access-Control-Allow-Origin' is '*'",
           "The response allows any origin with '*', which browsers refuse for credentialed requests.",
           "Echo the request's Origin instead of '*', add Access-Control-Allow-Credentials: true and Vary: Origin."),
    Reason("MissingAllowOriginHeader", 3, False, _MISSING, "CORSMissingAllowOrigin",
           "CORS header 'Access-Control-Allow-Origin' missing",
           "The response has no Access-Control-Allow-Origin header.",
           "Send Access-Control-Allow-Origin on every response to this origin, errors and redirects included."),
    Reason("MultipleAllowOriginValues", 4, False, _MULTIPLE, "CORSMultipleAllowOriginNotAllowed",
           "Multiple CORS header 'Access-Control-Allow-Origin' not allowed",
           "Access-Control-Allow-Origin holds a list (or was sent twice); it must be exactly one origin.",
           "Send exactly one Access-Control-Allow-Origin line with exactly one origin, chosen from an allow-list.",
           fetch_hint=True),
    Reason("InvalidAllowOriginValue", 5, False, _INVALID, "CORSAllowOriginNotMatchingOrigin",
           "CORS header 'Access-Control-Allow-Origin' does not match '{p}'",
           "Access-Control-Allow-Origin is not a serialized origin (scheme://host[:port]).",
           "Send the request's Origin value byte for byte.", fetch_hint=True),
    Reason("AllowOriginMismatch", 6, False, _MISMATCH, "CORSAllowOriginNotMatchingOrigin",
           "CORS header 'Access-Control-Allow-Origin' does not match '{p}'",
           "Access-Control-Allow-Origin names another origin (byte-exact: scheme, host case, port, no trailing slash).",
           "Echo the request's Origin value byte for byte.", fetch_hint=True),
    Reason("InvalidAllowCredentials", 7, False, _CREDS, "CORSMissingAllowCredentials",
           "expected 'true' in CORS header 'Access-Control-Allow-Credentials'",
           "The request includes credentials but Access-Control-Allow-Credentials is not exactly 'true'.",
           "Send Access-Control-Allow-Credentials: true (lowercase)."),
    Reason("CorsDisabledScheme", 8, False,
           "Cross origin requests are only supported for protocol schemes: http, https, data, chrome-extension, chrome-untrusted, isolated-app.",
           "CORSRequestNotHttp", "CORS request not HTTP", "The URL's scheme does not support CORS.",
           "Serve the resource over http(s)."),
    Reason("PreflightInvalidStatus", 9, True, "It does not have HTTP ok status.", "CORSPreflightDidNotSucceed",
           "CORS preflight response did not succeed",
           "The preflight (OPTIONS) got a status outside 200-299 (a 300, or a 3xx without Location, is no redirect).",
           "Answer the OPTIONS preflight with 204 (or 200) before any auth or routing layer rejects it."),
    Reason("PreflightDisallowedRedirect", 10, True, "Redirect is not allowed for a preflight request.",
           "CORSExternalRedirectNotAllowed", "CORS request external redirect not allowed",
           "The preflight (OPTIONS) was redirected (301, 302, 303, 307, 308 with a Location); browsers never follow it.",
           "Answer OPTIONS at this URL itself (no http->https, trailing-slash or login redirects for OPTIONS)."),
    Reason("PreflightWildcardOriginNotAllowed", 11, True, _WILDCARD, "CORSNotSupportingCredentials",
           "Credential is not supported if the CORS header 'Access-Control-Allow-Origin' is '*'",
           "The preflight response allows '*' but the actual request will include credentials.",
           "On the OPTIONS response echo the Origin, add Access-Control-Allow-Credentials: true and Vary: Origin."),
    Reason("PreflightMissingAllowOriginHeader", 12, True, _MISSING, "CORSMissingAllowOrigin",
           "CORS header 'Access-Control-Allow-Origin' missing",
           "The preflight (OPTIONS) response has no Access-Control-Allow-Origin header.",
           "Answer OPTIONS with Access-Control-Allow-Origin (and the Allow-Methods/-Headers the request needs)."),
    Reason("PreflightMultipleAllowOriginValues", 13, True, _MULTIPLE, "CORSMultipleAllowOriginNotAllowed",
           "Multiple CORS header 'Access-Control-Allow-Origin' not allowed",
           "The preflight's Access-Control-Allow-Origin holds several values.",
           "Send exactly one origin on the OPTIONS response.", fetch_hint=True),
    Reason("PreflightInvalidAllowOriginValue", 14, True, _INVALID, "CORSAllowOriginNotMatchingOrigin",
           "CORS header 'Access-Control-Allow-Origin' does not match '{p}'",
           "The preflight's Access-Control-Allow-Origin is not a serialized origin.",
           "Echo the request's Origin on the OPTIONS response.", fetch_hint=True),
    Reason("PreflightAllowOriginMismatch", 15, True, _MISMATCH, "CORSAllowOriginNotMatchingOrigin",
           "CORS header 'Access-Control-Allow-Origin' does not match '{p}'",
           "The preflight's Access-Control-Allow-Origin names another origin.",
           "Echo the request's Origin on the OPTIONS response.", fetch_hint=True),
    Reason("PreflightInvalidAllowCredentials", 16, True, _CREDS, "CORSMissingAllowCredentials",
           "expected 'true' in CORS header 'Access-Control-Allow-Credentials'",
           "The actual request will include credentials but the preflight response lacks Access-Control-Allow-Credentials: true.",
           "Send Access-Control-Allow-Credentials: true on the OPTIONS response too."),
    Reason("InvalidAllowMethodsPreflightResponse", 17, False,
           "Cannot parse Access-Control-Allow-Methods response header field in preflight response.",
           "CORSInvalidAllowMethod", "invalid token '{p}' in CORS header 'Access-Control-Allow-Methods'",
           "Access-Control-Allow-Methods is not a comma-separated list of tokens.",
           "Send a comma-separated list of method names."),
    Reason("InvalidAllowHeadersPreflightResponse", 18, False,
           "Cannot parse Access-Control-Allow-Headers response header field in preflight response.",
           "CORSInvalidAllowHeader", "invalid token '{p}' in CORS header 'Access-Control-Allow-Headers'",
           "Access-Control-Allow-Headers is not a comma-separated list of tokens.",
           "Send a comma-separated list of header names."),
    Reason("MethodDisallowedByPreflightResponse", 19, False,
           "Method {p} is not allowed by Access-Control-Allow-Methods in preflight response.",
           "CORSMethodNotFound", "Did not find method in CORS header 'Access-Control-Allow-Methods'",
           "The preflight response does not list the method (case-sensitive; '*' does not count with credentials).",
           "List the method, in the exact case the page sends, in Access-Control-Allow-Methods."),
    Reason("HeaderDisallowedByPreflightResponse", 20, False,
           "Request header field {p} is not allowed by Access-Control-Allow-Headers in preflight response.",
           "CORSMissingAllowHeaderFromPreflight",
           "header '{p}' is not allowed according to header 'Access-Control-Allow-Headers' from CORS preflight response",
           "The preflight response does not list a header the page sets ('*' does not count with credentials).",
           "List every requested header in Access-Control-Allow-Headers."),
    Reason("RedirectContainsCredentials", 21, False,
           "Redirect location '' contains a username and password, which is disallowed for cross-origin requests.",
           "CORSDidNotSucceed", "CORS request did not succeed",
           "A redirect's Location carries a user name or password (an empty http://@host/ is none); CORS requests may not follow it.",
           "Remove the userinfo from the Location URL."),
    Reason("InsecureLocalNetwork", 22, False,
           "The request client is not a secure context and the resource is in more-private address space `{p}`.",
           "", "", "Local Network Access: a non-secure page asked for a more private address.",
           "Serve the page over HTTPS; the user must grant local network access."),
    Reason("InvalidLocalNetworkAccess", 23, False,
           "Request had a target IP address space of `{p}` yet the resource is in address space `unknown`.",
           "", "", "Local Network Access: the targetAddressSpace does not match.", "Fix targetAddressSpace."),
    Reason("LocalNetworkAccessPermissionDenied", 24, False,
           "Permission was denied for this request to access the `{p}` address space.",
           "", "", "Local Network Access permission was not granted.", "The user must grant the permission."),
]

REASONS: dict[str, Reason] = {r.name: r for r in _ALL}

# CheckAccess errors and their preflight variants (`CheckPreflightAccess`).
PREFLIGHT_VARIANT = {
    "WildcardOriginNotAllowed": "PreflightWildcardOriginNotAllowed",
    "MissingAllowOriginHeader": "PreflightMissingAllowOriginHeader",
    "MultipleAllowOriginValues": "PreflightMultipleAllowOriginValues",
    "InvalidAllowOriginValue": "PreflightInvalidAllowOriginValue",
    "AllowOriginMismatch": "PreflightAllowOriginMismatch",
    "InvalidAllowCredentials": "PreflightInvalidAllowCredentials",
}

# Deprecation Chromium reports (not an error) when '*' in Access-Control-Allow-Headers covers Authorization.
AUTHORIZATION_COVERED_BY_WILDCARD = "AuthorizationCoveredByWildcard"


@memoized()  # a failing server fails the same way each time
def console_text(reason: str, parameter: str | None, initiator: str = "fetch") -> str:
    """`REASONS[reason].console_text(...)`."""
    return REASONS[reason].console_text(parameter, initiator)
