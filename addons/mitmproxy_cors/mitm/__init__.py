"""Thin mitmproxy adapters around the engine."""


def make_addons() -> list:
    """What cors_addon.py gives mitmproxy: one object holding our addons (mitm/bundle.py says why)."""
    from .bundle import CorsAddon
    from .commands import CorsCommands
    from .fixer import CorsFixer
    from .ledger import Ledger
    from .observer import CorsObserver
    from .terminal import CorsTerminal
    from .view import CorsDisplay

    # Order matters: the fixer patches in responseheaders/response before the observer judges the
    # final headers in response. The ledger is shared, not an addon: the observer hands it each
    # verdict, and every object in the chain costs mitmproxy a lookup on every event of every flow.
    ledger = Ledger()
    return [CorsAddon([CorsFixer(), CorsObserver(ledger), CorsDisplay(), CorsCommands(ledger), CorsTerminal(ledger)])]
