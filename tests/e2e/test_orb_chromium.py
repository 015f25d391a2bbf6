"""Opaque Response Blocking, judged by real Chromium: which no-cors loads it fails with
net::ERR_BLOCKED_BY_ORB, which it empties (fetch in no-cors mode), and what the addon says (issue 15).

A matrix of destinations (img, script, stylesheet, audio, no-cors fetch) by responses (HTML 404, JSON,
PDF, nosniff, parser breakers, images under the wrong type, empty bodies, 206...) loaded from a page on
another origin through a real mitmdump with the addon; Chromium's loadingFailed errorText for each load
is compared with the addon's verdict for it."""

from __future__ import annotations

import json
import tempfile

from e2e_harness import MitmDump, NetworkLog, chromium_through

from mitmproxy_cors.demo.browser import check_browser_available
from mitmproxy_cors.demo.servers import GIF_1X1, DemoServers, api_url

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cf"
                    "c0f01f0005050201a5c5b2d00000000049454e44ae426082")
HTML = "<!doctype html><html><body>Not found</body></html>"
NOSNIFF = "X-Content-Type-Options: nosniff"

# id -> query parameters of the response (demo/servers.py): what the server answers.
RESPONSES: dict[str, dict] = {
    "html-404": {"status": 404, "ct": "text/html", "body": HTML},
    "html-200": {"ct": "text/html; charset=utf-8", "body": HTML},
    "html-comment-then-tag": {"ct": "text/html", "body": "<!-- a comment -->\n<p>hi</p>"},
    "html-ws-1000": {"ct": "text/html", "body": " " * 1000 + "<html>"},  # the tag ends at byte 1006
    "html-ws-1019": {"ct": "text/html", "body": " " * 1019 + "<html>"},  # "<html" ends at byte 1024
    "html-ws-1020": {"ct": "text/html", "body": " " * 1020 + "<html>"},  # beyond what Chromium sniffs
    "html-caps": {"ct": "text/html", "body": "<HTML><BODY>x"},
    "html-after-bm": {"ct": "text/html", "body": "BM<html>"},  # "BM" is a BMP's signature
    "html-after-id3": {"ct": "text/html", "body": "ID3<html>"},  # an MP3's
    "type-comma-nosniff": {"ct": "text/plain, image/png", "body": "hello", "h": NOSNIFF},
    "type-comma-rev-nosniff": {"ct": "image/png, text/plain", "body": "hello", "h": NOSNIFF},
    "two-types-nosniff": {"ct": "image/png", "h": ["Content-Type: text/plain", NOSNIFF], "body": "hello"},
    "html-type-caps": {"ct": "TEXT/HTML", "body": "<p>x"},
    "html-empty": {"ct": "text/html", "body": ""},
    "html-empty-nosniff": {"ct": "text/html", "body": "", "h": NOSNIFF},
    "html-404-text-body": {"status": 404, "ct": "text/html", "body": "Not found"},
    "json-object": {"ct": "application/json", "body": '{"a": 1}'},
    "json-array": {"ct": "application/json", "body": "[1, 2]"},
    "json-leading-ws": {"ct": "application/ld+json", "body": ' \n {"a": 1}'},
    "json-string-no-colon": {"ct": "application/json", "body": '{"a"}'},
    "json-breaker-after-ws": {"ct": "text/plain", "body": " )]}'\n[1]"},
    "xml-caps": {"ct": "text/xml", "body": "<?XML version=\"1.0\"?><a/>"},
    "protobuf-gif": {"bodyhex": GIF_1X1.hex(), "ct": "application/x-protobuf"},
    "json-object-as-js": {"ct": "text/javascript", "body": '{"a": 1}'},
    "json-breaker-angular": {"ct": "application/json", "body": ")]}',\n{\"a\": 1}"},
    "json-breaker-for": {"ct": "text/javascript", "body": "for(;;);{\"a\": 1}"},
    "json-breaker-struts": {"ct": "text/plain", "body": "{}&& {\"a\": 1}"},
    "xml": {"ct": "text/xml", "body": "<?xml version=\"1.0\"?><a/>"},
    "svg": {"ct": "image/svg+xml", "body": "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"},
    "pdf": {"ct": "application/pdf", "body": "%PDF-1.4\n"},
    "csv": {"ct": "text/csv", "body": "a,b\n1,2\n"},
    "zip-as-octet": {"ct": "application/octet-stream", "bodyhex": "504b0304" + "00" * 20},
    "text-plain": {"ct": "text/plain", "body": "hello"},
    "text-plain-nosniff": {"ct": "text/plain", "body": "hello", "h": NOSNIFF},
    "text-plain-nosniff-caps": {"ct": "text/plain", "body": "hello", "h": "X-Content-Type-Options: NoSniff"},
    "text-plain-nosniff-twice": {"ct": "text/plain", "body": "hello", "h": [NOSNIFF, NOSNIFF]},
    "js-as-plain": {"ct": "text/plain", "body": "var orb = 1;"},
    "js-as-plain-nosniff": {"ct": "text/plain", "body": "var orb = 1;", "h": NOSNIFF},
    "js-as-json-nosniff": {"ct": "application/json", "body": "var orb = 1;", "h": NOSNIFF},
    "js": {"ct": "text/javascript", "body": "var orb = 1;"},
    "css-as-html": {"ct": "text/html", "body": "body { color: red }"},
    "css": {"ct": "text/css", "body": "<html> body { color: red }"},
    "gif": {"body": "gif"},
    "gif-as-html": {"bodyhex": GIF_1X1.hex(), "ct": "text/html"},
    "gif-as-json": {"bodyhex": GIF_1X1.hex(), "ct": "application/json"},
    "gif-as-octet": {"bodyhex": GIF_1X1.hex(), "ct": "application/octet-stream"},
    "gif-no-type": {"bodyhex": GIF_1X1.hex(), "ct": ""},
    "gif-as-pdf": {"bodyhex": GIF_1X1.hex(), "ct": "application/pdf"},
    "gif-as-plain-nosniff": {"bodyhex": GIF_1X1.hex(), "ct": "text/plain", "h": NOSNIFF},
    "png-as-html-nosniff": {"bodyhex": PNG.hex(), "ct": "text/html", "h": NOSNIFF},
    "html-as-png": {"ct": "image/png", "body": HTML},
    "html-no-type": {"ct": "", "body": HTML},
    "html-bad-type": {"ct": "html", "body": HTML},
    "html-as-video": {"ct": "video/mp4", "body": HTML},
    "html-204": {"status": 204, "ct": "text/html", "body": ""},
    "range-middle-plain": {"status": 206, "ct": "text/plain", "body": "0123456789",
                           "h": "Content-Range: bytes 10-19/100"},
    "range-middle-video": {"status": 206, "ct": "video/mp4", "body": "0123456789",
                           "h": "Content-Range: bytes 10-19/100"},
    "range-start-html": {"status": 206, "ct": "text/html", "body": HTML,
                         "h": f"Content-Range: bytes 0-{len(HTML) - 1}/100"},
    "range-start-plain": {"status": 206, "ct": "text/plain", "body": "0123456789",
                          "h": "Content-Range: bytes 0-9/100"},
    "pdf-corp-same-origin": {"ct": "application/pdf", "body": "%PDF-1.4\n",
                             "h": "Cross-Origin-Resource-Policy: same-origin"},
    "same-origin-pdf": {"ct": "application/pdf", "body": "%PDF-1.4\n"},
    "redirect-to-pdf": {"status": 302, "next": {"ct": "application/pdf", "body": "%PDF-1.4\n"}},
    "pdf-acao": {"ct": "application/pdf", "body": "%PDF-1.4\n", "acao": "*"},
}

