"""The smallest server-side CORS configuration for a set of flows, for eight frameworks.

`aggregate` merges per-flow `Requirement`s (from `fix_plan`) into `Needs`; `policy_for` turns them
into a `Policy` (exact origins, the methods and request headers seen, credentials when the wire
shows them); `render` prints a policy for one framework, respecting that library's semantics.

When the server's own responses already carry CORS headers, that CORS code must go before the
snippet is pasted (Flask-CORS, for one, leaves alone any response that already has
Access-Control-Allow-Origin), so the output says so first and lists those responses; and the
configuration keeps everything those headers allowed (origins, methods, request and exposed
headers, credentials, max age, private network), so that nothing working today stops working.
Wildcards stay where the server used them, except ``*`` for origins once credentials are in play,
which browsers refuse: the origins seen are listed instead.

The frameworks:

* express  Express ``cors`` 2.8: ``origin`` array (strings compared exactly, RegExp tested) is
  echoed with Vary: Origin; ``origin: true`` reflects any origin; every OPTIONS is answered 204.
* flask    Flask-CORS 6: origins compared case-insensitively, regex-looking strings ``re.match``ed;
  methods upper-cased; ``send_wildcard`` for a literal ``*``; Flask answers OPTIONS (route needed).
* starlette  Starlette / FastAPI ``CORSMiddleware``: allow_methods defaults to GET only, the
  safelisted request headers are always allowed, failed preflights get 400, regex is full-match.
* django   django-cors-headers: lists sent as configured on every preflight (200), ALL_ORIGINS
  with credentials echoes, regexes ``re.match``ed.
* spring   Spring ``CorsConfiguration``: ``*`` origins refused with credentials (use patterns),
  default methods GET/HEAD, no regex (override ``checkOrigin``).
* aspnet   ASP.NET Core ``AddCors``: AllowAnyOrigin with AllowCredentials throws; UseCors between
  UseRouting and authentication.
* go       rs/cors: ``*`` with AllowCredentials still sends ``*`` (use AllowOriginFunc); methods are
  checked on actual requests too; AllowOriginFunc replaces AllowedOrigins.
* nginx    ``add_header ... always`` (else only 2xx/3xx), a 204 block for preflights only,
  ``proxy_hide_header`` against duplicates, headers repeated in the ``if`` block (add_header is not
  inherited into a block that has its own).

Pure: no mitmproxy, no I/O.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..engine.origin import parse_origin_header
from ..engine.syntax import is_token, split_list
from .fix_plan import Requirement, credentials_hole
from .framework_options import flask_cors_kwargs, starlette_kwargs
from .headers import ACAC, ACAH, ACAM, ACAO, ACAPN, ACEH, ACMA
from .policy import Policy

FRAMEWORKS = ("express", "flask", "starlette", "django", "spring", "aspnet", "go", "nginx")
TITLES = {
    "express": "Express (npm cors)",
    "flask": "Flask-CORS",
    "starlette": "Starlette / FastAPI CORSMiddleware",
    "django": "django-cors-headers",
    "spring": "Spring CorsConfiguration",
    "aspnet": "ASP.NET Core CORS",
    "go": "Go rs/cors",
    "nginx": "nginx",
}
ALIASES = {"fastapi": "starlette", "flask-cors": "flask", "django-cors-headers": "django", "rs/cors": "go",
           "rs-cors": "go", "asp.net": "aspnet", "dotnet": "aspnet", "node": "express", "cors": "express"}
_STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# Methods browsers upper-case before sending: a server's "put" meant PUT.
_NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
_WIDTH = 100  # the warning is wrapped: it becomes comment lines of a file the user keeps
_LISTED_GROUPS = 12  # distinct header sets listed in the warning
_LISTED_EXAMPLES = 3  # requests named per header set

# Where CORS code that a pasted configuration must replace usually lives, per framework.
EXISTING_PLACES = {
    "express": "res.setHeader()/res.header('Access-Control-...') in middleware or routes, another cors() "
               "(app.use or per route), app.options() handlers",
    "flask": "@cross_origin decorators, an earlier CORS(app), after_request hooks or views that set "
             "Access-Control-* headers",
    "starlette": "another CORSMiddleware, an @app.middleware('http') or BaseHTTPMiddleware that sets "
                 "Access-Control-* headers, routes that set them",
    "django": "middleware or views that set response['Access-Control-...'], another CORS app, "
              "CORS_* settings already there",
    "spring": "@CrossOrigin annotations, WebMvcConfigurer.addCorsMappings, a CorsFilter bean or a servlet "
              "filter that sets Access-Control-* headers",
    "aspnet": "other AddCors/UseCors policies, [EnableCors] attributes, middleware that appends "
              "Access-Control-* headers",
    "go": "handlers or middleware calling w.Header().Set(\"Access-Control-...\"), another CORS wrapper "
          "(gorilla/handlers.CORS)",
    "nginx": "other add_header Access-Control-* lines (this server {} or the http {} block), and the app "
             "behind it (proxy_hide_header below hides only its Allow-Origin, Allow-Credentials and "
             "Expose-Headers)",
}
_EXISTING_EFFECT = {
    "flask": "Flask-CORS leaves alone any response that already has Access-Control-Allow-Origin",
    "nginx": "the app's or another block's headers can win",
}
_ANY_PLACE = ("a decorator such as @cross_origin/@CrossOrigin, a middleware or after_request hook, "
              "hand-written header code in the app")
_PROXY_PLACE = ("a reverse proxy, CDN or API gateway in front of the app (nginx add_header, Apache "
                "Header set, a gateway's CORS setting)")


@dataclass
class Needs:
    origins: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    credentials: bool | None = None  # True: needed; None: the wire shows none (the page may still use them)
    expose: list[str] = field(default_factory=list)
    private_network: bool = False
    notes: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (url, why no configuration helps)
    flows: int = 0
    # The server's own CORS headers (new fields go last: pipeline rebuilds Needs from a tuple of fields).
    # existing: (kind, method, url, header fields) of each response that carried CORS headers.
    existing: list[tuple[str, str, str, tuple[tuple[str, str], ...]]] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (what, value) taken from those headers
    wildcards: list[str] = field(default_factory=list)  # "origin", "method", "header" kept as '*'
    max_age: int | None = None

    def summary_lines(self) -> list[str]:
        creds = "yes" if self.credentials else "none seen on the wire"
        any_ = "* (any, as the server sent)"
        lines = [
            f"origins: {any_ if 'origin' in self.wildcards else ', '.join(self.origins) or '(none)'}",
            f"methods: {any_ if 'method' in self.wildcards else ', '.join(self.methods) or '(none)'}",
            "request headers: " + (any_ if "header" in self.wildcards
                                   else ", ".join(self.headers) or "(none beyond the safelisted ones)"),
            f"credentials: {creds}",
        ]
        if self.expose:
            lines.append(f"exposed response headers: {', '.join(self.expose)}")
        if self.max_age is not None:
            lines.append(f"preflight max age: {self.max_age} s")
        if self.private_network:
            lines.append("private network access: asked")
        if self.kept:
            lines.append("kept from the server's own CORS headers: " + _kept_text(self.kept))
        return lines


def aggregate(requirements: Iterable[Requirement], keep_existing: bool = True) -> Needs:
    """What the flows need; with `keep_existing`, merged with what the server's own CORS headers
    already allow (never narrower than today's)."""
    n = Needs()
    seen = False  # a request itself carried credentials
    requirements_seen = list(requirements)
    for r in requirements_seen:
        n.flows += 1
        seen = seen or r.credentials_seen
        if r.server_cors:
            entry = (r.kind, r.method, r.url, tuple((k, v) for k, v in r.server_cors))
            if entry not in n.existing:
                n.existing.append(entry)
        if r.problem:
            n.problems.append((r.url, r.problem))
            continue
        if r.origin not in n.origins:
            n.origins.append(r.origin)
        if r.method and r.method not in n.methods:
            n.methods.append(r.method)
        for h in r.headers:
            if h not in n.headers:
                n.headers.append(h)
        for h in r.expose:
            if h not in n.expose:
                n.expose.append(h)
        if r.credentials:
            n.credentials = True
        n.private_network = n.private_network or r.private_network
        for note in r.notes:
            if note not in n.notes:
                n.notes.append(note)
    if keep_existing and n.existing:
        _keep_existing(n, seen)
    if n.credentials:  # credentials are for every listed origin: none the audit would flag
        for r in requirements_seen:
            hole = credentials_hole(r.origin, r.url)
            if hole and r.origin in n.origins:
                n.origins.remove(r.origin)
                _add(n.notes, f"{r.origin} is not listed: {hole}")
    order = {m: i for i, m in enumerate(_STANDARD_METHODS)}
    n.methods.sort(key=lambda m: (order.get(m, len(order)), m))
    n.origins.sort(key=lambda o: (o == "null", o))
    n.headers.sort()
    n.expose.sort()
    return n


def _keep_existing(n: Needs, credentials_seen: bool) -> None:
    """Merge what the server's own CORS headers allowed into `n` (rules of the Fetch CORS protocol:
    lists of tokens, one origin or '*', credentials only as 'true'). Credentials are in play when a
    request carried them or the server allowed them; otherwise a '*' origin stays."""
    star_origin, refused_null, server_credentials = False, False, False
    wild_expose = False

    def keep(what: str, value: str, target: list[str]) -> None:
        if value not in target:
            target.append(value)
            if (what, value) not in n.kept:
                n.kept.append((what, value))

    for _kind, _method, _url, fields in n.existing:
        for name, value in fields:
            low = name.lower()
            items = split_list(value)
            if low == ACAO.lower():
                for item in items:
                    if item == "*":
                        star_origin = True
                    elif item == "null":
                        refused_null = True
                    else:  # a trailing slash or upper case never matched, but says which origin was meant
                        origin = parse_origin_header(item)
                        if origin is not None and not origin.opaque:
                            keep("origin", origin.serialize(), n.origins)
            elif low == ACAM.lower():
                for item in items:
                    if item == "*":
                        _add(n.wildcards, "method")
                    elif is_token(item):
                        keep("method", item.upper() if item.upper() in _NORMALIZED_METHODS else item, n.methods)
            elif low == ACAH.lower():
                for item in items:
                    if item == "*":
                        _add(n.wildcards, "header")
                    elif is_token(item):
                        keep("request header", item.lower(), n.headers)
            elif low == ACEH.lower():
                for item in items:
                    if item == "*":
                        wild_expose = True
                    elif is_token(item):
                        keep("exposed header", item.lower(), n.expose)
            elif low == ACAC.lower() and value.strip().lower() == "true":
                server_credentials = True
                if not n.credentials:
                    n.credentials = True
                    n.kept.append(("credentials", "true"))
            elif low == ACMA.lower() and value.strip().isdigit():
                seconds = int(value.strip())
                if n.max_age is None or seconds > n.max_age:
                    n.max_age = seconds
            elif low == ACAPN.lower() and value.strip().lower() == "true" and not n.private_network:
                n.private_network = True
                n.kept.append(("private network", "true"))
    if n.max_age is not None:
        n.kept.append(("max age", str(n.max_age)))
    if star_origin and (credentials_seen or server_credentials):
        _add(n.notes, "the server sent Access-Control-Allow-Origin: * but credentials are in play (a cookie, "
                      "HTTP auth or Access-Control-Allow-Credentials: true): browsers refuse '*' with "
                      "credentials, so the origins seen are listed instead; add any other site that must read "
                      "these responses")
    elif star_origin:
        # A public API: '*' stays, and with it no credentials (any origin with credentials would let
        # every site read what a user's cookies unlock); '*' being refused with credentials is what
        # made these flows 'blocked if the page sends credentials'.
        _add(n.wildcards, "origin")
        n.credentials = None
        _add(n.notes, "the server sent Access-Control-Allow-Origin: * and no request carried credentials: "
                      "kept; if the page sends cookies or HTTP auth, '*' cannot work: list the origins and "
                      "allow credentials instead")
    if refused_null and "null" not in n.origins:  # kept only where a request itself came from 'null'
        _add(n.notes, "the server sent Access-Control-Allow-Origin: null: not kept, since it would let any "
                      "sandboxed page or cross-origin redirect read the responses")
    if wild_expose:
        if n.credentials:
            _add(n.notes, "the server sent Access-Control-Expose-Headers: *, a literal name once credentials are "
                          "in play: the response headers seen are listed instead")
        else:
            _add(n.expose, "*")
            n.kept.append(("exposed header", "*"))
    if n.credentials and ("method" in n.wildcards or "header" in n.wildcards):
        _add(n.notes, "the server sent '*' for methods or request headers, a literal name once credentials are "
                      "in play: the configuration below allows any by listing or echoing them")


def _add(target: list[str], value: str) -> None:
    if value not in target:
        target.append(value)


def _kept_text(kept: list[tuple[str, str]]) -> str:
    groups: dict[str, list[str]] = {}
    for what, value in kept:
        groups.setdefault(what, []).append(value)
    return "; ".join(f"{what} {', '.join(values)}" if values != ["true"] else what
                     for what, values in groups.items())


def existing_lines(needs: Needs, framework: str | None = None, width: int = _WIDTH) -> list[str]:
    """The warning `cors.fix` says first when the server's responses already carry CORS headers:
    remove that code, where it may live, and which responses carried which headers."""
    if not needs.existing:
        return []
    place = EXISTING_PLACES.get(framework or "", _ANY_PLACE)
    effect = _EXISTING_EFFECT.get(framework or "", "the old headers can win (Flask-CORS, for one, leaves "
                                  "alone any response that already has Access-Control-Allow-Origin)")
    prose = [
        f"WARNING: the server already sends CORS headers ({len(needs.existing)} response(s) below). Remove "
        f"that CORS code before adding this configuration, or the pasted configuration may do nothing: "
        f"{effect}, or both are sent and browsers refuse two Access-Control-Allow-Origin values.",
        f"Look for it in: {place}; and in {_PROXY_PLACE}.",
        "This configuration keeps what those headers allowed, so requests that work today keep working.",
    ]
    out = [line for para in prose for line in textwrap.wrap(para, width, subsequent_indent="  ")]
    out.append("Responses that carried CORS headers:")
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for kind, method, url, fields in needs.existing:
        what = f"preflight for {method} {url}" if kind == "preflight" else f"{method} {url}"
        groups.setdefault(fields, []).append(what)
    for i, (fields, requests) in enumerate(groups.items()):
        if i == _LISTED_GROUPS:
            out.append(f"  ... and {len(groups) - i} more set(s) of headers")
            break
        shown = ", ".join(requests[:_LISTED_EXAMPLES])
        more = f" and {len(requests) - _LISTED_EXAMPLES} more" if len(requests) > _LISTED_EXAMPLES else ""
        out.append(f"  {shown}{more}:")
        out += textwrap.wrap("; ".join(f"{k}: {v}" for k, v in fields), width, initial_indent="    ",
                             subsequent_indent="      ", break_on_hyphens=False)
    return out


def policy_for(n: Needs) -> Policy:
    return Policy(scope="~all", name="cors.fix",
                  allow_origins=("*",) if "origin" in n.wildcards else tuple(n.origins),
                  allow_methods=("*",) if "method" in n.wildcards else tuple(n.methods),
                  allow_headers=("*",) if "header" in n.wildcards else tuple(n.headers),
                  allow_credentials=bool(n.credentials), expose_headers=tuple(n.expose),
                  max_age=n.max_age, allow_private_network=n.private_network)


def framework_name(name: str) -> str | None:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in FRAMEWORKS else None


def render(policy: Policy, framework: str, needs: Needs | None = None, summary: bool = True,
           width: int = _WIDTH) -> str:
    """One framework's configuration; `summary` puts what the flows need in a comment on top.
    `width`: where the warning about existing CORS code is wrapped (a file's comment, a viewer)."""
    fw = framework_name(framework)
    if fw is None:
        raise ValueError(f"unknown framework {framework!r}; one of {', '.join(FRAMEWORKS)}")
    return _RENDERERS[fw](policy, _Context(needs, summary, fw, width))


def render_all(policy: Policy, needs: Needs | None = None, summary: bool = True) -> dict[str, str]:
    return {fw: render(policy, fw, needs, summary) for fw in FRAMEWORKS}


def report(needs: Needs, frameworks: Iterable[str] = FRAMEWORKS, width: int = _WIDTH) -> str:
    """Every framework's snippet with a summary and what no configuration can fix; the server's
    existing CORS headers, if any, first."""
    policy = policy_for(needs)
    out = existing_lines(needs, width=width)
    if out:
        out.append("")
    out.append(_title(needs))
    out += ["  " + line for line in needs.summary_lines()]
    for fw in frameworks:
        out += ["", f"=== {TITLES[fw]} ===", render(policy, fw, needs, summary=False).rstrip()]
    out += problems_text(needs)
    return "\n".join(out) + "\n"


def problems_text(needs: Needs) -> list[str]:
    if not needs.problems:
        return []
    out = ["", "Not fixable by server CORS configuration:"]
    out += [f"  {url}: {why}" for url, why in needs.problems]
    return out


# -- rendering helpers --------------------------------------------------------------------------------

def _py(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        if "\\" in value and '"' not in value and not value.endswith("\\"):
            return f'r"{value}"'
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return repr(value)


def _q(value: str) -> str:
    """A double-quoted string literal for JS, Java, C#, Go (JSON escaping is valid in all four)."""
    return json.dumps(value)


@dataclass
class _Context:
    needs: Needs | None
    summary: bool
    framework: str | None = None
    width: int = _WIDTH


def _title(needs: Needs) -> str:
    if needs.existing:
        return (f"CORS configuration for {needs.flows} flow(s) seen through the proxy, keeping what the "
                "server's own CORS headers allow:")
    return f"Smallest CORS configuration for {needs.flows} flow(s) seen through the proxy:"


def _header(ctx: _Context, prefix: str) -> list[str]:
    needs = ctx.needs
    if needs is None:
        return []
    out = []
    if ctx.summary:  # the warning comes first: a pasted snippet next to old CORS code may do nothing
        out += [f"{prefix} {line}" for line in existing_lines(needs, ctx.framework, ctx.width)]
        out.append(f"{prefix} {_title(needs)}")
        out += [f"{prefix}   {line}" for line in needs.summary_lines()]
    elif needs.existing:
        out.append(f"{prefix} First remove the server's existing CORS code (see above): "
                   f"{EXISTING_PLACES.get(ctx.framework or '', _ANY_PLACE)}.")
    for note in needs.notes:
        out.append(f"{prefix} note: {note}")
    return out


def _credentials_hint(p: Policy, ctx: _Context, prefix: str, knob: str) -> list[str]:
    needs = ctx.needs
    if p.allow_credentials or needs is None or needs.credentials:
        return []
    return [f"{prefix} If the page sends cookies or HTTP auth (credentials: 'include', withCredentials), "
            f"also set {knob}."]


def _lower_methods(p: Policy) -> list[str]:
    return [m for m in p.allow_methods if m != "*" and m != m.upper()]


def _js_regex(rx: str) -> str:
    body = rx.replace("(?P<", "(?<").replace("/", "\\/")
    return f"/^(?:{body})$/"


def _java_regex(rx: str) -> str:
    return _q("^(?:" + rx.replace("(?P<", "(?<") + ")$")


# -- renderers ----------------------------------------------------------------------------------------

def _express(p: Policy, ctx: _Context) -> str:
    out = _header(ctx, "//")
    out.append("// npm install cors  --  register it before your routes, auth and redirects.")
    out.append('const cors = require("cors");')
    opts: list[str] = []
    if p.any_origin:
        if p.allow_credentials:
            opts.append("  origin: true, // reflects the request's Origin (never \"*\" with credentials); "
                        "adds Vary: Origin")
        else:
            opts.append('  origin: "*",')
    else:
        items = [_q(o) for o in p.exact_origins]
        if p.allow_origin_regex:
            items.append(_js_regex(p.allow_origin_regex))
        opts.append(f"  origin: [{', '.join(items)}], // matched exactly (RegExp: tested), echoed back "
                    "with Vary: Origin")
    if p.any_method:
        if p.allow_credentials:
            opts.append(f"  methods: [{', '.join(_q(m) for m in _STANDARD_METHODS)}], "
                        "// '*' is a literal method under credentials: list them")
        else:
            opts.append('  methods: "*",')
    else:
        opts.append(f"  methods: [{', '.join(_q(m) for m in p.allow_methods)}], "
                    "// browsers compare these case-sensitively")
    if p.allow_headers and not p.any_header:
        opts.append(f"  allowedHeaders: [{', '.join(_q(h) for h in p.allow_headers)}],")
    elif p.any_header:
        opts.append("  // allowedHeaders left out: cors reflects Access-Control-Request-Headers")
    else:
        opts.append("  allowedHeaders: [],  // no custom request headers needed (omit it to reflect any)")
    if p.expose_headers:
        opts.append(f"  exposedHeaders: [{', '.join(_q(h) for h in p.expose_headers)}],")
    if p.allow_credentials:
        opts.append("  credentials: true,")
    if p.max_age is not None:
        opts.append(f"  maxAge: {p.max_age},")
    out.append("const corsOptions = {")
    out += opts
    out.append("};")
    out += _credentials_hint(p, ctx, "//", "credentials: true (and list origins, never '*')")
    if p.allow_private_network:
        out.append("// cors has no private-network option: answer it yourself, before cors()")
        out.append('app.use((req, res, next) => { if (req.headers["access-control-request-private-network"] '
                   '=== "true") res.setHeader("Access-Control-Allow-Private-Network", "true"); next(); });')
    out.append("app.use(cors(corsOptions)); // also answers every OPTIONS with 204 (preflightContinue: false)")
    return "\n".join(out) + "\n"


def _flask(p: Policy, ctx: _Context) -> str:
    kw = flask_cors_kwargs(p)
    out = _header(ctx, "#")
    out.append("# pip install flask-cors  --  after `app = Flask(__name__)`. Flask itself answers OPTIONS")
    out.append("# (automatic_options): a route must exist for the URL, and an auth check in")
    out.append("# before_request must let OPTIONS through.")
    lower = _lower_methods(p)
    if lower:
        out.append(f"# WARNING: Flask-CORS upper-cases methods, so it cannot allow {', '.join(lower)}; "
                   "send the upper-case method from the page.")
    if not p.any_origin and len(kw["origins"]) == 1 and not p.allow_origin_regex:
        out.append("# With a single literal origin Flask-CORS sends no Vary: Origin; add it if a shared cache "
                   "serves other origins.")
    out += _credentials_hint(p, ctx, "#", "supports_credentials=True")
    out.append("from flask_cors import CORS")
    out.append("")
    out.append("CORS(")
    out.append("    app,")
    for k, v in kw.items():
        out.append(f"    {k}={_py(v)},")
    out.append(")")
    return "\n".join(out) + "\n"


def _starlette(p: Policy, ctx: _Context) -> str:
    kw = starlette_kwargs(p)
    out = _header(ctx, "#")
    out.append("# Starlette: pip install starlette; FastAPI: from fastapi.middleware.cors import CORSMiddleware")
    out.append("# (the same class). Add it last: the last add_middleware() is the outermost, so it answers")
    out.append("# preflights before authentication. Unhandled exceptions become 500s outside it, without")
    out.append("# CORS headers. Accept, Accept-Language, Content-Language and Content-Type are always allowed")
    out.append("# request headers; failed preflights get 400 'Disallowed CORS ...'.")
    lower = _lower_methods(p)
    if lower:
        out.append(f"# allow_methods is compared exactly: {', '.join(lower)} stays lower-case.")
    out += _credentials_hint(p, ctx, "#", "allow_credentials=True")
    out.append("from starlette.middleware.cors import CORSMiddleware")
    out.append("")
    out.append("app.add_middleware(")
    out.append("    CORSMiddleware,")
    for k, v in kw.items():
        comment = ""
        if k == "allow_methods":
            comment = "  # default is GET only"
        elif k == "allow_origin_regex":
            comment = "  # must match the whole origin"
        out.append(f"    {k}={_py(v)},{comment}")
    out.append(")")
    return "\n".join(out) + "\n"


def _django(p: Policy, ctx: _Context) -> str:
    out = _header(ctx, "#")
    out.append("# settings.py  --  pip install django-cors-headers")
    out.append('# INSTALLED_APPS += ["corsheaders"]')
    out.append('# MIDDLEWARE: put "corsheaders.middleware.CorsMiddleware" as high as possible, before')
    out.append('#   "django.middleware.common.CommonMiddleware" (its APPEND_SLASH redirect breaks preflights).')
    out += _credentials_hint(p, ctx, "#", "CORS_ALLOW_CREDENTIALS = True")
    if p.any_origin:
        out.append("CORS_ALLOW_ALL_ORIGINS = True" + ("  # with credentials it echoes the Origin"
                                                     if p.allow_credentials else ""))
    else:
        if p.exact_origins:
            out.append(f"CORS_ALLOWED_ORIGINS = {_py(p.exact_origins)}  # scheme://host[:port], no trailing slash")
        if p.allow_origin_regex:
            out.append(f"CORS_ALLOWED_ORIGIN_REGEXES = [{_py('^(?:' + p.allow_origin_regex + ')$')}]")
    if p.any_method:
        out.append("# '*' would be sent literally (a method named '*' under credentials): list them")
        out.append(f"CORS_ALLOW_METHODS = {_py(list(_STANDARD_METHODS))}")
    else:
        out.append(f"CORS_ALLOW_METHODS = {_py(list(p.allow_methods))}  # sent as-is: exact case matters")
    if p.any_header:
        out.append("from corsheaders.defaults import default_headers")
        out.append("# django-cors-headers has no 'any header': list every header the page sends")
        out.append("CORS_ALLOW_HEADERS = (*default_headers,)")
    elif p.allow_headers:
        out.append("from corsheaders.defaults import default_headers")
        out.append(f"CORS_ALLOW_HEADERS = (*default_headers, {', '.join(_py(h) for h in p.allow_headers)})")
    if p.allow_credentials:
        out.append("CORS_ALLOW_CREDENTIALS = True")
    if p.expose_headers:
        out.append(f"CORS_EXPOSE_HEADERS = {_py(list(p.expose_headers))}")
    if p.max_age is not None:
        out.append(f"CORS_PREFLIGHT_MAX_AGE = {p.max_age}")
    if p.allow_private_network:
        out.append("CORS_ALLOW_PRIVATE_NETWORK = True")
    return "\n".join(out) + "\n"


def _spring(p: Policy, ctx: _Context) -> str:
    out = _header(ctx, "//")
    out.append("// A @Configuration bean; with Spring Security also call http.cors(Customizer.withDefaults())")
    out.append("// so preflights are answered before authentication.")
    out += _credentials_hint(p, ctx, "//", "config.setAllowCredentials(true)")
    out.append("@Bean")
    out.append("CorsConfigurationSource corsConfigurationSource() {")
    if p.allow_origin_regex:
        out.append("    Pattern allowedOrigin = Pattern.compile(" + _java_regex(p.allow_origin_regex) + ");")
        out.append("    CorsConfiguration config = new CorsConfiguration() {")
        out.append("        @Override")
        out.append("        public String checkOrigin(String origin) {  // Spring has no regex option")
        out.append("            String listed = super.checkOrigin(origin);")
        out.append("            if (listed != null) return listed;")
        out.append("            return origin != null && allowedOrigin.matcher(origin).matches() ? origin : null;")
        out.append("        }")
        out.append("    };")
    else:
        out.append("    CorsConfiguration config = new CorsConfiguration();")
    if p.any_origin:
        if p.allow_credentials:
            out.append('    config.setAllowedOriginPatterns(List.of("*"));  // allowedOrigins "*" is refused '
                       "with credentials")
        else:
            out.append('    config.setAllowedOrigins(List.of("*"));')
    elif p.exact_origins:
        out.append(f"    config.setAllowedOrigins(List.of({', '.join(_q(o) for o in p.exact_origins)}));")
    if p.any_method:
        out.append('    config.setAllowedMethods(List.of("*"));  // echoes the requested method')
    else:
        out.append(f"    config.setAllowedMethods(List.of({', '.join(_q(m) for m in p.allow_methods)}));"
                   "  // default: GET, HEAD")
    if p.any_header:
        out.append('    config.setAllowedHeaders(List.of("*"));  // echoes the requested headers')
    elif p.allow_headers:
        out.append(f"    config.setAllowedHeaders(List.of({', '.join(_q(h) for h in p.allow_headers)}));")
    if p.expose_headers:
        out.append(f"    config.setExposedHeaders(List.of({', '.join(_q(h) for h in p.expose_headers)}));")
    if p.allow_credentials:
        out.append("    config.setAllowCredentials(true);")
    if p.max_age is not None:
        out.append(f"    config.setMaxAge({p.max_age}L);")
    if p.allow_private_network:
        out.append("    config.setAllowPrivateNetwork(true);  // Spring Framework 6.1.3+")
    out.append("    UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();")
    out.append('    source.registerCorsConfiguration("/**", config);')
    out.append("    return source;")
    out.append("}")
    return "\n".join(out) + "\n"


def _aspnet(p: Policy, ctx: _Context) -> str:
    out = _header(ctx, "//")
    out += _credentials_hint(p, ctx, "//", ".AllowCredentials() (with listed origins, never AllowAnyOrigin)")
    out.append("builder.Services.AddCors(options => options.AddPolicy(\"cors-fix\", policy => policy")
    if p.any_origin and p.allow_credentials:
        out.append("    .SetIsOriginAllowed(_ => true)  // AllowAnyOrigin() + AllowCredentials() throws")
    elif p.any_origin:
        out.append("    .AllowAnyOrigin()")
    elif p.allow_origin_regex:
        listed = ", ".join(_q(o) for o in p.exact_origins)
        test = f'new[] {{ {listed} }}.Contains(origin) || ' if p.exact_origins else ""
        rx = "^(?:" + p.allow_origin_regex.replace("(?P<", "(?<") + ")$"
        out.append(f'    .SetIsOriginAllowed(origin => {test}Regex.IsMatch(origin, @"{rx.replace(chr(34), chr(34) * 2)}"))')
    else:
        out.append(f"    .WithOrigins({', '.join(_q(o) for o in p.exact_origins)})  // no trailing slash")
    if p.any_method:
        out.append("    .AllowAnyMethod()")
    else:
        out.append(f"    .WithMethods({', '.join(_q(m) for m in p.allow_methods)})  // sent as configured; "
                   "browsers compare case-sensitively")
    if p.any_header:
        out.append("    .AllowAnyHeader()")
    elif p.allow_headers:
        out.append(f"    .WithHeaders({', '.join(_q(h) for h in p.allow_headers)})")
    if p.expose_headers:
        out.append(f"    .WithExposedHeaders({', '.join(_q(h) for h in p.expose_headers)})")
    if p.allow_credentials:
        out.append("    .AllowCredentials()")
    if p.max_age is not None:
        out.append(f"    .SetPreflightMaxAge(TimeSpan.FromSeconds({p.max_age}))")
    out[-1] += "));"
    out.append("// ...")
    out.append("app.UseRouting();")
    out.append('app.UseCors("cors-fix");  // after UseRouting, before UseAuthentication/UseAuthorization')
    if not p.any_origin and (len(p.exact_origins) + bool(p.allow_origin_regex)) <= 1:
        out.append("// ASP.NET adds Vary: Origin only for several origins: add it if a shared cache is in front.")
    if p.allow_private_network:
        out.append("// ASP.NET Core has no private-network option: add Access-Control-Allow-Private-Network: true")
        out.append("// to preflights that carry Access-Control-Request-Private-Network: true, before UseCors.")
    return "\n".join(out) + "\n"


def _go(p: Policy, ctx: _Context) -> str:
    out = _header(ctx, "//")
    out.append("// go get github.com/rs/cors  --  wrap the whole mux, outside authentication.")
    out += _credentials_hint(p, ctx, "//", "AllowCredentials: true (with listed origins, never \"*\")")
    fields: list[str] = []
    pre: list[str] = []
    if p.any_origin and p.allow_credentials:
        fields.append("\tAllowOriginFunc: func(origin string) bool { return true }, "
                      "// \"*\" + AllowCredentials would send ACAO \"*\", which browsers refuse")
    elif p.any_origin:
        fields.append('\tAllowedOrigins: []string{"*"},')
    elif p.allow_origin_regex:
        rx = "^(?:" + p.allow_origin_regex + ")$"
        pre.append(f"var allowedOrigin = regexp.MustCompile({_q(rx)}) // RE2 syntax: no lookarounds")
        if p.exact_origins:
            pre.append(f"var listedOrigins = []string{{{', '.join(_q(o) for o in p.exact_origins)}}}")
            fields.append("\tAllowOriginFunc: func(origin string) bool { // replaces AllowedOrigins")
            fields.append("\t\treturn slices.Contains(listedOrigins, origin) || allowedOrigin.MatchString(origin)")
            fields.append("\t},")
        else:
            fields.append("\tAllowOriginFunc: allowedOrigin.MatchString, // replaces AllowedOrigins")
    else:
        fields.append(f"\tAllowedOrigins: []string{{{', '.join(_q(o) for o in p.exact_origins)}}},")
    methods = list(_STANDARD_METHODS) if p.any_method else list(p.allow_methods)
    note = ("rs/cors has no \"*\" for methods: listed" if p.any_method
            else "also checked on actual requests: every method the page uses")
    fields.append(f"\tAllowedMethods: []string{{{', '.join(_q(m) for m in methods)}}}, // {note}")
    if p.any_header:
        fields.append('\tAllowedHeaders: []string{"*"},')
    elif p.allow_headers:
        fields.append(f"\tAllowedHeaders: []string{{{', '.join(_q(h) for h in p.allow_headers)}}},")
    if p.expose_headers:
        fields.append(f"\tExposedHeaders: []string{{{', '.join(_q(h) for h in p.expose_headers)}}},")
    if p.allow_credentials:
        fields.append("\tAllowCredentials: true,")
    if p.max_age is not None:
        fields.append(f"\tMaxAge: {p.max_age}," if p.max_age else "\tMaxAge: -1, // sends Access-Control-Max-Age: 0")
    if p.allow_private_network:
        fields.append("\tAllowPrivateNetwork: true,")
    out += pre
    out.append("c := cors.New(cors.Options{")
    out += fields
    out.append("})")
    out.append("handler := c.Handler(mux) // preflights are answered 204 and never reach mux")
    return "\n".join(out) + "\n"


def _nginx(p: Policy, ctx: _Context) -> str:
    out = _header(ctx, "#")
    out.append("# In the http {} block:")
    dynamic = not (p.any_origin and not p.allow_credentials)
    if p.any_origin and p.allow_credentials:
        origin_var = "$http_origin"
        out.append("# any origin, with credentials: the Origin is echoed (never '*')")
    elif p.any_origin:
        origin_var = '"*"'
    else:
        origin_var = "$cors_origin"
        out.append("map $http_origin $cors_origin {")
        out.append('    default "";  # an empty value makes add_header send nothing')
        for o in p.exact_origins:
            out.append(f'    "{o}" $http_origin;')
        if p.allow_origin_regex:
            out.append(f'    "~^(?:{p.allow_origin_regex})$" $http_origin;')
        out.append("}")
    out.append('map "$request_method:$http_access_control_request_method" $cors_preflight {')
    out.append("    default 0;")
    out.append('    "~^OPTIONS:." 1;  # only CORS preflights, not every OPTIONS')
    out.append("}")
    methods = "$http_access_control_request_method" if p.any_method else ", ".join(p.allow_methods)
    headers = "$http_access_control_request_headers" if p.any_header else ", ".join(p.allow_headers)
    common = [f"add_header Access-Control-Allow-Origin {origin_var} always;"]
    if p.allow_credentials:
        common.append('add_header Access-Control-Allow-Credentials "true" always;')
    if dynamic:
        common.append('add_header Vary "Origin" always;')
    pre = list(common)
    if methods:
        pre.append(f'add_header Access-Control-Allow-Methods "{methods}" always;')
    if headers:
        pre.append(f'add_header Access-Control-Allow-Headers "{headers}" always;')
    if p.max_age is not None:
        pre.append(f"add_header Access-Control-Max-Age {p.max_age} always;")
    if p.allow_private_network:
        pre.append('add_header Access-Control-Allow-Private-Network "true" always;')
    actual = list(common)
    if p.expose_headers:
        actual.append(f'add_header Access-Control-Expose-Headers "{", ".join(p.expose_headers)}" always;')
    out.append("")
    out.append("# In the server {} / location {} that proxies the API:")
    out.append("location / {")
    out.append("    if ($cors_preflight) {  # answer preflights here: 204, before auth or redirects")
    out += ["        " + line for line in pre]
    out.append("        return 204;")
    out.append("    }")
    out.append("    # 'always' adds them to 4xx/5xx too; add_header in the if block above does not inherit these.")
    for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                 "Access-Control-Expose-Headers"):
        out.append(f"    proxy_hide_header {name};  # no duplicates if the app sends its own")
    out += ["    " + line for line in actual]
    out.append("    proxy_pass http://backend;  # your upstream")
    out.append("}")
    return "\n".join(out) + "\n"


_RENDERERS = {
    "express": _express,
    "flask": _flask,
    "starlette": _starlette,
    "django": _django,
    "spring": _spring,
    "aspnet": _aspnet,
    "go": _go,
    "nginx": _nginx,
}
