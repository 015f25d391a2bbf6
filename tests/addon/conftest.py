"""One taddons context per test, inside the test's running loop (tests/addon/README.md: on 12.x a sync
test's context closes its own loop, so every test here is async and gets exactly one context)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from mitmproxy import http
from mitmproxy.test import taddons

from mitmproxy_cors.mitm.observer import CorsObserver


@dataclass
class Harness:
    tctx: taddons.context
    observer: CorsObserver

    async def run(self, f: http.HTTPFlow) -> dict | None:
        """All hooks of one flow, as mitmproxy fires them; returns the flow's whole report line as the
        view and cors.explain render it (the flow itself carries a digest of it), None if none."""
        await self.tctx.cycle(self.observer, f)
        if f.metadata.get("cors") is None:
            return None
        return self.observer.flows.line_of(f)


@pytest.fixture
async def cors():
    observer = CorsObserver()
    with taddons.context(observer) as tctx:
        tctx.configure(observer)
        yield Harness(tctx, observer)
