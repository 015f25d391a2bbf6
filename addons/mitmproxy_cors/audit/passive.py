"""The passive audit: what the traffic itself proves about a CORS policy, with no extra request.

It flags, per endpoint (method and URL without query) and class, once:

* `null-origin-allowed`: `Access-Control-Allow-Origin: null` with credentials;
* `http-origin-trusted`: an `https:` site granting an `http:` origin credentials (loopback excepted);
* `vary-origin-missing`: an `Access-Control-Allow-Origin` that changes with the request's Origin
  (the host answered at least two different origins) on a cacheable response without
  `Vary: Origin`;
* `wildcard-with-cookies`: `*` on a host whose requests carry cookies (once per host; a CORS request
  with cookies and `*` is blocked, and its verdict says so);
* `long-max-age`: a preflight cached for more than a day;
* `private-network-any-origin`: `Access-Control-Allow-Private-Network: true` with `*`.

What traffic cannot tell: whether an `Access-Control-Allow-Origin` that echoes the page's origin
with credentials comes from an allow-list (correct) or echoes any origin (a hole). Such endpoints
are counted (`echoing`), never reported: the active audit (active.py) sends crafted origins to tell.
A grant without credentials is what `*` does and no finding.

Bounded: the tables keep the most recent `capacity` endpoints and hosts.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from ..engine.access_check import varies_on_origin
from ..engine.memo import memoized
from ..engine.model import Exchange, Headers, RequestSnapshot, normalized
from ..engine.origin import Origin, parse_origin_header
from ..engine.request_mode import RequestFacts
from ..engine.session_credentials import SessionCredentials
from .finding import SEVERITY_ORDER, AuthContext, Finding, by_severity, credentialed_grant
from .fix import fix_steps, requirement_json

# Statuses a cache may store without explicit freshness (RFC 9110 §15.1, "heuristically cacheable").
HEURISTIC_STATUSES = frozenset({200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501})
LONG_MAX_AGE = 86_400  # Firefox's cap; Chromium's is 7200
MAX_ORIGINS_PER_HOST = 8


def endpoint_of(method: str, url: str) -> str:
    return f"{method} {url.split('#', 1)[0].split('?', 1)[0]}"


def endpoint_of_request(req: RequestSnapshot) -> str:
    """A preflight belongs to the endpoint of the request it asks for (its Access-Control-Request-Method)."""
    asked = normalized(req.headers.by_name.get("access-control-request-method")) if req.method == "OPTIONS" else None
    return endpoint_of(asked or req.method, req.url)


def auth_for(credentials: SessionCredentials, host: str) -> AuthContext:
    return AuthContext(credentials.cookies_for(host), credentials.authorization_for(host),
                       credentials.cookies_cross_site(host))


def cacheable(method: str, status: int, headers: Headers) -> str | None:
    """'shared' when a shared cache (a CDN, a reverse proxy) may store the response, 'private' when
    only the browser's cache may, None when no cache stores it."""
    if method not in ("GET", "HEAD"):
        return None
    idx = headers.by_name
    return _cacheable(normalized(idx.get("cache-control")) or "", status in HEURISTIC_STATUSES,
                      "expires" in idx, "last-modified" in idx)


@memoized()  # servers send a handful of Cache-Control values
def _cacheable(cache_control: str, heuristic_status: bool, expires: bool, last_modified: bool) -> str | None:
    directives = {d.strip().split("=", 1)[0].lower(): d.strip().partition("=")[2].strip('"')
                  for d in cache_control.split(",") if d.strip()}
    if "no-store" in directives:
        return None
    fresh = any(_positive(directives.get(d)) for d in ("max-age", "s-maxage")) or "public" in directives or expires
    if not fresh and not (heuristic_status and last_modified):
        return None
    if "private" in directives:
        return "private"
    if "public" in directives or _positive(directives.get("s-maxage")):
        return "shared"
    return "private" if "no-cache" in directives else "shared"


def _positive(value: str | None) -> bool:
    return value is not None and value.isdigit() and value.strip("0") != ""


def _is_loopback(o: Origin) -> bool:
    return o.scheme == "http" and o.potentially_trustworthy()


