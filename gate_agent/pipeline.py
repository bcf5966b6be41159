"""Scan text in, journalled verdict out: the one path every input takes.

text -> strip -> repeat filter -> ``ticket_format.verify`` -> :func:`gate_agent.rules.decide`
-> journal (same transaction that marks the ticket used) -> outcome for lights and display.

The whole decision runs under the store's lock, so two scanners reading the same ticket at the
same instant cannot both admit it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gate_agent.config import GateConfig
from gate_agent.rules import PresentedIdentity, compact_refusal, decide, refuse_token
from gate_agent.samples import describe
from gate_agent.store import GateStore, JournalEntry
from gate_agent.verdicts import Decision, Verdict
from ticket_format import TicketClaims, TicketError
from ticket_format.identity import (
    HolderDigests,
    IdentityError,
    SealError,
    id_digest,
    name_digest,
    open_identity,
    parse_id,
)
from ticket_format.rotating import COMPACT_PREFIX, parse_compact_code, verify_compact_code, verify_live_code
from ticket_format.rotating import PREFIX as LIVE_PREFIX
from ticket_format.token import verify_signed
from wire.snapshot import TicketRecord

log = logging.getLogger("gate_agent.pipeline")
MAX_TEXT = 4096
"""Longer scan text is refused as malformed without further work (a 10 kB barcode is no ticket)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A journalled decision, as shown on the display and driven to the lights."""

    scan_id: str
    at: float
    decision: Decision
    source: str
    repeat: bool = False
    """True when the same code was read again within the repeat window: shown again, not journalled."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "scan_id": self.scan_id,
            "at": self.at,
            "verdict": self.decision.verdict.value,
            "reason": self.decision.reason,
            "admit": self.decision.admit,
            "ticket": self.decision.ticket,
            "details": self.decision.details,
            "source": self.source,
            "repeat": self.repeat,
        }


@dataclass(slots=True)
class _Hold:
    """A real-name ticket waiting at the lane for the holder's ID."""

    claims: TicketClaims
    signature: bytes
    """The held ticket's signature: the key to its sealed holder identity, kept in memory only."""
    source: str
    since: float
    live: bool = False


def clean_text(text: str) -> str:
    """Scan text without surrounding whitespace and control characters."""
    return "".join(ch for ch in text.strip() if ch >= " " and ch != "\x7f")


