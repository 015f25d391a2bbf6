"""The active audit, its pure half: which requests to send for an endpoint, and what their answers prove.

For each endpoint in scope, the first real request seen is the model. Every crafted origin of
crafted_origins.py is sent:

* as the **request itself** when its method is GET or HEAD: the same URL and headers (cookies and
  Authorization included, so the server answers as it would to the user), with the crafted Origin,
  without conditional headers (a 304 carries no CORS headers);
* as its **preflight** (OPTIONS with Access-Control-Request-Method and -Headers, no cookies) when
  the request needs one, and always for other methods: a POST, PUT or DELETE is never sent again,
  since doing it twice may change data on the server.

A crafted origin is granted when the answer's Access-Control-Allow-Origin is exactly that origin
(for a preflight, with an ok status). A grant with `Access-Control-Allow-Credentials: true` is a
finding whose severity follows the session's authentication (finding.py); a grant without it is what
`*` does and no finding. When the attacker domain itself is granted, one `origin-reflected` finding
lists every origin granted; otherwise each class granted is its own finding. A reflected
Access-Control-Allow-Origin on a cacheable answer without Vary: Origin is `vary-origin-missing`.
"""

from __future__ import annotations

from typing import NamedTuple

from ..engine.access_check import varies_on_origin
from ..engine.model import Headers, RequestSnapshot, normalized
from ..engine.origin import origin_of_url, parse_origin_header
from ..engine.safelist import cors_unsafe_request_header_names, needs_preflight
from .crafted_origins import CraftedOrigin, crafted_origins
from .finding import AuthContext, Finding, credentialed_grant
from .fix import fix_steps
from .passive import cacheable, endpoint_of

CONTROL = "control"  # the probe with the legitimate origin
# A grant of the first class also grants the others by construction (a prefix check passes
# www.app.test_.x.com; a suffix check any subdomain and appxexample.com): reported once, under the first.
SUBSUMES = {"prefix-match": ("special-characters",), "suffix-match": ("subdomain-trusted", "unescaped-dot")}
PROBE_HEADER = ("X-Mitmproxy-Cors-Audit", "crafted origin")  # says in the server's logs who sent it
_NOT_REPLAYED = frozenset({"origin", "host", "content-length", "connection", "keep-alive", "transfer-encoding",
                           "te", "upgrade", "expect", "proxy-authorization", "proxy-connection",
                           "if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range"})


class Probe(NamedTuple):
    cls: str
    origin: str
    kind: str  # "actual" | "preflight"
    method: str
    headers: tuple[tuple[str, str], ...]


class ProbePlan(NamedTuple):
    endpoint: str
    url: str
    method: str
    base_origin: str  # the legitimate caller the crafted origins are made from
    host: str
    probes: tuple[Probe, ...]
    flow_id: str | None = None
    address: tuple[str, int] | None = None  # where the proxy reached the server (None: resolve the host)
    requirement: str | None = None  # the real flow's needs with the server's CORS headers (audit/fix.py)


class ProbeResult(NamedTuple):
    probe: Probe
    status: int | None
    headers: tuple[tuple[str, str], ...] | None  # None: no answer (see error)
    error: str | None = None


def plan_probes(req: RequestSnapshot, flow_id: str | None = None, address: tuple[str, int] | None = None,
                requirement: str | None = None) -> ProbePlan | None:
    """The probes for the endpoint of this real request; None for a URL that is not http(s).
    `address`: the server's address as the proxy reached it, so that the probes reach the same one.

    The first probe is a control: the legitimate caller's own origin. A server whose
    Access-Control-Allow-Origin differs between the control and a crafted origin makes it depend on
    the request, and then a cacheable answer needs Vary: Origin."""
    target = origin_of_url(req.url)
    if target is None or target.opaque or target.scheme not in ("http", "https"):
        return None
    idx = req.headers.by_name
    method = req.method
    if method == "OPTIONS" and "access-control-request-method" in idx:  # a preflight: audit what it asks for
        method = normalized(idx["access-control-request-method"]) or "GET"
        unsafe = [h.strip().lower() for h in (normalized(idx.get("access-control-request-headers")) or "").split(",")
                  if h.strip()]
    else:
        unsafe = list(cors_unsafe_request_header_names(req.headers))
    page = parse_origin_header(normalized(idx.get("origin")))
    base = page if page is not None and not page.opaque else target
    replay = [(k, v) for k, v in req.headers.fields if k.lower() not in _NOT_REPLAYED]
    probes: list[Probe] = []
    for crafted in (CraftedOrigin(CONTROL, base.serialize()), *crafted_origins(base)):
        if method in ("GET", "HEAD") and req.method == method:
            probes.append(Probe(crafted.cls, crafted.origin, "actual", method,
                                tuple(replay + [("Origin", crafted.origin), PROBE_HEADER])))
        if needs_preflight(method, unsafe) or method not in ("GET", "HEAD"):
            pre = [("Accept", "*/*"), ("Origin", crafted.origin), ("Access-Control-Request-Method", method)]
            if unsafe:
                pre.append(("Access-Control-Request-Headers", ",".join(sorted(set(unsafe)))))
            ua = idx.get("user-agent")
            if isinstance(ua, str):
                pre.append(("User-Agent", ua))
            probes.append(Probe(crafted.cls, crafted.origin, "preflight", "OPTIONS",
                                tuple(pre + [("Sec-Fetch-Mode", "cors"), PROBE_HEADER])))
    return ProbePlan(endpoint_of(method, req.url), req.url, method, base.serialize(), target.host,
                     tuple(probes), flow_id, address, requirement)


