"""Device profiles: one TOML file per scanner model or family, in ``gate_agent/device_profiles/``.

A profile says how to recognise a device (USB vendor/product id, name or port pattern), its
transport (``hid``, ``serial`` or ``camera``) with that transport's settings, the prefixes and
suffixes it adds, and its repeat window. ``[[inputs]]`` in the gate config pick a profile by
name and may override any of its sections for one device. Validated on load: a corrupt profile
stops the agent at start with a message naming the file and the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from gate_agent._toml import ConfigError, Table, load_toml
from gate_agent.config import DECODER_NAMES
from gate_agent.inputs.hid import TERMINATORS, HidSettings
from gate_agent.inputs.idreader import FIELD_NAMES, IdReaderSettings
from gate_agent.inputs.keymaps import LAYOUTS
from gate_agent.inputs.serial_input import FRAMINGS, SerialSettings

TRANSPORTS = ("hid", "serial", "camera")
PACKAGED_PROFILES = Path(str(resources.files("gate_agent.device_profiles")))
"""The profiles inside the installed package (a wheel carries them; no checkout needed).
A real directory: the agent is installed unpacked, never imported from a zip."""
REPO_PROFILES = PACKAGED_PROFILES  # the name of the first release


@dataclass(frozen=True, slots=True)
class CameraProfile:
    source: str | None = None
    backend: str | None = None
    width: int | None = None
    height: int | None = None
    decoders: tuple[str, ...] = ()
    loop: bool = False
    watch: bool = False
    """An image-folder source: keep watching it and read each new image once (drop-in frames)."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    model: str
    transport: str
    role: str = "ticket"
    usb_vendor: int | None = None
    usb_products: tuple[int, ...] = ()
    name_pattern: str | None = None
    port_pattern: str | None = None
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    repeat_window: float = 2.0
    hid: HidSettings = field(default_factory=HidSettings)
    serial: SerialSettings = field(default_factory=SerialSettings)
    camera: CameraProfile = field(default_factory=CameraProfile)
    id_reader: IdReaderSettings | None = None
    path: Path | None = None


def profile_dirs(extra: tuple[Path, ...] = ()) -> list[Path]:
    """Where profiles are looked up, first match wins: config dirs, $GATE_AGENT_PROFILES, /etc, the
    package's own, /usr/share."""
    dirs = list(extra)
    env = os.environ.get("GATE_AGENT_PROFILES")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += [Path("/etc/gate-agent/profiles"), PACKAGED_PROFILES, Path("/usr/share/gate-agent/profiles")]
    return dirs


def find_profile(name: str, extra: tuple[Path, ...] = ()) -> Path:
    for directory in profile_dirs(extra):
        candidate = directory / f"{name}.toml"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"device profile {name!r} not found (looked in {', '.join(map(str, profile_dirs(extra)))})"
    )


def all_profiles(extra: tuple[Path, ...] = ()) -> list[Profile]:
    """Every profile found (first of each name), for ``gate-agent devices``."""
    seen: dict[str, Profile] = {}
    for directory in profile_dirs(extra):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            if path.stem not in seen:
                seen[path.stem] = load_profile(path)
    return list(seen.values())


def load_profile(path: Path, overrides: dict[str, Any] | None = None) -> Profile:
    """Read and validate one profile; ``overrides`` are an [[inputs]] entry's own sections."""
    data = load_toml(path, "device profile")
    for section, values in (overrides or {}).items():
        if isinstance(values, dict) and isinstance(data.get(section, {}), dict):
            data[section] = {**data.get(section, {}), **values}
    return parse_profile(data, str(path), path)


def _affixes(table: Table | None) -> tuple[tuple[str, ...], tuple[str, ...], float | None]:
    if table is None:
        return (), (), None
    table.unknown_keys({"strip_prefixes", "strip_suffixes", "repeat_window"})
    return table.text_list("strip_prefixes"), table.text_list("strip_suffixes"), table.number("repeat_window")


