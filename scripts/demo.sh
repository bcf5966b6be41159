#!/usr/bin/env bash
# Runs the product locally: installs what is missing, then `encore demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/encore demo "$@"
