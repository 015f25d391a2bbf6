"""Results the engine remembers between flows (a server answers the same way every time) are shared
safely: no verdict sees another's changes, and nothing derived outlives the flows it came from."""

from __future__ import annotations

import gc
import weakref

from mitmproxy_cors.engine.verdict import Failure, FixStep, derived

from .wire import API, PAGE, Wire, cors_request, response


def _blocked_simple(wire: Wire):
    return wire.observe(cors_request("GET", API + "/x"), response(200, ("Access-Control-Allow-Origin", "*"),
                                                                  ("Vary", "Origin"))).verdict


def test_the_same_misconfiguration_gives_equal_verdicts_that_do_not_share_lists():
    wire = Wire()
    first, second = _blocked_simple(wire), _blocked_simple(wire)
    assert first.conditional == second.conditional  # with credentials: WildcardOriginNotAllowed
    assert first.conditional["reason"] == "WildcardOriginNotAllowed"
    first.conditional["fix"].append("changed by a reader")
    first.conditional["reason"] = "changed"
    first.fix.clear()
    third = _blocked_simple(wire)
    assert third.conditional == second.conditional
    assert third.conditional["reason"] == "WildcardOriginNotAllowed"
    assert "changed by a reader" not in third.conditional["fix"]


def test_what_is_derived_from_a_failure_goes_with_it():
    f = Failure("MissingAllowOriginHeader", "", [FixStep("actual", "add", "Access-Control-Allow-Origin", PAGE)])
    assert derived(f, "steps", tuple, f.steps) == tuple(f.steps)
    ref = weakref.ref(f)
    del f
    gc.collect()
    assert ref() is None


def test_failures_built_from_hostile_values_are_not_kept():
    # Every preflight fails with its own 20 kB Access-Control-Allow-Headers in the fix: none of those
    # failures (nor what was derived from them) may stay in memory once their flows are gone.
    wire = Wire()
    refs = []
    for i in range(200):
        d = wire.preflight(API + "/x", "PUT", f"x-custom-{i}", ("Access-Control-Allow-Origin", PAGE),
                           ("Access-Control-Allow-Methods", "PUT"),
                           ("Access-Control-Allow-Headers", f"y{i}-" + "y" * 20_000))
        assert d.verdict.reason == "HeaderDisallowedByPreflightResponse"
        refs += [weakref.ref(f) for f in d.verdict.failures]
    del d
    gc.collect()
    assert refs and not [r for r in refs if r() is not None]
