"""Normalizers: email, phone (E.164), email domain and free-mail flag, country, names.

Each one takes what a source sent and returns a clean value or None; none of them raises on bad
input. Lookup lists (free-mail domains, countries and their regions) are the dbt seeds in
dbt_project/seeds/, read here too so there is one declared place for them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import phonenumbers
from email_validator import EmailNotValidError, validate_email

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"

# Spellings of countries seen in forms and CRMs that are not the seed's ISO name.
COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "britain": "GB",
    "northern ireland": "GB",
    "deutschland": "DE",
    "holland": "NL",
    "the netherlands": "NL",
    "españa": "ES",
    "espana": "ES",
    "brasil": "BR",
    "méxico": "MX",
    "south korea": "KR",
    "korea": "KR",
    "russia": "RU",
    "czech republic": "CZ",
    "uae": "AE",
    "schweiz": "CH",
    "suisse": "CH",
    "österreich": "AT",
    "italia": "IT",
    "france": "FR",
}


@lru_cache(maxsize=1)
def free_email_domains() -> frozenset[str]:
    with (SEEDS / "free_email_domains.csv").open(encoding="utf-8") as handle:
        return frozenset(row["domain"].strip().lower() for row in csv.DictReader(handle))


@lru_cache(maxsize=1)
def countries() -> dict[str, tuple[str, str]]:
    """ISO alpha-2 -> (name, region), from the country_regions seed."""
    with (SEEDS / "country_regions.csv").open(encoding="utf-8") as handle:
        return {
            row["country_code"].strip().upper(): (
                row["country_name"].strip(),
                row["region"].strip(),
            )
            for row in csv.DictReader(handle)
        }


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names = {name.lower(): code for code, (name, _region) in countries().items()}
    names.update(COUNTRY_ALIASES)
    return names


@dataclass(frozen=True)
class Email:
    given: str | None  # trimmed, as sent
    address: str | None  # normalized, only when valid
    domain: str | None

    @property
    def is_invalid(self) -> bool:
        return self.given is not None and self.address is None


def normalize_email(value: str | None) -> Email:
    """Trim, drop a mailto: prefix and angle brackets, lower-case, and check the syntax.

    Deliverability (DNS) is not checked: the pipeline runs offline and a lookup per lead would
    dominate a run. Lower-casing the local part is safe in practice: no major provider treats it
    case-sensitively, and duplicates differing only in case are the common case in CRMs.
    """
    if value is None:
        return Email(None, None, None)
    given = value.strip().strip("<>").strip()
    if given.lower().startswith("mailto:"):
        given = given[7:].strip()
    if not given:
        return Email(None, None, None)
    try:
        checked = validate_email(given, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return Email(given, None, None)
    address = checked.normalized.lower()
    return Email(given, address, address.rsplit("@", 1)[1])


def is_free_email(domain: str | None) -> bool | None:
    return None if domain is None else domain in free_email_domains()


def normalize_country(value: str | None) -> str | None:
    """'United States', 'usa', 'US', 'us ' -> 'US'; unknown -> None."""
    if value is None:
        return None
    cleaned = " ".join(value.strip().split())
    if not cleaned:
        return None
    if len(cleaned) == 2 and cleaned.upper() in countries():
        return cleaned.upper()
    if len(cleaned) == 3 and cleaned.isalpha():
        alias = COUNTRY_ALIASES.get(cleaned.lower())
        if alias:
            return alias
    return _country_names().get(cleaned.lower())


def normalize_phone(
    value: str | None, country_code: str | None, default_region: str | None = None
) -> str | None:
    """A phone number in E.164 ('+14155550134'), or None when it is not a valid number.

    A number without a leading + is read in the record's country, else in `default_region`.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    region = country_code or default_region
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_country(e164: str | None) -> str | None:
    """The country a valid E.164 number belongs to (used when a record names no country)."""
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None


_SPACES = re.compile(r"\s+")


def normalize_name(value: str | None) -> str | None:
    """Collapse whitespace, NFC-normalize, and fix ALL-CAPS or all-lower names to title case."""
    if value is None:
        return None
    cleaned = _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()
    if not cleaned:
        return None
    if cleaned.isupper() or cleaned.islower():
        cleaned = cleaned.title()
    return cleaned


def normalize_text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = _SPACES.sub(" ", value).strip()
    return cleaned or None
