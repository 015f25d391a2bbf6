"""The cookie that was not sent and the Set-Cookie that was refused, judged by real Chromium in its three
third-party-cookie settings (issue 15): what DevTools reports per cookie (CDP
`Network.requestWillBeSentExtraInfo` `associatedCookies[].blockedReasons`,
`Network.responseReceivedExtraInfo` `blockedCookies`) against the addon's report (`cookies`).

Sites here: the page is `http://127.0.0.1:A`; `http://localhost:B` is another site, `http://127.0.0.1:B`
the same site (ports do not count for cookies). Both are secure contexts, so `Secure` cookies are kept
over plain http. The settings:
- `block`: headless Chromium's default (third-party cookies blocked by the user's setting);
- `phaseout`: `--test-third-party-cookie-phaseout`;
- `allow`: a profile whose preferences allow third-party cookies (`profile.cookie_controls_mode: 0`).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from e2e_harness import REPO, MitmDump, chromium_through

from mitmproxy_cors.demo.browser import check_browser_available
from mitmproxy_cors.demo.servers import DemoServers

COOKIES = {"none": "SameSite=None; Secure", "noneins": "SameSite=None", "lax": "SameSite=Lax",
           "strict": "SameSite=Strict", "unspec": "", "part": "SameSite=None; Secure; Partitioned",
           "partins": "Partitioned", "partunspec": "Secure; Partitioned", "partlax": "Secure; Partitioned; SameSite=Lax"}
FETCH = """async ([u, init]) => { try { const r = await fetch(u, init); return r.status; } catch (e) { return String(e); } }"""
IMG = """async (u) => new Promise((r) => { const i = new Image(); i.onload = () => r('load');
  i.onerror = () => r('error'); i.src = u; setTimeout(() => r('timeout'), 8000); })"""
FORM = """(u) => { const f = document.createElement('form'); f.method = 'POST'; f.action = u;
  document.body.appendChild(f); f.submit(); }"""
INCLUDE = {"credentials": "include"}
RESOLVER = REPO / "tests" / "e2e" / "loopback_resolver.py"
# Named hosts (through loopback_resolver.py, all on one server port): plain http to a host that is not
# a secure context, no Sec-Fetch-* on the wire, registrable domains and Domain cookies.
NAMED_COOKIES = {"lax": "SameSite=Lax", "strict": "SameSite=Strict", "unspec": "", "noneins": "SameSite=None",
                 "none": "SameSite=None; Secure", "securelax": "Secure; SameSite=Lax", "partins": "Partitioned",
                 "dlax": "Domain=site-b.test; SameSite=Lax", "dunspec": "Domain=site-b.test",
                 "baddomain": "Domain=other.test; SameSite=Lax"}
CLOSE = "h=" + urllib.parse.quote("Connection: close", safe="")  # the resolver never reuses a connection


class NamedHostsDump(MitmDump):
    """The addon and loopback_resolver.py: every host name connects to one loopback port."""

    def __init__(self, workdir: Path, port: int):
        super().__init__(workdir)
        self.loopback_port = port

    def command(self) -> list[str]:
        cmd = super().command()
        return cmd[:-2] + ["-s", str(RESOLVER), "--set", f"loopback_port={self.loopback_port}"] + cmd[-2:]


def _sets(prefix: str, path: str = "/", cookies: dict = COOKIES) -> str:
    return "&".join("h=" + urllib.parse.quote(f"Set-Cookie: {prefix}{n}=v; Path={path}" + (f"; {a}" if a else ""), safe="")
                    for n, a in cookies.items())


def _setting(setting: str) -> dict:
    """`chromium_through`'s keywords for one third-party-cookie setting."""
    if setting == "phaseout":
        return {"extra_args": ["--test-third-party-cookie-phaseout"]}
    if setting == "allow":
        return {"preferences": {"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}}
    return {}


def _record(ctx, page_or_frame, events: list) -> None:
    """DevTools' events of the requests of a page or frame (CDP): what each sent, and its cookies, sent,
    withheld or refused, with Chromium's reasons."""
    cdp = ctx.new_cdp_session(page_or_frame)
    cdp.send("Network.enable")
    for ev in ("Network.requestWillBeSent", "Network.requestWillBeSentExtraInfo",
               "Network.responseReceivedExtraInfo"):
        cdp.on(ev, lambda p, ev=ev: events.append((ev, p)))


def _report_by_url(dump) -> dict[str, dict]:
    """The addon's last report line per URL (records left out)."""
    report: dict[str, dict] = {}
    for line in dump.report.read_text().splitlines():
        d = json.loads(line) if line.strip() else {}
        if d.get("url") and "record" not in d:
            report[d["url"]] = d
    return report


def _run(setting: str, servers: DemoServers, workdir: Path) -> tuple[list, dict]:
    """Drive Chromium through a fresh mitmdump; (CDP events, the addon's report lines by URL)."""
    page_o = servers.page.origin()
    cross = servers.api.origin().replace("127.0.0.1", "localhost")
    same = servers.api.origin()
    events: list = []
    dump = MitmDump(workdir).start()
    try:
        with chromium_through(dump, **_setting(setting)) as ctx:
            page = ctx.new_page()
            _record(ctx, page, events)
            # First-party: each API's own page sets its cookies (and some for one path only).
            page.goto(f"{cross}/c/setup-x/m0?{_sets('x')}&{_sets('xp', '/c/pathonly')}")
            page.goto(f"{same}/c/setup-s/m0?{_sets('s')}")
            page.goto(page_o + "/")
            cred = "acao=echo&acac=true"
            for path, init in (("x-get", INCLUDE), ("x-get-401", INCLUDE), ("x-omit", {"credentials": "omit"}),
                               ("x-default", {}), ("x-post", {**INCLUDE, "method": "POST", "body": "a"}),
                               ("s-get", INCLUDE), ("pathonly", INCLUDE)):
                origin = same if path.startswith("s-") else cross
                status = "&status=401" if path.endswith("401") else ""
                page.evaluate(FETCH, [f"{origin}/c/{path}/m0?{cred}{status}", init])
            # Set-Cookie on cross-site and same-site responses, with and without credentials.
            page.evaluate(FETCH, [f"{cross}/c/x-set/m0?{cred}&{_sets('y')}", INCLUDE])
            page.evaluate(FETCH, [f"{cross}/c/x-set-omit/m0?acao=*&{_sets('o')}", {"credentials": "omit"}])
            page.evaluate(FETCH, [f"{same}/c/s-set/m0?{cred}&{_sets('t')}", INCLUDE])
            page.evaluate(IMG, f"{cross}/c/x-img/m0?body=gif&{_sets('i')}")
            page.evaluate(FETCH, [f"{cross}/c/x-after/m0?{cred}", INCLUDE])  # what the sets left
            # Redirects: Sec-Fetch-Site counts the chain, cookies do not.
            for path, first, then in (("redir-xs", cross, same), ("redir-sx", same, cross)):
                final = f"{then}/c/{path}/m1?acao=null&acac=true&{_sets('r' + path[-2:])}"
                page.evaluate(FETCH, [f"{first}/c/{path}/m0?{cred}&location={urllib.parse.quote(final, safe='')}",
                                      INCLUDE])
            # An iframe of the other site (its navigation sets cookies), and what it fetches: its own
            # origin, and the top-level page's site.
            page.evaluate("""(u) => new Promise((r) => { const f = document.createElement('iframe');
              f.onload = () => r(1); f.src = u; document.body.appendChild(f); })""",
                          f"{cross}/c/frame/m0?{_sets('f')}")
            frame = next(f for f in page.frames if "/c/frame/" in f.url)
            _record(ctx, frame, events)  # the frame runs in a process of its own
            frame.evaluate(FETCH, [f"{cross}/c/in-frame/m0?{_sets('g')}", INCLUDE])
            frame.evaluate(FETCH, [f"{cross}/c/in-frame-again/m0", INCLUDE])
            frame.evaluate(FETCH, [f"{same}/c/in-frame-to-top/m0?{cred}", INCLUDE])
            page.wait_for_timeout(300)
            # Top-level navigations to the other site: GET (with Set-Cookie) and a form POST.
            page.evaluate(f"location.href = '{cross}/c/x-nav/m0?{_sets('n')}'")
            page.wait_for_load_state()
            page.wait_for_timeout(500)
            page.goto(page_o + "/")
            page.evaluate(FORM, f"{cross}/c/x-navpost/m0")
            page.wait_for_load_state()
            page.wait_for_timeout(500)
    finally:
        dump.stop()
    return events, _report_by_url(dump)


def _run_named(setting: str, servers: DemoServers, workdir: Path) -> tuple[list, dict]:
    """The same through named hosts: a page on http://www.site-a.test, APIs on api.site-b.test (another
    site), www.site-b.test (its sibling, for Domain cookies) and api.site-a.test (the page's site)."""
    port = servers.api.port
    page_o, cross, sibling, same = (f"http://{h}:{port}" for h in
                                    ("www.site-a.test", "api.site-b.test", "www.site-b.test", "api.site-a.test"))
    events: list = []
    dump = NamedHostsDump(workdir, port).start()
    try:
        with chromium_through(dump, **_setting(setting)) as ctx:
            page = ctx.new_page()
            _record(ctx, page, events)
            page.goto(f"{cross}/c/n-setup-x/m0?{CLOSE}&{_sets('x', cookies=NAMED_COOKIES)}")
            page.goto(f"{same}/c/n-setup-s/m0?{CLOSE}&{_sets('s', cookies=NAMED_COOKIES)}")
            page.goto(f"{page_o}/c/n-page/m0?{CLOSE}")
            cred = f"acao=echo&acac=true&{CLOSE}"
            for path, origin, init in (("n-x-get", cross, INCLUDE), ("n-sibling", sibling, INCLUDE),
                                       ("n-s-get", same, INCLUDE), ("n-x-omit", cross, {"credentials": "omit"}),
                                       ("n-x-post", cross, {**INCLUDE, "method": "POST", "body": "a"})):
                page.evaluate(FETCH, [f"{origin}/c/{path}/m0?{cred}", init])
            page.evaluate(FETCH, [f"{cross}/c/n-x-set/m0?{cred}&{_sets('y', cookies=NAMED_COOKIES)}", INCLUDE])
            page.evaluate(FETCH, [f"{same}/c/n-s-set/m0?{cred}&{_sets('t', cookies=NAMED_COOKIES)}", INCLUDE])
            page.evaluate(IMG, f"{cross}/c/n-x-img/m0?body=gif&{CLOSE}")
            page.wait_for_timeout(300)
            page.evaluate(f"location.href = '{cross}/c/n-x-nav/m0?{CLOSE}'")
            page.wait_for_load_state()
            page.wait_for_timeout(500)
            page.goto(f"{page_o}/c/n-page2/m0?{CLOSE}")
            page.evaluate(FORM, f"{cross}/c/n-x-navpost/m0?{CLOSE}")
            page.wait_for_load_state()
            page.wait_for_timeout(500)
    finally:
        dump.stop()
    return events, _report_by_url(dump)


def _compare(setting: str, events: list, report: dict) -> tuple[list[str], list[str], int]:
    """Each cookie decision Chromium reported, against the addon's: (rows, disagreements, decisions)."""
    # Each hop of a redirect has its own ExtraInfo events, in order, under one request id.
    hops: dict[str, list[str]] = {}
    for ev, p in events:
        if ev == "Network.requestWillBeSent":
            hops.setdefault(p["requestId"], []).append(p["request"]["url"])
    seen: dict[tuple[str, str], int] = {}

    def hop_url(ev: str, rid: str) -> str:
        k = seen[(ev, rid)] = seen.get((ev, rid), -1) + 1
        urls = hops.get(rid) or [""]
        return urls[min(k, len(urls) - 1)]
    rows, wrong, n = [], [], 0

    def said(entry: dict | None, cookies: dict) -> list[str] | None:
        if entry is None:
            return None
        reasons = entry["reasons"]
        key = setting if setting in reasons else "any" if "any" in reasons else None
        if key is None:
            return ["(setting %s not among %s)" % (setting, cookies["settings"])]
        return reasons[key]

    for ev, p in events:
        if ev == "Network.requestWillBeSent":
            continue
        url = hop_url(ev, p.get("requestId"))
        if "/c/" not in url or url not in report:
            continue
        path = urllib.parse.urlsplit(url).path
        cookies = report[url].get("cookies") or {"withheld": [], "refused": [], "settings": []}
        if ev == "Network.requestWillBeSentExtraInfo":
            withheld = {e["name"]: e for e in cookies["withheld"]}
            if not p.get("associatedCookies") and cookies.get("credentials") == "unknown" and withheld:
                # The page sent no credentials, and the wire could not show it: the addon's list is
                # what the browser withholds if the page sends them (its warning says so).
                rows.append(f"{setting:8s} {path:22s} sent  (credentials omitted; the addon's list is conditional)")
                continue
            for c in p.get("associatedCookies", []):
                name = c["cookie"]["name"]
                chromium = sorted(c["blockedReasons"])
                addon = said(withheld.get(name), cookies)
                addon = sorted(addon) if addon else []
                if "NotOnPath" in chromium or "DomainMismatch" in chromium:
                    if addon:  # not this URL's cookie: no cross-site story, the addon must not list it
                        wrong.append(f"{setting:8s} {path:22s} sent  {name:12s} (other path) addon {addon}")
                    continue
                n += 1
                rows.append(f"{setting:8s} {path:22s} sent  {name:12s} chromium {chromium!s:70s} addon {addon}")
                if chromium != addon:
                    wrong.append(rows[-1])
            listed = {c["cookie"]["name"] for c in p.get("associatedCookies", [])}
            for name in set(withheld) - listed:
                addon = said(withheld[name], cookies)
                if addon:  # [] under this setting: a cookie the browser does not hold under it
                    n += 1
                    rows.append(f"{setting:8s} {path:22s} sent  {name:12s} chromium (not listed) addon {addon}")
                    wrong.append(rows[-1])
        elif ev == "Network.responseReceivedExtraInfo":
            refused = {e["name"]: e for e in cookies["refused"]}
            blocked = {c.get("cookie", {}).get("name") or c["cookieLine"].split("=", 1)[0].strip(): sorted(c["blockedReasons"])
                       for c in p.get("blockedCookies", [])}
            lines = [v for k, v in (p.get("headers") or {}).items() if k.lower() == "set-cookie"]
            names = [x.split("=", 1)[0].strip() for v in lines for x in v.split("\n")]
            for name in names:
                chromium = blocked.get(name, [])
                entry = refused.get(name)
                addon = sorted(said(entry, cookies) or [])
                n += 1
                silent = " (silent)" if entry and entry.get("silent") else ""
                rows.append(f"{setting:8s} {path:22s} set   {name:12s} chromium {chromium!s:70s} addon {addon}{silent}")
                if chromium != addon:
                    wrong.append(rows[-1])
    return rows, wrong, n


@pytest.mark.parametrize("setting", ["block", "phaseout", "allow"])
def test_cookie_decisions_agree_with_chromium(setting, tmp_path):
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    with DemoServers() as servers:
        events, report = _run(setting, servers, tmp_path)
    rows, wrong, n = _compare(setting, events, report)
    print(f"\n{setting}: {n} cookie decisions, {n - len(wrong)} agree\n" + "\n".join(rows))
    assert n >= 60, "Chromium reported fewer cookie decisions than the page makes"
    assert not wrong, "\n".join(wrong)
    # The wire tells the setting where Chromium sends Sec-Fetch-Storage-Access (every credentialed
    # cross-site request): 'active' where third-party cookies are allowed, 'none' where blocked.
    x_get = next(d for u, d in report.items() if "/c/x-get-401/" in u)
    assert x_get["cookies"]["third_party_cookies"] == ("allowed" if setting == "allow" else "blocked")
    assert x_get["verdict"] == "allowed" and x_get["reason"] is None  # CORS passed: a warning, not a block
    assert any("withheld cookie" in w for w in x_get["warnings"])
    assert x_get["warnings"][0].startswith("the server answered 401")
    # Names only, never values, anywhere in the report.
    assert all("=v" not in json.dumps(d.get("cookies")) and "=v;" not in " ".join(d["warnings"])
               for d in report.values())


@pytest.mark.parametrize("setting", ["block", "phaseout", "allow"])
def test_named_hosts_without_fetch_metadata(setting, tmp_path):
    """Plain http to hosts that are not secure contexts: no Sec-Fetch-* (the addon cannot tell the
    setting and gives each one's outcome), Secure cookies refused, registrable domains and Domain."""
    check_browser_available()
    with DemoServers() as servers:
        events, report = _run_named(setting, servers, tmp_path)
    rows, wrong, n = _compare(setting, events, report)
    print(f"\n{setting} (named hosts): {n} cookie decisions, {n - len(wrong)} agree\n" + "\n".join(rows))
    assert n >= 40, "Chromium reported fewer cookie decisions than the page makes"
    assert not wrong, "\n".join(wrong)
