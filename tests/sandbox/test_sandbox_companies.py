"""HubSpot companies in the sandbox: the API (search, list, get) and the world's accounts, as dirty
as lead-to-account matching must expect (sandbox/companies.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from enrichment.accounts import normalize_company_name, normalize_domain, split_domains
from enrichment.normalize import is_free_email
from sandbox import Sandbox
from sandbox.companies import ACCOUNT_RATE, COMPANY_FIRST_ID
from sandbox.properties import COMPANY_PROPERTY_NAMES
from tests.sandbox.sandbox_helpers import NOW, Client, no_limits

COMPANIES = "/crm/v3/objects/companies"
SEARCH = f"{COMPANIES}/search"
ALL_PROPERTIES = [p for p in COMPANY_PROPERTY_NAMES if p != "hs_object_id"]


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[Sandbox, list[dict[str, Any]]]]:
    """A world of 300 companies and every company record its CRM holds."""
    sandbox = no_limits(Sandbox(seed=3, leads=2400, tokens={"hubspot": "tok-h"}, now=NOW))
    with sandbox, Client(sandbox.urls["hubspot"], {"Authorization": "Bearer tok-h"}) as client:
        yield sandbox, list_all(client)


def list_all(client: Client, limit: int = 100) -> list[dict[str, Any]]:
    """Every company through GET /crm/v3/objects/companies, following paging.next.after."""
    results: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit, "properties": ",".join(ALL_PROPERTIES)}
    while True:
        page = client.get(COMPANIES, params=params)
        assert page.status_code == 200, page.text
        data = page.json()
        results.extend(data["results"])
        after = data.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return results
        params["after"] = after


# --------------------------------------------------------------------------- the API


def test_search_returns_hubspots_default_company_properties(hubspot: Client) -> None:
    page = hubspot.post(SEARCH, json={"limit": 2})
    assert page.status_code == 200, page.text
    body = page.json()
    first = body["results"][0]
    assert set(first["properties"]) == {
        "name",
        "domain",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }
    assert first["properties"]["hs_object_id"] == first["id"]
    assert first["createdAt"] == first["properties"]["createdate"]
    assert body["total"] > 2 and body["paging"]["next"]["after"] == "2"


def test_search_filters_on_company_properties(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN a company with a domain
    records = list_all(hubspot)
    with_domain = next(c for c in records if c["properties"]["domain"])
    domain = with_domain["properties"]["domain"]
    # WHEN searched by that domain, and by free text
    exact = hubspot.post(
        SEARCH,
        json={"filterGroups": [{"filters": [{"propertyName": "domain", "value": domain}]}]},
    ).json()
    text = hubspot.post(SEARCH, json={"query": domain.split(".")[0].removeprefix("www")}).json()
    # THEN the filter finds the records with that domain, the query at least those
    assert with_domain["id"] in {r["id"] for r in exact["results"]}
    assert {r["id"] for r in exact["results"]} <= {r["id"] for r in text["results"]}
    # AND a contact property is no company property: refused as HubSpot does
    bad = hubspot.post(
        SEARCH,
        json={
            "filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}]
        },
    )
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"


def test_list_pages_by_id_and_get_reads_one(hubspot: Client) -> None:
    # GIVEN every company, listed 7 at a time
    records = list_all(hubspot, limit=7)
    ids = [int(c["id"]) for c in records]
    assert ids == sorted(set(ids)) and ids[0] == COMPANY_FIRST_ID and len(ids) > 7
    # WHEN one is read by id, and an unknown id
    one = hubspot.get(f"{COMPANIES}/{ids[0]}", params={"properties": "name,phone"})
    missing = hubspot.get(f"{COMPANIES}/42")
    # THEN the record with the properties asked for; a 404 in HubSpot's error shape
    assert one.status_code == 200
    assert set(one.json()["properties"]) >= {"name", "phone", "hs_object_id"}
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    # AND the page size is bounded as HubSpot bounds it
    assert hubspot.get(COMPANIES, params={"limit": 101}).status_code == 400


def test_company_searches_share_the_search_rate_limit(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN a search limit of one request a minute, spent on a companies search
    sb.set_rate_limit("hubspot_search", 1, 60)
    assert hubspot.post(SEARCH, json={"limit": 1}).status_code == 200
    # THEN a contacts search is refused under the per-second search policy; a list is not search
    limited = hubspot.post("/crm/v3/objects/contacts/search", json={"limit": 1})
    assert limited.status_code == 429 and limited.json()["policyName"] == "SECONDLY"
    assert hubspot.get(COMPANIES, params={"limit": 1}).status_code == 200


def test_companies_are_fixed_by_the_seed(sb: Sandbox, hubspot: Client) -> None:
    records = list_all(hubspot)
    again = no_limits(Sandbox(seed=7, leads=300, tokens={"hubspot": "tok-h"}, now=NOW))
    with again, Client(again.urls["hubspot"], {"Authorization": "Bearer tok-h"}) as client:
        assert list_all(client) == records


# --------------------------------------------------------------------------- the world's accounts


def test_some_companies_have_accounts_and_some_do_not(
    big: tuple[Sandbox, list[dict[str, Any]]],
) -> None:
    sandbox, _ = big
    truth = sandbox.company_truth()
    with_account = {c for c in truth.values() if c is not None}
    share = len(with_account) / len(sandbox.world.companies)
    assert ACCOUNT_RATE - 0.1 < share < ACCOUNT_RATE + 0.1


def test_accounts_are_as_dirty_as_a_real_crms(big: tuple[Sandbox, list[dict[str, Any]]]) -> None:
    sandbox, records = big
    truth = sandbox.company_truth()
    world = {c.id: c for c in sandbox.world.companies}
    by_company: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_company[truth[record["id"]]].append(record)
    props = [r["properties"] for r in records]
    # names: other legal forms and cases than the world's, yet the same company once normalized
    typed = [(r["properties"]["name"], world[c].name) for r in records if (c := truth[r["id"]])]
    renamed = [(name, real) for name, real in typed if name != real]
    assert len(renamed) > 0.3 * len(typed)
    assert all(
        normalize_company_name(name) == normalize_company_name(real) for name, real in renamed
    )
    # domains: the company's, as a bare domain, "www." or upper case, a website URL, an alias with
    # the real domain among hs_additional_domains, or nothing
    kinds = Counter()
    for record in records:
        p, company_id = record["properties"], truth[record["id"]]
        if company_id is None:
            continue
        real = world[company_id].domain
        found = {normalize_domain(p["domain"]), normalize_domain(p["website"])}
        found |= set(split_domains(p["hs_additional_domains"]))
        if normalize_domain(p["domain"]) == real:
            kinds["domain" if p["domain"] == real else "domain-written-otherwise"] += 1
        elif real in split_domains(p["hs_additional_domains"]):
            kinds["additional"] += 1
        elif real in found:
            kinds["website-only"] += 1
        else:
            kinds["none"] += 1
    assert set(kinds) == {
        "domain",
        "domain-written-otherwise",
        "additional",
        "website-only",
        "none",
    }
    # duplicates: some companies have two records, the later one usually without an owner
    duplicated = [recs for c, recs in by_company.items() if c is not None and len(recs) > 1]
    assert duplicated
    # namesakes and sole traders: records of no world company; the traders' domain is free mail
    strangers = by_company[None]
    traders = [r for r in strangers if is_free_email(r["properties"]["domain"])]
    namesakes = [r for r in strangers if r not in traders]
    assert traders and namesakes
    names = {normalize_company_name(c.name) for c in world.values()}
    assert all(normalize_company_name(r["properties"]["name"]) in names for r in namesakes)
    # owners: real, unarchived owners, on most accounts
    owners = {o.id for o in sandbox.world.owners if not o.archived}
    owned = [p["hubspot_owner_id"] for p in props if p["hubspot_owner_id"]]
    assert set(owned) <= owners and 0.5 * len(props) < len(owned) < len(props)


def test_contact_counts_and_phones_come_from_the_companys_people(
    big: tuple[Sandbox, list[dict[str, Any]]],
) -> None:
    sandbox, records = big
    truth = sandbox.company_truth()
    hubspot_contacts: Counter[int] = Counter()
    phones: dict[int, set[str]] = defaultdict(set)
    for person in sandbox.world.people:
        if any(source == "hubspot" for source, _ in person.records):
            hubspot_contacts[person.company_id] += 1
        if person.phone:
            phones[person.company_id].add(person.phone)
    counted: Counter[int] = Counter()
    with_phone = 0
    for record in records:
        company_id, p = truth[record["id"]], record["properties"]
        if company_id is None:
            continue
        counted[company_id] += int(p["num_associated_contacts"])
        if p["phone"]:
            # one of the company's people's numbers, written the way people write it
            with_phone += 1
            digits = "".join(ch for ch in p["phone"] if ch.isdigit())
            assert any(number.endswith(digits[-7:]) for number in phones[company_id])
    # THEN a company's records split its HubSpot contacts between them
    assert all(counted[c] == hubspot_contacts[c] for c in counted)
    assert with_phone > 0
