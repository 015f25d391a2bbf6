# Shared set-up for scripts/demo.sh and scripts/test.sh: Debian's Chromium and a virtualenv.
# Knobs (environment): PYTHON (interpreter for the venv, default python3), VENV (default .venv),
# MITMPROXY_SPEC (pip requirement for mitmproxy, default: what pyproject allows).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "Debian's chromium is missing: run 'sudo apt-get install -y chromium' (needed for the browser tests and the demo)." >&2
    return 1
  fi
  echo "Installing Debian's chromium ..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

ensure_venv() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  if [ -n "${MITMPROXY_SPEC:-}" ]; then
    "$VENV/bin/python" -m pip install -q "$MITMPROXY_SPEC"
  fi
  "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
}
