"""`schemathesis run` with all its checks against a real box office: the API does what its OpenAPI says.

Not only "no 5xx": every status answered is documented, every body matches its documented
schema (errors included, FastAPI's validation errors too), valid requests are accepted,
invalid ones refused, a missing or wrong token is refused, deleted things stay gone. The run is
the command-line tool itself, as a developer would run it, against a box office on loopback
with an organiser, a buyer and a feed-client token (one per tag of the API).

Bounded by examples, not by time: ``ENCORE_SCHEMATHESIS_EXAMPLES`` (default 10 per operation
and phase) and a fixed seed keep the CI run to a couple of minutes and reproducible; raise it
locally for a longer hunt, e.g. ``ENCORE_SCHEMATHESIS_EXAMPLES=200``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from tests.box_office.standalone import run_box_office

EXAMPLES = int(os.environ.get("ENCORE_SCHEMATHESIS_EXAMPLES", "10"))
SEED = int(os.environ.get("ENCORE_SCHEMATHESIS_SEED", "20261127"))
RULES_BEYOND_SCHEMA = (
    "POST /api/venues",
    "POST /api/venues/csv",
    "POST /api/events",
    "POST /api/events/{event_id}/sessions",
    "POST /api/sessions/{session_id}/holds",
    "POST /api/sessions/{session_id}/seats/reprice",
    "POST /api/demo",  # at most 60,000 seats: sections x rows x seats_per_row
    # after-sales: a company title needs its tax number; distinct tiers; a show ends after it starts
    "POST /api/orders/{order_id}/invoice",
    "PUT /api/events/{event_id}/refund-policy",
    "POST /api/sessions/{session_id}/postpone",
)
ENDLESS = ("/api/sessions/{session_id}/live",)  # an event stream that never ends; tested in test_inventory


@pytest.fixture(scope="module")
def box_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A box office of its own: the fuzzer leaves a lot of odd data behind."""
    yield from run_box_office(tmp_path_factory.mktemp("conformance"))


def every_check_but_response_time() -> list[str]:
    """What ``--checks all`` runs, less ``max_response_time`` (a 10 s wall-clock limit: on a busy
    2-core CI machine, creating a 40,000-seat demo venue may take longer; speed is measured in
    bench/, not asserted here). Read from schemathesis' own registry, so a check added in a later
    version is run too."""
    import schemathesis.specs.openapi.checks  # noqa: F401  (registers the OpenAPI checks)
    from schemathesis.checks import CHECKS

    names = list(CHECKS.get_all_names())
    assert "response_schema_conformance" in names and "max_response_time" not in names
    return names


def schemathesis_config(organiser: str, buyer: str, feed_client: str) -> str:
    """A schemathesis.toml giving each part of the API the token of its own kind of caller."""
    lines = []
    for tag, token in (("organisers", organiser), ("buyers", buyer), ("venue feed", feed_client)):
        lines += [
            "[[operations]]",
            f"include-tag = {json.dumps(tag)}",
            f"headers = {{ Authorization = {json.dumps('Bearer ' + token)} }}",
            "",
        ]
    # Long polls (wait up to 30 s) are tested in test_feed_wait and test_order_wait: here they
    # would only make the run slow.
    lines += [
        "[[operations]]",
        'include-path = ["/api/feed", "/api/orders/{order_id}"]',
        'parameters = { "query.wait" = 0 }',
        "",
    ]
    # These operations have rules JSON Schema cannot say (a zone the event has, a seat the venue
    # has, a layout with at least one seat, one of seats/best_available/ga, a demo venue's size):
    # a request that fits the schema but breaks one is answered 422 "invalid", as documented.
    lines += [
        "[[operations]]",
        f"include-name = {json.dumps(list(RULES_BEYOND_SCHEMA))}",
        "checks = { positive_data_acceptance = { expected-statuses = "
        '["2xx", "401", "403", "404", "409", "422", "429"] } }',
        "",
    ]
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # the whole API, every operation: grows with the API, not a speed bound
def test_schemathesis_all_checks_pass(box_office: Server, tmp_path: Path) -> None:
    concert = Concert(box_office)
    buyer = concert.buyer()
    buy(concert, buyer, seats=["A-2-1"])  # so that the buyer's lists and tickets are not empty
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        schemathesis_config(
            concert.organiser_token,
            buyer.headers["Authorization"].split()[1],
            concert.feed_client().headers["Authorization"].split()[1],
        )
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        box_office.url + "/openapi.json",
        "--checks",
        ",".join(every_check_but_response_time()),
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "120",  # a hang detector only: no response time is asserted
        "--suppress-health-check",
        "all",
        "--exclude-path",
        *ENDLESS,
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)
    output = run.stdout + run.stderr
    print(output)  # the whole report, shown by pytest when the test fails
    assert "operations" in output.lower(), output[-3000:]
    assert run.returncode == 0, "schemathesis found failures: see the report above"
