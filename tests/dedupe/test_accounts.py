"""Lead-to-account matching: the rules and their order, the three domain-only modes, free-mail
domains, tie-breakers, and the incremental path (what a re-run matches again)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pandas as pd
import pytest
from pydantic import SecretStr

from connectors import hubspot
from connectors.hubspot import client as hubspot_client
from connectors.hubspot.models import parse_contact
from dedupe.accounts import match_accounts, rule_order
from enrichment import enrich
from enrichment.normalize import is_free_email
from leadflow.config import (
    AccountsConfig,
    ConfigError,
    HttpSettings,
    HubSpotSourceConfig,
    parse_settings,
)
from leadflow.landing import land
from leadflow.warehouse import ACCOUNTS_DDL, OPS_DDL, RAW_TABLE_DDL, SCHEMAS, registered
from sandbox import Sandbox

T0 = datetime(2026, 5, 1, 12, 0)
ALWAYS = AccountsConfig(domain_only="always")


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory warehouse with the tables matching reads and writes, made by the same DDL as
    the file (a file per test costs more than the tests themselves)."""
    with duckdb.connect() as memory:
        for schema in SCHEMAS:
            memory.execute(f"create schema {schema}")
        for stream in ("companies", "owners"):
            memory.execute(RAW_TABLE_DDL.format(name=f"hubspot__{stream}"))
        memory.execute(OPS_DDL)
        memory.execute(ACCOUNTS_DDL)
        yield memory


@dataclass
class Account:
    id: str
    name: str | None = None
    domain: str | None = None
    website: str | None = None
    additional: str | None = None
    phone: str | None = None
    country: str | None = None
    owner: str | None = None
    contacts: int | None = None
    activity: str | None = None
    created: str = "2025-01-01T00:00:00.000Z"
    archived: bool = False


@dataclass
class Record:
    domain: str | None = None  # the email's domain
    free: bool | None = None  # None: decided by the free-mail list, as enrichment does
    company: str | None = None
    phone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def add_account(con: duckdb.DuckDBPyConnection, account: Account, version: int = 0) -> None:
    props = {
        "name": account.name,
        "domain": account.domain,
        "website": account.website,
        "hs_additional_domains": account.additional,
        "phone": account.phone,
        "country": account.country,
        "hubspot_owner_id": account.owner,
        "num_associated_contacts": None if account.contacts is None else str(account.contacts),
        "notes_last_updated": account.activity,
        "createdate": account.created,
        "hs_lastmodifieddate": "2026-04-01T00:00:00.000Z",
    }
    payload = {"id": account.id, "properties": props, "archived": account.archived}
    con.execute(
        "insert into raw.hubspot__companies values (?, ?, null, ?, ?, ?, 'r', ?)",
        [
            f"c{account.id}-{version}",
            account.id,
            T0 + timedelta(seconds=version),
            json.dumps(payload),
            f"h{account.id}-{version}",
            T0 + timedelta(seconds=version),
        ],
    )


def add_owner(con: duckdb.DuckDBPyConnection, owner_id: str, *, archived: bool = False) -> None:
    payload = {"id": owner_id, "email": f"rep{owner_id}@s.io", "archived": archived}
    con.execute(
        "insert into raw.hubspot__owners values (?, ?, null, ?, ?, ?, 'r', ?)",
        [f"o{owner_id}", owner_id, T0, json.dumps(payload), f"ho{owner_id}", T0],
    )


