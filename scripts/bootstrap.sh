#!/usr/bin/env bash
# Installs everything Encore needs on a fresh Debian machine, idempotently:
# Debian packages through apt-get, then a virtual environment at .venv with the
# project and all its extras. Fast when nothing changed (a stamp file records
# the hash of pyproject.toml and of this script). The editable install is in
# "compat" mode (a path entry for the checkout), so packages added later import
# without reinstalling.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libzbar0 chromium chromium-driver fonts-noto-cjk poppler-utils)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.encore-installed
want="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "bootstrap: installing Python packages into .venv"
    log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install --upgrade pip &&
           .venv/bin/python -m pip install --config-settings editable_mode=compat -e ".[gate,server,dev]"; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "bootstrap: pip install failed (full log: $log)" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
