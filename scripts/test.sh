#!/usr/bin/env bash
# The whole test suite: lint, format check, types, then every test.
# Installs what is missing first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source .venv/bin/activate
echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy ticket_format encore gate_agent wire sync_server box_office
echo "== pytest"
exec python -m pytest -q -p no:cacheprovider "$@"