IMG = """(u) => new Promise((resolve) => { const i = new Image(); i.onload = () => resolve('load');
  i.onerror = () => resolve('error'); i.src = u; setTimeout(() => resolve('timeout'), 8000); })"""
SCRIPT = """(u) => new Promise((resolve) => { const s = document.createElement('script');
  s.onload = () => resolve('load'); s.onerror = () => resolve('error'); s.src = u;
  document.head.appendChild(s); setTimeout(() => resolve('timeout'), 8000); })"""
STYLE = """(u) => new Promise((resolve) => { const l = document.createElement('link'); l.rel = 'stylesheet';
  l.onload = () => resolve('load'); l.onerror = () => resolve('error'); l.href = u;
  document.head.appendChild(l); setTimeout(() => resolve('timeout'), 8000); })"""
AUDIO = """(u) => new Promise((resolve) => { const a = new Audio(); a.preload = 'auto';
  a.onloadedmetadata = () => resolve('load'); a.onerror = () => resolve('error'); a.src = u;
  setTimeout(() => resolve('timeout'), 8000); })"""
NO_CORS = """async (u) => { try { const r = await fetch(u, {mode: 'no-cors'}); await r.blob(); return 'load:' + r.type; }
  catch (e) { return 'error'; } }"""
DESTINATIONS = {"img": IMG, "script": SCRIPT, "style": STYLE, "audio": AUDIO, "nocors": NO_CORS}
ORB_ERROR = "net::ERR_BLOCKED_BY_ORB"


