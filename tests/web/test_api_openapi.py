"""The OpenAPI file is valid 3.1, served unsigned, and names every route and error code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from openapi_spec_validator import validate

from portal.api.views import OPENAPI

ROOT = Path(__file__).resolve().parents[2]


def test_the_openapi_file_is_a_valid_openapi_3_1_document():
    document = json.loads(OPENAPI.read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_it_is_served_without_a_signature(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == json.loads(OPENAPI.read_text())


def test_every_route_under_api_v1_is_described(app):
    paths = json.loads(OPENAPI.read_text())["paths"]
    found = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        assert path in paths, rule.rule
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], f"{method} {rule.rule}"
            found += 1
    assert found == 3


def test_every_error_code_the_api_can_answer_is_documented():
    text = OPENAPI.read_text()
    sources = [
        *(ROOT / "portal" / "integrations" / "core_banking").glob("*.py"),
        *(ROOT / "portal" / "api").glob("*.py"),
    ]
    codes = set()
    for source in sources:
        body = source.read_text()
        codes |= set(re.findall(r'(?:ApiRefusal|SignatureRefused)\(\s*(?:[0-9]{3},\s*)?"([a-z_0-9]+)"', body))
        codes |= set(re.findall(r'[0-9]{3}: "([a-z_]+)"', body))
    assert {"signature_invalid", "replayed", "idempotency_key_reused", "minimum_due_above_balance"} <= codes
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert missing == []
