"""Checking a CORS-preflight response, in the order Chromium checks it.

Follows Chromium's `network::cors::PreflightController` (`CreatePreflightResult`,
`CheckPreflightAccess`, `CheckPreflightResult`; services/network/cors/preflight_controller.cc) and
`PreflightResult` (services/network/cors/preflight_result.cc); the Fetch Standard's CORS-preflight
fetch is https://fetch.spec.whatwg.org/#cors-preflight-fetch:

1. any redirect -> PreflightDisallowedRedirect (nothing else is looked at);
2. ACAO/ACAC with the *actual* request's credentials mode -> Preflight* variants; only if they
   pass does a non-2xx status give PreflightInvalidStatus;
3. parse Access-Control-Allow-Methods, then -Allow-Headers (every item a token);
4. the method, then each CORS-unsafe header in Access-Control-Request-Headers order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .access_check import ACAC, ACAO, outcomes_of
from .blink_header_order import chromium_header_order
from .memo import memoized
from .model import Headers
from .reasons import AUTHORIZATION_COVERED_BY_WILDCARD
from .safelist import SAFELISTED_HEADER_NAMES, is_cors_safelisted_method
from .syntax import parse_token_list
from .verdict import Failure, FixStep, Outcome

ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
MAX_AGE = "Access-Control-Max-Age"

CHROMIUM_DEFAULT_MAX_AGE = 5
CHROMIUM_MAX_AGE_CAP = 7200
FIREFOX_MAX_AGE_CAP = 86400
_INT64 = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """What a passing preflight allows (Chromium's `PreflightResult`)."""

    methods: frozenset[str]  # case kept
    headers: frozenset[str]  # lowercased
    include: bool  # made for a credentialed request
    max_age: float  # seconds, after Chromium's default and cap

    def allows(self, method: str, unsafe_headers: Sequence[str], include: bool) -> bool:
        """`PreflightResult::EnsureAllowedRequest` as the cache lookup uses it.

        The lookup uses the strict variant: '*' never covers Authorization, so such requests
        are never cache hits in Chromium.
        """
        if include and not self.include:
            return False
        if not (method in self.methods or is_cors_safelisted_method(method)
                or ("*" in self.methods and not self.include)):
            return False
        if "*" in self.headers and not self.include:
            return "authorization" not in unsafe_headers or "authorization" in self.headers
        return all(h in self.headers for h in unsafe_headers)


def parse_max_age(value: str | None) -> tuple[float, str | None]:
    """`ParseAccessControlMaxAge`: absent or not an int64 -> 5 s; negative -> 0; capped at 7200 s.

    Returns (seconds, note for where Firefox differs).
    """
    if value is None:
        return CHROMIUM_DEFAULT_MAX_AGE, None
    if len(value) > 20 or not _INT64.fullmatch(value) or not (-(2**63) <= int(value) < 2**63):
        return CHROMIUM_DEFAULT_MAX_AGE, (
            f"Access-Control-Max-Age '{value}' is not an integer: Chromium caches for 5 s, Firefox not at all"
        )
    seconds = int(value)
    if seconds < 0:
        return 0, None
    if seconds >= CHROMIUM_MAX_AGE_CAP:
        note = None
        if seconds > CHROMIUM_MAX_AGE_CAP:
            note = (f"Access-Control-Max-Age {seconds} is capped at 7200 s by Chromium "
                    f"(Firefox: {min(seconds, FIREFOX_MAX_AGE_CAP)} s)")
        return CHROMIUM_MAX_AGE_CAP, note
    return seconds, None


def chromium_check_order(unsafe_headers: Sequence[str], method: str, trustworthy: bool) -> list[str]:
    """Access-Control-Request-Headers (sorted) in the order Chromium checks them.

    Chromium walks `CorsUnsafeNotForbiddenRequestHeaderNames(request.headers)`: the unsafe names
    in Blink's header-map order, then, if the safelisted values passed 1024 bytes, the safelisted
    names. The preflight shows only the names it lists, so two guesses fill the gaps: a POST, PUT
    or PATCH that does not list Content-Type still has one from its body; and nine or more
    safelistable names (each value at most 128 bytes) can only be there by the 1024-byte rule.
    """
    names = list(unsafe_headers)
    page_names = names + (["content-type"] if method.upper() in ("POST", "PUT", "PATCH")
                          and "content-type" not in names else [])
    listed = set(names)
    order = [n for n in chromium_header_order(page_names, ua_client_hints=trustworthy) if n in listed]
    if sum(n in SAFELISTED_HEADER_NAMES for n in names) >= 9:
        order = ([n for n in order if n not in SAFELISTED_HEADER_NAMES]
                 + [n for n in order if n in SAFELISTED_HEADER_NAMES])
    return order


Checked = tuple[Outcome, PreflightResult | None]  # a preflight response judged one way

_REDIRECTED = Outcome((Failure("PreflightDisallowedRedirect", "", (
    FixStep("preflight", "no-redirect", None, None, "browsers never follow redirects of a preflight"),)),))


def check_preflight(
    *,
    status: int,
    headers: Headers,
    origin: str,
    include: bool,
    method: str,
    unsafe_headers: Sequence[str],
    redirected: bool,
    trustworthy: bool = True,
) -> Checked:
    """All failed checks of one preflight response, plus what it allows if it passes."""
    return check_preflight_both(status=status, headers=headers, origin=origin, method=method,
                                unsafe_headers=unsafe_headers, redirected=redirected,
                                trustworthy=trustworthy)[include]


def check_preflight_both(*, status: int, headers: Headers, origin: str, method: str,
                         unsafe_headers: Sequence[str], redirected: bool,
                         trustworthy: bool = True, xhr_order: Sequence[str] | None = None) -> tuple[Checked, Checked]:
    """`check_preflight` for a page that sends no credentials, and for one that does. `xhr_order`:
    the names an XMLHttpRequest set, in its call order (the page probe), which decides the header
    Chromium names; without it the order is worked out as for fetch()."""
    if redirected:
        return (_REDIRECTED, None), (_REDIRECTED, None)
    get = headers.get
    return _checked_both(status, get(ACAO), get(ACAC), get("Vary") or "", get(ACAM), get(ACAH),
                         get(MAX_AGE), origin, method, tuple(unsafe_headers), trustworthy,
                         tuple(xhr_order) if xhr_order is not None else None)


# A server answers the same preflight the same way every time, and pages repeat their preflights.
@memoized()
def _checked_both(status: int, acao: str | None, acac: str | None, vary: str, acam: str | None,
                  acah: str | None, max_age: str | None, origin: str, method: str,
                  unsafe_headers: tuple[str, ...], trustworthy: bool,
                  xhr_order: tuple[str, ...] | None = None) -> tuple[Checked, Checked]:
    """`check_preflight_both` for the normalized header values (Vary "" when absent)."""
    access = outcomes_of(acao, acac, origin, "preflight", vary)
    methods, bad_method = parse_token_list(acam, lower=False)
    allow_headers, bad_header = parse_token_list(acah, lower=True)
    return tuple(_checked(access[include].failures, status, methods, bad_method, allow_headers, bad_header,
                          max_age, include, method, unsafe_headers, trustworthy, xhr_order)
                 for include in (False, True))


def _checked(access_failures: tuple[Failure, ...], status: int, methods: list[str], bad_method: str | None,
             allow_headers: list[str], bad_header: str | None, max_age_value: str | None, include: bool,
             method: str, unsafe_headers: tuple[str, ...], trustworthy: bool,
             xhr_order: tuple[str, ...] | None = None) -> Checked:
    failures: list[Failure] = list(access_failures)
    warnings: list[str] = []
    if not 200 <= status <= 299:
        failures.append(Failure("PreflightInvalidStatus", "", (
            FixStep("preflight", "status", None, "204", f"the preflight got {status}; it must be 2xx"),)))

    if bad_method is not None:
        failures.append(Failure("InvalidAllowMethodsPreflightResponse", "", (
            FixStep("preflight", "set", ACAM, method, f"'{bad_method}' is not a method token"),)))
    if bad_header is not None:
        wanted = ",".join(unsafe_headers) or "<the headers you need>"
        failures.append(Failure("InvalidAllowHeadersPreflightResponse", "", (
            FixStep("preflight", "set", ACAH, wanted, f"'{bad_header}' is not a header-name token"),)))

    method_ok = (method in methods or is_cors_safelisted_method(method)
                 or ("*" in methods and not include))
    if not method_ok and bad_method is None:
        why = "methods are compared case-sensitively"
        if "*" in methods and include:
            why = "'*' is a literal method name when credentials are included"
        keep = [m for m in methods if m != "*" or not include]
        failures.append(Failure("MethodDisallowedByPreflightResponse", method, (
            FixStep("preflight", "set" if methods else "add", ACAM, ", ".join(keep + [method]), why),)))

    header_set = set(allow_headers)
    if "*" in header_set and not include:
        if "authorization" in unsafe_headers and "authorization" not in header_set:
            warnings.append(
                f"{AUTHORIZATION_COVERED_BY_WILDCARD}: '*' in {ACAH} covers Authorization only by a "
                "Chromium/Firefox deviation the spec forbids; list Authorization explicitly "
                "(Chromium sends a new preflight for every such request)")
    elif bad_header is None:
        missing = [h for h in unsafe_headers if h not in header_set]
        if len(missing) > 1:  # which one Chromium names depends on its internal header order
            order = (chromium_header_order(xhr_order, ua_client_hints=trustworthy, xhr=True) if xhr_order is not None
                     else chromium_check_order(unsafe_headers, method, trustworthy))
            missing = [h for h in order if h in missing] + [h for h in missing if h not in order]
        if missing:
            why = "listed names are compared case-insensitively"
            if "*" in header_set and include:
                why = "'*' is a literal header name when credentials are included"
            keep = [h for h in allow_headers if h != "*" or not include]
            failures.append(Failure("HeaderDisallowedByPreflightResponse", missing[0], (
                FixStep("preflight", "set" if allow_headers else "add", ACAH,
                        ", ".join(keep + missing), why),)))

    if failures:
        return Outcome(tuple(failures), tuple(warnings)), None
    max_age, note = parse_max_age(max_age_value)
    if note:
        warnings.append(note)
    return Outcome((), tuple(warnings)), PreflightResult(
        frozenset(methods), frozenset(header_set), include, max_age)