def add_lead(con: duckdb.DuckDBPyConnection, lead_id: str, *records: Record) -> None:
    for n, record in enumerate(records):
        key = f"meta:leads:{lead_id}-{n}"
        free = record.free if record.free is not None else is_free_email(record.domain)
        con.execute(
            """insert into ops.lead_records (record_key, source, stream, record_id, _raw_id,
                   email_domain, is_free_email, company, phone_e164, first_seen_at, run_id)
               values (?, 'meta', 'leads', ?, ?, ?, ?, ?, ?, ?, 'r')""",
            [key, f"{lead_id}-{n}", f"raw-{key}", record.domain, free, record.company,
             record.phone, T0],
        )  # fmt: skip
        con.execute(
            "insert into ops.lead_identity (record_key, lead_id, rule, resolved_at, run_id) "
            "values (?, ?, 'new_lead', ?, 'r')",
            [key, lead_id, T0],
        )


def run(
    con: duckdb.DuckDBPyConnection, config: AccountsConfig = ALWAYS, run_id: str = "run-1"
) -> Any:
    return match_accounts(con, config, run_id=run_id, as_of=T0)


def matches(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    """lead -> (account, rule, tie_break, candidates)."""
    rows = con.execute(
        "select lead_id, account_id, match_rule, tie_break, count_candidates from ops.lead_accounts"
    ).fetchall()
    return {lead: tuple(rest) for lead, *rest in rows}


# --------------------------------------------------------------------------- one rule each

# Each case: the accounts, one lead's record, and the (account, rule) it must match. The cases
# share one warehouse and one run (a run costs more than building the table), so each case has
# names and domains of its own; a case matching another case's account fails as surely.
RULE_CASES: dict[str, tuple[list[Account], Record, tuple[str | None, str | None]]] = {
    "domain-and-name": (
        [Account("a1", name="Acme Inc", domain="acme.io")],
        Record(domain="acme.io", company="ACME, Incorporated"),
        ("a1", "domain_and_name"),
    ),
    "domain-only": (
        [Account("b1", name="Bolt Inc", domain="bolt.io")],
        Record(domain="bolt.io", company="Bolt Research"),
        ("b1", "domain"),
    ),
    "domain-normalized-both-sides": (
        [Account("c1", name="Cobalt", domain="WWW.COBALT.IO")],
        Record(domain="eu.cobalt.io"),
        ("c1", "domain"),
    ),
    "website-url": (
        [Account("d1", name="Dune", website="https://www.dune.io/about")],
        Record(domain="dune.io"),
        ("d1", "domain"),
    ),
    "additional-domains": (
        [Account("e1", name="Ember", domain="ember.net", additional="ember.io; ember.de")],
        Record(domain="ember.de"),
        ("e1", "domain"),
    ),
    "company-field-holds-a-url": (
        [Account("f1", name="Fjord", domain="fjord.io")],
        Record(domain="gmail.com", company="https://fjord.io"),
        ("f1", "domain"),
    ),
    "name-across-legal-forms": (
        [Account("g1", name="Zenlane Labs GmbH")],
        Record(domain="gmail.com", company="ZENLANE LABS, INC."),
        ("g1", "company_name"),
    ),
    "name-unicode": (
        [Account("h1", name="Société Générale S.A.")],
        Record(company="SOCIETE GENERALE"),
        ("h1", "company_name"),
    ),
    "acronym-on-the-lead": (
        [Account("i1", name="International Business Machines Corp.")],
        Record(company="I.B.M."),
        ("i1", "company_acronym"),
    ),
    "acronym-on-the-account": (
        [Account("j1", name="KPMG")],
        Record(company="Klynveld Peat Marwick Goerdeler"),
        ("j1", "company_acronym"),
    ),
    "initials-never-meet-initials": (
        [Account("k1", name="Brivane Lumen Systems")],
        Record(company="Blue Lake Studios"),
        (None, None),
    ),
    "phone-in-the-accounts-country": (
        [Account("l1", name="Lumo", phone="(415) 555-0134", country="United States")],
        Record(phone="+14155550134"),
        ("l1", "phone"),
    ),
    "phone-without-country-unreadable": (
        [Account("m1", name="Mesa", phone="415 555 0199")],
        Record(phone="+14155550199"),
        (None, None),
    ),
    "archived-account": (
        [Account("n1", name="Nimbus Inc", domain="nimbus.io", archived=True)],
        Record(domain="nimbus.io", company="Nimbus"),
        (None, None),
    ),
    "nothing-shared": (
        [Account("o1", name="Onyx Inc", domain="onyx.io")],
        Record(domain="globex.com", company="Globex"),
        (None, None),
    ),
    "placeholders-are-no-name": (
        [Account("p1", name="N/A", domain="pylon.io")],
        Record(domain="gmail.com", company="n/a"),
        (None, None),
    ),
    "free-mail-sole-trader": (
        [Account("q1", name="Smith Consulting", domain="gmail.com")],
        Record(domain="gmail.com"),
        (None, None),
    ),
    "free-mail-website": (
        [Account("r1", name="Jones Consulting", website="https://mail.yahoo.co.uk")],
        Record(domain="yahoo.co.uk"),
        (None, None),
    ),
    "free-mail-in-the-company-field": (
        [Account("s1", name="Brown Consulting", domain="outlook.com")],
        Record(domain="gmail.com", company="outlook.com"),
        (None, None),
    ),
    "lead-flagged-free-mail": (
        [Account("t1", name="Corpmail Hosting", domain="corpmail.example")],
        Record(domain="corpmail.example", free=True),
        (None, None),
    ),
}
FREE_MAIL_CASES = [case for case in RULE_CASES if "free-mail" in case]


def add_cases(con: duckdb.DuckDBPyConnection, cases: list[str]) -> None:
    for case in cases:
        accounts, record, _ = RULE_CASES[case]
        for account in accounts:
            add_account(con, account)
        add_lead(con, case, record)


def test_each_rule(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN every case's accounts and lead WHEN one run matches them (domain_only: always)
    add_cases(con, list(RULE_CASES))
    run(con)
    # THEN each lead matched its case's account by its case's rule, or nothing
    got = {case: row[:2] for case, row in matches(con).items()}
    assert got == {case: expected for case, (_, _, expected) in RULE_CASES.items()}


@pytest.mark.parametrize("mode", ["fallback", "off"])
def test_free_mail_never_matches_by_domain_in_any_mode(
    con: duckdb.DuckDBPyConnection, mode: str
) -> None:
    add_cases(con, FREE_MAIL_CASES)
    run(con, AccountsConfig(domain_only=mode))  # type: ignore[arg-type]
    assert {row[:2] for row in matches(con).values()} == {(None, None)}


def test_every_record_of_a_lead_is_evidence(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a lead whose form record has a gmail address and whose CRM record names the company
    add_account(con, Account("1", name="Zenlane Labs Ltd"))
    add_lead(con, "l1", Record(domain="gmail.com"), Record(company="Zenlane Labs"))
    run(con)
    assert matches(con)["l1"][:2] == ("1", "company_name")


# --------------------------------------------------------------------------- rule order and modes


def two_accounts(con: duckdb.DuckDBPyConnection) -> None:
    """Account 1 has the lead's domain only; account 2 the lead's company name only."""
    add_account(con, Account("1", name="Acme Holdings", domain="acme.io", owner="9"))
    add_account(con, Account("2", name="Globex Corporation"))
    add_lead(con, "l1", Record(domain="acme.io", company="Globex"))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("always", ("1", "domain")),
        ("fallback", ("2", "company_name")),
        ("off", ("2", "company_name")),
    ],
)
def test_domain_only_mode_decides_between_a_domain_and_a_name(
    con: duckdb.DuckDBPyConnection, mode: str, expected: tuple[str, str]
) -> None:
    two_accounts(con)
    run(con, AccountsConfig(domain_only=mode))  # type: ignore[arg-type]
    assert matches(con)["l1"][:2] == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("always", ("1", "domain")), ("fallback", ("1", "domain")), ("off", (None, None))],
)
def test_a_domain_alone_matches_unless_off(
    con: duckdb.DuckDBPyConnection, mode: str, expected: tuple[str | None, str | None]
) -> None:
    add_account(con, Account("1", name="Acme Inc", domain="acme.io"))
    add_lead(con, "l1", Record(domain="acme.io", company="Something Else Entirely"))
    run(con, AccountsConfig(domain_only=mode))  # type: ignore[arg-type]
    assert matches(con)["l1"][:2] == expected


