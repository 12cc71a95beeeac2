from __future__ import annotations

import pytest

from portal.demo import with_check_digit
from portal.security import card_hash, luhn_valid, mask_name, normalise_digits


@pytest.mark.parametrize("number", ["4111111111111111", "6222000000000017", "378282246310005", "5555555555554444"])
def test_luhn_accepts_real_test_numbers(number):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "1234", "", "41111111111111111111", "٤١١١١١١١١١١١١١١١", "abcd"])
def test_luhn_refuses_bad_numbers(number):
    assert not luhn_valid(number)


def test_check_digit_generator_agrees_with_luhn():
    for serial in range(200):
        assert luhn_valid(with_check_digit(f"622200000000{serial:03d}"))


def test_normalise_folds_fullwidth_digits_and_spaces():
    assert normalise_digits("６２２２ 0000-0000\u00a00017") == "6222000000000017"


def test_card_hash_is_keyed():
    assert card_hash("4111111111111111", "a") != card_hash("4111111111111111", "b")
    assert "4111" not in card_hash("4111111111111111", "a")


def test_mask_name():
    assert mask_name("Wang Xiaoming") == "W*** X*******"
    assert mask_name("王小明") == "王**"
