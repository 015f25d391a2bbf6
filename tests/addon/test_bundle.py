"""cors_addon.py installs one object (mitm/bundle.py) holding the five addons: every hook of every part
still runs, in the parts' order, isolated from the others' errors, and follows the parts' hooks as
options turn them on and off."""

from __future__ import annotations

import logging

import pytest
from mitmproxy import hooks
from mitmproxy.test import taddons

from mitmproxy_cors.mitm import make_addons
from mitmproxy_cors.mitm.bundle import FLOW_HOOKS, LIFECYCLE_HOOKS, CorsAddon

from .flows import API, cors_get


def test_every_hook_of_every_part_is_forwarded():
    bundle = make_addons()[0]
    for p in bundle.parts:
        for name in hooks.all_hooks:
            if callable(getattr(type(p), name, None)) or callable(p.__dict__.get(name)):
                assert name in FLOW_HOOKS + LIFECYCLE_HOOKS, f"{type(p).__name__}.{name} is not forwarded"


async def test_flow_hooks_follow_the_parts_as_options_change():
    bundle = make_addons()[0]
    fixer, observer = bundle.part("cors_fixer"), bundle.part("cors")
    with taddons.context(bundle) as tctx:
        tctx.configure(bundle)
        bundle.running()
        assert bundle.requestheaders == observer.requestheaders  # one part: its own method, no wrapper
        assert "request" not in vars(bundle)
        tctx.configure(bundle, cors_fix="~all")
        f = cors_get(API + "/x", status=200)
        await tctx.cycle(bundle, f)
        # the fixer patched in response before the observer judged the patched headers
        assert f.metadata["cors"]["verdict"] == "allowed"
        assert f.metadata["cors_patch"]
        assert fixer.patched == 1
        tctx.configure(bundle, cors_fix="")


async def test_an_error_in_one_part_does_not_stop_the_next(caplog):
    calls = []

    class Broken:
        name = "broken"

        def response(self, f):
            calls.append("broken")
            raise RuntimeError("boom")

        def configure(self, updated):
            raise RuntimeError("bad configure")

    class Fine:
        name = "fine"

        def response(self, f):
            calls.append("fine")

        def configure(self, updated):
            calls.append("configure")

    bundle = CorsAddon([Broken(), Fine()])
    caplog.set_level(logging.ERROR, "mitmproxy_cors")
    bundle.configure(set())
    bundle.response(cors_get(API + "/x"))
    assert calls == ["configure", "broken", "fine"]
    assert "bad configure" in caplog.text and "boom" in caplog.text


def test_options_errors_reach_mitmproxy():
    from mitmproxy import exceptions

    class Strict:
        def configure(self, updated):
            raise exceptions.OptionsError("no")

    with pytest.raises(exceptions.OptionsError):
        CorsAddon([Strict()]).configure(set())
