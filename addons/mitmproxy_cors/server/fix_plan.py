"""The smallest change to one response that makes the browser allow its request (`cors_fix`).

Computed from the request and the server's response alone (no pairing state), with the engine's
pure checks (`classify`, `credentials_evidence`, `access_failures`, `check_preflight`):

* A CORS preflight that fails is **answered by the proxy**: 204 with exactly the headers the
  request needs: Access-Control-Allow-Origin (the request's Origin), -Allow-Credentials: true,
  -Allow-Methods (the requested method, unless it is safelisted), -Allow-Headers (the requested
  headers), -Allow-Private-Network when asked, and Vary: Origin.
* An actual CORS response that fails gets Access-Control-Allow-Origin and -Allow-Credentials set
  (one line each), Vary: Origin added, and a broken Access-Control-Expose-Headers corrected
  (``*`` is a literal name under credentials; an invalid item exposes nothing).

Credentials: a preflight never carries them and an actual request without a Cookie may still be
``credentials: 'include'`` (a cross-site cookie the browser withheld). So the fix is always one
that holds under ``include``, and that is also valid for ``omit``: the Origin is echoed, never
``*``; methods and headers are listed, never ``*``; Access-Control-Allow-Credentials is exactly
``true``. It can therefore never produce what browsers reject.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine.access_check import access_failures
from ..engine.exposure import NEVER_EXPOSED, SAFELISTED_RESPONSE_HEADERS
from ..engine.model import Headers, RequestSnapshot
from ..engine.origin import origin_of_url, parse_origin_header
from ..engine.preflight_check import check_preflight
from ..engine.redirect_check import has_userinfo, location_scheme, redirect_location
from ..engine.request_mode import classify, credentials_evidence
from ..engine.safelist import is_cors_safelisted_method, needs_preflight
from ..engine.syntax import is_token, split_list
from ..engine.verdict import Outcome
from .headers import (ACAC, ACAH, ACAM, ACAO, ACAPN, ACEH, ACRPN, CORS_RESPONSE_HEADERS, add_vary, get_all,
                      remove_header, set_header)

# Not worth exposing when '*' has to be replaced by a list.
_NOT_EXPOSED_BY_WILDCARD = frozenset({
    "date", "server", "connection", "keep-alive", "transfer-encoding", "vary", "content-encoding",
    "access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers",
    "access-control-allow-methods", "access-control-allow-headers", "access-control-max-age",
    "access-control-allow-private-network",
}) | NEVER_EXPOSED | SAFELISTED_RESPONSE_HEADERS


_CORS_LOWER = frozenset(h.lower() for h in CORS_RESPONSE_HEADERS)


@dataclass
class ServerVerdict:
    """The browser's verdict on the server's own response, as far as the wire tells."""

    verdict: str  # "allowed" | "blocked"
    reason: str | None = None
    parameter: str | None = None
    only_with_credentials: bool = False  # allowed as sent, blocked if the page includes credentials

    def text(self) -> str:
        if self.verdict == "allowed":
            return "allowed"
        head = "blocked if credentials are included" if self.only_with_credentials else "blocked"
        return f"{head}, {self.reason}" + (f" ({self.parameter})" if self.parameter else "")


@dataclass
class Requirement:
    """What one flow needs from the server's CORS configuration."""

    kind: str  # "preflight" | "actual"
    url: str
    origin: str
    method: str  # the method the actual request uses (a preflight's Access-Control-Request-Method)
    headers: list[str] = field(default_factory=list)  # request header names to allow (lowercase)
    credentials: bool | None = None  # True: needed; None: not visible on the wire
    expose: list[str] = field(default_factory=list)
    private_network: bool = False
    preflighted: bool = False
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # set when no server CORS configuration can make it pass
    # The CORS headers the server itself sent on this response: existing CORS code that a pasted
    # configuration must replace (Flask-CORS skips responses that already have them) and must not narrow.
    server_cors: list[tuple[str, str]] = field(default_factory=list)
    credentials_seen: bool = False  # the request itself carried credentials (a Cookie, ...), not just may


    def to_dict(self) -> dict:
        # by hand: dataclasses.asdict deep-copies field by field, and this runs for every blocked flow
        return {"kind": self.kind, "url": self.url, "origin": self.origin, "method": self.method,
                "headers": list(self.headers), "credentials": self.credentials, "expose": list(self.expose),
                "private_network": self.private_network, "preflighted": self.preflighted,
                "notes": list(self.notes), "problem": self.problem,
                "server_cors": [list(x) for x in self.server_cors], "credentials_seen": self.credentials_seen}

    @classmethod
    def from_dict(cls, d: dict) -> Requirement:
        r = cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})
        r.server_cors = [tuple(x) for x in r.server_cors]
        return r


