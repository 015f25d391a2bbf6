"""The pure CORS engine: request/response snapshots in, browser verdicts out. No mitmproxy, no I/O."""

from .model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from .tracker import Observation, Tracker
from .verdict import FixStep, Verdict

__all__ = ["Exchange", "FixStep", "Headers", "Observation", "RequestSnapshot", "ResponseSnapshot",
           "Tracker", "Verdict"]
