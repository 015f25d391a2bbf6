"""cors_addon.py on the console's and mitmweb's path, measured through mitmdump: flows judged in the
analysis worker, whose decisions come back and annotate each flow (comment, marker, metadata) in
the proxy. mitmdump sends none back when nothing reads them; this script asks for them, as a View
would. The bench loads this script in place of cors_addon.py."""

import os
import runpy

from mitmproxy import ctx

_entry = runpy.run_path(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cors_addon.py"))


class _Annotating:
    def load(self, loader) -> None:
        ctx.options.update(cors_analysis="worker")  # our options exist: the addons before this one added them
        for addon in _entry["addons"]:
            if hasattr(addon, "force_annotations"):
                addon.force_annotations = True


addons = [*_entry["addons"], _Annotating()]
