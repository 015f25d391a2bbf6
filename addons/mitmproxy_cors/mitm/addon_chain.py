"""What else runs in mitmproxy's addon chain: someone else's addons (scripts, or addons of a tool
embedding mitmproxy) with flow hooks may read our annotations or change responses, and that decides
where we judge flows and which of our hooks stay on."""

from __future__ import annotations

import types

from mitmproxy import ctx
from mitmproxy.addonmanager import traverse

FLOW_HOOKS = ("requestheaders", "request", "responseheaders", "response", "error", "update")


def foreign_addons_with(hook_names: tuple[str, ...]) -> bool:
    """Is there an addon that is neither mitmproxy's own nor ours with one of these hooks? True when
    it cannot be known (no master)."""
    try:
        chain = ctx.master.addons.chain
    except Exception:
        return True
    for a in traverse(chain):
        module = a.__name__ if isinstance(a, types.ModuleType) else type(a).__module__
        if module.startswith(("mitmproxy.", "mitmproxy_cors.")):
            continue
        if any(callable(getattr(a, h, None)) and not isinstance(getattr(a, h), types.ModuleType)
               for h in hook_names):
            return True
    return False


def flows_kept() -> bool:
    """Does anything keep the flows after their hooks ran, and so read their annotations: the
    console's and mitmweb's View, a saved stream (-w) or a HAR dump? True when it cannot be known."""
    try:
        options, addons = ctx.options, ctx.master.addons
    except Exception:
        return True
    if any(getattr(options, name, None) for name in ("save_stream_file", "hardump")):
        return True
    return addons.get("view") is not None


def any_addon_with(hook_name: str) -> bool:
    """Does any addon at all have this hook (the console's and mitmweb's View have `update`; a bare
    mitmdump has none)?"""
    for a in traverse(ctx.master.addons.chain):
        fn = getattr(a, hook_name, None)
        if fn is not None and callable(fn) and not isinstance(fn, types.ModuleType):
            return True
    return False
