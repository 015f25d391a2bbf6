"""The CORS check on a response: Access-Control-Allow-Origin and -Allow-Credentials.

Follows Chromium's `network::cors::CheckAccess` (services/network/public/cpp/cors/cors.cc), which
classifies a mismatch more finely than the Fetch Standard's CORS check
(https://fetch.spec.whatwg.org/#cors-check).
"""

from __future__ import annotations

from .memo import memoized
from .model import Headers, normalized
from .reasons import PREFLIGHT_VARIANT
from .syntax import is_valid_url
from .verdict import Failure, FixStep, Outcome

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"


def check_access(acao: str | None, acac: str | None, origin: str, include: bool) -> tuple[str, str] | None:
    """`CheckAccess`: None if the response passes, else (CorsError, failedParameter).

    `acao` is the normalized header (trimmed, repeated lines joined with ", "); `origin` the
    request origin's serialization ("null" when opaque or redirect-tainted).
    """
    if acao == "*":
        if not include:
            return None
        return ("WildcardOriginNotAllowed", "")
    if acao is None:
        return ("MissingAllowOriginHeader", "")
    if acao != origin:
        if " " in acao or "," in acao:
            return ("MultipleAllowOriginValues", acao)
        if acao == "null":
            return ("AllowOriginMismatch", acao)
        if not is_valid_url(acao):
            return ("InvalidAllowOriginValue", acao)
        return ("AllowOriginMismatch", acao)
    if include and acac != "true":
        return ("InvalidAllowCredentials", acac if acac is not None else "")
    return None


def access_failures(headers: Headers, origin: str, include: bool, response: str) -> tuple[Failure, ...]:
    """All that is wrong with ACAO/ACAC on one response, the first as Chromium names it.

    The browser reports one error, but a server that sends `*` with credentials and no
    Access-Control-Allow-Credentials must fix both headers, so the fix lists both. On a preflight
    (`response` "preflight") the reason is the Preflight... variant, as `CheckPreflightAccess`
    names it.
    """
    return access_outcomes(headers, origin, response)[include].failures


def access_outcomes(headers: Headers, origin: str, response: str) -> tuple[Outcome, Outcome]:
    """The access check without and with credentials."""
    index = headers.by_name
    return outcomes_of(normalized(index.get("access-control-allow-origin")),
                       normalized(index.get("access-control-allow-credentials")), origin, response,
                       normalized(index.get("vary")) or "")


# A server answers an origin the same way every time: the same header values are checked again and
# again, and the same failures recur (made once, shared).
@memoized()
def outcomes_of(acao: str | None, acac: str | None, origin: str, response: str,
                vary: str) -> tuple[Outcome, Outcome]:
    """`access_outcomes` for the normalized header values (Vary "" when absent)."""
    return (Outcome(_failures(acao, acac, origin, False, response, vary)),
            Outcome(_failures(acao, acac, origin, True, response, vary)))


def _failures(acao: str | None, acac: str | None, origin: str, include: bool, response: str,
              vary: str) -> tuple[Failure, ...]:
    first = check_access(acao, acac, origin, include)
    if first is None:
        return ()
    reason, parameter = first
    steps: list[FixStep] = []
    if reason != "InvalidAllowCredentials":
        why = "one line, exactly the request's Origin"
        if reason == "WildcardOriginNotAllowed":
            why = "'*' is refused for credentialed requests; echo the allowed origin"
        steps.append(FixStep(response, "add" if acao is None else "set", ACAO, origin, why))
        if include and acac != "true":
            steps.append(FixStep(response, "add" if acac is None else "set", ACAC, "true",
                                 "the request includes credentials"))
    else:
        steps.append(FixStep(response, "add" if acac is None else "set", ACAC, "true",
                             "must be exactly 'true' when credentials are included"))
    if origin != "null" and not _vary_names_origin(vary):
        steps.append(FixStep(response, "add", "Vary", "Origin",
                             "the allowed origin depends on the request", required=False))
    if response == "preflight":
        reason = PREFLIGHT_VARIANT[reason]
    return (Failure(reason, parameter, tuple(steps)),)


def varies_on_origin(headers: Headers) -> bool:
    """Whether the response's Vary names Origin (or is `*`)."""
    return _vary_names_origin(normalized(headers.by_name.get("vary")) or "")


@memoized()  # servers send a handful of distinct Vary values
def _vary_names_origin(vary: str) -> bool:
    return any(v.strip().lower() in ("origin", "*") for v in vary.split(","))