class ScanPipeline:
    def __init__(
        self,
        store: GateStore,
        gate: GateConfig,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.base_gate = gate
        self.clock = clock
        self.monotonic = monotonic
        self._gate = gate
        self._gate_generation = -1
        self._last: tuple[str, float, Outcome] | None = None
        self.hold: _Hold | None = None

    @property
    def gate(self) -> GateConfig:
        """The gate's rules: its config, with event-wide rules from the snapshot where not set."""
        if self._gate_generation != self.store.generation:
            self._gate = self.base_gate.with_rules(self.store.rules())
            self._gate_generation = self.store.generation
        return self._gate

    def scan(self, text: str, source: str = "manual", repeat_window: float | None = None) -> Outcome:
        """Decide one scan and journal it; returns once the scan is on disk."""
        window = self.base_gate.repeat_window if repeat_window is None else repeat_window
        text = clean_text(text[: MAX_TEXT + 1])
        mono = self.monotonic()
        last = self._last
        if last is not None and last[0] == text and mono - last[1] <= window:
            self._last = (text, mono, last[2])
            previous = last[2]
            return Outcome(previous.scan_id, previous.at, previous.decision, source, repeat=True)
        with self.store.lock:
            now = self.clock()
            claims: TicketClaims | None = None
            signature = b""
            live = False
            if len(text) > MAX_TEXT:
                decision = Decision(Verdict.MALFORMED, f"scan longer than {MAX_TEXT} characters")
            else:
                compact = text.startswith(COMPACT_PREFIX)
                live = compact or text.startswith(LIVE_PREFIX)
                try:
                    if compact:
                        claims, signature, decision = self._compact(text, now)
                    else:
                        if live:
                            code = verify_live_code(text, self.store.keyring(), now, self.gate.code_skew)
                            claims, signature = code.claims, code.signature
                        else:
                            claims, signature = verify_signed(text, self.store.keyring(), now)
                        record, usage = self.store.lookup(claims.ticket_id)
                        decision = decide(claims, record, usage, self.gate, now, live=live)
                except TicketError as error:
                    decision = refuse_token(error)
            # never the text of a non-ticket scan: staff type ID numbers into the scan field
            sample = describe(text) if claims is None and text else {}
            outcome = self._journal(decision, source, now, claims, sample)
            if decision.verdict is Verdict.IDENTITY_REQUIRED and claims is not None:
                self.hold = _Hold(claims, signature, source, now, live)
            elif claims is not None or decision.verdict is not Verdict.MALFORMED:
                self.hold = None
        self._last = (text, mono, outcome)
        return outcome

    def _compact(self, text: str, now: float) -> tuple[TicketClaims | None, bytes, Decision]:
        """Decide a compact live code (``EN3:``), verified against its ticket's signed bytes in
        this gate's ticket list (``bound_payload``).

        Returns the claims, signature and the rules' decision once the code verified, or no
        claims and the refusal of :func:`gate_agent.rules.compact_refusal` when the list cannot
        verify it. Raises :class:`TicketError` for a malformed, forged, other-phone or stale code.
        """
        parsed = parse_compact_code(text)
        record, usage = self.store.lookup(parsed.ticket_id)
        refusal = compact_refusal(parsed.ticket_id, parsed.version, record)
        if refusal is not None:
            return None, b"", refusal
        assert record is not None and record.bound_payload is not None
        ring, skew = self.store.keyring(), self.gate.code_skew
        code = verify_compact_code(parsed, record.bound_payload, ring, now, skew)
        return code.claims, code.signature, decide(code.claims, record, usage, self.gate, now, live=True)

    def present_identity(
        self, *, id_type: str | None = None, id_number: str | None = None, name: str | None = None,
        source: str = "staff",
    ) -> Outcome:  # fmt: skip
        """Decide the held real-name ticket with the holder's ID; raises ValueError if impossible."""
        hold = self.hold
        if hold is None:
            raise ValueError("no ticket is waiting for an ID check")
        key = self.store.identity_key()
        if key is None:
            raise ValueError("the snapshot carries no identity key for this event")
        try:
            presented = PresentedIdentity(
                id_digest=id_digest(key, parse_id(id_type, id_number)) if id_type and id_number else None,
                name_digest=name_digest(key, name) if name else None,
                source=source,
            )
        except IdentityError as exc:
            raise ValueError(str(exc)) from None
        if presented.id_digest is None and presented.name_digest is None:
            raise ValueError("give the ID type and number (and the name if the document shows it)")
        with self.store.lock:
            now = self.clock()
            record, usage = self.store.lookup(hold.claims.ticket_id)
            holder = _open_holder(record, hold)
            decision = decide(hold.claims, record, usage, self.gate, now, presented, holder, live=hold.live)
            outcome = self._journal(decision, source, now, hold.claims, {"identity_source": source})
            if decision.verdict is not Verdict.IDENTITY_REQUIRED:
                self.hold = None
        self._last = None
        return outcome

    def release(self) -> bool:
        """Let the held real-name ticket go without a decision (the holder stepped aside)."""
        held, self.hold = self.hold, None
        self._last = None
        return held is not None

    def _journal(
        self, decision: Decision, source: str, now: float, claims: TicketClaims | None, extra: dict[str, Any]
    ) -> Outcome:
        details = {**decision.details, **extra} or None
        entry = JournalEntry(
            scan_id=str(uuid.uuid4()),
            seq=0,
            at=now,
            verdict=decision.verdict.value,
            reason=decision.reason,
            admit=decision.admit,
            gate=self.base_gate.gate_id,
            device=self.base_gate.device_id,
            direction=self.base_gate.direction,
            source=source,
            ticket_id=None if claims is None else claims.ticket_id,
            ticket_version=None if claims is None else claims.version,
            details=details,
        )
        self.store.journal(entry)
        return Outcome(entry.scan_id, now, decision, source)


def _open_holder(record: TicketRecord | None, hold: _Hold) -> HolderDigests | None:
    """The holder's digests from the record's seal, opened with the held ticket's signature."""
    if record is None or record.identity_sealed is None:
        return None
    try:
        return open_identity(record.identity_sealed, hold.signature, hold.claims.ticket_id)
    except SealError as exc:
        log.warning("sealed identity of ticket %s does not open: %s", hold.claims.ticket_id, exc)
        return None