@pytest.mark.parametrize("mode", ["always", "fallback", "off"])
def test_domain_and_name_wins_in_every_mode(con: duckdb.DuckDBPyConnection, mode: str) -> None:
    # GIVEN two accounts on the lead's domain (a subsidiary shares it); one also has its name
    add_account(con, Account("1", name="Acme UK Ltd", domain="acme.io", owner="9", contacts=50))
    add_account(con, Account("2", name="Acme Inc", domain="acme.io"))
    add_lead(con, "l1", Record(domain="acme.io", company="Acme"))
    run(con, AccountsConfig(domain_only=mode))  # type: ignore[arg-type]
    assert matches(con)["l1"] == ("2", "domain_and_name", None, 1)


def test_a_name_beats_a_phone_and_an_acronym(con: duckdb.DuckDBPyConnection) -> None:
    add_account(con, Account("1", name="Acme", phone="+1 415 555 0134"))
    add_account(con, Account("2", name="Zenlane Labs"))
    add_account(con, Account("3", name="Zeta Lambda Labs"))
    add_lead(con, "l1", Record(company="Zenlane Labs", phone="+14155550134"))
    add_lead(con, "l2", Record(company="ZLL", phone="+14155550134"))
    run(con)
    assert matches(con)["l1"][:2] == ("2", "company_name")
    assert matches(con)["l2"][:2] == ("3", "company_acronym")


