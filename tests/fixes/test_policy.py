"""cors_policy: parsing and validation, and the emulation header for header against the real
Starlette CORSMiddleware and Flask-CORS (in-process; the Chromium-level comparison is in
test_chromium_differential.py)."""

from __future__ import annotations

import asyncio
import itertools
import textwrap

import pytest

from mitmproxy_cors.server.middleware import answer_preflight, decorate
from mitmproxy_cors.server.policy import Policy, PolicyError, policies_from_mapping
from mitmproxy_cors.engine.model import Headers, RequestSnapshot
from mitmproxy_cors.server.framework_options import flask_cors_kwargs, starlette_kwargs
from mitmproxy_cors.mitm.policy_file import load_policy_file

A = "http://127.0.0.1:8001"
B = "http://localhost:9001"


# -- parsing -------------------------------------------------------------------------------------------

def test_toml_yaml_json_single_and_list(tmp_path):
    (tmp_path / "p.toml").write_text(textwrap.dedent("""
        scope = "~d api.test"
        allow_origins = ["http://127.0.0.1:8001"]
        allow_methods = ["GET", "PUT"]
        allow_credentials = true
        max_age = 600
    """))
    (tmp_path / "p.yaml").write_text(textwrap.dedent("""
        policy:
          - name: one
            scope: "~u /a/"
            allow_origins: ["*"]
          - name: two
            scope: "~u /b/"
            allow_origin_regex: 'http://localhost:\\d+'
            middleware: starlette
    """))
    (tmp_path / "p.json").write_text('{"scope": "~all", "allow_origins": "http://a.test, http://b.test"}')
    [t] = load_policy_file(str(tmp_path / "p.toml"))
    assert t.policy.allow_methods == ("GET", "PUT") and t.policy.allow_credentials and t.policy.max_age == 600
    one, two = load_policy_file(str(tmp_path / "p.yaml"))
    assert one.policy.any_origin and two.policy.middleware == "starlette"
    assert two.policy.origin_allowed("http://localhost:5") and not two.policy.origin_allowed("http://localhost:5x")
    [j] = load_policy_file(str(tmp_path / "p.json"))
    assert j.policy.allow_origins == ("http://a.test", "http://b.test")


@pytest.mark.parametrize("data, message", [
    ({"allow_origins": ["*"]}, "'scope' is required"),
    ({"scope": "~all", "allow_origin": ["*"]}, "unknown setting 'allow_origin'"),
    ({"scope": "~all", "allow_origins": ["https://a.test/"]}, "write it as 'https://a.test'"),
    ({"scope": "~all", "allow_origins": ["HTTPS://A.test"]}, "not an origin"),
    ({"scope": "~all", "allow_origins": ["*", "http://a.test"]}, "must be the only entry"),
    ({"scope": "~all"}, "no origin is allowed"),
    ({"scope": "~all", "allow_origins": ["*"], "allow_methods": ["GET PUT"]}, "not a valid name"),
    ({"scope": "~all", "allow_origins": ["*"], "allow_credentials": "yes"}, "true or false"),
    ({"scope": "~all", "allow_origins": ["*"], "max_age": -1}, "max_age"),
    ({"scope": "~all", "allow_origins": ["*"], "middleware": "express"}, "middleware"),
    ({"scope": "~all", "allow_origin_regex": "("}, "not a regular expression"),
    ({"policy": [{"scope": "~all", "allow_origins": ["*"]}], "scope": "x"}, "unexpected top-level"),
    ([], "no policy"),
])
def test_bad_policies_name_the_problem(data, message):
    with pytest.raises(PolicyError, match=message):
        policies_from_mapping(data)


