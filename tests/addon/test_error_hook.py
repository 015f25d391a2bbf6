"""The `error` hook: mitmproxy's own 502 for an unreachable server (tests/addon/README.md, "Hooks"),
which Chromium reports as MissingAllowOriginHeader (tests/e2e/README.md, cases `refused-*`)."""

from mitmproxy import flow

from .flows import API, CONNECT_REFUSED, PAGE, cors_get, make_flow, preflight

URL = API + "/api"


async def test_connection_failure_is_missing_allow_origin_with_the_proxy_502_as_cause(cors):
    f = cors_get(URL, error=CONNECT_REFUSED)
    meta = await cors.run(f)
    assert meta is not None, "the error hook decides the flow"
    assert meta["verdict"] == "blocked"
    assert (meta["reason"], meta["failed_parameter"]) == ("MissingAllowOriginHeader", "")
    assert meta["cause"] and "502" in meta["cause"]
    assert "Connect call failed" in meta["cause"]
    assert f.marked == ":heavy_multiplication_x:"
    assert "502" in f.comment


async def test_connection_failure_on_a_preflight(cors):
    f = preflight(URL, "PUT", error=CONNECT_REFUSED)
    meta = await cors.run(f)
    assert meta["reason"] == "PreflightMissingAllowOriginHeader"
    assert "502" in meta["cause"]


async def test_connection_failure_on_a_navigation_is_not_a_cors_error(cors):
    f = make_flow("GET", URL, [("Accept", "text/html")], error=CONNECT_REFUSED)
    meta = await cors.run(f)
    assert meta["reason"] is None
    assert f.marked == ""


async def test_connection_failure_is_reported(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    f = cors_get(URL, error=CONNECT_REFUSED)
    await cors.run(f)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and f.id in lines[0]


async def test_killed_flow_is_not_labelled_a_cors_error(cors):
    # The proxy answered nothing (the flow was killed): no CORS error reaches the browser
    # (a network error is not a CORS error: https://fetch.spec.whatwg.org/#concept-network-error; Chromium
    # reports it as net::ERR_* without a corsErrorStatus).
    f = cors_get(URL, error=flow.Error.KILLED_MESSAGE)
    meta = await cors.run(f)
    assert meta is None or meta["reason"] is None
    assert "CORS blocked" not in f.comment


async def test_client_disconnect_is_not_labelled_a_cors_error(cors):
    f = cors_get(URL, error="Client disconnected.")
    meta = await cors.run(f)
    assert meta is None or meta["reason"] is None
    assert "CORS blocked" not in f.comment


async def test_error_after_the_response_headers_is_still_decided(cors):
    # A response cut off mid-body: the response hook never fires, the error hook does, with
    # flow.response already set. The browser had the headers (streamed) or mitmproxy's 502
    # (buffered); either way the page saw a CORS verdict, so the flow must not go undecided.
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE)],
                 error="Server disconnected.")
    # Live, mitmproxy fires requestheaders, request, responseheaders, then error - no response hook.
    # (tctx.cycle would also fire `response` for a flow that has one, which mitmproxy does not here.)
    cors.observer.error(f)
    meta = f.metadata.get("cors")
    assert meta is not None
    assert meta["verdict"] in ("allowed", "blocked")
