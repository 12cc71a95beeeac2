"""Locale negotiation and catalog completeness."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from portal.i18n import LOCALES, negotiate
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ([("zh-CN", 1.0)], "zh_Hans"),
        ([("zh-TW", 1.0)], "zh_Hant"),
        ([("zh-HK", 1.0), ("en", 0.5)], "zh_Hant"),
        ([("zh-Hant-MO", 1.0)], "zh_Hant"),
        ([("zh", 1.0)], "zh_Hans"),
        ([("fr", 1.0), ("en-GB", 0.8)], "en"),
        ([("fr", 1.0), ("zh-SG", 0.8), ("en", 0.9)], "en"),
        ([], "en"),
    ],
)
def test_negotiation(header, expected):
    assert negotiate(header) == expected


def test_every_string_is_translated_in_every_locale(tmp_path):
    """Extract the strings afresh and require a translation for each in every catalog."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        template = read_po(fh)
    wanted = {m.id for m in template if m.id}
    assert len(wanted) > 50
    missing: list[str] = []
    for locale in LOCALES:
        with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalog = read_po(fh)
        for msgid in wanted:
            message = catalog.get(msgid)
            strings = (
                message.string
                if message and isinstance(message.string, tuple)
                else (message.string if message else "",)
            )
            if not message or "fuzzy" in message.flags or not all(strings):
                missing.append(f"{locale}: {msgid if isinstance(msgid, str) else msgid[0]}")
                continue
            forms = msgid if isinstance(msgid, tuple) else (msgid,)
            named = [set(re.findall(r"%\(\w+\)s", form)) for form in forms]
            # A plural form may leave out the count ("an installment" for one), so a
            # translation needs what every form names and may use what any form names.
            needed, allowed = set.intersection(*named), set.union(*named)
            for text in strings:
                if not needed <= set(re.findall(r"%\(\w+\)s", text)) <= allowed:
                    missing.append(f"{locale}: placeholders differ in {msgid!r}")
    assert not missing, "untranslated strings (run `make i18n-update` and translate):\n" + "\n".join(sorted(missing))
