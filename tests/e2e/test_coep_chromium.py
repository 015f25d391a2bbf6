"""Cross-Origin-Embedder-Policy, judged by real Chromium: a page with COEP loads images, no-cors and
CORS fetches and iframes from another origin through mitmdump; which loads Chromium blocks and why
(DevTools' blockedReason) is compared with what the addon says (issue 15). The policies:
`require-corp`, `credentialless`, `Cross-Origin-Embedder-Policy-Report-Only: require-corp` and none;
resources with each Cross-Origin-Resource-Policy or none, same-origin loads, a redirect, frames."""

from __future__ import annotations

import json
import urllib.parse

from e2e_harness import MitmDump, NetworkLog, chromium_through

from mitmproxy_cors.demo.browser import check_browser_available
from mitmproxy_cors.demo.servers import DemoServers

IMG = """async (u) => new Promise((resolve) => { const i = new Image(); i.onload = () => resolve('load');
  i.onerror = () => resolve('error'); i.src = u; setTimeout(() => resolve('timeout'), 8000); })"""
IMG_CORS = """async (u) => new Promise((resolve) => { const i = new Image(); i.crossOrigin = 'anonymous';
  i.onload = () => resolve('load'); i.onerror = () => resolve('error'); i.src = u;
  setTimeout(() => resolve('timeout'), 8000); })"""
NO_CORS = """async (u) => { try { await fetch(u, {mode: 'no-cors', credentials: 'include'}); return 'load'; }
  catch (e) { return 'error'; } }"""
CORS = """async (u) => { try { await fetch(u); return 'load'; } catch (e) { return 'error'; } }"""
FRAME = """async (u) => new Promise((resolve) => { const f = document.createElement('iframe');
  f.onload = () => resolve('load'); f.src = u; document.body.appendChild(f);
  setTimeout(() => resolve('timeout'), 8000); })"""
JS = {"img": IMG, "imgcors": IMG_CORS, "nocors": NO_CORS, "cors": CORS, "frame": FRAME}
Q = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
COEP = {"require-corp": "Cross-Origin-Embedder-Policy: require-corp",
        "credentialless": "Cross-Origin-Embedder-Policy: credentialless",
        "report-only": "Cross-Origin-Embedder-Policy-Report-Only: require-corp", "none": None}


def _cases(page: str, api: str, api2: str) -> dict[str, list[tuple[str, str, str]]]:
    """Per page URL, its loads: (case id, how, URL)."""
    plan = {}
    for name, header in COEP.items():
        url = f"{page}/doc/{name}?body=html" + (f"&h={Q(header)}" if header else "")
        loads = []
        for how in ("img", "nocors", "cors", "imgcors"):
            for corp in ("", "same-origin", "same-site", "cross-origin"):
                cid = f"{name}-{how}-{corp or 'no-corp'}"
                q = (f"&h={Q('Cross-Origin-Resource-Policy: ' + corp)}" if corp else "")
                q += "&acao=echo" if how in ("cors", "imgcors") else ""
                loads.append((cid, how, f"{api}/c/{cid}/r?body=gif{q}"))
        loads.append((f"{name}-img-same-origin-page", "img", f"{page}/c/{name}-so/r?body=gif"))
        hop2 = f"{api2}/c/{name}-redirect/r2?body=gif"
        loads.append((f"{name}-img-redirect", "img", f"{api}/c/{name}-redirect/r?status=302&location={Q(hop2)}"
                      f"&h={Q('Cross-Origin-Resource-Policy: cross-origin')}"))
        frames = {"no-coep": "", "coep-corp": f"&h={Q('Cross-Origin-Embedder-Policy: require-corp')}"
                  f"&h={Q('Cross-Origin-Resource-Policy: cross-origin')}",
                  "corp-only": f"&h={Q('Cross-Origin-Resource-Policy: cross-origin')}"}
        for fname, q in frames.items():
            loads.append((f"{name}-frame-{fname}", "frame", f"{api}/c/{name}-frame-{fname}/f?body=html{q}"))
        loads.append((f"{name}-frame-same-origin-no-coep", "frame", f"{page}/c/{name}-frame-so/f?body=html"))
        plan[url] = loads
    return plan


