"""HubSpot property history as the sandbox keeps it: every value a contact's `lifecyclestage` and a
deal's `dealstage` has held, served as HubSpot serves `propertiesWithHistory` (a list of versions
`{value, timestamp, sourceType, sourceId?, sourceLabel?, updatedByUserId?}`, newest first).

Two sources, one history:

- The generated world's history is derived, not stored: a pure function of the object's stage
  dates (contacts: the `hs_lifecyclestage_<stage>_date` properties, so the first entry into each
  stage is exactly that date and the newest version is the current stage; deals: `createdate`,
  `closedate`, `hs_lastmodifieddate` and the current `dealstage`), drawn from a generator of its own
  (seeded per object), so adding it changed no other draw of the world and re-reads always agree.
  Some contacts went back a stage and came forward again before their next stage (an MQL sent
  back to lead, then re-qualified), and so did some deals.
- Every change made through the API is stored (table `hs_property_history`): the first time a
  contact's stage changes, its derived history is written down as it stood, then the change is
  appended with `sourceType` `INTEGRATION` (a private app's write). A merge stores the two
  contacts' histories together under the new contact (plus the merged stage, when it differs from
  the newest version). A GDPR delete erases the contact's history.

Docs: https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
(`propertiesWithHistory` on batch read), https://developers.hubspot.com/docs/guides/api/crm/using-object-apis
(list and read take `propertiesWithHistory`; search does not). The limits (at most 50 objects a
request with history, on the list page and the batch read) and the batch error text are HubSpot's
as clients report them: https://github.com/activepieces/activepieces/pull/9359 (the batch read's
"The maximum number of inputs supported in a batch request for property histories is 50"),
https://github.com/dlt-hub/verified-sources/pull/206 ("max 50 items per call with property history").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

from sandbox.clock import hubspot_time
from sandbox.properties import DEAL_STAGES, LIFECYCLE_STAGES
from sandbox.world import parse_hubspot_ms

# The properties whose history the sandbox keeps, per object type.
HISTORY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": ("lifecyclestage",),
    "deals": ("dealstage",),
}
# At most this many objects a request when it asks for history (a list page, a batch read).
HISTORY_MAX_OBJECTS = 50
BATCH_LIMIT_MESSAGE = (
    "The maximum number of inputs supported in a batch request for property histories is "
    f"{HISTORY_MAX_OBJECTS}. Please reduce the number of items and try again"
)
# The sandbox's private app: what HubSpot names as the source of a change an app's write made.
SANDBOX_APP_ID = "2718281"
API_SOURCE_TYPE = "INTEGRATION"

# Of contacts that reached SQL (so had a stage between two others) / deals with three stages or
# more: the share that went back a stage once and came forward again.
CONTACT_REGRESSION_RATE = 0.3
DEAL_REGRESSION_RATE = 0.2
MIN_WINDOW_MS = 2 * 3_600_000  # a regression needs room: two hours between the two stages

_TABLE = """CREATE TABLE IF NOT EXISTS hs_property_history (
    object_type TEXT NOT NULL, object_id INTEGER NOT NULL, property TEXT NOT NULL,
    seq INTEGER NOT NULL, value TEXT, timestamp_ms INTEGER NOT NULL, source_type TEXT NOT NULL,
    source_id TEXT, source_label TEXT, updated_by_user_id INTEGER,
    PRIMARY KEY (object_type, object_id, property, seq))"""

_STAGE_RANK = {stage: rank for rank, stage in enumerate(LIFECYCLE_STAGES)}
_OPEN_DEAL_STAGES = tuple(stage for stage in DEAL_STAGES if not stage.startswith("closed"))


@dataclass(frozen=True)
class Version:
    """One value a property held, from `timestamp_ms` until the next version."""

    value: str | None
    timestamp_ms: int
    source_type: str
    source_id: str | None = None
    source_label: str | None = None
    updated_by_user_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """As HubSpot sends it: a cleared value is "", absent sources are left out."""
        out: dict[str, Any] = {
            "value": self.value or "",
            "timestamp": hubspot_time(self.timestamp_ms),
            "sourceType": self.source_type,
        }
        if self.source_id is not None:
            out["sourceId"] = self.source_id
        if self.source_label is not None:
            out["sourceLabel"] = self.source_label
        if self.updated_by_user_id is not None:
            out["updatedByUserId"] = self.updated_by_user_id
        return out


def ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(_TABLE)


def user_ids(conn: sqlite3.Connection) -> list[int]:
    """The portal's users (the owners' user ids): who a rep's change in the UI names."""
    rows = conn.execute("SELECT user_id FROM owners ORDER BY id").fetchall()
    return [int(r[0]) for r in rows if r[0] is not None]


