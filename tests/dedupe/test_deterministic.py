"""Deterministic identity: one person, one lead_id, stable across runs, with the linking rule."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from dedupe.deterministic import lead_id_for, resolve
from leadflow.config import IdentityConfig

T0 = datetime(2026, 5, 1)


def add(
    con: duckdb.DuckDBPyConnection,
    key: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    echo: str | None = None,
    seen: int = 0,
    merged: str | None = None,
    first: str | None = None,
    last: str | None = None,
    seniority: str | None = None,
) -> None:
    """A lead record; `merged` is what its CRM says was merged with it (hs_merged_object_ids)."""
    source, stream, record_id = key.split(":")
    con.execute(
        """insert into ops.lead_records (record_key, source, stream, record_id, _raw_id, email, phone_e164,
               leadflow_lead_id, crm_contact_id, crm_merged_ids, record_created_at, first_seen_at,
               first_name, last_name, seniority, run_id)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'r')""",
        [
            key,
            source,
            stream,
            record_id,
            f"raw-{key}",
            email,
            phone,
            echo,
            record_id if source == "hubspot" else None,
            merged,
            T0 + timedelta(minutes=seen),
            T0 + timedelta(hours=seen),
            first,
            last,
            seniority,
        ],
    )


def push_log(
    con: duckdb.DuckDBPyConnection, lead_id: str, status: str, contact_id: str | None = None
) -> None:
    """A push_log row of an upsert of `lead_id` in run p1 (`sent` before the call, then ok)."""
    con.execute(
        """insert into ops.push_log (run_id, destination, lead_id, operation, status,
               destination_record_id, payload_hash, logged_at)
           values ('p1', 'hubspot', ?, 'upsert', ?, ?, 'h', ?)""",
        [lead_id, status, contact_id, T0],
    )


def identity(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    return {
        k: (lead, rule)
        for k, lead, rule in con.execute(
            "select record_key, lead_id, rule from ops.lead_identity"
        ).fetchall()
    }


def test_same_email_or_phone_across_sources_is_one_lead(con: duckdb.DuckDBPyConnection) -> None:
    add(con, "hubspot:contacts:1", email="ana@acme.io", phone="+14155550134")
    add(con, "meta:leads:2", email="ana@acme.io", seen=1)
    add(con, "typeform:responses:3", phone="+14155550134", seen=2)
    add(con, "meta:leads:4", email="bob@acme.io", seen=3)
    result = resolve(con, run_id="r1", as_of=T0)
    ids = identity(con)
    lead = lead_id_for("hubspot:contacts:1")
    assert ids["hubspot:contacts:1"] == (lead, "new_lead")
    assert ids["meta:leads:2"] == (lead, "email")
    assert ids["typeform:responses:3"] == (lead, "phone")
    assert ids["meta:leads:4"][1] == "new_lead"
    assert (result.leads, result.linked_records, result.newly_linked) == (2, 2, 2)


def test_a_resolve_whose_input_is_the_last_ones_output_reads_no_record(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add(con, "hubspot:contacts:1", email="ana@acme.io")
    add(con, "meta:leads:2", email="ana@acme.io", seen=1)
    add(con, "meta:leads:3", email="bob@acme.io", seen=2)
    first = resolve(con, run_id="r1", as_of=T0)
    settled = identity(con)
    # WHEN nothing it reads changed (a new raw version that moved no identity field included)
    con.execute("update ops.lead_records set _raw_id = 'raw-echo' where record_id = '1'")
    again = resolve(con, run_id="r2", as_of=T0)
    # THEN it reports the leads as they stand and reads no record
    assert again.unchanged and "read" not in again.seconds
    assert (again.records, again.leads, again.linked_records) == (3, 2, 1)
    assert (again.new_leads, again.newly_linked, again.merges) == (0, 0, 0)
    assert (first.leads, first.linked_records) == (again.leads, again.linked_records)
    assert identity(con) == settled
    # WHEN a record arrives, an upsert is logged, or the settings change, it resolves again
    add(con, "typeform:responses:4", email="bob@acme.io", seen=3)
    third = resolve(con, run_id="r3", as_of=T0)
    assert not third.unchanged and third.newly_linked == 1
    assert resolve(con, run_id="r4", as_of=T0).unchanged
    push_log(con, identity(con)["meta:leads:3"][0], "sent")
    assert not resolve(con, run_id="r5", as_of=T0).unchanged
    assert not resolve(
        con, run_id="r6", as_of=T0, identity=IdentityConfig(probabilistic=False)
    ).unchanged
    # AND a full resolve of the same input agrees with what was left
    left = identity(con)
    con.execute("delete from ops.identity_state")
    resolve(con, run_id="r7", as_of=T0, identity=IdentityConfig(probabilistic=False))
    assert identity(con) == left


def test_a_shared_phone_does_not_merge_people_with_different_emails(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add(con, "hubspot:contacts:1", email="ana@acme.io", phone="+14155550100")
    add(con, "hubspot:contacts:2", email="bob@acme.io", phone="+14155550100", seen=1)
    resolve(con, run_id="r1", as_of=T0)
    ids = identity(con)
    assert ids["hubspot:contacts:1"][0] != ids["hubspot:contacts:2"][0]


def test_lead_ids_are_stable_and_a_rerun_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    add(con, "meta:leads:2", email="ana@acme.io")
    resolve(con, run_id="r1", as_of=T0)
    first = identity(con)
    again = resolve(con, run_id="r2", as_of=T0)
    assert identity(con) == first and again.newly_linked == 0
    assert con.execute("select count(*) from ops.lead_identity where run_id = 'r2'").fetchone() == (
        0,
    )


def test_a_record_bridging_two_leads_merges_them_into_the_older(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add(con, "meta:leads:1", email="ana@acme.io")
    add(con, "typeform:responses:2", phone="+14155550134", seen=1)
    resolve(con, run_id="r1", as_of=T0)
    older, newer = identity(con)["meta:leads:1"][0], identity(con)["typeform:responses:2"][0]
    assert older != newer
    add(con, "hubspot:contacts:3", email="ana@acme.io", phone="+14155550134", seen=2)
    result = resolve(con, run_id="r2", as_of=T0)
    ids = identity(con)
    assert {lead for lead, _ in ids.values()} == {older}
    assert result.merges == 1
    assert con.execute("select from_lead_id, into_lead_id from ops.lead_merges").fetchall() == [
        (newer, older)
    ]


def test_the_crm_echo_of_our_lead_id_joins_the_lead(con: duckdb.DuckDBPyConnection) -> None:
    add(con, "typeform:responses:1", phone="+14155550134")
    resolve(con, run_id="r1", as_of=T0)
    lead = identity(con)["typeform:responses:1"][0]
    add(con, "hubspot:contacts:9", echo=lead, seen=1)  # the contact our push created, pulled back
    resolve(con, run_id="r2", as_of=T0)
    assert identity(con)["hubspot:contacts:9"] == (lead, "crm_lead_id")


@pytest.mark.parametrize(
    ("answer", "contact_email", "rule"),
    [
        # HubSpot answered the upsert with the new contact's id
        pytest.param("9", "ada@example.com", "crm_echo", id="answered-with-its-id"),
        # the run was killed before the answer was recorded: our lead id and the lead's email
        pytest.param(None, "ada@example.com", "crm_echo", id="answer-lost"),
        # the upsert was answered with another contact: this one is a duplicate person
        pytest.param("8", "ada@example.com", "email", id="answered-with-another-id"),
        # answer lost, but another email: not what the upsert (by the lead's email) created
        pytest.param(None, "ada.l@example.org", "crm_lead_id", id="answer-lost-other-email"),
    ],
)
def test_a_contact_our_upsert_created_is_the_leads_crm_copy_even_if_its_answer_was_lost(
    con: duckdb.DuckDBPyConnection, answer: str | None, contact_email: str, rule: str
) -> None:
    # GIVEN a lead whose upsert was sent, and answered or not
    add(con, "typeform:responses:1", email="ada@example.com")
    resolve(con, run_id="r1", as_of=T0)
    lead = identity(con)["typeform:responses:1"][0]
    push_log(con, lead, "sent")
    if answer is not None:
        push_log(con, lead, "ok", contact_id=answer)
    # WHEN the next run pulls a HubSpot contact carrying the lead's id
    add(con, "hubspot:contacts:9", email=contact_email, echo=lead, seen=1)
    resolve(con, run_id="r2", as_of=T0)
    # THEN it joins the lead under the rule that says what it is
    assert identity(con)["hubspot:contacts:9"] == (lead, rule)


def lineage(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str | None]]:
    """record -> (rule, the record it was linked to)."""
    return {
        k: (rule, match)
        for k, rule, match in con.execute(
            "select record_key, rule, matched_record_key from ops.lead_identity"
        ).fetchall()
    }


def test_a_chain_of_crm_merges_is_one_lead_with_each_link_in_the_lineage(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN three HubSpot contacts with nothing in common but the CRM's merges: 1 into 2, 2 into 3
    add(con, "hubspot:contacts:1", email="ana@acme.io", phone="+14155550101")
    add(con, "hubspot:contacts:2", email="a.silva@gmail.com", merged="1", seen=1)
    add(con, "hubspot:contacts:3", phone="+14155550199", merged="2", seen=2)
    # WHEN identities are resolved
    result = resolve(con, run_id="r1", as_of=T0)
    # THEN they are one lead, and each record names the merge that brought it in
    assert {lead for lead, _ in identity(con).values()} == {lead_id_for("hubspot:contacts:1")}
    assert lineage(con) == {
        "hubspot:contacts:1": ("new_lead", None),
        "hubspot:contacts:2": ("crm_merge", "hubspot:contacts:1"),
        "hubspot:contacts:3": ("crm_merge", "hubspot:contacts:2"),
    }
    assert (result.leads, result.linked_records) == (1, 2)


def test_hubspots_merged_contact_joins_both_contacts_it_was_made_of(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN two contacts and the new one HubSpot made of them (the primary's email, both ids)
    add(con, "hubspot:contacts:1", email="ana@acme.io")
    add(con, "hubspot:contacts:2", email="a.silva@gmail.com", seen=1)
    add(con, "hubspot:contacts:7", email="ana@acme.io", merged="1;2", seen=2)
    resolve(con, run_id="r1", as_of=T0)
    # THEN one lead; the new contact names the merge (not the email it shares with its primary),
    # and the other old one the contact it went into
    assert len({lead for lead, _ in identity(con).values()}) == 1
    assert lineage(con)["hubspot:contacts:7"] == ("crm_merge", "hubspot:contacts:1")
    assert lineage(con)["hubspot:contacts:2"] == ("crm_merge", "hubspot:contacts:7")


def test_a_crm_merge_arriving_later_merges_the_two_leads_and_records_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN two contacts resolved as two leads
    add(con, "hubspot:contacts:1", email="ana@acme.io")
    add(con, "hubspot:contacts:2", email="a.silva@gmail.com", seen=1)
    resolve(con, run_id="r1", as_of=T0)
    older, newer = (identity(con)[f"hubspot:contacts:{n}"][0] for n in (1, 2))
    assert older != newer
    # WHEN HubSpot merges them (a new contact, listing both) and the next run resolves
    add(con, "hubspot:contacts:7", email="a.silva@gmail.com", merged="1;2", seen=2)
    result = resolve(con, run_id="r2", as_of=T0)
    # THEN the lead seen first survives with all three, the merge is recorded, the ids stay
    assert {lead for lead, _ in identity(con).values()} == {older}
    assert result.merges == 1
    assert con.execute("select from_lead_id, into_lead_id from ops.lead_merges").fetchall() == [
        (newer, older)
    ]
    # AND following the lineage from the absorbed lead's record reaches the survivor's
    assert lineage(con)["hubspot:contacts:2"] == ("crm_merge", "hubspot:contacts:7")
    assert lineage(con)["hubspot:contacts:7"] == ("crm_merge", "hubspot:contacts:1")
    # AND a rerun changes nothing
    settled = identity(con)
    again = resolve(con, run_id="r3", as_of=T0)
    assert identity(con) == settled and again.merges == 0


@pytest.mark.parametrize(
    ("other", "merged"),
    [
        pytest.param("meta:leads:5", "5", id="an-id-of-another-source"),
        pytest.param("hubspot:contacts:5", "6", id="an-id-never-pulled"),
        pytest.param("hubspot:contacts:5", "", id="nothing-merged"),
    ],
)
def test_merged_ids_link_only_records_of_the_same_crm_stream(
    con: duckdb.DuckDBPyConnection, other: str, merged: str
) -> None:
    add(con, other, email="bo@acme.io")
    add(con, "hubspot:contacts:9", email="ana@acme.io", merged=merged or None, seen=1)
    resolve(con, run_id="r1", as_of=T0)
    ids = identity(con)
    assert ids[other][0] != ids["hubspot:contacts:9"][0]
    assert {rule for _, rule in ids.values()} == {"new_lead"}


RULES_ONLY = IdentityConfig(probabilistic=False)


@pytest.mark.parametrize(
    ("others", "linked"),
    [
        pytest.param([], True, id="her-own-number-ana-joins-ana-silva"),
        pytest.param([("Rui", "Costa")], False, id="a-switchboard-ana-could-be-any-ana-there"),
        pytest.param(
            [("Rui", "Silva")], False, id="a-family-phone-left-to-the-probabilistic-stage"
        ),
    ],
)
def test_on_a_line_people_share_the_phone_rule_needs_a_last_name_on_both_sides(
    con: duckdb.DuckDBPyConnection, others: list[tuple[str, str]], linked: bool
) -> None:
    # GIVEN Ana Silva's number, carried also by `others`
    add(con, "hubspot:contacts:1", phone="+14155550134", first="Ana", last="Silva")
    for n, (first, last) in enumerate(others):
        add(con, f"meta:leads:{n + 10}", phone="+14155550134", first=first, last=last, seen=1)
    # WHEN a record with that number and only the first name Ana arrives
    add(con, "typeform:responses:2", phone="+14155550134", first="Ana", seen=2)
    resolve(con, run_id="r1", as_of=T0, identity=RULES_ONLY)
    ids = identity(con)
    # THEN it joins her lead only when the number is hers alone
    assert (ids["typeform:responses:2"] == (ids["hubspot:contacts:1"][0], "phone")) is linked
    # AND the others on the line never join her
    assert all(ids[f"meta:leads:{n + 10}"][1] == "new_lead" for n in range(len(others)))


@pytest.mark.parametrize(
    ("seniorities", "linked"),
    [
        pytest.param(("intern", "vp"), False, id="an-intern-and-a-vp-are-two-namesakes"),
        pytest.param(("manager", "director"), True, id="a-promotion-is-one-person"),
        pytest.param((None, "vp"), True, id="a-missing-title-contradicts-nothing"),
    ],
)
def test_seniority_far_apart_keeps_namesakes_on_one_phone_apart(
    con: duckdb.DuckDBPyConnection, seniorities: tuple[str | None, str | None], linked: bool
) -> None:
    for n, seniority in enumerate(seniorities):
        add(
            con,
            f"hubspot:contacts:{n}",
            phone="+14155550134",
            first="Ana",
            last="Silva",
            seniority=seniority,
            seen=n,
        )
    resolve(con, run_id="r1", as_of=T0, identity=RULES_ONLY)
    ids = identity(con)
    assert (ids["hubspot:contacts:0"][0] == ids["hubspot:contacts:1"][0]) is linked
