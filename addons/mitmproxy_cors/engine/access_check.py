"""The CORS check on a response: Access-Control-Allow-Origin and -Allow-Credentials.

Follows Chromium's `network::cors::CheckAccess` (services/network/public/cpp/cors/cors.cc), which
classifies a mismatch more finely than the Fetch Standard's "CORS check".
"""

from __future__ import annotations

from functools import lru_cache

from .model import Headers, normalized
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
        if not (_is_valid_url_cached(acao) if len(acao) <= _CACHE_KEY_MAX else is_valid_url(acao)):
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
    return _failures(*_allow_values(headers), headers, origin, include, response)


def access_failures_both(headers: Headers, origin: str, response: str) -> tuple[list[Failure], list[Failure]]:
    """`access_failures` without and with credentials, reading the headers once."""
    acao, acac = _allow_values(headers)
    return (_failures(acao, acac, headers, origin, False, response),
            _failures(acao, acac, headers, origin, True, response))


def _allow_values(headers: Headers) -> tuple[str | None, str | None]:
    """Access-Control-Allow-Origin and -Credentials, normalized (None when absent)."""
    index = headers.by_name
    return (normalized(index.get("access-control-allow-origin")),
            normalized(index.get("access-control-allow-credentials")))


def _failures(acao: str | None, acac: str | None, headers: Headers, origin: str, include: bool,
              response: str) -> list[Failure]:
    first = check_access(acao, acac, origin, include)
    if first is None:
        return []
    varies = origin == "null" or _varies_on_origin(headers)
    args = (first, acao is None, acac, origin, include, response, varies)
    if len(first[1]) + len(origin) + len(acac or "") > _CACHE_KEY_MAX:
        return [_failure(*args)]  # not cached: a hostile value must not stay in memory
    return [_failure_cached(*args)]


_CACHE_KEY_MAX = 2048
# A misconfigured server sends the same wrong value on every response.
_is_valid_url_cached = lru_cache(maxsize=256)(is_valid_url)


def _failure(first: tuple[str, str], acao_missing: bool, acac: str | None, origin: str, include: bool,
             response: str, varies: bool) -> Failure:
    reason, parameter = first
    steps: list[FixStep] = []
    if reason != "InvalidAllowCredentials":
        why = "one line, exactly the request's Origin"
        if reason == "WildcardOriginNotAllowed":
            why = "'*' is refused for credentialed requests; echo the allowed origin"
        steps.append(FixStep(response, "add" if acao_missing else "set", ACAO, origin, why))
        if include and acac != "true":
            steps.append(FixStep(response, "add" if acac is None else "set", ACAC, "true",
                                 "the request includes credentials"))
    else:
        steps.append(FixStep(response, "add" if acac is None else "set", ACAC, "true",
                             "must be exactly 'true' when credentials are included"))
    if not varies:
        steps.append(FixStep(response, "add", "Vary", "Origin",
                             "the allowed origin depends on the request", required=False))
    return Failure(reason, parameter, steps)


# A server answers an origin the same way every time, so the same failure recurs: it is built once
# and shared. Failures and their fix steps are never modified after they are made.
_failure_cached = lru_cache(maxsize=1024)(_failure)


def _varies_on_origin(headers: Headers) -> bool:
    vary = normalized(headers.by_name.get("vary")) or ""
    # Servers send a handful of distinct Vary values: remember the short ones.
    return _vary_names_origin_cached(vary) if len(vary) <= 256 else _vary_names_origin(vary)


def _vary_names_origin(vary: str) -> bool:
    return any(v.strip().lower() in ("origin", "*") for v in vary.split(","))


_vary_names_origin_cached = lru_cache(maxsize=256)(_vary_names_origin)


def varies_on_origin(headers: Headers) -> bool:
    return _varies_on_origin(headers)
