"""Warming the agreement renderer when a worker starts, not on a cardholder's request.

The first agreement a process renders pays for everything loaded once: WeasyPrint's and
pyHanko's modules, fontconfig and the CJK font, the parsed stylesheet, the compiled
templates, Babel's locale data and the bank's key (several seconds on a busy machine).
The web workers sign an agreement right after the request that accepts a plan, so
without this the first cardholder after a deploy or a worker restart waits for it.

`warm_up(app)` is called from gunicorn's ``post_worker_init`` hook (gunicorn.conf.py)
and by the commands that produce agreements outside the web (``flask agreements
produce-pending``, the outbox worker's retries). It lays out and signs a one-page
document in each script, touching no database; a failure is logged, never raised: the
worker still serves, and the first agreement then loads what is missing itself.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from decimal import Decimal

from flask import Flask
from flask_babel import force_locale

from portal.agreements import render, signing
from portal.i18n import LOCALES, local_date, money, percent

__all__ = ["warm_up"]

log = logging.getLogger(__name__)

# The agreement's own templates, compiled and cached by Jinja on first load (per language).
_TEMPLATES = ("agreements/document.html", "agreements/_document_body.html", "journey/_macros.html")

# A page in every script an agreement is written in, laid out with the agreement
# stylesheet: it loads the font faces and shapes text the way an agreement does, the
# payment schedule's monospaced face, its tables and a list included (without them
# the first agreement of a worker loaded the Mono face itself, ~50 ms of CPU).
_SAMPLE = """<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8"><title>warm-up</title></head>
<body><h1>还款协议 還款協議 Repayment agreement</h1>
<p>本协议由持卡人与银行签订。本協議由持卡人與銀行簽訂。This agreement is made between the cardholder and the bank.</p>
<table><thead><tr><th>到期日</th><th>本金</th><th>手续费</th><th>合计</th></tr></thead>
<tbody><tr><td>2027年2月28日 (第1期)</td><td>¥1,234.56</td><td>¥7.41</td><td>¥1,241.97</td></tr></tbody></table>
<table class="facts amounts"><tr><th>利息 利息 Interest</th><td>¥489.00</td></tr>
<tr class="total"><th>欠款总额 欠款總額 Total balance</th><td>¥10,629.00</td></tr></table>
<table class="schedule-grid"><thead><tr class="head"><td>到期还款日（期数）  本金  手續費  Total due</td></tr></thead>
<tbody><tr><td>2026年12月28日（第1期）　  ¥150.33  ¥52.45  ¥202.78</td></tr>
<tr class="alt"><td>2027年1月28日（第2期）　  ¥151.09  ¥51.69  ¥202.78</td></tr>
<tr class="sum"><td>合计 合計 Total　  ¥10,489.00  ¥1,677.94  ¥12,166.94</td></tr></tbody></table>
<ul><li>每月按时还款。每月按時還款。Pay on time each month.</li></ul>
</body></html>"""


def warm_up(app: Flask) -> float:
    """Load what rendering and signing an agreement needs; return the seconds it took."""
    started = time.perf_counter()
    try:
        with app.app_context():
            for locale in LOCALES:
                with force_locale(locale):  # as render_html asks: each language's compiled copy
                    for name in _TEMPLATES:
                        app.jinja_env.get_template(name)
                    money(Decimal("1234.56"), "CNY")
                    percent(Decimal("0.1303"))
                    local_date(date(2027, 2, 28), "medium")
            pdf = render.html_to_pdf(_SAMPLE, "warm-up")
            signing.sign_pdf(pdf, reason="warm-up", location="warm-up")
    except Exception:
        log.exception("agreement warm-up failed; the first agreement will load what it needs")
    return time.perf_counter() - started
