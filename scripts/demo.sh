#!/usr/bin/env bash
# All set-up, then the built-in demo: a page and an API on loopback, mitmdump with the addon, and
# headless Chromium driven through every scenario. `--serve` keeps it up for your own browser.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_debian_packages chromium || echo "(continuing without Chromium: use --serve and your own browser)" >&2
ensure_venv demo
cd "$ROOT"
exec "$VENV/bin/python" -m mitmproxy_cors.demo "$@"
