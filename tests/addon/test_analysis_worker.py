"""The analysis worker (mitm/worker.py) judges flow records exactly as the observer judges flows in the
proxy: the same flows through both give the same report; records cross the pipe intact; the proxy's
side (mitm/offload.py) never blocks, keeps its backlog bounded, and notices a dead worker."""

from __future__ import annotations

import asyncio
import json
import marshal
import sys
import time

import pytest
from mitmproxy.test import taddons

from mitmproxy_cors.mitm.fixer import CorsFixer
from mitmproxy_cors.mitm.observer import CorsObserver
from mitmproxy_cors.mitm.offload import MAX_BACKLOG, AnalysisWorker
from mitmproxy_cors.mitm.snapshot import (_saveable, capture, exchange_of, exchange_of_record, record_of,
                                          url_of)
from mitmproxy_cors.mitm.worker import WorkerAnalysis, frame, read_frames

from .flows import API, CONNECT_REFUSED, PAGE, cors_get, make_flow, preflight, put_pair


def mixed_flows() -> list:
    """One of each kind of story, in the order the proxy would finish them."""
    pre, act = put_pair(API + "/orders/1")
    cut = cors_get(API + "/cut", status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE)],
                   error="peer closed connection without sending complete message body")
    return [
        cors_get(API + "/ok", status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE)]),
        cors_get(API + "/none", status=200),
        cors_get(API + "/star", ("Cookie", "a=1"), status=200, resp_headers=[("Access-Control-Allow-Origin", "*")]),
        cors_get(API + "/bytes", ("X-Odd", b"\xff\xfe"), status=200,
                 resp_headers=[("Access-Control-Allow-Origin", b"http://a.test:8001\xe9")]),
        pre, act,
        preflight(API + "/orders/2", "DELETE", "x-token", status=404),
        cors_get(API + "/moved", status=302, resp_headers=[("Location", API + "/ok"),
                                                           ("Access-Control-Allow-Origin", PAGE)]),
        cors_get(API + "/down", error=CONNECT_REFUSED),
        cut,
        make_flow("GET", API + "/img.png", [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")], status=200),
        make_flow("GET", PAGE + "/", [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")], status=200),
        make_flow("POST", API + "/form", [("Origin", PAGE), ("Content-Type", "application/json")], status=200,
                  resp_headers=[("Access-Control-Allow-Origin", PAGE)]),
    ]


class Recorder:
    """Stands in for AnalysisWorker: keeps what the observer hands over."""

    def __init__(self) -> None:
        self.messages: list = []

    def send(self, message) -> bool:
        self.messages.append(message)
        return True


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


async def _inline_text(tmp_path, flows) -> str:
    path = tmp_path / "inline.jsonl"
    fixer, observer = CorsFixer(), CorsObserver()
    with taddons.context(fixer, observer) as tctx:
        tctx.configure(observer, cors_report=str(path))
        for f in flows:
            await tctx.cycle(fixer, f)
            await tctx.cycle(observer, f)
        observer.done()
    return path.read_bytes()


async def _worker_report(tmp_path, flows) -> list[dict]:
    path = tmp_path / "worker.jsonl"
    fixer, observer = CorsFixer(), CorsObserver()
    recorder = Recorder()
    with taddons.context(fixer, observer) as tctx:
        tctx.configure(observer)
        observer.worker = recorder
        for f in flows:
            await tctx.cycle(fixer, f)
            _as_mitmproxy_fires(observer, f)
        assert all("cors" not in f.metadata for f in flows), "handed over, not judged in the proxy"
    # Through the real wire format, as the worker reads it.
    import io
    wire = io.BytesIO(frame(recorder.messages[:5]) + frame(recorder.messages[5:]))
    analysis = WorkerAnalysis()
    analysis.configure({"report": str(path), "log": "off"})
    for batch in read_frames(wire):
        for msg in batch:
            assert analysis.handle(msg)
    assert analysis.internal_errors == 0
    analysis.finish(summary=False)
    return _lines(path)


async def test_worker_reports_what_the_proxy_reports(tmp_path):
    """One pipeline: the same flows give the same report, byte for byte, inline and through the worker."""
    flows = mixed_flows()
    worker = await _worker_report(tmp_path, flows)  # leaves the flows untouched (asserted there)
    inline = await _inline_text(tmp_path, flows)
    assert inline == (tmp_path / "worker.jsonl").read_bytes()
    verdicts = [d for d in worker if d.get("record") != "finding"]
    assert len(verdicts) == len(flows) + 1  # + the preflight's update once paired
    assert any(d.get("cors_fix") for d in worker), "blocked flows carry their fix in the worker's report too"
    assert sum(d["verdict"] == "blocked" for d in worker) >= 4


async def test_records_cross_the_pipe_and_rebuild_the_flow_as_the_engine_sees_it():
    for f in mixed_flows():
        ex = exchange_of_record(marshal.loads(marshal.dumps(record_of(f, capture(f)))))
        assert ex == exchange_of(f)
        assert (ex.id, ex.request.method, ex.request.url) == (f.id, f.request.method, _saveable(f.request.url))
        assert ex.request.headers.fields == tuple((k.decode("latin-1"), v.decode("latin-1"))
                                                  for k, v in f.request.headers.fields)
        assert ex.request.timestamp == f.request.timestamp_start and ex.request.client == "127.0.0.1"
        if f.response is not None:
            assert ex.response.status == f.response.status_code
            assert ex.response.headers.fields == tuple((k.decode("latin-1"), v.decode("latin-1"))
                                                       for k, v in f.response.headers.fields)
        else:
            assert ex.response is None and ex.proxy_answered_error  # the refused connection: mitmproxy's 502
        assert ex.error == (f.error.msg if f.error else None)


async def test_error_after_response_is_handed_over_once():
    f = mixed_flows()[9]
    assert f.response is not None and f.error is not None
    observer, recorder = CorsObserver(), Recorder()
    with taddons.context(observer) as tctx:
        observer.worker = recorder
        await tctx.cycle(observer, f)  # requestheaders ... response, then error
    assert [m[0] for m in recorder.messages] == ["flow"]


def _as_mitmproxy_fires(observer, f) -> None:
    """The hooks a live flow gets from mitmproxy's HTTP layer: `response` only for a response read to
    its end; a response cut off mid-body gets `error` instead (never both)."""
    resp, err = f.response, f.error
    f.response = f.error = None
    observer.requestheaders(f)
    f.response = resp
    if resp is not None and err is None:
        observer.response(f)
    if err is not None:
        f.error = err
        observer.error(f)


async def test_without_request_changing_options_the_request_is_taken_in_response(tmp_path):
    """Nothing changes requests: one hook per flow, and the same records as with the early capture."""
    from mitmproxy.addons.modifyheaders import ModifyHeaders

    early, late = Recorder(), Recorder()
    fixer, observer = CorsFixer(), CorsObserver()
    with taddons.context(fixer, observer, ModifyHeaders()) as tctx:
        tctx.configure(observer)
        assert not observer.capture_early  # inline too: the flow's request is the browser's
        observer.worker = late
        tctx.configure(observer)
        assert not observer.capture_early
        flows = mixed_flows()
        for f in flows:
            _as_mitmproxy_fires(observer, f)
        tctx.configure(observer, modify_headers=["/~q/X-Added/1"])  # changes requests: capture early again
        assert observer.capture_early
        observer.worker = early
        for f in mixed_flows():
            _as_mitmproxy_fires(observer, f)
    assert len(late.messages) == len(early.messages) == len(flows)
    assert [m[1][1] for m in late.messages] == [tuple(capture(f)) for f in flows]
    assert len({m[1][0] for m in late.messages}) == len(flows)  # each flow once, the cut-off one included
    assert [m[1][2:] for m in late.messages] == [m[1][2:] for m in early.messages]


async def test_a_loaded_flow_with_response_and_error_is_handed_over_once_without_early_capture():
    f = mixed_flows()[9]
    f.live = False  # mitmdump -r: every hook fires, `response` and `error` both
    observer, recorder = CorsObserver(), Recorder()
    with taddons.context(observer) as tctx:
        observer.worker = recorder
        tctx.configure(observer)
        assert not observer.capture_early
        await tctx.cycle(observer, f)
    assert [m[0] for m in recorder.messages] == ["flow"]


def _never_reads() -> list[str]:
    return [sys.executable, "-c", "import time; time.sleep(60)"]


async def test_a_worker_that_falls_behind_costs_bounded_memory_and_is_counted():
    import asyncio
    w = AnalysisWorker(asyncio.get_running_loop(), _never_reads())
    try:
        big = ("flow", ("id", b"GET", "http://x/", ((b"x-pad", b"a" * 1_000_000),), 0.0, "", None,
                        None, None, None, None, False, None))
        for _ in range(200):  # 200 MB offered to a worker that reads nothing
            assert w.send(big)
            w._flush()
        assert len(w._out) <= MAX_BACKLOG
        assert w.dropped > 0
    finally:
        w.proc.kill()
        w.close({"summary": False}, timeout=5)


async def test_a_dead_worker_is_noticed_and_flows_are_judged_in_the_proxy(tmp_path, caplog):
    import asyncio
    path = tmp_path / "r.jsonl"
    observer = CorsObserver()
    with taddons.context(observer) as tctx:
        tctx.configure(observer, cors_report=str(path))
        observer.worker = AnalysisWorker(asyncio.get_running_loop(), [sys.executable, "-c", "pass"])
        observer.worker.proc.wait(10)
        deadline = time.monotonic() + 10
        while observer.worker is not None and time.monotonic() < deadline:
            f = cors_get(API + "/none", status=200)
            await tctx.cycle(observer, f)
            observer.worker is not None and observer.worker._flush()
        assert observer.worker is None
        f = cors_get(API + "/after", status=200)
        await tctx.cycle(observer, f)
        assert f.metadata["cors"]["reason"] == "MissingAllowOriginHeader"
        assert any("analysis worker stopped" in r.getMessage() for r in caplog.records)
        observer.done()
    assert _lines(path)[-1]["url"] == API + "/after"


@pytest.mark.parametrize("method,url,path", [
    ("GET", "http://b.test:8002/api?x=1", None), ("GET", "https://b.test:443/x", None),
    ("GET", "http://b.test:80/p%20q", None), ("OPTIONS", "http://b.test/", b"*"),
    ("CONNECT", "http://b.test:443/", None), ("connect", "http://b.test:443/", None),
    ("GET", "http://b.test/", b"/\xff\xfe?a=\xe9"), ("GET", "ftp://b.test:21/", None),
])
def test_captured_url_is_what_mitmproxy_shows(method, url, path):
    """The capture keeps the request line's parts; the URL is rebuilt later, exactly as `Request.url`."""
    f = make_flow(method, url)
    if path is not None:
        f.request.data.path = path
    if method.upper() == "CONNECT":
        f.request.authority = "b.test:443"
    expected = _saveable(f.request.url)
    c = capture(f)
    f.request.url = "http://changed.test/later"  # later addons do not reach the capture
    assert url_of(c) == expected


async def test_a_flow_after_a_quiet_spell_goes_out_at_once_and_bursts_are_batched():
    import asyncio
    from mitmproxy_cors.mitm.offload import FLUSH_DELAY
    w = AnalysisWorker(asyncio.get_running_loop(), _never_reads())
    try:
        msg = ("clear",)
        w.send(msg)
        assert w.sent == 1 and not w._batch, "written without waiting for the loop"
        for _ in range(5):
            w.send(msg)
        assert w.sent == 1 and len(w._batch) == 5, "a burst waits for one write"
        await asyncio.sleep(FLUSH_DELAY * 3)
        assert w.sent == 6 and not w._batch
    finally:
        w.proc.kill()
        w.close({"summary": False}, timeout=5)


async def test_the_summary_counts_every_update_even_of_flows_that_are_gone(tmp_path):
    """mitmdump drops a flow once its hooks ran; a later update of its verdict (a preflight, once its
    actual request is paired) still reaches the summary, as it reaches the report."""
    from mitmproxy_cors.mitm.analysis import Analysis
    from mitmproxy_cors.mitm.report import ReportWriter

    analysis = Analysis()
    analysis.report = ReportWriter(str(tmp_path / "r.jsonl"))
    for f in mixed_flows():
        analysis.handle(record_of(f, capture(f)))
    last = {d["flow_id"]: d for d in _lines(tmp_path / "r.jsonl")}
    cors = [d for d in last.values() if d["kind"] in ("preflight", "actual", "simple") or d["reason"]]
    counts = analysis.ledger.counts()
    assert counts["cors"] == len(cors)
    assert counts["blocked"] == sum(d["verdict"] == "blocked" for d in cors)
    flagged = [d for d in cors if (d["conditional"] or {}).get("evidence") and d["verdict"] != "blocked"]
    assert counts["conditional"] == len(flagged) > 0


async def test_cors_report_is_answered_by_a_real_worker():
    from mitmproxy_cors.mitm.offload import worker_command

    w = AnalysisWorker(asyncio.get_running_loop(), worker_command())
    try:
        for f in mixed_flows():
            w.send(("flow", record_of(f, capture(f))))
        lines = w.ask(("report",), timeout=20)
        assert lines and lines[0].startswith("cors.report: ") and "blocked of" in lines[0]
    finally:
        assert w.close({"summary": False}) == 0


async def test_the_console_path_annotates_flows_from_a_real_worker_as_inline_does():
    """The console and mitmweb: flows go to the worker, its decisions come back and annotate them.
    Comment, marker, metadata and the whole line the content view renders equal what judging in the
    proxy gives, updates of earlier flows (a preflight once paired) included."""
    from mitmproxy_cors.mitm.offload import worker_command

    inline_flows, worker_flows = mixed_flows(), mixed_flows()
    fixer, observer = CorsFixer(), CorsObserver()
    with taddons.context(fixer, observer) as tctx:
        tctx.configure(observer)
        for f in inline_flows:
            await tctx.cycle(fixer, f)
            await tctx.cycle(observer, f)
        inline = [(f.comment, f.marked, f.metadata.get("cors"), observer.flows.line_of(f)) for f in inline_flows]

    fixer, observer = CorsFixer(), CorsObserver()
    with taddons.context(fixer, observer) as tctx:
        tctx.configure(observer)
        observer.worker = AnalysisWorker(asyncio.get_running_loop(), worker_command(), observer._annotate_from_worker)
        observer.annotating = True
        try:
            for f in worker_flows:
                await tctx.cycle(fixer, f)
                _as_mitmproxy_fires(observer, f)
            assert all("cors" not in f.metadata for f in worker_flows), "handed over, not judged in the proxy"
            deadline = time.monotonic() + 20
            pre = next(f for f in worker_flows if f.request.method == "OPTIONS")
            while time.monotonic() < deadline and not (
                    all("cors" in f.metadata for f in worker_flows) and pre.metadata["cors"]["paired_flow_id"]):
                await asyncio.sleep(0.05)
            got = [(f.comment, f.marked, f.metadata.get("cors"), observer.flows.line_of(f)) for f in worker_flows]
        finally:
            assert observer.worker.close({"summary": False}) == 0

    def same(rows, flows):  # flow ids (and creation times) differ between the two sets of flows
        text = json.dumps(rows, default=str, sort_keys=True)
        for i, f in enumerate(flows):
            text = text.replace(f.id, f"flow{i}").replace(f.id[:8], f"flow{i}")
        return [[{k: v for k, v in (x or {}).items() if k != "time"} if isinstance(x, dict) else x for x in row]
                for row in json.loads(text)]

    assert same(got, worker_flows) == same(inline, inline_flows)
    assert any(m == ":heavy_multiplication_x:" for _c, m, _meta, _line in got)


def test_the_event_log_gets_one_entry_per_frame_of_decisions(caplog):
    """Each log record costs mitmproxy an add_log hook through the whole addon chain: the lines of one
    frame of the worker's decisions go out as one entry (a frame holds one decision when a developer
    clicks through a page), updates and allowed flows get none (cors_log=blocked)."""
    import logging

    observer = CorsObserver()
    with taddons.context(observer) as tctx:
        tctx.configure(observer)

        def line(flow_id, verdict, reason):
            return (flow_id, {"method": "GET", "url": f"http://api.test/{flow_id}", "verdict": verdict,
                              "reason": reason, "warnings": [], "conditional": None, "kind": "simple",
                              "summary": f"CORS {verdict}: {reason}"}, (), False)

        frame_ = [line("a", "blocked", "MissingAllowOriginHeader"), line("b", "allowed", None),
                  line("c", "blocked", "WildcardOriginNotAllowed")]
        with caplog.at_level(logging.INFO, logger="mitmproxy_cors"):
            observer._annotate_from_worker(frame_)
            observer._annotate_from_worker([line("d", "blocked", "MissingAllowOriginHeader")])
            observer._annotate_from_worker([line("e", "allowed", None)])
    ours = [r.getMessage() for r in caplog.records if r.name == "mitmproxy_cors"]
    assert ours == ["GET http://api.test/a CORS blocked: MissingAllowOriginHeader\n"
                    "GET http://api.test/c CORS blocked: WildcardOriginNotAllowed",
                    "GET http://api.test/d CORS blocked: MissingAllowOriginHeader"]


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name


@pytest.mark.parametrize("front_end, options, mode, expected", [
    ("view", {}, "auto", "annotate"),  # the console, mitmweb: decisions come back to the flows
    ("view", {"save_stream_file": "/tmp/x.mitm"}, "auto", None),  # -w writes flows in `response`
    ("view", {}, "inline", None),
    ("view", {}, "worker", "annotate"),
    ("dumper", {}, "auto", "plain"),  # mitmdump, nothing reads the flows
    ("dumper", {"flow_detail": 3, "dumper_default_contentview": "cors"}, "auto", None),
    ("dumper", {"dumper_filter": "~comment CORS"}, "auto", None),
    ("dumper", {"dumper_filter": "~comment CORS"}, "worker", "annotate"),
    ("dumper", {}, "worker", "plain"),
    (None, {}, "auto", None),  # a tool embedding mitmproxy: judge where its addons can read the verdicts
])
async def test_where_flows_are_judged(front_end, options, mode, expected):
    from mitmproxy.addons import dumper, save

    extra = [_Named("view")] if front_end == "view" else []
    observer = CorsObserver()
    with taddons.context(observer, dumper.Dumper(), save.Save(), *extra) as tctx:
        if front_end != "dumper":  # Dumper is there for its options only
            tctx.master.addons.remove(tctx.master.addons.get("dumper"))
        tctx.configure(observer, cors_analysis=mode, **options)
        assert observer._worker_mode() == expected


async def test_stories_for_the_html_report_are_kept_only_where_one_can_be_asked_for(tmp_path):
    """mitmdump without cors_html keeps no stories (a blocked flow's requirement costs the worker
    some 30 us); with cors_html, or in the console and mitmweb (cors.html), it does."""
    from mitmproxy.addons import dumper

    from mitmproxy_cors.mitm.gate import CorsGate

    observer = CorsObserver()
    gate = CorsGate(observer.analysis)
    with taddons.context(observer, gate, dumper.Dumper()) as tctx:
        tctx.configure(observer, cors_html="")
        assert observer.analysis.keep_stories is False and observer._worker_config()["stories"] is False
        tctx.configure(observer, cors_html=str(tmp_path / "r.html"))
        assert observer.analysis.keep_stories is True and observer._worker_config()["stories"] is True
    observer = CorsObserver()
    with taddons.context(observer, _Named("view")) as tctx:
        tctx.configure(observer, cors_analysis="auto")
        assert observer.analysis.keep_stories is True
