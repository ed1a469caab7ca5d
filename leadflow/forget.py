"""`leadflow forget <email>`: erase one person from the warehouse, keep them out, leave an audit.

What is erased, in one transaction (docs/privacy.md says it for users):

- every record of the person: the ops.lead_records rows with that email, every other record of the
  same lead(s) (ops.lead_identity, and leads merged into or from them, ops.lead_merges), and the raw
  records whose payload carries the address even if they were never staged (quarantined or not yet
  validated);
- every raw version of those records (raw.* of the lead streams) and their ops.quarantine rows;
- every ops row of those leads (OPS_TABLES says which table is matched how);
- the rows of those leads in every table dbt built (schemas intermediate and marts: any table with a
  lead id, email, record key or raw id column), so they are gone before the next build too.

Then the person is suppressed: salted sha256 hashes of the email and of each erased record key go to
ops.erasure_suppressions, and the staging step drops any arriving record that matches one
(`Suppressions`, `drop_arrivals`), counted in ops.erasure_log, never silently. The salt is one random
value kept in ops.erasure_salt: a hash cannot be reversed by hashing a list of known addresses
without it, and the table holds nothing else.

The audit row (ops.erasure_log) holds counts per table and per source stream, the operator's
reference and the CRM outcome: no email, name, phone or lead id. With `crm_delete`, HubSpot is asked
to delete the contacts permanently (its GDPR delete endpoint) after the local erasure has committed;
a CRM failure is recorded and reported, and leaves the local erasure done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from connectors import LEAD_STREAMS
from connectors.http import ApiClient, ConnectorError
from enrichment.normalize import normalize_email
from leadflow.config import Settings
from leadflow.run_lock import run_exclusively
from leadflow.warehouse import Warehouse, has_table, raw_table, registered, transaction, utcnow

log = logging.getLogger("leadflow.forget")

GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"  # HubSpot CRM v3, answers 204

# How each ops table is matched, against two temporary tables: forget_leads(lead_id) and
# forget_records(source, stream, record_id, record_key). Every ops table is either here or in
# NO_PERSONAL_DATA; tests/leadflow/test_forget.py fails on any ops table in neither.
_BY_LEAD = "lead_id in (select lead_id from forget_leads)"
_BY_RECORD = "record_key in (select record_key from forget_records)"
OPS_TABLES: dict[str, str] = {
    "quarantine": "source || ':' || stream || ':' || record_id in "
    "(select record_key from forget_records) or _raw_id in (select _raw_id from forget_versions)",
    "lead_records": _BY_RECORD,
    "lead_identity": f"{_BY_RECORD} or {_BY_LEAD}",
    "lead_merges": "from_lead_id in (select lead_id from forget_leads)"
    " or into_lead_id in (select lead_id from forget_leads)",
    "lead_accounts": _BY_LEAD,
    "lead_match_keys": _BY_LEAD,
    "lead_scores": _BY_LEAD,
    "lead_score_history": _BY_LEAD,
    "lead_lifecycle_events": _BY_LEAD,
    "lead_assignments": _BY_LEAD,
    "routing_audit": _BY_LEAD,
    "routing_queue": _BY_LEAD,
    "routing_not_eligible": _BY_LEAD,
    "push_state": _BY_LEAD,
    "push_log": _BY_LEAD,
    "dead_letter": _BY_LEAD,
    "nurture_memberships": _BY_LEAD,
    "nurture_exclusions": _BY_LEAD,
    "nurture_pushes": _BY_LEAD,
    "lead_recycling": _BY_LEAD,
    "sla_breaches": _BY_LEAD,
    "notifications": _BY_LEAD,
}

# Ops tables that hold no personal data of a lead, and why; nothing in them is erased.
NO_PERSONAL_DATA: dict[str, str] = {
    "sync_state": "cursors per source stream",
    "sync_runs": "run times and summaries: counts, reasons, and reps' (not leads') addresses",
    "push_runs": "per destination and run: counts of rows pushed, rejected and skipped",
    "routing_pools": "round-robin state per pool: rep ids and weights",
    "routing_lease": "which router holds the lease",
    "identity_state": "one digest of what the last identity resolution read",
    "scoring_models": "coefficients and holdout metrics, aggregated over many leads",
    "erasure_log": "counts and a ticket reference, by design",
    "erasure_suppressions": "salted hashes, meaningless without the salt",
    "erasure_salt": "one random value",
    "company_enrichment": "companies' firmographics per business email domain (free mail is never"
    " looked up)",
    "enrichment_usage": "lookups sent to the firmographics provider per day: counts",
    "account_match_state": "hashes of the CRM accounts and settings the last match read",
    "account_match_keys": "CRM accounts' (companies') normalized domains, names and phones",
    "file_drop_files": "which dropped files were loaded: names, content hashes and row counts (the"
    " rows themselves are raw records, erased with their person)",
    "dbt_node_state": "dbt node ids and sha256 digests of what each was built from (the project"
    " and per-table sums of row hashes): nothing a person can be found by",
}

# Columns by which a dbt-built table (schemas other than raw, ops, staging views) names a lead.
LEAD_ID_COLUMNS = ("lead_id", "from_lead_id", "into_lead_id", "leadflow_lead_id")
RECORD_KEY_COLUMNS = ("record_key", "matched_record_key")
RAW_ID_COLUMNS = ("_raw_id", "raw_id")
EMAIL_COLUMNS = ("email",)
_PYTHON_SCHEMAS = ("raw", "ops")


class ForgetError(Exception):
    """A request `forget` cannot carry out (bad address, no CRM configured). Safe to print."""


# --------------------------------------------------------------------------- hashing, masking


def mask_email(address: str) -> str:
    """'jane.doe@example.com' -> 'j***@example.com': enough for an operator to recognise a ticket."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def hash_value(salt: str, value: str) -> str:
    """The salted sha256 suppressions store; DuckDB's sha256(salt || ':' || value) is the same."""
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


