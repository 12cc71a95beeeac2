from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.demo import with_check_digit
from portal.security import card_hash, luhn_valid, mask_card_numbers, mask_name, normalise_digits


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


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("4111 1111 1111 1111 DEMO0001", "************1111 DEMO0001"),
        ("card 4111-1111-1111-1111.", "card ************1111."),
        ("4111111111111111", "************1111"),
        ("Amex 378282246310005 thanks", "Amex ***********0005 thanks"),
        ("６２２２ ０００００ ０００００ １７", "************0017"),  # full-width, as typed on a Chinese keyboard
        ("4111 1111 1111 1111 2026-11-30", "************1111 2026-11-30"),  # a date after it stays
        ("5555555555554444,4111111111111111", "************4444,************1111"),
        ("还款4111111111111111", "还款************1111"),
    ],
)
def test_card_numbers_in_text_are_masked_but_the_last_four(text, masked):
    assert mask_card_numbers(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "",
        "DEMO0001",
        "PA-7K3M-9QXD-4 DEMO0001",
        "4111 1111 1111 1112",  # fails the Luhn check
        "tel +86 138 0013 8001",  # a phone number
        "amount 1234567890123456",  # not Luhn-valid
        "411111111111",  # 12 digits: too short for a card
        "2026-11-30 245.00",
    ],
)
def test_other_digits_are_left_as_they_are(text):
    assert mask_card_numbers(text) == text


@given(
    body=st.text(alphabet="0123456789", min_size=12, max_size=18),
    group=st.integers(min_value=0, max_value=6),
    separator=st.sampled_from([" ", "-", "\u00a0"]),
    before=st.text(alphabet="ABCXYZ .,:", max_size=10),
    after=st.text(alphabet="ABCXYZ .,:", max_size=10),
)
def test_any_luhn_valid_number_however_grouped_keeps_only_its_last_four(body, group, separator, before, after):
    number = with_check_digit(body)
    written = separator.join(number[i : i + group] for i in range(0, len(number), group)) if group else number
    masked = mask_card_numbers(before + written + after)
    assert masked == before + "*" * (len(number) - 4) + number[-4:] + after
    assert mask_card_numbers(masked) == masked
