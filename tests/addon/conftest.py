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
        """All hooks of one flow, as mitmproxy fires them; returns what the addon stored on the flow."""
        await self.tctx.cycle(self.observer, f)
        return f.metadata.get("cors")


@pytest.fixture
async def cors():
    observer = CorsObserver()
    with taddons.context(observer) as tctx:
        tctx.configure(observer)
        yield Harness(tctx, observer)
