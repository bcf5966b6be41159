"""Small typed accessors for validating TOML tables with messages that name the exact key."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration or profile file that cannot be used; the message names file and key."""


def load_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path}: not valid TOML ({exc})") from None


class Table:
    """A TOML table plus its dotted location, for errors like ``gate.direction: must be ...``."""

    def __init__(self, data: object, where: str, source: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: [{where}] must be a table")
        self.data: dict[str, Any] = data
        self.where = where
        self.source = source

    def error(self, key: str, message: str) -> ConfigError:
        location = f"{self.where}.{key}" if self.where else key
        return ConfigError(f"{self.source}: {location}: {message}")

    def table(self, key: str, *, required: bool = False) -> Table | None:
        if key not in self.data:
            if required:
                raise self.error(key, "missing table")
            return None
        return Table(self.data[key], f"{self.where}.{key}" if self.where else key, self.source)

    def _get(self, key: str, types: type | tuple[type, ...], label: str, default: Any, required: bool) -> Any:
        if key not in self.data:
            if required:
                raise self.error(key, "missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise self.error(key, f"must be {label}")
        if not isinstance(value, types):
            raise self.error(key, f"must be {label}, not {type(value).__name__}")
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        return self._get(key, str, "text", default, required)

    def integer(
        self, key: str, default: int | None = None, *, required: bool = False, minimum: int = 0
    ) -> Any:
        value = self._get(key, int, "an integer", default, required)
        if value is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}")
        return value

    def number(self, key: str, default: float | None = None, *, minimum: float = 0.0) -> Any:
        value = self._get(key, (int, float), "a number", default, False)
        if value is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}")
        return None if value is None else float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value: bool = self._get(key, bool, "true or false", default, False)
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)} (got {value!r})")
        return str(value)

    def text_list(self, key: str) -> tuple[str, ...]:
        value = self._get(key, list, "a list of text", [], False)
        if not all(isinstance(item, str) for item in value):
            raise self.error(key, "must be a list of text")
        return tuple(value)

    def scalar(self, key: str, *, required: bool = False) -> str | int | None:
        value = self._get(key, (str, int), "text or an integer", None, required)
        return value  # type: ignore[no-any-return]

    def unknown_keys(self, known: Mapping[str, object] | set[str]) -> None:
        """Refuse typos: a misspelt key silently ignored would open the wrong gate."""
        for key in self.data:
            if key not in known:
                raise self.error(key, f"unknown key (known: {', '.join(sorted(known))})")
