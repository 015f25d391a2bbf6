"""cors_fix in a real mitmdump, checked on the bytes the client receives (no browser): out-of-scope
responses byte-identical with and without patching, streamed responses patched, a replaced preflight
framed correctly on a keep-alive connection, startup errors, --modify-headers, the log line."""

from __future__ import annotations

import pytest

from .wire import CannedServer, MitmDump, RawClient, parse

PAGE = "http://app.test"
BODY = b"x" * 4000


def canned(status: str, headers: list[str], body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


RESPONSES = {
    "/": canned("200 OK", ["Content-Type: text/plain", "X-Odd:  spaced  ", "Set-Cookie: a=b"], BODY),
    "/preflight": canned("401 Unauthorized", ["WWW-Authenticate: Basic", "Content-Type: text/plain"], b"login first"),
    "/wildcard": canned("200 OK", ["Access-Control-Allow-Origin: *", "Access-Control-Expose-Headers: *",
                                   "X-Total: 7", "Content-Type: text/plain"], BODY),
}
CORS_GET = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
PREFLIGHT = [("Origin", PAGE), ("Access-Control-Request-Method", "PUT"),
             ("Access-Control-Request-Headers", "x-foo"), ("Sec-Fetch-Mode", "cors")]
COOKIE = [("Cookie", "sid=1")]


def exchange_all(proxy_port: int, server_port: int, prefix: str) -> list[bytes]:
    base = f"http://127.0.0.1:{server_port}/{prefix}"
    c = RawClient(proxy_port)
    try:
        return [
            c.send("GET", base + "/", CORS_GET),
            c.send("OPTIONS", base + "/preflight", PREFLIGHT),
            c.send("GET", base + "/wildcard", CORS_GET + COOKIE),
            c.send("GET", base + "/", [("Sec-Fetch-Mode", "navigate")]),
            c.send("OPTIONS", base + "/preflight", [("Origin", PAGE)]),  # no ACRM: not a preflight
        ]
    finally:
        c.close()


@pytest.mark.parametrize("stream", [False, True], ids=["buffered", "streamed"])
def test_patching_on_the_wire(tmp_path, stream):
    extra = ["--set", "stream_large_bodies=1"] if stream else []
    with CannedServer(RESPONSES) as server, \
            MitmDump(tmp_path, "--set", "cors_fix=~u /fix/", *extra) as on, \
            MitmDump(tmp_path, *extra) as off:
        fixed = exchange_all(on.port, server.port, "fix")
        same_path_on = exchange_all(on.port, server.port, "other")
        same_path_off = exchange_all(off.port, server.port, "other")
        log = on.stop()

    # out of scope: byte-identical with and without cors_fix
    assert same_path_on == same_path_off
    assert same_path_on[0].endswith(BODY) and same_path_on[1].endswith(b"login first")

    status, headers, body = parse(fixed[0])
    h = dict(headers)
    assert status == 200 and body == BODY
    assert h["Access-Control-Allow-Origin"] == PAGE and h["Access-Control-Allow-Credentials"] == "true"
    assert h["Vary"] == "Origin" and h["X-Odd"] == "spaced"

    status, headers, body = parse(fixed[1])  # the 401 preflight, answered by the proxy
    assert status == 204 and body == b""
    assert headers == [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true"),
                       ("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "x-foo"),
                       ("Vary", "Origin")]

    status, headers, body = parse(fixed[2])  # '*' with a cookie: echoed, ACEH '*' made explicit
    h = dict(headers)
    assert h["Access-Control-Allow-Origin"] == PAGE and h["Access-Control-Expose-Headers"] == "X-Total"
    assert body == BODY

    # not CORS / not a preflight: untouched even in scope (the 4th and 5th responses on the
    # same connection also prove the 204 above was framed right)
    assert fixed[3] == same_path_off[3]
    assert parse(fixed[4])[0] == 401 and parse(fixed[4])[2] == b"login first"

    lines = [line for line in log.splitlines() if "cors_fix:" in line and "server:" in line]
    assert len(lines) == 4, log  # GET, preflight, wildcard, and the OPTIONS without ACRM (an actual request)
    assert any("OPTIONS" in line and "answered by the proxy" in line for line in lines)


def test_bad_filter_at_startup_exits_with_one_clear_error(tmp_path):
    code = (d := MitmDump(tmp_path, "--set", "cors_fix=~bogus (")).run_to_exit()
    out = d.output()
    assert code != 0
    assert "cors_fix: Invalid filter expression: '~bogus ('" in out


def test_bad_policy_at_startup_exits_with_one_clear_error(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("scope: '~all'\nallow_origins: ['*']\nallow_methods: ['GET PUT']\n")
    code = (d := MitmDump(tmp_path, "--set", f"cors_policy={policy}")).run_to_exit()
    out = d.output()
    assert code != 0
    assert f"cors_policy: {policy}: allow_methods: 'GET PUT' is not a valid name" in out


def test_modify_headers_changes_are_in_the_verdict(tmp_path):
    with CannedServer(RESPONSES) as server, \
            MitmDump(tmp_path, "--modify-headers", f"/~s/Access-Control-Allow-Origin/{PAGE}") as dump:
        c = RawClient(dump.port)
        raw = c.send("GET", f"http://127.0.0.1:{server.port}/x/", CORS_GET)
        c.close()
        dump.stop()
        lines = dump.report_lines()
    assert dict(parse(raw)[1])["Access-Control-Allow-Origin"] == PAGE
    [line] = [x for x in lines if x["url"].endswith("/x/")]
    assert line["verdict"] == "allowed"
