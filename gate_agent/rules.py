"""The gate's decision as a pure function: verified claims + local knowledge -> one verdict.

No I/O here, so every rule of DESIGN.md contract 2 is tested directly. The order of checks
matters and is deliberate: facts about the *ticket* (event, revoked, blocked, validity window,
gate) come before facts about its *use* (already used), and identity is checked last, so a
holder is never asked for an ID for a ticket that would be refused anyway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from gate_agent.config import GateConfig
from gate_agent.verdicts import Decision, Verdict
from ticket_format import TicketClaims, TicketError
from ticket_format.identity import HolderDigests, digests_match
from ticket_format.rotating import device_key_of
from wire.snapshot import TicketRecord


@dataclass(frozen=True, slots=True)
class Usage:
    """What this device knows about a ticket's use: its own scans and other gates' scans."""

    entries: int = 0
    inside: bool = False
    first_at: float | None = None
    first_gate: str | None = None
    last_at: float | None = None
    last_gate: str | None = None


@dataclass(frozen=True, slots=True)
class PresentedIdentity:
    """Digests of what the holder showed (ID document and/or name), under the event's key."""

    id_digest: str | None = None
    name_digest: str | None = None
    source: str = "staff"


def ticket_summary(claims: TicketClaims) -> dict[str, Any]:
    return {
        "ticket_id": claims.ticket_id,
        "event_id": claims.event_id,
        "session_id": claims.session_id,
        "zone": claims.zone,
        "seat": claims.seat,
        "ticket_type": claims.ticket_type,
        "version": claims.version,
    }


def refuse_token(error: TicketError) -> Decision:
    """The verdict for a token that did not verify (malformed, unknown_key, invalid_signature)."""
    return Decision(Verdict(error.kind.value), str(error))


FULL_CODE_HINT = "ask for the full code (完整二维码) on the ticket page"


def compact_refusal(ticket_id: str, version: int, record: TicketRecord | None) -> Decision | None:
    """The verdict for a compact live code (``EN3:``) this gate cannot or must not verify, else None.

    An ``EN3:`` code carries no claims: the gate verifies it against the ticket's signed bytes
    from its ticket list (``bound_payload``). Without them (a ticket bound after this gate's
    last snapshot, an offline gate, a ticket unknown here) it is refused ``revoked`` with the
    reason "not in this gate's ticket list", the same verdict as a ticket missing from a list
    the gate requires; the phone's "full code" (``EN2:``) then decides it on its own. A
    refunded, blocked or replaced ticket is refused as such: whatever the code, it would be.
    These refusals come before any signature is checked, so the journal keeps no ticket id.
    """

    def refuse(code: Verdict, reason: str) -> Decision:
        return Decision(code, reason, None, {"full_code": code is Verdict.REVOKED})

    if record is None:
        return refuse(Verdict.REVOKED, f"not in this gate's ticket list: {FULL_CODE_HINT}")
    if record.version > version:
        return Decision(Verdict.REVOKED, f"replaced by v{record.version} (this is v{version})")
    if record.status == "blocked":
        return Decision(Verdict.BLOCKED, "blocked by the organiser")
    if record.version < version:
        return refuse(Verdict.REVOKED, f"v{version} not in this gate's ticket list yet: {FULL_CODE_HINT}")
    if record.status == "revoked":
        return Decision(Verdict.REVOKED, "refunded or cancelled")
    if record.bound_payload is None:
        return refuse(Verdict.REVOKED, f"not in this gate's list as a phone ticket: {FULL_CODE_HINT}")
    return None


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment))


