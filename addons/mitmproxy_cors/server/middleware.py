"""What a CORS middleware configured with a `Policy` sends: the preflight answer and the headers on
an actual response.

`Policy` holds the knobs the common CORS middlewares share (allowed origins as a list or a
pattern, methods, request headers, credentials, exposed headers, max age, private network).
`answer_preflight` and `decorate` compute, for one request, the preflight answer and the
headers on an actual response exactly as the chosen middleware would:

* ``generic``: what this project recommends and what the snippets aim at: a preflight is always
  answered 204; an allowed origin gets Access-Control-Allow-Origin (``*`` only for "any origin"
  without credentials, else the request's Origin echoed, with ``Vary: Origin``); the lists are
  sent as configured, ``*`` for methods or headers is answered by echoing what the preflight asked
  (so it also holds under credentials).
* ``starlette``: Starlette's / FastAPI's ``CORSMiddleware`` (1.x), configured by the keyword
  arguments `framework_options.starlette_kwargs` derives from the policy.
* ``flask-cors``: Flask-CORS (6.x) ``CORS(app, ...)``, configured by `framework_options.flask_cors_kwargs`.

Pure: no mitmproxy, no I/O. The file format (TOML/YAML) is parsed by the adapter; this module
validates the resulting mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..engine.model import Headers, RequestSnapshot
from .framework_options import flask_cors_kwargs, starlette_kwargs
from .headers import (ACAC, ACAH, ACAM, ACAO, ACAPN, ACEH, ACMA, ACRH, ACRM, ACRPN, add_vary, get_all,
                      set_header)
from .policy import Policy


@dataclass
class Answer:
    """A response the proxy sends in place of the server's."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


# -- emulation -------------------------------------------------------------------------------------

def is_preflight(req: RequestSnapshot) -> bool:
    """What every middleware treats as a preflight: OPTIONS with Origin and Access-Control-Request-Method."""
    return req.method == "OPTIONS" and "origin" in req.headers and ACRM in req.headers


def answer_preflight(policy: Policy, req: RequestSnapshot) -> Answer:
    if policy.middleware == "starlette":
        return _StarletteSim(policy).preflight(req.headers)
    if policy.middleware == "flask-cors":
        return _FlaskCorsSim(policy).preflight(req.headers)
    return _generic_preflight(policy, req.headers)


def decorate(policy: Policy, req: RequestSnapshot, headers: Headers) -> list[tuple[str, str]]:
    """The response header fields after the middleware has processed an actual response."""
    if policy.middleware == "starlette":
        return _StarletteSim(policy).decorate(req.headers, headers)
    if policy.middleware == "flask-cors":
        return _FlaskCorsSim(policy).decorate(req.method, req.headers, headers)
    return _generic_decorate(policy, req.headers, headers)


# -- generic -----------------------------------------------------------------------------------------

def _generic_preflight(p: Policy, h: Headers) -> Answer:
    origin = h.get("Origin")
    fields: list[tuple[str, str]] = []
    vary = []
    if p.origin_allowed(origin):
        wildcard = p.any_origin and not p.allow_credentials
        fields.append((ACAO, "*" if wildcard else origin))
        if not wildcard:
            vary.append("Origin")
        if p.allow_credentials:
            fields.append((ACAC, "true"))
        if p.any_method:
            requested = h.get(ACRM)
            if requested:
                fields.append((ACAM, requested))
                vary.append(ACRM)
        elif p.allow_methods:
            fields.append((ACAM, ", ".join(p.allow_methods)))
        if p.any_header:
            requested = h.get(ACRH)
            if requested:
                fields.append((ACAH, requested))
            vary.append(ACRH)
        elif p.allow_headers:
            fields.append((ACAH, ", ".join(p.allow_headers)))
        if p.max_age is not None:
            fields.append((ACMA, str(p.max_age)))
        if p.allow_private_network and (h.get(ACRPN) or "").lower() == "true":
            fields.append((ACAPN, "true"))
    elif not (p.any_origin and not p.allow_credentials):
        vary.append("Origin")
    if vary:
        fields.append(("Vary", ", ".join(vary)))
    return Answer(204, fields)


