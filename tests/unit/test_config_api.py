"""``PORTAL_API_SECRET`` and ``PORTAL_API_RATE_LIMIT`` are checked at start-up."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from portal.config import ConfigError, load_config


def secret(size: int = 32) -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(size)).decode()


def test_without_a_secret_the_api_is_off(tmp_path: Path):
    assert load_config(tmp_path, {})["API_SECRETS"] == ()


def test_several_secrets_separated_by_spaces_are_all_kept(tmp_path: Path):
    one, two = secret(), secret(64)
    assert load_config(tmp_path, {"PORTAL_API_SECRET": f" {one}  {two} "})["API_SECRETS"] == (one, two)


@pytest.mark.parametrize("value", ["whsec_", "not-a-secret", secret(16), secret(65), "whsec_!!!!", secret()[6:]])
def test_a_malformed_or_short_secret_stops_start_up(tmp_path: Path, value: str):
    with pytest.raises(ConfigError, match="PORTAL_API_SECRET"):
        load_config(tmp_path, {"PORTAL_API_SECRET": value})


def test_the_rate_limit_must_parse(tmp_path: Path):
    assert load_config(tmp_path, {})["API_RATE_LIMIT"] == "1200 per minute"
    with pytest.raises(ConfigError, match="PORTAL_API_RATE_LIMIT"):
        load_config(tmp_path, {"PORTAL_API_RATE_LIMIT": "often"})
