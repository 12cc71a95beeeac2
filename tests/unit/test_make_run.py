"""`make run PORT=…` makes links, demo text and PDFs use the port it serves on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def public_url(*args: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "PORTAL_PUBLIC_URL"} | env
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "public-url", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_public_url_follows_host_and_port_unless_set():
    assert public_url() == "http://127.0.0.1:5000"
    assert public_url("PORT=5055") == "http://127.0.0.1:5055"
    assert public_url("HOST=0.0.0.0", "PORT=8080") == "http://localhost:8080"
    assert public_url("PORT=5055", PORTAL_PUBLIC_URL="https://cards.example.com") == "https://cards.example.com"
