#!/usr/bin/env bash
# Lay out one store device (see `store-edge install-device --help` and docs/operations.md).
# Runs the installed software's Python; STORE_EDGE_PYTHON names another (e.g. a checkout's .venv).
set -euo pipefail
exec "${STORE_EDGE_PYTHON:-/opt/store-edge/venv/bin/python}" -m sync.install "$@"
