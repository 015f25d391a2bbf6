"""The one object cors_addon.py puts in mitmproxy's addon chain, holding our five addons.

mitmproxy offers every event of every flow to every object in its chain (eight events a flow:
requestheaders, request, responseheaders, response, each followed by update), whether the object
has that hook or not. Five objects cost mitmdump about 0.6% of its throughput more than one
(measured with bench/run.py's alternating comparison); so the parts stay separate, each a plain
mitmproxy addon with its own concern, and this object forwards to them:

- the lifecycle hooks (load, configure, running, done) to each part in order, each call isolated the
  way mitmproxy isolates addons (an error is logged and the next part still runs; OptionsError and
  AddonHalt go through);
- the flow hooks: after each lifecycle hook, each flow hook is set on this object as the one part's
  bound method when one part has it (no extra call), a function calling the parts in order when
  several do, and removed when none does (the fixer and the observer turn hooks on and off: after
  each lifecycle hook, and when a part calls its `hooks_changed`);
- the commands: each part's @command methods are attributes here too, so mitmproxy collects them.

Parts find each other with addon_chain.our_part(name).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from mitmproxy import exceptions

from .addon_chain import BUNDLE_NAME, FLOW_HOOKS

logger = logging.getLogger("mitmproxy_cors")

LIFECYCLE_HOOKS = ("load", "configure", "running", "done")


def _isolated(part: object, hook: str, fn: Callable, args: tuple) -> None:
    try:
        fn(*args)
    except (exceptions.AddonHalt, exceptions.OptionsError):
        raise
    except Exception as e:  # what mitmproxy's safecall does for an addon of its own
        logger.error("Addon error in %s.%s: %s", type(part).__name__, hook, e, exc_info=True)


def _in_turn(hook: str, calls: list[tuple[object, Callable]]) -> Callable:
    def run(f) -> None:
        for part, fn in calls:
            _isolated(part, hook, fn, (f,))
    return run


class CorsAddon:
    name = BUNDLE_NAME

    def __init__(self, parts: Sequence[object]) -> None:
        self.parts = list(parts)
        self._by_name = {getattr(p, "name", type(p).__name__.lower()): p for p in self.parts}
        for p in self.parts:
            for attr in dir(type(p)):
                fn = getattr(p, attr, None)
                name = getattr(fn, "command_name", None)
                if isinstance(name, str):
                    setattr(self, "command_" + name.replace(".", "_"), fn)
        for p in self.parts:  # a part that turns its own hooks on or off says so
            if hasattr(p, "hooks_changed"):
                p.hooks_changed = self._wire
        self._wire()

    def part(self, name: str) -> object | None:
        return self._by_name.get(name)

    def _each(self, hook: str, *args) -> None:
        for p in self.parts:
            fn = getattr(p, hook, None)
            if fn is not None:
                _isolated(p, hook, fn, args)

    def _wire(self) -> None:
        for hook in FLOW_HOOKS:
            calls = [(p, fn) for p in self.parts if callable(fn := getattr(p, hook, None))]
            if not calls:
                self.__dict__.pop(hook, None)
            elif len(calls) == 1:
                self.__dict__[hook] = calls[0][1]
            else:
                self.__dict__[hook] = _in_turn(hook, calls)

    def load(self, loader) -> None:
        self._each("load", loader)
        self._wire()

    def configure(self, updated: set[str]) -> None:
        try:
            self._each("configure", updated)
        finally:
            self._wire()

    def running(self) -> None:
        self._each("running")
        self._wire()

    def done(self) -> None:
        self._each("done")
