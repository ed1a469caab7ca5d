"""Normalizers: what a source sends in, a clean value (or None) out, never an exception."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from phonenumbers import tzdata as phone_tzdata

from connectors.hubspot.models import parse_contact
from connectors.records import SourceRecord
from enrichment import enrich
from enrichment.normalize import (
    SEEDS,
    ZONE_RENAMES,
    department,
    employee_band,
    is_free_email,
    normalize_country,
    normalize_email,
    normalize_industry,
    normalize_name,
    normalize_phone,
    phone_timezone,
    seniority,
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


# --------------------------------------------------------------------------- time zones

ZONE_TAB = Path("/usr/share/zoneinfo/zone.tab")


def _zone_tab() -> dict[str, list[str]]:
    """country -> its zones, from the tz database's zone.tab (Debian's tzdata package)."""
    if not ZONE_TAB.exists():
        pytest.skip("the tz database's zone.tab is not on this machine (Debian package tzdata)")
    zones: dict[str, list[str]] = defaultdict(list)
    for line in ZONE_TAB.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone = line.split("\t")[:3]
            zones[country].append(zone)
    return zones


@pytest.mark.parametrize(
    ("phone", "country", "zone"),
    [
        ("+14155550123", "US", "America/Los_Angeles"),  # San Francisco
        ("+12125550123", "US", "America/New_York"),
        ("+13125550123", None, "America/Chicago"),  # no stated country: the phone's
        ("+14035550123", "CA", "America/Edmonton"),  # Calgary
        ("+16045550123", "CA", "America/Vancouver"),
        ("+61255501234", "AU", "Australia/Sydney"),
        ("+61892221234", "AU", None),  # 08: Perth or Adelaide, the prefix cannot tell
        ("+919876543210", "IN", "Asia/Kolkata"),  # libphonenumber's Asia/Calcutta, renamed
        ("+442079460123", "GB", "Europe/London"),
        ("+61412345678", "AU", None),  # a mobile: anywhere in Australia
        ("+18005550123", "US", None),  # toll-free: no place
        ("+14165550123", "US", None),  # a Toronto number on a record that says US
        ("+4915112345678", "DE", "Europe/Berlin"),
        ("not a phone", None, None),
        ("", None, None),
        (None, "US", None),
    ],
)
def test_phone_timezone(phone: str | None, country: str | None, zone: str | None) -> None:
    assert phone_timezone(phone, country) == zone


def test_every_zone_a_phone_can_give_is_a_current_tz_name() -> None:
    """libphonenumber still names some zones by their pre-2008 names; each is renamed to the name
    zone.tab uses, so one place is not two zones in the warehouse."""
    current = {zone for zones in _zone_tab().values() for zone in zones}
    given = {zone for zones in phone_tzdata.TIMEZONE_DATA.values() for zone in zones}
    renamed = {ZONE_RENAMES.get(zone, zone) for zone in given} - {"Etc/Unknown"}
    assert sorted(renamed - current) == []
    assert set(ZONE_RENAMES.values()) <= current


def test_every_country_main_zone_is_one_of_its_zones() -> None:
    zones = _zone_tab()
    with (SEEDS / "country_regions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 240
    for row in rows:
        code, zone = row["country_code"], row["timezone"]
        if not zone:
            assert code in {"AQ", "BV", "HM"}, code
            continue
        ZoneInfo(zone)  # a zone Python (and PostgreSQL, from the same database) can read
        assert code == "XK" or zone in zones[code], (code, zone)


def test_enrich_gives_each_record_its_phone_zone() -> None:
    record = SourceRecord(
        "meta", "leads", "1", None, None, email="x@acme.io", phone="(415) 555-0134", country="USA"
    )
    row = enrich(record)
    assert row["phone_e164"] == "+14155550134"
    assert row["phone_timezone"] == "America/Los_Angeles"


# --------------------------------------------------------------------------- ICP attributes


@pytest.mark.parametrize(
    ("title", "level", "function"),
    [
        pytest.param("CEO", "c_level", "executive", id="ceo"),
        pytest.param("Chief Executive Officer", "c_level", "executive", id="chief-executive"),
        pytest.param("CTO", "c_level", "engineering", id="cto-is-engineering"),
        pytest.param("Chief Revenue Officer", "c_level", "sales", id="cro"),
        pytest.param("Co-Founder", "c_level", "executive", id="co-founder"),
        pytest.param("Geschäftsführerin", "c_level", "executive", id="german-umlaut"),
        pytest.param("Directeur Général", "c_level", "executive", id="french-accents"),
        pytest.param("Vice-President, Marketing", "vp", "marketing", id="vice-president"),
        pytest.param("SVP Sales", "vp", "sales", id="svp"),
        pytest.param("Head of Growth", "director", "marketing", id="head-of"),
        pytest.param("DIRECTOR OF ENGINEERING", "director", "engineering", id="all-caps"),
        pytest.param("RevOps Manager", "manager", "operations", id="revops"),
        pytest.param("Team Lead, Platform", "manager", None, id="lead-no-function"),
        pytest.param("Account Executive", "individual_contributor", "sales", id="ae-not-c-level"),
        pytest.param("Data Analyst", "individual_contributor", "data", id="analyst"),
        pytest.param("Software Engineer", "individual_contributor", "engineering", id="engineer"),
        pytest.param("HR Business Partner", "individual_contributor", "hr", id="hr-partner"),
        pytest.param("Consultant", "individual_contributor", None, id="no-function"),
        pytest.param("Marketing Intern", "intern", "marketing", id="intern"),
        pytest.param("Werkstudentin", "student", None, id="werkstudentin"),
        pytest.param("Student", "student", None, id="student"),
        pytest.param(
            "\uff56\uff50 \uff53\uff41\uff4c\uff45\uff53", "vp", "sales", id="fullwidth-nfkc"
        ),
        pytest.param("   ", None, None, id="blank"),
        pytest.param("1234 !!", None, None, id="no-letters"),
        pytest.param(None, None, None, id="missing"),
    ],
)
def test_seniority_and_department_from_the_title(
    title: str | None, level: str | None, function: str | None
) -> None:
    assert (seniority(title), department(title)) == (level, function)


@pytest.mark.parametrize(
    ("given", "band"),
    [
        *(pytest.param(b, b, id=f"hubspot-{b}") for b in ("1-5", "5-25", "25-50", "50-100")),
        *(pytest.param(b, b, id=f"hubspot-{b}") for b in ("100-500", "500-1000", "1000+")),
        pytest.param("1000-5000", "1000+", id="bigger-range"),
        pytest.param("10,000+", "1000+", id="thousands-separator"),
        pytest.param("10k+", "1000+", id="k-suffix"),
        pytest.param("> 1000", "1000+", id="more-than"),
        pytest.param("51-200", "100-500", id="linkedin-range"),
        pytest.param("11\u201350 employees", "5-25", id="en-dash-and-word"),
        pytest.param("250", "100-500", id="count-as-text"),
        pytest.param(3, "1-5", id="int"),
        pytest.param(999.0, "500-1000", id="float"),
        pytest.param(0, None, id="zero"),
        pytest.param(-3, None, id="negative"),
        pytest.param(float("nan"), None, id="nan"),
        pytest.param("50-10", None, id="reversed-range"),
        pytest.param("n/a", None, id="text"),
        pytest.param("", None, id="blank"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_employee_band(given: str | int | float | None, band: str | None) -> None:
    assert employee_band(given) == band


@pytest.mark.parametrize(
    ("given", "key"),
    [
        pytest.param("Real Estate", "real_estate", id="words"),
        pytest.param("COMPUTER_SOFTWARE", "computer_software", id="hubspot-enum"),
        pytest.param("  real-estate ", "real_estate", id="dash-and-spaces"),
        pytest.param("Énergie", "energie", id="accent"),
        pytest.param("---", None, id="punctuation-only"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_normalize_industry(given: str | None, key: str | None) -> None:
    assert normalize_industry(given) == key


def _contact(**props: str | None) -> dict:
    return {"id": "7", "properties": {"email": "x@acme.io", **props}}


@pytest.mark.parametrize(
    ("props", "unsubscribed", "bounced"),
    [
        pytest.param(
            {"hs_email_optout": "true", "hs_email_hard_bounce_reason_enum": None},
            True,
            False,
            id="opted-out",
        ),
        pytest.param(
            {"hs_email_optout": None, "hs_email_hard_bounce_reason_enum": "UNKNOWN_USER"},
            False,
            True,
            id="bounced",
        ),
        pytest.param(
            {"hs_email_optout": "false", "hs_email_hard_bounce_reason_enum": ""},
            False,
            False,
            id="neither",
        ),
        pytest.param({}, None, None, id="not-asked-for"),
    ],
)
def test_enrich_carries_the_email_status_of_a_hubspot_contact(
    props: dict, unsubscribed: bool | None, bounced: bool | None
) -> None:
    # GIVEN a HubSpot contact payload WHEN it is parsed and enriched
    row = enrich(parse_contact(_contact(**props)))
    # THEN a property asked for and empty means no; one never asked for means unknown
    assert (row["is_unsubscribed"], row["is_bounced"]) == (unsubscribed, bounced)


def test_enrich_derives_the_icp_attributes() -> None:
    row = enrich(
        parse_contact(
            _contact(jobtitle="VP of Growth", industry="Real Estate", numemployees="100-500")
        )
    )
    assert (row["seniority"], row["department"], row["industry"], row["employee_band"]) == (
        "vp",
        "marketing",
        "real_estate",
        "100-500",
    )
