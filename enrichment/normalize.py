"""Normalizers: email, phone (E.164) and its time zone, email domain and free-mail flag, country,
names.

Each one takes what a source sent and returns a clean value or None; none of them raises on bad
input. Lookup lists (free-mail domains, countries and their regions) are the dbt seeds in
dbt_project/seeds/, read here too so there is one declared place for them.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import timezone as phone_zones

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


# The pre-2008 names libphonenumber's time zone map still uses, and the tz database's current name
# for each (tz's `backward` file links them). tests/enrichment/test_normalize.py checks the map
# against the tz database's zone.tab, so a phonenumbers upgrade that brings a new old name fails.
ZONE_RENAMES: dict[str, str] = {
    "Africa/Asmera": "Africa/Asmara",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Choibalsan": "Asia/Ulaanbaatar",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Truk": "Pacific/Chuuk",
}


def phone_timezone(e164: str | None, country_code: str | None = None) -> str | None:
    """The IANA time zone a phone number's prefix places it in ('+1415...' -> America/Los_Angeles),
    from libphonenumber's prefix map; None when the prefix spans several zones (an Australian
    mobile, a US toll-free number), the number is invalid, or it belongs to another country than
    `country_code` (a record's stated country outranks a phone from abroad)."""
    if not e164:
        return None
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    if country_code is not None and phonenumbers.region_code_for_number(parsed) != country_code:
        return None
    zones = phone_zones.time_zones_for_number(parsed)
    if len(zones) != 1 or zones[0] == phone_zones.UNKNOWN_TIMEZONE:
        return None
    return ZONE_RENAMES.get(zones[0], zones[0])


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


# --------------------------------------------------------------------------- ICP attributes
#
# Seniority and department are read from the job title with ordered tables: the first row whose
# pattern matches wins. Titles are folded first (NFKC, accents removed, case-folded, punctuation to
# spaces), so 'Directeur Général', 'DIRECTOR, SALES' and 'Vice-President' match like plain ASCII.


def fold(value: str) -> str:
    """Lower-case ASCII-ish words separated by single spaces: the form the title tables read."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", value))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[\W_]+", " ", stripped.casefold()).split())


def _table(rows: tuple[tuple[str, str], ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(rf"\b(?:{pattern})\b")) for name, pattern in rows)


SENIORITY_TABLE = _table(
    (
        ("intern", r"intern|internship|trainee|apprentice|praktikant(?:in)?|stagiaire|becario"),
        ("student", r"student|werkstudent(?:in)?|estudiante|etudiant"),
        ("vp", r"vp|svp|evp|avp|vice president|vice presidente|vizeprasident"),
        (
            "c_level",
            r"ceo|cto|cmo|cfo|coo|cro|cio|cpo|cdo|cso|ciso|chro|cco|chief|founder|co founder|"
            r"cofounder|owner|president|presidente|managing director|geschaftsfuhrer(?:in)?|vorstand|directeur general|director general",
        ),
        ("director", r"director|directeur|directora|direktor(?:in)?|head|leiter(?:in)?"),
        ("manager", r"manager|managerin|lead|team lead|supervisor|gerente|responsable"),
    )
)

DEPARTMENT_TABLE = _table(
    (
        ("operations", r"revops|revenue operations|sales operations|bizops|coo|operations"),
        ("engineering", r"cto"),
        ("marketing", r"cmo"),
        ("finance", r"cfo"),
        ("sales", r"cro|chief revenue officer"),
        ("it", r"cio|ciso|information technology|it|sysadmin|system administrator|helpdesk"),
        ("hr", r"chro|hr|human resources|people|talent|recruiter|recruiting"),
        ("data", r"data|analytics|bi|business intelligence|data scientist"),
        ("product", r"product|cpo"),
        ("design", r"design|designer|ux|ui"),
        (
            "sales",
            r"sales|account executive|account manager|sdr|bdr|business development|"
            r"vertrieb|ventas|commercial|revenue",
        ),
        (
            "marketing",
            r"marketing|demand generation|demand gen|growth|brand|content|seo|communications|pr",
        ),
        (
            "engineering",
            r"engineer|engineering|developer|software|devops|architect|programmer|ingenieur",
        ),
        ("finance", r"finance|financial|accountant|accounting|controller|treasurer"),
        ("customer_success", r"customer success|support|customer service|account management"),
        ("legal", r"legal|counsel|lawyer|attorney|compliance"),
        ("operations", r"logistics|supply chain|coordinator|office manager"),
        (
            "executive",
            r"ceo|chief executive|founder|co founder|cofounder|owner|president|managing director|"
            r"general manager|geschaftsfuhrer(?:in)?|directeur general",
        ),
    )
)


def _first(table: tuple[tuple[str, re.Pattern[str]], ...], folded: str) -> str | None:
    for name, pattern in table:
        if pattern.search(folded):
            return name
    return None


def seniority(job_title: str | None) -> str | None:
    """c_level | vp | director | manager | individual_contributor | intern | student; None when
    there is no title. A title that names no level ('Data Analyst') is an individual contributor."""
    if job_title is None:
        return None
    folded = fold(job_title)
    if not folded or not any(ch.isalpha() for ch in folded):
        return None
    return _first(SENIORITY_TABLE, folded) or "individual_contributor"


def department(job_title: str | None) -> str | None:
    """sales | marketing | engineering | it | finance | hr | operations | executive | data |
    product | design | customer_success | legal; None when the title names no function."""
    if job_title is None:
        return None
    folded = fold(job_title)
    return _first(DEPARTMENT_TABLE, folded) if folded else None


def normalize_industry(value: str | None) -> str | None:
    """'Real Estate', 'REAL_ESTATE', ' real-estate ' -> 'real_estate'; blank -> None."""
    if value is None:
        return None
    folded = fold(value)
    return folded.replace(" ", "_") if folded else None


# HubSpot's `numemployees` contact property options, as LeadFlow's employee bands (lower bound, band).
EMPLOYEE_BANDS: tuple[tuple[int, str], ...] = (
    (1000, "1000+"),
    (500, "500-1000"),
    (100, "100-500"),
    (50, "50-100"),
    (25, "25-50"),
    (5, "5-25"),
    (1, "1-5"),
)
_COUNT = r"(\d{1,3}(?:[,. ]\d{3})+|\d+)\s*(k)?"
_RANGE_RE = re.compile(rf"^{_COUNT}\s*(?:-|to|bis)\s*{_COUNT}$")
_PLUS_RE = re.compile(rf"^(?:>|>=|over|more than|mehr als)?\s*{_COUNT}\s*(\+)?$")


# No company employs more than this; a longer number is unreadable, not a band (it would also
# overflow float() and Python's 4,300-digit int() limit).
MAX_EMPLOYEES = 10**8


def _count(digits: str, thousands: str | None) -> int | None:
    plain = re.sub(r"[,. ]", "", digits)
    if len(plain) > len(str(MAX_EMPLOYEES)):
        return None
    return int(plain) * (1000 if thousands else 1)


def employee_band(value: str | int | float | None) -> str | None:
    """An employee count or range -> one of HubSpot's bands ('1-5' ... '1000+').

    A number falls in the band whose lower bound it reaches; a range ('51-200', '1,000-5,000') is
    placed by its geometric middle, so HubSpot's own options map to themselves. Unreadable -> None.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        return _band_for(float(value)) if abs(value) <= MAX_EMPLOYEES else None
    text = unicodedata.normalize("NFKC", value).strip().lower()
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("employees", "").strip()
    if not text:
        return None
    found = _RANGE_RE.match(text)
    if found:
        low = _count(found.group(1), found.group(2))
        high = _count(found.group(3), found.group(4))
        if low is None or high is None or low <= 0 or high < low:
            return None
        return _band_for(math.sqrt(low * high))
    found = _PLUS_RE.match(text)
    if found:
        count = _count(found.group(1), found.group(2))
        return None if count is None else _band_for(float(count))
    return None


def _band_for(count: float) -> str | None:
    if count < 1:
        return None
    for lower, band in EMPLOYEE_BANDS:
        if count >= lower:
            return band
    return None