def measure(tmp_path, responses=RESPONSES, destinations=DESTINATIONS):
    """Every response loaded as every destination from another origin: {(response, dest): row}."""
    rows: dict[tuple[str, str], dict] = {}
    with DemoServers() as servers:
        dump = MitmDump(tmp_path).start()
        try:
            api = servers.api.origin()
            with chromium_through(dump) as ctx:
                page = ctx.new_page()
                network = NetworkLog(ctx, page)
                network.cdp.send("Audits.enable")
                issues: list[dict] = []
                network.cdp.on("Audits.issueAdded", lambda p: issues.append(p["issue"]))
                page.goto(servers.page.origin() + "/")
                for rid, params in responses.items():
                    for dest, js in destinations.items():
                        target = servers.page.origin() if rid.startswith("same-origin") else api
                        query, final = dict(params), None
                        if "next" in query:  # a redirect to the other API server
                            final = api_url(servers.api2.origin(), f"/orb/{rid}/{dest}/next", query.pop("next"))
                            query["location"] = final
                        url = api_url(target, f"/orb/{rid}/{dest}", query)
                        outcome = page.evaluate(js, url)
                        rows[(rid, dest)] = {"url": final or url, "page": outcome}
                page.wait_for_timeout(500)
                orb_issues = {i["details"]["genericIssueDetails"]["request"]["url"] for i in issues
                              if i.get("details", {}).get("genericIssueDetails", {}).get("errorType")
                              == "ResponseWasBlockedByORB"}
                for row in rows.values():
                    row["orb_issue"] = row["url"] in orb_issues
                    f = network.last_failure(row["url"])
                    row["errorText"] = f.get("errorText")
                    row["blockedReason"] = f.get("blockedReason")
                page.close()
        finally:
            dump.stop()
    report = {}
    for line in (json.loads(x) for x in dump.report.read_text().splitlines() if x.strip()):
        if "record" not in line:
            report[line["url"]] = line
    for row in rows.values():
        row["addon"] = report.get(row["url"])
    return rows, issues


