"""The predictive score: features as of the moment, the time split, the model finding real signal,
the minimum-data fallback, the JSON artifact and the blend."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from leadflow.config import ScoringConfig, parse_settings
from scoring import model_version, score_all
from scoring.explain import explain_lead, render
from scoring.features import build_features, features_for_scoring, read_events, title_level
from scoring.history_export import (
    EXAMPLE_COLUMNS,
    EXAMPLE_EVENTS,
    load_history,
    write_example_export,
)
from scoring.model import (
    TrainedModel,
    TrainingData,
    TrainingResult,
    active_model,
    blend,
    store,
    time_split,
    train,
    warehouse_training_data,
)
from scoring.outcomes import FUNNEL_STAGES
from scoring.rules import band, scoring_moment
from tests.scoring.lead_tables import make_intermediate

REPO = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 11, 1)
# The shipped rules (leadflow.yml): title, business email, country, forms. The generated export's
# outcomes also depend on industry, company size and a started trial, which they do not look at.
SHIPPED_SCORING: dict[str, Any] = yaml.safe_load((REPO / "leadflow.yml").read_text())["scoring"]


def scoring_config(**model: Any) -> ScoringConfig:
    return ScoringConfig.model_validate({**SHIPPED_SCORING, "model": model})


def export_config(folder: Path, paths: dict[str, Path], **model: Any) -> ScoringConfig:
    return scoring_config(
        history_export={
            **{k: str(v) for k, v in paths.items()},
            "columns": EXAMPLE_COLUMNS,
            "events": EXAMPLE_EVENTS,
        },
        **model,
    )


@dataclass
class Trained:
    folder: Path
    paths: dict[str, Path]
    config: ScoringConfig
    data: TrainingData
    result: TrainingResult


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A generated CRM history where conversion truly depends on attributes, trained once."""
    folder = tmp_path_factory.mktemp("history")
    paths = write_example_export(folder, leads=5000, seed=5, as_of=AS_OF)
    config = export_config(folder, paths)
    assert config.model.history_export is not None
    data = load_history(config.model.history_export, config, as_of=AS_OF, root=folder)
    return Trained(folder, paths, config, data, train(data, config, as_of=AS_OF))


# --------------------------------------------------------------------------- features


def test_features_never_see_events_at_or_after_the_moment() -> None:
    # GIVEN a lead scored at noon and its events: two before, one exactly at, many after
    moment = datetime(2026, 5, 1, 12)
    leads = pd.DataFrame([{"lead_id": "L1", "job_title": "VP Sales", "is_free_email": False}])
    before = pd.DataFrame(
        [
            ("L1", "demo_request", moment - timedelta(days=1), 1),
            ("L1", "content_download", moment - timedelta(hours=1), 1),
        ],
        columns=["lead_id", "event", "occurred_at", "quantity"],
    )
    later = pd.DataFrame(
        [("L1", "demo_request", moment, 1)]
        + [("L1", "meeting_booked", moment + timedelta(days=d), 1) for d in range(1, 20)]
        + [("L1", "demo_request", moment + timedelta(hours=1), 5)],
        columns=["lead_id", "event", "occurred_at", "quantity"],
    )
    moments = pd.Series([moment], index=pd.Index(["L1"], name="lead_id"))
    # WHEN features are computed without and with the later events
    without = build_features(leads, before, moments)
    with_later = build_features(leads, pd.concat([before, later]), moments)
    # THEN they are identical: nothing from the moment on leaks in
    pd.testing.assert_frame_equal(without, with_later)
    assert "event_meeting_booked" not in with_later.columns
    assert with_later.loc["L1", "event_demo_request"] == pytest.approx(0.5 ** (1 / 30))


