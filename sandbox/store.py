"""The world's state in one SQLite database: on disk with a state path, in memory without.

One connection, one lock: every request handler and every Python-side call goes through
`read()` or `transaction()`, so the threaded servers never interleave a half-done write. SQLite
indexes on the cursor fields (HubSpot's lastmodifieddate and createdate, Meta's created time,
Typeform's submitted time) keep paging a large world to index range scans instead of sorting in
Python.

The file is generated on first start from (seed, leads) and reused afterwards; when the stored
seed, size or schema differ from the requested ones it is regenerated, and a log line says so.

The vendors whose state lives in Python objects (Salesforce, Pipedrive, LinkedIn, Google Ads) keep
it in `vendor_records`, one row per record as JSON (`VendorState`), written in the request that
changes it; `kept()` restores such a vendor from its rows instead of generating it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from random import Random
from typing import Any, Protocol, TypeVar

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
# 9: vendor_records (Salesforce, Pipedrive, LinkedIn and Google Ads state; VendorState)
SCHEMA_VERSION = "9"  # 2: contacts carry industry, numemployees, email opt-out and bounce
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
CREATE TABLE vendor_records (
    vendor TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, written_ms INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (vendor, kind, id)
);
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
        self._on_close: list[Callable[[], None]] = []

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
        """Run the closing writes (`on_close`), then close the connection."""
        with self._lock:
            for save in self._on_close:
                try:
                    save()
                except Exception:  # one vendor's failed save must not keep the file open
                    log.exception("sandbox: saving state before closing %s failed", self.path)
            self._on_close.clear()
            self._conn.close()

    def on_close(self, save: Callable[[], None]) -> None:
        """Call `save` when the store closes (state too hot to write per request: API usage)."""
        with self._lock:
            self._on_close.append(save)

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

    def vendor_written_ms(self) -> int | None:
        """When the newest vendor record was changed (the sandbox clock), if one was."""
        with self.read() as conn:
            row = conn.execute("SELECT MAX(written_ms) FROM vendor_records").fetchone()
        return None if row is None or row[0] is None else int(row[0])

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


# --------------------------------------------------------------------------- vendor state

Change = tuple[str, str, Any]  # (kind, id, record as JSON-able values; None: the record is gone)


def dumps(value: Any) -> str:
    """JSON with datetimes and dates kept: {"$dt": iso} / {"$d": iso}, read back by `loads`."""
    return json.dumps(value, default=_tag, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_untag)


def _tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    raise TypeError(f"cannot keep a {type(value).__name__} in the state file")


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$dt" in obj:
            return datetime.fromisoformat(obj["$dt"])
        if "$d" in obj:
            return date.fromisoformat(obj["$d"])
    return obj


def token_key(token: str) -> str:
    """What a per-token counter is keyed by, in memory and in the state file: a digest, so no
    token is ever written to disk."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def rng_state(rng: Random) -> list[Any]:
    """A Random's state as JSON-able values (`set_rng_state` puts it back)."""
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def set_rng_state(rng: Random, state: list[Any]) -> None:
    version, internal, gauss = state
    rng.setstate((version, tuple(internal), gauss))


class VendorState:
    """One vendor's rows in `vendor_records`: (kind, id) -> the record as JSON.

    A vendor writes the records a change touched, in the request that changed them, through the
    store's transaction (so a row is never half written and writes never interleave); a 100,000-
    person world's push stays one small upsert per record. `written_ms` is the sandbox clock at
    the write: a fixed clock restarted over the state starts after it (sandbox/core.py).
    """

    def __init__(self, store: Store, vendor: str, now_ms: Callable[[], int]) -> None:
        self.store = store
        self.vendor = vendor
        self.now_ms = now_ms

    def load(self) -> dict[str, dict[str, Any]] | None:
        """kind -> id -> record, ids in order; None when the vendor has no rows yet."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT kind, id, data FROM vendor_records WHERE vendor = ? ORDER BY kind, id",
                (self.vendor,),
            ).fetchall()
        if not rows:
            return None
        out: dict[str, dict[str, Any]] = {}
        for kind, key, data in rows:
            out.setdefault(str(kind), {})[str(key)] = loads(str(data))
        return out

    def write(self, changes: Iterable[Change], *, dated: bool = True) -> None:
        """Upsert (or, for None, delete) the rows, all in one transaction. `dated=False`: not a
        change made at the clock's time (the state as first made, usage saved at close), so
        written_ms is 0 and a restarted fixed clock does not move for it."""
        last: dict[tuple[str, str], Any] = {}
        for kind, key, value in changes:
            last[(kind, str(key))] = value
        if not last:
            return
        now = self.now_ms() if dated else 0
        upserts = [
            (self.vendor, kind, key, now, dumps(value))
            for (kind, key), value in last.items()
            if value is not None
        ]
        deletes = [(self.vendor, kind, key) for (kind, key), value in last.items() if value is None]
        with self.store.transaction() as conn:
            if deletes:
                conn.executemany(
                    "DELETE FROM vendor_records WHERE vendor = ? AND kind = ? AND id = ?", deletes
                )
            if upserts:
                conn.executemany(
                    "INSERT OR REPLACE INTO vendor_records VALUES (?, ?, ?, ?, ?)", upserts
                )


class Persistent(Protocol):
    """A vendor's state object that `kept` can save whole and then keep up to date."""

    def state_rows(self) -> list[Change]:
        """Every row of the state, for its first save."""
        ...

    def persist_to(self, sink: VendorState) -> None:
        """From now on, write every change to `sink`."""
        ...


P = TypeVar("P", bound=Persistent)


def kept(
    store: Store,
    vendor: str,
    now_ms: Callable[[], int],
    make: Callable[[], P],
    restore: Callable[[Mapping[str, dict[str, Any]]], P],
) -> P:
    """The vendor's state: restored from the state file when it holds the vendor's rows, else
    made by `make` and saved whole, then kept up to date there. In memory (no state file) this is
    `make()` alone: nothing to keep across a restart, and no cost per request."""
    if store.path is None:
        return make()
    sink = VendorState(store, vendor, now_ms)
    rows = sink.load()
    if rows is None:
        state = make()
        sink.write(state.state_rows(), dated=False)
        log.info("sandbox: %s state saved to %s", vendor, store.path)
    else:
        state = restore(rows)
        log.info(
            "sandbox: %s state restored from %s (%s rows)",
            vendor,
            store.path,
            sum(len(r) for r in rows.values()),
        )
    state.persist_to(sink)
    return state


def kept_usage(
    store: Store,
    vendor: str,
    now_ms: Callable[[], int],
    restore: Callable[[Any], None],
    save: Callable[[], Any],
) -> None:
    """An app's daily API usage kept across a restart, as the vendor keeps it: `restore` gets
    what `save` returned when the store last closed. Written on close, not per request (a
    sandbox killed without closing forgets that session's usage, never a record). In memory:
    nothing."""
    if store.path is None:
        return
    sink = VendorState(store, f"{vendor}.usage", now_ms)
    rows = sink.load()
    if rows is not None and "usage" in rows:
        restore(rows["usage"]["daily"])
    store.on_close(lambda: sink.write([("usage", "daily", save())], dated=False))