def _by_user(rng: Random, users: Sequence[int]) -> dict[str, Any]:
    if not users:
        return {"source_type": "CRM_UI"}
    user = users[rng.randrange(len(users))]
    return {"source_type": "CRM_UI", "source_id": f"userId:{user}", "updated_by_user_id": user}


def _workflow(rng: Random) -> dict[str, Any]:
    return {
        "source_type": "AUTOMATION_PLATFORM",
        "source_id": f"enrollmentId:{rng.randrange(10**9)}",
    }


# --------------------------------------------------------------------------- generated history


def generated_contact_history(row: sqlite3.Row, users: Sequence[int]) -> list[Version]:
    """A contact's lifecycle history, oldest first, from its stage dates: it entered each stage
    on that stage's date; ~30% of those that reached SQL went back one stage between two of their
    stages and came forward again before the next one. Depends only on what never changes without
    a stage change (the stage dates, createdate, the current stage)."""
    columns = set(row.keys())
    entered = sorted(
        (
            (ms, _STAGE_RANK[stage], stage)
            for stage in LIFECYCLE_STAGES
            if f"hs_lifecyclestage_{stage}_date" in columns
            and (ms := parse_hubspot_ms(row[f"hs_lifecyclestage_{stage}_date"])) is not None
        ),
    )
    rng = Random(f"hubspot-lifecycle-history:{row['id']}:{row['createdate']}")
    first_source = rng.choice(
        (
            {"source_type": "FORM", "source_id": f"formId:{rng.randrange(10**6)}"},
            {"source_type": "IMPORT", "source_label": "Contacts import"},
            _by_user(rng, users),
        )
    )
    versions: list[Version] = []
    for index, (ms, _, stage) in enumerate(entered):
        source = (
            first_source if index == 0 else _workflow(rng) if index == 1 else _by_user(rng, users)
        )
        versions.append(Version(stage, ms, **source))
    # A regression: back from stage k (not the first) to k-1, then into k again, before k+1.
    windows = [
        k for k in range(1, len(entered) - 1) if entered[k + 1][0] - entered[k][0] >= MIN_WINDOW_MS
    ]
    if windows and rng.random() < CONTACT_REGRESSION_RATE:
        k = windows[rng.randrange(len(windows))]
        start, end = entered[k][0], entered[k + 1][0]
        back_at = start + int((end - start) * rng.uniform(0.2, 0.5))
        again_at = back_at + max(1, int((end - back_at) * rng.uniform(0.2, 0.6)))
        regression = [
            Version(entered[k - 1][2], back_at, **_by_user(rng, users)),
            Version(entered[k][2], again_at, **_workflow(rng)),
        ]
        versions[k + 1 : k + 1] = regression
    current = row["lifecyclestage"]
    if current and (not versions or versions[-1].value != current):
        # A stage without a date of its own (subscriber, other): it holds since the newest date.
        since = versions[-1].timestamp_ms if versions else parse_hubspot_ms(row["createdate"])
        versions.append(Version(current, since or 0, **_by_user(rng, users)))
    return versions


