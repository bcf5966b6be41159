"""The running gate agent: inputs -> pipeline -> lights, display, logs; plus sync and systemd.

Everything runs on one asyncio loop except the device loops, which block on their devices in
threads and hand each scan over with ``loop.call_soon_threadsafe``. Decisions run on the loop,
one at a time (each holds the store lock for about a millisecond), so scans from several
scanners are serialised and a ticket cannot be admitted twice by two lanes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
import threading
from dataclasses import asdict
from typing import Any

from gate_agent.config import AgentConfig
from gate_agent.inputs import ScanEvent
from gate_agent.inputs.factory import InputLoop, build, prepare
from gate_agent.notify import notify, watchdog_interval
from gate_agent.pipeline import Outcome, ScanPipeline
from gate_agent.status import AgentStatus
from gate_agent.store import GateStore
from ticket_format import Keyring

log = logging.getLogger("gate_agent.agent")
verdict_log = logging.getLogger("gate_agent.verdict")


class Agent:
    def __init__(self, config: AgentConfig, store: GateStore, *, pin_factory: Any = None) -> None:
        self.config = config
        self.store = store
        if config.gate.keyring_path is not None:
            store.set_extra_keys(Keyring.read(config.gate.keyring_path))
        self.pipeline = ScanPipeline(store, config.gate)
        store.record_gate_config(asdict(config.gate))
        self.status = AgentStatus(
            gate_id=config.gate.gate_id, direction=config.gate.direction, event_id=str(config.gate.event_id)
        )
        self.prepared = prepare(config.inputs, config.profile_dirs)
        self.inputs: list[InputLoop] = []
        self.threads: list[threading.Thread] = []
        self.feedback: Any = None
        if config.gpio is not None:
            from gate_agent.feedback import Feedback

            self.feedback = Feedback(config.gpio, pin_factory)
        self.display: Any = None
        self.queue: asyncio.Queue[ScanEvent] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[Any]] = []
        self._refresh_status()

    # ------------------------------------------------------------ scans

    def emit(self, event: ScanEvent) -> None:
        """Thread-safe hand-over from a device loop to the event loop."""
        loop, queue = self.loop, self.queue
        if loop is not None and queue is not None and not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, event)

    def handle(self, event: ScanEvent) -> Outcome | None:
        """Decide one event (ticket or ID) and show it; the journal is written before anything shows."""
        if event.kind == "identity":
            identity = event.identity or {}
            if "error" in identity:
                self._publish_error(f"ID reader: {identity['error']}")
                return None
            try:
                outcome = self.pipeline.present_identity(
                    id_type=identity.get("id_type"), id_number=identity.get("id_number"),
                    name=identity.get("name"), source=event.source,
                )  # fmt: skip
            except ValueError as exc:
                self._publish_error(str(exc))
                return None
        else:
            outcome = self.pipeline.scan(event.text, event.source, event.repeat_window)
        self.show(outcome)
        return outcome

    def show(self, outcome: Outcome) -> None:
        data = outcome.to_json()
        verdict_log.info(
            "verdict %s", data["verdict"],
            extra={"event": "verdict", "scan_id": outcome.scan_id, "verdict": data["verdict"],
                   "reason": data["reason"], "admit": data["admit"], "source": outcome.source,
                   "ticket_id": outcome.decision.ticket_id, "repeat": outcome.repeat},
        )  # fmt: skip
        if self.feedback is not None and not outcome.repeat:
            try:
                self.feedback.show(outcome.verdict)
            except Exception:  # a GPIO fault must not stop the gate deciding
                log.exception("GPIO feedback failed")
        self.status.last = data
        self._refresh_status()
        if self.display is not None:
            self.display.publish({"type": "verdict", **data})
        self.status.changed()

    def _publish_error(self, message: str) -> None:
        log.warning(message)
        if self.display is not None:
            self.display.publish({"type": "error", "error": message})

    def _refresh_status(self) -> None:
        self.status.backlog = self.store.backlog()
        self.status.quarantined = self.store.quarantined_count()
        self.status.counts = self.store.counts()
        self.status.holding = self.pipeline.hold is not None
        self.status.inputs = {loop.name: loop.connected for loop in self.inputs}

    async def identity_from_display(self, fields: dict[str, str]) -> Outcome:
        outcome = self.pipeline.present_identity(
            id_type=fields.get("id_type"), id_number=fields.get("id_number"), name=fields.get("name"),
            source="display",
        )  # fmt: skip
        self.show(outcome)
        return outcome

    async def scan_from_display(self, text: str) -> Outcome:
        outcome = self.pipeline.scan(text, "display")
        self.show(outcome)
        return outcome

    async def release_from_display(self) -> bool:
        released = self.pipeline.release()
        self._refresh_status()
        self.status.changed()
        return released

    # ------------------------------------------------------------ lifecycle

    async def _start_display(self) -> None:
        """The staff display, signed in with the device's PIN or a pairing code shown on it.

        Beyond loopback only with a PIN: a pairing code is shown to browsers on the device, so
        without a PIN nobody at a tablet could sign in, and nobody should without one.
        """
        from gate_agent.display.server import Display
        from gate_agent.display.staff import StaffAuth

        settings = self.config.display
        pin_hash = self.store.staff_pin_hash()
        if not settings.loopback and pin_hash is None:
            log.error(
                "display not started: it listens on %s (beyond this device) but no staff PIN is set;"
                " run 'gate-agent staff-pin'",
                settings.host,
            )
            return
        auth = StaffAuth(pin_hash)
        self.display = Display(
            self.status, self.identity_from_display, self.scan_from_display, self.release_from_display,
            auth=auth, language=settings.language,
        )  # fmt: skip
        await self.display.start(settings.host, settings.port)
        if auth.pairing_code is not None:  # never the code itself: it is a credential
            log.info("no staff PIN set: the display shows a pairing code on this device's own screen")

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue = asyncio.Queue()
        for signame in ("SIGTERM", "SIGINT"):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self.loop.add_signal_handler(getattr(signal, signame), self.stop)
        if self.config.display.enabled:
            await self._start_display()
        for prepared in self.prepared:
            loop = build(prepared, self.emit, self.config.decoders)
            self.inputs.append(loop)
            thread = threading.Thread(
                target=self._run_input, args=(loop,), name=f"input-{loop.name}", daemon=True
            )
            thread.start()
            self.threads.append(thread)
        self._start_sync()
        self.tasks.append(asyncio.create_task(self._status_ticker()))
        interval = watchdog_interval()
        if interval is not None:
            self.tasks.append(asyncio.create_task(self._watchdog(interval)))
        notify(f"READY=1\nSTATUS=gate {self.config.gate.gate_id}: ready")
        log.info("gate %s ready", self.config.gate.gate_id, extra={"event": "ready"})
        try:
            await self._consume()
        finally:
            await self._shutdown()

    def _run_input(self, loop: InputLoop) -> None:
        try:
            loop.run()
        except Exception:  # an input bug must not take the gate down; the others keep working
            log.exception("input %s stopped", loop.name)

    async def _consume(self) -> None:
        assert self.queue is not None
        stop = asyncio.create_task(self.stopping.wait())
        while not self.stopping.is_set():
            get = asyncio.create_task(self.queue.get())
            done, _ = await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                break
            try:
                self.handle(get.result())
            except Exception:
                # Only store failures get here (disk full, I/O error): nothing was shown, so
                # nothing acknowledged is lost; systemd restarts us if this persists.
                log.exception("could not decide a scan")
        stop.cancel()

    def _start_sync(self) -> None:
        if self.config.sync is None:
            return
        if importlib.util.find_spec("gate_agent.sync") is None or importlib.util.find_spec(
            "gate_agent.sync.client"
        ) is None:  # fmt: skip
            log.warning("config has [sync] but gate_agent.sync.client is not installed: running standalone")
            return
        from gate_agent.sync.client import SyncClient  # type: ignore[import-not-found,unused-ignore]

        self.status.sync_enabled = True
        client = SyncClient(store=self.store, config=self.config, status=self.status)
        self.tasks.append(asyncio.create_task(self._guard(client.run(), "sync client")))

    async def _guard(self, coroutine: Any, what: str) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s stopped", what)

    async def _status_ticker(self) -> None:
        """Pushes backlog, counts and input health to the display every second."""
        while True:
            await asyncio.sleep(1.0)
            self._refresh_status()
            self.status.changed()

    async def _watchdog(self, interval: float) -> None:
        """Feeds systemd's watchdog while the loop runs and the store answers."""
        while True:
            try:
                self.store.integrity_probe()
            except Exception:
                log.exception("store does not answer: starving the watchdog")
                return
            counts = self.status.counts
            notify(
                f"WATCHDOG=1\nSTATUS=admitted {counts.get('admitted', 0)}, backlog {self.status.backlog}"
                f", quarantined {self.status.quarantined}"
            )
            await asyncio.sleep(interval)

    async def _shutdown(self) -> None:
        notify("STOPPING=1")
        for loop in self.inputs:
            loop.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.display is not None:
            await self.display.stop()
        for thread in self.threads:
            await asyncio.to_thread(thread.join, 2.0)
        if self.feedback is not None:
            self.feedback.close()
        log.info("gate %s stopped", self.config.gate.gate_id, extra={"event": "stopped"})
