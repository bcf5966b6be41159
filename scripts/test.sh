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
# -rs lists every skipped test with its reason; under CI=true (or 1) tests/conftest.py turns a
# skip into a failure, so nothing that CI should run can be skipped silently.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
python -m pytest -q -rs -p no:cacheprovider "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary="$(grep -E '^=* ?[0-9]+ (passed|failed|skipped|error|errors|deselected)' "$log" | tail -1 || true)"
skipped="$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || echo 0)"
echo "== skipped tests: ${skipped}"
# pytest's own closing line comes last again, for whatever reads the end of this output.
[ -n "$summary" ] && echo "$summary"
exit "$status"