def generated_deal_history(row: sqlite3.Row, users: Sequence[int]) -> list[Version]:
    """A deal's stage history, oldest first: created in the pipeline's first stage, through the
    open stages in order up to its current one (an open deal between its creation and its last
    modification; a closed one up to a drawn stage, then closed won/lost on its close date); ~20%
    of deals with three stages or more went back one stage and forward again. Deals are read-only
    in the sandbox, so this is their whole history."""
    rng = Random(f"hubspot-dealstage-history:{row['id']}:{row['createdate']}")
    created = parse_hubspot_ms(row["createdate"]) or 0
    stage = row["dealstage"]
    if stage in _OPEN_DEAL_STAGES:
        path = list(_OPEN_DEAL_STAGES[: _OPEN_DEAL_STAGES.index(stage) + 1])
        end = max(created, parse_hubspot_ms(row["hs_lastmodifieddate"]) or created)
        times = [created + (end - created) * j // len(path) for j in range(len(path))]
    else:
        closed = max(created, parse_hubspot_ms(row["closedate"]) or created)
        path = list(_OPEN_DEAL_STAGES[: 1 + rng.randrange(len(_OPEN_DEAL_STAGES))])
        times = [created + (closed - created) * j // len(path) for j in range(len(path))]
        if stage:
            path.append(stage)
            times.append(closed)
    versions = [
        Version(value, at, **(_by_user(rng, users) if j else _workflow(rng)))
        for j, (value, at) in enumerate(zip(path, times, strict=True))
    ]
    windows = [k for k in range(1, len(path) - 1) if times[k + 1] - times[k] >= MIN_WINDOW_MS]
    if len(path) >= 3 and windows and rng.random() < DEAL_REGRESSION_RATE:
        k = windows[rng.randrange(len(windows))]
        start, end = times[k], times[k + 1]
        back_at = start + int((end - start) * rng.uniform(0.2, 0.5))
        again_at = back_at + max(1, int((end - back_at) * rng.uniform(0.2, 0.6)))
        versions[k + 1 : k + 1] = [
            Version(path[k - 1], back_at, **_by_user(rng, users)),
            Version(path[k], again_at, **_by_user(rng, users)),
        ]
    return versions


def _generated(object_type: str, row: sqlite3.Row, users: Sequence[int]) -> list[Version]:
    if object_type == "contacts":
        return generated_contact_history(row, users)
    return generated_deal_history(row, users)


# --------------------------------------------------------------------------- stored history


def _stored(
    conn: sqlite3.Connection, object_type: str, object_id: int, prop: str
) -> list[Version] | None:
    rows = conn.execute(
        "SELECT value, timestamp_ms, source_type, source_id, source_label, updated_by_user_id "
        "FROM hs_property_history WHERE object_type = ? AND object_id = ? AND property = ? "
        "ORDER BY seq",
        (object_type, object_id, prop),
    ).fetchall()
    return [Version(*r) for r in rows] if rows else None


def history(
    conn: sqlite3.Connection, object_type: str, row: sqlite3.Row, prop: str, users: Sequence[int]
) -> list[Version]:
    """Every version of `prop` (a property HISTORY_PROPERTIES names), oldest first."""
    ensure_table(conn)
    stored = _stored(conn, object_type, int(row["id"]), prop)
    return stored if stored is not None else _generated(object_type, row, users)


def _write(
    conn: sqlite3.Connection, object_type: str, object_id: int, prop: str, versions: list[Version]
) -> None:
    conn.execute(
        "DELETE FROM hs_property_history WHERE object_type = ? AND object_id = ? AND property = ?",
        (object_type, object_id, prop),
    )
    conn.executemany(
        "INSERT INTO hs_property_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (object_type, object_id, prop, seq, v.value, v.timestamp_ms, v.source_type,
             v.source_id, v.source_label, v.updated_by_user_id)
            for seq, v in enumerate(versions)
        ],
    )  # fmt: skip


def api_version(value: str | None, now_ms: int) -> Version:
    """A change the sandbox's private app made through the API."""
    return Version(value, now_ms, API_SOURCE_TYPE, source_id=SANDBOX_APP_ID)


def record_contact_change(
    conn: sqlite3.Connection,
    before: sqlite3.Row | None,
    contact_id: int,
    value: str | None,
    now_ms: int,
) -> None:
    """An API write set the contact's lifecyclestage to `value` (None: cleared): its history so
    far (`before`, the contact as it was; None for a contact the write created) is written down,
    and the change appended."""
    ensure_table(conn)
    so_far: list[Version] = []
    if before is not None:
        so_far = history(conn, "contacts", before, "lifecyclestage", user_ids(conn))
    _write(conn, "contacts", contact_id, "lifecyclestage", [*so_far, api_version(value, now_ms)])


def record_merge(
    conn: sqlite3.Connection,
    primary: sqlite3.Row,
    other: sqlite3.Row,
    new_id: int,
    stage: str | None,
    now_ms: int,
) -> None:
    """The contact a merge made keeps both contacts' lifecycle histories, in time order; when the
    stage it got (the one furthest down the funnel) is not the newest of them, the merge's own
    change is the newest version."""
    ensure_table(conn)
    users = user_ids(conn)
    merged = sorted(
        [
            *history(conn, "contacts", primary, "lifecyclestage", users),
            *history(conn, "contacts", other, "lifecyclestage", users),
        ],
        key=lambda v: v.timestamp_ms,
    )
    if stage and (not merged or merged[-1].value != stage):
        merged.append(api_version(stage, now_ms))
    _write(conn, "contacts", new_id, "lifecyclestage", merged)


def forget_contact(conn: sqlite3.Connection, contact_id: int) -> None:
    """A GDPR delete takes the contact's history with it."""
    ensure_table(conn)
    conn.execute(
        "DELETE FROM hs_property_history WHERE object_type = 'contacts' AND object_id = ?",
        (contact_id,),
    )


def with_history(
    conn: sqlite3.Connection,
    object_type: str,
    row: sqlite3.Row,
    props: Sequence[str],
    users: Sequence[int],
) -> dict[str, list[dict[str, Any]]]:
    """`propertiesWithHistory` of one object: each asked-for property the sandbox keeps a history
    of, newest version first (as HubSpot orders them)."""
    return {
        prop: [v.to_json() for v in reversed(history(conn, object_type, row, prop, users))]
        for prop in props
    }


def requested(object_type: str, raw: Any) -> list[str]:
    """The names of a `propertiesWithHistory` parameter the sandbox keeps a history of; others
    are ignored, as HubSpot ignores unknown properties on reads."""
    if raw is None or raw == "":
        return []
    names = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(names, list):
        return []
    kept = HISTORY_PROPERTIES.get(object_type, ())
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n in kept))
