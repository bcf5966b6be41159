"""``gate-agent devices``: input devices present on this machine and the profile matching each."""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gate_agent.profiles import Profile, all_profiles


def _match_usb(profiles: list[Profile], transport: str, vendor: int | None, product: int | None,
               name: str, path: str) -> str | None:  # fmt: skip
    for profile in profiles:
        if profile.transport != transport:
            continue
        if profile.usb_vendor is not None:
            if vendor != profile.usb_vendor or (profile.usb_products and product not in profile.usb_products):
                continue
            return profile.name
        if profile.name_pattern and fnmatch.fnmatch(name, profile.name_pattern):
            return profile.name
        if profile.port_pattern and fnmatch.fnmatch(path, profile.port_pattern):
            return profile.name
    return None


def list_devices(profile_dirs: tuple[Path, ...] = ()) -> Iterator[dict[str, Any]]:
    profiles = all_profiles(profile_dirs)
    try:
        from evdev import InputDevice, ecodes
        from evdev import list_devices as evdev_devices

        for path in evdev_devices():
            try:
                device = InputDevice(path)
            except OSError:
                continue
            try:
                if ecodes.EV_KEY not in device.capabilities():
                    continue
                info = device.info
                yield {
                    "kind": "hid", "path": path, "name": device.name,
                    "usb_vendor": f"{info.vendor:04x}", "usb_product": f"{info.product:04x}",
                    "profile": _match_usb(profiles, "hid", info.vendor, info.product, device.name, path),
                }  # fmt: skip
            finally:
                device.close()
    except ImportError:
        pass
    from serial.tools import list_ports

    for port in list_ports.comports():
        yield {
            "kind": "serial", "path": port.device, "name": port.description,
            "usb_vendor": None if port.vid is None else f"{port.vid:04x}",
            "usb_product": None if port.pid is None else f"{port.pid:04x}",
            "profile": _match_usb(
                profiles, "serial", port.vid, port.pid, port.description or "", port.device
            ),
        }  # fmt: skip
    for path in sorted(glob.glob("/dev/video*")):
        name_file = Path("/sys/class/video4linux") / os.path.basename(path) / "name"
        name = name_file.read_text().strip() if name_file.exists() else ""
        yield {"kind": "camera", "path": path, "name": name,
               "profile": _match_usb(profiles, "camera", None, None, name, path)}  # fmt: skip
