"""Results the engine remembers between flows (a server answers the same way every time) are shared
safely: verdicts are frozen values, failures compare by value, and nothing built from hostile values
stays in memory."""

from __future__ import annotations

import dataclasses
import gc
import weakref

import pytest

from mitmproxy_cors.engine.memo import MAX_KEY_CHARS
from mitmproxy_cors.engine.verdict import Failure, FixStep, fix_steps

from .test_every_cors_error import SCENARIOS
from .wire import API, PAGE, Wire, cors_request, response


def _wildcard(wire: Wire):
    """Allowed, but blocked if the page sends credentials (the conditional verdict)."""
    return wire.observe(cors_request("GET", API + "/x"), response(200, ("Access-Control-Allow-Origin", "*"),
                                                                  ("Vary", "Origin"))).verdict


def test_verdicts_are_frozen_and_equal_for_the_same_misconfiguration():
    wire = Wire()
    first, second = _wildcard(wire), _wildcard(wire)
    assert first.conditional == second.conditional  # with credentials: WildcardOriginNotAllowed
    assert first.conditional["reason"] == "WildcardOriginNotAllowed"
    assert first._replace(flow_id=second.flow_id, time=second.time) == second
    with pytest.raises(AttributeError):
        first.verdict = "blocked"  # type: ignore[misc]
    assert isinstance(first.fix, tuple) and isinstance(first.notes, tuple)


def test_a_verdicts_conditional_dict_is_its_own():
    wire = Wire()
    first, second = _wildcard(wire), _wildcard(wire)
    first.conditional["fix"].append("changed by a reader")
    first.conditional["reason"] = "changed"
    third = _wildcard(wire)
    assert third.conditional == second.conditional
    assert third.conditional["reason"] == "WildcardOriginNotAllowed"
    assert "changed by a reader" not in third.conditional["fix"]


def test_failures_compare_and_hash_by_value():
    steps = [FixStep("actual", "add", "Access-Control-Allow-Origin", PAGE)]
    a = Failure("MissingAllowOriginHeader", "", steps)
    b = Failure("MissingAllowOriginHeader", "", tuple(steps))
    assert a == b and hash(a) == hash(b) and a is not b
    assert a.steps == tuple(steps)
    assert a != Failure("MissingAllowOriginHeader", "x", steps)
    assert len({a, b}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.reason = "AllowOriginMismatch"  # type: ignore[misc]
    assert a.to_dict() == {"reason": "MissingAllowOriginHeader", "parameter": "",
                           "steps": [dataclasses.asdict(steps[0])]}


def test_the_same_misconfiguration_shares_one_failure():
    wire = Wire()
    first, second = (wire.observe(cors_request("GET", API + "/x"), response(404)).verdict for _ in range(2))
    assert first.reason == "MissingAllowOriginHeader"
    assert first.failures[0] is second.failures[0]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_failure_fixes_each_header_once(name):
    # fix_steps hands out a single failure's steps as they are: no check may repeat a change.
    v = SCENARIOS[name][0](Wire()).verdict
    for failure in v.failures:
        keys = [(s.response, s.action, (s.header or "").lower()) for s in failure.steps]
        assert len(keys) == len(set(keys))
    assert v.fix == fix_steps(v.failures)


def test_failures_built_from_hostile_values_are_not_kept_but_the_last():
    # Every preflight fails with its own 20 kB Access-Control-Allow-Headers in the fix: none of those
    # failures (nor what was derived from them) may stay in memory once their flows are gone, but for
    # the last one.
    wire = Wire()
    refs = []
    for i in range(200):
        d = wire.preflight(API + "/x", "PUT", f"x-custom-{i}", ("Access-Control-Allow-Origin", PAGE),
                           ("Access-Control-Allow-Methods", "PUT"),
                           ("Access-Control-Allow-Headers", f"y{i}-" + "y" * 20_000))
        assert d.verdict.reason == "HeaderDisallowedByPreflightResponse"
        assert d.verdict.failures[0].chars > MAX_KEY_CHARS
        refs += [weakref.ref(f) for f in d.verdict.failures]
    del d
    gc.collect()
    # A memo table keeps at most one result of an over-long argument (memo.py): the last flow's.
    alive = [i for i, r in enumerate(refs) if r() is not None]
    assert refs and alive in ([], [len(refs) - 1])
