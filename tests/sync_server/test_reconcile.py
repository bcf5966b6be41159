"""The pure reconciliation rules: first admission wins, later ones and post-revocation ones conflict."""

from sync_server.reconcile import (
    CONFLICT,
    DUPLICATE,
    ENTRY,
    EXIT,
    REFUSED,
    REVOKED_BEFORE,
    ScanFact,
    classify,
)


def ok(scan_id: str, at: float) -> ScanFact:
    return ScanFact(scan_id, at, "ok", True)


def test_first_admission_by_scan_time_wins_whatever_the_arrival_order() -> None:
    late, early = ok("b", 200.0), ok("a", 100.0)
    labels = {c.scan_id: c for c in classify([late, early])}
    assert labels["a"].outcome == ENTRY
    assert (labels["b"].outcome, labels["b"].conflict_kind, labels["b"].conflicts_with) == (
        CONFLICT,
        DUPLICATE,
        "a",
    )


def test_admission_after_revocation_is_a_conflict_but_before_it_is_the_entry() -> None:
    labels = {c.scan_id: c for c in classify([ok("a", 100.0), ok("b", 300.0)], revoked_at=200.0)}
    assert labels["a"].outcome == ENTRY
    assert (labels["b"].outcome, labels["b"].conflict_kind) == (CONFLICT, REVOKED_BEFORE)


def test_refusals_and_exits_are_kept_and_reentry_after_exit_is_an_entry_when_allowed() -> None:
    scans = [
        ok("a", 1.0),
        ScanFact("x", 2.0, "exit_ok", None),
        ok("b", 3.0),
        ScanFact("r", 4.0, "already_used", False),
    ]
    strict = {c.scan_id: c.outcome for c in classify(scans)}
    assert strict == {"a": ENTRY, "x": EXIT, "b": CONFLICT, "r": REFUSED}
    lenient = {c.scan_id: c.outcome for c in classify(scans, reentry_after_exit=True)}
    assert lenient == {"a": ENTRY, "x": EXIT, "b": ENTRY, "r": REFUSED}


def test_equal_times_are_ordered_by_scan_id_so_every_server_agrees() -> None:
    first = classify([ok("z", 5.0), ok("m", 5.0)])
    second = classify([ok("m", 5.0), ok("z", 5.0)])
    assert first == second
    assert [c.outcome for c in first] == [ENTRY, CONFLICT]


def test_a_scan_with_an_untrusted_time_never_takes_the_entry_from_a_trusted_one() -> None:
    honest = ScanFact("real", 1000.0, "ok", True, received_at=1001.0)
    back_dated = ScanFact("forged", -1e12, "ok", True, received_at=2000.0, time_trusted=False)
    labels = {c.scan_id: c for c in classify([back_dated, honest])}
    assert labels["real"].outcome == ENTRY
    assert (labels["forged"].outcome, labels["forged"].conflicts_with) == (CONFLICT, "real")
    # alone, it is the entry, dated by its arrival (also against a revocation in between)
    assert classify([back_dated])[0].outcome == ENTRY and back_dated.when == 2000.0
    late = classify([back_dated], revoked_at=1500.0)[0]
    assert (late.outcome, late.conflict_kind) == (CONFLICT, REVOKED_BEFORE)