def parse_profile(data: dict[str, Any], source: str, path: Path | None = None) -> Profile:
    root = Table(data, "", source)
    root.unknown_keys({"profile", "match", "hid", "serial", "camera", "scan", "id_reader"})
    head = root.table("profile", required=True)
    assert head is not None
    head.unknown_keys({"name", "model", "transport", "role", "notes"})
    name = head.text("name", required=True)
    if path is not None and path.stem != name:
        raise head.error("name", f"must equal the file name ({path.stem!r})")
    transport = head.choice("transport", TRANSPORTS, "hid")
    match = root.table("match")
    vendor, products, name_pattern, port_pattern = None, (), None, None
    if match:
        match.unknown_keys({"usb_vendor", "usb_products", "name_pattern", "port_pattern"})
        vendor = match.integer("usb_vendor", None)
        raw = match.data.get("usb_products", [])
        if not isinstance(raw, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
            raise match.error("usb_products", "must be a list of integers (e.g. [0x0b61])")
        products = tuple(raw)
        name_pattern, port_pattern = match.text("name_pattern"), match.text("port_pattern")
    prefixes, suffixes, window = _affixes(root.table("scan"))
    profile = Profile(
        name=name, model=head.text("model", required=True), transport=transport,
        role=head.choice("role", ("ticket", "identity"), "ticket"), usb_vendor=vendor, usb_products=products,
        name_pattern=name_pattern, port_pattern=port_pattern, prefixes=prefixes, suffixes=suffixes,
        repeat_window=2.0 if window is None else window, path=path,
    )  # fmt: skip
    hid, serial, camera = root.table("hid"), root.table("serial"), root.table("camera")
    present = {"hid": hid, "serial": serial, "camera": camera}
    for other, table in present.items():
        if table is not None and other != transport:
            raise table.error("", f"section [{other}] does not fit transport {transport!r}")
    if hid:
        profile = replace(profile, hid=_hid(hid, prefixes, suffixes))
    else:
        profile = replace(profile, hid=HidSettings(prefixes=prefixes, suffixes=suffixes))
    if serial:
        profile = replace(profile, serial=_serial(serial, prefixes, suffixes))
    else:
        profile = replace(profile, serial=SerialSettings(prefixes=prefixes, suffixes=suffixes))
    if camera:
        profile = replace(profile, camera=_camera(camera))
    id_table = root.table("id_reader")
    if id_table:
        profile = replace(profile, id_reader=_id_reader(id_table))
    elif profile.role == "identity":
        raise root.error("id_reader", "an identity profile needs an [id_reader] section")
    return profile


def _hid(table: Table, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> HidSettings:
    table.unknown_keys({"layout", "terminator", "inter_key_timeout"})
    return HidSettings(
        layout=table.choice("layout", tuple(LAYOUTS), "us"),
        terminator=table.choice("terminator", tuple(TERMINATORS), "enter"),
        inter_key_timeout=table.number("inter_key_timeout", 0.2),
        prefixes=prefixes,
        suffixes=suffixes,
    )


def _serial(table: Table, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> SerialSettings:
    table.unknown_keys(
        {"baudrate", "bytesize", "parity", "stopbits", "rtscts", "framing", "timeout", "encoding",
         "trigger_on_open", "trigger_interval"}
    )  # fmt: skip
    bytesize = table.integer("bytesize", 8, minimum=5)
    if bytesize > 8:
        raise table.error("bytesize", "must be 5, 6, 7 or 8")
    stopbits = table.number("stopbits", 1.0)
    if stopbits not in (1.0, 1.5, 2.0):
        raise table.error("stopbits", "must be 1, 1.5 or 2")
    encoding = table.text("encoding", "utf-8")
    try:
        "".encode(encoding)
    except LookupError:
        raise table.error("encoding", f"unknown encoding {encoding!r}") from None
    return SerialSettings(
        baudrate=table.integer("baudrate", 9600, minimum=50),
        bytesize=bytesize,
        parity=table.choice("parity", ("N", "E", "O", "M", "S"), "N"),
        stopbits=stopbits if stopbits == 1.5 else int(stopbits),
        rtscts=table.boolean("rtscts", False),
        framing=table.choice("framing", FRAMINGS, "cr"),
        timeout=table.number("timeout", 0.1),
        encoding=encoding,
        prefixes=prefixes,
        suffixes=suffixes,
        trigger_on_open=table.text("trigger_on_open", "").encode("latin-1"),
        trigger_interval=table.number("trigger_interval", 0.0),
    )


def _camera(table: Table) -> CameraProfile:
    table.unknown_keys({"source", "backend", "width", "height", "decoders", "loop", "watch"})
    decoders = table.text_list("decoders")
    for decoder in decoders:
        if decoder not in DECODER_NAMES:
            raise table.error("decoders", f"unknown decoder {decoder!r} (known: {', '.join(DECODER_NAMES)})")
    source = table.data.get("source")
    if source is not None and (isinstance(source, bool) or not isinstance(source, str | int)):
        raise table.error("source", "must be a path, a pipeline or a camera index")
    return CameraProfile(
        source=None if source is None else str(source),
        backend=table.choice("backend", ("auto", "v4l2", "gstreamer"), "auto").replace("auto", "") or None,
        width=table.integer("width", None, minimum=16),
        height=table.integer("height", None, minimum=16),
        decoders=decoders,
        loop=table.boolean("loop", False),
        watch=table.boolean("watch", False),
    )


def _id_reader(table: Table) -> IdReaderSettings:
    table.unknown_keys({"format", "separator", "fields", "id_type", "match_name"})
    fields = table.text_list("fields") or ("name", "id_number")
    for name in fields:
        if name not in FIELD_NAMES:
            raise table.error("fields", f"unknown field {name!r} (known: {', '.join(FIELD_NAMES)})")
    fmt = table.choice("format", ("fields", "mrz"), "fields")
    return IdReaderSettings(
        format=fmt,
        separator=table.text("separator", "|"),
        fields=fields,
        id_type=table.choice("id_type", ("cn_ric", "passport", "hk_mo_permit", "tw_permit"), "cn_ric"),
        match_name=table.boolean("match_name", fmt != "mrz"),
    )
