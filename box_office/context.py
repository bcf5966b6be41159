"""What every use case needs: settings, the database, the vault, the clock and key caches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from box_office.catalog.cache import CatalogCache
from box_office.config import Settings
from box_office.store.db import Database
from box_office.vault import Vault
from ticket_format import SigningKey


@dataclass
class Context:
    settings: Settings
    db: Database
    vault: Vault
    clock: Callable[[], float] = time.time
    signing_keys: dict[str, SigningKey] = field(default_factory=dict)
    identity_keys: dict[int, bytes] = field(default_factory=dict)
    known_tokens: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    catalog: CatalogCache = field(default_factory=CatalogCache)

    def __post_init__(self) -> None:
        self.catalog.watch(self.db.engine)

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        return cls(settings=settings, db=Database(settings.database_url), vault=Vault(settings.secret_key))

    def now(self) -> float:
        return self.clock()
