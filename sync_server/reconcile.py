"""Who got in first: the pure reconciliation of one ticket's scans (DESIGN contract 4).

Gates decide offline, so two gates can both admit the same ticket, or a gate can admit a
ticket that was revoked after its snapshot. The server never drops or rewrites such a scan:
it orders the ticket's scans by their *own* time, keeps the first admission as the entry and
labels every later admission (and every admission after the revocation) an admitted conflict,
pointing at the scan it conflicts with. No I/O here, so every rule is tested on plain data.

A scan whose own time the server does not trust (outside its window, see ``scan_time``) is
ordered by its arrival instead, after every scan with a trusted time: a gate with a wrong clock
(or a device lying about the time) can never take the entry from another scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ENTRY = "entry"
EXIT = "exit"
REFUSED = "refused"
OTHER = "other"
CONFLICT = "conflict"

DUPLICATE = "duplicate_admission"
REVOKED_BEFORE = "revoked_before_scan"


@dataclass(frozen=True, slots=True)
class ScanFact:
    """What reconciliation needs of a scan."""

    scan_id: str
    at: float
    verdict: str
    admit: bool | None
    received_at: float | None = None
    time_trusted: bool = True

    @property
    def when(self) -> float:
        """The time reconciliation uses: the scan's own, or its arrival if that is not trusted."""
        if self.time_trusted or self.received_at is None:
            return self.at
        return self.received_at

    def order(self) -> tuple[int, float, str]:
        return (0 if self.time_trusted else 1, self.when, self.scan_id)


@dataclass(frozen=True, slots=True)
class Classified:
    scan_id: str
    outcome: str
    conflict_kind: str | None = None
    conflicts_with: str | None = None


def classify(
    scans: Iterable[ScanFact], *, revoked_at: float | None = None, reentry_after_exit: bool = False
) -> list[Classified]:
    """Label every scan of one ticket, in the order of the scans' own time (ties by scan id);
    scans with an untrusted time come after the others, in the order they arrived.

    - an admission (``admit`` true) is the ``entry`` if the holder is not inside already and the
      ticket was not revoked before the scan; otherwise a ``conflict`` (``duplicate_admission``
      pointing at the admission that let the holder in, or ``revoked_before_scan``);
    - an ``exit_ok`` lets the holder out (re-entry counts as an entry only if the event allows
      re-entry after exit);
    - refusals stay ``refused``; holds and anything else ``other``.
    """
    ordered = sorted(scans, key=ScanFact.order)
    out: list[Classified] = []
    entered_by: str | None = None
    inside = False
    for scan in ordered:
        if scan.admit is True:
            if revoked_at is not None and scan.when >= revoked_at:
                out.append(Classified(scan.scan_id, CONFLICT, REVOKED_BEFORE, None))
            elif entered_by is not None and (inside or not reentry_after_exit):
                out.append(Classified(scan.scan_id, CONFLICT, DUPLICATE, entered_by))
            else:
                out.append(Classified(scan.scan_id, ENTRY))
                entered_by = scan.scan_id
                inside = True
        elif scan.verdict == "exit_ok":
            out.append(Classified(scan.scan_id, EXIT))
            inside = False
        elif scan.admit is False:
            out.append(Classified(scan.scan_id, REFUSED))
        else:
            out.append(Classified(scan.scan_id, OTHER))
    return out
