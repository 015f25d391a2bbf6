"""bench/hollow_addons.py is the floor of the addon list's shape only while it has the shape: one
object per addon `cors_addon.py` installs, with the same flow hooks."""

import os
import runpy

from mitmproxy_cors.mitm import make_addons
from mitmproxy_cors.mitm.addon_chain import FLOW_HOOKS

HOLLOW = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "hollow_addons.py")


def _flow_hooks(addon) -> set[str]:
    return {h for h in FLOW_HOOKS if callable(getattr(addon, h, None))}


def test_hollow_list_has_the_addons_flow_hooks_and_does_nothing():
    hollow = runpy.run_path(HOLLOW)["addons"]
    real = make_addons()
    assert [_flow_hooks(a) for a in hollow] == [_flow_hooks(a) for a in real]
    assert any(_flow_hooks(a) for a in hollow)
    for a in hollow:
        for h in _flow_hooks(a):
            assert getattr(a, h)(object()) is None
