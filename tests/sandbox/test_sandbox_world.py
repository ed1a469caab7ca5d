"""The generated world: determinism, ground truth, dirt rates, funnel shape, arrivals.

The rates are checked on a 3,000-person world pulled over HTTP, the way a connector sees it, with
bounds wide enough for sampling noise and narrow enough to catch a broken generator.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from sandbox import Sandbox
from sandbox.clock import parse_iso_ms, to_ms
from tests.sandbox.sandbox_helpers import (
    META_FORMS,
    NOW,
    TOKENS,
    TYPEFORM_FORMS,
    Client,
    meta_leads,
    no_limits,
    typeform_responses,
)

VALID_EMAIL = re.compile(r"^[^@\s]+@[^@\s,]+\.[A-Za-z]{2,}$")
FREE_MAIL = {"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "gmx.de"}


@dataclass(frozen=True)
class Record:
    """The fields of one source record that dirt is measured on."""

    source: str
    record_id: str
    email: str | None
    phone: str | None
    country: str | None


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    with no_limits(Sandbox(seed=11, leads=3000, tokens=TOKENS, now=NOW)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def records(big: Sandbox) -> list[Record]:
    """Every source record of the big world, pulled over HTTP."""
    out = []
    for c in big.hubspot_contacts():
        p = c["properties"]
        out.append(
            Record("hubspot", c["id"], p["email"], p["phone"] or p["mobilephone"], p["country"])
        )
    with Client(big.urls["meta"], {"Authorization": "Bearer tok-m"}) as meta:
        for form in META_FORMS:
            for lead in meta_leads(meta, form, limit=500):
                fields = {f["name"]: f["values"][0] for f in lead["field_data"]}
                out.append(
                    Record(
                        "meta",
                        lead["id"],
                        fields.get("email"),
                        fields.get("phone_number"),
                        fields.get("country"),
                    )
                )
    with Client(big.urls["typeform"], {"Authorization": "Bearer tok-t"}) as typeform:
        for form in TYPEFORM_FORMS:
            for item in typeform_responses(typeform, form):
                answers = {a["field"]["ref"]: a for a in item["answers"]}
                out.append(
                    Record(
                        "typeform",
                        item["token"],
                        answers.get("email", {}).get("email"),
                        answers.get("phone", {}).get("phone_number"),
                        answers.get("country", {}).get("choice", {}).get("label"),
                    )
                )
    return out


def _share(items: list[Any], pred: Any) -> float:
    return sum(1 for i in items if pred(i)) / len(items)


# --------------------------------------------------------------------------- determinism


def _snapshot(sb: Sandbox) -> tuple[list[Any], list[Any], list[Any]]:
    world = sb.world
    return list(world.people), sorted(world.truth.items()), sb.hubspot_contacts()


def test_the_same_seed_makes_the_same_world() -> None:
    first = _snapshot(Sandbox(seed=5, leads=200, now=NOW))
    second = _snapshot(Sandbox(seed=5, leads=200, now=NOW))
    other = _snapshot(Sandbox(seed=6, leads=200, now=NOW))
    assert first == second
    assert first[0] != other[0]


def test_the_same_arrivals_on_the_same_world_are_the_same_people() -> None:
    at = NOW + timedelta(minutes=5)
    first, second = Sandbox(seed=5, leads=100, now=NOW), Sandbox(seed=5, leads=100, now=NOW)
    assert first.add_arrivals(7, at=at) == second.add_arrivals(7, at=at)
    assert list(first.world.people) == list(second.world.people)


# --------------------------------------------------------------------------- shape of the world


def test_the_world_exposes_companies_owners_forms_and_parameters(big: Sandbox) -> None:
    world = big.world
    assert len(world.companies) == 3000 // 8
    assert len({c.domain for c in world.companies}) == len(world.companies)
    assert [o.id for o in world.owners] == [str(51_000_001 + i) for i in range(8)]
    assert {o.team for o in world.owners} == {"NA", "EMEA", "APAC"}
    assert {(f.source, f.id) for f in world.forms} == {
        ("meta", "810000000000001"),
        ("meta", "810000000000002"),
        ("typeform", "dEm0rQ"),
        ("typeform", "eB00kD"),
    }
    assert (world.params.seed, world.params.leads, world.params.generated_at) == (11, 3000, NOW)
    assert len(world.people) == 3000


def test_truth_covers_every_record_the_apis_serve(big: Sandbox, records: list[Record]) -> None:
    truth = big.world.truth
    served = {(r.source, r.record_id) for r in records}
    assert len(served) == len(records)
    assert served == set(truth)
    people = {p.person_id for p in big.world.people}
    assert set(truth.values()) == people


def test_people_have_one_to_three_records_and_1_3_on_average(big: Sandbox) -> None:
    people = list(big.world.people)
    counts = Counter(len(p.records) for p in people)
    assert set(counts) <= {1, 2, 3}
    mean = sum(k * v for k, v in counts.items()) / len(people)
    assert 1.22 <= mean <= 1.38
    with_hubspot = _share(people, lambda p: any(s == "hubspot" for s, _ in p.records))
    assert 0.55 <= with_hubspot <= 0.65
    assert all(len({s for s, _ in p.records}) == len(p.records) for p in people)


def test_arrivals_spread_over_180_days_denser_recently(big: Sandbox) -> None:
    times = [p.arrived_at for p in big.world.people]
    assert min(times) >= NOW - timedelta(days=180)
    assert max(times) <= NOW
    recent = sum(1 for t in times if t > NOW - timedelta(days=90))
    assert recent > len(times) - recent


# --------------------------------------------------------------------------- dirt


def test_about_a_quarter_of_people_use_free_mail(big: Sandbox) -> None:
    share = _share(list(big.world.people), lambda p: p.email.split("@")[1] in FREE_MAIL)
    assert 0.21 <= share <= 0.29


def test_invalid_and_missing_contact_details_come_at_the_specified_rates(
    records: list[Record],
) -> None:
    invalid = _share(records, lambda r: r.email and not VALID_EMAIL.match(r.email.strip()))
    phone_only = _share(records, lambda r: not r.email and r.phone)
    neither = _share(records, lambda r: not r.email and not r.phone)
    assert 0.025 <= invalid <= 0.055
    assert 0.018 <= phone_only <= 0.045
    assert 0.007 <= neither <= 0.025


def test_a_valid_email_never_belongs_to_two_people(big: Sandbox, records: list[Record]) -> None:
    truth = big.world.truth
    owners: dict[str, set[str]] = {}
    for r in records:
        if r.email and VALID_EMAIL.match(r.email.strip()):
            key = r.email.strip().lower()
            owners.setdefault(key, set()).add(truth[(r.source, r.record_id)])
    assert owners
    assert all(len(people) == 1 for people in owners.values())


def test_the_same_person_shows_up_with_dirty_variants(big: Sandbox, records: list[Record]) -> None:
    raw_emails = [r.email for r in records if r.email]
    assert any(e != e.strip() for e in raw_emails)
    assert any(e.strip() != e.strip().lower() for e in raw_emails)
    phones = [r.phone for r in records if r.phone and r.source == "hubspot"]
    assert any(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", p) for p in phones)
    assert any(re.fullmatch(r"\+1 \d{3} \d{3} \d{4}", p) for p in phones)
    assert any(re.fullmatch(r"\d{10}", p) for p in phones)
    assert any(p.startswith("+44 ") for p in phones)
    assert any(p.startswith("0") for p in phones)
    countries = {r.country for r in records if r.country}
    assert {"US", "United States", "Germany", "DE", "United Kingdom", "GB"} <= countries
    assert countries & {"usa", "USA", "UK"}


def test_names_on_a_persons_other_records_sometimes_carry_a_typo(big: Sandbox) -> None:
    by_id = {c["id"]: c["properties"] for c in big.hubspot_contacts()}
    multi = [p for p in big.world.people if len(p.records) > 1]
    hs = [(p, dict(p.records)["hubspot"]) for p in multi if "hubspot" in dict(p.records)]
    differs = _share(
        hs,
        lambda item: (
            (by_id[item[1]]["firstname"] or "").lower() != item[0].first_name.lower()
            or (by_id[item[1]]["lastname"] or "").lower() != item[0].last_name.lower()
        ),
    )
    assert 0.05 <= differs <= 0.5


def test_job_titles_span_seniorities(big: Sandbox) -> None:
    titles = {p.job_title for p in big.world.people}
    assert {"VP Sales", "Head of Growth", "Marketing Manager", "Student", "Intern", "CTO"} <= titles


# --------------------------------------------------------------------------- CRM history


def test_the_lifecycle_funnel_has_a_realistic_shape(big: Sandbox) -> None:
    contacts = [c["properties"] for c in big.hubspot_contacts()]

    def reached(stage: str) -> float:
        return _share(contacts, lambda p: p[f"hs_lifecyclestage_{stage}_date"] is not None)

    assert reached("lead") == 1.0
    assert 0.27 <= reached("marketingqualifiedlead") <= 0.43
    assert 0.10 <= reached("salesqualifiedlead") <= 0.20
    assert 0.045 <= reached("opportunity") <= 0.11
    assert 0.01 <= reached("customer") <= 0.05
    assert 0.14 <= _share(contacts, lambda p: p["hubspot_owner_id"]) <= 0.26


def test_stage_dates_increase_and_nothing_is_in_the_future(big: Sandbox) -> None:
    stages = ["lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
    now = to_ms(NOW)
    for contact in big.hubspot_contacts():
        p = contact["properties"]
        dates = [p[f"hs_lifecyclestage_{s}_date"] for s in stages]
        present = [parse_iso_ms(d) for d in dates if d]
        assert present == sorted(present)
        assert dates[: len(present)] == [d for d in dates if d]  # no gaps in the funnel
        assert p["lifecyclestage"] == stages[len(present) - 1]
        assert parse_iso_ms(p["createdate"]) <= parse_iso_ms(p["lastmodifieddate"]) <= now
        assert max(present) <= now


def test_intent_signals_are_in_range(big: Sandbox) -> None:
    contacts = [c["properties"] for c in big.hubspot_contacts()]
    views = [int(p["hs_analytics_num_page_views"]) for p in contacts]
    assert min(views) >= 0 and max(views) <= 80
    assert sorted(views)[len(views) // 2] < 20  # skewed: most contacts view little
    sources = {p["hs_analytics_source"] for p in contacts}
    assert {"ORGANIC_SEARCH", "PAID_SEARCH", "PAID_SOCIAL", "DIRECT_TRAFFIC"} <= sources
    assert all(int(p["num_conversion_events"]) >= 1 for p in contacts)
    assert all(
        (p["hs_analytics_last_visit_timestamp"] is None)
        == (p["hs_analytics_num_page_views"] == "0")
        for p in contacts
    )


# --------------------------------------------------------------------------- arrivals


def test_arrivals_bring_new_records_with_new_ids_and_truth(sb: Sandbox) -> None:
    # GIVEN the records that exist
    before = set(sb.world.truth)
    contact_ids = {int(c["id"]) for c in sb.hubspot_contacts()}
    # WHEN 20 people arrive
    people = sb.add_arrivals(20)
    # THEN they are new people whose records are new and attributed to them
    after = dict(sb.world.truth.items())
    new = {key: pid for key, pid in after.items() if key not in before}
    assert set(new.values()) == set(people)
    assert len(new) >= 20
    new_contacts = [int(rid) for (source, rid) in new if source == "hubspot"]
    assert new_contacts and min(new_contacts) > max(contact_ids)
    assert len(sb.world.people) == 320
