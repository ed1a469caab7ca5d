"""Normalizers: what a source sends in, a clean value (or None) out, never an exception."""

from __future__ import annotations

import pytest

from connectors.records import SourceRecord
from enrichment import enrich
from enrichment.normalize import (
    is_free_email,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("given", "address", "domain"),
    [
        pytest.param("  Ana.Silva@Acme.IO ", "ana.silva@acme.io", "acme.io", id="case-and-spaces"),
        pytest.param("mailto:bob@example.org", "bob@example.org", "example.org", id="mailto"),
        pytest.param(
            "<carol@example.org>", "carol@example.org", "example.org", id="angle-brackets"
        ),
        pytest.param("ana.silva@", None, None, id="no-domain"),
        pytest.param("ana silva@acme.io", None, None, id="space-inside"),
        pytest.param("ana.silva@acme", None, None, id="no-tld"),
        pytest.param("   ", None, None, id="blank"),
    ],
)
def test_normalize_email(given: str, address: str | None, domain: str | None) -> None:
    email = normalize_email(given)
    assert (email.address, email.domain) == (address, domain)


def test_an_invalid_email_is_flagged_but_a_missing_one_is_not() -> None:
    assert normalize_email("ana.silva@").is_invalid
    assert not normalize_email(None).is_invalid
    assert not normalize_email("").is_invalid


@pytest.mark.parametrize(
    ("given", "country", "e164"),
    [
        pytest.param("(415) 555-0134", "US", "+14155550134", id="us-national"),
        pytest.param("+1 415 555 0134", None, "+14155550134", id="international"),
        pytest.param("020 7946 0958", "GB", "+442079460958", id="uk-national"),
        pytest.param("0044 20 7946 0958", None, "+442079460958", id="00-prefix"),
        pytest.param("020 7946 0958", None, None, id="national-without-country"),
        pytest.param("12", "US", None, id="too-short"),
        pytest.param("call me", "US", None, id="not-a-number"),
    ],
)
def test_normalize_phone(given: str, country: str | None, e164: str | None) -> None:
    assert normalize_phone(given, country) == e164


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("US", "US"),
        ("us ", "US"),
        ("United States", "US"),
        ("usa", "US"),
        ("UK", "GB"),
        ("united  kingdom", "GB"),
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("Atlantis", None),
        ("", None),
    ],
)
def test_normalize_country(given: str, code: str | None) -> None:
    assert normalize_country(given) == code


def test_free_mail_domains_come_from_the_seed() -> None:
    assert is_free_email("gmail.com") is True
    assert is_free_email("acme.io") is False
    assert is_free_email(None) is None


@pytest.mark.parametrize(
    ("given", "clean"),
    [("  ana   maria ", "Ana Maria"), ("MÜLLER", "Müller"), ("McDonald", "McDonald"), ("", None)],
)
def test_normalize_name(given: str, clean: str | None) -> None:
    assert normalize_name(given) == clean


def test_enrich_infers_the_country_from_an_international_phone() -> None:
    record = SourceRecord(
        "meta", "leads", "1", None, None, email="x@acme.io", phone="+44 20 7946 0958"
    )
    row = enrich(record)
    assert row["country_code"] == "GB"
    assert row["phone_e164"] == "+442079460958"
    assert row["contact_point"] == "x@acme.io"
    assert row["email_is_valid"] is True