def _generic_decorate(p: Policy, h: Headers, response: Headers) -> list[tuple[str, str]]:
    fields = list(response.fields)
    origin = h.get("Origin")
    wildcard = p.any_origin and not p.allow_credentials
    if origin is not None and p.origin_allowed(origin):
        set_header(fields, ACAO, "*" if wildcard else origin)
        if p.allow_credentials:
            set_header(fields, ACAC, "true")
        if p.expose_headers:
            set_header(fields, ACEH, ", ".join(p.expose_headers))
    if not wildcard:
        add_vary(fields, "Origin")
    return fields


# -- Starlette CORSMiddleware --------------------------------------------------------------------------

_STARLETTE_ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
_STARLETTE_SAFELISTED = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}


class _StarletteSim:
    """starlette/middleware/cors.py (1.x), line for line, fed with `framework_options.starlette_kwargs`."""

    def __init__(self, p: Policy) -> None:

        kw = starlette_kwargs(p)
        allow_origins = kw.get("allow_origins", ())
        allow_methods = kw.get("allow_methods", ("GET",))
        allow_headers = kw.get("allow_headers", ())
        allow_credentials = kw.get("allow_credentials", False)
        regex = kw.get("allow_origin_regex")
        expose = kw.get("expose_headers", ())
        max_age = kw.get("max_age", 600)
        if "*" in allow_methods:
            allow_methods = _STARLETTE_ALL_METHODS
        self.allow_all_origins = "*" in allow_origins
        self.allow_all_headers = "*" in allow_headers
        self.explicit = not self.allow_all_origins or allow_credentials
        simple: list[tuple[str, str]] = []
        if self.allow_all_origins:
            simple.append((ACAO, "*"))
        if allow_credentials:
            simple.append((ACAC, "true"))
        if expose:
            simple.append((ACEH, ", ".join(expose)))
        pre: list[tuple[str, str]] = [("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
                                               "Access-Control-Request-Private-Network")]
        if not self.explicit:
            pre.append((ACAO, "*"))
        pre += [(ACAM, ", ".join(allow_methods)), (ACMA, str(max_age))]
        headers = sorted(_STARLETTE_SAFELISTED | set(allow_headers))
        if headers and not self.allow_all_headers:
            pre.append((ACAH, ", ".join(headers)))
        if allow_credentials:
            pre.append((ACAC, "true"))
        self.allow_origins = allow_origins
        self.allow_methods = allow_methods
        self.allow_headers = [x.lower() for x in headers]
        self.allow_credentials = allow_credentials
        self.regex = re.compile(regex) if regex else None
        self.private = kw.get("allow_private_network", False)
        self.simple = simple
        self.pre = pre

    def allowed(self, origin: str) -> bool:
        if self.allow_all_origins:
            return True
        if self.regex is not None and self.regex.fullmatch(origin):
            return True
        return origin in self.allow_origins

    def preflight(self, h: Headers) -> Answer:
        origin = _raw_first(h, "origin")
        method = _raw_first(h, ACRM)
        requested = _raw_first(h, ACRH)
        private = _raw_first(h, ACRPN)
        fields = [(k.lower(), v) for k, v in self.pre]
        failures = []
        if self.allowed(origin):
            if self.explicit:
                set_header(fields, "access-control-allow-origin", origin)
        else:
            failures.append("origin")
        if method not in self.allow_methods:
            failures.append("method")
        if self.allow_all_headers and requested is not None:
            set_header(fields, "access-control-allow-headers", requested)
        elif requested is not None:
            for header in [x.lower() for x in requested.split(",")]:
                if header.strip() not in self.allow_headers:
                    failures.append("headers")
                    break
        if private is not None:
            if self.private:
                set_header(fields, "access-control-allow-private-network", "true")
            else:
                failures.append("private-network")
        body = ("Disallowed CORS " + ", ".join(failures)).encode() if failures else b"OK"
        fields += [("content-length", str(len(body))), ("content-type", "text/plain; charset=utf-8")]
        return Answer(400 if failures else 200, fields, body)

    def decorate(self, h: Headers, response: Headers) -> list[tuple[str, str]]:
        fields = list(response.fields)
        origin = _raw_first(h, "origin")
        if origin is not None:
            for k, v in self.simple:
                set_header(fields, k.lower(), v)

        def explicit() -> None:
            set_header(fields, "access-control-allow-origin", origin)
            set_header(fields, "vary", ", ".join([*get_all(fields, "vary"), "Origin"]))

        if origin is not None and self.allow_all_origins and self.allow_credentials:
            explicit()
        elif origin is not None and not self.allow_all_origins and self.allowed(origin):
            explicit()
        else:
            set_header(fields, "vary", ", ".join([*get_all(fields, "vary"), "Origin"]))
        return fields