def chromium_says(rid: str, dest: str, row: dict) -> str | None:
    """What Chromium did that ORB (or CORP) explains: an element load's error, or for a no-cors fetch
    "emptied": its promise resolved, and Chromium abandoned the body load (net::ERR_ABORTED), which
    it does for a response ORB blocked or one with no body at all (measured)."""
    if dest == "nocors":
        if row["errorText"] and row["errorText"].startswith("net::ERR_BLOCKED_BY_RESPONSE"):
            return row["errorText"]
        params = RESPONSES[rid].get("next") or RESPONSES[rid]
        has_body = params.get("status") != 204 and (params.get("body", "ok") or params.get("bodyhex"))
        return "emptied" if row["errorText"] == "net::ERR_ABORTED" and has_body else None
    err = row["errorText"]
    return err if err == ORB_ERROR or (err or "").startswith("net::ERR_BLOCKED_BY_RESPONSE") else None


def addon_says(line: dict | None) -> str | None:
    """The same, from the addon's report line."""
    if line is None:
        return "no report line"
    cause = line.get("cause") or ""
    if line["verdict"] == "blocked":
        for err in (ORB_ERROR, "net::ERR_BLOCKED_BY_RESPONSE.NotSameOrigin"):
            if err in cause:
                return err
        return cause
    if any("Opaque Response Blocking emptied" in w for w in line.get("warnings") or ()):
        return "emptied"
    return None


def test_orb_as_chromium_applies_it(tmp_path):
    check_browser_available()  # fails, never skips, when Chromium or Playwright is missing
    rows, _issues = measure(tmp_path)
    table, wrong = [], []
    for (rid, dest), row in rows.items():
        chromium, said = chromium_says(rid, dest, row), addon_says(row["addon"])
        table.append(f"{rid:26s} {dest:7s} page {row['page']:12s} chromium {chromium or '-':42s} "
                     f"addon {said or 'allowed'}")
        if chromium != said:
            wrong.append(table[-1])
        if said == ORB_ERROR:  # not a CORS error, and the fix is not a CORS header
            line = row["addon"]
            assert line["kind"] == "no-cors" and line["reason"] is None and line["fix"] == []
            assert "Access-Control-Allow-Origin on this no-cors load changes nothing" in line["warnings"][0]
    print("\n" + "\n".join(table))
    said = [chromium_says(rid, dest, row) for (rid, dest), row in rows.items()]
    print(f"{len(rows)} loads, {len(rows) - len(wrong)} agree; in Chromium {said.count(ORB_ERROR)} failed by ORB, "
          f"{said.count('emptied')} emptied by ORB, {sum(1 for s in said if s and 'RESPONSE' in s)} failed by CORP")
    assert not wrong, "\n".join(wrong)
    # What the matrix pins down (measured in Chromium 156):
    assert rows[("html-ws-1019", "img")]["errorText"] == ORB_ERROR  # Chromium sniffs 1024 bytes
    assert rows[("html-ws-1020", "img")]["errorText"] is None
    assert rows[("pdf-corp-same-origin", "img")]["blockedReason"] == "corp-not-same-origin"  # CORP first
    assert rows[("pdf", "nocors")]["page"] == "load:opaque"  # fetch() resolves: the body is emptied


if __name__ == "__main__":  # measuring: python tests/e2e/test_orb_chromium.py
    import pathlib
    import sys
    out = pathlib.Path(tempfile.mkdtemp(prefix="orb-measure-"))
    rows, issues = measure(out)
    for (rid, dest), row in rows.items():
        line = row["addon"] or {}
        print(f"{rid:26s} {dest:7s} page {row['page']:14s} err {row['errorText'] or '-':34s} "
              f"br {row['blockedReason'] or '-':12s} issue {row['orb_issue']!s:6} chromium "
              f"{chromium_says(rid, dest, row) or '-':12.12s} addon {addon_says(line or None) or '-':.40s}")
    json.dump({f"{k[0]}|{k[1]}": {kk: vv for kk, vv in v.items() if kk != "addon"} for k, v in rows.items()},
              open(sys.argv[1] if len(sys.argv) > 1 else "/tmp/orb-measure.json", "w"), indent=1)
