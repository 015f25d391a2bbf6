"""Thin mitmproxy adapters around the engine."""


def make_addons() -> list:
    from .commands import CorsCommands
    from .ledger import Ledger
    from .observer import CorsObserver
    from .terminal import CorsTerminal
    from .view import CorsDisplay

    # Order matters: the observer decides first; the ledger then reads what it stored.
    ledger = Ledger()
    return [CorsObserver(), ledger, CorsDisplay(), CorsCommands(ledger), CorsTerminal(ledger)]
