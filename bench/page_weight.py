"""Page weight of the cardholder pages: HTML + CSS + JS, gzip-compressed, as a phone
on a slow network would download them. Target: under 50 KB each (DESIGN.md §10).

Run: .venv/bin/python bench/page_weight.py
"""

from __future__ import annotations

import gzip
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.demo import DEMO_CARDHOLDERS, load_demo
from tests.conftest import CardholderAuth, csrf_token, make_app, reset_schema, unit

TARGET = 50 * 1024


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def assets(client, html: str) -> int:
    total = 0
    for url in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html):
        total += gz(client.get(url).data)
    return total


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(f"sqlite:///{tmp}/bench.sqlite3", RATELIMIT_ENABLED=False)
        reset_schema(app)
        with unit(app):
            load_demo()
        client = app.test_client()
        demo = DEMO_CARDHOLDERS[3]
        client.get("/language/zh_Hans?next=/sign-in")
        rows = []

        def measure(name: str, url: str) -> None:
            response = client.get(url)
            html = response.get_data(as_text=True)
            rows.append((name, response.status_code, len(response.data), gz(response.data), assets(client, html)))

        for name, url in [("sign-in", "/sign-in"), ("learn", "/learn"), ("learn topic", "/learn/annualised-rate")]:
            measure(name, url)
        CardholderAuth(client).sign_in(card=demo.card_number, dob=demo.date_of_birth.isoformat())
        pages = [
            ("account", "/account"),
            ("plan start", "/plan"),
            ("budget", "/plan/budget"),
            ("offers", "/plan/offers"),
            ("promise", "/plan/promise"),
        ]
        offers = client.get("/plan/offers").get_data(as_text=True)
        fingerprint = re.findall(r"/plan/offers/([0-9a-f]{64})", offers)[0]
        pages += [("offer detail", f"/plan/offers/{fingerprint}"), ("sign", f"/plan/offers/{fingerprint}/accept")]
        for name, url in pages:
            measure(name, url)
        token = csrf_token(client.get(f"/plan/offers/{fingerprint}/accept").data)
        done = client.post(
            f"/plan/offers/{fingerprint}/accept", data={"csrf_token": token, "full_name": demo.name, "consent": "y"}
        )
        response = client.get(done.headers["Location"])
        rows.append(
            (
                "done",
                response.status_code,
                len(response.data),
                gz(response.data),
                assets(client, response.get_data(as_text=True)),
            )
        )
    print(f"{'page':<14} {'status':>6} {'html raw':>9} {'html gz':>8} {'css+js gz':>10} {'total gz':>9}")
    worst = 0
    for name, status, raw, html_gz, asset_gz in rows:
        total = html_gz + asset_gz
        worst = max(worst, total)
        print(f"{name:<14} {status:>6} {raw:>9,} {html_gz:>8,} {asset_gz:>10,} {total:>9,}")
    print(
        f"largest page: {worst / 1024:.1f} KB compressed (target < {TARGET // 1024} KB): "
        f"{'OK' if worst < TARGET else 'OVER'}"
    )


if __name__ == "__main__":
    main()
