"""The gate's configuration file (TOML), validated on load with errors that name the key.

Example (every key documented in gate_agent/README.md)::

    [gate]
    id = "north-1"                  # this gate; shown to other gates in already_used
    event_id = "evt-1"
    session_id = "evening"          # optional
    direction = "in"                # in | out
    allowed_zones = ["A", "B"]      # empty or absent: every zone
    allowed_ticket_types = []       # empty or absent: every type
    reentry = "none"                # none | after_exit | any
    clock_skew = 300                # seconds of tolerance on validity windows
    repeat_window = 3.0             # same code again within this many s is the same scan
    require_in_snapshot = false     # refuse signed tickets missing from the snapshot
    keyring = "/etc/encore/keyring.json"  # optional extra trusted keys

    [state]
    dir = "/var/lib/gate-agent"

    [display]
    host = "127.0.0.1"              # beyond loopback needs allow_remote = true and a staff PIN
    port = 8080
    language = "zh"                 # zh | en: the page's first language

    [gpio]
    green = 17
    red = 27

    [[inputs]]
    profile = "honeywell-voyager-kbd"
    device = "/dev/input/by-id/usb-Honeywell_Voyager-event-kbd"

    [sync]                          # read by gate_agent.sync (the sync client)
    url = "https://sync.venue.example"
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gate_agent._toml import ConfigError, Table, load_toml
from gate_agent.inputs.decoder_names import DECODER_NAMES, DEFAULT_ORDER

__all__ = [
    "DECODER_NAMES",
    "AgentConfig",
    "ConfigError",
    "DisplayConfig",
    "GateConfig",
    "GpioConfig",
    "InputConfig",
]

DIRECTIONS = ("in", "out")
REENTRY = ("none", "after_exit", "any")
ROLES = ("ticket", "identity")
OVERRIDABLE = ("serial", "hid", "camera", "scan", "id_reader")
"""Profile sections an [[inputs]] entry may override for its own device."""


@dataclass(frozen=True, slots=True)
class GateConfig:
    """What this gate lets through. Pure data for :mod:`gate_agent.rules`."""

    gate_id: str
    event_id: str | int
    session_id: str | int | None = None
    device_id: str = field(default_factory=socket.gethostname)
    direction: str = "in"
    allowed_zones: tuple[str, ...] = ()
    allowed_ticket_types: tuple[str, ...] = ()
    reentry: str = "none"
    clock_skew: float = 300.0
    repeat_window: float = 3.0
    require_in_snapshot: bool = False
    keyring_path: Path | None = None
    explicit: frozenset[str] = frozenset()
    """Keys set in the file; event-wide rules from the snapshot apply only to the others."""

    def with_rules(self, rules: Mapping[str, Any]) -> GateConfig:
        """This gate's settings with the snapshot's event-wide rules filled in where not set here."""
        changes: dict[str, Any] = {}
        for key, kind in SNAPSHOT_RULES.items():
            if key in rules and key not in self.explicit:
                value = rules[key]
                if kind is tuple and isinstance(value, list):
                    changes[key] = tuple(str(v) for v in value)
                elif kind is float and isinstance(value, int | float) and not isinstance(value, bool):
                    changes[key] = float(value)
                elif (kind is str and value in REENTRY) or (kind is bool and isinstance(value, bool)):
                    changes[key] = value
        return replace(self, **changes) if changes else self


SNAPSHOT_RULES: dict[str, type] = {
    "reentry": str,
    "clock_skew": float,
    "allowed_zones": tuple,
    "allowed_ticket_types": tuple,
    "require_in_snapshot": bool,
}
"""Rules a snapshot header may carry for the whole event (wire.snapshot.SnapshotHeader.rules)."""


@dataclass(frozen=True, slots=True)
class InputConfig:
    """One input device: which profile describes it and where it is."""

    profile: str
    name: str
    device: str | None = None
    """evdev path, serial port, camera index / /dev/video path / video file / image folder."""
    role: str = "ticket"
    options: dict[str, Any] = field(default_factory=dict)
    """Profile overrides for this device, e.g. ``{"serial": {"baudrate": 115200}}``."""


@dataclass(frozen=True, slots=True)
class GpioConfig:
    green: int | None = None
    red: int | None = None
    amber: int | None = None
    buzzer: int | None = None
    turnstile: int | None = None
    turnstile_active_high: bool = True
    turnstile_pulse: float = 0.5
    show_time: float = 1.5
    """How long a light stays on after a verdict, in seconds."""
    pin_factory: str | None = None
    """gpiozero pin factory name (e.g. "lgpio", "mock"); None lets gpiozero choose."""


@dataclass(frozen=True, slots=True)
class DisplayConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    allow_remote: bool = False
    """Listening beyond loopback (a tablet at the lane) must be asked for, and needs a staff PIN."""
    language: str = "zh"
    """The page's first language (``zh`` or ``en``); staff can switch on the page."""

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.host)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or address to bind) only listens on this device."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class AgentConfig:
    gate: GateConfig
    state_dir: Path
    inputs: tuple[InputConfig, ...] = ()
    gpio: GpioConfig | None = None
    display: DisplayConfig = field(default_factory=DisplayConfig)
    decoders: tuple[str, ...] = DEFAULT_ORDER
    profile_dirs: tuple[Path, ...] = ()
    sync: dict[str, Any] | None = None
    source: Path | None = None

    @property
    def database(self) -> Path:
        return self.state_dir / "gate.sqlite"


