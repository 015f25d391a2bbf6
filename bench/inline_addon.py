"""cors_addon.py judging every flow in the proxy process (cors_analysis=inline): the path the console
and mitmweb take, measured through mitmdump. The bench loads this script in place of cors_addon.py."""

import os
import runpy

from mitmproxy import ctx

_entry = runpy.run_path(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cors_addon.py"))


class _Inline:
    def load(self, loader) -> None:
        ctx.options.update(cors_analysis="inline")  # our options exist: the addons before this one added them


addons = [*_entry["addons"], _Inline()]
