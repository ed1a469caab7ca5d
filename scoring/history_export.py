"""Train from a CRM's past: leads, activities and outcomes exported as CSV or Parquet files.

A team that has just installed LeadFlow has no history in the warehouse yet, but its CRM has years
of it. `scoring.model.history_export` in leadflow.yml names three files and maps their columns to
LeadFlow's fields (unmapped fields are looked up under their own name):

    leads       lead_id, created_at, and any of email, email_domain, is_free_email, job_title, company,
                phone, country_code, source, industry, employee_count, seniority, department
    activities  lead_id, event, occurred_at (optional file: no activities means attribute-only features)
    outcomes    lead_id and either converted_at, or won + closed_at (a won deal converts at closed_at)

Fields LeadFlow derives for its own leads are derived here the same way (seniority and department
from the title, the industry key, the employee band), so rules and features see an export lead as
they would see a warehouse lead. The files are read by DuckDB (read_csv / read_parquet, the path bound as a parameter), then turned
into the same TrainingData the warehouse path produces (the int_leads_unified column names, labels
from scoring.outcomes.label_outcomes), so training, evaluation and the report are the same code.

A mapped column missing from its file is one TrainingError line naming the file and the column. Rows
that cannot be used (no lead id, an unreadable date, a duplicate lead) are skipped and counted; the
counts go to the report, never the rows' contents.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from leadflow.config import (
    HISTORY_ACTIVITY_FIELDS,
    HISTORY_LEAD_FIELDS,
    HistoryExportConfig,
    ScoringConfig,
)
from scoring.model import TrainingData, TrainingError
from scoring.outcomes import label_outcomes

REQUIRED = {
    "leads": ("lead_id", "created_at"),
    "activities": HISTORY_ACTIVITY_FIELDS,
}
_TRUE = {"true", "t", "yes", "y", "1", "won", "closed won", "closedwon"}
_FALSE = {"false", "f", "no", "n", "0", "lost", "closed lost", "closedlost", ""}


def read_table(path: Path, *, setting: str) -> pd.DataFrame:
    """A CSV (all columns as text) or Parquet file, through DuckDB with the path bound."""
    if not path.is_file():
        raise TrainingError(f"{path}: no such file (scoring.model.history_export.{setting})")
    name = path.name.lower()
    if name.endswith(".parquet"):
        sql = "select * from read_parquet(?)"
    elif re.search(r"\.(csv|tsv|txt)(\.gz)?$", name):
        sql = "select * from read_csv(?, header = true, all_varchar = true)"
    else:
        raise TrainingError(
            f"{path}: unknown file type (scoring.model.history_export.{setting}); use .csv or .parquet"
        )
    con = duckdb.connect()
    try:
        return con.execute(sql, [str(path)]).df()
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainingError(f"{path}: could not be read ({first_line[:200]})") from None
    finally:
        con.close()


def _mapped(
    frame: pd.DataFrame,
    path: Path,
    kind: str,
    mapping: dict[str, str],
    fields: tuple[str, ...],
    required: tuple[str, ...],
) -> pd.DataFrame:
    """Rename the export's columns to LeadFlow fields; a mapped or required column must exist."""
    renamed: dict[str, str] = {}
    for leadflow_field in fields:
        column = mapping.get(leadflow_field, leadflow_field)
        if column in frame.columns:
            renamed[column] = leadflow_field
        elif leadflow_field in mapping or leadflow_field in required:
            how = (
                f"mapped from scoring.model.history_export.columns.{kind}.{leadflow_field}"
                if leadflow_field in mapping
                else f"LeadFlow's {leadflow_field}; map it under columns.{kind}"
            )
            found = ", ".join(map(str, list(frame.columns)[:12]))
            raise TrainingError(f"{path}: no column {column!r} ({how}); the file has: {found}")
    return frame[list(renamed)].rename(columns=renamed)


def _text(series: pd.Series) -> pd.Series:
    return series.map(
        lambda v: None if v is None or pd.isna(v) or not str(v).strip() else str(v).strip()
    )


