"""The model's features for each lead, computed as of a moment, by one function for training and scoring.

`build_features(leads, events, moments)` is the only place features are made: training calls it
with each lead's scoring moment (created_at + feature_delay_hours), scoring with "now". So the model
never sees at serving time a feature it did not see, computed the same way, at training time.

What a feature may use: the lead's attributes (email type, country and region, words of the job
title, whether it has a company and a phone, its first-touch source and, when the warehouse has
them, industry / employee_band / employee_count / seniority / department) and its intent events that happened
strictly before the moment (a decayed count per event type). What it may never use, because it is
known only after the moment or summarizes it: lifecycle stage and its dates, lead status, owner,
the email opt-out and bounce flags, HubSpot's cumulative page-view counter (one event at the *last* visit holding the count of *all*
visits: whether it is visible at a moment depends on whether the lead came back later), and any
event at or after the moment. tests/scoring/test_model.py fails if a later event changes a feature.

One limit to know: attributes are the golden record as it is today; a job title edited after the
moment is seen as the new title. The CRM keeps no attribute history we could replay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from leadflow.warehouse import table_columns

# Events decay like the rules' intent points: an event this old counts half.
EVENT_HALF_LIFE_DAYS = 30.0

# Events that are running counters rather than occurrences: never features (see the docstring).
CUMULATIVE_EVENTS = frozenset({("hubspot", "page_view")})

# Columns of intermediate.int_leads_unified the model may read (allow-list: identifiers in SQL come
# only from here). The optional ones are used when the column exists.
BASE_ATTRIBUTES = (
    "lead_id",
    "created_at",
    "is_free_email",
    "country_code",
    "region",
    "job_title",
    "company",
    "phone_e164",
    "first_touch_source",
)
OPTIONAL_ATTRIBUTES = ("industry", "employee_band", "employee_count", "seniority", "department")

CATEGORICAL = ("email_type", "region", "country_code", "title_level", "source")
OPTIONAL_CATEGORICAL = ("industry", "employee_band", "seniority", "department")
FLAGS = ("has_company", "has_phone", "has_title")
EVENT_PREFIX = "event_"

# Title words -> a seniority level, first match wins (checked in this order).
_TITLE_LEVELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("student", re.compile(r"(?i)\b(student|intern|trainee|apprentice)\b")),
    (
        "executive",
        re.compile(
            r"(?i)\b(chief|ceo|cto|cmo|cfo|coo|cro|founder|co-?founder|owner|president|partner)\b"
        ),
    ),
    ("vp", re.compile(r"(?i)\b(vp|vice president|svp|evp)\b")),
    ("director", re.compile(r"(?i)\b(head|director)\b")),
    ("manager", re.compile(r"(?i)\b(manager|lead|mgr)\b")),
)


def title_level(title: object) -> str:
    """executive | vp | director | manager | student | individual (a title, none of those) | unknown."""
    if not isinstance(title, str) or not title.strip():
        return "unknown"
    for level, pattern in _TITLE_LEVELS:
        if pattern.search(title):
            return level
    return "individual"


def _present(value: object) -> bool:
    """Not None / NaN / NA / blank text (DuckDB's nullable columns come back holding pd.NA)."""
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):  # a list-valued field: present
        return True
    return not (isinstance(value, str) and not value.strip())


def _category(series: pd.Series) -> pd.Series:
    return series.map(lambda v: str(v).strip().lower() if _present(v) else "unknown")


def build_features(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    moments: pd.Series,
    *,
    half_life_days: float = EVENT_HALF_LIFE_DAYS,
) -> pd.DataFrame:
    """One row per lead (indexed by lead_id, in the order of `moments`): its features at its moment.

    leads: the attribute columns above (any missing optional one is left out); events: lead_id,
    event, occurred_at, quantity; moments: lead_id -> the moment to compute features at.
    """
    index = pd.Index(moments.index, name="lead_id")
    attrs = leads.drop_duplicates("lead_id").set_index("lead_id").reindex(index)
    out = pd.DataFrame(index=index)

    free = attrs.get("is_free_email", pd.Series(None, index=index, dtype=object))
    out["email_type"] = free.map(
        lambda v: "unknown" if not _present(v) else ("free" if bool(v) else "business")
    )
    for column, source in (
        ("region", "region"),
        ("country_code", "country_code"),
        ("source", "first_touch_source"),
    ):
        out[column] = _category(attrs.get(source, pd.Series(None, index=index, dtype=object)))
    titles = attrs.get("job_title", pd.Series(None, index=index, dtype=object))
    out["title_level"] = titles.map(title_level)
    for flag, source in (
        ("has_company", "company"),
        ("has_phone", "phone_e164"),
        ("has_title", "job_title"),
    ):
        values = attrs.get(source, pd.Series(None, index=index, dtype=object))
        out[flag] = values.map(_present).astype(float)
    for column in OPTIONAL_CATEGORICAL:
        if column in attrs.columns:
            out[column] = _category(attrs[column])
    if "employee_count" in attrs.columns:
        out["employee_count"] = pd.to_numeric(attrs["employee_count"], errors="coerce")

    counts = _decayed_event_counts(events, moments, half_life_days)
    for column in counts.columns:
        out[column] = counts[column].reindex(index).fillna(0.0)
    return out


