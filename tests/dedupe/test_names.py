"""Name keys: folding, nicknames, and when two names can be one person's (the guards of both stages)."""

from __future__ import annotations

import pytest

from dedupe.names import (
    canonical_first,
    canonicals,
    edit_distance,
    first_names_compatible,
    fold,
    names_compatible,
    shared_lines,
)


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        pytest.param("Zoë", "zoe", id="diaeresis"),
        pytest.param("O'Brien-Ly", "obrienly", id="punctuation"),
        pytest.param("  JOSÉ ", "jose", id="case-and-spaces"),
        pytest.param("Łukasz", "ukasz", id="letter-without-ascii-form"),
        pytest.param("李", None, id="no-latin-letters"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_fold(raw: str | None, folded: str | None) -> None:
    assert fold(raw) == folded


def test_nicknames_map_to_their_canonical_forms() -> None:
    assert canonical_first("Bill") == canonical_first("william") == "william"
    assert set(canonicals("Pat")) == {"patricia", "patrick"}  # ambiguous forms keep every reading
    assert canonicals("Xavier") == ("xavier",)  # unknown names stand for themselves


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param("Robert", "Bob", True, id="nickname"),
        pytest.param("Jessie", "Jssica", True, id="nickname-vs-typo-of-its-canonical"),
        pytest.param("Christopher", "Christohper", True, id="transposition"),
        pytest.param("Jon", "Jonh", True, id="short-name-letter-added"),
        pytest.param("J", "John", True, id="initial"),
        pytest.param("Léa", "Lea", True, id="accent"),
        pytest.param("Katte", "Katherine", True, id="typo-of-a-nickname"),
        pytest.param("Nedd", "Edward", True, id="typo-of-another-nickname"),
        pytest.param(None, "Anna", True, id="missing-is-no-contradiction"),
        pytest.param("Tom", "Tim", False, id="short-name-letter-replaced"),
        pytest.param("Maria", "Mario", False, id="gendered-ending"),
        pytest.param("Daniel", "Daniela", False, id="gendered-suffix"),
        pytest.param("Anna", "Tom", False, id="different-people"),
    ],
)
def test_first_names_compatible(a: str | None, b: str | None, same: bool) -> None:
    assert first_names_compatible(a, b) is same
    assert first_names_compatible(b, a) is same


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(("Ana", "Silva"), ("Ana", "Sliva"), True, id="last-name-typo"),
        pytest.param(("Silva", "Ana"), ("Ana", "Silva"), True, id="swapped"),
        pytest.param((None, "Blackworth"), ("Blackworth", "Ling"), True, id="swapped-one-missing"),
        pytest.param(("Ana", "Silva"), ("Ana", "Okafor"), False, id="colleague-same-first-name"),
        pytest.param(("Ana", "Silva"), ("Rui", "Silva"), False, id="family-member"),
    ],
)
def test_names_compatible(
    a: tuple[str | None, str | None], b: tuple[str | None, str | None], same: bool
) -> None:
    assert names_compatible(*a, *b) is same


def test_edit_distance_counts_a_transposition_once_and_caps() -> None:
    assert edit_distance("martha", "marhta") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("a", "abcdefgh", limit=3) == 3


@pytest.mark.parametrize(
    ("names", "shared"),
    [
        pytest.param([("Ana", "Silva"), ("Rui", "Costa")], True, id="colleagues-on-a-switchboard"),
        pytest.param([("Ana", "Silva"), ("Rui", "Silva")], True, id="family-on-a-home-phone"),
        pytest.param(
            [("Bill", "Jones"), ("William", "Jnoes"), ("Jones", "William")],
            False,
            id="one-person-nickname-typo-and-swap",
        ),
        pytest.param([("Ana", None), ("Ana", "Silva")], False, id="a-name-missing"),
        pytest.param(
            [(f"Ana{'a' * n}", "Silva") for n in range(12)], True, id="a-dozen-names-unchecked"
        ),
    ],
)
def test_a_line_is_shared_when_its_names_are_two_peoples(
    names: list[tuple[str | None, str | None]], shared: bool
) -> None:
    # GIVEN the distinct names written with one number WHEN the lines are sorted THEN a line that
    # two people carry is shared, one person's own number (however misspelt) is not
    assert shared_lines([("+14155550134", names)]) == (["+14155550134"] if shared else [])
