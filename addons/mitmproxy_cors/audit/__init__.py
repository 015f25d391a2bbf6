"""Is this CORS policy safe? The audit: findings from real traffic (passive.py) and from crafted
origins sent on request (crafted_origins.py, active.py), with a severity that follows how the
session really authenticates (engine/session_credentials.py). Pure, like engine/ and server/: no
mitmproxy, no I/O; mitm/audit.py sends the probes and shows the findings."""
