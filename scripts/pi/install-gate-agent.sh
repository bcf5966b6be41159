#!/usr/bin/env bash
# Install the Encore gate agent on Raspberry Pi OS (Bookworm, arm64) or any Debian 12 arm64.
#
#   sudo scripts/pi/install-gate-agent.sh [--source DIR_OR_WHEEL] [--dry-run]
#
# Idempotent: run it again after an update. What it does (each step says so as it runs):
#   1. Debian packages: Python, zbar (QR decoding), OpenCV's runtime, libgpiod, chromium for a
#      kiosk display, fonts for Chinese verdicts.
#   2. A system user `gate-agent` in the groups input (HID scanners), dialout (serial), video
#      (cameras) and gpio (lights, turnstile).
#   3. /opt/encore/.venv with the agent (from this checkout, or a wheel given by --source),
#      installed with its `gate` extra; the device profiles travel inside the package.
#   4. udev rules (/etc/udev/rules.d/70-encore-scanners.rules): scanners' event devices and
#      serial ports owned by group input/dialout, with stable names /dev/encore-scanner-*.
#   5. The systemd unit (Type=notify, watchdog, hardened) and the state directory (0700).
# It does not enrol the device or set the staff PIN (that needs the venue's enrolment code):
#   sudo -u gate-agent /opt/encore/.venv/bin/gate-agent enrol https://sync.venue CODE \
#        --config /etc/gate-agent/gate.toml --staff-pin
# then: sudo systemctl enable --now gate-agent
set -euo pipefail

HERE="$(cd "$(dirname "$0")/../.." && pwd)"
SOURCE="$HERE"
DRY_RUN=0
while [ $# -gt 0 ]; do
    case "$1" in
        --source) SOURCE="$2"; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

PREFIX=/opt/encore
ETC=/etc/gate-agent
RULES=/etc/udev/rules.d/70-encore-scanners.rules
UNIT=/etc/systemd/system/gate-agent.service
PACKAGES=(python3 python3-venv python3-dev libzbar0 libgl1 libglib2.0-0 libgpiod2 python3-lgpio
          chromium fonts-noto-cjk sqlite3)

say() { printf 'gate-agent install: %s\n' "$*"; }
run() { if [ "$DRY_RUN" -eq 1 ]; then printf '  would run: %s\n' "$*"; else "$@"; fi; }

if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "run as root (sudo), or with --dry-run to see the steps" >&2
    exit 1
fi
arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
case "$arch" in
    arm64|aarch64) ;;
    *) say "note: this is $arch, not arm64; continuing (the agent itself is architecture-neutral)" ;;
esac

say "1/5 Debian packages: ${PACKAGES[*]}"
run apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"

say "2/5 system user gate-agent (groups input, dialout, video, gpio)"
for group in input dialout video gpio; do
    getent group "$group" >/dev/null || run groupadd --system "$group"
done
if ! id gate-agent >/dev/null 2>&1; then
    run useradd --system --home-dir /var/lib/gate-agent --no-create-home --shell /usr/sbin/nologin \
        --groups input,dialout,video,gpio gate-agent
else
    run usermod --append --groups input,dialout,video,gpio gate-agent
fi

say "3/5 the agent in $PREFIX/.venv (from $SOURCE)"
run install -d -m 0755 "$PREFIX"
[ -x "$PREFIX/.venv/bin/python" ] || run python3 -m venv "$PREFIX/.venv"
run "$PREFIX/.venv/bin/python" -m pip install --quiet --upgrade pip
run "$PREFIX/.venv/bin/python" -m pip install --quiet "$SOURCE[gate]"  # a checkout or a wheel

say "4/5 udev rules for scanners: $RULES"
RULES_TEXT='# Encore gate agent: scanners readable by the gate-agent user, with stable names.
# Keyboard-wedge (HID) scanners: the agent grabs the event device so keystrokes never reach
# the console or the kiosk browser. Add your model: udevadm info -a /dev/input/eventN.
SUBSYSTEM=="input", KERNEL=="event*", ATTRS{idVendor}=="0c2e", GROUP="input", MODE="0660", SYMLINK+="encore-scanner-honeywell-%n"
SUBSYSTEM=="input", KERNEL=="event*", ATTRS{idVendor}=="05e0", GROUP="input", MODE="0660", SYMLINK+="encore-scanner-zebra-%n"
SUBSYSTEM=="input", KERNEL=="event*", ATTRS{idVendor}=="05f9", GROUP="input", MODE="0660", SYMLINK+="encore-scanner-datalogic-%n"
# Serial (CDC-ACM, FTDI, PL2303) scanners and ID readers.
SUBSYSTEM=="tty", KERNEL=="ttyACM*|ttyUSB*", GROUP="dialout", MODE="0660", SYMLINK+="encore-serial-%k"
# GPIO for lights and the turnstile relay.
SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"'
if [ "$DRY_RUN" -eq 1 ]; then
    printf '  would write %s:\n%s\n' "$RULES" "$RULES_TEXT"
else
    printf '%s\n' "$RULES_TEXT" > "$RULES"
    udevadm control --reload-rules && udevadm trigger --subsystem-match=input --subsystem-match=tty || true
fi

say "5/5 systemd unit, config and state directories"
run install -d -m 0750 -o root -g gate-agent "$ETC"
run install -d -m 0700 -o gate-agent -g gate-agent /var/lib/gate-agent
run install -m 0644 "$HERE/systemd/gate-agent.service" "$UNIT"
run systemctl daemon-reload
say "done. Next: enrol (see the top of this script), then: systemctl enable --now gate-agent"
say "read-only root and other hardening: scripts/pi/README.md"
