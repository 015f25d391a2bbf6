"""The browser's CORS-preflight cache, as Chromium keeps it (`network::cors::PreflightCache`,
services/network/cors/preflight_cache.cc; https://fetch.spec.whatwg.org/#cors-preflight-cache).

One entry per (partition, origin, URL): a new preflight replaces it, a lookup that fails erases
it, it lives Access-Control-Max-Age seconds (5 without the header, capped at 7200). The proxy
approximates Chromium's network partition by the client address. Bounded: at most `capacity`
entries, the oldest leave first, expired ones leave when met.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from .preflight_check import PreflightResult

URL_LENGTH_LIMIT = 1024  # Chromium does not cache preflights for longer URLs


@dataclass(slots=True)
class CacheEntry:
    result: PreflightResult
    expires: float
    preflight_flow_id: str
    created: float


class PreflightCache:
    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str, str], CacheEntry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def store(self, key: tuple[str, str, str], entry: CacheEntry) -> None:
        if len(key[2]) >= URL_LENGTH_LIMIT or entry.result.max_age <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def get(self, key: tuple[str, str, str], now: float) -> CacheEntry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires <= now:
            del self._entries[key]
            return None
        return entry

    def erase(self, key: tuple[str, str, str]) -> None:
        self._entries.pop(key, None)

    def lookup(self, key, now: float, method: str, unsafe: Sequence[str],
               include: bool) -> tuple[CacheEntry | None, str]:
        """`CheckIfRequestCanSkipPreflight`: (entry, "hit"|"miss"|"expired"|"insufficient")."""
        entry = self._entries.get(key)
        if entry is None:
            return None, "miss"
        if entry.expires <= now:
            del self._entries[key]
            return entry, "expired"
        if not entry.result.allows(method, unsafe, include):
            del self._entries[key]
            return entry, "insufficient"
        return entry, "hit"

    def clear(self) -> None:
        self._entries.clear()
