"""Cross-Origin-Resource-Policy on no-cors loads, judged by real Chromium: which loads it blocks and
why (DevTools' blockedReason), and what the addon says (issue 15). Also what "same site" means for
loopback hosts here: two ports of 127.0.0.1 are not same-site for CORP (IP addresses never are),
two ports of localhost are."""

from __future__ import annotations

import json

from e2e_harness import MitmDump, NetworkLog, chromium_through

from mitmproxy_cors.demo.browser import check_browser_available
from mitmproxy_cors.demo.servers import DemoServers

IMG = """async (u) => new Promise((resolve) => { const i = new Image(); i.onload = () => resolve('load');
  i.onerror = () => resolve('error'); i.src = u; setTimeout(() => resolve('timeout'), 8000); })"""
NO_CORS = """async (u) => { try { const r = await fetch(u, {mode: 'no-cors'}); return 'load'; }
  catch (e) { return 'error'; } }"""


def test_corp_blocks_as_chromium_does(tmp_path):
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    chromium: dict[str, tuple[str, str | None]] = {}
    urls: dict[str, str] = {}
    with DemoServers() as servers:
        dump = MitmDump(tmp_path).start()
        try:
            api = servers.api.origin()  # http://127.0.0.1:B
            pages = {"ip": servers.page.origin(),  # http://127.0.0.1:A: same host as the API, another port
                     "localhost": servers.page.origin().replace("127.0.0.1", "localhost")}
            targets = {"ip": api, "localhost": api.replace("127.0.0.1", "localhost")}
            cases = {}
            for page_name in pages:
                for target_name, target in targets.items():
                    for corp in ("same-origin", "same-site", "cross-origin", "Same-Origin"):
                        for how in ("img", "nocors"):
                            cid = f"corp-{page_name}-to-{target_name}-{corp.lower()}{'-caps' if corp[0] == 'S' else ''}-{how}"
                            cases[cid] = (page_name, how,
                                          f"{target}/c/{cid}/m0?body=gif&h=Cross-Origin-Resource-Policy%3A%20{corp}")
            # After a redirect: the policy on the final response, and on the redirect itself.
            import urllib.parse
            api2 = servers.api2.origin()
            for where in ("final", "hop"):
                cid = f"corp-ip-redirect-{where}-img"
                final = f"{api2}/c/{cid}/m1?body=gif" + ("&h=Cross-Origin-Resource-Policy%3A%20same-origin"
                                                         if where == "final" else "")
                first = f"{api}/c/{cid}/m0?status=302&location={urllib.parse.quote(final, safe='')}" + (
                    "&h=Cross-Origin-Resource-Policy%3A%20same-origin" if where == "hop" else "")
                cases[cid] = ("ip", "img", first)
                urls[cid + "/m1"] = final
            with chromium_through(dump) as ctx:
                for page_name, page_origin in pages.items():
                    page = ctx.new_page()
                    network = NetworkLog(ctx, page)
                    page.goto(page_origin + "/")
                    for cid, (pn, how, url) in cases.items():
                        if pn == page_name:
                            urls[cid] = url
                            outcome = page.evaluate(IMG if how == "img" else NO_CORS, url)
                            chromium[cid] = (outcome, None)
                    page.wait_for_timeout(300)
                    for cid, (pn, _how, url) in cases.items():
                        if pn == page_name:
                            hop = urls.get(cid + "/m1")
                            chromium[cid] = (chromium[cid][0], network.blocked_reason(url) or (
                                network.blocked_reason(hop) if hop else None))
                    page.close()
        finally:
            dump.stop()
    report = {d["url"]: d for d in (json.loads(x) for x in dump.report.read_text().splitlines() if x.strip())
              if "record" not in d}
    rows, wrong = [], []
    for cid, url in urls.items():
        if cid.endswith("/m1"):
            continue
        outcome, blocked_reason = chromium[cid]
        line = report[url]
        if urls.get(cid + "/m1") and line["verdict"] != "blocked":  # the redirect passed: the next hop decides
            line = report.get(urls[cid + "/m1"], line)
        said = None
        if line["verdict"] == "blocked":
            said = "corp-not-same-origin" if "corp-not-same-origin" in (line["cause"] or "") else \
                "corp-not-same-site" if "corp-not-same-site" in (line["cause"] or "") else line["cause"]
        rows.append(f"{cid:55s} chromium {outcome:5s} {blocked_reason or '-':22s} addon {said or 'allowed'}")
        if (outcome == "error") != (said is not None) or blocked_reason != said:
            wrong.append(rows[-1])
        if said is not None:
            assert line["kind"] == "no-cors" and line["reason"] is None  # not a CORS error
            assert "Cross-Origin-Resource-Policy: cross-origin" in line["warnings"][0]
    print("\n" + "\n".join(rows))
    assert not wrong, "\n".join(wrong)
    # Loopback: two ports of 127.0.0.1 are not same-site for CORP; two ports of localhost are.
    assert chromium["corp-ip-to-ip-same-site-img"][1] == "corp-not-same-site"
    assert chromium["corp-localhost-to-localhost-same-site-img"] == ("load", None)
