#!/usr/bin/env bash
# All set-up, then the whole test suite (unit, addon, and end-to-end in real Chromium, Firefox and WebKitGTK).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_debian_packages chromium firefox-esr tmux nginx webkit2gtk-driver gir1.2-webkit2-4.1 python3-gi xvfb
ensure_venv test
cd "$ROOT"
echo "== $("$VENV/bin/python" --version), mitmproxy $("$VENV/bin/python" -c 'import mitmproxy.version as v; print(v.VERSION)')"
exec "$VENV/bin/python" -m pytest -q "$@"
