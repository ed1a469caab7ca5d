"""`leadflow backtest`: recent leads re-scored at their scoring moment with two configs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from leadflow.cli import app
from leadflow.config import ScoringConfig
from leadflow.warehouse import Warehouse
from scoring.backtest import auc, backtest, render
from tests.scoring.lead_tables import make_intermediate

AS_OF = datetime(2026, 6, 30, 12)
runner = CliRunner()

CURRENT: dict[str, Any] = {
    "mql_threshold": 40,
    "fit": {
        "cap": 60,
        "rules": [{"name": "senior", "when": {"field": "seniority", "equals": "vp"}, "points": 50}],
    },
    "model": {"conversion_stage": "opportunity", "window_days": 30, "feature_delay_hours": 24},
}
CANDIDATE: dict[str, Any] = {
    "mql_threshold": 40,
    "intent": {
        "cap": 40,
        "events": [{"event": "demo_request", "points": 30, "half_life_days": 30}],
    },
}


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def seed(con: duckdb.DuckDBPyConnection) -> None:
    leads = [
        {"lead_id": "won_1", "seniority": "vp", "created_at": ago(60)},
        {"lead_id": "won_2", "seniority": "vp", "created_at": ago(50)},
        {"lead_id": "lost_1", "seniority": "individual_contributor", "created_at": ago(40)},
        {"lead_id": "lost_late_demo", "seniority": "individual_contributor", "created_at": ago(30)},
        {"lead_id": "too_old", "seniority": "vp", "created_at": ago(200)},
        {"lead_id": "converted_at_once", "seniority": "vp", "created_at": ago(20)},
        # the CRM's funnel says it converted: a rule reading it must not see that
        {
            "lead_id": "crm_says_won",
            "created_at": ago(45),
            "lifecycle_stage": "opportunity",
            "became_opportunity_at": ago(35),
        },
    ]
    stages = [
        ("won_1", "opportunity", 4, ago(50)),
        ("won_2", "opportunity", 4, ago(45)),
        ("converted_at_once", "opportunity", 4, ago(20) + timedelta(hours=1)),
        ("too_old", "opportunity", 4, ago(190)),
        ("crm_says_won", "opportunity", 4, ago(35)),
    ]
    events = [
        # after its scoring moment (created + 24 h): it must not count
        ("lost_late_demo", "demo_request", ago(25), 1.0),
        # before its scoring moment: it counts
        ("won_2", "demo_request", ago(50) + timedelta(hours=2), 1.0),
    ]
    make_intermediate(con, leads, events=events, stages=stages)


def test_backtest_grades_each_lead_at_its_scoring_moment(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN leads of the last 90 days, some converted, one with a demo request after its moment
    seed(con)
    config = ScoringConfig.model_validate(CURRENT)
    candidate = ScoringConfig.model_validate(
        {
            **CANDIDATE,
            "fit": {
                "cap": 60,
                "rules": [
                    {
                        "name": "crm_stage",
                        "when": {"field": "lifecycle_stage", "exists": True},
                        "points": 60,
                    }
                ],
            },
        }
    )
    # WHEN the candidate is backtested over 90 days
    result = backtest(con, config, candidate, days=90, as_of=AS_OF)
    # THEN the old lead and the one converted before its moment are left out
    assert (result.leads, result.converted, result.excluded_already_converted) == (5, 3, 1)
    # AND the current rules put both VPs in C; the CRM-stage lead is E like the others
    current = {g.grade: (g.leads, g.converted) for g in result.current.grades}
    assert current == {"A": (0, 0), "B": (0, 0), "C": (2, 2), "D": (0, 0), "E": (3, 1)}
    # AND the candidate sees only won_2's early demo (30 -> D), not the late one, nor the CRM stage
    candidate_grades = {g.grade: (g.leads, g.converted) for g in result.candidate.grades}
    assert candidate_grades == {"A": (0, 0), "B": (0, 0), "C": (0, 0), "D": (1, 1), "E": (4, 2)}
    assert result.current.auc == pytest.approx(5 / 6)
    assert result.candidate.auc == pytest.approx(4 / 6)
    assert (result.current.mqls, result.candidate.mqls) == (2, 0)


def test_backtest_writes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    seed(con)
    config = ScoringConfig.model_validate(CURRENT)
    before = con.execute("select count(*) from ops.lead_scores").fetchone()
    backtest(con, config, config, days=90, as_of=AS_OF)
    assert con.execute("select count(*) from ops.lead_scores").fetchone() == before
    assert con.execute("select count(*) from ops.lead_score_history").fetchone() == (0,)


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        pytest.param([3, 2, 1], [True, False, False], 1.0, id="perfect"),
        pytest.param([1, 2, 3], [True, False, False], 0.0, id="inverted"),
        pytest.param([5, 5, 5, 5], [True, False, True, False], 0.5, id="all-ties"),
        pytest.param([1, 2], [False, False], None, id="one-class"),
    ],
)
def test_auc(scores: list[float], labels: list[bool], expected: float | None) -> None:
    assert auc(scores, labels) == expected


def test_render_puts_both_configs_side_by_side(con: duckdb.DuckDBPyConnection) -> None:
    seed(con)
    config = ScoringConfig.model_validate(CURRENT)
    text = render(
        backtest(con, config, ScoringConfig.model_validate(CANDIDATE), days=90, as_of=AS_OF)
    )
    assert "Backtest of 5 leads created in the 90 days to 2026-06-30 12:00 UTC" in text
    assert "C     |      2      2   100.0%     66.7%  |      0      0        -      0.0%" in text
    assert "AUC (score vs converted)   current 0.833   candidate 0.667" in text


def test_cli_backtest(tmp_path: Path) -> None:
    # GIVEN a warehouse file, the current config and a candidate file
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        seed(con)
    config = tmp_path / "leadflow.yml"
    config.write_text(
        yaml.safe_dump({"warehouse": {"path": str(warehouse.path)}, "scoring": CURRENT}),
        encoding="utf-8",
    )
    candidate = tmp_path / "candidate.yml"
    candidate.write_text(yaml.safe_dump({"scoring": CANDIDATE}), encoding="utf-8")
    args = ["backtest", "--candidate", str(candidate), "--config", str(config)]
    # WHEN it runs as JSON
    result = runner.invoke(app, [*args, "--as-of", "2026-06-30T12:00:00Z", "--json"])
    # THEN it reports both sides
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["leads"] == 5 and data["current"]["auc"] == pytest.approx(5 / 6)
    assert [g["grade"] for g in data["candidate"]["grades"]] == ["A", "B", "C", "D", "E"]
    # AND a broken candidate is one line
    candidate.write_text("scoring: {mql_threshold: 500}\n", encoding="utf-8")
    bad = runner.invoke(app, args)
    assert bad.exit_code == 2
    assert bad.output.startswith("leadflow: --candidate: ") and "mql_threshold" in bad.output