def test_rule_order_per_mode() -> None:
    assert rule_order("always")[:2] == ("domain_and_name", "domain")
    assert rule_order("fallback")[-1] == "domain"
    assert "domain" not in rule_order("off")
    with pytest.raises(ValueError, match="domain_only"):
        rule_order("sometimes")


def test_an_unknown_domain_only_mode_is_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"accounts": {"domain_only": "sometimes"}})
    assert "accounts.domain_only" in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- tie-breakers

# Each case: two records of one company on the lead's domain (ids <case>-9 and <case>-10, so the
# first has the lower number), what differs between them, and which wins by which tie-breaker.
TIE_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str, str]] = {
    "an-owner-beats-more-contacts": ({"owner": None, "contacts": 50}, {"owner": "7"}, "10", "has_owner"),
    "an-archived-owner-is-no-owner": ({"owner": "8", "contacts": 50}, {"owner": "7"}, "10", "has_owner"),
    "most-contacts": ({"owner": "7", "contacts": 3}, {"owner": "7", "contacts": 10}, "10", "most_contacts"),
    "latest-activity": (
        {"contacts": 3, "activity": "2026-04-01T00:00:00Z"},
        {"contacts": 3, "activity": "2026-03-01T00:00:00Z"},
        "9",
        "latest_activity",
    ),
    "any-activity-beats-none": ({}, {"activity": "2026-03-01T00:00:00Z"}, "10", "latest_activity"),
    "oldest": (
        {"created": "2024-06-01T00:00:00Z"}, {"created": "2023-06-01T00:00:00Z"}, "10", "oldest"
    ),
    "lowest-id": ({}, {}, "9", "lowest_id"),
}  # fmt: skip