def read_salt(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("select salt from ops.erasure_salt order by created_at limit 1").fetchone()
    return str(row[0]) if row else None


def _ensure_salt(con: duckdb.DuckDBPyConnection) -> str:
    salt = read_salt(con)
    if salt is None:
        salt = secrets.token_hex(32)
        con.execute("insert into ops.erasure_salt values (?, ?)", [salt, utcnow()])
    return salt


def record_key(source: str, stream: str, record_id: str) -> str:
    return f"{source}:{stream}:{record_id}"


# --------------------------------------------------------------------------- finding a person


@dataclass
class Person:
    """Everything the warehouse holds of one address: what `forget` erases. Never printed."""

    email: str  # normalized
    records: set[tuple[str, str, str]] = field(default_factory=set)  # (source, stream, record_id)
    versions: set[str] = field(default_factory=set)  # _raw_id of single versions to erase
    lead_ids: set[str] = field(default_factory=set)
    crm_contact_ids: set[str] = field(default_factory=set)
    lemlist_campaigns: set[str] = field(default_factory=set)

    @property
    def found(self) -> bool:
        return bool(self.records or self.lead_ids or self.versions)


def _existing_tables(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """(schema, table) -> columns, for every base table in the warehouse."""
    rows = con.execute(
        """
        select c.table_schema, c.table_name, c.column_name
        from information_schema.columns c
        join information_schema.tables t using (table_catalog, table_schema, table_name)
        where t.table_type = 'BASE TABLE'
        order by c.table_schema, c.table_name, c.ordinal_position
        """
    ).fetchall()
    tables: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        tables.setdefault((str(schema), str(table)), []).append(str(column))
    return tables


def _carries(text: str, address: str) -> bool:
    """Whether `address` appears in `text` as a whole address, not inside a longer one
    ('ann@x.com' is not in 'joann@x.com' nor in 'ann@x.com.au'). Both lower-cased."""
    pattern = r"(?<![a-z0-9._%+'\-])" + re.escape(address) + r"(?![a-z0-9\-]|\.[a-z0-9])"
    return re.search(pattern, text) is not None


def _payload_matches(
    con: duckdb.DuckDBPyConnection, table: str, columns: str, address: str
) -> list[tuple[Any, ...]]:
    """Rows of `table` whose JSON payload carries the address (case-insensitive), confirmed whole."""
    rows = con.execute(
        f"select {columns}, lower(payload::varchar) from {table}"
        " where contains(lower(payload::varchar), ?)",
        [address],
    ).fetchall()
    return [row[:-1] for row in rows if _carries(str(row[-1]), address)]


def _split_key(key: str) -> tuple[str, str, str]:
    source, stream, record_id = key.split(":", 2)
    return source, stream, record_id


def find_person(
    con: duckdb.DuckDBPyConnection, address: str, tables: dict[tuple[str, str], list[str]]
) -> Person:
    """Every record, lead, CRM contact and nurture campaign of `address` (already normalized)."""
    person = Person(address)
    ops = {table for schema, table in tables if schema == "ops"}
    if "lead_records" in ops:
        for (key,) in con.execute(
            "select record_key from ops.lead_records where email = ?", [address]
        ).fetchall():
            person.records.add(_split_key(str(key)))
    matches: set[tuple[str, str, str, str]] = set()  # (source, stream, record_id, _raw_id)
    for source, stream in LEAD_STREAMS:
        if ("raw", f"{source}__{stream}") in tables:
            for record_id, raw_id in _payload_matches(
                con, raw_table(source, stream), "record_id, _raw_id", address
            ):
                matches.add((source, stream, str(record_id), str(raw_id)))
    if "quarantine" in ops:
        for source, stream, record_id, raw_id in _payload_matches(
            con, "ops.quarantine", "source, stream, record_id, _raw_id", address
        ):
            matches.add((str(source), str(stream), str(record_id), str(raw_id)))
    taken = _now_someone_else(con, address, matches) if "lead_records" in ops else set()
    for source, stream, record_id, raw_id in matches:
        if (source, stream, record_id) in taken:
            person.versions.add(raw_id)
        else:
            person.records.add((source, stream, record_id))
    if {"lead_identity", "lead_records"} <= ops:
        _add_leads(con, person, merges="lead_merges" in ops)
    _add_crm_and_campaigns(con, person, ops)
    return person


def _now_someone_else(
    con: duckdb.DuckDBPyConnection, address: str, matches: set[tuple[str, str, str, str]]
) -> set[tuple[str, str, str]]:
    """Matched records whose current version has another address (a CRM contact that changed
    hands): only their versions carrying this address are erased, not the record and its lead."""
    keys = sorted({record_key(s, st, rid) for s, st, rid, _ in matches})
    if not keys:
        return set()
    rows = con.execute(
        "select record_key from ops.lead_records"
        " where list_contains(?, record_key) and email is not null and email <> ?",
        [keys, address],
    ).fetchall()
    return {_split_key(str(key)) for (key,) in rows}


def _add_leads(con: duckdb.DuckDBPyConnection, person: Person, *, merges: bool) -> None:
    """The leads of the person's records (and leads merged into or from them), then every record
    of those leads: a lead's records are one person by identity resolution's own verdict."""
    keys = [record_key(*r) for r in person.records]
    if not keys:
        return
    leads = {
        str(row[0])
        for row in con.execute(
            "select lead_id from ops.lead_identity where list_contains(?, record_key)"
            " union select leadflow_lead_id from ops.lead_records"
            " where list_contains(?, record_key) and leadflow_lead_id is not null",
            [keys, keys],
        ).fetchall()
    }
    while merges and leads:
        linked = {
            str(value)
            for row in con.execute(
                "select from_lead_id, into_lead_id from ops.lead_merges"
                " where list_contains(?, from_lead_id) or list_contains(?, into_lead_id)",
                [sorted(leads), sorted(leads)],
            ).fetchall()
            for value in row
        }
        if linked <= leads:
            break
        leads |= linked
    person.lead_ids = leads
    if not leads:
        return
    ids = sorted(leads)
    for (key,) in con.execute(
        "select record_key from ops.lead_identity where list_contains(?, lead_id)"
        " union select record_key from ops.lead_records where list_contains(?, leadflow_lead_id)",
        [ids, ids],
    ).fetchall():
        person.records.add(_split_key(str(key)))


def _add_crm_and_campaigns(con: duckdb.DuckDBPyConnection, person: Person, ops: set[str]) -> None:
    keys = [record_key(*r) for r in person.records]
    ids = sorted(person.lead_ids)
    if "lead_records" in ops and keys:
        for (contact_id,) in con.execute(
            "select crm_contact_id from ops.lead_records"
            " where list_contains(?, record_key) and source = 'hubspot' and crm_contact_id is not null",
            [keys],
        ).fetchall():
            person.crm_contact_ids.add(str(contact_id))
    if not ids:
        return
    if "push_state" in ops:
        for (contact_id,) in con.execute(
            "select destination_record_id from ops.push_state where destination = 'hubspot'"
            " and list_contains(?, lead_id) and destination_record_id is not null",
            [ids],
        ).fetchall():
            person.crm_contact_ids.add(str(contact_id))
    if "nurture_pushes" in ops:
        for (campaign,) in con.execute(
            "select distinct campaign_id from ops.nurture_pushes"
            " where list_contains(?, lead_id) and operation = 'add' and status = 'ok'",
            [ids],
        ).fetchall():
            person.lemlist_campaigns.add(str(campaign))


# --------------------------------------------------------------------------- what to delete


def _targets(tables: dict[tuple[str, str], list[str]]) -> list[tuple[str, str]]:
    """(qualified table, where clause) for every table holding rows of the person."""
    targets: list[tuple[str, str]] = []
    for source, stream in LEAD_STREAMS:
        if ("raw", f"{source}__{stream}") in tables:
            targets.append(
                (
                    raw_table(source, stream),
                    "record_id in (select record_id from forget_records"
                    f" where source = '{source}' and stream = '{stream}')"
                    " or _raw_id in (select _raw_id from forget_versions)",
                )
            )
    for table, where in OPS_TABLES.items():
        if ("ops", table) in tables:
            targets.append((f"ops.{table}", where))
    for (schema, table), columns in sorted(tables.items()):
        if schema in _PYTHON_SCHEMAS:
            continue
        built = _built_table_where(columns)
        if built:
            targets.append((f"{schema}.{table}", built))
    return targets


def _built_table_where(columns: list[str]) -> str | None:
    """How a dbt-built table names the person's rows, from its columns; None if it cannot."""
    clauses = [
        f'"{c}" in (select lead_id from forget_leads)' for c in columns if c in LEAD_ID_COLUMNS
    ]
    clauses += [
        f'"{c}" in (select record_key from forget_records)'
        for c in columns
        if c in RECORD_KEY_COLUMNS
    ]
    clauses += [
        f'"{c}" in (select _raw_id from forget_raw)' for c in columns if c in RAW_ID_COLUMNS
    ]
    clauses += [
        f'lower("{c}") = (select email from forget_email)' for c in columns if c in EMAIL_COLUMNS
    ]
    return " or ".join(clauses) or None


@contextlib.contextmanager
def _person_tables(con: duckdb.DuckDBPyConnection, person: Person) -> Iterator[None]:
    """The person's leads, records, raw versions and email as tables the where clauses read."""
    records = pd.DataFrame(
        [(s, st, rid, record_key(s, st, rid)) for s, st, rid in sorted(person.records)],
        columns=["source", "stream", "record_id", "record_key"],
        dtype=object,
    )
    leads = pd.DataFrame({"lead_id": sorted(person.lead_ids)}, dtype=object)
    raw_ids: list[str] = []
    for source, stream in LEAD_STREAMS:
        ids = [rid for s, st, rid in person.records if (s, st) == (source, stream)]
        if ids and has_table(con, "raw", f"{source}__{stream}"):
            raw_ids += [
                str(r[0])
                for r in con.execute(
                    f"select _raw_id from {raw_table(source, stream)} where list_contains(?, record_id)",
                    [ids],
                ).fetchall()
            ]
    raw = pd.DataFrame({"_raw_id": raw_ids + sorted(person.versions)}, dtype=object)
    versions = pd.DataFrame({"_raw_id": sorted(person.versions)}, dtype=object)
    email = pd.DataFrame({"email": [person.email]}, dtype=object)
    with (
        registered(con, "forget_records", records),
        registered(con, "forget_versions", versions),
        registered(con, "forget_leads", leads),
        registered(con, "forget_raw", raw),
        registered(con, "forget_email", email),
    ):
        yield


def _quoted(table: str) -> str:
    """'marts.dim_leads' -> '"marts"."dim_leads"': dbt may name a relation anything."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split(".", 1))


def _count(con: duckdb.DuckDBPyConnection, targets: list[tuple[str, str]]) -> dict[str, int]:
    counts = {}
    for table, where in targets:
        row = con.execute(f"select count(*) from {_quoted(table)} where {where}").fetchone()
        if row and row[0]:
            counts[table] = int(row[0])
    return counts


def _delete(con: duckdb.DuckDBPyConnection, targets: list[tuple[str, str]]) -> dict[str, int]:
    counts = {}
    for table, where in targets:
        row = con.execute(f"delete from {_quoted(table)} where {where}").fetchone()
        if row and row[0]:
            counts[table] = int(row[0])
    return counts


def _records_by_stream(
    con: duckdb.DuckDBPyConnection, person: Person, tables: dict[tuple[str, str], list[str]]
) -> dict[str, int]:
    """'source.stream' -> the person's records raw holds (what accounting counts as erased)."""
    counts: Counter[str] = Counter()
    for source, stream, record_id in person.records:
        if ("raw", f"{source}__{stream}") not in tables:
            continue
        row = con.execute(
            f"select count(*) from {raw_table(source, stream)} where record_id = ?", [record_id]
        ).fetchone()
        if row and row[0]:
            counts[f"{source}.{stream}"] += 1
    return dict(sorted(counts.items()))


# --------------------------------------------------------------------------- suppression


@dataclass(frozen=True)
class Suppressions:
    """The hashes of erased emails and record keys, for the staging step to drop arrivals."""

    salt: str | None = None
    emails: frozenset[str] = frozenset()
    records: frozenset[str] = frozenset()

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> Suppressions:
        if not has_table(con, "ops", "erasure_salt") or not has_table(
            con, "ops", "erasure_suppressions"
        ):
            return cls()
        salt = read_salt(con)
        if salt is None:
            return cls()
        rows = con.execute("select kind, value_hash from ops.erasure_suppressions").fetchall()
        return cls(
            salt,
            frozenset(h for kind, h in rows if kind == "email"),
            frozenset(h for kind, h in rows if kind == "record"),
        )

    def covers(self, source: str, stream: str, record_id: str, email: str | None) -> bool:
        """Whether an arriving record belongs to an erased person (its email or its record)."""
        if self.salt is None:
            return False
        if email is not None and hash_value(self.salt, email) in self.emails:
            return True
        return hash_value(self.salt, record_key(source, stream, record_id)) in self.records


def _suppress(
    con: duckdb.DuckDBPyConnection,
    salt: str,
    erasure_id: str,
    when: datetime,
    *,
    email: str | None,
    records: Iterable[tuple[str, str, str]],
) -> None:
    rows: list[tuple[str, str, str | None, str | None]] = [
        ("record", hash_value(salt, record_key(*r)), r[0], r[1]) for r in records
    ]
    if email is not None:
        rows.append(("email", hash_value(salt, email), None, None))
    if not rows:
        return
    frame = pd.DataFrame(rows, columns=["kind", "value_hash", "source", "stream"], dtype=object)
    frame["erasure_id"] = erasure_id
    frame["suppressed_at"] = when
    with registered(con, "new_suppressions", frame):
        con.execute(
            "insert or ignore into ops.erasure_suppressions by name select * from new_suppressions"
        )


def _log_erasure(
    con: duckdb.DuckDBPyConnection,
    erasure_id: str,
    *,
    kind: str,
    when: datetime,
    reference: str | None,
    run_id: str | None,
    deleted: dict[str, int],
    records: dict[str, int],
    crm_requested: bool,
    crm_outcome: str,
) -> None:
    con.execute(
        "insert into ops.erasure_log (erasure_id, kind, requested_at, reference, run_id, deleted,"
        " records_erased, crm_delete_requested, crm_outcome) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            erasure_id,
            kind,
            when,
            reference,
            run_id,
            json.dumps(deleted),
            json.dumps(records),
            crm_requested,
            crm_outcome,
        ],
    )


def drop_arrivals(
    con: duckdb.DuckDBPyConnection,
    source: str,
    stream: str,
    record_ids: list[str],
    *,
    run_id: str,
    as_of: datetime,
) -> int:
    """Delete the raw versions of arriving records of erased people, and log how many.

    Versions already current in ops.lead_records or quarantined are kept: a record that belonged to
    someone else until this version (a CRM contact whose email was changed to an erased address)
    keeps its history, and only the new version is dropped. A record left with no version at all
    is suppressed by key too, so accounting counts it as erased.
    """
    table = raw_table(source, stream)
    salt = read_salt(con)
    assert salt is not None, "suppressions exist only once a salt does"
    erasure_id = str(uuid.uuid4())
    with transaction(con):
        row = con.execute(
            f"""
            delete from {table}
            where list_contains(?, record_id)
              and _raw_id not in (select _raw_id from ops.lead_records)
              and _raw_id not in (select _raw_id from ops.quarantine)
            """,
            [record_ids],
        ).fetchone()
        deleted = int(row[0]) if row else 0
        gone = [
            rid
            for rid in sorted(set(record_ids))
            if not con.execute(
                f"select count(*) from {table} where record_id = ?", [rid]
            ).fetchone()[0]  # type: ignore[index]
        ]
        _suppress(
            con, salt, erasure_id, as_of, email=None, records=[(source, stream, r) for r in gone]
        )
        _log_erasure(
            con,
            erasure_id,
            kind="arrival",
            when=as_of,
            reference=None,
            run_id=run_id,
            deleted={table: deleted},
            records={f"{source}.{stream}": len(set(record_ids))},
            crm_requested=False,
            crm_outcome="not_requested",
        )
    log.info("%s.%s: %d arriving records of erased people dropped", source, stream, len(record_ids))
    return len(set(record_ids))


# --------------------------------------------------------------------------- the CRM


@dataclass
class CrmResult:
    requested: bool = False
    outcome: str = "not_requested"  # not_requested | deleted | failed | would_delete
    deleted: int = 0  # 204 answers
    not_found: int = 0  # 404 answers: already gone
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # "<status> <category>" only
    retry_object_ids: list[str] = field(default_factory=list)  # contact ids still to delete

    def as_dict(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "outcome": self.outcome,
            "deleted": self.deleted,
            "not_found": self.not_found,
            "failed": self.failed,
            "errors": self.errors,
            "retry_object_ids": self.retry_object_ids,
        }


def crm_gdpr_delete(client: ApiClient, person: Person) -> CrmResult:
    """Ask HubSpot to delete every contact of the person for good: each contact id the warehouse
    knew, then the address itself (which also catches a contact created since the last pull; for
    an address it does not hold, HubSpot blocklists it instead)."""
    result = CrmResult(requested=True)
    bodies: list[tuple[dict[str, str], str | None]] = [
        ({"objectId": contact_id}, contact_id) for contact_id in sorted(person.crm_contact_ids)
    ]
    bodies.append(({"objectId": person.email, "idProperty": "email"}, None))
    for body, contact_id in bodies:
        try:
            client.post_json(GDPR_DELETE, body)
            result.deleted += 1
        except ConnectorError as exc:
            if exc.status == 404:
                result.not_found += 1
                continue
            result.failed += 1
            result.errors.append(f"{exc.status or 'no answer'} {exc.category}".strip())
            if contact_id is not None:
                result.retry_object_ids.append(contact_id)
    result.outcome = "failed" if result.failed else "deleted"
    return result


def _record_crm(con: duckdb.DuckDBPyConnection, erasure_id: str, crm: CrmResult) -> None:
    con.execute(
        "update ops.erasure_log set crm_outcome = ?, crm_detail = ? where erasure_id = ?",
        [crm.outcome, json.dumps(crm.as_dict()), erasure_id],
    )


# --------------------------------------------------------------------------- forget


@dataclass
class ForgetResult:
    masked_email: str
    dry_run: bool
    found: bool
    leads: int
    records: dict[str, int]  # 'source.stream' -> records erased (or that would be)
    deleted: dict[str, int]  # table -> rows deleted (or that would be)
    crm: CrmResult
    crm_contacts: int  # contacts the warehouse knew in the CRM
    lemlist_campaigns: int
    reference: str | None
    erasure_id: str | None = None
    status: str = "done"  # done | skipped (another run held the warehouse)
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "email": self.masked_email,
            "dry_run": self.dry_run,
            "found": self.found,
            "leads": self.leads,
            "records": self.records,
            "deleted": self.deleted,
            "crm_contacts_known": self.crm_contacts,
            "crm": self.crm.as_dict(),
            "lemlist_campaigns": self.lemlist_campaigns,
            "reference": self.reference,
            "erasure_id": self.erasure_id,
        }


