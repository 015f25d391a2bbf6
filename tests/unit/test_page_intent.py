"""The page probe's records as untrusted input, and why the browser refused a call it never sent
(engine/page_intent.py). Chromium checks the refusals end to end in tests/e2e/test_page_probe_chromium.py;
mixed content needs an https page, which the test servers do not have: its rule is checked here."""

from __future__ import annotations

import json

from mitmproxy_cors.engine.origin import parse_origin_header
from mitmproxy_cors.engine.page_intent import MAX_BODY, MAX_RECORDS, PageRecord, page_refusal, parse_page_records

PAGE = parse_origin_header("https://app.example")


def rec(**kw) -> dict:
    base = {"api": "fetch", "url": "https://api.example/x", "method": "GET", "mode": "cors",
            "credentials": "include", "redirect": "follow", "headers": ["X-Token"], "outcome": "error"}
    return {**base, **kw}


def parse(*records, raw: bytes | None = None):
    return parse_page_records(raw if raw is not None else json.dumps({"records": list(records)}).encode())


def test_a_well_formed_record_is_kept_with_lower_cased_header_names():
    (r,), problems = parse(rec())
    assert problems == [] and r.headers == ("x-token",) and r.credentials == "include"


def test_methods_are_normalized_as_fetch_does_and_others_kept():
    (a, b), _ = parse(rec(method="put"), rec(method="patch"))
    assert (a.method, b.method) == ("PUT", "patch")


def test_bad_input_is_dropped_with_a_reason_and_never_raises():
    assert parse(raw=b"\xff\xfe")[1] == ["a delivery that is not JSON was refused"]
    assert parse(raw=b"[1, 2]")[1] == ["a delivery without a list of records was refused"]
    assert "refused" in parse(raw=b" " * (MAX_BODY + 1))[1][0]
    records, problems = parse(rec(mode="weird"), rec(url="relative/x"), rec(method="GE T"), rec(headers=["bad name"]),
                              rec(status="200"), rec(url="x" * 5000), "not an object", rec())
    assert len(records) == 1 and len(problems) == 7
    records, problems = parse(*[rec() for _ in range(MAX_RECORDS + 5)])
    assert len(records) == MAX_RECORDS and "5 record(s)" in problems[0]


def record(**kw) -> PageRecord:
    (r,), _ = parse(rec(**kw))
    return r


def test_refusals_in_the_order_the_browser_checks():
    assert page_refusal(record(outcome="response", status=200), PAGE) is None
    csp = page_refusal(record(csp="connect-src 'self'"), PAGE)
    assert csp.reason == "ContentSecurityPolicy" and "connect-src" in csp.fix
    no_cors = page_refusal(record(mode="no-cors", method="PUT"), PAGE)
    assert no_cors.reason is None and "unsupported in no-cors mode" in no_cors.message
    mixed = page_refusal(record(url="http://api.example/x"), PAGE)
    assert mixed.reason == "MixedContent" and "https" in mixed.fix
    # loopback is potentially trustworthy: no mixed content (Chromium sends it)
    assert page_refusal(record(url="http://127.0.0.1:9/x"), PAGE).reason is None
    mode = page_refusal(record(mode="same-origin"), PAGE)
    assert mode.reason == "DisallowedByMode" and mode.known
    scheme = page_refusal(record(url="ftp://files.example/x"), PAGE)
    assert scheme.reason == "CorsDisabledScheme"
    unknown = page_refusal(record(), PAGE)
    assert unknown.reason is None and not unknown.known and "never sent" in unknown.fix


def test_a_refusal_record_names_no_secret_and_its_flow():
    line = page_refusal(record(mode="same-origin"), PAGE).to_dict("flow-1")
    assert line["record"] == "page_refusal" and line["probe_flow_id"] == "flow-1"
    assert set(line) == {"record", "page", "api", "method", "url", "mode", "credentials", "error", "reason",
                         "message", "fix", "known", "probe_flow_id"}
