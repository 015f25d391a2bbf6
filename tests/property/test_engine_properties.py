"""Tracker.observe never raises, whatever crosses the wire, and its state stays bounded.

Sequences of exchanges through one Tracker, so preflight pairing, the preflight cache, redirect
hops and 304 revalidation meet hostile data too (strategies.py).
"""

from __future__ import annotations

import json
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis.configuration import set_hypothesis_home_dir

from mitmproxy_cors.engine.tracker import Tracker
import marshal

from mitmproxy_cors.engine.verdict import fix_steps, verdict_from_plain, verdict_to_plain

from .strategies import exchange_batches

set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-cors-property-"))

FAST = settings(deadline=None, database=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(exchange_batches(max_size=8))
def test_observe_never_raises_and_verdicts_are_plain_data(batch):
    tracker = Tracker(capacity=4, pair_window=30.0)
    for ex in batch:
        observed = tracker.observe(ex)
        for v, judged in [(observed.verdict, ex), *zip(observed.updated, observed.completed)]:
            assert v.verdict in ("allowed", "blocked")
            assert v.kind in ("preflight", "actual", "simple", "no-cors", "same-origin", "not-cors")
            assert isinstance(v.summary(), str)
            json.dumps(v.to_dict(), ensure_ascii=True, allow_nan=True)
            # What the analysis worker sends back to the console and mitmweb: the same verdict again.
            # (repr: a hostile request's time may be NaN, which equals nothing)
            assert repr(verdict_from_plain(marshal.loads(marshal.dumps(verdict_to_plain(v))))) == repr(v)
            # The proxy's own 502 (no server reached): the fix is the connection, never a header.
            proxy_502 = judged.response is None and judged.proxy_answered_error
            assert v.fix == (() if proxy_502 else fix_steps(v.failures))
            for failure in v.failures:  # a check changes each header once (fix_steps relies on it)
                keys = [(s.response, s.action, (s.header or "").lower()) for s in failure.steps]
                assert len(keys) == len(set(keys))
                assert hash(failure) == hash(type(failure)(failure.reason, failure.parameter, failure.steps))
        assert observed.verdict.flow_id == ex.id
    assert all(n <= 4 for n in tracker.state_size().values())


@settings(FAST, max_examples=40)
@given(exchange_batches(min_size=6, max_size=14))
def test_state_stays_bounded_under_a_long_hostile_stream(batch):
    tracker = Tracker(capacity=3, pair_window=5.0)
    for ex in batch * 3:
        tracker.observe(ex)
        assert all(n <= 3 for n in tracker.state_size().values())