def judge_probes(plan: ProbePlan, results: list[ProbeResult], auth: AuthContext,
                 legit_origins: tuple[str, ...]) -> tuple[tuple[Finding, ...], str]:
    """(the findings, one line saying what was sent and what came back)."""
    with_creds: dict[str, list[str]] = {}
    without: list[str] = []
    evidence: dict[str, list[str]] = {}
    unanswered = 0
    control: ProbeResult | None = None
    answers: dict[str, str | None] = {}  # Access-Control-Allow-Origin per origin, actual requests only
    for r in results:
        p = r.probe
        if r.headers is None:
            unanswered += 1
            continue
        h = Headers(r.headers)
        acao_raw = h.by_name.get("access-control-allow-origin")
        acao = acao_raw.strip(" \t") if isinstance(acao_raw, str) else None
        if p.kind == "actual":
            answers[p.origin] = acao
            if p.cls == CONTROL:
                control = r
        if p.cls == CONTROL or acao != p.origin:
            continue
        if p.kind == "preflight" and not (r.status is not None and 200 <= r.status < 300):
            continue
        creds = (normalized(h.by_name.get("access-control-allow-credentials")) or "").lower() == "true"
        label = p.origin + (" (preflight)" if p.kind == "preflight" else "")
        (with_creds.setdefault(p.cls, []) if creds else without).append(label)
        evidence.setdefault(p.cls, []).append(
            f"sent {p.method} {plan.url} with Origin: {p.origin}: answered {r.status} with "
            f"Access-Control-Allow-Origin: {acao}" + (", Access-Control-Allow-Credentials: true" if creds else ""))
    findings: list[Finding] = []

    def add(cls: str, granted: list[str], kind: str, severity: str, lines: list[str]) -> None:
        findings.append(Finding(plan.endpoint, plan.url, cls, kind, severity, tuple(dict.fromkeys(granted)),
                                tuple(lines + [auth.evidence()]), fix_steps(cls, legit_origins, True),
                                "active", plan.flow_id, legit_origins, True, plan.requirement))

    crafted_n = sum(r.probe.cls != CONTROL for r in results)
    if "origin-reflected" in with_creds:
        granted = [o for cls in with_creds for o in with_creds[cls]]
        kind, severity = credentialed_grant("origin-reflected", auth)
        add("origin-reflected", granted, kind, severity,
            evidence["origin-reflected"][:2] + [f"{len(granted)} of {crafted_n} crafted requests granted with credentials"])
    else:
        for cls, others in SUBSUMES.items():
            if cls in with_creds:
                for other in others:
                    with_creds[cls] += with_creds.pop(other, [])
        for cls, granted in with_creds.items():
            kind, severity = credentialed_grant(cls, auth)
            add(cls, granted, kind, severity, evidence[cls][:3])
    vary = _vary_problem(control, answers)
    if vary is not None:
        cache, lines = vary
        findings.append(Finding(plan.endpoint, plan.url, "vary-origin-missing",
                                *(("vulnerability", "medium") if cache == "shared" else ("smell", "low")), (),
                                tuple(lines), fix_steps("vary-origin-missing", legit_origins, False), "active",
                                plan.flow_id, legit_origins, False))
    granted_n = sum(len(v) for v in with_creds.values())
    line = (f"{plan.endpoint}: {crafted_n} crafted request(s) sent, origins made from {plan.base_origin}; "
            f"{granted_n} granted with credentials, {len(without)} without")
    if unanswered:
        errors = sorted({r.error or "no answer" for r in results if r.headers is None})
        line += f"; {unanswered} unanswered ({'; '.join(errors[:2])})"
    return tuple(findings), line


def _vary_problem(control: ProbeResult | None, answers: dict[str, str | None]) -> tuple[str, list[str]] | None:
    """A cacheable answer whose Access-Control-Allow-Origin depends on the Origin, without Vary: Origin."""
    if control is None or control.status is None or control.headers is None:
        return None
    h = Headers(control.headers)
    if varies_on_origin(h):
        return None
    cache = cacheable(control.probe.method, control.status, h)
    mine = answers.get(control.probe.origin)
    other = next(((o, v) for o, v in answers.items() if v != mine), None)
    if not cache or other is None or (mine is None and other[1] in (None, "*")):
        return None
    return cache, [f"Access-Control-Allow-Origin depends on the request: {mine or '(none)'} for Origin: "
                   f"{control.probe.origin}, {other[1] or '(none)'} for Origin: {other[0]}",
                   f"the answer may be stored by {'any cache (a CDN, a proxy)' if cache == 'shared' else 'the browser'} "
                   f"(Cache-Control: {normalized(h.by_name.get('cache-control')) or '(none)'}) and has no Vary: Origin"]
