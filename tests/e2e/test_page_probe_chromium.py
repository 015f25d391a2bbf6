"""The page probe (cors_probe) judged by real Chromium through a real mitmdump: with the probe, every
call made with credentials and no cookie to send gets exactly Chromium's verdict (no conditional
answer left), an XMLHttpRequest's header order names the header Chromium names, the requests Chromium
refuses before sending get their records, a page with a strict Content-Security-Policy still runs,
and the responses that are not instrumented arrive byte for byte. The same calls without the probe
give the figures the probe improves on (printed)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from e2e_harness import MitmDump, NetworkLog, chromium_through

from mitmproxy_cors.demo.browser import check_browser_available
from mitmproxy_cors.demo.servers import DemoServers, api_url

FETCH = """async ([u, init]) => { try { const r = await fetch(u, init); return 'ok ' + r.status; }
  catch (e) { return 'error ' + e.message; } }"""
XHR = """async ([u, method, headers, creds]) => new Promise((resolve) => { const x = new XMLHttpRequest();
  x.open(method, u); x.withCredentials = creds; for (const h of headers) x.setRequestHeader(h, 'v');
  x.onload = () => resolve('ok ' + x.status); x.onerror = () => resolve('error'); x.send(); })"""
EVENTSOURCE = """async ([u, creds]) => new Promise((resolve) => { const es = new EventSource(u, {withCredentials: creds});
  es.onopen = () => { es.close(); resolve('ok'); }; es.onerror = () => { es.close(); resolve('error'); }; })"""


class ProbedDump(MitmDump):
    def __init__(self, workdir, probe: str):
        super().__init__(workdir)
        self.probe = probe

    def command(self) -> list[str]:
        return super().command() + ["--set", f"cors_probe={self.probe}"]


def calls(api: str) -> list[tuple[str, str, list]]:
    """(case id, js, args): calls that differ only in what the page asked for."""
    def u(cid: str, **params) -> str:
        return api_url(api, f"/c/{cid}/m0", params)
    inc = {"credentials": "include"}
    return [
        ("wildcard-include", FETCH, [u("wildcard-include", acao="*"), inc]),
        ("wildcard-omit", FETCH, [u("wildcard-omit", acao="*"), {"credentials": "omit"}]),
        ("wildcard-default", FETCH, [u("wildcard-default", acao="*"), {}]),
        ("echo-no-acac-include", FETCH, [u("echo-no-acac-include", acao="echo"), inc]),
        ("echo-acac-include", FETCH, [u("echo-acac-include", acao="echo", acac="true"), inc]),
        ("put-star-methods-include", FETCH, [u("put-star-methods-include", acao="echo", acac="true", acam="*"),
                                             {**inc, "method": "PUT"}]),
        ("put-star-methods-omit", FETCH, [u("put-star-methods-omit", acao="*", acam="*"), {"method": "PUT"}]),
        ("header-star-include", FETCH, [u("header-star-include", acao="echo", acac="true", acah="*"),
                                        {**inc, "headers": {"X-Token": "1"}}]),
        ("xhr-wildcard-creds", XHR, [u("xhr-wildcard-creds", acao="*"), "GET", [], True]),
        ("xhr-order", XHR, [u("xhr-order", acao="echo", acah="x-other"), "GET", ["X-Omicron", "X-Alpha"], False]),
        ("eventsource-creds", EVENTSOURCE, [u("eventsource-creds", acao="*"), True]),
        ("redirect-error", FETCH, [u("redirect-error", acao="*", location=api_url(api, "/c/redirect-error/m1",
                                                                                {"acao": "*"})),
                                   {"redirect": "error"}]),
        # refused before sending: no flow
        ("mode-same-origin", FETCH, [u("mode-same-origin", acao="*"), {"mode": "same-origin"}]),
        ("no-cors-put", FETCH, [u("no-cors-put"), {"mode": "no-cors", "method": "PUT"}]),
    ]


def run_page(servers: DemoServers, dump: MitmDump, page_url: str, api: str, extra_calls=()) -> dict:
    """Every call from one page in a fresh profile: case id -> (page outcome, Chromium's CORS error,
    its failed parameter) for the call's last request."""
    seen: dict[str, tuple] = {}
    with chromium_through(dump) as ctx:
        page = ctx.new_page()
        network = NetworkLog(ctx, page)
        page.goto(page_url)
        for cid, js, args in [*calls(api), *extra_calls]:
            outcome = page.evaluate(js, args)
            page.wait_for_timeout(150)
            status = network.last_failure(args[0]).get("corsErrorStatus") or {}
            seen[cid] = (outcome, status.get("corsError"), status.get("failedParameter") or None, args[0])
        page.wait_for_timeout(800)  # the probe's last delivery
    return seen