def decide(
    claims: TicketClaims,
    record: TicketRecord | None,
    usage: Usage,
    gate: GateConfig,
    now: float,
    identity: PresentedIdentity | None = None,
    holder: HolderDigests | None = None,
    *,
    live: bool = False,
) -> Decision:
    """One verdict for a ticket whose signature verified.

    ``live`` says the ticket came as a verified rotating code (``ticket_format.rotating``), not
    its static token: a ticket bound to a phone's device key, or any ticket where the event
    refuses static codes, is refused ``stale_code`` otherwise (a screenshot of the static part).
    ``holder`` is the real-name holder's digests, opened from the record's seal with the
    presented ticket's signature (the caller opens it only once an ID is presented); None
    when the record has no seal or the seal did not open.
    """
    summary = ticket_summary(claims)

    def verdict(code: Verdict, reason: str, **details: Any) -> Decision:
        return Decision(code, reason, summary, details)

    if str(claims.event_id) != str(gate.event_id):
        return verdict(Verdict.WRONG_EVENT, f"ticket is for event {claims.event_id}, not {gate.event_id}")
    if (
        gate.session_id is not None
        and claims.session_id is not None
        and str(claims.session_id) != str(gate.session_id)
    ):
        return verdict(Verdict.WRONG_EVENT, f"session {claims.session_id}, not {gate.session_id}")

    if record is not None:
        if record.version > claims.version:
            return verdict(Verdict.REVOKED, f"replaced by v{record.version} (this is v{claims.version})")
        if record.status == "revoked" and record.version >= claims.version:
            return verdict(Verdict.REVOKED, "refunded or cancelled")
        if record.status == "blocked":
            return verdict(Verdict.BLOCKED, "blocked by the organiser")
    elif gate.require_in_snapshot:
        return verdict(Verdict.REVOKED, "not in this gate's ticket list")

    if not live:
        if device_key_of(claims) is not None:
            return verdict(
                Verdict.STALE_CODE, "bound to the buyer's phone: scan its live code, not a picture"
            )
        if gate.static_codes == "refused":
            return verdict(Verdict.STALE_CODE, "this event admits live codes from the ticket page only")

    if claims.valid_from is not None and now < claims.valid_from - gate.clock_skew:
        return verdict(Verdict.NOT_YET_VALID, f"valid from {_clock(claims.valid_from)}")
    if claims.valid_until is not None and now > claims.valid_until + gate.clock_skew:
        return verdict(Verdict.EXPIRED, f"valid until {_clock(claims.valid_until)}")

    if gate.allowed_zones and claims.zone not in gate.allowed_zones:
        return verdict(Verdict.WRONG_GATE, f"zone {claims.zone or '(none)'} does not enter here")
    if gate.allowed_ticket_types and claims.ticket_type not in gate.allowed_ticket_types:
        return verdict(Verdict.WRONG_GATE, f"type {claims.ticket_type or '(none)'} does not enter here")

    if gate.direction == "out":
        return verdict(Verdict.EXIT_OK, "exit recorded")

    if usage.entries > 0:
        reentry = gate.reentry == "any" or (gate.reentry == "after_exit" and not usage.inside)
        if not reentry:
            when = usage.last_at if usage.last_at is not None else usage.first_at
            where = usage.last_gate or usage.first_gate or "another gate"
            told = f" at {_clock(when)}" if when is not None else ""
            return verdict(
                Verdict.ALREADY_USED, f"entered{told} at gate {where}", used_at=when, used_gate=where
            )

    if record is not None and record.real_name:
        if identity is None:
            return verdict(Verdict.IDENTITY_REQUIRED, "check the holder's ID")
        mismatch = _identity_mismatch(holder, identity)
        if mismatch:
            return verdict(Verdict.IDENTITY_MISMATCH, mismatch)
        return verdict(Verdict.OK, "ID checked" + (", re-entry" if usage.entries else ""))

    return verdict(Verdict.OK, "re-entry" if usage.entries else "welcome")


def _identity_mismatch(holder: HolderDigests | None, identity: PresentedIdentity) -> str | None:
    """Why the presented identity does not match the holder's digests, or None when it does."""
    if identity.id_digest is None and identity.name_digest is None:
        return "no ID presented"
    if holder is None or (holder.id_digest is None and holder.name_digest is None):
        return "the ticket list has no holder identity for this ticket"
    if identity.id_digest is not None:
        if holder.id_digest is None or not digests_match(holder.id_digest, identity.id_digest):
            return "ID number does not match the ticket holder"
    elif holder.id_digest is not None:
        return "the ID number is needed, not only the name"
    if (
        identity.name_digest is not None
        and holder.name_digest is not None
        and not digests_match(holder.name_digest, identity.name_digest)
    ):
        return "name does not match the ticket holder"
    return None
