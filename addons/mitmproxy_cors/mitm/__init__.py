"""Thin mitmproxy adapters around the engine."""


def make_addons() -> list:
    from .observer import CorsObserver

    return [CorsObserver()]
