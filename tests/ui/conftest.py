"""Fixtures for the front-end tests: the addons as `cors_addon.py` hands them to mitmproxy, with a View."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.addons import view as mview
from mitmproxy.test import taddons, tflow

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "addons") not in sys.path:
    sys.path.insert(0, str(REPO / "addons"))
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from mitmproxy_cors.mitm import make_addons  # noqa: E402

PAGE = "http://app.test"
API = "http://api.test:8000"
_clock = itertools.count(1000)


def make_flow(method: str, url: str, req_headers: dict | None = None, status: int | None = 200,
              resp_headers: dict | None = None, body: bytes = b"", client=None, err: str | None = None,
              ts: float | None = None) -> http.HTTPFlow:
    """One finished exchange; `status=None` with `err` gives a flow that ended in an error."""
    req = http.Request.make(method, url, b"", req_headers or {})
    req.timestamp_start = ts if ts is not None else float(next(_clock))
    resp = None
    if status is not None:
        resp = http.Response.make(status, body, resp_headers or {})
        resp.timestamp_start = req.timestamp_start + 0.1
    f = tflow.tflow(client_conn=client or tflow.tclient_conn(), req=req, resp=resp or False)
    if err:
        from mitmproxy import flow as mflow
        f.error = mflow.Error(err)
    return f


def preflight(path: str = "/p", acrm: str = "PUT", acrh: str | None = None, status: int = 204,
              resp: dict | None = None, client=None, ts=None) -> http.HTTPFlow:
    h = {"Origin": PAGE, "Access-Control-Request-Method": acrm, "Sec-Fetch-Mode": "cors"}
    if acrh:
        h["Access-Control-Request-Headers"] = acrh
    return make_flow("OPTIONS", API + path, h, status, resp, client=client, ts=ts)


def cors_get(path: str = "/g", resp: dict | None = None, method: str = "GET", extra: dict | None = None,
             status: int = 200, body: bytes = b"ok", client=None, ts=None) -> http.HTTPFlow:
    h = {"Origin": PAGE, "Sec-Fetch-Mode": "cors", **(extra or {})}
    return make_flow(method, API + path, h, status, resp, body=body, client=client, ts=ts)


class Stack:
    """The addon list of cors_addon.py, by name, inside a taddons context with a View."""

    def __init__(self, tctx, addons, view):
        self.tctx, self.addons, self.view = tctx, addons, view
        self.by_name = {a.name: a for a in addons}
        self.observer = self.by_name["cors"]
        self.ledger = self.observer.analysis.ledger
        self.commands = self.by_name["cors-commands"]
        self.terminal = self.by_name["cors-terminal"]
        self.display = self.by_name["cors-display"]

    def feed(self, *flows: http.HTTPFlow) -> None:
        """What the proxy does for a finished flow: the hooks of every addon in order, then update."""
        for f in flows:
            for a in self.addons:
                hook = getattr(a, "error" if f.response is None else "response", None)
                if hook:
                    hook(f)
            for a in self.addons:
                if hasattr(a, "update"):
                    a.update([f])
            self.view.add([f])

    def run(self, cmd: str):
        return self.tctx.master.commands.execute(cmd)


@pytest.fixture
async def stack():
    addons = make_addons()
    view = mview.View()
    with taddons.context(*addons, view) as tctx:
        tctx.configure(addons[0])  # configure() with no changes: options at their defaults
        for a in addons:
            if hasattr(a, "configure"):
                a.configure(set(tctx.options.keys()))
        s = Stack(tctx, addons, view)
        try:
            yield s
        finally:
            s.display.done()
            s.terminal.done()
            s.observer.done()
