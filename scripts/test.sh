#!/usr/bin/env bash
# All set-up, then the whole test suite (unit, addon, and end-to-end in real Chromium and Firefox).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_debian_packages chromium firefox-esr tmux nginx
ensure_venv test
cd "$ROOT"
echo "== $("$VENV/bin/python" --version), mitmproxy $("$VENV/bin/python" -c 'import mitmproxy.version as v; print(v.VERSION)')"
exec "$VENV/bin/python" -m pytest -q "$@"
