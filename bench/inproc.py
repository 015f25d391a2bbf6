"""Driving the addon in-process: the addons of `cors_addon.py` in a `taddons` master, hooks called
in the order mitmproxy calls them for a finished flow (requestheaders, request, responseheaders,
response; or error), directly, so that anything an addon raises reaches us instead of being
swallowed and logged by mitmproxy's addon manager (mitmproxy/eventsequence.py gives the order)."""

from __future__ import annotations

import contextlib
import logging

from mitmproxy import hooks
from mitmproxy.test import taddons


class ErrorCounter(logging.Handler):
    """Counts records our own loggers emit with a traceback (an addon caught its own exception)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.count += 1
            if len(self.first) < 3:
                self.first.append(self.format(record))


@contextlib.contextmanager
def cors_master():
    """A taddons master with the addons `cors_addon.py` installs, configured as at script load."""
    from mitmproxy_cors.mitm import make_addons

    addons = make_addons()
    counter = ErrorCounter()
    log = logging.getLogger("mitmproxy_cors")
    log.addHandler(counter)
    try:
        with taddons.context(*addons) as tctx:
            tctx.master.addons.trigger(hooks.ConfigureHook(set(tctx.options.keys())))
            tctx.master.addons.trigger(hooks.RunningHook())
            yield tctx, addons, counter
    finally:
        log.removeHandler(counter)


class HookTable:
    """Each addon's handler per hook name, looked up once."""

    NAMES = ("requestheaders", "request", "responseheaders", "response", "error")

    def __init__(self, addons: list) -> None:
        self.by_name = {n: [getattr(a, n) for a in addons if callable(getattr(a, n, None))] for n in self.NAMES}


def run_flow(table: HookTable, f, loaded: bool = False) -> None:
    """One finished flow as a live proxy delivers it: the request hooks see no response yet, and
    a flow with a response and an error was cut off mid-body (`response` never fires).
    `loaded=True`: as `mitmdump -r` replays a saved flow (eventsequence.iterate: every hook, the
    response already there from the start)."""
    h = table.by_name
    resp, err = f.response, f.error
    if not loaded:
        f.response = f.error = None
    for m in h["requestheaders"]:
        m(f)
    for m in h["request"]:
        m(f)
    if f.response is None:  # unless an addon answered in `request` (then mitmproxy keeps that answer)
        f.response = resp
    if f.response is not None:
        for m in h["responseheaders"]:
            m(f)
        if loaded or err is None:
            for m in h["response"]:
                m(f)
    if err is not None:
        f.error = err
        for m in h["error"]:
            m(f)


def as_in_mitmdump(addons: list, worker) -> None:
    """Shape the addons as a mitmdump with no other script runs them (cors_analysis=auto picks the
    analysis worker): `worker` stands in for its pipe, the fixer's response hooks have nothing to do
    (nothing else may patch) and the request is taken in `response` (no request-changing option)."""
    observer, fixer = by_name(addons, "cors"), by_name(addons, "cors_fixer")
    observer.worker = worker
    observer.analysis.offloaded = True
    fixer._others_may_patch = False
    fixer._watch()
    observer.capture_early = observer._capture_early()


def by_name(addons: list, name: str):
    return next(a for a in addons if getattr(a, "name", None) == name)


def observer_of(addons: list):
    return by_name(addons, "cors")


def rss_kib(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")
