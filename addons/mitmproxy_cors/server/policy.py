"""A server-side CORS configuration (`Policy`), validated from a plain mapping.

`Policy` holds the knobs the common CORS middlewares share (allowed origins as a list or a
pattern, methods, request headers, credentials, exposed headers, max age, private network). The
file format (TOML/YAML/JSON) is parsed by the mitmproxy side (mitm/policy_file.py); this module
validates the resulting mapping. Pure: no mitmproxy, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..engine.origin import parse_origin_header
from ..engine.syntax import is_token

MIDDLEWARES = ("generic", "starlette", "flask-cors")


class PolicyError(ValueError):
    """A policy that cannot be used; the message names the problem."""


@dataclass(frozen=True)
class Policy:
    scope: str  # a mitmproxy flow filter; the adapter compiles it
    name: str = ""
    middleware: str = "generic"
    allow_origins: tuple[str, ...] = ()  # serialized origins, "null", or ("*",) for any
    allow_origin_regex: str | None = None  # full match, Python `re` syntax
    allow_methods: tuple[str, ...] = ("GET", "HEAD", "POST")  # case kept; ("*",) = any
    allow_headers: tuple[str, ...] = ()  # ("*",) = any requested header
    allow_credentials: bool = False
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_private_network: bool = False
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def any_origin(self) -> bool:
        return "*" in self.allow_origins

    @property
    def exact_origins(self) -> list[str]:
        return [o for o in self.allow_origins if o != "*"]

    @property
    def any_method(self) -> bool:
        return "*" in self.allow_methods

    @property
    def any_header(self) -> bool:
        return "*" in self.allow_headers

    def label(self) -> str:
        return self.name or repr(self.scope)

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether the `generic` middleware allows this Origin value (byte-exact, as browsers compare)."""
        if origin is None:
            return False
        if self.any_origin or origin in self.allow_origins:
            return True
        return self.allow_origin_regex is not None and re.fullmatch(self.allow_origin_regex, origin) is not None


# -- parsing -------------------------------------------------------------------------------------

_KNOBS = {
    "name": "a label for logs and comments",
    "scope": "a mitmproxy flow filter: the flows this policy answers (required; '~all' for every flow)",
    "middleware": f"which middleware to emulate: {', '.join(MIDDLEWARES)} (default generic)",
    "allow_origins": "list of origins (scheme://host[:port]); ['*'] for any; 'null' for opaque origins",
    "allow_origin_regex": "a regular expression an origin must match in full",
    "allow_methods": "list of methods, case-sensitive; ['*'] for any (default GET, HEAD, POST)",
    "allow_headers": "list of request header names; ['*'] for any",
    "allow_credentials": "true/false: cookies and HTTP auth allowed",
    "expose_headers": "list of response header names page scripts may read",
    "max_age": "seconds a preflight may be cached (Access-Control-Max-Age)",
    "allow_private_network": "true/false: answer Access-Control-Request-Private-Network",
}


def policies_from_mapping(data: object) -> list[Policy]:
    """Validate a parsed policy file: one policy (top-level keys) or a list under ``policy``."""
    if isinstance(data, list):
        items = data
    elif isinstance(data, Mapping):
        if "policy" in data or "policies" in data:
            key = "policy" if "policy" in data else "policies"
            extra = sorted(set(data) - {key})
            if extra:
                raise PolicyError(f"unexpected top-level key(s) {', '.join(map(repr, extra))} next to '{key}'; "
                                  f"put every setting inside the [[{key}]] entries")
            items = data[key]
            if isinstance(items, Mapping):
                items = [items]
            if not isinstance(items, list):
                raise PolicyError(f"'{key}' must be a list of policies")
        else:
            items = [data]
    else:
        raise PolicyError("the file must contain a policy (a table of settings) or a list of policies")
    if not items:
        raise PolicyError("the file contains no policy")
    out = []
    for i, item in enumerate(items):
        where = f"policy #{i + 1}" if len(items) > 1 else "policy"
        if not isinstance(item, Mapping):
            raise PolicyError(f"{where}: must be a table of settings, not {type(item).__name__}")
        try:
            out.append(policy_from_mapping(item))
        except PolicyError as e:
            if len(items) == 1:
                raise
            name = item.get("name") if isinstance(item.get("name"), str) else None
            raise PolicyError(f"{where}{f' ({name!r})' if name else ''}: {e}") from None
    return out


