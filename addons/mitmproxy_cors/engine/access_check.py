"""The CORS check on a response: Access-Control-Allow-Origin and -Allow-Credentials.

Follows Chromium's `network::cors::CheckAccess` (services/network/public/cpp/cors/cors.cc), which
classifies a mismatch more finely than the Fetch Standard's "CORS check".
"""

from __future__ import annotations

from functools import lru_cache

from .model import Headers
from .syntax import is_valid_url
from .verdict import Failure, FixStep

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


def access_failures(headers: Headers, origin: str, include: bool, response: str) -> list[Failure]:
    """All that is wrong with ACAO/ACAC on one response, the first as Chromium names it.

    The browser reports one error, but a server that sends `*` with credentials and no
    Access-Control-Allow-Credentials must fix both headers, so the fix lists both.
    """
    acao_lines = headers.get_all(ACAO)
    acao = headers.get(ACAO)
    acac = headers.get(ACAC)
    first = check_access(acao, acac, origin, include)
    if first is None:
        return []
    reason, parameter = first
    steps: list[FixStep] = []
    if reason != "InvalidAllowCredentials":
        action = "add" if not acao_lines else "set"
        why = "one line, exactly the request's Origin"
        if reason == "WildcardOriginNotAllowed":
            why = "'*' is refused for credentialed requests; echo the allowed origin"
        steps.append(FixStep(response, action, ACAO, origin, why))
        if include and acac != "true":
            steps.append(FixStep(response, "add" if acac is None else "set", ACAC, "true",
                                 "the request includes credentials"))
    else:
        steps.append(FixStep(response, "add" if acac is None else "set", ACAC, "true",
                             "must be exactly 'true' when credentials are included"))
    if origin != "null" and not _varies_on_origin(headers):
        steps.append(FixStep(response, "add", "Vary", "Origin",
                             "the allowed origin depends on the request", required=False))
    return [Failure(reason, parameter, steps)]


def _varies_on_origin(headers: Headers) -> bool:
    vary = headers.get("Vary") or ""
    # Servers send a handful of distinct Vary values: remember the short ones.
    return _vary_names_origin_cached(vary) if len(vary) <= 256 else _vary_names_origin(vary)


def _vary_names_origin(vary: str) -> bool:
    return any(v.strip().lower() in ("origin", "*") for v in vary.split(","))


_vary_names_origin_cached = lru_cache(maxsize=256)(_vary_names_origin)


def varies_on_origin(headers: Headers) -> bool:
    return _varies_on_origin(headers)
