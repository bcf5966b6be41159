"""The pure money rules: refund limits, back-off, channel by device, settings validation."""

from __future__ import annotations

import pytest

from box_office.config import ConfigError
from box_office.core.errors import RuleError
from box_office.core.payment_rules import check_refund, choose_channel, refund_backoff, refund_transition
from box_office.payments.wechat.settings import load_wechat_settings
from payment_emulators.wechat.keys import new_merchant, new_platform, write_kit
from tests.payments.wechat_helpers import DESKTOP, IPHONE, WECHAT

WECHAT_CHANNELS = ("native", "h5", "jsapi")


def test_refunds_never_exceed_the_payment_pending_counting() -> None:
    assert check_refund(1000, [], 1000) == 1
    assert check_refund(1000, [(400, "succeeded"), (300, "failed"), (200, "closed")], 600) == 4
    with pytest.raises(RuleError) as exceeded:
        check_refund(1000, [(400, "succeeded"), (500, "pending")], 101)
    assert exceeded.value.code == "refund_exceeds_payment"
    with pytest.raises(RuleError):
        check_refund(1000, [], 0)
    with pytest.raises(RuleError) as many:
        check_refund(10_000, [(1, "failed")] * 50, 1)
    assert many.value.code == "too_many_refunds"


def test_backoff_and_transitions() -> None:
    assert [refund_backoff(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert refund_backoff(30) == 3600.0
    assert refund_backoff(1, frequency_limited=True) == 60.0
    assert refund_transition("pending", "succeeded") == "succeeded"
    assert refund_transition("succeeded", "failed") is None  # final never moves
    assert refund_transition("closed", "pending") is None
    assert refund_transition("pending", "pending") is None


def test_channel_by_device() -> None:
    assert choose_channel(DESKTOP, None, WECHAT_CHANNELS) == "native"
    assert choose_channel(IPHONE, None, WECHAT_CHANNELS) == "h5"
    assert choose_channel(WECHAT, None, WECHAT_CHANNELS) == "jsapi"
    assert choose_channel(WECHAT, None, ("native", "h5")) == "native"  # never H5 inside WeChat
    assert choose_channel(DESKTOP, "h5", WECHAT_CHANNELS) == "h5"
    assert choose_channel(DESKTOP, "wap", WECHAT_CHANNELS) == "native"  # not offered: the device's flow
    assert choose_channel(IPHONE, None, ("native",)) == "native"
    assert choose_channel(DESKTOP, None, ("default",)) == "default"


def test_wechat_settings_are_validated_at_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = write_kit(tmp_path / "kit", new_platform(), new_merchant(), "http://127.0.0.1:9")
    settings = load_wechat_settings(env)
    assert settings is not None and settings.mchid == env["BOX_OFFICE_WECHAT_MCHID"]
    assert settings.apiv3_key not in repr(settings) and "PRIVATE" not in repr(settings)
    assert load_wechat_settings({}) is None  # not configured: not enabled
    (tmp_path / "ec.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2\n"
        "OF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r\n"
        "1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G\n-----END PRIVATE KEY-----\n"
    )
    bad = {
        "bad merchant id": (env | {"BOX_OFFICE_WECHAT_MCHID": "12ab"}, "MCHID"),
        "missing key file": (
            env | {"BOX_OFFICE_WECHAT_PRIVATE_KEY_FILE": str(tmp_path / "none.pem")},
            "cannot read",
        ),
        "wrong key type": (env | {"BOX_OFFICE_WECHAT_PRIVATE_KEY_FILE": str(tmp_path / "ec.pem")}, "RSA"),
        "public key as private": (
            env | {"BOX_OFFICE_WECHAT_PRIVATE_KEY_FILE": env["BOX_OFFICE_WECHAT_PUBLIC_KEY_FILE"]},
            "PEM private key",
        ),
        "short APIv3 key": (
            {k: v for k, v in env.items() if k != "BOX_OFFICE_WECHAT_APIV3_KEY_FILE"}
            | {"BOX_OFFICE_WECHAT_APIV3_KEY": "short"},
            "32-byte",
        ),
        "bad key id": (env | {"BOX_OFFICE_WECHAT_PUBLIC_KEY_ID": "123"}, "PUB_KEY_ID"),
        "plain http gateway": (env | {"BOX_OFFICE_WECHAT_GATEWAY": "http://pay.example.com"}, "https"),
    }
    for name, (values, words) in bad.items():
        with pytest.raises(ConfigError) as refused:
            load_wechat_settings(values)
        assert words in str(refused.value), name
        assert env["BOX_OFFICE_WECHAT_APIV3_KEY_FILE"] not in str(refused.value) or name == "missing key file"


def test_box_office_serve_refuses_bad_wechat_settings_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    env = write_kit(tmp_path / "kit", new_platform(), new_merchant(), "https://api.mch.weixin.qq.com")
    env["BOX_OFFICE_WECHAT_PRIVATE_KEY_FILE"] = str(tmp_path / "missing.pem")
    command = Path(sys.executable).parent / "box-office"
    ran = subprocess.run(
        [str(command), "serve", "--state-dir", str(tmp_path / "state"), "--port", "1"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 2
    assert ran.stderr.strip().count("\n") == 0, ran.stderr
    assert "BOX_OFFICE_WECHAT_PRIVATE_KEY_FILE" in ran.stderr and "cannot read" in ran.stderr
