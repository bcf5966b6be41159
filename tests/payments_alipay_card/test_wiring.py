"""Alipay and cards are registered only when configured, and a wrong setting stops the start."""

from __future__ import annotations

import pytest

from box_office.config import ConfigError
from box_office.wiring import alipay_and_card
from tests.payments_alipay_card.conftest import AlipayWorld, CardWorld


def test_registered_when_configured(alipay_world: AlipayWorld, card_world: CardWorld) -> None:
    assert alipay_and_card({}) == []
    names = [p.name for p in alipay_and_card(alipay_world.env | card_world.env)]
    assert names == ["alipay", "card"]
    assert [p.name for p in alipay_and_card(card_world.env)] == ["card"]
    with pytest.raises(ConfigError, match="SELLER_ID"):
        alipay_and_card(alipay_world.env | {"BOX_OFFICE_ALIPAY_SELLER_ID": "x"})
