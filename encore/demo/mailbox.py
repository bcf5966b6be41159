"""A local SMTP server for the demo: every message the box office sends lands as a .eml file.

It is a real SMTP server (aiosmtpd) on loopback, so the box office's mail code
runs exactly as in production; the buyer's "inbox" is a folder to open.
"""

from __future__ import annotations

import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        recipient = (envelope.rcpt_tos or ["unknown"])[0].replace("/", "_")
        path = self.folder / f"{time.strftime('%H%M%S')}-{self.count:03d}-{recipient}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class Mailbox:
    """An SMTP server on 127.0.0.1 that saves each message into ``folder``."""

    def __init__(self, folder: Path, port: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = port
        self._controller = Controller(_SaveToFolder(folder), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def messages(self) -> list[Message]:
        return [message_from_bytes(path.read_bytes()) for path in sorted(self.folder.glob("*.eml"))]