def test_bad_files(tmp_path):
    bad_scope = tmp_path / "s.toml"
    bad_scope.write_text('scope = "~bogus"\nallow_origins = ["*"]\n')
    with pytest.raises(PolicyError, match=r"s\.toml: scope: Invalid filter expression"):
        load_policy_file(str(bad_scope))
    broken = tmp_path / "b.toml"
    broken.write_text("scope = \n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy_file(str(broken))
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy_file(str(tmp_path / "missing.yaml"))
    with pytest.raises(PolicyError, match=r"\.toml, \.yaml"):
        load_policy_file(str(tmp_path / "p.ini"))
    yml = tmp_path / "y.yml"
    yml.write_text("scope: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy_file(str(yml))


def test_warnings_for_null_and_lowercase_methods():
    [p] = policies_from_mapping({"scope": "~all", "allow_origins": ["null"], "allow_methods": ["put"]})
    assert any("null" in w for w in p.warnings) and any("upper-case" in w for w in p.warnings)


# -- generic semantics ---------------------------------------------------------------------------------------

def req(method, origin=A, extra=()):
    h = [("Origin", origin)] if origin else []
    return RequestSnapshot(method, "http://api.test/x", Headers(h + list(extra)))


def test_generic_preflight_allowed_and_not():
    p = Policy(scope="~all", allow_origins=(A,), allow_methods=("PUT",), allow_headers=("x-foo",),
               allow_credentials=True, max_age=60)
    ans = answer_preflight(p, req("OPTIONS", extra=[("Access-Control-Request-Method", "PUT")]))
    assert ans.status == 204
    assert ans.headers == [("Access-Control-Allow-Origin", A), ("Access-Control-Allow-Credentials", "true"),
                           ("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "x-foo"),
                           ("Access-Control-Max-Age", "60"), ("Vary", "Origin")]
    other = answer_preflight(p, req("OPTIONS", origin=B, extra=[("Access-Control-Request-Method", "PUT")]))
    assert other.headers == [("Vary", "Origin")]


def test_generic_any_with_credentials_echoes_and_star_lists_echo():
    p = Policy(scope="~all", allow_origins=("*",), allow_methods=("*",), allow_headers=("*",), allow_credentials=True)
    ans = answer_preflight(p, req("OPTIONS", extra=[("Access-Control-Request-Method", "patch"),
                                                   ("Access-Control-Request-Headers", "x-a,x-b")]))
    h = dict(ans.headers)
    assert h["Access-Control-Allow-Origin"] == A and h["Access-Control-Allow-Methods"] == "patch"
    assert h["Access-Control-Allow-Headers"] == "x-a,x-b"
    fields = decorate(p, req("GET"), Headers([("Access-Control-Allow-Origin", "*"), ("Vary", "Accept")]))
    assert fields == [("Access-Control-Allow-Origin", A), ("Vary", "Accept, Origin"),
                      ("Access-Control-Allow-Credentials", "true")]


def test_generic_wildcard_without_credentials():
    p = Policy(scope="~all", allow_origins=("*",), expose_headers=("x-total",))
    fields = decorate(p, req("GET"), Headers([("Content-Type", "text/plain")]))
    assert fields == [("Content-Type", "text/plain"), ("Access-Control-Allow-Origin", "*"),
                      ("Access-Control-Expose-Headers", "x-total")]


# -- header-level differential with the real middlewares --------------------------------------------------------

POLICIES = {
    "exact-credentials": Policy(scope="~all", allow_origins=(A, "null"), allow_methods=("GET", "POST", "PUT"),
                                allow_headers=("x-foo", "content-type"), allow_credentials=True,
                                expose_headers=("x-total", "x-page"), max_age=120),
    "wildcard": Policy(scope="~all", allow_origins=("*",), allow_methods=("GET", "PUT", "DELETE"),
                       allow_headers=("x-foo",), expose_headers=("x-total",)),
    "wildcard-credentials": Policy(scope="~all", allow_origins=("*",), allow_methods=("*",), allow_headers=("*",),
                                   allow_credentials=True),
    "pattern": Policy(scope="~all", allow_origin_regex=r"http://localhost:\d+", allow_methods=("GET", "PATCH"),
                      allow_headers=("x-foo",), allow_credentials=True, allow_private_network=True),
    "one-origin": Policy(scope="~all", allow_origins=(B,), allow_headers=("authorization",)),
}
ORIGINS = [A, B, "null", "http://evil.test", None]
PREFLIGHTS = [(m, h, pn) for m, h, pn in itertools.product(
    ["GET", "PUT", "PATCH", "patch", "DELETE", "FOO"], [None, "x-foo", "content-type", "x-bar,x-foo", "authorization"],
    [None, "true"]) if pn is None or (m, h) == ("PUT", None)]
ACTUALS = [("GET", []), ("POST", [("Cookie", "sid=1")]), ("PUT", [("X-Foo", "1")]), ("OPTIONS", [])]
CORS_NAMES = ("access-control-", "vary")


def cors_only(fields):
    return [(k.lower(), v) for k, v in fields if k.lower().startswith(CORS_NAMES)]


def starlette_call(kwargs, method, headers):
    from starlette.applications import Starlette
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Mount

    async def backend(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    app = Starlette(routes=[Mount("/", app=backend)])
    app.add_middleware(CORSMiddleware, **kwargs)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": "/x", "raw_path": b"/x", "query_string": b"", "root_path": "", "server": ("api.test", 80),
             "client": ("127.0.0.1", 5000),
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]}
    messages = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    start = messages[0]
    return start["status"], [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]


def flask_call(kwargs, method, headers):
    from flask import Flask
    from flask_cors import CORS

    app = Flask("policy-differential")
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "FOO", "OPTIONS"]

    @app.route("/<path:p>", methods=methods)
    def handler(p):
        return "ok"

    CORS(app, **kwargs)
    r = app.test_client().open("/x", method=method, headers=headers)
    return r.status_code, list(r.headers.items())


@pytest.mark.parametrize("name", list(POLICIES))
@pytest.mark.parametrize("middleware", ["starlette", "flask-cors"])
def test_emulation_sends_what_the_real_middleware_sends(name, middleware):
    base = POLICIES[name]
    p = Policy(**{**base.__dict__, "middleware": middleware})
    real = starlette_call if middleware == "starlette" else flask_call
    kwargs = starlette_kwargs(p) if middleware == "starlette" else flask_cors_kwargs(p)
    checked = 0
    for origin in ORIGINS:
        for method, acrh, pn in PREFLIGHTS:
            headers = ([("Origin", origin)] if origin else []) + [("Access-Control-Request-Method", method)]
            if acrh:
                headers.append(("Access-Control-Request-Headers", acrh))
            if pn:
                headers.append(("Access-Control-Request-Private-Network", pn))
            status, fields = real(kwargs, "OPTIONS", headers)
            r = RequestSnapshot("OPTIONS", "http://api.test/x", Headers(headers))
            if origin is None:
                continue  # not a preflight for either middleware: the app answers
            ans = answer_preflight(p, r)
            assert (ans.status, cors_only(ans.headers)) == (status, cors_only(fields)), (origin, method, acrh, pn)
            checked += 1
        for method, extra in ACTUALS:
            headers = ([("Origin", origin)] if origin else []) + extra
            status, fields = real(kwargs, method, headers)
            server = [("content-type", "text/plain")] if middleware == "starlette" else \
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "2")]
            r = RequestSnapshot(method, "http://api.test/x", Headers(headers))
            assert cors_only(decorate(p, r, Headers(server))) == cors_only(fields), (origin, method, extra)
            checked += 1
    assert checked >= 100