def _decayed_event_counts(
    events: pd.DataFrame, moments: pd.Series, half_life_days: float
) -> pd.DataFrame:
    """lead_id x `event_<name>`: sum of quantity * 0.5 ** (age / half-life) over events before the moment."""
    if events.empty:
        return pd.DataFrame(index=pd.Index([], name="lead_id"))
    frame = events[["lead_id", "event", "occurred_at", "quantity"]].dropna(
        subset=["lead_id", "event", "occurred_at"]
    )
    frame = frame.merge(
        moments.rename("moment").rename_axis("lead_id").reset_index(), on="lead_id", how="inner"
    )
    frame = frame[pd.to_datetime(frame["occurred_at"]) < pd.to_datetime(frame["moment"])]
    if frame.empty:
        return pd.DataFrame(index=pd.Index([], name="lead_id"))
    age_days = (
        pd.to_datetime(frame["moment"]) - pd.to_datetime(frame["occurred_at"])
    ).dt.total_seconds() / 86400
    quantity = pd.to_numeric(frame["quantity"], errors="coerce").fillna(1.0)
    frame = frame.assign(weight=quantity * np.power(0.5, age_days / half_life_days))
    table = frame.pivot_table(
        index="lead_id", columns="event", values="weight", aggfunc="sum", fill_value=0.0
    )
    table.columns = [f"{EVENT_PREFIX}{_slug(str(c))}" for c in table.columns]
    return table.T.groupby(level=0).sum().T  # two raw names with one slug add up


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_") or "unnamed"


# --------------------------------------------------------------------------- warehouse reads


def _lead_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    present = set(table_columns(con, "intermediate", "int_leads_unified"))
    return [c for c in BASE_ATTRIBUTES + OPTIONAL_ATTRIBUTES if c in present]


def read_leads(
    con: duckdb.DuckDBPyConnection, lead_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """The allowed attribute columns of intermediate.int_leads_unified (every lead, or these)."""
    columns = ", ".join(_lead_columns(con))  # names from the allow-list only
    sql = f"select {columns} from intermediate.int_leads_unified"
    if lead_ids is None:
        return con.execute(sql).df()
    ids = pd.DataFrame({"lead_id": list(lead_ids)}, dtype=object)
    con.register("_feature_lead_ids", ids)
    try:
        return con.execute(f"{sql} where lead_id in (select lead_id from _feature_lead_ids)").df()
    finally:
        con.unregister("_feature_lead_ids")


def read_events(con: duckdb.DuckDBPyConnection, before: datetime | None = None) -> pd.DataFrame:
    """Intent occurrences from intermediate.int_lead_events_unioned, without running counters."""
    exclusions = " and ".join(
        "not (coalesce(source, '') = ? and event = ?)" for _ in CUMULATIVE_EVENTS
    )
    params: list[object] = [v for pair in sorted(CUMULATIVE_EVENTS) for v in pair]
    sql = (
        "select lead_id, event, occurred_at, quantity from intermediate.int_lead_events_unioned "
        f"where occurred_at is not null and {exclusions}"
    )
    if before is not None:
        sql += " and occurred_at < ?"
        params.append(before)
    return con.execute(sql, params).df()


def features_for_scoring(
    con: duckdb.DuckDBPyConnection, lead_ids_or_all: Iterable[str] | None, moment: datetime
) -> pd.DataFrame:
    """Features of these leads (None: every lead) as of `moment`, for TrainedModel.predict."""
    leads = read_leads(con, lead_ids_or_all)
    moments = pd.Series(moment, index=pd.Index(leads["lead_id"], name="lead_id"))
    return build_features(leads, read_events(con, before=moment), moments)