@dataclass
class Plan:
    kind: str  # "preflight" | "actual" | "none" (not a CORS exchange)
    action: str = "none"  # "none" | "answer" | "patch" | "unfixable"
    server: ServerVerdict | None = None
    status: int | None = None  # the new status when answering
    headers: list[tuple[str, str]] | None = None  # the new header fields (answer or patch)
    why: str = ""  # unfixable: the reason; otherwise a short description
    requirement: Requirement | None = None

    @property
    def changes_response(self) -> bool:
        return self.action in ("answer", "patch")


def plan(req: RequestSnapshot, status: int, headers: Headers) -> Plan:
    facts = classify(req)
    if facts.kind != "preflight":
        beyond = _redirect_beyond_cors(req, facts, status, headers)
        if beyond is not None:
            return beyond
    if facts.kind == "preflight":
        return _plan_preflight(req, facts, status, headers)
    if facts.kind == "cors":
        return _plan_actual(req, facts, status, headers)
    if facts.kind in ("same-origin", "not-cors") and facts.mode in ("cors", "same-origin"):
        return _plan_same_origin_hop(req, facts, status, headers)
    return Plan("none")


def server_verdict(omit: Outcome, include: Outcome, creds: str) -> ServerVerdict:
    if creds == "include":
        o = include
        return ServerVerdict("blocked", o.reason, o.parameter) if o.blocked else ServerVerdict("allowed")
    if omit.blocked:
        return ServerVerdict("blocked", omit.reason, omit.parameter)
    if include.blocked:
        return ServerVerdict("blocked", include.reason, include.parameter, only_with_credentials=True)
    return ServerVerdict("allowed")


# -- preflights ------------------------------------------------------------------------------------

def _plan_preflight(req: RequestSnapshot, facts, status: int, headers: Headers) -> Plan:
    origin = facts.origin.serialize()
    method = facts.acrm or ""
    asked = list(facts.acrh or [])
    redirected = redirect_location(req.url, status, headers) is not None
    common = dict(status=status, headers=headers, origin=origin, method=method, unsafe_headers=asked,
                  redirected=redirected)
    omit, _ = check_preflight(include=False, **common)
    include, _ = check_preflight(include=True, **common)
    server = server_verdict(omit, include, "unknown")
    private = (req.headers.get(ACRPN) or "").lower() == "true"
    requirement = Requirement("preflight", req.url, origin, method, asked,
                              credentials=True if server.only_with_credentials else None,
                              private_network=private, preflighted=True, server_cors=cors_fields(headers))
    if redirected:
        requirement.notes.append("the preflight was redirected: answer OPTIONS before any redirect "
                                 "(trailing slash, http->https, login)")
    if status in (401, 403):
        requirement.notes.append(f"the preflight got {status}: let OPTIONS through before authentication")
    elif status in (404, 405, 501):
        requirement.notes.append(f"the preflight got {status}: no route answers OPTIONS; the CORS layer must")
    p = Plan("preflight", server=server, requirement=requirement)
    if not include.blocked:
        return p
    hole = credentials_hole(origin, req.url)
    if hole:  # never a grant the audit flags: this origin gets no credentials
        requirement.notes.append(hole)
        requirement.credentials = None
    fields: list[tuple[str, str]] = [(ACAO, origin)] + ([] if hole else [(ACAC, "true")])
    if method and not is_cors_safelisted_method(method):
        fields.append((ACAM, method))
    if asked:
        fields.append((ACAH, ",".join(asked)))
    if private:
        fields.append((ACAPN, "true"))
    fields.append(("Vary", "Origin"))
    check, _ = check_preflight(status=204, headers=Headers(fields), origin=origin, method=method,
                               unsafe_headers=asked, redirected=False, include=not hole)
    if check.blocked:  # cannot happen for a well-formed preflight; never send a broken answer
        p.action, p.why = "unfixable", f"no preflight answer passes ({check.reason})"
        requirement.problem = p.why
        return p
    p.action, p.status, p.headers = "answer", 204, fields
    p.why = f"preflight answered 204 by the proxy (server: {status})"
    return p


