"""`leadflow forget`: a person erased from a real warehouse, kept out of the next sync, audited.

GIVEN a copy of the warehouse one real sync left (session fixture `synced_world`, sandbox seed 23)
and a fresh sandbox of the same world (so the person's records are served again, and their HubSpot
contact exists), WHEN the person with the most records (a merged lead) is forgotten, THEN nothing
with their address is left in any column of any table or view, the audit row holds no personal
data, the accounting still adds up, a full re-pull does not bring them back, and HubSpot no longer
has the contact when --crm-delete is given.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from typer.testing import CliRunner

from leadflow.accounting import record_accounting
from leadflow.cli import app
from leadflow.config import Settings, load_settings
from leadflow.forget import (
    NO_PERSONAL_DATA,
    OPS_TABLES,
    Suppressions,
    _carries,
    forget,
    mask_email,
)
from leadflow.warehouse import Warehouse, utcnow
from sandbox import Sandbox
from tests.conftest import SyncedWorld
from tests.flows.test_lead_sync import TOKEN_ENV, TOKENS, write_config

runner = CliRunner()
GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"


@dataclass(frozen=True)
class Person:
    """The merged lead erased in these tests, as the synced warehouse holds it."""

    email: str
    lead_id: str
    phones: frozenset[str]
    crm_contact_id: str
    sources: frozenset[str]


@dataclass(frozen=True)
class World:
    settings: Settings
    config: Path
    warehouse: Path
    sandbox: Sandbox
    person: Person


def _pick_person(warehouse: Path) -> Person:
    """The lead with the most records across sources, one of them a HubSpot contact."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lead_id, email = con.execute(
            """
            select i.lead_id, min(r.email)
            from ops.lead_identity i join ops.lead_records r using (record_key)
            group by i.lead_id
            having count(distinct r.source) >= 3 and count(distinct r.email) = 1
               and count(r.crm_contact_id) >= 1
            order by count(*) desc, i.lead_id
            limit 1
            """
        ).fetchone()  # type: ignore[misc]
        rows = con.execute(
            "select r.source, r.phone_e164, r.crm_contact_id from ops.lead_records r"
            " join ops.lead_identity i using (record_key) where i.lead_id = ?",
            [lead_id],
        ).fetchall()
    return Person(
        email=email,
        lead_id=lead_id,
        phones=frozenset(p for _, p, _ in rows if p),
        crm_contact_id=next(c for _, _, c in rows if c),
        sources=frozenset(s for s, _, _ in rows),
    )


