"""What a device may write: the pure scope rules of contract 4 (no I/O).

A device was enrolled for one event, as one gate, in one direction and (optionally) for some
zones; its credential is the only thing the server trusts. So every scan it uploads must name
that gate and that device id and direction, and a scan that changes a ticket's state (an
admission, or an exit) must be of a ticket of that event, of the event's session and, if the
device has zones, of one of them. Refusals are facts about this gate (a wrong-event ticket shown
here is worth keeping) and change no ticket, so only the gate, device and direction apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store imports this module; these are only the shapes it passes in
    from sync_server.store.devices import Device
    from sync_server.store.tickets import TicketScope
    from wire.sync_api import Scan


def changes_ticket(scan: Scan) -> bool:
    """Whether reconciliation would let this scan move a ticket's state (entry or exit)."""
    return scan.admit is True or scan.verdict == "exit_ok"


def scope_violation(
    device: Device, scan: Scan, ticket: TicketScope | None, event_session: str | None
) -> str | None:
    """Why ``device`` may not upload ``scan`` (``None`` when it may).

    ``ticket`` is the server's record of the scan's ticket (``None`` if unknown) and
    ``event_session`` the session of the device's event, if it has one.
    """
    if scan.gate != device.gate_id:
        return f"gate {scan.gate!r} is not this device's gate {device.gate_id!r}"
    if scan.device != device.device_id:
        return f"device {scan.device!r} is not this device ({device.device_id!r})"
    if scan.direction != device.direction:
        return f"direction {scan.direction!r} is not this device's direction {device.direction!r}"
    if scan.verdict == "exit_ok" and device.direction != "out":
        return "an entry gate does not record exits"
    if scan.admit is True and device.direction == "out":
        return "an exit gate does not admit"
    if not changes_ticket(scan):
        return None
    if scan.ticket_id is None:
        return "an admission or exit must name its ticket"
    if ticket is None or ticket.event_id != device.event_id:
        return f"ticket {scan.ticket_id!r} is not a ticket of event {device.event_id!r}"
    if event_session is not None and ticket.session_id is not None and ticket.session_id != event_session:
        return f"ticket {scan.ticket_id!r} is for session {ticket.session_id!r}, not {event_session!r}"
    if device.zones and ticket.zone not in device.zones:
        return f"ticket {scan.ticket_id!r} is for zone {ticket.zone!r}, not this device's zones"
    return None
