"""The floor for cors_addon.py's shape: one hollow object per addon that `cors_addon.py` installs, each
with the same flow hooks (`addon_chain.FLOW_HOOKS`) doing nothing. What it costs is mitmproxy's own
price for visiting that many addons on every event and calling those hooks: no addon list of this
shape can go below it, whatever its hooks do."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "addons"))

from mitmproxy_cors.mitm import make_addons  # noqa: E402
from mitmproxy_cors.mitm.addon_chain import FLOW_HOOKS  # noqa: E402


def _nothing(self, f) -> None:
    pass


def _hollow(addon) -> object:
    hooks = {h: _nothing for h in FLOW_HOOKS if callable(getattr(addon, h, None))}
    return type("Hollow" + type(addon).__name__, (), hooks)()


addons = [_hollow(a) for a in make_addons()]
