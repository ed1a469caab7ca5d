"""`leadflow explain`: find a lead by id or email, account for every point, never leak contacts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from leadflow.cli import app
from leadflow.config import ScoringConfig
from leadflow.warehouse import Warehouse
from scoring import score_all
from scoring.explain import LeadNotFound, explain_lead, find_lead, render
from tests.scoring.lead_tables import make_intermediate

AS_OF = datetime(2026, 6, 10, 9)
runner = CliRunner()

SCORING = {
    "mql_threshold": 40,
    "sql_threshold": 80,
    "fit": {
        "cap": 30,
        "rules": [
            {"name": "senior", "when": {"field": "seniority", "in": ["vp"]}, "points": 25},
            {"name": "icp_size", "when": {"field": "employee_band", "in": ["1000+"]}, "points": 15},
        ],
    },
    "intent": {
        "cap": 40,
        "events": [
            {"event": "demo_request", "points": 30, "half_life_days": 14, "max_occurrences": 2},
            {"event": "page_view", "points": 0.5, "half_life_days": 10, "max_occurrences": 30},
        ],
    },
    "negative": {
        "cap": 50,
        "rules": [
            {
                "name": "free_email",
                "when": {"field": "is_free_email", "equals": True},
                "points": -10,
            }
        ],
    },
}
CONFIG = ScoringConfig.model_validate(SCORING)


def seed(con: duckdb.DuckDBPyConnection) -> None:
    """Two leads: L1 (a HubSpot contact merged with a form fill) and L2, scored once."""
    for key, source, stream, email, lead_id, rule in (
        ("hubspot:contacts:1", "hubspot", "contacts", "ann@acme.io", "L1", "new_lead"),
        ("typeform:responses:a", "typeform", "responses", "ann@acme.io", "L1", "email"),
        ("meta:leads:9", "meta", "leads", "bob@gmail.com", "L2", "new_lead"),
    ):
        con.execute(
            "insert into ops.lead_records (record_key, source, stream, record_id, _raw_id, email,"
            " phone_e164, first_seen_at, run_id) values (?, ?, ?, ?, 'r', ?, '+14155550134', ?, 'r1')",
            [key, source, stream, key.rsplit(":", 1)[1], email, AS_OF],
        )
        con.execute(
            "insert into ops.lead_identity (record_key, lead_id, rule, matched_record_key, resolved_at, run_id)"
            " values (?, ?, ?, null, ?, 'r1')",
            [key, lead_id, rule, AS_OF],
        )
    make_intermediate(
        con,
        [
            {"lead_id": "L1", "seniority": "vp", "employee_band": "1000+", "is_free_email": False},
            {"lead_id": "L2", "is_free_email": True},
        ],
        events=[
            ("L1", "demo_request", AS_OF - timedelta(days=3), 1),
            ("L1", "demo_request", AS_OF - timedelta(days=20), 1),
            ("L1", "demo_request", AS_OF - timedelta(days=40), 1),
            ("L1", "page_view", AS_OF - timedelta(days=1), 12),
        ],
    )
    score_all(con, CONFIG, run_id="r1", as_of=AS_OF)


def test_explain_accounts_for_every_point(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a scored lead whose fit is capped and whose intent decays
    seed(con)
    # WHEN it is explained
    explanation = explain_lead(con, "L1")
    # THEN the listed points add up exactly to the stored score
    score = explanation.score
    assert score is not None and score["score"] == 70
    assert explanation.factor_total() == Decimal(70)
    adjustments = {
        f["factor"]: f["points"] for f in explanation.factors if f["group"] == "adjustment"
    }
    assert adjustments["fit capped at 30"] == -10
    assert adjustments["intent capped at 40"] < 0
    # two-decimal points of capped, decayed intent can leave a cent over: it is listed, not lost
    assert abs(adjustments.get("rounding", 0)) <= 0.05
    demo = next(f for f in explanation.factors if f["factor"] == "demo_request")
    assert demo["detail"]["occurrences"] == 3 and demo["detail"]["counted"] == 2
    assert explanation.lifecycle["mql"]["occurred_at"] == AS_OF
    assert [h["cause"] for h in explanation.history] == ["new lead"]
    # AND the printed form shows the decay detail and the total
    text = render(explanation)
    assert "3 occurrences, 2 counted (max 2)" in text and "half-life 14 d" in text
    assert "70.00  = score 70" in text
    assert "records   2: hubspot contacts (new_lead), typeform responses (email)" in text


@pytest.mark.parametrize(
    ("key", "lead_id"),
    [
        pytest.param("L2", "L2", id="lead-id"),
        pytest.param("  ANN@Acme.io ", "L1", id="email-normalized"),
        pytest.param("mailto:bob@gmail.com", "L2", id="mailto"),
    ],
)
def test_find_lead(con: duckdb.DuckDBPyConnection, key: str, lead_id: str) -> None:
    seed(con)
    assert find_lead(con, key) == lead_id


@pytest.mark.parametrize(
    ("key", "message"),
    [
        pytest.param("lf_nope", "no lead with id 'lf_nope' in the warehouse", id="unknown-id"),
        pytest.param("zed@acme.io", "no lead has that email address", id="unknown-email"),
        pytest.param("zed@", "that is not a valid email address", id="bad-email"),
    ],
)
def test_an_unknown_lead_is_one_line_without_the_email(
    con: duckdb.DuckDBPyConnection, key: str, message: str
) -> None:
    seed(con)
    with pytest.raises(LeadNotFound) as err:
        find_lead(con, key)
    assert str(err.value) == message


@pytest.fixture
def warehouse_config(tmp_path: Path) -> Path:
    """A warehouse file with the two seeded leads, closed, and a config pointing at it."""
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        seed(con)
    config = tmp_path / "leadflow.yml"
    config.write_text(
        yaml.safe_dump({"warehouse": {"path": str(warehouse.path)}, "scoring": SCORING}),
        encoding="utf-8",
    )
    return config


def test_cli_explain_by_email_prints_no_contact_details(warehouse_config: Path) -> None:
    # WHEN a user explains a lead by its email
    result = runner.invoke(app, ["explain", "ann@acme.io", "--config", str(warehouse_config)])
    # THEN it prints the lead, its factors, history and routing, and no email or phone
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Lead L1\n")
    assert "Factors (points add up to the score)" in result.output
    assert "Score history" in result.output and "new lead" in result.output
    assert "Routing" in result.output
    assert "@" not in result.output and "4155550134" not in result.output


def test_cli_explain_json(warehouse_config: Path) -> None:
    result = runner.invoke(app, ["explain", "L1", "--json", "--config", str(warehouse_config)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["lead_id"] == "L1" and data["factor_total"] == data["score"]["score"] == 70


def test_cli_explain_unknown_lead_exits_2_with_one_line(warehouse_config: Path) -> None:
    result = runner.invoke(app, ["explain", "nobody@acme.io", "--config", str(warehouse_config)])
    assert result.exit_code == 2
    assert result.output == "leadflow: no lead has that email address\n"


def test_cli_explain_without_a_warehouse(tmp_path: Path) -> None:
    config = tmp_path / "leadflow.yml"
    config.write_text(f"warehouse: {{path: {tmp_path / 'none.duckdb'}}}\n", encoding="utf-8")
    result = runner.invoke(app, ["explain", "L1", "--config", str(config)])
    assert result.exit_code == 2 and "run `leadflow run` first" in result.output
