"""The page's rules through the addon: the server's address reaches the engine from mitmproxy's server
connection (Local Network Access), and warnings on flows that are not CORS (a no-cors image under a
cache trap or calling a private address) reach the comment and the marker; a COEP block is
'failed, not CORS' like a CORP one."""

import marshal

from mitmproxy_cors.mitm.annotate import MARK_WARNING
from mitmproxy_cors.mitm.explain import title
from mitmproxy_cors.mitm.snapshot import exchange_of_record, record_of

from .flows import make_flow

PAGE = "https://app.example.com"
API = "http://api.example.com:8080"


def _served_from(f, ip):
    f.server_conn.peername = (ip, 443)
    return f


async def test_the_servers_address_reaches_the_engine_and_a_more_private_one_is_warned(cors):
    doc = _served_from(make_flow("GET", PAGE + "/", [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")],
                                 status=200, resp_headers=[("Content-Type", "text/html")]), "93.184.216.34")
    await cors.run(doc)
    assert exchange_of_record(marshal.loads(marshal.dumps(record_of(doc)))).extra["server_ip"] == "93.184.216.34"
    api = _served_from(make_flow("GET", API + "/v1", [("Origin", PAGE), ("Sec-Fetch-Mode", "cors"), ("Referer", PAGE + "/")],
                                 status=200, resp_headers=[("Access-Control-Allow-Origin", "*")]), "192.168.1.20")
    line = await cors.run(api)
    assert line["verdict"] == "allowed"
    (w,) = [w for w in line["warnings"] if w.startswith("Local Network Access")]
    assert "public page" in w and "local address 192.168.1.20" in w and "its document came from 93.184.216.34" in w
    assert api.marked == MARK_WARNING and "warning: Local Network Access" in api.comment
    same = _served_from(make_flow("GET", API + "/v2", [("Origin", PAGE), ("Sec-Fetch-Mode", "cors"), ("Referer", PAGE + "/")],
                                  status=200, resp_headers=[("Access-Control-Allow-Origin", "*")]), "93.184.216.35")
    line = await cors.run(same)
    assert not [w for w in line["warnings"] if w.startswith("Local Network Access")] and not same.marked


async def test_a_no_cors_image_with_a_warning_is_marked(cors):
    await cors.run(_served_from(make_flow("GET", PAGE + "/", [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")],
                                          status=200), "93.184.216.34"))
    img = _served_from(make_flow("GET", "http://printer.test/logo.gif", [("Sec-Fetch-Mode", "no-cors"),
                                                                           ("Sec-Fetch-Dest", "image"), ("Referer", PAGE + "/")],
                                 status=200, resp_headers=[("Content-Type", "image/gif")]), "10.0.0.9")
    line = await cors.run(img)
    assert line["kind"] == "no-cors" and line["verdict"] == "allowed"
    assert img.comment.startswith("CORS n/a: no-cors; warning: Local Network Access") and img.marked == MARK_WARNING


async def test_a_coep_block_is_failed_not_cors(cors):
    await cors.run(make_flow("GET", PAGE + "/", [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")],
                             status=200, resp_headers=[("Cross-Origin-Embedder-Policy", "require-corp")]))
    img = make_flow("GET", "https://cdn.other.test/i.gif", [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image"),
                                                            ("Referer", PAGE + "/")], status=200)
    line = await cors.run(img)
    assert (line["verdict"], line["reason"], line["kind"]) == ("blocked", None, "no-cors")
    assert "corp-not-same-origin-after-defaulted-to-same-origin-by-coep" in line["cause"]
    assert img.comment.startswith("CORS n/a: blocked by the page's Cross-Origin-Embedder-Policy: require-corp")
    assert img.marked == MARK_WARNING and title(line)[1].startswith("FAILED, NOT CORS")
