"""Builds the device loop for each ``[[inputs]]`` entry from its profile (validated at start)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from gate_agent._toml import ConfigError
from gate_agent.config import InputConfig
from gate_agent.inputs import Emit, ScanEvent
from gate_agent.inputs.hid import HidInput
from gate_agent.inputs.idreader import IdParser, IdReadError
from gate_agent.inputs.serial_input import SerialInput
from gate_agent.profiles import Profile, find_profile, load_profile

log = logging.getLogger("gate_agent.inputs")


class InputLoop(Protocol):
    name: str
    connected: bool

    def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PreparedInput:
    config: InputConfig
    profile: Profile


def prepare(inputs: tuple[InputConfig, ...], profile_dirs: tuple[Path, ...] = ()) -> list[PreparedInput]:
    """Load and validate every input's profile now, so a corrupt profile stops the start."""
    prepared = []
    for item in inputs:
        profile = load_profile(find_profile(item.profile, profile_dirs), item.options)
        if item.role == "identity" and profile.id_reader is None:
            raise ConfigError(f"input {item.name}: role 'identity' needs a profile with [id_reader]")
        if profile.transport == "serial" and not (item.device or profile.port_pattern):
            raise ConfigError(f"input {item.name}: a serial input needs 'device' (the port)")
        prepared.append(PreparedInput(item, profile))
    return prepared


def _identity_emit(emit: Emit, parser: IdParser) -> Emit:
    """Wraps an emit so that a reader's text becomes an identity event (or a logged misread)."""

    def wrapped(event: ScanEvent) -> None:
        try:
            identity = parser.parse(event.text)
        except IdReadError as exc:
            log.warning("ID reader %s: %s", event.source, exc)
            emit(replace(event, kind="identity", identity={"error": str(exc)}))
            return
        emit(replace(event, kind="identity", identity=identity))

    return wrapped


def build(prepared: PreparedInput, emit: Emit, decoders: tuple[str, ...]) -> InputLoop:
    item, profile = prepared.config, prepared.profile
    role = item.role if item.role != "ticket" else profile.role
    if role == "identity":
        assert profile.id_reader is not None
        emit = _identity_emit(emit, IdParser(profile.id_reader))
    if profile.transport == "hid":
        return HidInput(
            item.name, profile.hid, emit, device=item.device, vendor=profile.usb_vendor,
            products=profile.usb_products, name_pattern=profile.name_pattern,
            repeat_window=profile.repeat_window,
        )  # fmt: skip
    if profile.transport == "serial":
        port = item.device or profile.port_pattern
        assert port is not None
        return SerialInput(
            item.name, _first_port(port), profile.serial, emit, repeat_window=profile.repeat_window
        )
    from gate_agent.inputs.camera import CameraInput, CameraSettings

    source = item.device or profile.camera.source
    if source is None:
        raise ConfigError(f"input {item.name}: a camera input needs 'device' (index, path or file)")
    settings = CameraSettings(
        source=str(source), backend=profile.camera.backend, width=profile.camera.width,
        height=profile.camera.height, decoders=profile.camera.decoders or decoders,
        repeat_window=profile.repeat_window, prefixes=profile.prefixes, suffixes=profile.suffixes,
        loop_file=profile.camera.loop, watch_folder=profile.camera.watch,
    )  # fmt: skip
    camera: Any = CameraInput(item.name, settings, emit)
    return camera  # type: ignore[no-any-return]


def _first_port(pattern: str) -> str:
    if not any(ch in pattern for ch in "*?["):
        return pattern
    import glob

    matches = sorted(glob.glob(pattern))
    return matches[0] if matches else pattern