# -- redirects the browser refuses whatever the CORS headers ----------------------------------------------

def _redirect_beyond_cors(req: RequestSnapshot, facts, status: int, headers: Headers) -> Plan | None:
    """A redirect to a Location that is not http(s), or (outside a CORS check, which says so itself) one
    with user:password@ on a load Chromium aborts: no CORS header changes it (engine/redirect_check.py,
    measured in Chromium 156)."""
    location = redirect_location(req.url, status, headers)
    if location is None:
        return None
    scheme = location_scheme(location)
    dest = (req.headers.get("Sec-Fetch-Dest") or "").lower()
    if scheme not in ("http", "https"):
        why = (f"the redirect goes to a {scheme}: URL, which the browser does not follow for this load "
               "(net::ERR_UNSAFE_REDIRECT, CorsDisabledScheme or net::ERR_UNKNOWN_URL_SCHEME); no CORS header "
               "can change that: redirect to an http(s) URL")
    elif has_userinfo(location) and dest != "document":
        target, here = origin_of_url(location), origin_of_url(req.url)
        crosses = target is not None and here is not None and not target.same_origin(here)
        if facts.kind == "cors" or (facts.mode in ("cors", "same-origin") and crosses):
            return None  # a CORS check meets it: RedirectContainsCredentials (the plans below)
        why = ("the redirect's Location carries user:password@ and Chromium aborts this load (net::ERR_ABORTED); "
               "no CORS header can change that: redirect to a URL without credentials")
    else:
        return None
    origin = req.headers.get("Origin") or "null"
    requirement = Requirement("actual", req.url, origin, req.method, problem=why)
    return Plan("actual", action="unfixable", server=ServerVerdict("blocked", None), why=why, requirement=requirement)


# -- a same-origin request redirected to another origin -------------------------------------------------

def _plan_same_origin_hop(req: RequestSnapshot, facts, status: int, headers: Headers) -> Plan:
    """Nothing to patch on a same-origin hop, but two redirects no CORS header can rescue."""
    location = redirect_location(req.url, status, headers)
    target = origin_of_url(location) if location else None
    here = origin_of_url(req.url)
    if target is None or here is None or target.same_origin(here):
        return Plan("none")
    if facts.mode == "same-origin":
        reason, why = "DisallowedByMode", ("the page asked for mode: 'same-origin', which refuses a redirect to "
                                           "another origin whatever the headers; change the page or the redirect")
    elif has_userinfo(location):
        reason, why = "RedirectContainsCredentials", (
            "RedirectContainsCredentials: the redirect's Location carries user:password@; no CORS header "
            "allows that; the server must redirect to a URL without credentials")
    else:
        return Plan("none")
    origin = req.headers.get("Origin") or (here.serialize() if here else "null")
    requirement = Requirement("actual", req.url, origin, req.method, problem=why)
    return Plan("actual", action="unfixable", server=ServerVerdict("blocked", reason), why=why,
                requirement=requirement)


# -- actual requests --------------------------------------------------------------------------------

