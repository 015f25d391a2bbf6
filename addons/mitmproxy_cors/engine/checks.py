"""The checks the browser made on one response, each with what was needed and what was seen.

`checks_of(exchange, verdict)` lists them in the order Chromium makes them (`CheckAccess`, then for
a preflight `PreflightResult` and `EnsureAllowedRequest`): Access-Control-Allow-Origin,
-Allow-Credentials, the status, and for a preflight the redirect, -Allow-Methods, -Allow-Headers and
-Max-Age; for an actual response the redirect and what the page may read (-Expose-Headers).

Which checks failed comes from the verdict (its `failures`, its `conditional` outcome and its fix
steps): this module decides nothing the verdict has not decided; it lays out the evidence. A
check's state is one of

    pass   passes as the request was sent
    fail   fails (the verdict names it, or the fix must change it)
    cond   passes only without credentials: fails if the page sends them
    skip   not reached (the browser stopped earlier)
    info   not a pass/fail check (the status of an actual response, what is cached, what is readable)

Pure: no mitmproxy, no I/O.
"""

from __future__ import annotations

from typing import NamedTuple

from .model import Exchange, Headers
from .preflight_check import CHROMIUM_MAX_AGE_CAP, parse_max_age
from .redirect_check import redirect_location
from .safelist import cors_unsafe_request_header_names, is_cors_safelisted_method, preflight_reasons
from .verdict import Verdict

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ACEH = "Access-Control-Expose-Headers"
MAX_AGE = "Access-Control-Max-Age"
STATES = ("pass", "fail", "cond", "skip", "info")

_ACAO_REASONS = ("WildcardOriginNotAllowed", "MissingAllowOriginHeader", "MultipleAllowOriginValues",
                 "InvalidAllowOriginValue", "AllowOriginMismatch")
# Which check each CorsError belongs to.
CHECK_OF_REASON: dict[str, str] = {}
for _r in _ACAO_REASONS:
    CHECK_OF_REASON[_r] = CHECK_OF_REASON["Preflight" + _r] = "acao"
CHECK_OF_REASON.update({
    "InvalidAllowCredentials": "acac", "PreflightInvalidAllowCredentials": "acac",
    "PreflightInvalidStatus": "status",
    "PreflightDisallowedRedirect": "redirect", "RedirectContainsCredentials": "redirect",
    "InvalidAllowMethodsPreflightResponse": "acam", "MethodDisallowedByPreflightResponse": "acam",
    "InvalidAllowHeadersPreflightResponse": "acah", "HeaderDisallowedByPreflightResponse": "acah",
})


class Check(NamedTuple):
    """One check: `name` (a header, "status" or "redirect"), its `state` (see STATES), `result` in
    words, what was `needed` and what was `seen` on the response, and further `details`. A tuple:
    a CORS flow has four to seven of them."""

    name: str
    state: str
    result: str
    needed: str | None = None
    seen: str | None = None
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = {"check": self.name, "state": self.state, "result": self.result, "needed": self.needed,
             "seen": self.seen}
        if self.details:  # rare: one list less per check on every CORS flow's metadata
            d["details"] = list(self.details)
        return d


def _q(value: str | None) -> str:
    return "(absent)" if value is None else f"'{value}'"


def seen_text(headers: Headers | None, name: str) -> str:
    """A header as the response carried it: each line quoted, repeated lines counted."""
    if headers is None:
        return "(no response)"
    lines = headers.get_all(name)
    if not lines:
        return "(absent)"
    if len(lines) == 1:
        return _q(lines[0].strip(" \t"))
    return " + ".join(_q(x.strip(" \t")) for x in lines) + f"  ({len(lines)} header lines)"


def preflight_needed_for(ex: Exchange) -> tuple[str, ...]:
    """Why a CORS request needed a preflight: its unsafe method and headers (empty: it needed none)."""
    req = ex.request
    return preflight_reasons(req.method, cors_unsafe_request_header_names(req.headers))


def checks_of(ex: Exchange, v: Verdict) -> tuple[Check, ...]:
    """The checks on this flow's response; empty where CORS checks nothing (no-cors, same-origin,
    navigations) or where no response reached the browser and the verdict names no reason."""
    if v.kind not in ("preflight", "actual", "simple") or (ex.response is None and not v.reason):
        return ()
    return tuple(_Checks(ex, v).run())


