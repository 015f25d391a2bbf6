"""The configuration ``cors.fix`` prints, executed: failing cases pass in Chromium afterwards.

1. Chromium runs a set of cross-origin requests through mitmdump (saving the flows) against a plain
   Flask app and a plain Starlette app: every request is blocked.
2. ``cors.fix <those flows> flask`` and ``cors.fix <those flows> starlette`` print the smallest
   configuration (the command's method, on the saved flows a filter selects).
3. The printed text is executed against fresh apps (``CORS(app, ...)``, ``app.add_middleware(...)``);
   the same requests now pass. The nginx snippet is run too, in front of the plain Flask app, when
   nginx is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
from mitmproxy import flowfilter
from mitmproxy import io as mio

from .apps import serve_flask, serve_starlette
from .wire import MitmDump, free_port

from mitmproxy_cors.demo.browser import ChromiumDriver, Snippet
from mitmproxy_cors.demo.servers import CorsTestServer
from mitmproxy_cors.mitm.fixer import CorsFixer

pytestmark = pytest.mark.e2e

SET_COOKIE_JS = "async () => { const r = await fetch('/set-cookie'); if (!r.ok) throw new Error('set-cookie failed'); }"
FETCH_JS = """async (u) => {
  try { const r = await fetch(u.m, %s); await r.text(); return {ok: true, status: r.status}; }
  catch (e) { return {ok: false, error: String(e)}; }
}"""
INC = {"credentials": "include"}
CASES = {  # (page host, fetch init)
    "get-inc": ("127.0.0.1", INC),
    "put": ("127.0.0.1", {"method": "PUT"}),
    "post-json": ("127.0.0.1", {"method": "POST", "body": "{}", "headers": [["Content-Type", "application/json"]]}),
    "xfoo": ("127.0.0.1", {"headers": [["X-Foo", "1"]]}),
    "delete-inc": ("127.0.0.1", {"method": "DELETE", **INC}),
    "patch-auth-inc": ("127.0.0.1", {"method": "PATCH", "headers": [["Authorization", "Bearer t"]], **INC}),
    "get-other-page": ("localhost", {}),
}


def run_cases(proxy_port: int, page_port: int, bases: dict[str, str]) -> dict[tuple[str, str], object]:
    """Every case against every base URL; returns Chromium's results keyed by (target, case)."""
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


def verdict(result) -> str:
    failure = result.first_failure()
    if failure is not None:
        status = (failure.failed or {}).get("corsErrorStatus") or {}
        return status.get("corsError") or (failure.failed or {}).get("errorText") or "failed"
    return "allowed" if result.page_ok else f"page error {result.page}"


def cors_fix_text(flows_file: Path, flow_filter: str, framework: str) -> str:
    """What `cors.fix "<filter>" <framework>` prints for the saved flows. The View's filter
    resolution is done with flowfilter directly: a taddons master here would leave a log handler on
    a closed event loop behind, which breaks the werkzeug and uvicorn threads' logging later."""
    with open(flows_file, "rb") as fh:
        flows = list(mio.FlowReader(fh).stream())
    selected = [f for f in flows if flowfilter.match(flow_filter, f)]
    return "\n".join(CorsFixer().fix(selected, framework)) + "\n"


