"""Agreement references: the check symbol rejects every single typing mistake."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.agreements.reference import (
    ALPHABET,
    BadReferenceError,
    check_symbol,
    format_reference,
    is_valid,
    new_reference,
    parse_reference,
)

data_symbols = st.text(alphabet=ALPHABET, min_size=8, max_size=8)


def symbols_of(data: str) -> str:
    return data + check_symbol(data)


@given(data_symbols)
def test_a_reference_with_its_check_symbol_is_valid(data):
    assert is_valid(symbols_of(data))
    assert parse_reference(symbols_of(data)) == format_reference(symbols_of(data))


@given(data_symbols, st.integers(0, 8), st.sampled_from(ALPHABET))
def test_every_single_substitution_is_detected(data, position, replacement):
    symbols = symbols_of(data)
    if symbols[position] == replacement:
        return
    mistyped = symbols[:position] + replacement + symbols[position + 1 :]
    assert not is_valid(mistyped)
    with pytest.raises(BadReferenceError):
        parse_reference(format_reference(mistyped))


@given(data_symbols, st.integers(0, 7))
def test_every_adjacent_transposition_is_detected(data, position):
    symbols = symbols_of(data)
    a, b = symbols[position], symbols[position + 1]
    if a == b:
        return
    swapped = symbols[:position] + b + a + symbols[position + 2 :]
    assert not is_valid(swapped)


def test_exhaustively_for_one_reference():
    # Every substitution at every position and every transposition, check symbol included.
    symbols = symbols_of("7K3M9QXD")
    for position in range(9):
        for replacement in ALPHABET.replace(symbols[position], ""):
            assert not is_valid(symbols[:position] + replacement + symbols[position + 1 :])
    for position in range(8):
        if symbols[position] != symbols[position + 1]:
            assert not is_valid(
                symbols[:position] + symbols[position + 1] + symbols[position] + symbols[position + 2 :]
            )


def test_new_references_look_right_and_differ():
    references = {new_reference() for _ in range(200)}
    assert len(references) == 200
    for reference in references:
        assert re.fullmatch(r"PA-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]", reference)
        assert is_valid(reference)


@pytest.mark.parametrize(
    "typed",
    [
        "{ref}",
        "{lower}",
        "{bare}",
        "  {spaced}  ",
        "{no_prefix}",
        "{fullwidth}",
        "{with_o_and_l}",
    ],
)
def test_typing_variations_are_normalised(typed):
    reference = format_reference(symbols_of("10K3M9QX"[:8]))  # contains 0 and 1
    bare = reference.replace("-", "")
    variants = {
        "ref": reference,
        "lower": reference.lower(),
        "bare": bare,
        "spaced": " ".join(bare),
        "no_prefix": reference[3:],
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) if c != "-" else "－" for c in reference),
        "with_o_and_l": reference.replace("0", "O").replace("1", "l"),
    }
    assert parse_reference(typed.format(**variants)) == reference


@pytest.mark.parametrize(
    "typed", ["", "PA-", "PA-7K3M-9QXD", "PA-7K3M-9QXD-FF", "PA-7K3M-9QXU-F", "PA-7K3M-9QX!-F", "XX-7K3M-9QXD-F-0"]
)
def test_malformed_references_are_refused(typed):
    with pytest.raises(BadReferenceError):
        parse_reference(typed)
