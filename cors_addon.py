"""Entry point for `mitmproxy -s cors_addon.py` (also mitmdump and mitmweb).

The code lives in addons/mitmproxy_cors; this file only puts that folder on sys.path (so a
checkout works without installing) and hands mitmproxy the addons.
"""

import os
import sys

_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "addons")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

# mitmproxy re-executes only this file on hot reload: drop our modules so edits to them apply too.
for _name in [m for m in sys.modules if m == "mitmproxy_cors" or m.startswith("mitmproxy_cors.")]:
    del sys.modules[_name]

from mitmproxy_cors.mitm import make_addons  # noqa: E402

addons = make_addons()