@pytest.fixture
def world(
    synced_world: SyncedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """A private copy of the synced warehouse and a fresh sandbox of the same world."""
    for vendor, env in TOKEN_ENV.items():
        monkeypatch.setenv(env, TOKENS[vendor])
    with Sandbox(seed=23, leads=150, tokens=TOKENS) as sandbox:
        config = write_config(tmp_path, sandbox.urls, smtp_port=sandbox.smtp_address[1])
        warehouse = tmp_path / "warehouse.duckdb"
        shutil.copyfile(synced_world.warehouse, warehouse)
        yield World(
            load_settings(config), config, warehouse, sandbox, _pick_person(synced_world.warehouse)
        )


def text_hits(warehouse: Path, needle: str) -> list[str]:
    """'schema.table.column' of every text or JSON column, of every table and view, holding
    `needle` (case-insensitive)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where data_type in ('VARCHAR', 'JSON') and table_schema not in"
            " ('information_schema', 'pg_catalog')"
        ).fetchall()
        return [
            f"{schema}.{table}.{column}"
            for schema, table, column in columns
            if con.execute(
                f'select count(*) from "{schema}"."{table}"'
                f' where contains(lower("{column}"::varchar), ?)',
                [needle.lower()],
            ).fetchone()[0]  # type: ignore[index]
        ]


def table_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_type = 'BASE TABLE'"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]  # type: ignore[index]
            for s, t in tables
        }


def accounting(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse)) as con:
        return record_accounting(con)


def erasure_rows(warehouse: Path) -> list[dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute("select * from ops.erasure_log order by requested_at").df()
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def plant_unstaged_and_quarantined(warehouse: Path, person: Person) -> None:
    """Two raw records that carry the address but never reached ops.lead_records: a Typeform
    response landed and not yet validated (a crash before staging), with the address in another
    case, and a Meta lead quarantined. Plus a decoy whose longer address merely contains it."""
    with duckdb.connect(str(warehouse)) as con:
        payload = con.execute(
            "select payload::varchar from raw.typeform__responses"
            " where contains(lower(payload::varchar), ?) limit 1",
            [person.email],
        ).fetchone()[0]  # type: ignore[index]
        # The source may have sent the address in any case: replace it in every case.
        address = re.compile(re.escape(person.email), re.IGNORECASE)
        shouted = address.sub(person.email.upper(), payload)
        decoy = address.sub("x" + person.email, payload)
        for record_id, body in (("unstaged-1", shouted), ("decoy-1", decoy)):
            con.execute(
                "insert into raw.typeform__responses values (?, ?, null, now()::timestamp, ?, ?,"
                " 'planted', now()::timestamp)",
                [f"raw-{record_id}", record_id, body, f"hash-{record_id}"],
            )
        quarantined = json.dumps(
            {"id": "q-1", "field_data": [{"name": "email", "values": [person.email]}]}
        )
        con.execute(
            "insert into raw.meta__leads values ('raw-q-1', 'q-1', null, now()::timestamp, ?,"
            " 'hash-q-1', 'planted', now()::timestamp)",
            [quarantined],
        )
        con.execute(
            "insert into ops.quarantine values ('raw-q-1', 'meta', 'leads', 'q-1', 'planted',"
            " '[]', '[\"planted\"]', ?, now()::timestamp)",
            [quarantined],
        )


# --------------------------------------------------------------------------- the erasure


def test_forget_leaves_no_trace_of_a_merged_person_and_the_accounting_adds_up(
    world: World,
) -> None:
    person = world.person
    plant_unstaged_and_quarantined(world.warehouse, person)
    before = accounting(world.warehouse)
    assert text_hits(world.warehouse, person.email)  # the person is there to begin with
    # WHEN the operator forgets them, giving the address in another case
    result = runner.invoke(
        app,
        [
            "forget",
            person.email.upper(),
            "--reference",
            "TICKET-42",
            "--json",
            "--config",
            str(world.config),
        ],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    # THEN the decoy with a longer address that merely contains it is kept (and then removed, as
    # it would match the scan below)
    with duckdb.connect(str(world.warehouse)) as con:
        kept = con.execute(
            "select record_id from raw.typeform__responses where contains(lower(payload::varchar), ?)",
            ["x" + person.email],
        ).fetchall()
        assert kept == [("decoy-1",)]
        con.execute("delete from raw.typeform__responses where record_id = 'decoy-1'")
    # AND no column of any table or view holds the address, the lead id or the phone numbers
    assert text_hits(world.warehouse, person.email) == []
    assert text_hits(world.warehouse, person.lead_id) == []
    for phone in person.phones:
        assert text_hits(world.warehouse, phone) == []
    # AND every source's record, the unstaged and the quarantined ones too, was erased
    assert answer["found"] is True and answer["leads"] == 1
    assert set(answer["records"]) >= {f"{s}.{t}" for s, t in _streams(person)}
    assert answer["records"]["typeform.responses"] >= 2  # its response + the unstaged one
    assert answer["records"]["meta.leads"] >= 1 and answer["deleted"]["ops.quarantine"] == 1
    assert answer["deleted"]["marts.dim_leads"] == 1
    assert answer["deleted"]["marts.sync_hubspot__contacts"] == 1
    # AND the accounting adds up: every record is where it was, or erased
    after = accounting(world.warehouse)
    assert after["total"] == before["total"] - 1  # the decoy, removed by the test
    assert (before["unprocessed"], after["unprocessed"]) == (2, 0)  # unstaged + decoy; none
    assert after["erased"] == before["erased"] + sum(answer["records"].values())
    # AND the answer masks the address and names nothing else of the person
    assert answer["email"] == mask_email(person.email) and person.email not in result.output
    assert person.lead_id not in result.output


def _streams(person: Person) -> list[tuple[str, str]]:
    names = {"hubspot": "contacts", "meta": "leads", "typeform": "responses"}
    return [(source, names[source]) for source in sorted(person.sources)]


def test_the_audit_row_counts_without_personal_data(world: World) -> None:
    person = world.person
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        personal = {
            str(v).lower()
            for row in con.execute(
                "select email, first_name, last_name, phone_e164, record_id, crm_contact_id"
                " from ops.lead_records r join ops.lead_identity i using (record_key)"
                " where i.lead_id = ?",
                [person.lead_id],
            ).fetchall()
            for v in row
            if v
        } | {person.lead_id}
    result = forget(world.settings, person.email, crm_delete=False, reference="TICKET-7")
    (row,) = erasure_rows(world.warehouse)
    assert row["erasure_id"] == result.erasure_id and row["kind"] == "request"
    assert row["reference"] == "TICKET-7" and row["crm_outcome"] == "not_requested"
    assert json.loads(row["deleted"])["ops.lead_records"] == len(person.sources)
    assert sum(json.loads(row["records_erased"]).values()) == len(person.sources)
    text = json.dumps(row, default=str).lower()
    assert [value for value in personal if value in text] == []
    # AND the suppressions hold hashes only
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        hashes = con.execute("select value_hash from ops.erasure_suppressions").fetchall()
    assert len(hashes) == 1 + len(person.sources)
    assert all(len(h) == 64 and h not in personal for (h,) in hashes)


def test_dry_run_changes_nothing_and_predicts_the_erasure(world: World) -> None:
    person = world.person
    counts = table_counts(world.warehouse)
    preview = runner.invoke(
        app, ["forget", person.email, "--dry-run", "--config", str(world.config)]
    )
    assert preview.exit_code == 0, preview.output
    assert "Dry run: nothing was changed." in preview.output
    assert mask_email(person.email) in preview.output and person.email not in preview.output
    assert table_counts(world.warehouse) == counts
    dry = forget(world.settings, person.email, crm_delete=False, reference=None, dry_run=True)
    real = forget(world.settings, person.email, crm_delete=False, reference=None)
    assert dry.erasure_id is None and dry.deleted == real.deleted and dry.records == real.records


def test_an_unknown_address_is_nothing_to_erase_audited_and_suppressed(world: World) -> None:
    counts = table_counts(world.warehouse)
    result = runner.invoke(
        app, ["forget", "Nobody.Here@Nowhere.example", "--config", str(world.config)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Nothing to erase for n***@nowhere.example")
    assert "nobody.here" not in result.output.lower()
    changed = {t for t, n in table_counts(world.warehouse).items() if counts.get(t) != n}
    assert changed == {"ops.erasure_log", "ops.erasure_suppressions", "ops.erasure_salt"}
    (row,) = erasure_rows(world.warehouse)
    assert json.loads(row["deleted"]) == {} and json.loads(row["records_erased"]) == {}
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        suppressions = Suppressions.load(con)
    assert suppressions.covers("meta", "leads", "any", "nobody.here@nowhere.example")
    assert not suppressions.covers("meta", "leads", "any", "somebody@nowhere.example")


def test_a_webhook_not_yet_landed_is_erased_from_the_inbox(world: World) -> None:
    # GIVEN `leadflow serve` stored two form submissions no run has landed yet
    from intake.inbox import Arrival, Inbox

    def submission(submission_id: str, email: str) -> Arrival:
        body = {"form_id": "contact-us", "submission_id": submission_id, "fields": {"email": email}}
        return Arrival("webform", submission_id, "submissions", "contact-us", payload=body)

    with Inbox(world.settings.inbox_path) as inbox:
        inbox.store(
            [submission("s-1", "Late.Comer@Acme.example"), submission("s-2", "x@y.example")]
        )
    # WHEN the first person is forgotten
    result = runner.invoke(
        app, ["forget", "late.comer@acme.example", "--config", str(world.config)]
    )
    assert result.exit_code == 0, result.output
    # THEN their submission is gone from the inbox, payload and all; the other one waits
    with Inbox(world.settings.inbox_path) as inbox:
        assert [e.source_key for e in inbox.pending()] == ["s-2"]
        assert inbox.counts() == {"gone": 1, "pending": 1}
        assert all("late.comer" not in text.lower() for _, text in inbox.pending_payloads())
    assert "late.comer" not in world.settings.inbox_path.read_bytes().decode("latin-1").lower()
    (row,) = erasure_rows(world.warehouse)
    assert json.loads(row["deleted"]) == {"intake.inbox": 1}


@pytest.mark.parametrize(
    "address", ["not-an-address", "jane@", ""], ids=["no-at", "no-domain", "empty"]
)
def test_an_invalid_address_is_one_line_that_does_not_repeat_it(world: World, address: str) -> None:
    counts = table_counts(world.warehouse)
    result = runner.invoke(app, ["forget", address, "--config", str(world.config)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "leadflow: the address given is not a valid email address; nothing was done"
    )
    assert table_counts(world.warehouse) == counts


def test_a_contact_that_changed_hands_keeps_its_lead_and_loses_only_the_old_version(
    world: World,
) -> None:
    """A CRM contact once had the person's address and now someone else's: that old version is
    erased, the contact's record and lead (the other person's) are not."""
    person = world.person
    with duckdb.connect(str(world.warehouse)) as con:
        key, record_id, lead_id = con.execute(
            "select r.record_key, r.record_id, i.lead_id from ops.lead_records r"
            " join ops.lead_identity i using (record_key)"
            " where r.source = 'hubspot' and r.email is not null and r.email <> ?"
            " order by r.record_key limit 1",
            [person.email],
        ).fetchone()  # type: ignore[misc]
        payload = con.execute(
            "select payload::varchar from raw.hubspot__contacts where record_id = ? limit 1",
            [record_id],
        ).fetchone()[0]  # type: ignore[index]
        old = json.loads(payload)
        old["properties"]["email"] = person.email
        con.execute(
            "insert into raw.hubspot__contacts values ('raw-old-owner', ?, null,"
            " '2000-01-01'::timestamp, ?, 'hash-old-owner', 'planted', '2000-01-01'::timestamp)",
            [record_id, json.dumps(old)],
        )
    forget(world.settings, person.email, crm_delete=False, reference="T-9")
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        assert con.execute(
            "select count(*) from raw.hubspot__contacts where _raw_id = 'raw-old-owner'"
        ).fetchone() == (0,)
        assert con.execute(
            "select count(*) from ops.lead_records where record_key = ?", [key]
        ).fetchone() == (1,)
        assert con.execute(
            "select count(*) from ops.lead_scores where lead_id = ?", [lead_id]
        ).fetchone() == (1,)
        assert (
            con.execute(
                "select count(*) from raw.hubspot__contacts where record_id = ?", [record_id]
            ).fetchone()[0]
            >= 1
        )  # type: ignore[index]
    assert text_hits(world.warehouse, person.email) == []


def test_a_reference_with_an_address_in_it_is_refused(world: World) -> None:
    counts = table_counts(world.warehouse)
    result = runner.invoke(
        app,
        [
            "forget",
            world.person.email,
            "--reference",
            world.person.email,
            "--config",
            str(world.config),
        ],
    )
    assert result.exit_code == 2 and "give a ticket id, not an address" in result.output
    assert world.person.email not in result.output
    assert table_counts(world.warehouse) == counts


# --------------------------------------------------------------------------- suppression


def test_the_next_full_pull_does_not_bring_them_back(world: World) -> None:
    from leadflow import pipeline

    person = world.person
    forget(world.settings, person.email, crm_delete=False, reference=None)
    # WHEN every cursor is reset (a backfill) and the sandbox serves every record again
    with duckdb.connect(str(world.warehouse)) as con:
        con.execute("delete from ops.sync_state")
    run_id, as_of = "resync", utcnow()
    pulled = [
        r
        for source in world.settings.sources.enabled()
        for r in pipeline.pull_source(world.settings, source, run_id, as_of)
    ]
    staged = pipeline.stage_records(world.settings, run_id, as_of)
    pipeline.resolve_identities(world.settings, run_id, as_of)
    # THEN the person's records landed again and were dropped, counted, not kept
    assert sum(r.new_versions for r in pulled) > 0
    assert staged.erased == len(person.sources)
    assert text_hits(world.warehouse, person.email) == []
    arrival = [row for row in erasure_rows(world.warehouse) if row["kind"] == "arrival"]
    assert {k for row in arrival for k in json.loads(row["records_erased"])} == {
        f"{s}.{t}" for s, t in _streams(person)
    }
    assert all(row["run_id"] == run_id for row in arrival)
    # AND the accounting adds up with nothing unprocessed; each record is erased once, not twice
    acc = accounting(world.warehouse)
    assert acc["unprocessed"] == 0 and acc["erased"] == len(person.sources)
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        in_raw = con.execute(
            "select count(*) from (select distinct record_id from raw.hubspot__contacts union all"
            " select distinct record_id from raw.meta__leads union all"
            " select distinct record_id from raw.typeform__responses)"
        ).fetchone()[0]  # type: ignore[index]
    assert acc["total"] == in_raw + acc["erased"]


# --------------------------------------------------------------------------- the CRM


def _crm_emails(sandbox: Sandbox) -> Counter[str]:
    return Counter(str(c["properties"]["email"]) for c in sandbox.hubspot_contacts())


def test_crm_delete_removes_the_hubspot_contact(world: World) -> None:
    person = world.person
    contacts = _crm_emails(world.sandbox)
    assert person.email in contacts
    result = runner.invoke(
        app, ["forget", person.email, "--crm-delete", "--json", "--config", str(world.config)]
    )
    assert result.exit_code == 0, result.output
    crm = json.loads(result.stdout)["crm"]
    assert crm["outcome"] == "deleted" and crm["failed"] == 0
    # THEN HubSpot lost exactly that contact, through the GDPR endpoint
    assert _crm_emails(world.sandbox) == contacts - Counter([person.email])
    calls = [(m, p, s) for _, m, p, s in world.sandbox.request_log if p == GDPR_DELETE]
    assert calls and all(m == "POST" and s in (204, 404) for m, _, s in calls)
    (row,) = erasure_rows(world.warehouse)
    assert row["crm_delete_requested"] is True and row["crm_outcome"] == "deleted"
    assert person.email not in str(row["crm_detail"])


def test_a_crm_failure_is_reported_and_leaves_the_local_erasure_done(world: World) -> None:
    person = world.person
    world.sandbox.inject_faults("hubspot", 403, count=10, path_prefix=GDPR_DELETE)
    result = runner.invoke(
        app, ["forget", person.email, "--crm-delete", "--config", str(world.config)]
    )
    assert result.exit_code == 1
    assert "the local erasure is done, but HubSpot did not delete every contact" in result.stderr
    assert "403 MISSING_SCOPES" in result.stderr and person.crm_contact_id in result.stderr
    assert person.email not in result.output
    assert text_hits(world.warehouse, person.email) == []
    assert person.email in _crm_emails(world.sandbox)
    (row,) = erasure_rows(world.warehouse)
    assert row["crm_outcome"] == "failed"
    assert json.loads(row["crm_detail"])["errors"][0] == "403 MISSING_SCOPES"


def test_the_sandbox_gdpr_delete_speaks_hubspot(world: World) -> None:
    base = world.sandbox.urls["hubspot"] + GDPR_DELETE
    auth = {"Authorization": f"Bearer {TOKENS['hubspot']}"}
    victim = world.sandbox.hubspot_contacts()[-1]
    ok = requests.post(base, json={"objectId": victim["id"]}, headers=auth, timeout=10)
    assert (ok.status_code, ok.content) == (204, b"")
    again = requests.post(base, json={"objectId": victim["id"]}, headers=auth, timeout=10)
    assert again.status_code == 404 and again.json()["category"] == "OBJECT_NOT_FOUND"
    by_email = requests.post(
        base,
        json={"objectId": "nobody@nowhere.example", "idProperty": "email"},
        headers=auth,
        timeout=10,
    )
    assert by_email.status_code == 204  # HubSpot blocklists an address it does not hold
    missing = requests.post(base, json={}, headers=auth, timeout=10)
    assert missing.status_code == 400 and missing.json()["category"] == "VALIDATION_ERROR"
    anonymous = requests.post(base, json={"objectId": "1"}, timeout=10)
    assert anonymous.status_code == 401


# --------------------------------------------------------------------------- coverage, matching


def test_every_ops_table_is_either_erased_or_declared_free_of_personal_data(
    synced_world: SyncedWorld, tmp_path: Path
) -> None:
    """A new ops table fails here until forget handles it (OPS_TABLES) or it is declared to hold
    nothing personal (NO_PERSONAL_DATA, with the reason)."""
    fresh = Warehouse(tmp_path / "fresh.duckdb")
    fresh.ensure_schema()
    tables: dict[str, set[str]] = {}
    for path in (synced_world.warehouse, fresh.path):
        with duckdb.connect(str(path), read_only=True) as con:
            for table, column in con.execute(
                "select table_name, column_name from information_schema.columns"
                " where table_schema = 'ops'"
            ).fetchall():
                tables.setdefault(table, set()).add(column)
    assert not set(OPS_TABLES) & set(NO_PERSONAL_DATA)
    unclassified = set(tables) - set(OPS_TABLES) - set(NO_PERSONAL_DATA)
    assert unclassified == set(), f"ops tables forget does not know about: {sorted(unclassified)}"
    personal = {"record_id", "record_key", "payload", "email", "phone", "first_name", "last_name"}
    for table in NO_PERSONAL_DATA:
        if table not in tables:
            continue
        suspicious = {c for c in tables[table] if c in personal or c.endswith("lead_id")}
        assert suspicious == set(), f"ops.{table} is declared free of personal data: {suspicious}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"email":"ann@x.com"}', True),
        ('{"email":"mailto:ann@x.com"}', True),
        ('{"email":"<ann@x.com>"}', True),
        ('{"note":"write to ann@x.com."}', True),
        ('{"email":"joann@x.com"}', False),
        ('{"email":"ann@x.com.au"}', False),
        ('{"email":"ann@x.company"}', False),
        ('{"email":"first.ann@x.com"}', False),
    ],
    ids=[
        "field",
        "mailto",
        "brackets",
        "in-a-sentence",
        "longer-local",
        "longer-domain",
        "longer-tld",
        "dotted-local",
    ],
)
def test_an_address_is_matched_whole(text: str, expected: bool) -> None:
    assert _carries(text, "ann@x.com") is expected


def test_forget_waits_for_a_running_sync_and_gives_up_cleanly(world: World) -> None:
    """The run lock: while a sync holds the warehouse, forget touches nothing and says why."""
    import yaml

    from leadflow.run_lock import warehouse_lock

    config = yaml.safe_load(world.config.read_text(encoding="utf-8"))
    config["warehouse"]["lock_wait_seconds"] = 0
    world.config.write_text(yaml.safe_dump(config), encoding="utf-8")
    counts = table_counts(world.warehouse)
    with warehouse_lock(world.warehouse, flow="lead-sync", wait_seconds=0):
        result = runner.invoke(app, ["forget", world.person.email, "--config", str(world.config)])
    assert result.exit_code == 2
    assert result.output.startswith("leadflow: nothing was erased: another LeadFlow run holds")
    assert "lead-sync" in result.output and world.person.email not in result.output
    assert table_counts(world.warehouse) == counts


def test_the_sync_summary_adds_erased_records_to_the_accounting(synced_world: SyncedWorld) -> None:
    from leadflow.cli import render_summary

    summary = dict(synced_world.summary)
    acc = dict(summary["accounting"])
    assert acc["erased"] == 0  # a sync with no erasure: the line reads as before
    assert " erased" not in render_summary(summary)
    acc.update(erased=3, total=acc["total"] + 3)
    text = render_summary({**summary, "accounting": acc})
    assert f"{acc['quarantined']} quarantined + 3 erased = {acc['total']}" in text
