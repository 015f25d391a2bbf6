# Shared set-up for scripts/demo.sh and scripts/test.sh: Debian's Chromium and a virtualenv.
# Knobs (environment): PYTHON (interpreter for the venv, default python3), VENV (default .venv),
# MITMPROXY_SPEC (pip requirement for mitmproxy, default: what pyproject allows).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"

# Debian packages the tests drive: chromium (browser tests), tmux (console tests), nginx (the
# printed nginx configuration is run for real), WebKitGTK with its WebDriver, PyGObject and Xvfb
# (tests/e2e/test_webkit.py). Installed when missing and we are root.
ensure_debian_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    case "$pkg" in
      chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
      webkit2gtk-driver) command -v WebKitWebDriver >/dev/null 2>&1 || missing+=("$pkg") ;;
      xvfb) command -v Xvfb >/dev/null 2>&1 || missing+=("$pkg") ;;
      gir1.2-*|python3-*) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
      *) command -v "$pkg" >/dev/null 2>&1 || [ -x "/usr/sbin/$pkg" ] || missing+=("$pkg") ;;
    esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "Missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    return 1
  fi
  echo "Installing Debian packages: ${missing[*]} ..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_venv() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    # A fresh Debian's python3 has no venv module until python3-venv is installed.
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
      ensure_debian_packages python3-venv
    fi
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  if [ -n "${MITMPROXY_SPEC:-}" ]; then
    "$VENV/bin/python" -m pip install -q "$MITMPROXY_SPEC"
  fi
  "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
}