def policy_from_mapping(item: Mapping) -> Policy:
    unknown = sorted(str(k) for k in item if k not in _KNOBS)
    if unknown:
        raise PolicyError(f"unknown setting {', '.join(map(repr, unknown))}; known settings: "
                          + ", ".join(_KNOBS))
    warnings: list[str] = []
    scope = item.get("scope")
    if not isinstance(scope, str) or not scope.strip():
        raise PolicyError("'scope' is required: a mitmproxy flow filter such as '~d api.example.com' "
                          "('~all' for every flow)")
    name = _string(item, "name", "")
    middleware = _string(item, "middleware", "generic")
    if middleware not in MIDDLEWARES:
        raise PolicyError(f"'middleware' must be one of {', '.join(MIDDLEWARES)}, not {middleware!r}")

    origins = _string_list(item, "allow_origins", [])
    for o in origins:
        if o in ("*", "null"):
            continue
        parsed = parse_origin_header(o)
        if parsed is None or parsed.serialize() != o:
            hint = "scheme://host[:port]"
            if parsed is not None and parsed.serialize() == o.lower().rstrip("/"):
                hint = f"write it as {parsed.serialize()!r}, as browsers send it"
            raise PolicyError(f"allow_origins: {o!r} is not an origin ({hint})")
    if "*" in origins and len(origins) > 1:
        raise PolicyError("allow_origins: '*' means any origin; it must be the only entry")
    if "null" in origins:
        warnings.append("allow_origins contains 'null': sandboxed iframes and redirected requests of any "
                        "site send Origin: null")
    regex = item.get("allow_origin_regex")
    if regex is not None:
        if not isinstance(regex, str) or not regex:
            raise PolicyError("allow_origin_regex must be a non-empty string")
        try:
            re.compile(regex)
        except re.error as e:
            raise PolicyError(f"allow_origin_regex {regex!r} is not a regular expression: {e}") from None
    if not origins and regex is None:
        raise PolicyError("no origin is allowed: set allow_origins (['*'] for any) or allow_origin_regex")

    methods = _string_list(item, "allow_methods", ["GET", "HEAD", "POST"])
    headers = _string_list(item, "allow_headers", [])
    expose = _string_list(item, "expose_headers", [])
    for key, values in (("allow_methods", methods), ("allow_headers", headers), ("expose_headers", expose)):
        for v in values:
            if v != "*" and not is_token(v):
                raise PolicyError(f"{key}: {v!r} is not a valid name (a token: no spaces, commas or quotes)")
        if "*" in values and len(values) > 1 and key != "expose_headers":
            raise PolicyError(f"{key}: '*' means any; it must be the only entry")
    credentials = _bool(item, "allow_credentials", False)
    private = _bool(item, "allow_private_network", False)
    max_age = item.get("max_age")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0):
        raise PolicyError(f"max_age must be a whole number of seconds >= 0, not {max_age!r}")
    if credentials and "*" in expose:
        warnings.append("expose_headers '*' is a literal name when credentials are included; list the headers")
    lower_std = [m for m in methods if m.upper() in ("DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT") and m != m.upper()]
    if lower_std:
        warnings.append(f"allow_methods {', '.join(lower_std)}: browsers upper-case these methods before "
                        "sending, and compare Access-Control-Allow-Methods case-sensitively")
    return Policy(scope=scope.strip(), name=name, middleware=middleware, allow_origins=tuple(origins),
                  allow_origin_regex=regex, allow_methods=tuple(methods), allow_headers=tuple(headers),
                  allow_credentials=credentials, expose_headers=tuple(expose), max_age=max_age,
                  allow_private_network=private, warnings=tuple(warnings))


def _string(item: Mapping, key: str, default: str) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise PolicyError(f"{key} must be a string, not {type(value).__name__}")
    return value


def _bool(item: Mapping, key: str, default: bool) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise PolicyError(f"{key} must be true or false, not {value!r}")
    return value


def _string_list(item: Mapping, key: str, default: list[str]) -> list[str]:
    if key not in item:
        return list(default)
    value = item[key]
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{key} must be a list of strings")
    out: list[str] = []
    for v in value:
        v = v.strip()
        if v and v not in out:
            out.append(v)
    return out
