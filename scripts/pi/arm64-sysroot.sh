#!/usr/bin/env bash
# An arm64 Debian 12 root with Python 3.11 and the gate's compiled dependencies, for running the
# pure decision path under qemu-user on an x86 machine (tests/gate_agent/test_aarch64.py):
#
#   sudo apt-get install qemu-user-static
#   scripts/pi/arm64-sysroot.sh /tmp/arm64root
#   ENCORE_ARM64_ROOT=/tmp/arm64root python -m pytest tests/gate_agent/test_aarch64.py
#
# apt runs with its own state directory (under the root's parent, ".apt-arm64"), so the host's
# apt configuration and package lists are left alone; the packages are unpacked, not installed.
set -euo pipefail
ROOT="${1:?usage: arm64-sysroot.sh DIR}"
STATE="$(dirname "$ROOT")/.apt-arm64"
mkdir -p "$ROOT" "$STATE"/{lists/partial,cache/archives/partial,parts,debs}
touch "$STATE/status"
cp /etc/apt/sources.list.d/*.sources "$STATE/parts/" 2>/dev/null || true
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$STATE/parts/host.list"
OPTS=(-o "Dir::State::Lists=$STATE/lists" -o "Dir::Cache=$STATE/cache" -o "Dir::State::status=$STATE/status"
      -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$STATE/parts"
      -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
apt-get "${OPTS[@]}" update -qq
WANT=(python3.11 python3-cryptography python3-cbor2 python3-stdnum)
mapfile -t PKGS < <(apt-cache "${OPTS[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "${WANT[@]}" | grep -v '^ ' | grep -v '<' | sort -u \
    | grep -v -E '^(perl|perl-base|perl-modules-.*|libperl.*|dpkg|install-info)$')
(cd "$STATE/debs" && apt-get "${OPTS[@]}" download -qq "${PKGS[@]}")
for deb in "$STATE"/debs/*.deb; do dpkg-deb -x "$deb" "$ROOT"; done
echo "arm64 root ready: $ROOT (${#PKGS[@]} packages); python: $ROOT/usr/bin/python3.11"
