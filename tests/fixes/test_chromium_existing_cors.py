"""``cors.fix`` against a server that already has CORS code, proven in Chromium (issue 13, item 2).

1. Flask and Starlette apps with a hand-written CORS layer (one origin, Authorization allowed) and its
   bugs: '*' with credentials, a JSON POST whose preflight lacks Content-Type, a PUT not in
   Allow-Methods, a 500 page without CORS headers, an unhandled exception; and one request that
   already works (Authorization, an exposed X-Total). Chromium runs them through mitmdump.
2. ``cors.fix <the blocked flows> flask|starlette|nginx <file>``, as ``@marked`` would select them, writes
   the configuration to a file: it must say first that the existing CORS code has to go, and keep
   what that code allowed (Authorization, X-Total, credentials, max age) though no blocked flow asks.
3. As the output tells a user: the hand-written layer is removed, the file pasted, the app restarted
   (nginx runs the nginx file in front of the app without its layer). Chromium again: every case
   passes, the one that worked included, except what the framework itself cannot fix (Starlette's
   unhandled exceptions are answered outside CORSMiddleware, without CORS headers).
4. Measured too: the same files pasted next to the layer the output said to remove.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from pathlib import Path

import pytest
from mitmproxy import exceptions
from mitmproxy import io as mio

from .apps import Served, layered_flask_app, layered_starlette_app
from .test_chromium_snippets import SET_COOKIE_JS, Nginx, verdict
from .wire import MitmDump

from mitmproxy_cors.demo.browser import ChromiumDriver, Snippet
from mitmproxy_cors.demo.servers import CorsTestServer
from mitmproxy_cors.mitm.fixer import CorsFixer

pytestmark = pytest.mark.e2e

TOKEN = "Bearer s3cr3t-t0ken"
FETCH_JS = """async (u) => {
  try { const r = await fetch(u.m, %s); await r.text(); return {ok: true, status: r.status, total: r.headers.get('X-Total')}; }
  catch (e) { return {ok: false, error: String(e)}; }
}"""
INC = {"credentials": "include"}
CASES = {  # case: (page host, fetch init); the app reads 'public', 'error-page', 'crash' in the path
    "auth-get": ("127.0.0.1", {"headers": [["Authorization", TOKEN]]}),  # works before: must keep working
    "public-inc": ("127.0.0.1", INC),  # Access-Control-Allow-Origin: * with credentials
    "post-json": ("127.0.0.1", {"method": "POST", "body": "{}", "headers": [["Content-Type", "application/json"]]}),
    "put": ("127.0.0.1", {"method": "PUT"}),
    "error-page": ("127.0.0.1", {}),  # a 500 page the layer leaves without CORS headers
    "crash": ("127.0.0.1", {}),  # an unhandled exception
    "other-origin": ("localhost", {}),  # a page origin the layer does not allow
}
WORKS_BEFORE = {"auth-get"}
# What no configuration of that framework fixes: Starlette's ServerErrorMiddleware, outside
# CORSMiddleware, answers an unhandled exception without CORS headers. Flask runs after_request
# hooks (Flask-CORS's) on its 500 for an unhandled exception; nginx adds headers with `always`.
STAYS_BLOCKED = {"flask": set(), "starlette": {"crash"}, "nginx": set()}
FRAMEWORK_FILES = {"flask": "cors_flask.py", "starlette": "cors_starlette.py", "nginx": "cors_nginx.conf"}


def run_cases(proxy_port: int, page_port: int, bases: dict[str, str]) -> dict[tuple[str, str], object]:
    results = {}
    with ChromiumDriver(f"127.0.0.1:{proxy_port}") as driver:
        for host in ("127.0.0.1", "localhost"):
            snippets, keys = [], {}
            for target, base in bases.items():
                for case, (page_host, init) in CASES.items():
                    if page_host != host:
                        continue
                    sid = f"{target}.{case}"
                    url = f"{base}/{sid}/x"
                    path = urllib.parse.urlsplit(url).path.rsplit("/", 1)[0] + "/"
                    snippets.append(Snippet(sid, FETCH_JS % json.dumps(init), {"m": url}, match=path))
                    keys[sid] = (target, case)
            for sid, result in driver.run(f"http://{host}:{page_port}/", snippets, setup_js=SET_COOKIE_JS).items():
                results[keys[sid]] = result
    return results


def blocked_flows(flows_file: Path, report: list[dict], url_part: str) -> list:
    """The flows `@marked` selects in the proxy: blocked, or blocked if the page sends credentials
    (the last report line of a flow wins)."""
    last = {line["flow_id"]: line for line in report if "record" not in line}
    marked = {fid for fid, line in last.items() if line["verdict"] == "blocked" or line.get("conditional")}
    with open(flows_file, "rb") as fh:
        return [f for f in mio.FlowReader(fh).stream() if f.id in marked and url_part in f.request.url]


def outcomes(results: dict, target: str) -> dict[str, str]:
    return {case: verdict(r) for (t, case), r in results.items() if t == target}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    assert shutil.which("nginx"), "nginx is needed (scripts/test.sh installs it)"
    workdir = tmp_path_factory.mktemp("cors-existing")
    page = CorsTestServer("page").start()
    page_origin = f"http://127.0.0.1:{page.port}"
    out: dict = {"workdir": workdir}
    try:
        with Served(layered_flask_app(page_origin), "wsgi") as flask, \
                Served(layered_starlette_app(page_origin), "asgi") as starlette:
            flows_file = workdir / "before.mitm"
            with MitmDump(workdir, "-w", str(flows_file)) as dump:
                out["before"] = run_cases(dump.port, page.port, {"flask": f"{flask.origin}/before-flask",
                                                                 "starlette": f"{starlette.origin}/before-starlette"})
            report = dump.report_lines()
        out["selected"] = {}
        for fw, app in (("flask", "flask"), ("starlette", "starlette"), ("nginx", "flask")):
            flows = blocked_flows(flows_file, report, f"/before-{app}/")
            out["selected"][fw] = flows
            target = workdir / FRAMEWORK_FILES[fw]
            out[f"{fw}_lines"] = CorsFixer().fix(flows, fw, str(target))
            out[f"{fw}_text"] = target.read_text()
        with open(flows_file, "rb") as fh:
            out["all_text"] = "\n".join(CorsFixer().fix(list(mio.FlowReader(fh).stream()), "all"))

        # Restarted as told: the layer removed, the written file pasted. Also measured: pasted next to it.
        with Served(layered_flask_app(None, out["flask_text"]), "wsgi") as fixed_flask, \
                Served(layered_starlette_app(None, out["starlette_text"]), "asgi") as fixed_starlette, \
                Served(layered_flask_app(page_origin, out["flask_text"]), "wsgi") as both_flask, \
                Served(layered_starlette_app(page_origin, out["starlette_text"]), "asgi") as both_starlette, \
                Served(layered_flask_app(None), "wsgi") as upstream, \
                Nginx(workdir, out["nginx_text"], upstream.port) as nginx:
            bases = {"flask": f"{fixed_flask.origin}/after-flask",
                     "starlette": f"{fixed_starlette.origin}/after-starlette",
                     "nginx": f"http://127.0.0.1:{nginx.port}/after-nginx",
                     "flask-kept": f"{both_flask.origin}/after-flask-kept",
                     "starlette-kept": f"{both_starlette.origin}/after-starlette-kept"}
            with MitmDump(workdir) as dump:
                out["after"] = run_cases(dump.port, page.port, bases)
    finally:
        page.stop()
    for target in ("flask", "starlette", "nginx", "flask-kept", "starlette-kept"):
        source = target.split("-")[0]
        before = outcomes(out["before"], "flask" if source == "nginx" else source)
        after = outcomes(out["after"], target)
        print(f"\n{target}: before {sum(v == 'allowed' for v in before.values())}/{len(before)} allowed, "
              f"after {sum(v == 'allowed' for v in after.values())}/{len(after)} allowed: {after}")
    return out


@pytest.mark.parametrize("target", ["flask", "starlette"])
def test_before_only_the_working_request_passes(run, target):
    before = outcomes(run["before"], target)
    assert len(before) == len(CASES)
    assert {c for c, v in before.items() if v == "allowed"} == WORKS_BEFORE, before
    assert run["before"][(target, "auth-get")].page[0]["total"] == "7"  # exposed by the layer


@pytest.mark.parametrize("fw", ["flask", "starlette", "nginx"])
def test_output_says_first_to_remove_the_existing_cors_code(run, fw):
    text = run[f"{fw}_text"]
    print(f"\n--- cors.fix <blocked flows> {fw} ---\n{text}")
    first = text.splitlines()[0]
    assert first.startswith("# WARNING: the server already sends CORS headers"), first
    assert "Remove" in text and "may do nothing" in text
    assert {"flask": "after_request", "starlette": "middleware", "nginx": "add_header"}[fw] in text
    # which responses carried which headers
    assert "Responses that carried CORS headers:" in text
    assert "preflight for PUT http://127.0.0.1:" in text
    assert "Access-Control-Allow-Headers: Authorization" in text.replace("\n#      ", " ")
    assert "Access-Control-Allow-Origin: *" in text  # the /public responses
    assert run[f"{fw}_lines"][-1] == f"cors.fix: written to {run['workdir'] / FRAMEWORK_FILES[fw]}"


def test_no_blocked_flow_asks_for_what_the_layer_allowed(run):
    """So what the configuration keeps can only come from the server's own headers."""
    for flows in run["selected"].values():
        assert flows
        for f in flows:
            assert "authorization" not in (f.request.headers.get("Access-Control-Request-Headers") or "").lower()
            assert "Authorization" not in f.request.headers