def _times(series: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_convert(None)


def _skipped(file: str, reasons: Counter[str]) -> list[str]:
    reasons = +reasons  # drop the zero counts
    if not reasons:
        return []
    detail = ", ".join(f"{n} {why}" for why, n in reasons.most_common())
    total = sum(reasons.values())
    return [f"{file}: {total} row{'s' if total != 1 else ''} skipped ({detail})"]


def prepare_leads(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Mapped lead rows -> int_leads_unified's column names; bad rows counted and dropped."""
    from enrichment.normalize import countries, free_email_domains, normalize_country

    reasons: Counter[str] = Counter()
    out = pd.DataFrame({"lead_id": _text(frame["lead_id"])})
    out["created_at"] = _times(frame["created_at"])
    bad_id = out["lead_id"].isna()
    bad_time = ~bad_id & out["created_at"].isna()
    duplicate = ~bad_id & ~bad_time & out["lead_id"].duplicated()
    reasons.update(
        {
            "without a lead id": int(bad_id.sum()),
            "with an unreadable created_at": int(bad_time.sum()),
            "repeating a lead id": int(duplicate.sum()),
        }
    )
    keep = ~(bad_id | bad_time | duplicate)

    domain = _text(frame["email_domain"]) if "email_domain" in frame else None
    if domain is None and "email" in frame:
        domain = _text(frame["email"]).map(
            lambda e: e.rsplit("@", 1)[1].lower() if e and "@" in e else None
        )
    if "is_free_email" in frame:
        out["is_free_email"] = _text(frame["is_free_email"]).map(
            lambda v: None if v is None else v.lower() in _TRUE
        )
    elif domain is not None:
        free = free_email_domains()
        out["is_free_email"] = domain.map(lambda d: None if d is None else d in free)
    if domain is not None:
        out["email_domain"] = domain
    if "country_code" in frame:
        out["country_code"] = _text(frame["country_code"]).map(normalize_country)
        regions = countries()
        out["region"] = out["country_code"].map(lambda c: regions[c][1] if c in regions else None)
    for field, column in (
        ("job_title", "job_title"),
        ("company", "company"),
        ("phone", "phone_e164"),  # only its presence is a feature
        ("source", "first_touch_source"),
        ("industry", "industry"),
        ("seniority", "seniority"),
        ("department", "department"),
    ):
        if field in frame:
            out[column] = _text(frame[field])
    if "employee_count" in frame:
        out["employee_count"] = pd.to_numeric(frame["employee_count"], errors="coerce")
    _derive_like_the_warehouse(out)
    return out[keep].reset_index(drop=True), _skipped(path.name, reasons)


def _derive_like_the_warehouse(out: pd.DataFrame) -> None:
    """Fill the fields enrichment derives for warehouse leads (seniority, department, industry key,
    employee band), so rules and features read an export lead as they read a warehouse lead."""
    from enrichment import normalize

    if "job_title" in out:
        for column, derive in (
            ("seniority", normalize.seniority),
            ("department", normalize.department),
        ):
            if column not in out:
                out[column] = out["job_title"].map(derive)
    if "industry" in out:
        out["industry"] = out["industry"].map(normalize.normalize_industry)
    if "employee_count" in out and "employee_band" not in out:
        out["employee_band"] = out["employee_count"].map(
            lambda n: None if pd.isna(n) else normalize.employee_band(float(n))
        )


def prepare_activities(
    frame: pd.DataFrame, path: Path, events: dict[str, str], lead_ids: set[str]
) -> tuple[pd.DataFrame, list[str]]:
    reasons: Counter[str] = Counter()
    out = pd.DataFrame(
        {
            "lead_id": _text(frame["lead_id"]),
            "event": _text(frame["event"]).map(
                lambda e: (
                    None
                    if e is None
                    else events.get(e, re.sub(r"[^a-z0-9]+", "_", e.lower()).strip("_"))
                )
            ),
            "occurred_at": _times(frame["occurred_at"]),
            "quantity": 1.0,
        }
    )
    no_id = out["lead_id"].isna()
    no_event = ~no_id & out["event"].isna()
    no_time = ~no_id & ~no_event & out["occurred_at"].isna()
    unknown = ~no_id & ~no_event & ~no_time & ~out["lead_id"].isin(lead_ids)
    reasons.update(
        {
            "without a lead id": int(no_id.sum()),
            "without an event": int(no_event.sum()),
            "with an unreadable occurred_at": int(no_time.sum()),
            "for a lead not in the leads file": int(unknown.sum()),
        }
    )
    keep = ~(no_id | no_event | no_time | unknown)
    return out[keep].reset_index(drop=True), _skipped(path.name, reasons)


def prepare_outcomes(
    frame: pd.DataFrame, path: Path, mapping: dict[str, str]
) -> tuple[pd.DataFrame, list[str]]:
    """lead_id + converted_at (a won deal converts at closed_at; a lost or open one never does)."""
    reasons: Counter[str] = Counter()
    if "converted_at" in frame:
        converted_at = _times(frame["converted_at"])
        raw = _text(frame["converted_at"])
        unreadable = raw.notna() & converted_at.isna()
    elif "won" in frame and "closed_at" in frame:
        won_text = _text(frame["won"]).map(lambda v: "" if v is None else v.lower())
        won = won_text.isin(_TRUE)
        undecided = ~won & ~won_text.isin(_FALSE)
        reasons["with a won value that is neither true nor false"] = int(undecided.sum())
        closed = _times(frame["closed_at"])
        converted_at = closed.where(won)
        unreadable = won & closed.isna()
    else:
        columns = mapping.get("converted_at", "converted_at")
        raise TrainingError(
            f"{path}: no column {columns!r} and no won + closed_at pair: map outcomes under "
            "scoring.model.history_export.columns.outcomes"
        )
    lead_id = _text(frame["lead_id"])
    reasons["without a lead id"] = int(lead_id.isna().sum())
    reasons["with an unreadable conversion date"] = int((lead_id.notna() & unreadable).sum())
    out = pd.DataFrame({"lead_id": lead_id, "converted_at": converted_at})
    out = out[lead_id.notna() & ~unreadable].dropna(subset=["converted_at"])
    return out.reset_index(drop=True), _skipped(path.name, reasons)


def load_history(
    export: HistoryExportConfig, config: ScoringConfig, *, as_of: datetime, root: Path
) -> TrainingData:
    """Read, validate and label a history export: the TrainingData the model trains on."""

    def resolve(path: Path) -> Path:
        return path if path.is_absolute() else (root / path).resolve()

    cols = export.columns
    leads_path = resolve(export.leads)
    leads_raw = _mapped(
        read_table(leads_path, setting="leads"),
        leads_path,
        "leads",
        cols.leads,
        HISTORY_LEAD_FIELDS,
        REQUIRED["leads"],
    )
    leads, notes = prepare_leads(leads_raw, leads_path)
    lead_ids = set(leads["lead_id"])

    events = pd.DataFrame(columns=["lead_id", "event", "occurred_at", "quantity"])
    if export.activities is not None:
        path = resolve(export.activities)
        raw = _mapped(
            read_table(path, setting="activities"),
            path,
            "activities",
            cols.activities,
            HISTORY_ACTIVITY_FIELDS,
            REQUIRED["activities"],
        )
        events, more = prepare_activities(raw, path, export.events, lead_ids)
        notes += more

    outcomes_path = resolve(export.outcomes)
    outcome_fields = ("lead_id", "converted_at", "won", "closed_at")
    raw_outcomes = _mapped(
        read_table(outcomes_path, setting="outcomes"),
        outcomes_path,
        "outcomes",
        cols.outcomes,
        outcome_fields,
        ("lead_id",),
    )
    conversions, more = prepare_outcomes(raw_outcomes, outcomes_path, cols.outcomes)
    notes += more

    labelled = label_outcomes(
        leads,
        conversions[conversions["lead_id"].isin(lead_ids)],
        window_days=config.model.window_days,
        feature_delay_hours=config.model.feature_delay_hours,
        as_of=as_of,
    )
    return TrainingData("history_export", labelled, leads, events, notes)


# --------------------------------------------------------------------------- a synthetic export

_EXAMPLE_INDUSTRIES = ("Software", "Fintech", "Healthcare", "Retail", "Education", "Manufacturing")
_EXAMPLE_TITLES = (
    "CEO", "VP Sales", "Head of Data", "Marketing Manager", "Data Analyst", "Software Engineer",
    "Student", "Consultant",
)  # fmt: skip
_EXAMPLE_COUNTRIES = ("US", "GB", "DE", "FR", "IN", "BR", "ES", "AU")


def write_example_export(
    folder: Path, *, leads: int, seed: int, as_of: datetime, days: int = 540
) -> dict[str, Path]:
    """Write leads.csv, activities.csv and outcomes.csv whose outcomes truly depend on attributes.

    Conversion odds rise with industry (software, fintech), company size and a started trial, which
    typical rules do not look at, and with seniority and a business email, which they do. For the
    docs' walkthrough, bench/scoring.py and the tests; the names and addresses are invented.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    created = pd.Timestamp(as_of) - pd.to_timedelta(rng.uniform(0, days, leads), unit="D")
    industry = rng.choice(_EXAMPLE_INDUSTRIES, leads)
    employees = np.round(np.exp(rng.normal(4.0, 1.6, leads))).astype(int) + 1
    title = rng.choice(_EXAMPLE_TITLES, leads)
    country = rng.choice(_EXAMPLE_COUNTRIES, leads)
    free = rng.random(leads) < 0.3
    trial = rng.random(leads) < 0.25
    demo = rng.random(leads) < 0.15
    logit = (
        -4.3
        + 1.4 * np.isin(industry, ("Software", "Fintech"))
        + 0.45 * np.log10(employees) * 2
        + 1.5 * trial
        + 0.5 * np.isin(title, ("CEO", "VP Sales", "Head of Data"))
        - 0.6 * free
        - 1.5 * (title == "Student")
        + 0.3 * demo
    )
    converts = rng.random(leads) < 1 / (1 + np.exp(-logit))
    converted_at = (
        created
        + pd.Timedelta(hours=24)
        + pd.to_timedelta(rng.exponential(20, leads) + 0.5, unit="D")
    )
    ids = [f"H{i:06d}" for i in range(leads)]
    pd.DataFrame(
        {
            "Id": ids,
            "CreatedDate": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Email": [
                f"person{i}@{'gmail.com' if f else f'company{i % 997}.example'}"
                for i, f in enumerate(free)
            ],
            "Title": title,
            "Company": [f"Company {i % 997}" for i in range(leads)],
            "Country": country,
            "LeadSource": rng.choice(("Web", "Paid Social", "Event", "Partner"), leads),
            "Industry": industry,
            "NumberOfEmployees": employees,
        }
    ).to_csv(folder / "leads.csv", index=False)
    activities = []
    for i in range(leads):
        at = created[i] + pd.Timedelta(minutes=int(rng.integers(1, 600)))
        if trial[i]:
            activities.append((ids[i], "Trial Started", at))
        if demo[i]:
            activities.append((ids[i], "Demo Requested", at + pd.Timedelta(minutes=5)))
        for _ in range(int(rng.poisson(1.5))):
            activities.append(
                (ids[i], "Web Visit", at + pd.Timedelta(hours=float(rng.uniform(0, 20))))
            )
        if converts[i]:  # after the scoring moment: a model that peeked would look perfect
            activities.append((ids[i], "Meeting Booked", converted_at[i] - pd.Timedelta(hours=1)))
    pd.DataFrame(activities, columns=["WhoId", "Type", "ActivityDate"]).assign(
        ActivityDate=lambda f: f["ActivityDate"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    ).to_csv(folder / "activities.csv", index=False)
    outcome_rows = converts & (converted_at <= pd.Timestamp(as_of))
    pd.DataFrame(
        {
            "LeadId": np.asarray(ids)[outcome_rows],
            "ConvertedDate": converted_at[outcome_rows].strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).to_csv(folder / "outcomes.csv", index=False)
    return {
        "leads": folder / "leads.csv",
        "activities": folder / "activities.csv",
        "outcomes": folder / "outcomes.csv",
    }


EXAMPLE_COLUMNS = {
    "leads": {
        "lead_id": "Id",
        "created_at": "CreatedDate",
        "email": "Email",
        "job_title": "Title",
        "company": "Company",
        "country_code": "Country",
        "source": "LeadSource",
        "industry": "Industry",
        "employee_count": "NumberOfEmployees",
    },
    "activities": {"lead_id": "WhoId", "event": "Type", "occurred_at": "ActivityDate"},
    "outcomes": {"lead_id": "LeadId", "converted_at": "ConvertedDate"},
}
EXAMPLE_EVENTS = {"Demo Requested": "demo_request", "Trial Started": "trial_started"}