class _Checks:
    def __init__(self, ex: Exchange, v: Verdict) -> None:
        self.ex, self.v = ex, v
        self.failed = {CHECK_OF_REASON.get(f.reason) for f in v.failures}
        cond = v.conditional or {}
        self.cond = CHECK_OF_REASON.get(cond.get("reason") or "")
        self.cond_fix = " ".join(cond.get("fix") or [])
        self.fix_headers = {(s.header or "").lower() for s in v.fix if s.required}
        self.out: list[Check] = []

    def state(self, check: str, header: str | None = None) -> str:
        if check in self.failed or (header and header.lower() in self.fix_headers):
            return "fail"
        if check == self.cond or (header and header in self.cond_fix):
            return "cond"
        return "pass"

    def add(self, state: str, name: str, result: str, needed: str | None = None, seen: str | None = None,
            details: tuple[str, ...] = ()) -> None:
        self.out.append(Check(name, state, result, needed, seen, details))

    def run(self) -> list[Check]:
        v, resp = self.v, self.ex.response
        headers = resp.headers if resp is not None else None
        origin = v.origin or "null"
        creds = v.credentials or "unknown"
        preflight = v.kind == "preflight"
        location = headers.get("Location") if headers is not None else None
        redirected = resp is not None and redirect_location(self.ex.request.url, resp.status, headers) is not None
        if preflight and redirected:
            self.add("fail" if "redirect" in self.failed else "pass", "redirect",
                     "a preflight must not be redirected", "a 2xx answer at this URL", f"{resp.status} to {location}")
            self.add("skip", "the other checks", "not reached (the browser stops at the redirect)")
            return self.out

        # 1. Access-Control-Allow-Origin (and the wildcard rule)
        if creds == "include":
            needed = f"'{origin}' exactly (credentials are included, so '*' is refused)"
        elif creds == "omit":
            needed = f"'{origin}' or '*'"
        else:
            needed = f"'{origin}' or '*' ('*' fails if the page sends credentials)"
        st = self.state("acao")
        if st == "pass" and creds == "unknown" and headers is not None and headers.get(ACAO) == "*":
            st = "cond"
        self.add(st, ACAO, {"pass": "passes", "fail": "fails", "cond": "passes without credentials only"}[st],
                 needed, seen_text(headers, ACAO))

        # 2. Access-Control-Allow-Credentials
        st = self.state("acac", ACAC)
        if creds == "include":
            needed = "'true' (exactly, lowercase)"
        elif creds == "omit":
            needed = "nothing (the request carries no credentials)"
            st = "info" if st == "pass" else st
        else:
            needed = "'true' only if the page sends credentials"
            acac = headers.get(ACAC) if headers is not None else None
            if st == "pass" and (acac or "").strip() != "true":
                st = "cond"
        if st == "fail" and "acac" not in self.failed:
            result = "must be fixed too (Chromium checks it after Access-Control-Allow-Origin)"
        else:
            result = {"pass": "passes", "fail": "fails", "cond": "fails if the page sends credentials",
                      "info": "not needed"}[st]
        self.add(st, ACAC, result, needed, seen_text(headers, ACAC))

        # 3. Status
        if preflight:
            st = "fail" if "status" in self.failed else "pass"
            self.add(st, "status", "passes" if st == "pass" else "fails", "2xx (200-299)",
                     str(resp.status) if resp is not None else "502 (from mitmproxy)")
            self._preflight_lists(headers)
            return self.out
        code = resp.status if resp is not None else 502
        self.add("info", "status", f"{code}: any status passes the CORS check; the page sees it"
                 + (" (an error page: fix the server error too)" if code >= 400 else ""))
        if redirected:
            st = "fail" if "redirect" in self.failed else "info"
            self.add(st, "redirect", f"to {location}" + (
                ": refused, the Location carries user:password@" if st == "fail"
                else ": the browser follows it and checks the next response on its own"))
        elif v.verdict == "allowed" and (v.exposed_headers is not None or v.unexposed_headers is not None):
            details = [f"readable by the page: {', '.join(v.exposed_headers or ()) or '(none)'}"]
            if v.unexposed_headers:
                details.append(f"hidden from the page: {', '.join(v.unexposed_headers)}")
            self.add("info", ACEH, "which response headers the page can read", None,
                     seen_text(headers, ACEH), tuple(details))
        return self.out

    def _preflight_lists(self, headers: Headers | None) -> None:
        req = self.ex.request
        acrm = req.headers.get("Access-Control-Request-Method")
        acrh_raw = req.headers.get("Access-Control-Request-Headers")
        acrh = [h.strip().lower() for h in (acrh_raw or "").split(",") if h.strip()]
        words = {"pass": "passes", "fail": "fails", "cond": "passes without credentials only"}

        st = self.state("acam")
        if acrm and is_cors_safelisted_method(acrm):
            needed = f"nothing: {acrm} is a safelisted method"
        else:
            needed = f"'{acrm}' listed (case-sensitive); '*' counts only without credentials"
        self.add(st, ACAM, words[st], needed, seen_text(headers, ACAM))

        st = self.state("acah")
        if not acrh:
            needed = "nothing: the page asked for no unsafe headers"
        else:
            needed = (f"'{', '.join(acrh)}' listed (any case); '*' counts only without credentials "
                      "and never covers Authorization")
        self.add(st, ACAH, words[st], needed, seen_text(headers, ACAH))

        raw = headers.get(MAX_AGE) if headers is not None else None
        seconds, _note = parse_max_age(raw)
        if self.v.verdict == "blocked":
            text = "nothing is cached: the preflight failed"
        elif seconds <= 0:
            text = "the browser does not cache this preflight"
        else:
            text = f"Chromium caches this preflight for {seconds:g} s"
            if raw is None:
                text += " (the default without the header)"
            elif seconds == CHROMIUM_MAX_AGE_CAP:
                text += " (its cap)"
        self.add("info", MAX_AGE, text, None, seen_text(headers, MAX_AGE))