def load_config(path: Path) -> AgentConfig:
    """Read and validate a config file; raises :class:`ConfigError` naming the bad key."""
    return parse_config(load_toml(path, "config"), str(path), base=path.parent, source_path=path)


def parse_config(
    data: dict[str, Any], source: str = "config", base: Path | None = None, source_path: Path | None = None
) -> AgentConfig:
    root = Table(data, "", source)
    root.unknown_keys({"gate", "state", "inputs", "gpio", "display", "decoders", "profiles", "sync"})
    base = base or Path.cwd()
    gate = _gate(root.table("gate", required=True), base)  # type: ignore[arg-type]
    state = root.table("state")
    state_dir = Path(state.text("dir", "/var/lib/gate-agent")) if state else Path("/var/lib/gate-agent")
    if state:
        state.unknown_keys({"dir"})
    inputs = _inputs(root, source)
    gpio_table = root.table("gpio")
    display_table = root.table("display")
    decoders: tuple[str, ...] = DEFAULT_ORDER
    decoders_table = root.table("decoders")
    if decoders_table:
        decoders_table.unknown_keys({"order"})
        decoders = decoders_table.text_list("order") or decoders
        for name in decoders:
            if name not in DECODER_NAMES:
                raise decoders_table.error(
                    "order", f"unknown decoder {name!r} (known: {', '.join(DECODER_NAMES)})"
                )
    profiles_table = root.table("profiles")
    profile_dirs: tuple[Path, ...] = ()
    if profiles_table:
        profiles_table.unknown_keys({"dirs"})
        profile_dirs = tuple(_resolve(base, p) for p in profiles_table.text_list("dirs"))
    sync = root.table("sync")
    return AgentConfig(
        gate=gate,
        state_dir=_resolve(base, str(state_dir)),
        inputs=inputs,
        gpio=_gpio(gpio_table) if gpio_table else None,
        display=_display(display_table) if display_table else DisplayConfig(),
        decoders=decoders,
        profile_dirs=profile_dirs,
        sync=dict(sync.data) if sync else None,
        source=source_path,
    )


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else (base / path)