def _plan_actual(req: RequestSnapshot, facts, status: int, headers: Headers) -> Plan:
    origin = facts.origin.serialize()
    creds, _ = credentials_evidence(req, None)
    omit = Outcome(access_failures(headers, origin, False, "actual"))
    include = Outcome(access_failures(headers, origin, True, "actual"))
    location = redirect_location(req.url, status, headers)
    server = server_verdict(omit, include, creds)
    unsafe = list(facts.unsafe_headers)
    requirement = Requirement(
        "actual", req.url, origin, req.method, unsafe if needs_preflight(req.method, unsafe) else [],
        credentials=True if (creds == "include" or server.only_with_credentials) else None,
        preflighted=needs_preflight(req.method, unsafe), server_cors=cors_fields(headers),
        credentials_seen=creds == "include")
    if origin == "null":
        requirement.notes.append("Origin: null (a redirect crossed origins, or a sandboxed/opaque page): "
                                 "allowing 'null' lets any such page read it; better avoid the redirect")
    if status >= 500 or status == 404:
        requirement.notes.append(f"the server answered {status}: CORS headers must be on error responses too")
    fields = list(headers.fields)
    exposed = _fix_expose(fields)
    requirement.expose = _expose_names(headers)
    p = Plan("actual", server=server, requirement=requirement)

    if location is not None and has_userinfo(location):
        p.action = "unfixable"
        p.why = ("RedirectContainsCredentials: the redirect's Location carries user:password@; no CORS header "
                 "allows that; the server must redirect to a URL without credentials")
        requirement.problem = p.why
        return p
    if not include.blocked:
        return p  # allowed even with credentials: leave the response alone
    hole = credentials_hole(origin, req.url)
    if hole and creds == "include":  # the page sends credentials, and this origin may not get them
        p.action, p.why = "unfixable", hole
        requirement.problem = hole
        return p
    if hole and not omit.blocked:  # passes without credentials; with them it must stay closed
        requirement.credentials = None
        requirement.notes.append(hole)
        return p
    set_header(fields, ACAO, origin)
    if hole:
        remove_header(fields, ACAC)
        requirement.credentials = None
        requirement.notes.append(hole)
    else:
        set_header(fields, ACAC, "true")
    add_vary(fields, "Origin")
    if exposed is not None:  # '*' means nothing once credentials are in play; keep what it exposed
        set_header(fields, ACEH, exposed)
    check = access_failures(Headers(fields), origin, not hole, "actual")
    if check:
        p.action, p.why = "unfixable", f"no header set passes ({check[0].reason})"
        requirement.problem = p.why
        return p
    p.action, p.headers = "patch", fields
    p.why = "response headers corrected by the proxy"
    return p


def credentials_hole(origin: str, url: str) -> str | None:
    """Why granting this origin credentialed access would open a hole the audit (audit/) flags, or
    None: `null` (any sandboxed page sends it) or an http: origin trusted by an https: site (a network
    attacker can inject into it; loopback excepted). The fix then grants it without credentials, or
    not at all."""
    if origin == "null":
        return ("the page's origin is 'null' (a sandboxed iframe, a data: or file: page, or a redirect across "
                "origins): granting it credentials would let any site's sandboxed page read the user's data; "
                "serve the page from a real origin")
    target = origin_of_url(url)
    page = parse_origin_header(origin)
    if (target is not None and page is not None and target.scheme == "https" and page.scheme == "http"
            and not page.potentially_trustworthy()):
        return (f"the page is served over http ({origin}) and the API over https: granting the http origin "
                "credentials would let anyone on the user's network read the user's data; serve the page over https")
    return None


def cors_fields(headers: Headers) -> list[tuple[str, str]]:
    """The response's own CORS header fields, as sent (names of CORS_RESPONSE_HEADERS only)."""
    if not any(name in _CORS_LOWER for name in headers.names()):
        return []  # the common case: one look at the index
    return [(k, v) for k, v in headers.fields if k.lower() in _CORS_LOWER]


def _fix_expose(fields: list[tuple[str, str]]) -> str | None:
    """A corrected Access-Control-Expose-Headers value, or None if it needs no correction."""
    lines = get_all(fields, ACEH)
    if not lines:
        return None
    items = split_list(", ".join(lines))
    valid = [i for i in items if is_token(i)]
    if "*" not in valid and len(valid) == len(items):
        return None
    names = [i for i in valid if i != "*"]
    if "*" in valid:
        for name, _ in fields:
            low = name.lower()
            if low not in _NOT_EXPOSED_BY_WILDCARD and low not in (n.lower() for n in names):
                names.append(name)
    return ", ".join(names) if names else None


def _expose_names(headers: Headers) -> list[str]:
    """The response headers the server tried to expose (for the configuration snippets)."""
    raw = headers.get(ACEH)
    if raw is None:
        return []
    items = [i for i in split_list(raw) if is_token(i)]
    names = [i.lower() for i in items if i != "*"]
    if "*" in items:
        names += [n for n in headers.names() if n not in _NOT_EXPOSED_BY_WILDCARD and n not in names]
    return sorted(set(names))
