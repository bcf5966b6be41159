"""Real-name rules (contract 2 and 3): every identity line of ``gate_agent.rules`` decided directly,
and the pipeline's part (opening the seal with the held ticket's signature)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.rules import PresentedIdentity, Usage, decide
from gate_agent.store import GateStore
from tests.gate_agent.conftest import EVENT, HOLDER_ID, HOLDER_NAME, IDENTITY_KEY, Tickets
from ticket_format import TicketClaims
from ticket_format.identity import HolderDigests, id_digest, name_digest, parse_id
from wire.snapshot import TicketRecord

HOLDER_ID_DIGEST = id_digest(IDENTITY_KEY, parse_id("cn_ric", HOLDER_ID))
HOLDER_NAME_DIGEST = name_digest(IDENTITY_KEY, HOLDER_NAME)
HOLDER = HolderDigests(HOLDER_ID_DIGEST, HOLDER_NAME_DIGEST)
OTHER_ID_DIGEST = id_digest(IDENTITY_KEY, parse_id("passport", "E12345678"))
CLAIMS = TicketClaims(ticket_id="T-1", event_id=EVENT, zone="A")
RECORD = TicketRecord(
    ticket_id="T-1", version=1, event_id=EVENT, zone="A", real_name=True, identity_sealed="x"
)
GATE = GateConfig(gate_id="north-1", event_id=EVENT, device_id="pi-1")


def _decide(identity: PresentedIdentity | None, holder: HolderDigests | None = HOLDER) -> tuple[str, str]:
    decision = decide(CLAIMS, RECORD, Usage(), GATE, 0.0, identity, holder)
    return decision.verdict.value, decision.reason


@pytest.mark.parametrize(
    ("presented", "holder", "verdict", "reason"),
    [
        pytest.param(None, HOLDER, "identity_required", "check the holder's ID", id="nothing presented yet"),
        pytest.param(
            PresentedIdentity(HOLDER_ID_DIGEST, HOLDER_NAME_DIGEST),
            HOLDER,
            "ok",
            "ID checked",
            id="both match",
        ),
        pytest.param(
            PresentedIdentity(HOLDER_ID_DIGEST), HOLDER, "ok", "ID checked", id="ID alone is enough"
        ),
        pytest.param(
            PresentedIdentity(HOLDER_ID_DIGEST, name_digest(IDENTITY_KEY, "李四")),
            HOLDER,
            "identity_mismatch",
            "name does not match the ticket holder",
            id="right ID, wrong name",
        ),
        pytest.param(
            PresentedIdentity(name_digest=HOLDER_NAME_DIGEST),
            HOLDER,
            "identity_mismatch",
            "the ID number is needed, not only the name",
            id="name alone",
        ),
        pytest.param(
            PresentedIdentity(OTHER_ID_DIGEST, HOLDER_NAME_DIGEST),
            HOLDER,
            "identity_mismatch",
            "ID number does not match the ticket holder",
            id="wrong ID, right name",
        ),
        pytest.param(
            PresentedIdentity(), HOLDER, "identity_mismatch", "no ID presented", id="no ID presented"
        ),
        pytest.param(
            PresentedIdentity(HOLDER_ID_DIGEST),
            None,
            "identity_mismatch",
            "the ticket list has no holder identity for this ticket",
            id="real-name list without identity",
        ),
        pytest.param(
            PresentedIdentity(HOLDER_ID_DIGEST),
            HolderDigests(),
            "identity_mismatch",
            "the ticket list has no holder identity for this ticket",
            id="empty seal",
        ),
        pytest.param(
            PresentedIdentity(HOLDER_ID_DIGEST),
            HolderDigests(name_digest=HOLDER_NAME_DIGEST),
            "identity_mismatch",
            "ID number does not match the ticket holder",
            id="holder has only a name",
        ),
        pytest.param(
            PresentedIdentity(name_digest=HOLDER_NAME_DIGEST),
            HolderDigests(name_digest=HOLDER_NAME_DIGEST),
            "ok",
            "ID checked",
            id="name-only holder, name presented",
        ),
    ],
)
def test_identity_rules(
    presented: PresentedIdentity | None, holder: HolderDigests | None, verdict: str, reason: str
) -> None:
    assert _decide(presented, holder) == (verdict, reason)


def test_identity_is_checked_last_and_re_entry_says_so() -> None:
    revoked = dataclasses.replace(RECORD, status="revoked")
    assert decide(CLAIMS, revoked, Usage(), GATE, 0.0).verdict.value == "revoked"  # no ID asked
    again = dataclasses.replace(GATE, reentry="any")
    decision = decide(
        CLAIMS, RECORD, Usage(entries=1), again, 0.0, PresentedIdentity(HOLDER_ID_DIGEST), HOLDER
    )
    assert (decision.verdict.value, decision.reason) == ("ok", "ID checked, re-entry")


def test_pipeline_opens_only_the_presented_tickets_seal(
    store: GateStore, tickets: Tickets, make_pipeline: Callable[..., ScanPipeline]
) -> None:
    good = tickets.new(real_name=True)
    swapped = tickets.new(real_name=True)
    # the record of `swapped` carries a seal made for another ticket: it cannot open
    tickets.records[1] = dataclasses.replace(
        tickets.records[1], identity_sealed=tickets.records[0].identity_sealed
    )
    unsealed = tickets.new(real_name=True)
    tickets.records[2] = dataclasses.replace(tickets.records[2], identity_sealed=None)
    tickets.load_into(store)
    pipe = make_pipeline(GateConfig(gate_id="g", event_id=EVENT, device_id="d", repeat_window=0))
    for token, verdict in ((swapped, "identity_mismatch"), (unsealed, "identity_mismatch"), (good, "ok")):
        assert pipe.scan(token).verdict == "identity_required"
        outcome = pipe.present_identity(id_type="cn_ric", id_number=HOLDER_ID, name=HOLDER_NAME)
        assert outcome.verdict == verdict, outcome.decision.reason
    assert pipe.scan(unsealed).verdict == "identity_required"
    assert pipe.release() and pipe.hold is None and not pipe.release()
    with pytest.raises(ValueError, match="waiting"):
        pipe.present_identity(id_type="cn_ric", id_number=HOLDER_ID)
    assert pipe.scan(unsealed).verdict == "identity_required"
    with pytest.raises(ValueError, match="ID type and number"):
        pipe.present_identity()


def test_pipeline_without_an_identity_key(tmp_path: object, tickets: Tickets, store: GateStore) -> None:
    token = tickets.new(real_name=True)
    tickets.load_into(store)
    store.conn.execute("DELETE FROM meta WHERE key = 'identity_key'")
    pipe = ScanPipeline(store, GATE)
    assert pipe.scan(token).verdict == "identity_required"
    with pytest.raises(ValueError, match="no identity key"):
        pipe.present_identity(id_type="cn_ric", id_number=HOLDER_ID)
