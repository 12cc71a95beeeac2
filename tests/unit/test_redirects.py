"""``safe_next``: every ``next`` parameter goes through it, so it must refuse every trick."""

from __future__ import annotations

import pytest

from portal.redirects import safe_next


@pytest.mark.parametrize(
    "target",
    [
        "/care/accounts/3",
        "/account",
        "/care/search?q=Li&dob=1988-04-12",
        "/learn/interest#fees",
        "/",
        "/care/accounts/3?next=//x",
    ],
)
def test_same_site_paths_pass(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.example",
        "///evil.example",
        "https://evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example/x",
        "/\\evil",
        "\\\\evil",
        "/\\/evil",
        # Browsers drop tabs and new lines anywhere in a URL: "/\t/host" is read as "//host".
        "/\t/evil.example/x",
        "/\n/evil.example",
        "/\r/evil.example",
        "\t//evil.example",
        " //evil.example",
        "/\x00/evil",
        "/\x1b/evil",
        "/\x7f/evil",
        "/\u200b/evil",
        "/\u2028/evil",
        "/\ufeff/evil",
        "/" + "a" * 3000,
    ],
)
def test_anything_else_is_refused(target):
    assert safe_next(target) is None