def test_tie_breakers(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN per case two accounts on one domain, and a lead there naming the company
    add_owner(con, "7")
    add_owner(con, "8", archived=True)
    for n, (case, (first, second, _, _)) in enumerate(TIE_CASES.items()):
        domain = f"tie{n}.io"
        # numeric ids: 9 sorts before 10 as a number, after it as text
        add_account(con, Account(f"{n}0009", name="Acme", domain=domain, **first))
        add_account(con, Account(f"{n}00010", name="Acme Inc.", domain=domain, **second))
        add_lead(con, case, Record(domain=domain, company="Acme"))
    run(con)
    got = matches(con)
    for n, (case, (_, _, winner, tie_break)) in enumerate(TIE_CASES.items()):
        expected = (f"{n}000{winner}", "domain_and_name", tie_break, 2)
        assert got[case] == expected, case


def test_ties_are_broken_among_the_deciding_rule_only(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN an owned account matching by name only, two unowned ones by domain and name
    add_account(con, Account("1", name="Acme", owner="7", contacts=99))
    add_account(con, Account("2", name="Acme", domain="acme.io", contacts=1))
    add_account(con, Account("3", name="Acme", domain="acme.io", contacts=2))
    add_lead(con, "l1", Record(domain="acme.io", company="Acme"))
    run(con)
    # THEN the tie is between 2 and 3: the owned name-only account never competes
    assert matches(con)["l1"] == ("3", "domain_and_name", "most_contacts", 2)


# --------------------------------------------------------------------------- what a run writes


def test_each_lead_gets_one_row_and_the_account_owner(con: duckdb.DuckDBPyConnection) -> None:
    add_account(con, Account("1", name="Acme", domain="acme.io", owner="7"))
    add_lead(con, "l1", Record(domain="acme.io"))
    add_lead(con, "l2", Record(domain="globex.com"))
    result = run(con)
    rows = con.execute(
        "select lead_id, account_id, account_owner_id, matched_on, count_candidates, run_id "
        "from ops.lead_accounts order by lead_id"
    ).fetchall()
    assert rows == [("l1", "1", "7", "acme.io", 1, "run-1"), ("l2", None, None, None, 0, "run-1")]
    assert (result.accounts, result.leads, result.matched) == (1, 2, 1)
    assert result.by_rule == {"domain": 1}


def test_a_phone_match_never_writes_the_number(con: duckdb.DuckDBPyConnection) -> None:
    add_account(con, Account("1", name="Acme", phone="+14155550134"))
    add_lead(con, "l1", Record(phone="+14155550134"))
    run(con)
    row = con.execute("select match_rule, matched_on from ops.lead_accounts").fetchone()
    assert row == ("phone", None)


def run_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select lead_id, run_id from ops.lead_accounts").fetchall())


def test_a_rerun_with_nothing_new_writes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    add_account(con, Account("1", name="Acme", domain="acme.io"))
    add_lead(con, "l1", Record(domain="acme.io"))
    run(con, run_id="run-1")
    result = run(con, run_id="run-2")
    assert result.unchanged and result.leads == 0
    assert run_ids(con) == {"l1": "run-1"}


def test_a_new_lead_is_matched_alone(con: duckdb.DuckDBPyConnection) -> None:
    add_account(con, Account("1", name="Acme", domain="acme.io"))
    add_lead(con, "l1", Record(domain="acme.io"))
    run(con, run_id="run-1")
    add_lead(con, "l2", Record(company="Acme"))
    result = run(con, run_id="run-2")
    assert result.leads == 1
    assert run_ids(con) == {"l1": "run-1", "l2": "run-2"}
    assert matches(con)["l2"][:2] == ("1", "company_name")


def test_a_changed_record_rematches_its_lead(con: duckdb.DuckDBPyConnection) -> None:
    add_account(con, Account("1", name="Acme", domain="acme.io"))
    add_lead(con, "l1", Record(domain="globex.com"))
    add_lead(con, "l2", Record(domain="initech.com"))
    run(con, run_id="run-1")
    con.execute("update ops.lead_records set company = 'ACME Inc' where record_id = 'l1-0'")
    run(con, run_id="run-2")
    assert run_ids(con) == {"l1": "run-2", "l2": "run-1"}
    assert matches(con)["l1"][:2] == ("1", "company_name")


def test_a_changed_account_rematches_the_leads_it_may_win_or_lose(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add_account(con, Account("1", name="Acme", domain="acme.io"))
    add_account(con, Account("3", name="Initrode", domain="initrode.com"))
    add_lead(con, "l1", Record(domain="acme.io"))
    add_lead(con, "l2", Record(company="Globex"))
    add_lead(con, "l3", Record(domain="initrode.com"))
    add_lead(con, "l4", Record(company="Acme"))
    run(con, run_id="run-1")
    assert matches(con)["l4"][:2] == ("1", "company_name")
    # WHEN a new version of account 1 lands (renamed Globex, owned) and a new account appears
    add_account(con, Account("1", name="Globex", domain="acme.io", owner="7"), version=1)
    add_account(con, Account("2", name="Initech"))
    result = run(con, run_id="run-2")
    # THEN its leads by domain, by the new name and by the old name are matched again, the lead of
    # an unrelated account is not looked at
    assert result.leads == 3
    assert run_ids(con) == {"l1": "run-2", "l2": "run-2", "l3": "run-1", "l4": "run-2"}
    assert matches(con)["l2"][:2] == ("1", "company_name")
    assert matches(con)["l4"][:2] == (None, None)
    owner = con.execute("select account_owner_id from ops.lead_accounts where lead_id = 'l1'")
    assert owner.fetchone() == ("7",)


def test_an_owner_archived_rematches_every_lead(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN two records of one company, owned by 7 and 8; the lead goes to the one with contacts
    add_owner(con, "7")
    add_owner(con, "8")
    add_account(con, Account("1", name="Acme", domain="acme.io", owner="7", contacts=9))
    add_account(con, Account("2", name="Acme", domain="acme.io", owner="8"))
    add_account(con, Account("3", name="Initrode", domain="initrode.com"))
    add_lead(con, "l1", Record(domain="acme.io", company="Acme"))
    add_lead(con, "l2", Record(domain="initrode.com"))
    run(con, run_id="run-1")
    assert matches(con)["l1"] == ("1", "domain_and_name", "most_contacts", 2)
    # WHEN owner 7 is archived in HubSpot
    con.execute(
        "insert into raw.hubspot__owners values ('o7-archived', '7', null, ?, ?, 'h7a', 'r', ?)",
        [T0 + timedelta(hours=1), '{"id": "7", "archived": true}', T0 + timedelta(hours=1)],
    )
    result = run(con, run_id="run-2")
    # THEN every lead is looked at again, and the tie now goes to the owned record
    assert result.leads == 2
    assert matches(con)["l1"] == ("2", "domain_and_name", "has_owner", 2)
    assert run_ids(con) == {"l1": "run-2", "l2": "run-1"}


def test_changing_the_mode_rematches_every_lead(con: duckdb.DuckDBPyConnection) -> None:
    two_accounts(con)
    run(con, AccountsConfig(domain_only="always"))
    assert matches(con)["l1"][:2] == ("1", "domain")
    run(con, AccountsConfig(domain_only="fallback"))
    assert matches(con)["l1"][:2] == ("2", "company_name")


def test_a_lead_merged_away_loses_its_row(con: duckdb.DuckDBPyConnection) -> None:
    add_account(con, Account("1", name="Acme", domain="acme.io"))
    add_lead(con, "l1", Record(domain="acme.io"))
    add_lead(con, "l2", Record(domain="acme.io"))
    run(con, run_id="run-1")
    con.execute("update ops.lead_identity set lead_id = 'l1' where lead_id = 'l2'")
    run(con, run_id="run-2")
    assert set(run_ids(con)) == {"l1"}


def test_disabled_matching_leaves_no_matches(con: duckdb.DuckDBPyConnection) -> None:
    add_account(con, Account("1", name="Acme", domain="acme.io"))
    add_lead(con, "l1", Record(domain="acme.io"))
    run(con)
    run(con, AccountsConfig(enabled=False))
    assert matches(con) == {}
    # AND enabled again, everything is matched afresh
    run(con, run_id="run-3")
    assert run_ids(con) == {"l1": "run-3"}


# --------------------------------------------------------------------------- the sandbox world


def test_the_sandbox_worlds_contacts_match_their_own_companies(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Scored against the world's truth: which company each contact's person works for, and which
    company each CRM record stands for (duplicates, namesakes and sole traders included)."""
    token = "accounts-token"
    fast = HttpSettings(timeout_s=5, max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.05)
    with Sandbox(seed=3, leads=1200, tokens={"hubspot": token}) as sandbox:
        sandbox.set_rate_limit("hubspot", 0, 1)
        sandbox.set_rate_limit("hubspot_search", 0, 1)
        # GIVEN the CRM's companies landed through the connector's stream
        url = sandbox.urls["hubspot"]
        client = hubspot_client.make_client(url, SecretStr(token), fast)
        client.limiters = {}
        cfg = HubSpotSourceConfig(base_url=url, http=fast)
        land(
            con,
            hubspot.STREAMS["companies"],
            lambda window, _: hubspot.pull(client, cfg, "companies", window),
            [None],
            lookback=timedelta(0),
            run_id="r1",
            as_of=datetime(2030, 1, 1),
        )
        # AND every HubSpot contact as a lead, normalized as enrichment does
        contacts = sandbox.hubspot_contacts()
        leads = [(f"hubspot-{c['id']}", enrich(parse_contact(c))) for c in contacts]
        records = pd.DataFrame(
            {
                "record_key": [f"hubspot:contacts:{lead}" for lead, _ in leads],
                "lead_id": [lead for lead, _ in leads],
                **{
                    column: [values[column] for _, values in leads]
                    for column in ("email_domain", "is_free_email", "company", "phone_e164")
                },
            }
        )
        with registered(con, "contact_leads", records):
            con.execute(
                """insert into ops.lead_records (record_key, source, stream, record_id, _raw_id,
                       email_domain, is_free_email, company, phone_e164, first_seen_at, run_id)
                   select record_key, 'hubspot', 'contacts', lead_id, record_key, email_domain,
                          is_free_email, company, phone_e164, now(), 'r'
                   from contact_leads"""
            )
            con.execute(
                """insert into ops.lead_identity (record_key, lead_id, rule, resolved_at, run_id)
                   select record_key, lead_id, 'new_lead', now(), 'r' from contact_leads"""
            )
        truth = sandbox.company_truth()
        world = sandbox.world
        works_at = {
            f"hubspot-{c['id']}": person.company_id
            for c in contacts
            if (person := world.person_of("hubspot", str(c["id"]))) is not None
        }

    # WHEN matched
    result = run(con)

    # THEN nearly every match is the company the person works for
    got = matches(con)
    matched = {lead: row for lead, row in got.items() if row[0] is not None}
    right = [lead for lead, row in matched.items() if truth[row[0]] == works_at[lead]]
    assert len(right) >= 0.97 * len(matched)
    # AND most people whose company has a CRM record are matched to one
    has_account = {c for c in truth.values() if c is not None}
    reachable = [lead for lead, company in works_at.items() if company in has_account]
    assert len([lead for lead in reachable if lead in matched]) >= 0.85 * len(reachable)
    # AND no lead went to a sole trader's account (its domain is free mail)
    traders = {
        record_id
        for record_id, domain in con.execute(
            "select record_id, payload->>'$.properties.domain' from raw.hubspot__companies"
        ).fetchall()
        if is_free_email(domain)
    }
    assert traders and not {row[0] for row in matched.values()} & traders
    # AND duplicates and namesakes needed the tie-breakers
    assert result.tie_broken > 0 and {"domain_and_name", "company_name"} <= set(result.by_rule)
