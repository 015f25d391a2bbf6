"""mitmproxy-cors: explains the browser's CORS verdict for every proxied flow.

`engine` is pure (no mitmproxy, no I/O); `mitm` holds the thin mitmproxy addons around it.
"""

__version__ = "0.1.0"
