"""The world's state in one SQLite database: on disk with a state path, in memory without.

One connection, one lock: every request handler and every Python-side call goes through
`read()` or `transaction()`, so the threaded servers never interleave a half-done write. SQLite
indexes on the cursor fields (HubSpot's lastmodifieddate and createdate, Meta's created time,
Typeform's submitted time) keep paging a large world to index range scans instead of sorting in
Python.

The file is generated on first start from (seed, leads) and reused afterwards; when the stored
seed, size or schema differ from the requested ones it is regenerated, and a log line says so.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from random import Random

from sandbox.clock import from_ms
from sandbox.companies import CompanyFacts, make_hubspot_companies
from sandbox.properties import COMPANY_PROPERTY_NAMES, DEAL_PROPERTY_NAMES, PROPERTY_NAMES
from sandbox.world import (
    FORMS,
    Bundle,
    Company,
    Generator,
    GenState,
    Owner,
    PeopleView,
    Person,
    TruthView,
    World,
    WorldParams,
    arrival_times,
    make_companies,
    make_owners,
)

log = logging.getLogger("sandbox")

# Bump when the tables or the generator change, so stale state files are regenerated.
# 3: contacts carry leadflow_nurture_track
# 4: contacts carry hubspot_owner_assigneddate and the first sales engagement (hs_sa_first_*)
# 5: deals (hs_deals) and the contacts' sales activity (num_contacted_notes, notes_last_*)
# 6: companies (hs_companies), the accounts leads are matched to
# 7: contacts carry leadflow_model_version
# 8: contacts carry hs_merged_object_ids (merges; sandbox/hubspot.py keeps the archive beside them)
SCHEMA_VERSION = "8"  # 2: contacts carry industry, numemployees, email opt-out and bounce
CHUNK = 5_000

_CONTACT_COLUMNS = ", ".join(f"{name} TEXT" for name in PROPERTY_NAMES if name != "hs_object_id")
_DEAL_COLUMNS = [name for name in DEAL_PROPERTY_NAMES if name != "hs_object_id"]
_COMPANY_COLUMNS = [name for name in COMPANY_PROPERTY_NAMES if name != "hs_object_id"]

SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE companies (
    id INTEGER PRIMARY KEY, name TEXT, domain TEXT, country TEXT, industry TEXT, employees INTEGER
);
CREATE TABLE owners (
    id TEXT PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, user_id INTEGER,
    team_id TEXT, team TEXT, created_ms INTEGER, archived INTEGER
);
CREATE TABLE people (
    idx INTEGER PRIMARY KEY, person_id TEXT UNIQUE, first_name TEXT, last_name TEXT, email TEXT,
    phone TEXT, company_id INTEGER, job_title TEXT, country TEXT, city TEXT, arrived_ms INTEGER
);
CREATE INDEX people_email ON people(email);
CREATE TABLE truth (
    source TEXT, record_id TEXT, person_id TEXT, PRIMARY KEY (source, record_id)
) WITHOUT ROWID;
CREATE INDEX truth_person ON truth(person_id);
CREATE TABLE hs_contacts (id INTEGER PRIMARY KEY, hs_object_id TEXT, {_CONTACT_COLUMNS});
CREATE UNIQUE INDEX hs_contacts_email ON hs_contacts(email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX hs_contacts_lead_id ON hs_contacts(leadflow_lead_id)
    WHERE leadflow_lead_id IS NOT NULL;
CREATE INDEX hs_contacts_lastmod ON hs_contacts(lastmodifieddate, id);
CREATE INDEX hs_contacts_created ON hs_contacts(createdate, id);
CREATE TABLE meta_leads (id INTEGER PRIMARY KEY, form_id TEXT, created_s INTEGER, data TEXT);
CREATE INDEX meta_leads_form_time ON meta_leads(form_id, created_s, id);
CREATE INDEX meta_leads_time ON meta_leads(created_s);
CREATE TABLE hs_deals (
    id INTEGER PRIMARY KEY, contact_id INTEGER, {", ".join(f"{name} TEXT" for name in _DEAL_COLUMNS)}
);
CREATE INDEX hs_deals_lastmod ON hs_deals(hs_lastmodifieddate, id);
CREATE INDEX hs_deals_contact ON hs_deals(contact_id);
CREATE TABLE hs_companies (
    id INTEGER PRIMARY KEY, company_id INTEGER,
    {", ".join(f"{name} TEXT" for name in _COMPANY_COLUMNS)}
);
CREATE INDEX hs_companies_lastmod ON hs_companies(hs_lastmodifieddate, id);
CREATE TABLE tf_responses (
    seq INTEGER PRIMARY KEY, token TEXT UNIQUE, form_id TEXT, submitted_ms INTEGER,
    landed_ms INTEGER, data TEXT
);
CREATE INDEX tf_responses_form_time ON tf_responses(form_id, submitted_ms, seq);
"""

