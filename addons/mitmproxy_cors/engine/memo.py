"""The engine's one way to remember results: `memoized`.

A server answers the same way on every response and a browser sends the same few header values
on every request, so the engine remembers what it computes from them in bounded LRU tables
(`functools.lru_cache`). Every table follows the same rules:

* a remembered result is handed to every caller that asks again, so it is immutable: a str, a
  bool, a tuple, a frozenset or a frozen value object (`Failure`, `Outcome`, `Origin`);
* a table holds at most one result computed from arguments that hold more than `max_key_chars`
  characters (see `key_chars`): a hostile client or server must not park 100 kB header values in
  memory.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, update_wrapper
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

MAXSIZE = 1024  # results per table: far more than the distinct values a site's traffic holds
MAX_KEY_CHARS = 1024  # characters per call: a table keeps at most one result of longer arguments


def key_chars(value: Any) -> int:
    """How many characters an argument holds: a str (or bytes) its length; a tuple or frozenset the sum
    over its items; a value object that counts its own characters (`Failure.chars`) that count;
    anything else (None, a bool, a number) none."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (tuple, frozenset)):
        return sum(map(key_chars, value))
    return getattr(value, "chars", 0)


def memoized(maxsize: int = MAXSIZE, max_key_chars: int = MAX_KEY_CHARS) -> Callable[[F], F]:
    """Remember up to `maxsize` results of a pure function of hashable positional arguments, the
    least recently used leaving first; at most one result of arguments that hold more than
    `max_key_chars` characters is kept. `cache_info()` and `cache_clear()` as on `lru_cache`."""

    def decorate(fn: F) -> F:
        def compute(*args):
            value = fn(*args)
            if key_chars(args) > max_key_chars:
                # lru_cache stores whatever returns, and has no way to leave one result out: empty the
                # table instead, so that it holds this one over-long result at most (a hostile value
                # costs recomputing the short ones, never memory).
                cached.cache_clear()
            return value

        # Arguments are measured only when a result is computed, and a hit never leaves C: the table is
        # lru_cache's own wrapper, with no Python frame around it (this runs several times per flow).
        cached = lru_cache(maxsize=maxsize)(compute)
        update_wrapper(cached, fn)
        return cached  # type: ignore[return-value]

    return decorate
