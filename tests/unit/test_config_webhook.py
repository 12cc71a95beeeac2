"""``PORTAL_CORE_WEBHOOK_URL`` / ``_SECRET``: checked at start-up, env only."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from portal.config import ConfigError, load_config

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def webhook(**env: str) -> tuple[str, str]:
    config = load_config(Path("/tmp"), {f"PORTAL_{k}": v for k, v in env.items()})
    return config["CORE_WEBHOOK_URL"], config["CORE_WEBHOOK_SECRET"]


def test_no_url_means_events_are_only_recorded() -> None:
    assert webhook() == ("", "")


def test_a_url_needs_a_standard_webhooks_secret() -> None:
    url = "https://core.bank.example/hooks"
    assert webhook(CORE_WEBHOOK_URL=url, CORE_WEBHOOK_SECRET=SECRET) == (url, SECRET)
    short = "whsec_" + base64.b64encode(b"x" * 16).decode()
    for bad in ("", "not-a-secret", "whsec_!!notbase64!!", short, SECRET.removeprefix("whsec_")):
        with pytest.raises(ConfigError, match="PORTAL_CORE_WEBHOOK_SECRET"):
            webhook(CORE_WEBHOOK_URL=url, CORE_WEBHOOK_SECRET=bad)


def test_the_url_must_be_http_and_https_in_production() -> None:
    for bad in ("ftp://core.bank.example/", "core.bank.example/hooks", "https://", "https://x/" + "a" * 260):
        with pytest.raises(ConfigError, match="PORTAL_CORE_WEBHOOK_URL"):
            webhook(CORE_WEBHOOK_URL=bad, CORE_WEBHOOK_SECRET=SECRET)
    from portal.config import _core_webhook

    with pytest.raises(ConfigError, match="https"):
        _core_webhook(
            {"PORTAL_CORE_WEBHOOK_URL": "http://core.bank.example/", "PORTAL_CORE_WEBHOOK_SECRET": SECRET}, True
        )
    assert (
        _core_webhook(
            {"PORTAL_CORE_WEBHOOK_URL": "https://core.bank.example/", "PORTAL_CORE_WEBHOOK_SECRET": SECRET}, True
        )["CORE_WEBHOOK_URL"]
        == "https://core.bank.example/"
    )