# -- Flask-CORS ------------------------------------------------------------------------------------------

_FLASK_ALL_METHODS = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
_FLASK_REGEX_HINT = frozenset("*\\]?$^[]()")


class _FlaskCorsSim:
    """flask_cors/core.py (6.x) `get_cors_headers` and the after_request hook, fed with
    `framework_options.flask_cors_kwargs`. Flask answers the preflight itself (automatic OPTIONS: 200)."""

    def __init__(self, p: Policy) -> None:

        kw = flask_cors_kwargs(p)
        origins = kw.get("origins", "*")
        origins = [origins] if isinstance(origins, str) else list(origins)
        origins = [".*" if o == "*" else o for o in origins]
        self.allow_all = ".*" in origins
        self.origins: list[str | re.Pattern] = [
            re.compile(o, re.IGNORECASE) if not _FLASK_REGEX_HINT.isdisjoint(o) else o for o in origins]
        allow_headers = kw.get("allow_headers", "*")
        allow_headers = [allow_headers] if isinstance(allow_headers, str) else list(allow_headers)
        self.allow_headers = [re.compile(".*" if x == "*" else x, re.IGNORECASE)
                              if x == "*" or not _FLASK_REGEX_HINT.isdisjoint(x) else x for x in allow_headers]
        methods = kw.get("methods", _FLASK_ALL_METHODS)
        self.methods = (methods if isinstance(methods, str) else ", ".join(sorted(methods))).upper()
        expose = kw.get("expose_headers")
        self.expose = None if not expose else (expose if isinstance(expose, str) else ", ".join(sorted(expose)))
        self.max_age = kw.get("max_age")
        self.credentials = kw.get("supports_credentials", False)
        self.send_wildcard = kw.get("send_wildcard", False)
        self.private = kw.get("allow_private_network", False)

    @staticmethod
    def _match(value: str, patterns) -> bool:
        for p in patterns:
            if isinstance(p, re.Pattern):
                if p.match(value):
                    return True
            elif value.casefold() == p.casefold():
                return True
        return False

    def _origins_to_set(self, origin: str | None) -> list[str] | None:
        if origin:
            if self.allow_all and self.send_wildcard:
                return ["*"]
            if self._match(origin, self.origins):
                return [origin]
            return None
        # always_send
        if self.allow_all:
            return None if self.credentials else ["*"]
        return sorted(o for o in self.origins if isinstance(o, str))

    def cors_headers(self, method: str, h: Headers) -> list[tuple[str, str]]:
        to_set = self._origins_to_set(_raw_first(h, "Origin"))
        if not to_set:
            return []
        out: dict[str, str | None] = {ACAO: to_set[0], ACEH: self.expose}
        if self.credentials:
            out[ACAC] = "true"
        if (_raw_first(h, ACRPN) or None) == "true":
            out[ACAPN] = "true" if self.private else "false"
        if method == "OPTIONS":
            requested_method = (_raw_first(h, ACRM) or "").upper()
            if requested_method and self.methods and requested_method in self.methods:
                out[ACAH] = self._allow_headers(_raw_first(h, ACRH))
                out[ACMA] = None if self.max_age is None else str(self.max_age)
                out[ACAM] = self.methods
        vary = None
        if to_set[0] != "*" and (len(self.origins) > 1 or len(to_set) > 1
                                 or any(isinstance(o, re.Pattern) for o in self.origins)):
            vary = "Origin"
        fields = [(k, v) for k, v in out.items() if v]
        if vary:
            fields.append(("Vary", vary))
        return fields

    def _allow_headers(self, requested: str | None) -> str | None:
        if not requested:
            return None
        names = [x.strip() for x in requested.split(",")]
        return ", ".join(sorted(n for n in names if self._match(n, self.allow_headers)))

    def preflight(self, h: Headers) -> Answer:
        fields = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "0")]
        fields += self.cors_headers("OPTIONS", h)
        return Answer(200, fields)

    def decorate(self, method: str, h: Headers, response: Headers) -> list[tuple[str, str]]:
        fields = list(response.fields)
        if get_all(fields, ACAO) and any(v for v in get_all(fields, ACAO)):
            return fields  # "CORS have been already evaluated, skipping"
        return fields + self.cors_headers(method.upper(), h)


def _raw_first(h: Headers, name: str) -> str | None:
    values = h.get_all(name)
    return values[0].strip(" \t") if values else None