def final_lines(dump: MitmDump) -> tuple[dict[str, dict], list[dict]]:
    """The last report line per URL (updates supersede), and the page_refusal records."""
    by_flow: dict[str, dict] = {}
    refusals = []
    for raw in dump.report.read_text().splitlines():
        if not raw.strip():
            continue
        line = json.loads(raw)
        if line.get("record") == "page_refusal":
            refusals.append(line)
        elif "record" not in line:
            by_flow[line["flow_id"]] = line
    by_url: dict[str, dict] = {}
    for line in sorted(by_flow.values(), key=lambda x: x["time"]):
        if line["kind"] != "preflight" or line["url"] not in by_url:
            by_url[line["url"]] = line if line["kind"] != "preflight" or line["verdict"] == "blocked" else by_url.get(line["url"], line)
    return by_flow, refusals


def compare(seen: dict, dump: MitmDump) -> tuple[list[str], list[str], int, list[dict]]:
    by_flow, refusals = final_lines(dump)
    rows, wrong, conditional = [], [], 0
    for cid, (outcome, cors_error, parameter, url) in seen.items():
        lines = [x for x in by_flow.values() if x["url"] == url]
        pre = [x for x in lines if x["kind"] == "preflight"]
        act = [x for x in lines if x["kind"] != "preflight"]
        line = (pre[0] if pre and pre[0]["verdict"] == "blocked" else act[0] if act else pre[0] if pre else None)
        if line is None:
            said = next(((r["reason"] or "refused"), None) for r in refusals if r["url"] == url) if any(
                r["url"] == url for r in refusals) else ("no flow, no record", None)
            rows.append(f"{cid:26s} chromium {outcome[:28]:28s} {cors_error or '-':38s} addon {said[0]}")
            if not outcome.startswith("error"):
                wrong.append(rows[-1])
            continue
        conditional += sum(bool(x["conditional"]) for x in lines)
        said = (line["reason"], line["failed_parameter"] or None) if line["verdict"] == "blocked" else (None, None)
        rows.append(f"{cid:26s} chromium {outcome[:28]:28s} {cors_error or '-':20s} {parameter or '':16s} "
                    f"addon {said[0] or ('blocked, not CORS' if line['verdict'] == 'blocked' else 'allowed')} {said[1] or ''}"
                    + (f" (conditional: {line['conditional']['reason']})" if line["conditional"] else ""))
        if (cors_error, parameter) != said or outcome.startswith("error") != (line["verdict"] == "blocked"):
            wrong.append(rows[-1])
    return rows, wrong, conditional, refusals


def test_the_probe_settles_what_the_wire_cannot_show(tmp_path):
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    with DemoServers() as servers:
        # the API on another site than the page (127.0.0.1 vs localhost): no cookie goes with include
        api = servers.api.origin().replace("127.0.0.1", "localhost")
        results = {}
        wire: dict[str, list] = {}
        for probe in ("", "~d 127.0.0.1"):
            dump = ProbedDump(tmp_path / (probe and "probe" or "plain"), probe)
            dump.workdir.mkdir()
            dump.report = dump.workdir / "report.jsonl"
            dump.logfile = dump.workdir / "mitmdump.log"
            dump.start()
            before = len(servers.api.log)
            try:
                seen = run_page(servers, dump, servers.page.origin() + "/", api)
            finally:
                dump.stop()
            results[probe or "off"] = (seen, compare(seen, dump), dump)
            # what reached the API: method, target and header names in order, per request
            wire[probe or "off"] = sorted((e.method, e.target, tuple(h.lower() for h, _ in e.request_headers))
                                          for e in servers.api.log[before:])
    seen_off, (rows_off, wrong_off, cond_off, _), _ = results["off"]
    seen_on, (rows_on, wrong_on, cond_on, refusals), dump_on = results["~d 127.0.0.1"]
    print("\nwithout the probe:\n" + "\n".join(rows_off))
    print(f"conditional verdicts without the probe: {cond_off}, with it: {cond_on}; "
          f"disagreements without: {len(wrong_off)}, with: {len(wrong_on)}; refusals recorded: {len(refusals)}")
    print("with the probe:\n" + "\n".join(rows_on))
    # the probe changes nothing about the page's requests: the same requests, headers and order
    assert wire["off"] == wire["~d 127.0.0.1"] and len(wire["off"]) >= 11
    assert cond_off > 0, "the calls should leave conditional answers without the probe"
    assert cond_on == 0, "with the probe no conditional answer is left"
    assert not wrong_on, "\n".join(wrong_on)
    names = {r["url"].split("/c/")[1].split("/")[0]: r["reason"] for r in refusals}
    assert names.get("mode-same-origin") == "DisallowedByMode"
    assert "no-cors-put" in names
    # Every delivery of the injected script was taken (a refused one is logged as a warning).
    assert "was refused" not in dump_on.log_tail(400), dump_on.log_tail(400)


