"""Malformed flows never raise and are never dropped; loaded flows are decided; metadata is serializable.

References: docs/architecture.md (the engine never raises on input: anything malformed is a verdict or a
note), tests/addon/README.md ("Annotating flows": metadata must serialise to tnetstring; "Reading saved
traffic": flows read from a file pass through the hooks with live=False).
"""

import io
import json

from mitmproxy import http, io as mio
from mitmproxy.test import tflow, tutils

from .flows import API, CONNECT_REFUSED, PAGE, cors_get, make_flow, preflight, put_pair

URL = API + "/api"


async def test_non_utf8_header_bytes_are_decided(cors):
    f = make_flow("GET", URL, [("Origin", PAGE), ("X-Bin", b"\xff\xfe\x80"), (b"X-\xe9", b"v")], status=200,
                  resp_headers=[("Access-Control-Allow-Origin", PAGE), ("X-Weird", b"\xc3\x28\xa0\xa1"),
                                ("Access-Control-Expose-Headers", b"x-\xff")])
    meta = await cors.run(f)
    assert meta is not None
    assert meta["verdict"] == "allowed"
    assert cors.observer.internal_errors == 0


async def test_non_utf8_acao_is_a_mismatch_not_a_crash(cors):
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", b"http://a.test:8001\xff")])
    meta = await cors.run(f)
    assert meta["verdict"] == "blocked"
    assert meta["reason"] in ("AllowOriginMismatch", "InvalidAllowOriginValue")
    assert cors.observer.internal_errors == 0


async def test_huge_header_values_and_many_headers_are_decided(cors):
    big = "x" * 200_000
    req_headers = [("Origin", PAGE), ("Accept", big)] + [(f"X-H{i}", str(i)) for i in range(500)]
    resp_headers = [("Access-Control-Allow-Origin", big), ("Access-Control-Allow-Methods", big),
                    ("Access-Control-Expose-Headers", ",".join(f"h{i}" for i in range(20_000)))]
    f = make_flow("GET", URL, req_headers, status=200, resp_headers=resp_headers)
    meta = await cors.run(f)
    assert meta["verdict"] == "blocked"
    assert meta["reason"] == "InvalidAllowOriginValue"
    assert cors.observer.internal_errors == 0


async def test_acao_with_a_non_digit_port_byte_is_decided(cors):
    # b"\xb2" is "²" in latin-1: not a port digit for Chromium's URL parser.
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", b"http://a.test:\xb2")])
    meta = await cors.run(f)
    assert meta is not None and cors.observer.internal_errors == 0
    assert meta["reason"] == "InvalidAllowOriginValue"


async def test_huge_max_age_and_garbage_preflight_headers(cors):
    f = preflight(URL, "PUT", "x-a,,x-b, ,\x01", status=204, resp_headers=[
        ("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Methods", "PUT"),
        ("Access-Control-Allow-Headers", "*"), ("Access-Control-Max-Age", "9" * 5000)])
    meta = await cors.run(f)
    assert meta is not None and cors.observer.internal_errors == 0


async def test_duplicate_acao_lines_are_multiple_values(cors):
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE),
                                                ("Access-Control-Allow-Origin", PAGE)])
    meta = await cors.run(f)
    assert (meta["reason"], meta["failed_parameter"]) == ("MultipleAllowOriginValues", f"{PAGE}, {PAGE}")
    assert meta["firefox_reason"] == "CORSMultipleAllowOriginNotAllowed"


async def test_garbled_origin_and_location_are_decided(cors):
    flows = [
        cors_get(URL, status=200, origin="http://[::1"),
        cors_get(URL, status=200, origin="http://a.test:99999"),
        cors_get(URL, status=302, resp_headers=[("Access-Control-Allow-Origin", PAGE), ("Location", "http://[::1")]),
        cors_get(URL, status=302, resp_headers=[("Access-Control-Allow-Origin", PAGE),
                                                ("Location", "http://c.test:99999/x")]),
        cors_get(URL, status=302, resp_headers=[("Access-Control-Allow-Origin", PAGE), ("Location", b"\xff\xfe")]),
    ]
    for f in flows:
        assert await cors.run(f) is not None
    assert cors.observer.internal_errors == 0


async def test_non_utf8_request_path_is_decided_reported_and_serializable(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    req = tutils.treq(host="b.test", port=8002, path=b"/caf\xe9?q=\xff",
                      headers=http.Headers([(b"Origin", PAGE.encode()), (b"Accept", b"*/*")]))
    f = tflow.tflow(req=req, resp=tutils.tresp(headers=http.Headers([(b"Access-Control-Allow-Origin", b"*")])))
    meta = await cors.run(f)
    assert meta is not None and cors.observer.internal_errors == 0
    # The flow can still be saved (metadata must serialise to tnetstring) ...
    buf = io.BytesIO()
    mio.FlowWriter(buf).add(f)
    # ... and the report keeps going for later flows.
    later = cors_get(URL, status=200)
    await cors.run(later)
    ids = [json.loads(line)["flow_id"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert ids == [f.id, later.id]


async def test_flows_loaded_from_a_file_are_decided(cors):
    # `-r` flows pass through the hooks with live=False and a response already set
    # (tests/addon/README.md, "Reading saved traffic"; mitmproxy/addons/readfile.py).
    f = cors_get(URL, status=200, live=False)
    meta = await cors.run(f)
    assert meta["reason"] == "MissingAllowOriginHeader"
    assert f.marked == ":heavy_multiplication_x:"


async def test_loaded_preflight_and_actual_are_paired(cors):
    pre, act = put_pair(URL, live=False)
    await cors.run(pre)
    meta = await cors.run(act)
    assert meta["paired_flow_id"] == pre.id
    assert pre.metadata["cors"]["paired_flow_id"] == act.id


async def test_metadata_survives_a_save_and_load_round_trip(cors):
    flows = [
        cors_get(URL, status=200),
        cors_get(URL + "/2", status=200, resp_headers=[("Access-Control-Allow-Origin", "*")]),
        preflight(URL, "PUT", "x-foo", status=204, resp_headers=[("Access-Control-Allow-Origin", PAGE)]),
        cors_get(URL + "/3", error=CONNECT_REFUSED),
        make_flow("GET", API + "/page", [("Accept", "text/html")], status=200),
    ]
    for f in flows:
        await cors.run(f)
    buf = io.BytesIO()
    writer = mio.FlowWriter(buf)
    for f in flows:
        writer.add(f)
    buf.seek(0)
    loaded = list(mio.FlowReader(buf).stream())
    assert [g.id for g in loaded] == [f.id for f in flows]
    for original, copy in zip(flows, loaded):
        assert copy.metadata["cors"] == original.metadata["cors"]
        assert copy.comment == original.comment
        assert copy.marked == original.marked


async def test_metadata_is_plain_json(cors):
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", "*")])
    meta = await cors.run(f)
    assert json.loads(json.dumps(meta)) == meta


async def test_a_decided_flow_is_decided_again_without_error(cors):
    # Replays and re-runs (script.run, cors.analyze) hand the same flow to the hooks again.
    f = cors_get(URL, status=200)
    await cors.run(f)
    meta = await cors.run(f)
    assert meta["reason"] == "MissingAllowOriginHeader"
    assert cors.observer.internal_errors == 0
