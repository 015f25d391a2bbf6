"""A real mitmdump with the addon: rich lines as flows are decided, the table at exit, quiet options,
and a bad option value that stops it with one clear error."""

from __future__ import annotations

import subprocess

import pytest
from .procs import ADDON, BIN, REPO, Proc

from mitmproxy_cors.demo.servers import DemoServers, api_url


@pytest.fixture(scope="module")
def servers():
    with DemoServers() as s:
        yield s


def traffic(dump: Proc, servers) -> None:
    page = servers.page.origin()
    api = servers.api.origin()
    h = {"Origin": page, "Sec-Fetch-Mode": "cors"}
    dump.request(api_url(api, "/c/t/pre", {"p_status": "204"}), "OPTIONS",
                 {**h, "Access-Control-Request-Method": "PUT"})
    dump.request(api_url(api, "/c/t/mismatch", {"acao": "http://evil.test"}), headers=h)
    dump.request(api_url(api, "/c/t/ok", {"acao": "echo", "acac": "true"}), headers=h)


def test_lines_and_summary(servers, tmp_path):
    dump = Proc("mitmdump", [], tmp_path).start()
    traffic(dump, servers)
    out = dump.stop()
    page, api = servers.page.origin(), servers.api.origin()
    assert dump.proc.returncode == 0, out
    assert f"CORS BLOCKED OPTIONS {api}/c/t/pre?p_status=204 from {page} (preflight)  " \
           "PreflightMissingAllowOriginHeader  fix: add Access-Control-Allow-Origin" in out
    assert "AllowOriginMismatch ('http://evil.test')  fix: set Access-Control-Allow-Origin: " + page in out
    assert "CORS allowed" not in out  # cors_log=blocked by default
    assert "CORS summary: 2 blocked of 3 CORS flow(s)" in out
    assert "│ PreflightMissingAllowOriginHeader │" in out
    assert "│ AllowOriginMismatch               │" in out


def test_colour_when_forced(servers, tmp_path):
    dump = Proc("mitmdump", ["--set", "cors_summary=off"], tmp_path, env={"FORCE_COLOR": "1"}).start()
    traffic(dump, servers)
    out = dump.stop()
    assert "\x1b[1;37;41mCORS BLOCKED\x1b[0m" in out
    assert "CORS summary" not in out


@pytest.mark.parametrize("args", [["--set", "cors_log=off", "--set", "cors_summary=off"], ["-q"]])
def test_quiet(servers, tmp_path, args):
    dump = Proc("mitmdump", args, tmp_path).start()
    traffic(dump, servers)
    out = dump.stop()
    assert dump.proc.returncode == 0, out
    assert "CORS" not in out


def test_cors_log_cors_shows_allowed_flows(servers, tmp_path):
    dump = Proc("mitmdump", ["--set", "cors_log=cors"], tmp_path).start()
    traffic(dump, servers)
    out = dump.stop()
    assert (f"CORS allowed* GET {servers.api.origin()}/c/t/ok?acao=echo&acac=true from {servers.page.origin()}  "
            "warning: Access-Control-Allow-Origin names one origin but the response has no Vary: Origin") in out


@pytest.mark.parametrize("option,message", [
    ("cors_summary=maybe", "cors_summary must be 'on' or 'off', not 'maybe'"),
    ("cors_log=loud", "cors_log must be one of blocked, cors, off, not 'loud'"),
])
def test_bad_option_value_exits_with_one_clear_error(option, message):
    r = subprocess.run([str(BIN / "mitmdump"), "--listen-host", "127.0.0.1", "-p", "0", "-s", str(ADDON),
                        "--set", option], cwd=REPO, capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert out.count(message) == 1, out
    assert "Error logged during startup, exiting..." in out
