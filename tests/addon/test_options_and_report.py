"""Options `cors_log` and `cors_report`, and the JSON Lines report (docs/report-schema.md)."""

import json
import os

import pytest
from mitmproxy import exceptions

from .flows import API, PAGE, cors_get, make_flow, put_pair

URL = API + "/api"
FIELDS = ("flow_id", "time", "method", "url", "origin", "kind", "verdict", "reason", "failed_parameter",
          "firefox_reason", "message", "fix", "paired_flow_id", "credentials", "conditional")


def read_lines(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


async def test_options_are_registered_with_their_defaults(cors):
    assert cors.tctx.options.cors_report == ""
    assert cors.tctx.options.cors_log == "blocked"


@pytest.mark.parametrize("value", ["blocked", "cors", "off"])
async def test_cors_log_accepts_its_choices(cors, value):
    cors.tctx.configure(cors.observer, cors_log=value)
    assert cors.tctx.options.cors_log == value


@pytest.mark.parametrize("value", ["all", "BLOCKED", "", "verbose"])
async def test_bad_cors_log_value_raises_options_error(cors, value):
    with pytest.raises(exceptions.OptionsError):
        cors.tctx.configure(cors.observer, cors_log=value)
    assert cors.tctx.options.cors_log == "blocked"  # rolled back


async def test_report_has_one_line_per_decided_flow(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    flows = [cors_get(URL, status=200), cors_get(URL + "/2", status=200,
                                                 resp_headers=[("Access-Control-Allow-Origin", "*")]),
             make_flow("GET", API + "/page", [("Accept", "text/html")], status=200)]
    for f in flows:
        await cors.run(f)
    lines = read_lines(path)
    assert [line["flow_id"] for line in lines] == [f.id for f in flows]
    for line in lines:
        for field in FIELDS:
            assert field in line, field


async def test_report_line_values(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", "*")])
    await cors.run(f)
    [line] = read_lines(path)
    assert line["method"] == "GET"
    assert line["url"] == URL
    assert line["origin"] == PAGE
    assert line["kind"] == "simple"
    assert line["verdict"] == "allowed"
    assert line["reason"] is None and line["failed_parameter"] is None
    assert line["credentials"] == "unknown"
    assert line["conditional"]["reason"] == "WildcardOriginNotAllowed"
    assert line["time"] == f.request.timestamp_start  # request start, epoch seconds
    assert line == json.loads(json.dumps(cors.observer.flows.line_of(f)))  # what the view renders
    # the flow carries a digest of the line
    digest = json.loads(json.dumps(f.metadata["cors"]))
    assert all(digest[k] == line[k] for k in digest if k != "conditional")
    assert digest["conditional"] == {"reason": "WildcardOriginNotAllowed", "failed_parameter": "",
                                     "evidence": line["conditional"]["evidence"]}


async def test_blocked_report_line_has_reason_fix_and_firefox_reason(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    await cors.run(cors_get(URL, status=200))
    [line] = read_lines(path)
    assert (line["reason"], line["failed_parameter"]) == ("MissingAllowOriginHeader", "")
    assert line["firefox_reason"] == "CORSMissingAllowOrigin"
    assert line["fix"] and line["fix"][0]["header"] == "Access-Control-Allow-Origin"
    assert line["fix"][0]["value"] == PAGE


async def test_paired_preflight_gets_an_update_line(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    pre, act = put_pair(URL)
    await cors.run(pre)
    await cors.run(act)
    lines = read_lines(path)
    assert [(line["flow_id"], line.get("update", False)) for line in lines] == [
        (pre.id, False), (act.id, False), (pre.id, True)]
    assert lines[0]["paired_flow_id"] is None
    assert lines[1]["paired_flow_id"] == pre.id
    assert lines[2]["paired_flow_id"] == act.id  # the last line for a flow_id wins


async def test_report_without_plus_truncates(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    path.write_text('{"old": true}\n', encoding="utf-8")
    cors.tctx.configure(cors.observer, cors_report=str(path))
    await cors.run(cors_get(URL, status=200))
    lines = read_lines(path)
    assert len(lines) == 1 and "old" not in lines[0]


async def test_plus_path_appends(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    path.write_text('{"old": true}\n', encoding="utf-8")
    cors.tctx.configure(cors.observer, cors_report="+" + str(path))
    f = cors_get(URL, status=200)
    await cors.run(f)
    lines = read_lines(path)
    assert lines[0] == {"old": True}
    assert lines[1]["flow_id"] == f.id


async def test_each_line_is_flushed_when_the_flow_is_decided(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    await cors.run(cors_get(URL, status=200))
    assert len(read_lines(path)) == 1  # readable before the addon is done


async def test_unwritable_report_path_raises_a_clear_options_error(cors, tmp_path):
    bad = tmp_path / "no-such-dir" / "cors.jsonl"
    with pytest.raises(exceptions.OptionsError) as info:
        cors.tctx.configure(cors.observer, cors_report=str(bad))
    text = str(info.value)
    assert "cors_report" in text
    assert str(bad) in text
    assert cors.tctx.options.cors_report == ""


async def test_directory_as_report_path_raises_options_error(cors, tmp_path):
    with pytest.raises(exceptions.OptionsError) as info:
        cors.tctx.configure(cors.observer, cors_report=str(tmp_path))
    assert "cors_report" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only files")
async def test_read_only_report_file_raises_options_error(cors, tmp_path):
    path = tmp_path / "ro.jsonl"
    path.write_text("", encoding="utf-8")
    path.chmod(0o444)
    with pytest.raises(exceptions.OptionsError):
        cors.tctx.configure(cors.observer, cors_report=str(path))


async def test_clearing_the_report_option_stops_writing(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    await cors.run(cors_get(URL, status=200))
    cors.tctx.configure(cors.observer, cors_report="")
    await cors.run(cors_get(URL + "/2", status=200))
    assert len(read_lines(path)) == 1


async def test_switching_report_files(cors, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(a))
    await cors.run(cors_get(URL, status=200))
    cors.tctx.configure(cors.observer, cors_report=str(b))
    await cors.run(cors_get(URL + "/2", status=200))
    assert len(read_lines(a)) == 1 and len(read_lines(b)) == 1


async def test_done_closes_the_report(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_report=str(path))
    await cors.run(cors_get(URL, status=200))
    cors.observer.done()
    assert cors.observer.analysis.report is None
    assert len(read_lines(path)) == 1


async def test_cors_log_off_still_annotates_and_reports(cors, tmp_path):
    path = tmp_path / "cors.jsonl"
    cors.tctx.configure(cors.observer, cors_log="off", cors_report=str(path))
    f = cors_get(URL, status=200)
    meta = await cors.run(f)
    assert meta["verdict"] == "blocked"
    assert len(read_lines(path)) == 1


def _logged(caplog):
    return [r.getMessage() for r in caplog.records if r.name.startswith("mitmproxy_cors")]


async def test_cors_log_blocked_logs_blocked_flows_and_those_blocked_with_credentials(cors, caplog):
    caplog.set_level("INFO", logger="mitmproxy_cors")
    await cors.run(cors_get(URL + "/blocked", status=200))
    await cors.run(cors_get(URL + "/star", status=200, resp_headers=[("Access-Control-Allow-Origin", "*"),
                                                                      ("Access-Control-Allow-Credentials", "true")]))
    await cors.run(cors_get(URL + "/public", status=200, resp_headers=[("Access-Control-Allow-Origin", "*")]))
    await cors.run(cors_get(URL + "/allowed", status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE),
                                                                         ("Access-Control-Allow-Credentials", "true"),
                                                                         ("Vary", "Origin")]))
    logged = _logged(caplog)
    assert any("/blocked" in m and "MissingAllowOriginHeader" in m for m in logged)
    # the login case: allowed only because no cookie was sent yet; never to be missed
    assert any("/star" in m and "WildcardOriginNotAllowed — CORS blocked if the page sends credentials" in m
               for m in logged)
    assert not any("/allowed" in m for m in logged)
    assert not any("/public" in m for m in logged)  # '*' and nothing suggesting credentials: a public API


async def test_cors_log_cors_logs_every_cors_flow_but_not_others(cors, caplog):
    caplog.set_level("INFO", logger="mitmproxy_cors")
    cors.tctx.configure(cors.observer, cors_log="cors")
    await cors.run(cors_get(URL + "/allowed", status=200, resp_headers=[("Access-Control-Allow-Origin", "*")]))
    await cors.run(make_flow("GET", API + "/page", [("Accept", "text/html")], status=200))
    logged = _logged(caplog)
    assert any("/allowed" in m for m in logged)
    assert not any("/page" in m for m in logged)


async def test_cors_log_off_logs_nothing(cors, caplog):
    caplog.set_level("INFO", logger="mitmproxy_cors")
    cors.tctx.configure(cors.observer, cors_log="off")
    await cors.run(cors_get(URL + "/blocked", status=200))
    assert _logged(caplog) == []


@pytest.mark.parametrize("option,value,allowed", [
    ("cors_analysis", "bogus", "auto, inline, worker"),
    ("cors_log", "loud", "blocked, cors, off"),
])
async def test_a_bad_choice_is_one_line_naming_the_option_and_its_choices(cors, option, value, allowed):
    before = getattr(cors.tctx.options, option)
    with pytest.raises(exceptions.OptionsError) as e:
        cors.tctx.configure(cors.observer, **{option: value})
    assert str(e.value) == f"{option} must be one of {allowed}, not {value!r}"
    assert getattr(cors.tctx.options, option) == before  # the previous configuration stays


async def test_the_report_is_not_touched_before_the_proxy_runs(cors, tmp_path):
    """A failed start (another option rejected, the port in use) never gets to `running`: an existing
    report must survive it."""
    path = tmp_path / "cors.jsonl"
    path.write_text('{"old": true}\n')
    cors.tctx.configure(cors.observer, cors_report=str(path))
    assert path.read_text() == '{"old": true}\n'
    cors.observer.running()  # the proxy is up: now the report starts afresh
    assert path.read_text() == ""
    await cors.run(cors_get(URL, status=200))
    assert len(read_lines(path)) == 1


async def test_no_cookie_or_credential_value_reaches_the_report_or_the_metadata(tmp_path):
    from mitmproxy.addons import modifyheaders
    from mitmproxy.test import taddons

    from mitmproxy_cors.mitm import make_addons

    path = tmp_path / "cors.jsonl"
    addons = make_addons()
    with taddons.context(*addons, modifyheaders.ModifyHeaders()) as tctx:
        tctx.options.update(cors_report=str(path), cors_fix="~all",
                            modify_headers=["/~s/Set-Cookie/changed=secret2"])
        f = cors_get(URL, ("Cookie", "session=secret0"), ("Authorization", "Bearer secret1"), status=200,
                     resp_headers=[("Set-Cookie", "session=secret3; Secure"), ("Content-Type", "text/plain")])
        for hook in ("requestheaders", "request", "responseheaders", "response"):
            for a in addons:
                fn = getattr(a, hook, None)
                if fn is not None:
                    fn(f)
        assert f.metadata["cors_patch"]["patched"]
        assert "secret" not in json.dumps(f.metadata)
    text = path.read_text()
    assert "secret" not in text and "(redacted)" in text
