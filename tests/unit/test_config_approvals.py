"""PORTAL_APPROVAL_SERVICE_DAYS: the approvals' service level, checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.config import ConfigError, load_config


def test_the_service_level_defaults_to_one_business_day(tmp_path: Path):
    assert load_config(tmp_path, {})["APPROVAL_SERVICE_DAYS"] == 1


def test_the_service_level_can_be_set(tmp_path: Path):
    assert load_config(tmp_path, {"PORTAL_APPROVAL_SERVICE_DAYS": " 3 "})["APPROVAL_SERVICE_DAYS"] == 3


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two", "21"])
def test_a_wrong_service_level_stops_the_start(tmp_path: Path, value: str):
    with pytest.raises(ConfigError, match="PORTAL_APPROVAL_SERVICE_DAYS"):
        load_config(tmp_path, {"PORTAL_APPROVAL_SERVICE_DAYS": value})
