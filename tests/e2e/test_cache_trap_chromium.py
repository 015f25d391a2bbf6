"""The browser-cache trap, judged by real Chromium through mitmdump: a response Chromium's HTTP cache
stores and then reuses, without a request, for a CORS request it does not fit (issue 15). For each
case Chromium shows whether the trap sprang (the second load failed with a CORS error and the server
saw one request), and the addon whether it warned on the response that set it."""

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
NO_CORS = """async (u) => { try { await fetch(u, {mode: 'no-cors'}); return 'load'; } catch (e) { return 'error'; } }"""
CORS = """async (u) => { try { await fetch(u); return 'load'; } catch (e) { return 'error'; } }"""
PREFLIGHTED = """async (u) => { try { await fetch(u, {headers: {'X-Trap': '1'}}); return 'load'; }
  catch (e) { return 'error'; } }"""
JS = {"img": IMG, "imgcors": IMG_CORS, "nocors": NO_CORS, "cors": CORS, "preflighted": PREFLIGHTED}
Q = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
VARY = "&h=" + Q("Vary: Origin")
FRESH = "&acao=echo&cache=max-age=600"
# case -> (first load, second load, the URL's parameters, does the same path answer CORS first?)
SAME_PAGE = {
    "img-then-fetch": ("img", "cors", FRESH, True),
    "img-then-fetch-vary": ("img", "cors", FRESH + VARY, True),
    "img-then-fetch-no-store": ("img", "cors", "&acao=echo&cache=no-store", True),
    "img-then-fetch-no-cache-etag": ("img", "cors", "&acao=echo&cache=no-cache&h=" + Q('ETag: "e1"'), True),
    "img-then-fetch-last-modified": ("img", "cors", "&acao=echo&cache=&h=" + Q("Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT"), True),
    "nocors-then-fetch": ("nocors", "cors", FRESH, True),
    "img-then-img-crossorigin": ("img", "imgcors", FRESH, True),
    "img-then-preflighted-fetch": ("img", "preflighted", FRESH + "&p_acah=echo", True),
    "img-then-fetch-star": ("img", "cors", "&acao=*&cache=max-age=600", True),
}


def test_the_cache_trap_as_chromium_springs_it(tmp_path):
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    chromium: dict[str, tuple[str, str, str | None]] = {}  # case -> (first, second outcome, corsError)
    urls: dict[str, str] = {}
    with DemoServers() as servers:
        page_origin, api, api2 = servers.page.origin(), servers.api.origin(), servers.api2.origin()
        site_page = api2  # another origin of the same site (127.0.0.1): the same cache partition
        other_site = page_origin.replace("127.0.0.1", "localhost")  # another site: its own partition
        dump = MitmDump(tmp_path).start()
        try:
            with chromium_through(dump) as ctx:
                page = ctx.new_page()
                network = NetworkLog(ctx, page)
                page.goto(page_origin + "/")
                for cid, (first, second, params, cors_first) in SAME_PAGE.items():
                    if cors_first:  # the path answers CORS requests with Access-Control-Allow-Origin
                        page.evaluate(CORS, f"{api}/c/{cid}/r?v=0&acao=echo")
                    url = urls[cid] = f"{api}/c/{cid}/r?v=1&body=gif{params}"
                    a = page.evaluate(JS[first], url)
                    b = page.evaluate(JS[second], url)
                    page.wait_for_timeout(100)
                    chromium[cid] = (a, b, network.cors_error(url))
                # Without the CORS request first the proxy cannot tell: measured, not compared.
                url = urls["img-first-unknown"] = f"{api}/c/img-first-unknown/r?body=gif{FRESH}"
                chromium["img-first-unknown"] = (page.evaluate(IMG, url), page.evaluate(CORS, url), None)
                # Origin A's copy, then origin B of the same site, then of another site.
                for cid, params in (("echo-a-then-b", FRESH), ("echo-a-then-b-vary", FRESH + VARY),
                                    ("echo-a-then-other-site", FRESH)):
                    urls[cid] = f"{api}/c/{cid}/r?body=gif{params}"
                    chromium[cid] = (page.evaluate(CORS, urls[cid]), "", None)
                page.wait_for_timeout(200)
                for later, cids in ((site_page, ("echo-a-then-b", "echo-a-then-b-vary")),
                                    (other_site, ("echo-a-then-other-site",))):
                    page.goto(later + "/")
                    for cid in cids:
                        b = page.evaluate(CORS, urls[cid])
                        page.wait_for_timeout(100)
                        chromium[cid] = (chromium[cid][0], b, network.cors_error(urls[cid]))
                chromium["img-first-unknown"] = chromium["img-first-unknown"][:2] + (
                    network.cors_error(urls["img-first-unknown"]),)
        finally:
            dump.stop()
        hits: dict[str, int] = {}
        preflights: set[str] = set()
        for e in servers.api.log:
            if e.method == "OPTIONS":
                preflights.add(e.target)
            else:
                hits[e.target] = hits.get(e.target, 0) + 1
    lines: dict[str, list[dict]] = {}
    for d in (json.loads(x) for x in dump.report.read_text().splitlines() if x.strip()):
        if "record" not in d:
            lines.setdefault(d["url"], []).append(d)
    rows, wrong = [], []
    for cid, (a, b, cors_error) in chromium.items():
        url = urls[cid]
        target = url[len(api):]
        sprang = b == "error" and hits.get(target) == 1
        first = lines[url][0]  # the response that may set the trap
        warned = any(w.startswith("browser cache:") for w in first["warnings"])
        rows.append(f"{cid:30s} chromium {a:5s} then {b or '-':5s} {cors_error or '-':22s} server saw {hits.get(target)}"
                    f"  addon {'warned' if warned else 'silent'}")
        if cid == "img-first-unknown":
            assert sprang and not warned  # the trap, which nothing on the wire announced
            continue
        if cid == "echo-a-then-other-site":
            assert not sprang and warned  # another site's partition misses; a same-site page would not
            continue
        if sprang != warned:
            wrong.append(rows[-1])
    print(f"\n{len(rows)} cases\n" + "\n".join(rows))
    assert not wrong, "\n".join(wrong)
    assert chromium["img-then-fetch"][2] == "MissingAllowOriginHeader"
    assert chromium["echo-a-then-b"][2] == "AllowOriginMismatch"
    # A preflight reached the proxy, its actual request did not; the preflight's warning says why.
    pre = next(d for d in lines[urls["img-then-preflighted-fetch"]] if d["kind"] == "preflight")
    assert any("serves the actual request from it" in w for w in pre["warnings"])
    assert len(lines[urls["img-then-preflighted-fetch"]]) == 2  # the image and the preflight