def test_the_cumulative_page_view_counter_is_never_an_event(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN HubSpot's page-view counter (one row at the last visit) and a real form submission
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_lead_events_unioned as select * from (values "
        "('L1', 'page_view', timestamp '2026-05-01', 40, 'hubspot'), "
        "('L1', 'demo_request', timestamp '2026-05-01', 1, 'typeform')) "
        "t(lead_id, event, occurred_at, quantity, source)"
    )
    # WHEN the model reads events
    events = read_events(con)
    # THEN the counter is left out and the submission kept
    assert events["event"].tolist() == ["demo_request"]


@pytest.mark.parametrize(
    ("title", "level"),
    [
        pytest.param("Chief Executive Officer", "executive", id="chief"),
        pytest.param("VP of Sales", "vp", id="vp"),
        pytest.param("Head of Growth", "director", id="head"),
        pytest.param("Marketing Manager", "manager", id="manager"),
        pytest.param("MBA Student", "student", id="student"),
        pytest.param("Data Analyst", "individual", id="individual"),
        pytest.param(None, "unknown", id="none"),
        pytest.param("  ", "unknown", id="blank"),
    ],
)
def test_title_levels(title: str | None, level: str) -> None:
    assert title_level(title) == level


# --------------------------------------------------------------------------- split and training


def test_training_never_overlaps_the_holdout(trained: Trained) -> None:
    # GIVEN the labelled history WHEN it is split by time
    m = trained.config.model
    split = time_split(trained.data.outcomes, holdout_fraction=0.2, window_days=m.window_days)
    assert split.cutoff is not None
    window = pd.Timedelta(days=m.window_days)
    # THEN every training lead's outcome was final before the first holdout lead was scored
    assert (split.train["scoring_moment"] + window).max() <= split.cutoff
    assert split.holdout["scoring_moment"].min() >= split.cutoff
    matured = trained.data.outcomes[
        trained.data.outcomes["matured"] & ~trained.data.outcomes["converted_before_moment"]
    ]
    assert len(split.holdout) == pytest.approx(0.2 * len(matured), abs=2)
    assert not set(split.train["lead_id"]) & set(split.holdout["lead_id"])


def test_the_model_finds_what_drives_conversion_and_beats_the_rules(trained: Trained) -> None:
    # GIVEN outcomes driven by industry, company size and trials, which the rules ignore
    result = trained.result
    metrics = result.metrics()
    # THEN on the holdout the model ranks far better than chance and clearly better than the rules
    assert metrics["model_auc"] > 0.65
    assert metrics["model_auc"] > metrics["rules_auc"] + 0.05
    assert metrics["model_brier"] < metrics["rules_brier"]
    assert result.status == "active"
    # AND its strongest coefficients are the true drivers
    assert result.model is not None
    top = [name for name, _ in result.model.top_coefficients(6)]
    assert {"industry=software", "industry=fintech"} <= set(top)
    coef = dict(zip(result.model.feature_names, result.model.coefficients, strict=True))
    assert coef["industry=software"] > 0.4 and coef["industry=fintech"] > 0.4
    # a student title is seen twice (LeadFlow's seniority and the model's title level): together
    assert coef["title_level=student"] + coef["seniority=student"] < -0.5
    assert coef["event_trial_started"] > 0.2 and coef["employee_count"] > 0.2
    # AND its top decile converts at well over the base rate
    assert result.model_eval is not None
    assert result.model_eval["lift"][0]["lift"] > 2


def test_calibration_and_lift_cover_every_holdout_lead(trained: Trained) -> None:
    result = trained.result
    assert result.model_eval is not None and result.rules_eval is not None
    for evaluation in (result.model_eval, result.rules_eval):
        assert sum(row["count"] for row in evaluation["calibration"]) == result.holdout_leads
        assert sum(row["conversions"] for row in evaluation["lift"]) == result.holdout_conversions
        assert evaluation["lift"][-1]["cumulative_share"] == 1.0
    # a calibrated model: predicted and observed rates agree on the whole holdout within 3 points
    cal = result.model_eval["calibration"]
    predicted = sum(r["predicted"] * r["count"] for r in cal) / result.holdout_leads
    observed = sum(r["observed"] * r["count"] for r in cal) / result.holdout_leads
    assert abs(predicted - observed) < 0.03


def test_too_little_history_trains_nothing_and_says_what_is_missing(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    # GIVEN a history of 400 leads, short of the default minimums
    paths = write_example_export(tmp_path, leads=400, seed=2, as_of=AS_OF)
    config = export_config(tmp_path, paths)
    assert config.model.history_export is not None
    data = load_history(config.model.history_export, config, as_of=AS_OF, root=tmp_path)
    # WHEN training is attempted
    result = train(data, config, as_of=AS_OF)
    store(con, result, activate=True)
    # THEN no model exists, scoring stays on the rules, and the message counts what is missing
    assert result.status == "not_trained" and result.model is None
    assert 0 < result.train_leads < 1000 and result.train_conversions < 120
    assert result.message == (
        f"model not trained: {result.train_leads} matured leads (need 1000) and "
        f"{result.train_conversions} conversions (need 120); scoring uses the rules"
    )
    assert active_model(con) is None
    assert blend(42, None, scoring_config().model_copy(update={"mode": "model"})) == 42


def test_a_model_that_does_not_beat_the_rules_stays_a_candidate(trained: Trained) -> None:
    # GIVEN a history whose only signal the model may not use: leave only the rules-visible part
    leads = trained.data.leads.drop(columns=["industry", "employee_count"])
    no_events = trained.data.events.iloc[0:0]
    data = TrainingData("history_export", trained.data.outcomes, leads, no_events)
    # WHEN the rules see the same attributes and the model has no extra information
    result = train(data, trained.config, as_of=AS_OF)
    # THEN the status follows the comparison on the same holdout, and says so
    assert result.model_eval is not None and result.rules_eval is not None
    model_auc, rules_auc = result.model_eval["auc"], result.rules_eval["auc"]
    if model_auc > rules_auc:
        assert result.status == "active"
    else:
        assert result.status == "candidate"
        assert "does not beat the rules score's" in result.message


# --------------------------------------------------------------------------- artifact and scoring API


def test_the_artifact_round_trips_through_the_warehouse(
    trained: Trained, con: duckdb.DuckDBPyConnection
) -> None:
    # GIVEN the trained model and features for some leads
    model = trained.result.model
    assert model is not None
    moments = pd.Series(
        trained.data.outcomes["scoring_moment"].to_numpy()[:300],
        index=pd.Index(trained.data.outcomes["lead_id"][:300], name="lead_id"),
    )
    features = build_features(trained.data.leads, trained.data.events, moments)
    # WHEN it is stored as JSON and loaded back as the active model
    store(con, trained.result, activate=True)
    loaded = active_model(con)
    # THEN it predicts and explains exactly as before
    assert loaded is not None and loaded.version == model.version
    np.testing.assert_allclose(
        loaded.predict(features), model.predict(features), rtol=0, atol=1e-12
    )
    assert loaded.contributions(features) == model.contributions(features)
    row = con.execute(
        "select status, source, algorithm, train_leads, holdout_leads, metrics->>'$.model_auc' "
        "from ops.scoring_models"
    ).fetchone()
    assert row is not None
    assert row[:5] == (
        "active",
        "history_export",
        "logistic_regression",
        trained.result.train_leads,
        trained.result.holdout_leads,
    )
    assert float(row[5]) == pytest.approx(trained.result.metrics()["model_auc"])


def test_activating_a_new_model_retires_the_old_one(
    trained: Trained, con: duckdb.DuckDBPyConnection
) -> None:
    model = trained.result.model
    assert model is not None
    store(con, trained.result, activate=True)
    newer = TrainingResult(**{**trained.result.__dict__, "status": "active"})
    newer.model = TrainedModel(
        model.version + "-b", model.encoder, model.coefficients, model.intercept
    )
    store(con, newer, activate=True)
    statuses = dict(con.execute("select model_version, status from ops.scoring_models").fetchall())
    assert statuses == {model.version: "retired", model.version + "-b": "active"}
    # --no-activate keeps even a passing model a candidate
    held = TrainingResult(**{**trained.result.__dict__, "status": "active"})
    held.model = TrainedModel(
        model.version + "-c", model.encoder, model.coefficients, model.intercept
    )
    store(con, held, activate=False)
    assert held.status == "candidate" and "--no-activate" in held.message
    active = active_model(con)
    assert active is not None and active.version == model.version + "-b"


def test_contributions_add_up_to_the_log_odds(trained: Trained) -> None:
    model = trained.result.model
    assert model is not None
    moments = pd.Series(
        trained.data.outcomes["scoring_moment"].to_numpy()[:50],
        index=pd.Index(trained.data.outcomes["lead_id"][:50], name="lead_id"),
    )
    features = build_features(trained.data.leads, trained.data.events, moments)
    everything = model.contributions(features, top=len(model.feature_names))
    top3 = model.contributions(features, top=3)
    for row, all_factors, first in zip(model.log_odds(features), everything, top3, strict=True):
        assert sum(v for _, v in all_factors) + model.intercept == pytest.approx(row, abs=1e-3)
        assert first == all_factors[:3]
        assert [abs(v) for _, v in first] == sorted((abs(v) for _, v in first), reverse=True)


@pytest.mark.parametrize(
    ("mode", "weight", "expected"),
    [
        pytest.param("rules", 0.5, 40, id="rules-ignores-the-model"),
        pytest.param("model", 0.5, 81, id="model-is-100p"),
        pytest.param("blend", 0.5, 60, id="blend-half"),  # round(0.5 * 81 + 0.5 * 40) = 60
        pytest.param("blend", 0.25, 50, id="blend-quarter"),  # round(20.25 + 30) = 50
    ],
)
def test_blend_follows_the_configured_mode(mode: str, weight: float, expected: int) -> None:
    config = scoring_config().model_copy(update={"mode": mode, "blend_weight": weight})
    assert blend(40, 0.806, config) == expected


# --------------------------------------------------------------------------- the warehouse path


def test_training_from_the_warehouse_reads_labels_and_events_built_by_dbt(
    trained: Trained, con: duckdb.DuckDBPyConnection
) -> None:
    # GIVEN the history laid out as dbt's `prepare` builds it (int_leads_unified, events, stages),
    # some leads without an email (a null is_free_email, read back from DuckDB as pd.NA)
    leads = trained.data.leads.copy()
    leads["is_free_email"] = leads["is_free_email"].astype(object)
    leads.loc[leads.index[:50], "is_free_email"] = None
    conversions = trained.data.outcomes.dropna(subset=["converted_at"])
    stages = pd.concat(
        [
            leads[["lead_id"]].assign(stage="lead", entered_at=leads["created_at"]),
            conversions[["lead_id"]].assign(
                stage="opportunity", entered_at=conversions["converted_at"]
            ),
        ]
    ).assign(stage_order=lambda f: f["stage"].map(lambda s: FUNNEL_STAGES.index(s) + 1))
    events = trained.data.events.assign(source="typeform")
    counters = leads[["lead_id"]].assign(
        event="page_view", occurred_at=leads["created_at"], quantity=50, source="hubspot"
    )
    con.execute("create schema intermediate")
    for name, frame in (
        ("int_leads_unified", leads),
        ("int_lead_stages_unpivoted", stages),
        ("int_lead_events_unioned", pd.concat([events, counters])),
    ):
        con.register("frame", frame)
        con.execute(f"create table intermediate.{name} as select * from frame")
        con.unregister("frame")
    # WHEN training reads the warehouse
    data = warehouse_training_data(con, trained.config, as_of=AS_OF)
    result = train(data, trained.config, as_of=AS_OF)
    # THEN it sees the same leads and labels as the export path and finds the same signal
    assert data.source == "warehouse" and "page_view" not in set(data.events["event"])
    assert (result.train_leads, result.holdout_leads) == (
        trained.result.train_leads,
        trained.result.holdout_leads,
    )
    assert result.metrics()["model_auc"] == pytest.approx(
        trained.result.metrics()["model_auc"], abs=0.01
    )
    # AND scoring features at a moment use only what the model was trained on
    feats = features_for_scoring(con, list(leads["lead_id"][:20]), AS_OF)
    assert result.model is not None and len(result.model.predict(feats)) == 20


def test_leadflow_train_on_a_warehouse_without_leads_is_one_clear_line(tmp_path: Path) -> None:
    from leadflow.cli import app

    config = tmp_path / "leadflow.yml"
    config.write_text(yaml.safe_dump({"warehouse": {"path": str(tmp_path / "w.duckdb")}}))
    result = CliRunner().invoke(app, ["train", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "leadflow: the warehouse has no intermediate.int_leads_unified / int_lead_stages_unpivoted "
        "yet: run `leadflow run` first, or train from a history export (--from-history)"
    ]


def test_leadflow_train_from_history_writes_the_report(trained: Trained) -> None:
    from leadflow.cli import app

    # GIVEN a config beside a generated history export, naming its files relative to itself
    tmp_path = trained.folder
    settings = {
        "warehouse": {"path": str(tmp_path / "w.duckdb")},
        "scoring": {
            **SHIPPED_SCORING,
            "model": {
                "history_export": {
                    **{k: v.name for k, v in trained.paths.items()},
                    "columns": EXAMPLE_COLUMNS,
                    "events": EXAMPLE_EVENTS,
                }
            },
        },
    }
    parse_settings(settings)  # the mapping validates
    config = tmp_path / "leadflow.yml"
    config.write_text(yaml.safe_dump(settings))
    # WHEN `leadflow train --from-history --out report.md` runs
    out = tmp_path / "report.md"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--config",
            str(config),
            "--from-history",
            "--out",
            str(out),
            "--as-of",
            "2026-11-01T00:00:00Z",
        ],
    )
    # THEN the model is active, the CLI says how it compares, and the report has both scores
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("model model-") and "is active" in result.stdout
    assert "AUC model 0." in result.stdout
    report = out.read_text()
    assert "## Model vs rules on the same holdout leads" in report
    assert "| rules (score / 100) |" in report and "## Lift by decile" in report


# --------------------------------------------------------------------------- scoring with the model


def _two_leads(con: duckdb.DuckDBPyConnection) -> None:
    make_intermediate(
        con,
        [
            {
                "lead_id": "L1",
                "job_title": "VP Sales",
                "seniority": "vp",
                "industry": "software",
                "is_free_email": False,
                "country_code": "US",
                "created_at": AS_OF - timedelta(days=3),
            },
            {
                "lead_id": "L2",
                "job_title": "Student",
                "is_free_email": True,
                "country_code": "FR",
                "created_at": AS_OF - timedelta(days=3),
            },
        ],
        events=[("L1", "demo_request", AS_OF - timedelta(days=1), 1)],
    )


@pytest.mark.parametrize("mode", ["blend", "model"])
def test_scores_follow_the_active_model_and_still_add_up(
    trained: Trained, con: duckdb.DuckDBPyConnection, mode: str
) -> None:
    # GIVEN an active model and two leads
    store(con, trained.result, activate=True)
    model = active_model(con)
    assert model is not None
    _two_leads(con)
    config = trained.config.model_copy(update={"mode": mode, "blend_weight": 0.4})
    # WHEN the leads are scored
    score_all(con, config, run_id="r1", as_of=AS_OF)
    # THEN each score is the configured mix of the rules and the model's probability, the version
    # says which model produced it, the factors add up to the score and the reasons start with it
    moment = scoring_moment(AS_OF, config.decay_resolution)
    features = features_for_scoring(con, None, moment)
    expected = dict(zip(features.index, model.predict(features), strict=True))
    rows = con.execute(
        "select lead_id, score, model_version, factors, reasons, grade, is_mql "
        "from ops.lead_scores order by lead_id"
    ).fetchall()
    assert len(rows) == 2
    for lead_id, score, version, factors_json, reasons, grade, is_mql in rows:
        factors = json.loads(factors_json)
        model_part = factors[-1]
        assert model_part["group"] == "adjustment"
        detail = model_part["detail"]
        assert detail["probability"] == pytest.approx(expected[lead_id], abs=1e-4)
        assert score == blend(detail["rules_score"], expected[lead_id], config)
        assert round(sum(f["points"] for f in factors), 2) == score
        assert version == (
            model.version if mode == "model" else f"blend({model_version(config)},{model.version})"
        )
        assert reasons.startswith(f"model {round(100 * expected[lead_id])}% likely")
        assert is_mql is (score >= config.mql_threshold)
        assert grade == band(score, config.bands.grades)


def test_without_an_active_model_the_rules_score_and_say_why(
    con: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN mode blend but no trained model
    _two_leads(con)
    config = scoring_config().model_copy(update={"mode": "blend"})
    # WHEN the leads are scored
    score_all(con, config, run_id="r1", as_of=AS_OF)
    # THEN the rules alone score them, under the rules version, and the log says why
    versions = {v for (v,) in con.execute("select model_version from ops.lead_scores").fetchall()}
    assert versions == {model_version(config)}
    assert "no model is active" in caplog.text


def test_model_settings_do_not_change_the_rules_version() -> None:
    assert model_version(scoring_config()) == model_version(
        scoring_config(window_days=7).model_copy(update={"mode": "model"})
    )


def test_explain_shows_the_model_part_of_a_blended_score(
    trained: Trained, con: duckdb.DuckDBPyConnection
) -> None:
    # GIVEN a lead scored in blend mode
    store(con, trained.result, activate=True)
    _two_leads(con)
    score_all(con, trained.config.model_copy(update={"mode": "blend"}), run_id="r1", as_of=AS_OF)
    # WHEN it is explained
    text = render(explain_lead(con, "L1"))
    # THEN the model's probability and its top factors for this lead are printed with the points
    assert "blended at 0.5" in text
    assert "p=0." in text and "top log-odds:" in text
