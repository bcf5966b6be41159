"""The gate's sync client: snapshot, deltas, the live push channel and journal upload.

Two independent loops on the agent's event loop:

- **down**: a full snapshot when the store has none (streamed, resumed after a broken
  connection, applied atomically by the store), then deltas from the store's cursor, then the
  WebSocket push channel. If the push channel cannot be opened the client polls deltas; if
  the server cannot be reached at all it is offline and retries with backoff. Each step
  recovers by itself.
- **up**: the journal's unacknowledged scans, oldest first, in batches; a scan is marked
  acknowledged only when the server lists its id in the answer, so a dropped or stalled
  upload is simply sent again (the server ignores scans it already holds). A scan the server
  refuses for good is quarantined in the journal (kept, logged, counted on the status) so it
  never blocks the scans behind it.

The gate never waits for either loop to decide a scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from wire.snapshot import SnapshotError, TicketRecord, parse_header, parse_ticket
from wire.sync_api import DeltaPage, ScanAck, ScanBatch, WireError

log = logging.getLogger("gate_agent.sync")
SOFTWARE_VERSION = "encore-gate-agent/0.1.0"
_END = object()


class SyncRefused(Exception):
    """The server refused this device (revoked or unknown credential): retrying will not help soon."""


def _ssl_context(ca: str | None) -> ssl.SSLContext | None:
    if not ca:
        return None
    return ssl.create_default_context(cafile=ca)


class SyncSettings:
    """The ``[sync]`` table of the gate's config, with defaults."""

    def __init__(self, table: dict[str, Any], base: Path | None = None) -> None:
        base = base or Path.cwd()
        try:
            self.url = str(table["url"]).rstrip("/")
        except KeyError:
            raise ValueError("[sync] needs 'url'") from None
        credential = table.get("credential")
        if credential is None and table.get("credential_file"):
            path = base / str(table["credential_file"])
            credential = path.read_text(encoding="utf-8").strip()
        if not credential:
            raise ValueError("[sync] needs 'credential_file' (written by gate-agent enrol)")
        self.credential = str(credential)
        ca = table.get("ca")
        self.ca = str(base / str(ca)) if ca else None
        self.batch_size = int(table.get("batch_size", 500))
        self.upload_interval = float(table.get("upload_interval", 0.05))
        self.poll_interval = float(table.get("poll_interval", 5.0))
        self.request_timeout = float(table.get("request_timeout", 10.0))
        self.push = bool(table.get("push", True))


