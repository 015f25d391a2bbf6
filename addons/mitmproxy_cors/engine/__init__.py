"""The pure CORS engine: request/response snapshots in, browser verdicts out. No mitmproxy, no I/O."""

from .model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from .tracker import Decision, Tracker
from .verdict import FixStep, Verdict

__all__ = ["Decision", "Exchange", "FixStep", "Headers", "RequestSnapshot", "ResponseSnapshot",
           "Tracker", "Verdict"]
