"""deploy/: the image build file, the compose file and the settings they pass.

Images cannot be pulled or built here, so this checks what can be checked offline: the
compose file's services, commands and health checks, that every setting it and
``.env.example`` name is one ``portal/config.py`` reads (and every one it reads is
listed), that those settings make a production configuration that starts, and the
compose file as Docker Compose itself reads it (``docker-compose config``).
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from portal.config import load_config
from tests.conftest import ROOT, need

DEPLOY = ROOT / "deploy"
CONFIG_SOURCE = (ROOT / "portal" / "config.py").read_text()
# Read by config.py only to refuse it, with a message saying what replaced it.
NO_LONGER_READ = {"PORTAL_CARE_PHONE"}


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def command(service: dict[str, Any]) -> str:
    value = service["command"]
    return " ".join(value) if isinstance(value, list) else str(value)


def example_settings() -> dict[str, str]:
    """deploy/.env.example's settings, the commented-out optional ones included."""
    found = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        match = re.match(r"#?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2) if not line.startswith("#") else None
    return found


def settings_config_reads() -> set[str]:
    return set(re.findall(r'"(PORTAL_[A-Z0-9_]+)"', CONFIG_SOURCE)) - NO_LONGER_READ


def test_compose_has_web_worker_scheduler_postgres_redis_and_a_one_shot_migration():
    services = compose()["services"]
    assert {"web", "worker", "scheduler", "postgres", "redis", "migrate"} <= set(services)
    assert command(services["web"]) == "gunicorn -c gunicorn.conf.py wsgi:app"
    assert command(services["worker"]) == "flask --app wsgi portal deliver"
    assert command(services["scheduler"]) == "flask --app wsgi portal scheduler"
    assert command(services["migrate"]) == "flask --app wsgi db upgrade"
    assert services["migrate"]["restart"] == "no"
    assert services["web"]["deploy"]["replicas"] >= 2
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_health_checks_use_the_portals_probes():
    services = compose()["services"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][-1] == "ping"
    for name in ("web", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert all(depends[s]["condition"] == "service_healthy" for s in depends if s in ("postgres", "redis"))
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"HEALTHCHECK .*\n.*127\.0\.0\.1:8000/healthz", dockerfile)


def test_every_setting_passed_is_one_the_portal_reads_and_every_one_it_reads_is_listed():
    passed: set[str] = set()
    for service in compose()["services"].values():
        environment = service.get("environment") or {}
        passed |= {name for name in environment if name.startswith("PORTAL_")}
    listed = {name for name in example_settings() if name.startswith("PORTAL_")}
    reads = settings_config_reads()
    assert passed and passed <= reads, passed - reads
    assert listed <= reads, listed - reads
    assert reads <= listed | passed, f"not in deploy/.env.example: {sorted(reads - listed - passed)}"


def test_the_compose_settings_and_the_example_make_a_production_configuration_that_starts(tmp_path: Path):
    """What a web container gets: the example's settings, with its blanks filled as an
    operator would, under the compose file's own environment."""
    from tests.unit.test_config_signing import write_p12

    env = {name: value for name, value in example_settings().items() if value is not None}
    keys = ("PORTAL_SECRET_KEY", "PORTAL_CARD_HASH_KEY", "PORTAL_AUDIT_KEY")
    assert all(env.get(name) == "" for name in keys)  # required, and left for the operator
    env.update({name: secrets.token_urlsafe(32) for name in keys})
    env["PORTAL_SIGNING_P12_PASSWORD"] = "p12-password"
    web = compose()["services"]["web"]["environment"]
    env.update(
        {
            name: str(value).replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in deploy/.env}", "pw")
            for name, value in web.items()
        }
    )
    p12 = tmp_path / "signing_p12"
    write_p12(p12, b"p12-password")
    assert env["PORTAL_SIGNING_P12"] == "/run/secrets/signing_p12"
    env["PORTAL_SIGNING_P12"] = str(p12)
    config = load_config(tmp_path, env)
    assert config["PORTAL_ENV"] == "production"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://portal:pw@postgres:5432/portal"
    assert config["RATELIMIT_STORAGE_URI"].startswith("redis://")  # so /readyz checks Redis too


def test_the_image_is_slim_non_root_and_has_what_pdfs_need():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.count("FROM python:3.11-slim-bookworm") == 2
    runtime = re.search(r"^runtime=\((.*)\)$", (ROOT / "scripts" / "system-packages").read_text(), re.M)
    assert runtime is not None
    for package in runtime.group(1).split():
        assert package in dockerfile, package
    assert re.search(r"^USER portal$", dockerfile, re.M) and "useradd" in dockerfile
    assert "pybabel compile -d translations" in dockerfile
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]' in dockerfile
    for path in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.M):
        for name in path.split():
            assert (ROOT / name).exists(), f"the Dockerfile copies {name}, which is not in the repository"


def test_docker_compose_reads_the_file(tmp_path: Path):
    """Docker Compose's own reading of the file (offline: nothing is pulled or built)."""
    binary = shutil.which("docker-compose")
    need(binary is not None, "docker-compose (apt-get install docker-compose)")
    assert binary is not None
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    shutil.copy(copy / ".env.example", copy / ".env")
    result = subprocess.run(
        [binary, "-f", str(copy / "compose.yaml"), "config", "--services"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"migrate", "postgres", "redis", "scheduler", "web", "worker"}


def test_compose_refuses_to_run_without_the_database_password(tmp_path: Path):
    missing = "POSTGRES_PASSWORD"
    binary = shutil.which("docker-compose")
    need(binary is not None, "docker-compose (apt-get install docker-compose)")
    assert binary is not None
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    example = (copy / ".env.example").read_text()
    (copy / ".env").write_text(re.sub(rf"^{missing}=.*$", "", example, flags=re.M))
    result = subprocess.run(
        [binary, "-f", str(copy / "compose.yaml"), "config"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0 and missing in result.stderr
