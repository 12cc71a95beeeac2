"""SMS segments as carriers count them, and the invisible characters that must not force UCS-2."""

from __future__ import annotations

import pytest

from portal.domain.sms import GSM7, UCS2, SmsCount, count_segments, is_gsm7, sms_text


def test_an_empty_text_is_no_message() -> None:
    assert count_segments("") == SmsCount(GSM7, 0, 0)


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)])
def test_gsm7_fits_160_in_one_part_then_153_a_part(length: int, segments: int) -> None:
    assert count_segments("a" * length) == SmsCount(GSM7, length, segments)


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_fits_70_in_one_part_then_67_a_part(length: int, segments: int) -> None:
    assert count_segments("还" * length) == SmsCount(UCS2, length, segments)


def test_extension_characters_take_two_septets() -> None:
    assert count_segments("€" * 80) == SmsCount(GSM7, 160, 1)
    assert count_segments("€" * 80 + "a") == SmsCount(GSM7, 161, 2)
    assert count_segments("{}[]~^|\\") == SmsCount(GSM7, 16, 1)


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 plain septets then "€": the pair does not fit in the first part's last septet.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).units == 306
    assert count_segments(text).segments == 3  # 306 septets would fit two parts if split


def test_an_emoji_takes_two_ucs2_units_and_is_never_split() -> None:
    assert count_segments("😀" * 35) == SmsCount(UCS2, 70, 1)
    assert count_segments("😀" * 35 + "a") == SmsCount(UCS2, 71, 2)
    text = "a" * 66 + "😀" + "a" * 66  # the surrogate pair goes whole into the next part
    assert count_segments(text) == SmsCount(UCS2, 134, 3)


def test_the_gsm_alphabet_includes_its_accented_letters_and_greek_capitals() -> None:
    assert is_gsm7("Ça coute 10 £? ¡Sì! ÄÖÜ ΔΦΓΛΩΠΨΣΘΞ @_\n")
    assert not is_gsm7("coût")  # û is not in GSM 03.38
    assert not is_gsm7("还款")


@pytest.mark.parametrize("space", ["\u202f", "\u00a0", "\u2009", "\u2007", "\u3000"])
def test_invisible_spaces_become_plain_spaces_in_gsm7_text(space: str) -> None:
    text = f"Works until 30 Nov 2026, 8:00{space}PM."
    assert count_segments(text).encoding == UCS2
    assert sms_text(text) == "Works until 30 Nov 2026, 8:00 PM."
    assert count_segments(sms_text(text)).encoding == GSM7


@pytest.mark.parametrize("mark", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u2068"])
def test_zero_width_characters_are_dropped_from_gsm7_text(mark: str) -> None:
    assert sms_text(f"Reply{mark} STOP") == "Reply STOP"


def test_a_ucs2_text_is_left_as_it_is() -> None:
    family = "👨\u200d👩\u200d👧"  # joined by zero-width joiners: they belong there
    assert sms_text(f"{family}\u00a0hi") == f"{family}\u00a0hi"
    chinese = "有效期至 2026年11月30日 20:00\u202f。"
    assert sms_text(chinese) == chinese


def test_normalising_halves_the_cost_of_a_two_part_english_text() -> None:
    text = "a" * 200 + "\u202f" + "b" * 100
    assert count_segments(text) == SmsCount(UCS2, 301, 5)
    assert count_segments(sms_text(text)) == SmsCount(GSM7, 301, 2)