class Nginx:
    def __init__(self, workdir: Path, snippet: str, upstream: int):
        self.dir = workdir / "nginx"
        (self.dir / "tmp").mkdir(parents=True)
        self.port = free_port()
        marker = "# In the server {} / location {} that proxies the API:"
        http_part, location = snippet.split(marker)
        location = location.replace("proxy_pass http://backend;", f"proxy_pass http://127.0.0.1:{upstream};")
        temp = " ".join(f"{k}_temp_path {self.dir}/tmp/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(
            f"worker_processes 1;\npid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log;\ndaemon off;\n"
            f"events {{ worker_connections 64; }}\nhttp {{\n access_log off;\n {temp}\n{http_part}\n"
            f" server {{\n  listen 127.0.0.1:{self.port};\n{location}\n }}\n}}\n")
        self.proc = None

    def __enter__(self):
        check = subprocess.run(["nginx", "-t", "-p", str(self.dir), "-c", str(self.conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr + "\n" + self.conf.read_text()
        self.proc = subprocess.Popen(["nginx", "-p", str(self.dir), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        import socket
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start: " + (self.dir / "error.log").read_text())

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def snippets_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cors-snippets")
    page = CorsTestServer("page").start()
    out: dict = {"workdir": workdir}
    try:
        with serve_flask() as plain_flask, serve_starlette() as plain_starlette:
            flows_file = workdir / "before.mitm"
            with MitmDump(workdir, "-w", str(flows_file)) as dump:
                out["before"] = run_cases(dump.port, page.port, {"flask": f"{plain_flask.origin}/before-flask",
                                                                 "starlette": f"{plain_starlette.origin}/before-starlette"})
            out["flask_text"] = cors_fix_text(flows_file, "~u /before-flask/", "flask")
            out["starlette_text"] = cors_fix_text(flows_file, "~u /before-starlette/", "starlette")
            out["nginx_text"] = cors_fix_text(flows_file, "~u /before-flask/", "nginx")
            (workdir / "flask.py").write_text(out["flask_text"])
            (workdir / "starlette.py").write_text(out["starlette_text"])
            (workdir / "nginx.conf.snippet").write_text(out["nginx_text"])
            with serve_flask(out["flask_text"]) as fixed_flask, serve_starlette(out["starlette_text"]) as fixed_starlette:
                bases = {"flask": f"{fixed_flask.origin}/after-flask",
                         "starlette": f"{fixed_starlette.origin}/after-starlette"}
                nginx = None
                if shutil.which("nginx"):
                    nginx = Nginx(workdir, out["nginx_text"], plain_flask.port)
                    nginx.__enter__()
                    bases["nginx"] = f"http://127.0.0.1:{nginx.port}/after-nginx"
                try:
                    with MitmDump(workdir) as dump:
                        out["after"] = run_cases(dump.port, page.port, bases)
                finally:
                    if nginx is not None:
                        nginx.__exit__()
    finally:
        page.stop()
    return out


@pytest.mark.parametrize("target", ["flask", "starlette"])
def test_every_case_fails_without_the_configuration(snippets_run, target):
    failing = {case: verdict(r) for (t, case), r in snippets_run["before"].items() if t == target}
    assert len(failing) == len(CASES)
    assert all(v != "allowed" for v in failing.values()), failing


def test_printed_snippets_are_the_smallest_configuration(snippets_run):
    flask, starlette = snippets_run["flask_text"], snippets_run["starlette_text"]
    print("\n--- cors.fix flask ---\n" + flask + "\n--- cors.fix starlette ---\n" + starlette)
    for text in (flask, starlette):
        assert "http://127.0.0.1:" in text and "http://localhost:" in text
        for method in ("GET", "PUT", "POST", "DELETE", "PATCH"):
            assert f'"{method}"' in text
        for header in ('"authorization"', '"content-type"', '"x-foo"'):
            assert header in text
    assert "supports_credentials=True" in flask and "allow_credentials=True" in starlette
    assert "CORS(\n    app," in flask and "app.add_middleware(\n    CORSMiddleware," in starlette


@pytest.mark.parametrize("target", ["flask", "starlette", "nginx"])
def test_executed_snippet_makes_every_case_pass(snippets_run, target):
    if target == "nginx" and not shutil.which("nginx"):
        pytest.skip("nginx is not installed")
    after = {case: verdict(r) for (t, case), r in snippets_run["after"].items() if t == target}
    assert len(after) == len(CASES)
    assert all(v == "allowed" for v in after.values()), (after, snippets_run[f"{target}_text"])
