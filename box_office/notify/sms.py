"""SMS behind one small interface; real gateways (Aliyun, Twilio...) plug in later.

``LogSms`` appends to a file under the state directory (the default when nothing is
configured); ``CapturingSms`` keeps messages in memory so tests can read what was sent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class SmsGateway(Protocol):
    def send(self, to: str, text: str) -> None: ...


@dataclass
class LogSms:
    path: Path

    def send(self, to: str, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{time.time():.0f}\t{to}\t{text}\n")


@dataclass
class CapturingSms:
    sent: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, to: str, text: str) -> None:
        with self._lock:
            self.sent.append((to, text))
