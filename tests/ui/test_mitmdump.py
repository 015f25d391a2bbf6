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
           "PreflightMissingAllowOriginHeader  fix: on the preflight response: add Access-Control-Allow-Origin" in out
    assert "AllowOriginMismatch ('http://evil.test')  fix: on the actual response: set Access-Control-Allow-Origin: " + page in out
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
    ("cors_summary=maybe", "cors_summary must be one of on, off, not 'maybe'"),
    ("cors_analysis=bogus", "cors_analysis must be one of auto, inline, worker, not 'bogus'"),
    ("cors_log=loud", "cors_log must be one of blocked, cors, off, not 'loud'"),
])
def test_bad_option_value_exits_with_one_clear_error(option, message):
    r = subprocess.run([str(BIN / "mitmdump"), "--listen-host", "127.0.0.1", "-p", "0", "-s", str(ADDON),
                        "--set", option], cwd=REPO, capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert out.count(message) == 1, out
    assert "Traceback" not in out, out
    assert "Error logged during startup, exiting..." in out


@pytest.mark.parametrize("cause", ["bad option", "port in use"])
def test_a_failed_start_leaves_an_existing_report_alone(cause, tmp_path):
    import socket

    report = tmp_path / "cors.jsonl"
    report.write_text('{"kept": true}\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        args = ["--listen-host", "127.0.0.1", "-s", str(ADDON), "--set", f"cors_report={report}"]
        args += ["-p", "0", "--set", "cors_log=loud"] if cause == "bad option" else ["-p", str(taken.getsockname()[1])]
        r = subprocess.run([str(BIN / "mitmdump"), *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0, r.stdout + r.stderr
    assert report.read_text() == '{"kept": true}\n'


# -- where flows are judged (cors_analysis): the worker in mitmdump, the same output as in the proxy --

def _children(pid: int) -> list[str]:
    """Command lines of a process's children."""
    from pathlib import Path
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for kid in (task / "children").read_text().split():
            try:
                out.append(Path(f"/proc/{kid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                pass
    return out


def _report(path) -> list[dict]:
    import json
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    return [{k: v for k, v in d.items() if k not in ("flow_id", "time", "paired_flow_id", "preflight_cache")}
            for d in lines]


def _verdict_lines(out: str) -> list[str]:
    # Without the time stamp and the client's port: the rest must match.
    import re
    return [re.sub(r"^\[[\d:.]+\]\[127\.0\.0\.1:\d+\] ", "", x) for x in out.splitlines() if "CORS " in x]


def test_mitmdump_judges_in_the_worker_and_says_what_the_proxy_would(servers, tmp_path):
    runs = {}
    for mode in ("auto", "inline"):
        report = tmp_path / f"{mode}.jsonl"
        dump = Proc("mitmdump", ["--set", f"cors_analysis={mode}", "--set", f"cors_report={report}"],
                    tmp_path).start()
        traffic(dump, servers)
        worker = [c for c in _children(dump.proc.pid) if "mitmproxy_cors.mitm.worker" in c]
        out = dump.stop()
        assert dump.proc.returncode == 0, out
        assert len(worker) == (1 if mode == "auto" else 0), worker
        runs[mode] = (_report(report), _verdict_lines(out))
    assert len(runs["auto"][0]) == 3
    assert runs["auto"] == runs["inline"]
    assert any("CORS summary: 2 blocked of 3 CORS flow(s)" in x for x in runs["auto"][1])


def test_mitmdump_saving_flows_judges_in_the_proxy(servers, tmp_path):
    """With -w the saved flows must carry their verdict: no worker."""
    dump = Proc("mitmdump", ["-w", str(tmp_path / "flows")], tmp_path).start()
    traffic(dump, servers)
    assert not [c for c in _children(dump.proc.pid) if "mitmproxy_cors" in c]
    out = dump.stop()
    assert "CORS summary: 2 blocked of 3 CORS flow(s)" in out


def test_mitmdump_outlives_its_worker(servers, tmp_path):
    import os
    import signal
    import time
    report = tmp_path / "r.jsonl"
    dump = Proc("mitmdump", ["--set", f"cors_report={report}"], tmp_path).start()
    traffic(dump, servers)
    # The worker has judged the first three (each report line is flushed as written) before it dies:
    # on a loaded machine it may still be starting when they arrive.
    deadline = time.monotonic() + 30
    while (not report.exists() or len(_report(report)) < 3) and time.monotonic() < deadline:
        time.sleep(0.1)
    for c in os.listdir(f"/proc/{dump.proc.pid}/task"):
        for kid in open(f"/proc/{dump.proc.pid}/task/{c}/children").read().split():
            os.kill(int(kid), signal.SIGKILL)
    time.sleep(0.5)
    traffic(dump, servers)
    out = dump.stop()
    assert dump.proc.returncode == 0, out
    assert "the analysis worker stopped" in out
    assert len(_report(report)) == 6, out  # 3 from the worker, 3 judged in the proxy after it died


def test_flow_detail_shows_the_cors_view_so_flows_are_judged_in_the_proxy(servers, tmp_path):
    dump = Proc("mitmdump", ["--flow-detail", "3", "--set", "dumper_default_contentview=cors"], tmp_path).start()
    traffic(dump, servers)
    assert not [c for c in _children(dump.proc.pid) if "mitmproxy_cors" in c]
    out = dump.stop()
    assert "PreflightMissingAllowOriginHeader" in out and "CORS summary: 2 blocked of 3 CORS flow(s)" in out


@pytest.mark.parametrize("expr, listed", [
    ('~comment "CORS blocked"', {"/c/t/pre", "/c/t/mismatch"}),
    ('~comment "CORS blocked:"', {"/c/t/pre", "/c/t/mismatch"}),
    ("~comment ^Preflight", {"/c/t/pre"}),
    ("~marker heavy_multiplication_x", {"/c/t/pre", "/c/t/mismatch"}),
])
def test_mitmdumps_own_filter_lists_what_the_docs_say(servers, tmp_path, expr, listed):
    """docs/filtering.md: `mitmdump ... '<filter>'` prints only the matching flows. The filter reads our
    annotations, so flows are judged in the proxy (the worker does not annotate them)."""
    dump = Proc("mitmdump", ["--set", "cors_log=off", "--set", "cors_summary=off", expr], tmp_path).start()
    traffic(dump, servers)
    assert not [c for c in _children(dump.proc.pid) if "mitmproxy_cors" in c]
    out = dump.stop()
    printed = {path for path in ("/c/t/pre", "/c/t/mismatch", "/c/t/ok") if f"{path}" in out}
    assert printed == listed, out


def test_a_script_of_yours_reads_the_verdict_in_mitmdump(servers, tmp_path):
    """Another script with flow hooks might read metadata["cors"]: then no worker, the flows carry it."""
    seen = tmp_path / "seen.txt"
    script = tmp_path / "mine.py"
    script.write_text("def response(flow):\n"
                      f"    with open({str(seen)!r}, 'a') as fh:\n"
                      "        fh.write(str(flow.metadata.get('cors', {}).get('reason')) + '\\n')\n")
    dump = Proc("mitmdump", ["-s", str(script)], tmp_path).start()
    traffic(dump, servers)
    assert not [c for c in _children(dump.proc.pid) if "mitmproxy_cors" in c]
    dump.stop()
    assert seen.read_text().split() == ["PreflightMissingAllowOriginHeader", "AllowOriginMismatch", "None"]


def test_sigterm_to_the_whole_process_group_loses_no_verdict(servers, tmp_path):
    """`kill -TERM -<pgid>` reaches the worker too: it waits for the proxy's goodbye."""
    import os
    import signal

    report = tmp_path / "r.jsonl"
    dump = Proc("mitmdump", ["-q", "--set", f"cors_report={report}"], tmp_path, new_session=True).start()
    try:
        traffic(dump, servers)
        os.killpg(dump.proc.pid, signal.SIGTERM)
        dump.proc.wait(30)
    finally:
        if dump.proc.poll() is None:
            os.killpg(dump.proc.pid, signal.SIGKILL)
    assert dump.proc.returncode == 0, dump.output()
    assert len(_report(report)) == 3, dump.output()


def test_reading_a_file_the_dumper_filter_lists_the_blocked_flows(servers, tmp_path):
    """docs/filtering.md: with -r, `--set dumper_filter=...` (the positional filter would also decide
    which flows are read, before they are annotated)."""
    saved = tmp_path / "flows.mitm"
    dump = Proc("mitmdump", ["-w", str(saved)], tmp_path).start()
    traffic(dump, servers)
    dump.stop()
    out = subprocess.run([str(BIN / "mitmdump"), "-n", "-r", str(saved), "-s", str(ADDON), "--set", "cors_log=off",
                          "--set", "cors_summary=off", "--set", 'dumper_filter=~comment "CORS blocked:"'],
                         cwd=REPO, capture_output=True, text=True, timeout=60).stdout
    assert "/c/t/pre" in out and "/c/t/mismatch" in out and "/c/t/ok" not in out, out
