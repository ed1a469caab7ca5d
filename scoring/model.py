"""The predictive lead score: a logistic regression trained on the warehouse's own closed outcomes.

Training (`train_and_evaluate`, run weekly by flows/model_training.py and by `leadflow train`):

1. Label every lead (scoring/outcomes.py): did it reach `scoring.model.conversion_stage` within
   `window_days` of its scoring moment (created_at + feature_delay_hours)?
2. Split by time, with no leakage: order the matured leads by scoring moment and put a cutoff so the
   latest `holdout_fraction` of them are the holdout. Train only on leads whose whole outcome window
   ended before the cutoff; leads already converted at their moment are left out of both.
3. Check the minimum data (min_leads and min_conversions in the training set, min_holdout_leads and
   min_holdout_conversions in the holdout). Short of it, no model is trained or activated and the
   message says exactly what is missing; scoring keeps using the rules.
4. Fit scikit-learn's LogisticRegression on a one-hot / standardized design of the features
   (scoring/features.py) computed at each lead's moment.
5. On the holdout: AUC, Brier score, a calibration table and lift by decile, for the model AND for the
   rules score computed at the same moments (scoring.rules.score_lead), so the two compare fairly.
6. Store the model in ops.scoring_models as JSON (encoders, scalers, coefficients; never a pickle).
   It becomes `active` only if it passed the minimum-data checks and, unless
   `require_beats_rules: false`, its holdout AUC beats the rules'; otherwise it stays `candidate`.

API for scoring (score_all):

- `active_model(con) -> TrainedModel | None`: the active model, or None (score with the rules).
- `TrainedModel.version`, `TrainedModel.predict(features) -> np.ndarray` (probabilities),
  `TrainedModel.contributions(features, top=5) -> list[list[tuple[str, float]]]` (per lead, its top
  factors as design-column name and log-odds contribution, strongest first).
- `scoring.features.features_for_scoring(con, lead_ids_or_all, moment) -> pd.DataFrame`.
- `blend(rules_score, probability, config) -> int`: the score `scoring.mode` asks for.

Scoring needs numpy only: the artifact holds everything `predict` uses.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from leadflow.config import ScoringConfig, Settings
from leadflow.warehouse import stable_hash, transaction, utcnow
from scoring.features import CATEGORICAL, FLAGS, OPTIONAL_CATEGORICAL, build_features
from scoring.rules import Event, Factor, LeadScore, band, score_lead

ALGORITHM = "logistic_regression"
ARTIFACT_FORMAT = 1
# A category seen fewer times than this in training is folded into "other".
MIN_CATEGORY_COUNT = 10
NUMERIC_MISSING = "missing"


class TrainingError(Exception):
    """Training cannot start (no warehouse tables yet, a bad history export); one line."""


# --------------------------------------------------------------------------- the model itself


@dataclass
class Encoder:
    """Raw features -> the design matrix: one-hot categories, 0/1 flags, standardized log counts."""

    categories: dict[str, list[str]]  # column -> kept categories (the rest is "other")
    flags: list[str]
    numeric: dict[str, dict[str, float]]  # column -> {median, mean, std} of log1p(value)

    @classmethod
    def fit(cls, features: pd.DataFrame) -> Encoder:
        categories: dict[str, list[str]] = {}
        for column in features.columns:
            if column in CATEGORICAL or column in OPTIONAL_CATEGORICAL:
                counts = features[column].astype(str).value_counts()
                categories[column] = sorted(counts[counts >= MIN_CATEGORY_COUNT].index)
        flags = [c for c in FLAGS if c in features.columns]
        numeric: dict[str, dict[str, float]] = {}
        for column in features.columns:
            if column in categories or column in flags:
                continue
            values = pd.to_numeric(features[column], errors="coerce")
            median = float(values.median()) if values.notna().any() else 0.0
            logged = np.log1p(values.fillna(median).clip(lower=0))
            std = float(logged.std(ddof=0))
            numeric[column] = {
                "median": median,
                "mean": float(logged.mean()),
                "std": std if std > 1e-9 else 1.0,
            }
        return cls(categories, flags, numeric)

    @property
    def feature_names(self) -> list[str]:
        names = [f"{c}={v}" for c, values in self.categories.items() for v in [*values, "other"]]
        return names + list(self.flags) + list(self.numeric)

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        n = len(features)
        blocks: list[np.ndarray] = []
        for column, values in self.categories.items():
            raw = (
                features[column].astype(str)
                if column in features.columns
                else pd.Series("unknown", index=features.index)
            )
            known = raw.where(raw.isin(values), "other")
            block = np.zeros((n, len(values) + 1))
            for j, value in enumerate([*values, "other"]):
                block[:, j] = (known == value).to_numpy(dtype=float)
            blocks.append(block)
        for flag in self.flags:
            column = (
                features[flag] if flag in features.columns else pd.Series(0.0, index=features.index)
            )
            blocks.append(pd.to_numeric(column, errors="coerce").fillna(0).to_numpy()[:, None])
        for column, stats in self.numeric.items():
            values = (
                pd.to_numeric(features[column], errors="coerce")
                if column in features.columns
                else pd.Series(0.0, index=features.index)  # an event type never seen: none
            )
            logged = np.log1p(values.fillna(stats["median"]).clip(lower=0).to_numpy(dtype=float))
            blocks.append(((logged - stats["mean"]) / stats["std"])[:, None])
        return np.hstack(blocks) if blocks else np.zeros((n, 0))

    def as_dict(self) -> dict[str, Any]:
        # Lists of pairs, not objects: the column order is the coefficient order and must survive
        # any JSON tool that sorts keys.
        return {
            "categories": [[c, v] for c, v in self.categories.items()],
            "flags": self.flags,
            "numeric": [[c, stats] for c, stats in self.numeric.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Encoder:
        return cls(
            {c: list(v) for c, v in data["categories"]},
            list(data["flags"]),
            {c: dict(stats) for c, stats in data["numeric"]},
        )


@dataclass
class TrainedModel:
    """A fitted model: the encoder, one coefficient per design column, the intercept."""

    version: str
    encoder: Encoder
    coefficients: np.ndarray
    intercept: float

    @property
    def feature_names(self) -> list[str]:
        return self.encoder.feature_names

    def log_odds(self, features: pd.DataFrame) -> np.ndarray:
        return self.encoder.transform(features) @ self.coefficients + self.intercept

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """The probability of converting, per row of `features`."""
        return 1.0 / (1.0 + np.exp(-self.log_odds(features)))

    def contributions(self, features: pd.DataFrame, top: int = 5) -> list[list[tuple[str, float]]]:
        """Per lead: the `top` design columns with the largest |coefficient * value|, signed.

        A one-hot column counts only when the lead has that category; a standardized count
        contributes relative to the training average (an absent event can push the odds down).
        """
        design = self.encoder.transform(features) * self.coefficients
        names = self.feature_names
        out: list[list[tuple[str, float]]] = []
        for row in design:
            order = np.argsort(-np.abs(row), kind="stable")
            out.append([(names[j], round(float(row[j]), 4)) for j in order[:top] if row[j] != 0])
        return out

    def top_coefficients(self, count: int = 15) -> list[tuple[str, float]]:
        order = np.argsort(-np.abs(self.coefficients), kind="stable")[:count]
        return [(self.feature_names[j], float(self.coefficients[j])) for j in order]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": ARTIFACT_FORMAT,
                "algorithm": ALGORITHM,
                "version": self.version,
                "encoder": self.encoder.as_dict(),
                "feature_names": self.feature_names,
                "coefficients": [float(c) for c in self.coefficients],
                "intercept": float(self.intercept),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> TrainedModel:
        data = json.loads(text)
        if data.get("format") != ARTIFACT_FORMAT or data.get("algorithm") != ALGORITHM:
            raise ValueError(
                f"model artifact format {data.get('format')!r} / {data.get('algorithm')!r} "
                "is not one this LeadFlow reads; retrain with `leadflow train`"
            )
        encoder = Encoder.from_dict(data["encoder"])
        coefficients = np.asarray(data["coefficients"], dtype=float)
        if encoder.feature_names != data["feature_names"] or len(coefficients) != len(
            encoder.feature_names
        ):
            raise ValueError(
                "model artifact is inconsistent: its features do not match its coefficients"
            )
        return cls(data["version"], encoder, coefficients, float(data["intercept"]))


def fit_model(
    features: pd.DataFrame, labels: np.ndarray, *, c: float, version: str
) -> TrainedModel:
    """Fit the encoder and a LogisticRegression on the training leads."""
    from sklearn.linear_model import LogisticRegression  # only training needs scikit-learn

    encoder = Encoder.fit(features)
    design = encoder.transform(features)
    regression = LogisticRegression(C=c, max_iter=2000)
    regression.fit(design, labels.astype(int))
    return TrainedModel(
        version, encoder, regression.coef_[0].copy(), float(regression.intercept_[0])
    )


def blend(rules_score: int, probability: float | None, config: ScoringConfig) -> int:
    """The 0-100 score `scoring.mode` asks for: rules, model (100 * p) or their weighted blend.

    Without a probability (no active model) every mode is the rules score.
    """
    if config.mode == "rules" or probability is None or math.isnan(probability):
        return int(rules_score)
    model_score = round(100 * float(probability))
    if config.mode == "model":
        return model_score
    w = config.blend_weight
    return round(w * model_score + (1 - w) * rules_score)


def with_model(
    result: LeadScore,
    probability: float,
    contributions: list[tuple[str, float]],
    model_version: str,
    config: ScoringConfig,
) -> LeadScore:
    """The rules result re-scored as `scoring.mode` asks, still accounting for every point.

    The rules factors keep their points (they add up to the rules score); one `adjustment` factor
    carries the difference the model makes, with the probability, the model score, the blend weight
    and the model's top factors for this lead, so `leadflow explain` closes the arithmetic exactly.
    Grade and MQL/SQL follow the final score; temperature stays the intent band.
    """
    score = blend(result.score, probability, config)
    model_score = round(100 * float(probability))
    detail: dict[str, Any] = {
        "model_version": model_version,
        "mode": config.mode,
        "probability": round(float(probability), 4),
        "model_score": model_score,
        "rules_score": result.score,
        "top_model_factors": [[name, round(value, 3)] for name, value in contributions],
    }
    if config.mode == "blend":
        detail["blend_weight"] = config.blend_weight
    label = (
        f"model {model_score} blended at {config.blend_weight:g}"
        if config.mode == "blend"
        else f"model score {model_score} replaces the rules"
    )
    factors = [*result.factors, Factor(label, "adjustment", float(score - result.score), detail)]
    return replace(
        result,
        score=score,
        grade=band(score, config.bands.grades),
        is_mql=score >= config.mql_threshold,
        is_sql=config.sql_threshold is not None and score >= config.sql_threshold,
        factors=factors,
    )


def model_reasons(probability: float, contributions: list[tuple[str, float]]) -> str:
    """The model's part of the CRM reasons: 'model 71% likely (+industry=software, -seniority=student)'."""
    named = ", ".join(f"{'+' if value > 0 else '-'}{name}" for name, value in contributions[:3])
    return f"model {round(100 * probability)}% likely" + (f" ({named})" if named else "")


