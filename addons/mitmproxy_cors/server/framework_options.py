"""The keyword arguments Starlette's `CORSMiddleware` and Flask-CORS take for a `Policy`: what the
printed snippets configure and what the middleware emulation (middleware.py) is fed, so the two
cannot disagree."""

from __future__ import annotations

import re

from .policy import Policy


def starlette_kwargs(p: Policy) -> dict:
    kw: dict = {}
    if p.allow_origins:
        kw["allow_origins"] = list(p.allow_origins)
    if p.allow_origin_regex:
        kw["allow_origin_regex"] = p.allow_origin_regex
    kw["allow_methods"] = list(p.allow_methods)
    if p.allow_headers:
        kw["allow_headers"] = list(p.allow_headers)
    if p.allow_credentials:
        kw["allow_credentials"] = True
    if p.expose_headers:
        kw["expose_headers"] = list(p.expose_headers)
    if p.max_age is not None:
        kw["max_age"] = p.max_age
    if p.allow_private_network:
        kw["allow_private_network"] = True
    return kw


_FLASK_REGEX_HINT = frozenset("*\\]?$^[]()")


def flask_cors_kwargs(p: Policy) -> dict:
    kw: dict = {}
    if p.any_origin:
        kw["origins"] = "*"
        if not p.allow_credentials:
            kw["send_wildcard"] = True
    else:
        origins = []
        for o in p.exact_origins:
            # Flask-CORS compiles any origin that looks like a regex ('[::1]' does): escape those.
            origins.append(o if _FLASK_REGEX_HINT.isdisjoint(o) else f"^{re.escape(o)}$")
        if p.allow_origin_regex:
            origins.append(f"^(?:{p.allow_origin_regex})$")
        kw["origins"] = origins
    if not p.any_method:
        kw["methods"] = list(p.allow_methods)
    if p.allow_headers and not p.any_header:
        kw["allow_headers"] = list(p.allow_headers)
    elif not p.allow_headers:
        kw["allow_headers"] = []
    if p.expose_headers:
        kw["expose_headers"] = list(p.expose_headers)
    if p.allow_credentials:
        kw["supports_credentials"] = True
    if p.max_age is not None:
        kw["max_age"] = p.max_age
    if p.allow_private_network:
        kw["allow_private_network"] = True
    return kw
