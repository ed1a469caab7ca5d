"""What happened to each lead after the moment we would have scored it: the label a model learns.

A lead is scored `feature_delay_hours` after it was created (its *scoring moment*). It *converted* if
it entered `conversion_stage`, or any later funnel stage, within `window_days` after that moment. Its
label is *matured* (final) once the whole window lies before `as_of`; before that, a lead that has
not converted yet still might. A lead that had already converted at its scoring moment says nothing
about what a score could predict, so training leaves it out (`converted_before_moment`).

Stages come from intermediate.int_lead_stages_unpivoted (built by dbt's `prepare` selector): one row
per lead per funnel stage entered, in the order of dbt's `funnel_stages` var, mirrored by
FUNNEL_STAGES here. The rules helper's backtest and the model's training both read labels from here,
so both mean the same thing by "converted".
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from leadflow.config import FUNNEL_STAGES, STAGE_ALIASES

__all__ = ["FUNNEL_STAGES", "canonical_stage", "label_outcomes", "lead_outcomes", "stages_from"]

OUTCOME_COLUMNS = [
    "lead_id",
    "created_at",
    "scoring_moment",
    "converted",
    "converted_at",
    "matured",
    "converted_before_moment",
]


def canonical_stage(stage: str) -> str:
    """The funnel stage a configured name means; ValueError naming the choices when unknown."""
    name = STAGE_ALIASES.get(stage.strip().lower(), stage.strip().lower())
    if name not in FUNNEL_STAGES:
        choices = ", ".join(FUNNEL_STAGES + tuple(STAGE_ALIASES))
        raise ValueError(f"unknown conversion stage {stage!r}; use one of: {choices}")
    return name


def stages_from(stage: str) -> list[str]:
    """`stage` and every later funnel stage: reaching any of them counts as converting."""
    return list(FUNNEL_STAGES[FUNNEL_STAGES.index(canonical_stage(stage)) :])


def label_outcomes(
    leads: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    window_days: int,
    feature_delay_hours: float,
    as_of: datetime,
) -> pd.DataFrame:
    """Label leads (lead_id, created_at) given when each first converted (lead_id, converted_at).

    Shared by the warehouse path (lead_outcomes) and the history-export path, so both label alike.
    A conversion after `as_of` is not known yet and is ignored.
    """
    frame = leads[["lead_id", "created_at"]].copy()
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    first = (
        conversions.dropna(subset=["converted_at"])
        .assign(converted_at=lambda f: pd.to_datetime(f["converted_at"]))
        .loc[lambda f: f["converted_at"] <= pd.Timestamp(as_of)]
        .groupby("lead_id", as_index=False)["converted_at"]
        .min()
    )
    frame = frame.merge(first, on="lead_id", how="left")
    frame["scoring_moment"] = frame["created_at"] + pd.Timedelta(hours=feature_delay_hours)
    window_end = frame["scoring_moment"] + pd.Timedelta(days=window_days)
    converted_at = frame["converted_at"]
    frame["converted_before_moment"] = (converted_at <= frame["scoring_moment"]).fillna(False)
    frame["converted"] = (
        (converted_at > frame["scoring_moment"]) & (converted_at <= window_end)
    ).fillna(False)
    frame["matured"] = window_end <= pd.Timestamp(as_of)
    for column in ("converted", "matured", "converted_before_moment"):
        frame[column] = frame[column].astype(bool)
    return frame[OUTCOME_COLUMNS].sort_values(["scoring_moment", "lead_id"], ignore_index=True)


def lead_outcomes(
    con: duckdb.DuckDBPyConnection,
    *,
    conversion_stage: str,
    window_days: int,
    feature_delay_hours: float,
    as_of: datetime,
) -> pd.DataFrame:
    """One row per lead in intermediate.int_leads_unified, labelled as the module docstring says.

    Columns: lead_id, created_at, scoring_moment, converted, converted_at (the first time the lead
    reached the conversion stage or a later one, up to as_of; null if never), matured,
    converted_before_moment. Sorted by scoring_moment.
    """
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    stages = stages_from(conversion_stage)
    leads = con.execute(
        "select lead_id, created_at from intermediate.int_leads_unified where created_at is not null"
    ).df()
    placeholders = ", ".join("?" for _ in stages)
    conversions = con.execute(
        f"""
        select lead_id, min(entered_at) as converted_at
        from intermediate.int_lead_stages_unpivoted
        where stage in ({placeholders}) and entered_at is not null
        group by lead_id
        """,
        stages,
    ).df()
    return label_outcomes(
        leads,
        conversions,
        window_days=window_days,
        feature_delay_hours=feature_delay_hours,
        as_of=as_of,
    )
