"""The audit in mitmproxy: options, the passive findings on flows and in the report, the active probe
against a real local server (mitm/audit.py), and cors.audit."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from mitmproxy_cors.mitm import audit as audit_mod
from mitmproxy_cors.mitm.analysis import Analysis
from mitmproxy_cors.mitm.annotate import MARK_AUDIT, FlowIndex
from mitmproxy_cors.mitm.audit import CorsAudit
from mitmproxy_cors.mitm.commands import CorsCommands
from mitmproxy_cors.mitm.observer import CorsObserver

from .flows import PAGE, cors_get, make_flow


class Reflecting(BaseHTTPRequestHandler):
    """Echoes any Origin with credentials on /reflect; an exact allow-list on /list."""
    seen: list = []

    def _answer(self):
        origin = self.headers.get("Origin")
        Reflecting.seen.append((self.command, self.path, origin, self.headers.get("X-Mitmproxy-Cors-Audit"),
                                self.headers.get("Cookie")))
        self.send_response(204 if self.command == "OPTIONS" else 200)
        if self.path.startswith("/reflect") or origin == PAGE:
            self.send_header("Access-Control-Allow-Origin", origin or "")
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Access-Control-Allow-Methods", "GET, PUT")
            self.send_header("Vary", "Origin")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_OPTIONS = do_PUT = _answer

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    Reflecting.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Reflecting)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.server_address
    httpd.shutdown()


@pytest.fixture
async def audit(tmp_path, monkeypatch):
    monkeypatch.setattr(audit_mod, "RATE", 200.0)  # the real bound is 5 per second
    analysis, flows = Analysis(), FlowIndex()
    observer = CorsObserver(analysis, flows)
    a = CorsAudit(analysis, flows, observer)
    commands = CorsCommands(analysis, flows, observer)
    with taddons.context(a, observer, commands) as tctx:
        tctx.configure(a)
        tctx.configure(observer, cors_report=str(tmp_path / "r.jsonl"), cors_analysis="inline")
        yield tctx, a, observer, commands, tmp_path / "r.jsonl"


def _records(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


async def _run(tctx, a, observer, f, address=None):
    if address is not None:
        f.server_conn.peername = address
    await tctx.cycle(observer, f)
    a.response(f)


async def test_options_default_and_their_errors(audit):
    tctx, a, *_ = audit
    assert tctx.options.cors_audit == "passive" and tctx.options.cors_audit_scope == ""
    with pytest.raises(exceptions.OptionsError, match="cors_audit=active .* cors_audit_scope"):
        tctx.configure(a, cors_audit="active")
    assert a.mode == "passive"  # the previous configuration stays
    with pytest.raises(exceptions.OptionsError, match="cors_audit must be one of passive, active, off"):
        tctx.configure(a, cors_audit="loud")
    with pytest.raises(exceptions.OptionsError, match="cors_audit_scope: .*a mitmproxy flow filter"):
        tctx.configure(a, cors_audit_scope="~d (")
    tctx.configure(a, cors_audit="active", cors_audit_scope="~d api.example")
    assert a.mode == "active"


async def test_a_passive_finding_marks_the_flow_and_is_reported_once(audit):
    tctx, a, observer, commands, path = audit
    login = make_flow("GET", "http://b.test:8002/login", [], status=200,
                      resp_headers=[("Set-Cookie", "sid=secret; SameSite=None; Secure")])
    await _run(tctx, a, observer, login)
    flows = [cors_get("http://b.test:8002/me", origin="null", status=200,
                      resp_headers=[("Access-Control-Allow-Origin", "null"), ("Access-Control-Allow-Credentials", "true")])
             for _ in range(3)]
    for f in flows:
        await _run(tctx, a, observer, f)
    f = flows[0]
    assert f.marked == MARK_AUDIT
    assert f.comment.startswith("CORS audit HIGH null-origin-allowed (vulnerability): GET http://b.test:8002/me")
    assert all(x.metadata["cors"]["audit"][0]["class"] == "null-origin-allowed" for x in flows)
    findings = [r for r in _records(path) if r.get("record") == "finding"]
    assert len(findings) == 1 and findings[0]["class"] == "null-origin-allowed"
    assert {"url", "endpoint", "class", "kind", "severity", "origins_granted", "evidence", "fix"} <= set(findings[0])
    assert "secret" not in path.read_text()
    assert any("null-origin-allowed" in line for line in commands.report())
    text = "\n".join(commands.explain([f]))
    assert "Audit of the server's CORS policy (cors_audit)" in text
    assert "fix: never allow 'null'" in text or "fix: on every CORS response" in text
    # verdict lines stay as they were: no audit field in them
    assert all("audit" not in r for r in _records(path) if r.get("record") != "finding")


async def test_off_finds_nothing(audit):
    tctx, a, observer, _, path = audit
    tctx.configure(a, cors_audit="off")
    f = cors_get("http://b.test:8002/me", origin="null", status=200,
                 resp_headers=[("Access-Control-Allow-Origin", "null"), ("Access-Control-Allow-Credentials", "true")])
    await _run(tctx, a, observer, f)
    assert "audit" not in f.metadata["cors"] and not any(r.get("record") for r in _records(path))


async def test_the_active_audit_probes_each_endpoint_in_scope_once_and_reports_what_it_proves(audit, server):
    tctx, a, observer, _, path = audit
    base, address = server
    tctx.configure(a, cors_audit="active", cors_audit_scope="~u /reflect|/list")
    flows = [cors_get(base + "/reflect?a=1", ("Cookie", "sid=secret"), status=200,
                      resp_headers=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")]),
             cors_get(base + "/reflect?a=2", ("Cookie", "sid=secret"), status=200,
                      resp_headers=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")]),
             cors_get(base + "/list", status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE)]),
             cors_get(base + "/outside", status=200)]
    for f in flows:
        await _run(tctx, a, observer, f, address)
    await a._task
    probes = [s for s in Reflecting.seen if s[3]]
    assert {p[1].split("?")[0] for p in probes} == {"/reflect", "/list"}  # once per endpoint, in scope only
    assert len([p for p in probes if p[1].startswith("/reflect")]) == len([p for p in probes if p[1] == "/list"])
    assert all(p[4] == "sid=secret" for p in probes if p[1].startswith("/reflect"))  # replayed as the user
    findings = [r for r in _records(path) if r.get("record") == "finding"]
    assert [(r["endpoint"], r["class"], r["kind"], r["severity"], r["source"]) for r in findings] == \
        [(f"GET {base}/reflect", "origin-reflected", "vulnerability", "high", "active")]
    assert "https://cors-audit-attacker.com" not in findings[0]["origins_granted"]  # the page is http:
    assert "http://cors-audit-attacker.com" in findings[0]["origins_granted"]
    # the fix's configuration lists the page's origin only, and says first to remove the CORS code the
    # flow shows the server has (what that code allows is kept, as cors.fix keeps it)
    flask = findings[0]["configs"]["flask"]
    assert f'origins=["{PAGE}"]' in flask and "cors-audit-attacker" not in flask
    assert flask.startswith("# WARNING: the server already sends CORS headers")
    assert "secret" not in path.read_text()
    assert flows[0].marked == MARK_AUDIT and "origin-reflected" in flows[0].comment
    lines = a.audit([flows[0]], "express")
    assert any("evidence: sent GET" in x for x in lines)
    assert any(x.strip().startswith("express:") for x in lines)


async def test_the_probes_still_to_send_are_sent_when_the_proxy_stops(audit, server):
    tctx, a, observer, _, path = audit
    base, address = server
    tctx.configure(a, cors_audit="active", cors_audit_scope="~u /reflect")
    f = cors_get(base + "/reflect-late", status=200,
                 resp_headers=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")])
    await _run(tctx, a, observer, f, address)
    tctx.master.should_exit.set()  # the proxy is stopping
    a.done()
    assert any(r.get("class") == "origin-reflected" for r in _records(path))


async def test_the_endpoint_limit_holds(audit, server, monkeypatch):
    tctx, a, observer, _, path = audit
    base, address = server
    monkeypatch.setattr(audit_mod, "MAX_ENDPOINTS", 3)
    a.send = lambda url, addr, probe, timeout, verify: audit_mod.ProbeResult(probe, None, None, "not sent")
    tctx.configure(a, cors_audit="active", cors_audit_scope="~all")
    for i in range(10):
        await _run(tctx, a, observer, cors_get(base + f"/e{i}", status=200), address)
    await a._task
    assert len([k for k in a._probed if not k.startswith("(")]) == 3


async def test_cors_audit_in_passive_mode_probes_the_selection_and_rates_it_by_the_sessions_cookies(audit, server):
    tctx, a, observer, _, path = audit
    base, address = server
    login = make_flow("POST", base + "/login", [("Origin", PAGE)], status=200,
                      resp_headers=[("Set-Cookie", "sid=secret; SameSite=None; Secure")])
    f = cors_get(base + "/reflect-me", status=200,
                 resp_headers=[("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")])
    for x in (login, f):
        await _run(tctx, a, observer, x, address)
    assert a.mode == "passive" and not [s for s in Reflecting.seen if s[3]]  # nothing sent unasked
    lines = a.audit([login, f])
    assert lines[0].startswith("cors.audit: sending")
    await a._task
    findings = [r for r in _records(path) if r.get("record") == "finding" and r["endpoint"] == f"GET {base}/reflect-me"]
    assert [(r["class"], r["severity"]) for r in findings] == [("origin-reflected", "high")]
    assert "secret" not in path.read_text()