# --------------------------------------------------------------------------- metrics


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC; None when the labels have one class only."""
    from sklearn.metrics import roc_auc_score

    if len(set(labels.tolist())) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def brier(labels: np.ndarray, probabilities: np.ndarray) -> float:
    return float(np.mean((probabilities - labels) ** 2))


def _deciles(scores: np.ndarray) -> np.ndarray:
    """Decile of each score, 1 = the highest 10 % (ties broken by position, stable)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=int)
    ranks[order] = np.arange(len(scores))
    return (ranks * 10 // max(len(scores), 1)) + 1


def calibration_table(labels: np.ndarray, probabilities: np.ndarray) -> list[dict[str, Any]]:
    """Ten bins of equal size by predicted probability, lowest first: predicted mean vs observed rate."""
    deciles = 11 - _deciles(probabilities)
    rows = []
    for b in range(1, 11):
        mask = deciles == b
        if not mask.any():
            continue
        rows.append(
            {
                "bin": b,
                "count": int(mask.sum()),
                "predicted": round(float(probabilities[mask].mean()), 4),
                "observed": round(float(labels[mask].mean()), 4),
            }
        )
    return rows


def lift_table(labels: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
    """Per decile of score (1 = top): conversion rate, lift over the base rate, share captured."""
    base = float(labels.mean()) if len(labels) else 0.0
    total = float(labels.sum())
    deciles = _deciles(scores)
    rows, captured = [], 0.0
    for d in range(1, 11):
        mask = deciles == d
        if not mask.any():
            continue
        conversions = float(labels[mask].sum())
        captured += conversions
        rate = conversions / mask.sum()
        rows.append(
            {
                "decile": d,
                "count": int(mask.sum()),
                "conversions": int(conversions),
                "rate": round(rate, 4),
                "lift": round(rate / base, 2) if base else None,
                "cumulative_share": round(captured / total, 4) if total else None,
            }
        )
    return rows


def evaluate(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    return {
        "auc": auc(labels, probabilities),
        "brier": brier(labels, probabilities),
        "calibration": calibration_table(labels, probabilities),
        "lift": lift_table(labels, probabilities),
    }


# --------------------------------------------------------------------------- training data


@dataclass
class TrainingData:
    """Everything training needs, from the warehouse or a history export, in one shape.

    outcomes: scoring.outcomes.label_outcomes columns; leads: one row per lead with the
    int_leads_unified column names (what features and rules read); events: occurrences (lead_id,
    event, occurred_at, quantity), running counters excluded.
    """

    source: str  # warehouse | history_export
    outcomes: pd.DataFrame
    leads: pd.DataFrame
    events: pd.DataFrame
    notes: list[str] = field(default_factory=list)  # e.g. bad rows skipped in an export


@dataclass
class Split:
    cutoff: datetime | None
    train: pd.DataFrame
    holdout: pd.DataFrame
    excluded_converted_before: int


def time_split(outcomes: pd.DataFrame, *, holdout_fraction: float, window_days: int) -> Split:
    """The latest `holdout_fraction` of matured leads are the holdout; training ends a window earlier."""
    usable = outcomes[outcomes["matured"] & ~outcomes["converted_before_moment"]]
    usable = usable.sort_values(["scoring_moment", "lead_id"], ignore_index=True)
    excluded = int((outcomes["matured"] & outcomes["converted_before_moment"]).sum())
    if usable.empty:
        return Split(None, usable, usable, excluded)
    position = min(len(usable) - 1, int(len(usable) * (1 - holdout_fraction)))
    cutoff = pd.Timestamp(usable["scoring_moment"].iloc[position])
    holdout = usable[usable["scoring_moment"] >= cutoff]
    window = pd.Timedelta(days=window_days)
    train = usable[usable["scoring_moment"] + window <= cutoff]
    return Split(
        cutoff.to_pydatetime(),
        train.reset_index(drop=True),
        holdout.reset_index(drop=True),
        excluded,
    )


def missing_data(split: Split, config: ScoringConfig) -> tuple[list[str], list[str]]:
    """What the training set and the holdout lack of the configured minimums, as phrases."""
    m = config.model
    train: list[str] = []
    holdout: list[str] = []
    train_leads, train_conv = len(split.train), int(split.train["converted"].sum())
    if train_leads < m.min_leads:
        train.append(f"{train_leads} matured leads (need {m.min_leads})")
    if train_conv < m.min_conversions:
        train.append(f"{train_conv} conversions (need {m.min_conversions})")
    hold_leads, hold_conv = len(split.holdout), int(split.holdout["converted"].sum())
    if hold_leads < m.min_holdout_leads:
        holdout.append(f"{hold_leads} holdout leads (need {m.min_holdout_leads})")
    if hold_conv < m.min_holdout_conversions:
        holdout.append(f"{hold_conv} holdout conversions (need {m.min_holdout_conversions})")
    return train, holdout


def rules_scores_at_moments(
    data: TrainingData, outcomes: pd.DataFrame, config: ScoringConfig
) -> np.ndarray:
    """The rules score each lead would have had at its scoring moment (events before it only)."""
    wanted = set(outcomes["lead_id"])
    rows = data.leads[data.leads["lead_id"].isin(wanted)].drop_duplicates("lead_id")
    leads = {
        row["lead_id"]: {k: (None if _missing(v) else v) for k, v in row.items()}
        for row in rows.to_dict("records")
    }
    events: dict[str, list[Event]] = defaultdict(list)
    for lead_id, event, occurred_at, quantity in data.events[data.events["lead_id"].isin(wanted)][
        ["lead_id", "event", "occurred_at", "quantity"]
    ].itertuples(index=False):
        q = float(quantity) if quantity is not None and not pd.isna(quantity) else 1.0
        events[lead_id].append(Event(str(event), pd.Timestamp(occurred_at).to_pydatetime(), q))
    scores = []
    for lead_id, moment in outcomes[["lead_id", "scoring_moment"]].itertuples(index=False):
        at = pd.Timestamp(moment).to_pydatetime()
        lead = leads.get(lead_id, {"lead_id": lead_id})
        before = [
            e for e in events.get(lead_id, []) if e.occurred_at is not None and e.occurred_at < at
        ]
        scores.append(score_lead(lead, before, config, at).score)
    return np.asarray(scores, dtype=float)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list-valued field
        return False


# --------------------------------------------------------------------------- train, evaluate, store


@dataclass
class TrainingResult:
    """What one training run did; scoring/report.py renders it."""

    status: str  # active | candidate | not_trained
    message: str
    source: str
    as_of: datetime
    config: ScoringConfig
    model: TrainedModel | None = None
    cutoff: datetime | None = None
    train_leads: int = 0
    train_conversions: int = 0
    holdout_leads: int = 0
    holdout_conversions: int = 0
    excluded_converted_before: int = 0
    missing: list[str] = field(default_factory=list)
    model_eval: dict[str, Any] | None = None
    rules_eval: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def version(self) -> str | None:
        return self.model.version if self.model else None

    def metrics(self) -> dict[str, Any]:
        def pick(ev: dict[str, Any] | None, key: str) -> Any:
            return None if ev is None else ev.get(key)

        return {
            "model_auc": pick(self.model_eval, "auc"),
            "model_brier": pick(self.model_eval, "brier"),
            "rules_auc": pick(self.rules_eval, "auc"),
            "rules_brier": pick(self.rules_eval, "brier"),
            "train_leads": self.train_leads,
            "train_conversions": self.train_conversions,
            "holdout_leads": self.holdout_leads,
            "holdout_conversions": self.holdout_conversions,
            "excluded_converted_before_moment": self.excluded_converted_before,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "as_of": self.as_of.isoformat(),
        }


def config_hash(config: ScoringConfig) -> str:
    return stable_hash(config.model.model_dump(mode="json"))[:12]


def train(data: TrainingData, config: ScoringConfig, *, as_of: datetime) -> TrainingResult:
    """Split, check, fit and evaluate; store nothing (see train_and_evaluate)."""
    started = time.perf_counter()
    m = config.model
    split = time_split(
        data.outcomes, holdout_fraction=m.holdout_fraction, window_days=m.window_days
    )
    result = TrainingResult(
        status="not_trained",
        message="",
        source=data.source,
        as_of=as_of,
        config=config,
        cutoff=split.cutoff,
        train_leads=len(split.train),
        train_conversions=int(split.train["converted"].sum()),
        holdout_leads=len(split.holdout),
        holdout_conversions=int(split.holdout["converted"].sum()),
        excluded_converted_before=split.excluded_converted_before,
        notes=list(data.notes),
    )
    train_short, holdout_short = missing_data(split, config)
    result.missing = train_short + holdout_short
    if train_short or result.train_conversions == result.train_leads:
        result.message = (
            f"model not trained: {' and '.join(train_short or ['every training lead converted'])}; "
            "scoring uses the rules"
        )
        result.seconds = time.perf_counter() - started
        return result

    both = pd.concat([split.train, split.holdout], ignore_index=True)
    moments = pd.Series(
        both["scoring_moment"].to_numpy(), index=pd.Index(both["lead_id"], name="lead_id")
    )
    features = build_features(data.leads, data.events, moments)
    train_x = features.iloc[: len(split.train)]
    holdout_x = features.iloc[len(split.train) :]
    trained_at = utcnow()
    version = f"model-{trained_at:%Y%m%d-%H%M%S}"
    model = fit_model(
        train_x,
        split.train["converted"].to_numpy(dtype=float),
        c=m.regularization_c,
        version=version,
    )
    model.version = f"{version}-{stable_hash(model.to_json())[:6]}"
    result.model = model

    if len(split.holdout):
        labels = split.holdout["converted"].to_numpy(dtype=float)
        result.model_eval = evaluate(labels, model.predict(holdout_x))
        # The rules score is 0-100; read as a probability (score / 100) for Brier and calibration.
        rules = rules_scores_at_moments(data, split.holdout, config) / 100.0
        result.rules_eval = evaluate(labels, rules)

    model_auc = result.model_eval["auc"] if result.model_eval else None
    rules_auc = result.rules_eval["auc"] if result.rules_eval else None
    if holdout_short:
        result.status = "candidate"
        result.message = f"model trained but not activated: {' and '.join(holdout_short)}; scoring uses the rules"
    elif m.require_beats_rules and (
        model_auc is None or rules_auc is None or model_auc <= rules_auc
    ):
        result.status = "candidate"
        result.message = (
            f"model trained but not activated: its holdout AUC {_fmt(model_auc)} does not beat "
            f"the rules score's {_fmt(rules_auc)} on the same leads; scoring uses the rules"
        )
    else:
        result.status = "active"
        result.message = (
            f"model {model.version} is active: holdout AUC {_fmt(model_auc)} "
            f"(rules {_fmt(rules_auc)}) on {result.holdout_leads} leads"
        )
    result.seconds = time.perf_counter() - started
    return result


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def store(con: duckdb.DuckDBPyConnection, result: TrainingResult, *, activate: bool) -> None:
    """Write the trained model to ops.scoring_models; activate it (retiring the old one) if allowed."""
    model = result.model
    if model is None:
        return
    status = "active" if (result.status == "active" and activate) else "candidate"
    reason = result.message
    if result.status == "active" and not activate:
        reason = f"passed every check but --no-activate was given: {result.message}"
        result.message = (
            f"model {model.version} passed every check; kept as a candidate (--no-activate)"
        )
    result.status = status
    metrics = result.metrics()
    calibration = {
        "model": (result.model_eval or {}).get("calibration", []),
        "rules": (result.rules_eval or {}).get("calibration", []),
    }
    lift = {
        "model": (result.model_eval or {}).get("lift", []),
        "rules": (result.rules_eval or {}).get("lift", []),
    }
    with transaction(con):
        if status == "active":
            con.execute(
                "update ops.scoring_models set status = 'retired', "
                "status_reason = ? where status = 'active'",
                [f"replaced by {model.version}"],
            )
        con.execute(
            """
            insert into ops.scoring_models (model_version, trained_at, algorithm, config_hash,
                features, artifact, metrics, calibration, lift, train_leads, holdout_leads,
                status, source, status_reason)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                model.version,
                utcnow(),
                ALGORITHM,
                config_hash(result.config),
                json.dumps(model.feature_names),
                model.to_json(),
                json.dumps(metrics),
                json.dumps(calibration),
                json.dumps(lift),
                result.train_leads,
                result.holdout_leads,
                status,
                result.source,
                reason,
            ],
        )


def active_model(con: duckdb.DuckDBPyConnection) -> TrainedModel | None:
    """The active model in ops.scoring_models, or None (then scoring uses the rules)."""
    try:
        row = con.execute(
            "select artifact from ops.scoring_models where status = 'active' "
            "order by trained_at desc limit 1"
        ).fetchone()
    except duckdb.CatalogException:  # a warehouse made before the table existed
        return None
    return None if row is None else TrainedModel.from_json(row[0])


def warehouse_training_data(
    con: duckdb.DuckDBPyConnection, config: ScoringConfig, *, as_of: datetime
) -> TrainingData:
    """Labels, attributes and events from the warehouse dbt's `prepare` step built."""
    from scoring.features import read_events
    from scoring.outcomes import lead_outcomes

    try:
        outcomes = lead_outcomes(
            con,
            conversion_stage=config.model.conversion_stage,
            window_days=config.model.window_days,
            feature_delay_hours=config.model.feature_delay_hours,
            as_of=as_of,
        )
    except duckdb.CatalogException:
        raise TrainingError(
            "the warehouse has no intermediate.int_leads_unified / int_lead_stages_unpivoted yet: "
            "run `leadflow run` first, or train from a history export (--from-history)"
        ) from None
    leads = con.execute("select * from intermediate.int_leads_unified").df()
    return TrainingData("warehouse", outcomes, leads, read_events(con))


def train_and_evaluate(
    settings: Settings,
    *,
    as_of: datetime | None = None,
    from_history: bool = False,
    activate: bool = True,
) -> TrainingResult:
    """Train from the warehouse (or the configured history export), evaluate, store the model.

    Opens the warehouse only while it reads or writes it (DuckDB has one writer).
    """
    from leadflow.warehouse import Warehouse

    config = settings.scoring
    as_of = as_of or utcnow()
    warehouse = Warehouse(settings.warehouse_path)
    warehouse.ensure_schema()
    if from_history:
        from scoring.history_export import load_history

        if config.model.history_export is None:
            raise TrainingError(
                "scoring.model.history_export is not set in the config: add the leads, activities "
                "and outcomes files (see docs/scoring-model.md) or train from the warehouse"
            )
        data = load_history(config.model.history_export, config, as_of=as_of, root=settings.root)
    else:
        with warehouse.connect() as con:
            data = warehouse_training_data(con, config, as_of=as_of)
    result = train(data, config, as_of=as_of)
    if result.model is not None:
        with warehouse.connect() as con:
            store(con, result, activate=activate)
    return result
