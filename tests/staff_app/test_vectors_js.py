"""The staff app's JavaScript gives exactly the expected verdict on every shared vector.

The app's own modules (ticket.js, rules.js, identity.js) are loaded from the sync server into
headless Chromium and run on tests/vectors/verdicts.json, the file the gate agent is tested
against (tests/vectors/test_verdicts.py): same tickets, same verdicts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.staff_app.conftest import open_app, phone
from tests.vectors.make_verdicts import PATH

RUN_VECTORS = """
async (doc) => {
  const { Keyring, TicketError, verifyToken } = await import('/staff/ticket.js');
  const { decide, refuse } = await import('/staff/rules.js');
  const { presentedIdentity, recordForRules } = await import('/staff/identity.js');
  const keyring = new Keyring(doc.keyring);
  const out = [];
  for (const v of doc.vectors) {
    let verdict;
    try {
      const { claims, signature } = await verifyToken(v.token, keyring, v.now);
      const presented = v.identity ? await presentedIdentity(doc.identity_key, v.identity) : null;
      const record = await recordForRules(v.record, signature);  // opens identity_sealed, as the app does
      verdict = decide(claims, record, v.usage, v.gate, v.now, presented).verdict;
    } catch (err) {
      if (!(err instanceof TicketError)) throw err;
      verdict = refuse(err).verdict;
    }
    out.push({ name: v.name, verdict });
  }
  return out;
}
"""


@pytest.mark.browser
async def test_app_rules_give_the_expected_verdict_on_every_vector(server: Any, launch: Any) -> None:
    document = json.loads(PATH.read_text(encoding="utf-8"))
    browser = await launch()
    _, page = await phone(browser, server)
    await open_app(page, server)
    results = await page.evaluate(RUN_VECTORS, document)
    got = {r["name"]: r["verdict"] for r in results}
    expected = {v["name"]: v["expected"] for v in document["vectors"]}
    wrong = {name: (got.get(name), want) for name, want in expected.items() if got.get(name) != want}
    assert not wrong, f"app verdict != expected: {wrong}"
    assert len(results) == len(document["vectors"])
