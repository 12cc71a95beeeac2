"""Settings of a deployment on several machines: the agreement store, the read replica and
the scheduler, checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.config import ConfigError, load_config
from tests.unit.test_config import PRODUCTION, _readable_signing_key  # noqa: F401 - the fixture PRODUCTION needs


def test_agreements_stay_in_the_database_by_default(tmp_path: Path):
    config = load_config(tmp_path, {})
    assert config["AGREEMENT_STORE"] == "database" and config["S3_BUCKET"] == ""


def test_an_s3_store_is_read_from_the_environment(tmp_path: Path):
    config = load_config(
        tmp_path,
        {
            "PORTAL_AGREEMENT_STORE": "s3",
            "PORTAL_S3_BUCKET": "bank-agreements",
            "PORTAL_S3_ENDPOINT_URL": "http://127.0.0.1:9000/",
            "PORTAL_S3_REGION": "cn-north-1",
            "PORTAL_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "PORTAL_S3_SECRET_ACCESS_KEY": "secret",
        },
    )
    assert (config["AGREEMENT_STORE"], config["S3_BUCKET"], config["S3_ENDPOINT_URL"]) == (
        "s3",
        "bank-agreements",
        "http://127.0.0.1:9000",
    )
    assert config["S3_PREFIX"] == "agreements/" and config["S3_REGION"] == "cn-north-1"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORTAL_AGREEMENT_STORE": "ftp"}, "PORTAL_AGREEMENT_STORE"),
        ({"PORTAL_AGREEMENT_STORE": "s3"}, "PORTAL_S3_BUCKET"),
        ({"PORTAL_AGREEMENT_STORE": "s3", "PORTAL_S3_BUCKET": "Bad_Bucket"}, "PORTAL_S3_BUCKET"),
        ({"PORTAL_S3_BUCKET": "b-1", "PORTAL_S3_ENDPOINT_URL": "minio:9000"}, "PORTAL_S3_ENDPOINT_URL"),
        ({"PORTAL_S3_BUCKET": "b-1", "PORTAL_S3_ACCESS_KEY_ID": "AKID"}, "PORTAL_S3_SECRET_ACCESS_KEY"),
        ({"PORTAL_S3_BUCKET": "b-1", "PORTAL_S3_PREFIX": "/abs/"}, "PORTAL_S3_PREFIX"),
    ],
)
def test_a_wrong_store_setting_stops_the_start(tmp_path: Path, env: dict[str, str], named: str):
    with pytest.raises(ConfigError, match=named):
        load_config(tmp_path, env)


def test_production_talks_to_the_object_store_over_https_only(tmp_path: Path):
    s3 = {"PORTAL_AGREEMENT_STORE": "s3", "PORTAL_S3_BUCKET": "bank-agreements"}
    with pytest.raises(ConfigError, match="PORTAL_S3_ENDPOINT_URL"):
        load_config(tmp_path, {**PRODUCTION, **s3, "PORTAL_S3_ENDPOINT_URL": "http://minio:9000"})
    config = load_config(tmp_path, {**PRODUCTION, **s3, "PORTAL_S3_ENDPOINT_URL": "https://s3.bank.example"})
    assert config["AGREEMENT_STORE"] == "s3"


def test_reports_read_the_primary_unless_a_replica_is_named(tmp_path: Path):
    assert load_config(tmp_path, {})["DATABASE_REPLICA_URL"] == ""
    env = {"PORTAL_DATABASE_URL": "postgresql+psycopg://portal@db/portal"}
    replica = "postgresql+psycopg://reports@replica/portal"
    assert load_config(tmp_path, {**env, "PORTAL_DATABASE_REPLICA_URL": replica})["DATABASE_REPLICA_URL"] == replica
    with pytest.raises(ConfigError, match="PORTAL_DATABASE_REPLICA_URL"):
        load_config(tmp_path, {**env, "PORTAL_DATABASE_REPLICA_URL": "not a url"})
    with pytest.raises(ConfigError, match="same kind"):
        load_config(tmp_path, {**env, "PORTAL_DATABASE_REPLICA_URL": "sqlite:///reports.sqlite3"})


def test_scheduler_times_have_defaults_and_are_checked(tmp_path: Path):
    from datetime import time

    config = load_config(tmp_path, {})
    assert config["SCHEDULER_SERVICING_AT"] == time(0, 30)
    assert (config["SCHEDULER_SEAL_MINUTES"], config["SCHEDULER_PRUNE_MINUTES"]) == (1, 60)
    assert load_config(tmp_path, {"PORTAL_SCHEDULER_SERVICING_AT": "01:15"})["SCHEDULER_SERVICING_AT"] == time(1, 15)
    with pytest.raises(ConfigError, match="PORTAL_SCHEDULER_SERVICING_AT"):
        load_config(tmp_path, {"PORTAL_SCHEDULER_SERVICING_AT": "25:00"})
    with pytest.raises(ConfigError, match="PORTAL_SCHEDULER_PRUNE_MINUTES"):
        load_config(tmp_path, {"PORTAL_SCHEDULER_PRUNE_MINUTES": "0"})