class SyncClient:
    def __init__(
        self, store: Any, config: Any, status: Any | None = None, *, settings: SyncSettings | None = None
    ):
        self.store = store
        self.status = status
        base = Path(config.source).parent if getattr(config, "source", None) else None
        self.config_error: str | None = None
        if settings is None:
            try:
                settings = SyncSettings(dict(config.sync or {}), base)
            except (ValueError, OSError) as exc:
                # Never stop the gate over a sync setting: it keeps deciding offline and says why.
                self.config_error = f"sync disabled: {exc}"
                settings = SyncSettings({"url": "", "credential": "-"})
        self.settings = settings
        self.gate_id: str | None = getattr(getattr(config, "gate", None), "gate_id", None)
        self.progress: Callable[[int, int | None], None] | None = None
        """Called as ``progress(tickets_so_far, expected_total_or_None)`` during a snapshot download."""
        # "down": the last download/push step worked; "up": the last upload attempt worked
        # (true until one fails). The gate is online when both are.
        self._online: dict[str, bool] = {"up": True, "down": False}
        self._session: aiohttp.ClientSession | None = None
        self.refused: str | None = None
        self.pushes = 0
        self.quarantined = 0
        """Scans this client quarantined since it started (the store keeps the full list)."""
        self.partial_uploads = True
        """Ask the server for per-scan results; False behaves like a client from before that."""

    # ------------------------------------------------------------ plumbing

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.credential}"}

    def _session_for(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=_ssl_context(self.settings.ca) or True, limit=4)
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=5, sock_read=self.settings.request_timeout
            )
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self.headers)
        return self._session

    def _set_online(self, side: str, online: bool, error: str | None = None) -> None:
        self._online[side] = online
        if self.status is None:
            return
        now_online = all(self._online.values())
        changed = self.status.online != now_online or (error and self.status.sync_error != error)
        self.status.online = now_online
        if online:
            self.status.last_sync = time.time()
            if self.status.sync_error and not error:
                self.status.sync_error = None
                changed = True
        elif error:
            self.status.sync_error = error
        if changed:
            self.status.changed()

    async def _check(self, response: aiohttp.ClientResponse) -> None:
        if response.status < 400:
            return
        try:
            message = (await response.json()).get("error", "")
        except (aiohttp.ContentTypeError, ValueError, AttributeError):
            message = (await response.text())[:200]
        if response.status in (401, 403):
            self.refused = f"server refused this device: {message}"
            raise SyncRefused(self.refused)
        raise aiohttp.ClientResponseError(
            response.request_info, (), status=response.status, message=message or response.reason or ""
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # ------------------------------------------------------------ main loop

    async def run(self) -> None:
        """Run both loops until cancelled."""
        if self.config_error:
            log.error("%s", self.config_error)
            self._set_online("down", False, self.config_error)
            return
        try:
            await asyncio.gather(self._down_loop(), self._up_loop())
        finally:
            await self.close()

    async def _down_loop(self) -> None:
        backoff = 0.5
        while True:
            try:
                if await asyncio.to_thread(self.store.cursor) is None:
                    await self.download_snapshot()
                await self.catch_up()
                self._set_online("down", True)
                backoff = 0.5
                if self.settings.push:
                    try:
                        await self._push_channel()
                    except (aiohttp.WSServerHandshakeError, aiohttp.ClientConnectionError) as exc:
                        log.info("push channel unavailable (%s): polling", exc)
                        await self._poll_for(30.0)
                else:
                    await self._poll_for(3600.0)
            except asyncio.CancelledError:
                raise
            except SyncRefused as exc:
                self._set_online("down", False, str(exc))
                await asyncio.sleep(30)
            except (aiohttp.ClientError, OSError, TimeoutError, SnapshotError, WireError) as exc:
                self._set_online("down", False, f"offline: {exc or type(exc).__name__}")
                log.info("sync down: %s; retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _poll_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await asyncio.sleep(self.settings.poll_interval)
            await self.catch_up()
            self._set_online("down", True)

    async def _push_channel(self) -> None:
        session = self._session_for()
        async with session.ws_connect(f"{self.settings.url}/api/push", heartbeat=10) as ws:
            log.info("push channel open")
            await self.catch_up()  # anything that changed while connecting
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                kind = data.get("type") if isinstance(data, dict) else None
                if kind == "delta":
                    page = DeltaPage.parse(data)
                    cursor = await asyncio.to_thread(self.store.cursor)
                    if page.after == cursor:
                        await asyncio.to_thread(self._apply, page)
                    else:
                        await self.catch_up()
                    self.pushes += 1
                elif kind == "behind":
                    await self.catch_up()
                self._set_online("down", True)
                backlog = await asyncio.to_thread(self.store.backlog)
                await ws.send_json(
                    {
                        "type": "status",
                        "cursor": await asyncio.to_thread(self.store.cursor),
                        "backlog": backlog,
                    }
                )
            if ws.close_code == 4003:
                raise SyncRefused("server refused this device: revoked")
        raise aiohttp.ServerDisconnectedError("push channel closed")

    def _apply(self, page: DeltaPage) -> None:
        """Apply a delta page: ticket states, then other gates' entries as remote scans.

        Entries travel as ``used_at``/``used_gate`` on the ticket record. They are applied
        through ``record_remote_scan`` with an id derived from the entry (so applying the
        same page twice changes nothing) rather than through ``apply_delta``, whose merge of
        ``used_at`` fails in this version of the store (reported to its owner). This gate's
        own entries are skipped: the journal already knows them.
        """
        plain = [
            replace(r, used_at=None, used_gate=None) if r.used_at is not None else r for r in page.tickets
        ]
        self.store.apply_delta(plain, page.cursor, keyring=page.keyring)
        for record in page.tickets:
            if record.used_at is not None and record.used_gate and record.used_gate != self.gate_id:
                scan_id = f"server-entry:{record.ticket_id}:{record.used_at!r}"
                self.store.record_remote_scan(scan_id, record.ticket_id, record.used_gate, record.used_at)

    async def catch_up(self) -> int:
        """Apply deltas from the store's cursor until the server has nothing newer; returns the count."""
        session = self._session_for()
        applied = 0
        while True:
            cursor = await asyncio.to_thread(self.store.cursor)
            async with session.get(
                f"{self.settings.url}/api/deltas", params={"after": cursor or "0"}
            ) as resp:
                await self._check(resp)
                page = DeltaPage.parse(await resp.json())
            if page.cursor != cursor:
                await asyncio.to_thread(self._apply, page)
            applied += len(page.tickets)
            if not page.more:
                return applied

    # ------------------------------------------------------------ snapshot

    async def download_snapshot(self, max_attempts: int = 8) -> int:
        """Stream the full snapshot into the store; resumes after a broken connection.

        Lines are parsed here and handed in batches through a small bounded queue to
        ``store.apply_snapshot`` running in a worker thread, so neither side ever holds more
        than a few thousand tickets. The store swaps the snapshot in only when every part
        arrived complete (each part ends with a footer whose count is checked).
        """
        session = self._session_for()
        handoff: queue.Queue[Any] = queue.Queue(maxsize=8)
        consumer: asyncio.Future[int] | None = None
        last_id: str | None = None
        expected: int | None = None
        total = 0
        attempts = 0

        def records() -> Iterator[TicketRecord]:
            while True:
                item = handoff.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield from item

        try:
            while True:
                params = {"after": last_id} if last_id else {}
                try:
                    async with session.get(f"{self.settings.url}/api/snapshot", params=params) as resp:
                        await self._check(resp)
                        if expected is None:
                            announced = resp.headers.get("X-Snapshot-Tickets", "")
                            expected = int(announced) if announced.isdigit() else None
                        header = parse_header(json.loads(await resp.content.readline()))
                        if consumer is None:
                            consumer = asyncio.ensure_future(
                                asyncio.to_thread(self.store.apply_snapshot, header, records())
                            )
                        part = 0
                        batch: list[TicketRecord] = []
                        footer = None
                        async for raw in resp.content:
                            data = json.loads(raw)
                            if isinstance(data, dict) and data.get("type") == "footer":
                                footer = data
                                break
                            record = parse_ticket(data)
                            batch.append(record)
                            if len(batch) >= 2000:
                                await asyncio.to_thread(handoff.put, batch)
                                part += len(batch)
                                total += len(batch)
                                last_id = batch[-1].ticket_id
                                batch = []
                                if self.progress:
                                    self.progress(total, expected)
                        if batch:
                            await asyncio.to_thread(handoff.put, batch)
                            part += len(batch)
                            total += len(batch)
                            last_id = batch[-1].ticket_id
                        if footer is None:
                            raise aiohttp.ClientPayloadError(f"snapshot cut off after {total} tickets")
                        if footer.get("count") != part:
                            raise SnapshotError(f"snapshot footer says {footer.get('count')}, read {part}")
                    break
                except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError) as exc:
                    attempts += 1
                    if attempts >= max_attempts:
                        raise
                    log.info("snapshot download interrupted (%s); resuming after %s", exc, last_id)
                    await asyncio.sleep(min(attempts, 5))
            await asyncio.to_thread(handoff.put, _END)
            assert consumer is not None
            count = await consumer
        except BaseException as exc:
            if consumer is not None:
                await asyncio.to_thread(_drain_and_fail, handoff, exc)
                with contextlib.suppress(BaseException):  # it re-raises what we gave it
                    await consumer
            raise
        if self.progress:
            self.progress(count, expected)
        log.info("snapshot applied: %d tickets", count)
        return count

    # ------------------------------------------------------------ upload

    async def _up_loop(self) -> None:
        backoff = 0.5
        while True:
            try:
                sent = await self.upload_once()
                if sent:
                    self._set_online("up", True)
                backoff = 0.5
                if sent == 0:
                    await asyncio.sleep(self.settings.upload_interval)
            except asyncio.CancelledError:
                raise
            except SyncRefused as exc:
                self._set_online("up", False, str(exc))
                await asyncio.sleep(30)
            except (aiohttp.ClientError, OSError, TimeoutError, WireError, ValueError) as exc:
                self._set_online("up", False, f"offline: {exc or type(exc).__name__}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def upload_once(self) -> int:
        """Upload one batch of unacknowledged scans; returns how many left the upload queue.

        A scan leaves the queue when the server acknowledges it, or when the server refuses it
        for good (it breaks the wire contract): then it is quarantined in the journal with the
        server's message, so one bad entry never blocks the scans behind it. The batch asks
        for per-scan results (``partial``); a server that answers a permanent 4xx for the
        whole batch instead (an older server, or a body too large) gets the batch in halves
        until the refused scans stand alone. Transient failures (network, 5xx, 408, 429)
        raise, and the up loop retries the same scans later.
        """
        pending = await asyncio.to_thread(self.store.pending_scans, self.settings.batch_size)
        if not pending:
            return 0
        cursor = await asyncio.to_thread(self.store.cursor)
        # what will still wait once this batch is acknowledged (shown to venue IT)
        backlog = max(0, await asyncio.to_thread(self.store.backlog) - len(pending))
        return await self._upload(pending, cursor, backlog)

    async def _upload(self, entries: list[Any], cursor: str | None, backlog: int) -> int:
        batch = {
            "scans": [entry.to_json() for entry in entries],
            "cursor": cursor,
            "backlog": backlog,
            "software_version": SOFTWARE_VERSION,
            "partial": self.partial_uploads,
        }
        # never send what the server would refuse as a whole (the scans are the server's to judge)
        ScanBatch.parse({**batch, "scans": []})
        session = self._session_for()
        try:
            async with session.post(f"{self.settings.url}/api/scans", json=batch) as resp:
                if _refuses_for_good(resp.status):
                    raise UploadRefused(resp.status, await _error_message(resp))
                await self._check(resp)
                ack = ScanAck.parse(await resp.json())
        except UploadRefused as refused:
            if len(entries) == 1:
                await self._quarantine(entries[0], f"{refused.status}: {refused.message}")
                return 1
            middle = len(entries) // 2
            log.info("upload of %d scans refused (%s): retrying in halves", len(entries), refused)
            first = await self._upload(entries[:middle], cursor, backlog)
            return first + await self._upload(entries[middle:], cursor, backlog)
        sent = {entry.scan_id for entry in entries}
        acked = [scan_id for scan_id in ack.acknowledged if scan_id in sent]
        await asyncio.to_thread(self.store.mark_acknowledged, acked)
        parked = 0
        for rejection in ack.rejected:
            if not 0 <= rejection.index < len(entries):
                continue
            entry = entries[rejection.index]
            if rejection.scan_id is not None and rejection.scan_id != entry.scan_id:
                continue  # the server names another scan: trust neither, send it again later
            parked += await self._quarantine(entry, rejection.error)
        return len(acked) + parked

    async def _quarantine(self, entry: Any, message: str) -> int:
        """Park one scan the server refused for good; logged, counted on the status."""
        parked = await asyncio.to_thread(self.store.quarantine, entry.scan_id, message)
        log.warning(
            "scan %s quarantined: the sync server refused it: %s",
            entry.scan_id,
            message,
            extra={"event": "scan_quarantined", "scan_id": entry.scan_id, "server_error": message},
        )
        self.quarantined += 1
        if self.status is not None:
            self.status.quarantined = await asyncio.to_thread(self.store.quarantined_count)
            self.status.changed()
        return int(parked)


class UploadRefused(Exception):
    """The server refused an upload for good (a 4xx about the request, not the link or device)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


TRANSIENT_4XX = frozenset({401, 403, 404, 405, 408, 429})
"""4xx answers that say nothing about the scans: the device (401/403, handled as refused), the
address or a proxy in the way (404/405: bisecting would quarantine every scan), or the server's
load (408/429). Every other 4xx refuses what was sent."""


def _refuses_for_good(status: int) -> bool:
    return 400 <= status < 500 and status not in TRANSIENT_4XX


async def _error_message(resp: aiohttp.ClientResponse) -> str:
    try:
        data = await resp.json(content_type=None)
        message = data.get("error") if isinstance(data, dict) else None
    except ValueError:
        message = None
    return str(message or resp.reason or "refused")[:500]


def _drain_and_fail(handoff: queue.Queue[Any], exc: BaseException) -> None:
    """Unblock the consumer thread with the failure so the store drops its staging table."""
    while True:
        try:
            handoff.get_nowait()
        except queue.Empty:
            break
    handoff.put(exc if isinstance(exc, Exception) else SnapshotError("snapshot download cancelled"))
