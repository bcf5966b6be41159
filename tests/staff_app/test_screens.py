"""Chinese and English screens at 390 px, and the real-name ID check typed by staff.

Screenshots go to ``$ARTIFACTS_DIR`` (default ``artifacts/``): enrolment, a green admission,
the amber ID check, a red refusal, in zh and en.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.staff_app.conftest import ARTIFACTS, EVENT, enrol_by_code, open_app, phone, scan, wait_synced
from tests.sync_server.conftest import Keyring_json
from ticket_format.identity import HolderDigests, id_digest, name_digest, parse_id, seal_identity
from ticket_format.token import signature_of
from wire.snapshot import TicketRecord

pytestmark = pytest.mark.browser
IDENTITY_KEY = "5e" * 32
HOLDER = ("cn_ric", "11010519491231002X", "欧阳娜娜")


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_screens_in_both_languages_and_the_id_check(
    server: Any, tickets: Any, launch: Any, lang: str
) -> None:
    server.store.set_event(EVENT, Keyring_json(tickets.key), identity_key=IDENTITY_KEY)
    ids = tickets.make(4)
    key = bytes.fromhex(IDENTITY_KEY)
    records = tickets.records()
    records[3] = TicketRecord(
        ticket_id=ids[3],
        version=1,
        event_id=EVENT,
        zone=tickets.zones[ids[3]],
        real_name=True,
        identity_sealed=seal_identity(
            signature_of(tickets.tokens[ids[3]]),
            ids[3],
            HolderDigests(
                id_digest=id_digest(key, parse_id(HOLDER[0], HOLDER[1])),
                name_digest=name_digest(key, HOLDER[2]),
            ),
        ),
    )
    server.store.upsert_tickets(records)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser = await launch()
    _, page = await phone(browser, server, lang=lang)
    await open_app(page, server)
    assert await page.evaluate("() => document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
    title = await page.text_content("#enrol h1")
    assert title == ("绑定本机为检票设备" if lang == "zh" else "Enrol this phone as a gate")
    await page.screenshot(path=str(ARTIFACTS / f"staff_app_enrol_{lang}.png"))

    await enrol_by_code(page, server, gate="vip-1")
    await wait_synced(page)
    await scan(page, tickets.tokens[ids[0]])
    assert await page.text_content("#verdict-title") == ("通过" if lang == "zh" else "Welcome")
    await page.screenshot(path=str(ARTIFACTS / f"staff_app_ok_{lang}.png"))

    await scan(page, tickets.tokens[ids[0]] + " ")  # same text: a repeat, not a new scan
    await scan(page, tickets.tokens[ids[1]])
    await scan(page, tickets.tokens[ids[0]])
    assert await page.get_attribute("#verdict", "data-verdict") == "already_used"
    await page.screenshot(path=str(ARTIFACTS / f"staff_app_already_used_{lang}.png"))

    held = await scan(page, tickets.tokens[ids[3]])
    assert held["verdict"] == "identity_required"
    assert await page.is_visible("#id-check")
    await page.fill("#id-number", "110105194912310029")  # a bad check digit: refused as input
    await page.click("#id-form button[type=submit]")
    await page.wait_for_function("() => document.getElementById('id-message').textContent !== ''")
    assert await page.get_attribute("#verdict", "data-verdict") == "identity_required"
    await page.fill("#id-number", HOLDER[1].lower())
    await page.fill("#id-name", "欧阳 娜娜")
    await page.screenshot(path=str(ARTIFACTS / f"staff_app_id_check_{lang}.png"))
    await page.click("#id-form button[type=submit]")
    await page.wait_for_function("() => document.getElementById('verdict').dataset.verdict === 'ok'")
    assert not await page.is_visible("#id-check")
    journal = await page.evaluate("() => encoreStaff.store.allScans()")
    assert [j["verdict"] for j in journal] == ["ok", "ok", "already_used", "identity_required", "ok"]
    assert journal[-1]["source"] == "staff" and journal[-1]["ticket_id"] == ids[3]