def normalized_address(email: str) -> str:
    """The address as enrichment stores it, or a ForgetError that does not repeat it."""
    address = normalize_email(email).address
    if address is None:
        raise ForgetError("the address given is not a valid email address; nothing was done")
    return address


def forget(
    settings: Settings,
    email: str,
    *,
    crm_delete: bool,
    reference: str | None,
    as_of: datetime | None = None,
    dry_run: bool = False,
) -> ForgetResult:
    """Erase the person with `email` (see the module docstring), under the warehouse run lock."""
    address = normalized_address(email)
    if reference is not None and "@" in reference:
        raise ForgetError(
            "--reference is kept in the audit: give a ticket id, not an address; nothing was done"
        )
    path = settings.warehouse_path
    if not path.is_file():
        raise ForgetError(f"no warehouse at {path}: nothing to erase (run `leadflow run` first)")
    destination = settings.destinations.hubspot
    if crm_delete and (destination is None or not destination.enabled):
        raise ForgetError(
            "--crm-delete needs destinations.hubspot enabled in the config; nothing was done"
        )
    outcome: dict[str, Any] = {}

    def run() -> dict[str, Any]:
        outcome["result"] = _forget_locked(
            settings, address, crm_delete, reference, as_of or utcnow(), dry_run
        )
        return {"status": "done"}

    status = run_exclusively(
        path, flow="forget", wait_seconds=settings.warehouse.lock_wait_seconds, run=run, log=log
    )
    if "result" in outcome:
        result: ForgetResult = outcome["result"]
        return result
    return ForgetResult(
        mask_email(address),
        dry_run,
        False,
        0,
        {},
        {},
        CrmResult(requested=crm_delete),
        0,
        0,
        reference,
        status="skipped",
        reason=str(status.get("reason", "")),
    )