class PassiveAudit:
    def __init__(self, credentials: SessionCredentials, capacity: int = 1024) -> None:
        self.enabled = True
        self.credentials = credentials
        self.capacity = capacity
        # host origin ("https://api.example.com") -> the distinct specific origins it granted (a tuple of
        # strings: the garbage collector stops tracking it, where a list would be walked on every collection)
        self._granted: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        # endpoint -> {class: Finding}: every finding, passive or active, for the flows of an endpoint
        self._findings: OrderedDict[str, dict[str, Finding]] = OrderedDict()
        # endpoints whose Access-Control-Allow-Origin echoes the page's origin with credentials
        self.echoing: OrderedDict[str, None] = OrderedDict()
        # endpoints the active audit probed: for them the echo is explained
        self.probed: OrderedDict[str, None] = OrderedDict()

    def observe(self, ex: Exchange, facts: RequestFacts) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
        """(the findings that apply to this flow, those among them that are new this session)."""
        resp = ex.response
        if not self.enabled or resp is None or facts.target is None:
            return (), ()
        idx = resp.headers.by_name
        if ("access-control-allow-origin" not in idx and "access-control-max-age" not in idx
                and "access-control-allow-private-network" not in idx):
            return (), ()
        endpoint = endpoint_of_request(ex.request)
        new = []
        requirement = None
        for f in self._rules(ex, facts, resp.headers, endpoint):
            if self._is_new(f):  # the server's configuration, to keep in the fix: only for what is reported
                requirement = requirement or requirement_json(ex)
                f = replace(f, requirement=requirement)
                self._store(f)
                new.append(f)
        new = tuple(new)
        known = self._findings.get(endpoint)
        on_flow = [*(known.values() if known else ()), *(f for f in new if f.endpoint != endpoint)]
        return (tuple(by_severity(on_flow)) if on_flow else ()), new

    def findings_on(self, ex: Exchange) -> tuple[Finding, ...]:
        """What is known for this exchange's endpoint (an earlier flow's update keeps its findings)."""
        known = self._findings.get(endpoint_of_request(ex.request)) if self.enabled else None
        return tuple(by_severity(known.values())) if known else ()

    def add(self, findings, probed: str | None = None) -> tuple[Finding, ...]:
        """Register findings made elsewhere (the active audit, which probed the endpoint `probed`);
        returns those that are new, or more severe than what was known."""
        if probed:
            self._remember(self.probed, probed)
        return tuple(f for f in findings if self._add(f))

    def unexplained_echoes(self) -> int:
        """Endpoints that echo the page's origin with credentials and were not probed."""
        return sum(1 for e in self.echoing if e not in self.probed)

    def findings(self) -> list[Finding]:
        return [f for per in self._findings.values() for f in per.values()]

    def legit_origins(self, target: Origin) -> tuple[str, ...]:
        """The origins this host granted to real pages, minus those the audit distrusts."""
        seen = self._granted.get(target.serialize(), ())
        out = []
        for value in seen:
            o = parse_origin_header(value)
            if o is None or o.opaque or (target.scheme == "https" and o.scheme == "http" and not _is_loopback(o)):
                continue
            out.append(value)
        return tuple(out)

    def state_size(self) -> int:
        return len(self._findings) + len(self._granted) + len(self.echoing) + len(self.probed)

    def clear(self) -> None:
        self._granted.clear()
        self._findings.clear()
        self.echoing.clear()
        self.probed.clear()

    # -- rules ------------------------------------------------------------------------------

    def _rules(self, ex: Exchange, facts: RequestFacts, h: Headers, endpoint: str) -> list[Finding]:
        idx = h.by_name
        acao_raw = idx.get("access-control-allow-origin")
        acao = acao_raw if isinstance(acao_raw, str) else None  # repeated: invalid, nothing granted
        acao = acao.strip(" \t") if acao is not None else None
        creds = (normalized(idx.get("access-control-allow-credentials")) or "").lower() == "true"
        target = facts.target
        url = ex.request.url
        found: list[Finding] = []

        def finding(cls: str, kind: str, severity: str, granted: tuple[str, ...], evidence: list[str],
                    legit: tuple[str, ...] | None = None) -> None:
            allow = legit if legit is not None else self.legit_origins(target)
            found.append(Finding(endpoint, url, cls, kind, severity, granted, tuple(evidence),
                                 fix_steps(cls, allow, creds), "passive", ex.id, allow, creds))

        sent = f"the response to {ex.request.method} {url} (flow {ex.id[:8]})"
        auth = None
        if acao is not None and acao not in ("*", "null"):
            granted = parse_origin_header(acao)
            if granted is not None and not granted.opaque:
                seen = self._remember_grant(target, acao)
                if creds and acao == facts.origin_header:
                    self._remember(self.echoing, endpoint)
                if creds and target.scheme == "https" and granted.scheme == "http" and not _is_loopback(granted):
                    auth = auth_for(self.credentials, target.host)
                    kind, severity = credentialed_grant("http-origin-trusted", auth)
                    finding("http-origin-trusted", kind, severity, (acao,),
                            [f"{sent} says Access-Control-Allow-Origin: {acao} with Access-Control-Allow-Credentials: "
                             "true", auth.evidence()])
                cache = cacheable(ex.request.method, ex.response.status, h) if facts.kind == "cors" else None
                if cache and len(seen) >= 2 and not varies_on_origin(h):
                    finding("vary-origin-missing", *(("vulnerability", "medium") if cache == "shared"
                                                      else ("smell", "low")), (),
                            [f"{target.serialize()} answered Access-Control-Allow-Origin with {len(seen)} different "
                             f"origins ({', '.join(seen[:3])}), so the header depends on the request",
                             f"{sent} may be stored by {'any cache (a CDN, a proxy)' if cache == 'shared' else 'the browser'} "
                             f"(Cache-Control: {normalized(idx.get('cache-control')) or '(none)'}) and has no Vary: Origin"])
        elif acao == "null" and creds:
            auth = auth_for(self.credentials, target.host)
            kind, severity = credentialed_grant("null-origin-allowed", auth)
            finding("null-origin-allowed", kind, severity, ("null",),
                    [f"{sent} says Access-Control-Allow-Origin: null with Access-Control-Allow-Credentials: true",
                     auth.evidence()])
        elif acao == "*":
            # A CORS request with cookies and '*' is blocked, and its verdict says so; a same-origin or
            # no-cors one shows that data behind the host's cookies is marked public: once per host.
            if facts.kind != "cors" and "cookie" in ex.request.headers.by_name:
                host_endpoint = f"* {target.serialize()}"
                found.append(Finding(host_endpoint, url, "wildcard-with-cookies", "smell", "low", ("*",),
                                     (f"the request {ex.request.method} {url} (flow {ex.id[:8]}) carried cookies and "
                                      "its response said Access-Control-Allow-Origin: *",),
                                     fix_steps("wildcard-with-cookies", (), False), "passive", ex.id, (), False))
            pna = (normalized(idx.get("access-control-allow-private-network")) or "").lower() == "true"
            if pna:
                finding("private-network-any-origin", "vulnerability", "medium", ("*",),
                        [f"{sent} says Access-Control-Allow-Private-Network: true with Access-Control-Allow-Origin: *"])
        if facts.kind == "preflight":
            max_age = normalized(idx.get("access-control-max-age"))
            if max_age and max_age.isdigit() and (len(max_age) > 9 or int(max_age) > LONG_MAX_AGE):
                shown = max_age if len(max_age) <= 20 else max_age[:20] + "..."
                finding("long-max-age", "smell", "low", (),
                        [f"{sent} says Access-Control-Max-Age: {shown} (more than a day)"])
        return found

    # -- tables -----------------------------------------------------------------------------

    def _remember_grant(self, target: Origin, origin: str) -> tuple[str, ...]:
        """The distinct origins this host granted, this one included."""
        key = target.serialize()
        seen = self._granted.get(key)
        if seen is None:
            seen = self._granted[key] = (origin,)
            while len(self._granted) > self.capacity:
                self._granted.popitem(last=False)
        elif origin not in seen and len(seen) < MAX_ORIGINS_PER_HOST:
            seen = self._granted[key] = seen + (origin,)
        return seen

    def _remember(self, table: OrderedDict, key: str) -> None:
        table[key] = None
        table.move_to_end(key)
        while len(table) > self.capacity:
            table.popitem(last=False)

    def _is_new(self, f: Finding) -> bool:
        """Not known for its endpoint, or more severe than what is."""
        old = self._findings.get(f.endpoint, {}).get(f.cls)
        return old is None or _worse(f, old)

    def _store(self, f: Finding) -> None:
        per = self._findings.get(f.endpoint)
        if per is None:
            per = self._findings[f.endpoint] = {}
            while len(self._findings) > self.capacity:
                self._findings.popitem(last=False)
        per[f.cls] = f

    def _add(self, f: Finding) -> bool:
        if not self._is_new(f):
            return False
        self._store(f)
        return True


def _worse(new: Finding, old: Finding) -> bool:
    return (SEVERITY_ORDER.get(new.severity, 9), new.kind != "vulnerability") < \
        (SEVERITY_ORDER.get(old.severity, 9), old.kind != "vulnerability")
