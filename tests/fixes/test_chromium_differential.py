"""The differential test of issue 3: is `cors_policy` a faithful stand-in for the real middleware?

For three kinds of policy (exact origins with credentials; any origin without; an origin pattern),
40 requests per policy (20 request shapes from an allowed and from a refused page origin) run in
real Chromium through a real mitmdump:

* against a server with no CORS support behind the proxy emulating the policy (``cors_policy``,
  once per emulated middleware: ``starlette``, ``flask-cors`` and ``generic``);
* against the real Starlette CORSMiddleware and the real Flask-CORS, each configured by executing
  the snippet ``cors.fix`` prints for the same policy (so the snippets are exercised too).

Chromium's outcome (CorsError and failedParameter, and whether the page can read an exposed header)
must be the same for the emulation and the real middleware, request by request. The generic
emulation is compared on allowed/blocked where both real middlewares agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .apps import serve_flask, serve_starlette
from .wire import MitmDump

from mitmproxy_cors.demo.browser import ChromiumDriver, Snippet
from mitmproxy_cors.demo.servers import CorsTestServer
from mitmproxy_cors.server.policy import Policy
from mitmproxy_cors.server.snippets import render

pytestmark = pytest.mark.e2e

SET_COOKIE_JS = "async () => { const r = await fetch('/set-cookie'); if (!r.ok) throw new Error('set-cookie failed'); }"
FETCH_JS = """async (u) => {
  try {
    const r = await fetch(u.m, %s);
    await r.text();
    return {ok: true, status: r.status, xtotal: r.headers.get('x-total')};
  } catch (e) { return {ok: false, error: String(e)}; }
}"""
INC = {"credentials": "include"}
SHAPES = {
    "get": {},
    "get-inc": INC,
    "head": {"method": "HEAD"},
    "post-text": {"method": "POST", "body": "x"},
    "post-json": {"method": "POST", "body": "{}", "headers": [["Content-Type", "application/json"]]},
    "post-json-inc": {"method": "POST", "body": "{}", "headers": [["Content-Type", "application/json"]], **INC},
    "put": {"method": "PUT"},
    "put-inc": {"method": "PUT", **INC},
    "delete": {"method": "DELETE"},
    "patch": {"method": "PATCH"},
    "patch-lower": {"method": "patch"},
    "foo": {"method": "FOO"},
    "xfoo": {"headers": [["X-Foo", "1"]]},
    "xfoo-inc": {"headers": [["X-Foo", "1"]], **INC},
    "xbar": {"headers": [["X-Bar", "1"]]},
    "auth": {"headers": [["Authorization", "Bearer x"]]},
    "put-xfoo": {"method": "PUT", "headers": [["X-Foo", "1"]]},
    "delete-inc": {"method": "DELETE", **INC},
    # Starlette always allows the safelisted request-header names, Flask-CORS only what is listed:
    "get-json": {"headers": [["Content-Type", "application/json"]]},
    "patch-json": {"method": "PATCH", "body": "{}", "headers": [["Content-Type", "application/json"]]},
}
PAGE_HOSTS = ("127.0.0.1", "localhost")
FLAVORS = ("starlette", "flask-cors", "generic")


def policies(page_port: int) -> dict[str, Policy]:
    return {
        "exact-credentials": Policy(scope="", allow_origins=(f"http://127.0.0.1:{page_port}",),
                                    allow_methods=("GET", "POST", "PUT", "DELETE"),
                                    allow_headers=("x-foo", "content-type"), allow_credentials=True,
                                    expose_headers=("x-total",)),
        "wildcard": Policy(scope="", allow_origins=("*",), allow_methods=("GET", "PUT"), allow_headers=("x-foo",),
                           expose_headers=("x-total",)),
        "pattern": Policy(scope="", allow_origin_regex=r"http://localhost:\d+", allow_methods=("GET", "PATCH"),
                          allow_headers=("x-foo",), allow_credentials=True),
    }


def toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def policy_file(path: Path, kinds: dict[str, Policy]) -> None:
    out = []
    for kind, p in kinds.items():
        for flavor in FLAVORS:
            out += ["[[policy]]", f'name = "{kind}-{flavor}"', f'scope = "~u /emu/{kind}/{flavor}/"',
                    f'middleware = "{flavor}"']
            if p.allow_origins:
                out.append(f"allow_origins = {toml_list(p.allow_origins)}")
            if p.allow_origin_regex:
                out.append(f"allow_origin_regex = '{p.allow_origin_regex}'")
            out += [f"allow_methods = {toml_list(p.allow_methods)}", f"allow_headers = {toml_list(p.allow_headers)}",
                    f"allow_credentials = {'true' if p.allow_credentials else 'false'}",
                    f"expose_headers = {toml_list(p.expose_headers)}", ""]
    path.write_text("\n".join(out))


def outcome(result) -> tuple:
    failure = result.first_failure()
    step = result.page[0] if result.page else {}
    if failure is not None:
        status = (failure.failed or {}).get("corsErrorStatus") or {}
        return ("blocked", status.get("corsError") or (failure.failed or {}).get("errorText"),
                status.get("failedParameter"))
    if not step.get("ok"):
        return ("page-error", step.get("error"), None)
    return ("allowed", None, step.get("xtotal"))


@pytest.fixture(scope="module")
def differential(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cors-differential")
    page = CorsTestServer("page").start()
    plain = CorsTestServer("plain").start()  # no CORS support at all
    kinds = policies(page.port)
    real = {}
    try:
        for kind, p in kinds.items():
            real[(kind, "starlette")] = serve_starlette(render(p, "starlette")).start()
            real[(kind, "flask-cors")] = serve_flask(render(p, "flask")).start()
        policy_path = workdir / "policies.toml"
        policy_file(policy_path, kinds)
        targets: dict[tuple[str, str], str] = {}
        for kind in kinds:
            for flavor in FLAVORS:
                targets[(kind, f"emulated {flavor}")] = f"{plain.origin()}/emu/{kind}/{flavor}"
            targets[(kind, "real starlette")] = f"{real[(kind, 'starlette')].origin}/real"
            targets[(kind, "real flask-cors")] = f"{real[(kind, 'flask-cors')].origin}/real"
        snippets: dict[str, list[Snippet]] = {h: [] for h in PAGE_HOSTS}
        index = {}
        for (kind, target), base in targets.items():
            for host in PAGE_HOSTS:
                for shape, init in SHAPES.items():
                    sid = f"{kind}.{target.replace(' ', '-')}.{host}.{shape}"
                    url = f"{base}/{sid}/x?h=X-Total%3A%207"
                    prefix = url.split("://", 1)[1].split("/", 1)[1].rsplit("/", 1)[0]
                    snippets[host].append(Snippet(sid, FETCH_JS % json.dumps(init), {"m": url}, match="/" + prefix + "/"))
                    index[sid] = (kind, target, host, shape)
        with MitmDump(workdir, "--set", f"cors_policy={policy_path}") as dump:
            results = {}
            with ChromiumDriver(f"127.0.0.1:{dump.port}") as driver:
                for host in PAGE_HOSTS:
                    results.update(driver.run(f"http://{host}:{page.port}/", snippets[host], setup_js=SET_COOKIE_JS))
            log = dump.stop()
    finally:
        for served in real.values():
            served.stop()
        page.stop()
        plain.stop()
    table: dict[tuple, tuple] = {}
    for sid, (kind, target, host, shape) in index.items():
        table[(kind, target, host, shape)] = outcome(results[sid])
    return {"table": table, "kinds": list(kinds), "log": log, "workdir": workdir}


@pytest.mark.parametrize("kind", ["exact-credentials", "wildcard", "pattern"])
@pytest.mark.parametrize("middleware", ["starlette", "flask-cors"])
def test_emulation_matches_the_real_middleware_in_chromium(differential, kind, middleware):
    table = differential["table"]
    rows, mismatches = 0, []
    for host in PAGE_HOSTS:
        for shape in SHAPES:
            emulated = table[(kind, f"emulated {middleware}", host, shape)]
            real = table[(kind, f"real {middleware}", host, shape)]
            rows += 1
            if emulated != real:
                mismatches.append(f"{host} {shape}: emulated {emulated} != real {real}")
    assert rows >= 30
    assert not mismatches, "\n".join(mismatches)
    outcomes = {table[(kind, f"real {middleware}", h, s)][0] for h in PAGE_HOSTS for s in SHAPES}
    assert outcomes == {"allowed", "blocked"}, "the requests must exercise both outcomes"


def test_generic_emulation_agrees_where_the_middlewares_agree(differential):
    table = differential["table"]
    agree = disagree_real = 0
    details = []
    summary = {}
    for kind in differential["kinds"]:
        for host in PAGE_HOSTS:
            for shape in SHAPES:
                s = table[(kind, "real starlette", host, shape)][0]
                f = table[(kind, "real flask-cors", host, shape)][0]
                g = table[(kind, "emulated generic", host, shape)][0]
                if s != f:
                    disagree_real += 1
                    details.append(f"{kind} {host} {shape}: starlette {s}, flask-cors {f}, generic {g}")
                    continue
                if g == s:
                    agree += 1
                else:
                    details.append(f"MISMATCH {kind} {host} {shape}: real {s}, generic {g}")
    summary = {"generic_agrees": agree, "real_middlewares_disagree": disagree_real, "details": details}
    print("\ngeneric emulation:", json.dumps(summary, indent=1))
    (differential["workdir"] / "generic.json").write_text(json.dumps(summary, indent=1))
    assert not [d for d in details if d.startswith("MISMATCH")]


def test_counts(differential):
    table = differential["table"]
    counts = {}
    for kind in differential["kinds"]:
        for mw in ("starlette", "flask-cors"):
            same = sum(table[(kind, f"emulated {mw}", h, s)] == table[(kind, f"real {mw}", h, s)]
                       for h in PAGE_HOSTS for s in SHAPES)
            counts[f"{kind} / {mw}"] = f"{same}/{len(PAGE_HOSTS) * len(SHAPES)}"
    print("\ndifferential agreement (Chromium outcome, emulated vs real):", json.dumps(counts, indent=1))
    (differential["workdir"] / "differential.json").write_text(json.dumps(
        {"agreement": counts, "table": [[*k, *v] for k, v in sorted(table.items())]}, indent=1))