def _forget_locked(
    settings: Settings,
    address: str,
    crm_delete: bool,
    reference: str | None,
    when: datetime,
    dry_run: bool,
) -> ForgetResult:
    wh = Warehouse(settings.warehouse_path)
    if not dry_run:
        wh.ensure_schema()
    with wh.connect() as con:
        tables = _existing_tables(con)
        person = find_person(con, address, tables)
        with _person_tables(con, person):
            records = _records_by_stream(con, person, tables)
            deleted = _count(con, _targets(tables))
    waiting = _inbox_entries(settings, address)
    if waiting:
        deleted[INBOX] = len(waiting)
    result = ForgetResult(
        mask_email(address),
        dry_run,
        person.found,
        len(person.lead_ids),
        records,
        deleted,
        CrmResult(requested=crm_delete, outcome="would_delete" if crm_delete else "not_requested"),
        len(person.crm_contact_ids),
        len(person.lemlist_campaigns),
        reference,
    )
    if dry_run:
        return result
    with _crm_client(settings, crm_delete) as client:  # a missing token stops us before erasing
        result.erasure_id = str(uuid.uuid4())
        with wh.connect() as con:
            with _person_tables(con, person), transaction(con):
                result.deleted = _delete(con, _targets(tables))
                if waiting:
                    result.deleted[INBOX] = len(waiting)  # erased just after this commit
                salt = _ensure_salt(con)
                _suppress(con, salt, result.erasure_id, when, email=address, records=person.records)
                _log_erasure(
                    con,
                    result.erasure_id,
                    kind="request",
                    when=when,
                    reference=reference,
                    run_id=None,
                    deleted=result.deleted,
                    records=records,
                    crm_requested=crm_delete,
                    crm_outcome="pending" if crm_delete else "not_requested",
                )
            # Deleted rows can linger in the write-ahead log until a checkpoint folds it in.
            con.execute("force checkpoint")
        if waiting:  # after the warehouse: should this fail, the next run's staging drops them
            from intake.inbox import Inbox

            with Inbox(settings.inbox_path) as inbox:
                inbox.mark_gone(waiting, "erased by leadflow forget before it was landed")
        if client is not None:
            result.crm = crm_gdpr_delete(client, person)
            with wh.connect() as con:
                _record_crm(con, result.erasure_id, result.crm)
    log.info(
        "erasure %s: %d leads, %d records, %d rows deleted",
        result.erasure_id,
        result.leads,
        sum(records.values()),
        sum(result.deleted.values()),
    )
    return result


INBOX = "intake.inbox"  # webhooks `leadflow serve` stored and no run has landed yet


def _inbox_entries(settings: Settings, address: str) -> list[int]:
    """Inbox entries still holding a record that carries the address (docs/intake.md)."""
    if not settings.inbox_path.is_file():
        return []
    from intake.inbox import Inbox

    with Inbox(settings.inbox_path) as inbox:
        return [
            entry_id
            for entry_id, payload in inbox.pending_payloads()
            if _carries(payload.lower(), address)
        ]


@contextlib.contextmanager
def _crm_client(settings: Settings, crm_delete: bool) -> Iterator[ApiClient | None]:
    """The HubSpot client for the GDPR delete (the embedded sandbox started if the config points
    at it), opened before anything is erased so a missing token stops the request cleanly."""
    if not crm_delete:
        yield None
        return
    from connectors import hubspot
    from leadflow.embedded import embedded_sandbox

    destination = settings.destinations.hubspot
    assert destination is not None
    with embedded_sandbox(settings):
        client = hubspot.open_client(destination)
        try:
            yield client
        finally:
            client.close()
