"""A WebSocket handshake answered with anything but 101 fails in the browser; the server refused it,
not CORS (tests/e2e/test_websocket_chromium.py shows it in Chromium)."""

from mitmproxy_cors.mitm.analysis import wants_line
from mitmproxy_cors.mitm.explain import title
from mitmproxy_cors.mitm.annotate import MARK_WARNING
from mitmproxy_cors.mitm.terminal import verdict_line

from .flows import API, PAGE, make_flow

WS = [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Origin", PAGE), ("Sec-WebSocket-Version", "13"),
      ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]


async def test_a_refused_handshake_is_flagged_as_the_servers_refusal(cors):
    f = make_flow("GET", API + "/socket", WS, status=403)
    line = await cors.run(f)
    assert (line["verdict"], line["reason"], line["kind"]) == ("blocked", None, "not-cors")
    assert f.comment.startswith("CORS n/a: the server refused the WebSocket handshake (403): not a CORS error")
    assert f.marked == MARK_WARNING
    assert title(line) == ("title-warn", "FAILED, NOT CORS: " + line["cause"])
    v = cors.observer.flows._by_id[f.id][1]
    assert v.failed_not_cors and not v.blocked
    assert wants_line("blocked", v)
    assert str(verdict_line(v)).split("] ", 1)[1].startswith("FAILED, NOT CORS GET")


async def test_an_accepted_handshake_stays_not_cors_and_unmarked(cors):
    f = make_flow("GET", API + "/socket", WS, status=101)
    await cors.run(f)
    assert f.metadata["cors"]["verdict"] == "allowed" and not f.marked and not f.comment


def test_a_handshake_the_proxy_could_not_deliver_is_not_the_servers_refusal():
    from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot
    from mitmproxy_cors.pipeline import Pipeline

    ex = Exchange("ws1", RequestSnapshot("GET", API + "/socket", Headers(WS)), None,
                  error="Connection refused", proxy_answered_error=True)
    v = Pipeline().decide(ex).decision.verdict
    assert v.failed_not_cors and "the proxy could not reach the server" in v.cause
    assert "refused the WebSocket handshake" not in v.cause and "start the server" in v.warnings[0]