def _gate(table: Table, base: Path) -> GateConfig:
    table.unknown_keys(
        {
            "id", "device_id", "event_id", "session_id", "direction", "allowed_zones",
            "allowed_ticket_types", "reentry", "clock_skew", "repeat_window",
            "require_in_snapshot", "keyring",
        }
    )  # fmt: skip
    keyring = table.text("keyring")
    return GateConfig(
        gate_id=table.text("id", required=True),
        device_id=table.text("device_id") or socket.gethostname(),
        event_id=table.scalar("event_id", required=True),  # type: ignore[arg-type]
        session_id=table.scalar("session_id"),
        direction=table.choice("direction", DIRECTIONS, "in"),
        allowed_zones=table.text_list("allowed_zones"),
        allowed_ticket_types=table.text_list("allowed_ticket_types"),
        reentry=table.choice("reentry", REENTRY, "none"),
        clock_skew=table.number("clock_skew", 300.0),
        repeat_window=table.number("repeat_window", 3.0),
        require_in_snapshot=table.boolean("require_in_snapshot", False),
        keyring_path=_resolve(base, keyring) if keyring else None,
        explicit=frozenset(_RENAMED.get(k, k) for k in table.data),
    )


_RENAMED = {"id": "gate_id", "keyring": "keyring_path"}


def _inputs(root: Table, source: str) -> tuple[InputConfig, ...]:
    raw = root.data.get("inputs", [])
    if not isinstance(raw, list):
        raise root.error("inputs", "must be an array of tables ([[inputs]])")
    result = []
    names: set[str] = set()
    for index, item in enumerate(raw):
        table = Table(item, f"inputs[{index}]", source)
        table.unknown_keys({"profile", "name", "device", "role", *OVERRIDABLE})
        profile = table.text("profile", required=True)
        device = table.data.get("device")
        if device is not None and (isinstance(device, bool) or not isinstance(device, str | int)):
            raise table.error("device", "must be text (a path) or an integer (a camera index)")
        name = table.text("name") or f"{profile}#{index}"
        if name in names:
            raise table.error("name", f"duplicate input name {name!r}")
        names.add(name)
        options = {k: v for k, v in table.data.items() if k in OVERRIDABLE}
        result.append(
            InputConfig(
                profile=profile,
                name=name,
                device=None if device is None else str(device),
                role=table.choice("role", ROLES, "ticket"),
                options=options,
            )
        )
    return tuple(result)


def _pin(table: Table, key: str) -> int | None:
    value = table.integer(key, None, minimum=0)
    if value is not None and value > 53:
        raise table.error(key, "is not a GPIO pin number (0-53)")
    return value  # type: ignore[no-any-return]


def _gpio(table: Table) -> GpioConfig:
    pins = ("green", "red", "amber", "buzzer", "turnstile")
    table.unknown_keys({*pins, "turnstile_active_high", "turnstile_pulse", "show_time", "pin_factory"})
    values = {name: _pin(table, name) for name in pins}
    used = [v for v in values.values() if v is not None]
    if len(used) != len(set(used)):
        raise table.error("pins", "two outputs share one GPIO pin")
    return GpioConfig(
        **values,
        turnstile_active_high=table.boolean("turnstile_active_high", True),
        turnstile_pulse=table.number("turnstile_pulse", 0.5),
        show_time=table.number("show_time", 1.5),
        pin_factory=table.text("pin_factory"),
    )


def _display(table: Table) -> DisplayConfig:
    table.unknown_keys({"enabled", "host", "port", "allow_remote", "language"})
    port = table.integer("port", 8080, minimum=0)
    if port > 65535:
        raise table.error("port", "must be at most 65535")
    host = table.text("host", "127.0.0.1")
    allow_remote = table.boolean("allow_remote", False)
    if not is_loopback_host(host) and not allow_remote:
        raise table.error(
            "host", f"{host!r} listens beyond this device: set allow_remote = true (and a staff PIN)"
        )
    language = table.text("language", "zh")
    if language not in ("zh", "en"):
        raise table.error("language", "must be 'zh' or 'en'")
    return DisplayConfig(
        enabled=table.boolean("enabled", True), host=host, port=port, allow_remote=allow_remote,
        language=language,
    )  # fmt: skip