def test_coep_blocks_as_chromium_does(tmp_path):
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    chromium: dict[str, tuple[str, str | None, bool]] = {}  # case -> (outcome, blockedReason, cookie sent)
    urls: dict[str, str] = {}
    with DemoServers() as servers:
        dump = MitmDump(tmp_path).start()
        try:
            plan = _cases(servers.page.origin(), servers.api.origin(), servers.api2.origin())
            with chromium_through(dump) as ctx:
                page = ctx.new_page()
                page.goto(servers.api.origin() + "/set-cookie")  # sid on 127.0.0.1: sent to every port
                for page_url, loads in plan.items():
                    network = NetworkLog(ctx, page)
                    page.goto(page_url)
                    for cid, how, url in loads:
                        urls[cid] = url
                        chromium[cid] = (page.evaluate(JS[how], url), None, False)
                    page.wait_for_timeout(300)
                    for cid, how, url in loads:
                        hop = url.split("location=", 1)[1].split("&", 1)[0] if "location=" in url else None
                        reason = network.blocked_reason(url) or (
                            network.blocked_reason(urllib.parse.unquote(hop)) if hop else None)
                        # An iframe's load event fires on the error page too: DevTools says it failed.
                        outcome = "error" if how == "frame" and reason else chromium[cid][0]
                        chromium[cid] = (outcome, reason, False)
                    network.cdp.detach()
        finally:
            dump.stop()
        cookies = {e.target.split("?", 1)[0]: bool(e.request_header("Cookie")) for e in servers.exchanges()}
    report = {}
    for d in (json.loads(x) for x in dump.report.read_text().splitlines() if x.strip()):
        if "record" not in d:
            report[d["url"]] = d
    rows, wrong = [], []
    for cid, url in urls.items():
        outcome, reason, _ = chromium[cid]
        line = report.get(url)
        hop = urllib.parse.unquote(url.split("location=", 1)[1].split("&", 1)[0]) if "location=" in url else None
        if hop and line is not None and line["verdict"] != "blocked":
            line = report.get(hop, line)  # the redirect passed: the next hop decides
        said = None
        if line is not None and line["verdict"] == "blocked":
            said = line["reason"] or next((r for r in ("corp-not-same-origin-after-defaulted-to-same-origin-by-coep",
                                                       "coep-frame-resource-needs-coep-header", "corp-not-same-origin",
                                                       "corp-not-same-site") if r in (line["cause"] or "")), line["cause"])
        chromium_said = reason if outcome != "load" else None
        if outcome == "error" and reason is None and "-cors-" in f"-{cid.split('-', 1)[1]}":
            chromium_said = "MissingAllowOriginHeader"
        rows.append(f"{cid:48s} chromium {outcome:5s} {chromium_said or '-':58s} addon {said or 'allowed'}")
        if line is None or chromium_said != said:
            wrong.append(rows[-1])
    print(f"\n{len(rows)} loads\n" + "\n".join(rows))
    assert not wrong, "\n".join(wrong)
    # The measurements the docs state.
    assert chromium["require-corp-img-no-corp"][1] == "corp-not-same-origin-after-defaulted-to-same-origin-by-coep"
    assert chromium["credentialless-nocors-no-corp"][0] == "load"
    assert chromium["report-only-img-no-corp"][0] == "load"
    assert chromium["require-corp-cors-no-corp"][0] == "load"  # CORS suffices
    path = lambda cid: urllib.parse.urlsplit(urls[cid]).path  # noqa: E731
    assert cookies[path("require-corp-nocors-cross-origin")] and not cookies[path("credentialless-nocors-cross-origin")]
    blocked = report[urls["require-corp-img-no-corp"]]
    assert blocked["kind"] == "no-cors" and blocked["reason"] is None
    assert "Cross-Origin-Resource-Policy: cross-origin" in blocked["warnings"][0]
