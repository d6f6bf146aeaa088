#!/usr/bin/env bash
# Sourced by ./run-demo and ./run-tests: system packages (apt, as root), then a venv with the project.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT_PACKAGES="mosquitto mosquitto-clients libzbar0 xvfb libmtdev1 systemd cage faketime chromium"

missing_apt() {
  local p missing=()
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

missing="$(missing_apt)"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing system packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "bootstrap: missing system packages: $missing" >&2
    echo "bootstrap: run this once as root, then try again:" >&2
    echo "  sudo apt-get install -y --no-install-recommends $APT_PACKAGES" >&2
    exit 1
  fi
fi

VENV="$ROOT/.venv"
STAMP="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "bootstrap: preparing $VENV"
  python3 -m venv "$VENV"
  if ! { "$VENV/bin/pip" install -q --upgrade pip && "$VENV/bin/pip" install -q -e "$ROOT[test]"; } \
      >"$VENV/pip.log" 2>&1; then
    cat "$VENV/pip.log" >&2
    echo "bootstrap: pip install failed (log above, also in $VENV/pip.log)" >&2
    exit 1
  fi
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