def test_the_configuration_keeps_what_the_server_allowed(run):
    flask, starlette, nginx = run["flask_text"], run["starlette_text"], run["nginx_text"]
    for text in (flask, starlette):
        assert '"authorization"' in text and '"content-type"' in text and '"PUT"' in text
        assert '"x-total"' in text and "max_age=600" in text
        assert "http://127.0.0.1:" in text and "http://localhost:" in text
    assert "supports_credentials=True" in flask and "allow_credentials=True" in starlette
    assert "authorization, content-type" in nginx and "Access-Control-Max-Age 600" in nginx
    assert "browsers refuse '*' with" in flask  # the '*' with credentials cannot stay: said so


def test_no_secret_value_in_any_output(run):
    for text in (run["all_text"], run["flask_text"], run["starlette_text"], run["nginx_text"]):
        assert "s3cr3t" not in text and "sid=1" not in text


def test_an_existing_file_is_never_overwritten(run):
    target = run["workdir"] / FRAMEWORK_FILES["flask"]
    before = target.read_bytes()
    with pytest.raises(exceptions.CommandError, match="exists"):
        CorsFixer().fix(run["selected"]["flask"], "flask", str(target))
    assert target.read_bytes() == before
    assert not [p for p in run["workdir"].iterdir() if p.name.startswith(".cors-fix-")]


@pytest.mark.parametrize("target", ["flask", "starlette", "nginx"])
def test_applied_as_told_every_case_passes_in_chromium(run, target):
    after = outcomes(run["after"], target)
    assert len(after) == len(CASES)
    should_pass = set(CASES) - STAYS_BLOCKED[target]
    assert {c for c, v in after.items() if v == "allowed"} == should_pass, (after, run[f"{target}_text"])
    assert run["after"][(target, "auth-get")].page[0]["total"] == "7"  # no narrowing: still exposed


def test_pasted_next_to_the_old_layer_flask_cors_does_nothing_for_some(run):
    """Why the warning comes first: Flask-CORS leaves the layer's headers alone."""
    kept = outcomes(run["after"], "flask-kept")
    assert kept["put"] != "allowed" and kept["public-inc"] != "allowed", kept