def test_a_page_with_a_strict_policy_runs_and_csp_refusals_are_recorded(tmp_path):
    check_browser_available()
    with DemoServers() as servers:
        api = servers.api.origin().replace("127.0.0.1", "localhost")
        csp = "default-src 'none'; script-src 'self'; connect-src 'self'"
        page_url = api_url(servers.page.origin(), "/strict", {"body": "html", "h": f"Content-Security-Policy: {csp}"})
        dump = ProbedDump(tmp_path, "~d 127.0.0.1").start()
        try:
            blocked_by_csp = api_url(api, "/c/csp-blocked/m0", {"acao": "*"})
            seen = run_page(servers, dump, page_url, api, extra_calls=[
                ("csp-blocked", FETCH, [blocked_by_csp, {}]),
                ("probe-ran", "() => window.__mitmproxyCorsProbe === true ? 'ok probe' : 'error no probe'", ["probe"]),
            ])
            # a response that is not an instrumented document passes byte for byte
            direct = urllib.request.urlopen(blocked_by_csp.replace("localhost", "127.0.0.1")).read()
            proxied = urllib.request.build_opener(urllib.request.ProxyHandler(
                {"http": f"http://127.0.0.1:{dump.port}"})).open(blocked_by_csp.replace("localhost", "127.0.0.1")).read()
        finally:
            dump.stop()
    assert seen["probe-ran"][0] == "ok probe", "the injected script must run under the page's strict policy"
    assert seen["csp-blocked"][0].startswith("error")
    _, refusals = final_lines(dump)
    csp_refusals = [r for r in refusals if "csp-blocked" in r["url"]]
    assert csp_refusals and csp_refusals[0]["reason"] == "ContentSecurityPolicy", refusals
    assert direct == proxied
    assert urllib.parse.urlsplit(page_url).path == "/strict"


class ResolvedDump(ProbedDump):
    """Every host name to the page server's port (tests/e2e/loopback_resolver.py)."""

    def __init__(self, workdir, probe: str, port: int):
        super().__init__(workdir, probe)
        self.resolver_port = port

    def command(self) -> list[str]:
        from pathlib import Path
        resolver = Path(__file__).with_name("loopback_resolver.py")
        return super().command() + ["-s", str(resolver), "--set", f"loopback_port={self.resolver_port}"]


def test_on_a_plain_http_host_a_same_origin_fetch_is_told_from_a_navigation(tmp_path):
    """Chromium sends no Sec-Fetch-* to a plain-http host that is not potentially trustworthy (a LAN
    name, a docker-compose service): its same-origin fetch() carries neither Origin nor Sec-Fetch-Mode,
    like a navigation. The probe says which it was."""
    check_browser_available()
    with DemoServers() as servers:
        kinds = {}
        for probe in ("", "~d app.test"):
            dump = ResolvedDump(tmp_path / (probe and "probe" or "plain"), probe, servers.page.port)
            dump.workdir.mkdir()
            dump.report, dump.logfile = dump.workdir / "report.jsonl", dump.workdir / "mitmdump.log"
            dump.start()
            try:
                with chromium_through(dump) as ctx:
                    page = ctx.new_page()
                    page.goto("http://app.test/")
                    outcome = page.evaluate(FETCH, ["/c/same/m0", {}])
                    page.wait_for_timeout(800)
            finally:
                dump.stop()
            by_flow, _ = final_lines(dump)
            lines = {x["url"]: x for x in by_flow.values()}
            fetched = lines["http://app.test/c/same/m0"]
            assert outcome == "ok 200"
            assert "sec-fetch-mode" not in [h.lower() for h, _ in next(
                e.request_headers for e in servers.page.log if e.target == "/c/same/m0")]
            kinds[probe or "off"] = (fetched["kind"], fetched["mode_source"], lines["http://app.test/"]["kind"])
    print("\n", kinds)
    assert kinds["off"][0] == "not-cors" and "navigation" in kinds["off"][1]
    assert kinds["~d app.test"][0] == "same-origin" and kinds["~d app.test"][1].startswith("the page probe: fetch(")
    assert kinds["~d app.test"][2] == "not-cors"  # the navigation itself stays one
