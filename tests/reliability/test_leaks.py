"""The leak search itself can find a leak (bench/reliability.py reports its zero)."""

from __future__ import annotations

from tests.reliability.leaks import find_leaks


def test_the_search_finds_each_needle_where_it_is_and_a_phone_without_its_plus() -> None:
    texts = [
        ("log", "GET /v3/contacts token=tok-123"),
        ("error", "lead ada@example.com rejected"),
        ("summary", "called 14155550134"),
        ("clean", "nothing here, not even tok-12"),
    ]
    found = find_leaks(texts, ["tok-123", "ada@example.com", "+14155550134", ""])
    assert found == [("log", 0), ("error", 1), ("summary", 2)]