_DEAL_INSERT = (
    f"INSERT INTO hs_deals (id, contact_id, {', '.join(_DEAL_COLUMNS)}) "
    f"VALUES (?, ?, {', '.join('?' for _ in _DEAL_COLUMNS)})"
)

# company_id: the world company a record stands for (the truth matching is scored on), never served.
_COMPANY_INSERT = (
    f"INSERT INTO hs_companies (id, company_id, {', '.join(_COMPANY_COLUMNS)}) "
    f"VALUES (?, ?, {', '.join('?' for _ in _COMPANY_COLUMNS)})"
)

_CONTACT_INSERT = (
    f"INSERT INTO hs_contacts (id, {', '.join(PROPERTY_NAMES)}) "
    f"VALUES (?, {', '.join('?' for _ in PROPERTY_NAMES)})"
)


class Store:
    """The SQLite state behind all three servers, and the World view over it."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = self._connect()
        self._companies: list[Company] | None = None
        self._owners: list[Owner] | None = None

    def _connect(self) -> sqlite3.Connection:
        target = ":memory:" if self.path is None else str(self.path)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        if self.path is not None:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------ access

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together or not at all."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def meta_get(self, conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ lifecycle

    def ensure_world(self, seed: int, leads: int, now_ms: int) -> None:
        """Reuse the stored world when it was made from the same seed and size; else (re)make it."""
        with self._lock:
            stored = self._stored_params()
            if stored == (SCHEMA_VERSION, str(seed), str(leads)):
                log.info(
                    "sandbox: reusing the world in %s (seed=%s, leads=%s)", self.path, seed, leads
                )
                return
            if stored is not None:
                log.warning(
                    "sandbox: state in %s was generated with schema=%s seed=%s leads=%s; "
                    "regenerating for seed=%s leads=%s",
                    self.path,
                    *stored,
                    seed,
                    leads,
                )
                self._reset()
            self._generate(seed, leads, now_ms)

    def _stored_params(self) -> tuple[str, str, str] | None:
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}
        if "meta" not in tables:
            return None
        values = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        return (values.get("schema", "?"), values.get("seed", "?"), values.get("leads", "?"))

    def _reset(self) -> None:
        self._conn.close()
        if self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
        self._conn = self._connect()
        self._companies = None
        self._owners = None

    def _generate(self, seed: int, leads: int, now_ms: int) -> None:
        rng = Random(f"leadflow-sandbox:{seed}")
        companies = make_companies(rng, max(1, leads // 8))
        owners = make_owners(now_ms)
        state = GenState()
        # executescript commits on its own, so the schema is created outside the transaction.
        self._conn.executescript(SCHEMA)
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO companies VALUES (?, ?, ?, ?, ?, ?)",
                [(c.id, c.name, c.domain, c.country, c.industry, c.employees) for c in companies],
            )
            conn.executemany(
                "INSERT INTO owners VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        o.id,
                        o.email,
                        o.first_name,
                        o.last_name,
                        o.user_id,
                        o.team_id,
                        o.team,
                        o.created_ms,
                        int(o.archived),
                    )
                    for o in owners
                ],
            )
            gen = Generator(seed, companies, owners, state, lambda e: self._email_taken(conn, e))
            times = arrival_times(rng, leads, now_ms)
            for start in range(0, leads, CHUNK):
                bundles = [
                    gen.person(rng, t, now_ms, same_time=False)
                    for t in times[start : start + CHUNK]
                ]
                self._insert(conn, bundles)
                gen.flushed()
            self._insert_companies(conn, seed, companies, owners, now_ms)
            meta = {
                "schema": SCHEMA_VERSION,
                "seed": str(seed),
                "leads": str(leads),
                "generated_at_ms": str(now_ms),
                "state": state.to_json(),
            }
            conn.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        log.info("sandbox: generated a world of %s people (seed=%s)", leads, seed)

    @staticmethod
    def _insert_companies(
        conn: sqlite3.Connection,
        seed: int,
        companies: list[Company],
        owners: list[Owner],
        now_ms: int,
    ) -> None:
        """The CRM's company records (sandbox/companies.py), from what the people left: their
        phones and how many of them are HubSpot contacts, per company."""
        phones: dict[int, list[tuple[str, str]]] = {}
        for company_id, phone, country in conn.execute(
            "SELECT company_id, phone, country FROM people WHERE phone IS NOT NULL ORDER BY idx"
        ):
            phones.setdefault(int(company_id), []).append((str(phone), str(country)))
        contacts = dict(
            conn.execute(
                "SELECT p.company_id, COUNT(*) FROM truth t JOIN people p "
                "ON p.person_id = t.person_id WHERE t.source = 'hubspot' GROUP BY p.company_id"
            ).fetchall()
        )
        facts = {
            c.id: CompanyFacts(tuple(phones.get(c.id, ())), int(contacts.get(c.id, 0)))
            for c in companies
        }
        records = make_hubspot_companies(seed, companies, owners, facts, now_ms)
        conn.executemany(
            _COMPANY_INSERT,
            [
                (
                    int(str(r.properties["hs_object_id"])),
                    r.company_id,
                    *(r.properties[name] for name in _COMPANY_COLUMNS),
                )
                for r in records
            ],
        )

    @staticmethod
    def _email_taken(conn: sqlite3.Connection, email: str) -> bool:
        return conn.execute("SELECT 1 FROM people WHERE email = ?", (email,)).fetchone() is not None

    @staticmethod
    def _insert(conn: sqlite3.Connection, bundles: list[Bundle]) -> None:
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [b.person for b in bundles],
        )
        conn.executemany(
            "INSERT INTO truth VALUES (?, ?, ?)", [t for b in bundles for t in b.truth]
        )
        conn.executemany(
            _CONTACT_INSERT,
            [
                (int(str(p["hs_object_id"])), *(p[name] for name in PROPERTY_NAMES))
                for b in bundles
                for p in b.hubspot
            ],
        )
        conn.executemany(
            _DEAL_INSERT,
            [
                (d["id"], d["contact_id"], *(d[name] for name in _DEAL_COLUMNS))
                for b in bundles
                for d in b.deals
            ],
        )
        conn.executemany(
            "INSERT INTO meta_leads VALUES (?, ?, ?, ?)", [m for b in bundles for m in b.meta]
        )
        conn.executemany(
            "INSERT INTO tf_responses (token, form_id, submitted_ms, landed_ms, data) "
            "VALUES (?, ?, ?, ?, ?)",
            [t for b in bundles for t in b.typeform],
        )

    # ------------------------------------------------------------------ arrivals

    def add_arrivals(self, count: int, at_ms: int) -> list[str]:
        """`count` new people arriving at `at_ms`, with their records; returns their person ids.

        Deterministic from the seed and how many people exist: the same calls in the same order
        on the same world give the same people.
        """
        with self.transaction() as conn:
            seed = int(self.meta_get(conn, "seed") or 0)
            state = GenState.from_json(self.meta_get(conn, "state") or "{}")
            rng = Random(f"leadflow-sandbox:{seed}:arrivals:{state.next_person}")
            gen = Generator(
                seed,
                self.companies(),
                self.owners(),
                state,
                lambda e: self._email_taken(conn, e),
            )
            bundles = [gen.person(rng, at_ms, at_ms, same_time=True) for _ in range(count)]
            self._insert(conn, bundles)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'state'", (state.to_json(),))
        return [str(b.person[1]) for b in bundles]

    def next_hubspot_id(self, conn: sqlite3.Connection) -> int:
        """Allocate a contact id for a contact the API creates (inside the caller's transaction)."""
        state = GenState.from_json(self.meta_get(conn, "state") or "{}")
        contact_id = state.next_hubspot_id
        state.next_hubspot_id += 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'state'", (state.to_json(),))
        return contact_id

    # ------------------------------------------------------------------ world view

    def companies(self) -> list[Company]:
        with self._lock:
            if self._companies is None:
                rows = self._conn.execute("SELECT * FROM companies ORDER BY id").fetchall()
                self._companies = [Company(*tuple(r)) for r in rows]
            return self._companies

    def owners(self) -> list[Owner]:
        with self._lock:
            if self._owners is None:
                rows = self._conn.execute("SELECT * FROM owners ORDER BY id").fetchall()
                self._owners = [
                    Owner(
                        id=r["id"],
                        email=r["email"],
                        first_name=r["first_name"],
                        last_name=r["last_name"],
                        user_id=r["user_id"],
                        team_id=r["team_id"],
                        team=r["team"],
                        created_ms=r["created_ms"],
                        archived=bool(r["archived"]),
                    )
                    for r in rows
                ]
            return self._owners

    def world(self) -> World:
        with self.read() as conn:
            params = WorldParams(
                seed=int(self.meta_get(conn, "seed") or 0),
                leads=int(self.meta_get(conn, "leads") or 0),
                generated_at=from_ms(int(self.meta_get(conn, "generated_at_ms") or 0)),
            )
        return World(
            params=params,
            companies=self.companies(),
            owners=self.owners(),
            forms=FORMS,
            people=PeopleView(self._fetch_people, self._count_people),
            truth=TruthView(self._truth_lookup, self._truth_iter, self._count_truth),
        )

    def _count_people(self) -> int:
        with self.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM people").fetchone()[0])

    def _fetch_people(self, start: int, count: int) -> list[Person]:
        # idx is 1-based and contiguous, so a range on the primary key replaces OFFSET.
        with self.read() as conn:
            rows = conn.execute(
                "SELECT * FROM people WHERE idx > ? AND idx <= ? ORDER BY idx",
                (start, start + count),
            ).fetchall()
            ids = [r["person_id"] for r in rows]
            records: dict[str, list[tuple[str, str]]] = {pid: [] for pid in ids}
            if ids:
                marks = ", ".join("?" for _ in ids)
                for t in conn.execute(
                    f"SELECT source, record_id, person_id FROM truth WHERE person_id IN ({marks})",
                    ids,
                ):
                    records[t["person_id"]].append((t["source"], t["record_id"]))
        return [
            Person(
                person_id=r["person_id"],
                first_name=r["first_name"],
                last_name=r["last_name"],
                email=r["email"],
                phone=r["phone"],
                company_id=r["company_id"],
                job_title=r["job_title"],
                country=r["country"],
                city=r["city"],
                arrived_at=from_ms(r["arrived_ms"]),
                records=tuple(sorted(records[r["person_id"]])),
            )
            for r in rows
        ]

    def _truth_lookup(self, source: str, record_id: str) -> str | None:
        with self.read() as conn:
            row = conn.execute(
                "SELECT person_id FROM truth WHERE source = ? AND record_id = ?",
                (source, record_id),
            ).fetchone()
        return None if row is None else str(row[0])

    def _truth_iter(self) -> Iterator[tuple[str, str, str]]:
        last = ("", "")
        while True:
            with self.read() as conn:
                rows = conn.execute(
                    "SELECT source, record_id, person_id FROM truth "
                    "WHERE (source, record_id) > (?, ?) ORDER BY source, record_id LIMIT 5000",
                    last,
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield (r[0], r[1], r[2])
            last = (rows[-1][0], rows[-1][1])

    def _count_truth(self) -> int:
        with self.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM truth").fetchone()[0])

    def counts(self) -> dict[str, int]:
        """Row counts per table, for the health endpoint."""
        with self.read() as conn:
            return {
                table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in (
                    "people",
                    "hs_contacts",
                    "hs_deals",
                    "hs_companies",
                    "meta_leads",
                    "tf_responses",
                )
            }

    def company_truth(self) -> dict[str, int | None]:
        """HubSpot company id -> the world company it stands for (None: a namesake or a sole
        trader); what lead-to-account matching is scored against."""
        with self.read() as conn:
            rows = conn.execute("SELECT id, company_id FROM hs_companies").fetchall()
        return {str(r[0]): (None if r[1] is None else int(r[1])) for r in rows}

    def add_truth(self, conn: sqlite3.Connection, source: str, record_id: str, email: str) -> None:
        """Attribute a record the API created to the person owning `email`, if there is one."""
        row = conn.execute("SELECT person_id FROM people WHERE email = ?", (email,)).fetchone()
        if row is not None:
            conn.execute(
                "INSERT OR IGNORE INTO truth VALUES (?, ?, ?)", (source, record_id, row[0])
            )
