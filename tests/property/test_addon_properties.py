"""The addons of cors_addon.py never raise, never drop a flow, and leave metadata that can be saved.

Real mitmproxy flows (strategies.flows: arbitrary bytes in every request and response field,
status codes 0-999, errors, missing responses) go through every addon `make_addons()` returns, in
a `taddons` master, hook by hook as mitmproxy calls them: live flows see no response in the
request hooks and a flow with both a response and an error was cut off (`response` never fires);
flows with `live=False` arrive as `mitmdump -r` replays them. The hooks are called directly, so
an exception reaches the test instead of being logged by mitmproxy's addon manager. Each test
keeps one taddons context for all its examples, inside the test's running loop (mitmproxy 12
closes the loop of a sync test's context; tests/addon/README.md, "Testing helpers").
"""

from __future__ import annotations

import io
import logging
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from mitmproxy import hooks, http
from mitmproxy import io as mio
from mitmproxy.io import tnetstring
from mitmproxy.test import taddons, tflow

from mitmproxy_cors.mitm import make_addons

from .strategies import ANY_METHODS, UTF8_METHODS, flow_batches

set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-cors-property-"))

FAST = settings(deadline=None, database=None, max_examples=120,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HOOKS = ("requestheaders", "request", "responseheaders", "response", "error")


class _Caught(logging.Handler):
    """Exceptions our addons caught themselves and logged with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


class Harness:
    def __init__(self, tctx, addons) -> None:
        self.tctx = tctx
        self.addons = addons
        self.observer = tctx.master.addons.get("cors")

    @property
    def hooks(self) -> dict:
        # looked up per flow: the fixer turns its hooks on and off as options change
        return {n: [getattr(a, n) for a in self.addons if callable(getattr(a, n, None))] for n in HOOKS}

    def run(self, f: http.HTTPFlow) -> None:
        h = self.hooks
        resp, err = f.response, f.error
        if f.live:
            f.response = f.error = None
        for m in h["requestheaders"] + h["request"]:
            m(f)
        if f.response is None:  # unless an addon answered in `request`
            f.response = resp
        if f.response is not None:
            for m in h["responseheaders"]:
                m(f)
            if not f.live or err is None:
                for m in h["response"]:
                    m(f)
        if err is not None:
            f.error = err
            for m in h["error"]:
                m(f)


@pytest.fixture
async def harness():
    caught = _Caught()
    log = logging.getLogger("mitmproxy_cors")
    log.addHandler(caught)
    addons = make_addons()
    try:
        with taddons.context(*addons) as tctx:
            tctx.master.addons.trigger(hooks.ConfigureHook(set(tctx.options.keys())))
            h = Harness(tctx, addons)
            h.caught = caught
            yield h
    finally:
        log.removeHandler(caught)


def _check_not_dropped(h: Harness, f: http.HTTPFlow, resp, err, patched_ok: bool = False) -> None:
    if patched_ok:
        assert (f.response is None) == (resp is None), "a response disappeared"
    else:
        assert f.response is resp, "the response was replaced or dropped"
    assert f.error is err, "the error was replaced or dropped"
    if resp is not None or err is not None:
        assert "cors" in f.metadata, "a finished flow got no verdict"
    assert h.observer.internal_errors == 0
    assert not h.caught.records, h.caught.records[0].getMessage()


async def test_hooks_never_raise_or_drop_a_flow(harness):
    @FAST
    @given(flow_batches(methods=ANY_METHODS, peers=st.sampled_from([("10.0.0.1", 50000), ("::1", 50002, 0, 0), None])))
    def check(batch):
        for f in batch:
            resp, err = f.response, f.error
            harness.run(f)
            _check_not_dropped(harness, f, resp, err)

    check()


async def test_hooks_never_raise_or_drop_a_flow_with_cors_fix_on_every_flow(harness):
    harness.tctx.configure(harness.addons[0], cors_fix="~all")

    @FAST
    @given(flow_batches(methods=ANY_METHODS))
    def check(batch):
        for f in batch:
            resp, err = f.response, f.error
            harness.run(f)
            # cors_fix may answer a failing preflight itself: a response, but not the server's
            _check_not_dropped(harness, f, resp, err, patched_ok=True)

    check()


async def test_metadata_survives_saving_and_loading_the_flow(harness):
    @FAST
    @given(flow_batches(methods=UTF8_METHODS, max_size=4))
    def check(batch):
        for f in batch:
            harness.run(f)
            tnetstring.dumps(f.metadata)
            buf = io.BytesIO()
            mio.FlowWriter(buf).add(f)
            buf.seek(0)
            (loaded,) = list(mio.FlowReader(buf).stream())
            assert loaded.metadata == f.metadata
            assert loaded.comment == f.comment and loaded.marked == f.marked

    check()


async def test_non_utf8_method_metadata_is_serializable(harness):
    # A method that is not UTF-8 must not reach flow.metadata as a surrogate-escaped str, which
    # tnetstring cannot encode (the flow could not be saved).
    req = http.Request.make("GET", "http://b.test:8002/api", b"", [(b"Origin", b"http://a.test:8001")])
    req.data.method = b"G\xffT"
    f = tflow.tflow(req=req, resp=http.Response.make(200, b"", [(b"Access-Control-Allow-Origin", b"*")]))
    harness.run(f)
    assert harness.observer.internal_errors == 0
    tnetstring.dumps(f.metadata)
