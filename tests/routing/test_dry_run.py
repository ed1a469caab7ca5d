"""`leadflow route --dry-run`: the decisions the next run would make, and nothing written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from leadflow.cli import app
from leadflow.config import ConfigError
from leadflow.warehouse import Warehouse
from routing import route_new_leads
from routing.dry_run import dry_run, read_sample
from tests.routing.world import T0, add_leads, build_world, routing_config, table_counts


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A closed warehouse file: two leads routed already (pool state moved), two waiting."""
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    with wh.connect() as con:
        build_world(con)
        add_leads(con, ["l1", "l2"])
        route_new_leads(con, routing_config(), run_id="r1", as_of=T0)
        add_leads(con, ["l3", "l4"], offset=10)
    return wh.path


def snapshot(path: Path) -> tuple[str, dict[str, int], list[tuple[object, ...]]]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with Warehouse(path).connect() as con:
        counts = table_counts(con)
        pools = con.execute("select * from ops.routing_pools order by pool").fetchall()
    return digest, counts, pools


def test_a_dry_run_shows_the_next_decisions_and_writes_nothing(warehouse: Path) -> None:
    before = snapshot(warehouse)
    # WHEN the dry run routes the waiting leads
    result = dry_run(warehouse, routing_config(), as_of=T0)
    # THEN it continues the rotation exactly as a real run would
    assert [(d.lead_id, d.owner.email if d.owner else None) for d in result.decisions] == [
        ("l3", "c@s.io"),
        ("l4", "a@s.io"),
    ]
    # AND the file, the row counts and the pool state are unchanged
    assert snapshot(warehouse) == before
    # AND a real run afterwards agrees with the preview
    with Warehouse(warehouse).connect() as con:
        real = route_new_leads(con, routing_config(), run_id="r2", as_of=T0)
    assert dict(real.by_owner) == dict(result.by_owner)


def test_a_sample_file_is_routed_with_the_warehouse_roster_and_state(
    warehouse: Path, tmp_path: Path
) -> None:
    sample = tmp_path / "leads.csv"
    sample.write_text("lead_id,region,crm_owner_id\ns1,NA,\ns2,EMEA,\ns3,NA,2\n", encoding="utf-8")
    before = snapshot(warehouse)
    result = dry_run(warehouse, routing_config(), as_of=T0, sample=sample)
    got = [(d.lead_id, d.rule, d.owner.email if d.owner else None) for d in result.decisions]
    assert got == [
        ("s1", "na", "c@s.io"),
        ("s2", "fallback", "a@s.io"),
        ("s3", "existing_owner", "b@s.io"),
    ]
    assert snapshot(warehouse) == before


def test_the_cli_prints_the_dry_run_as_json(warehouse: Path, tmp_path: Path) -> None:
    config = tmp_path / "leadflow.yml"
    routing = routing_config().model_dump(by_alias=True, exclude_none=True)
    config.write_text(
        yaml.safe_dump({"warehouse": {"path": str(warehouse)}, "routing": routing}),
        encoding="utf-8",
    )
    sample = tmp_path / "leads.json"
    sample.write_text(json.dumps([{"lead_id": "s1", "region": "NA"}]), encoding="utf-8")
    before = snapshot(warehouse)
    out = CliRunner().invoke(
        app,
        [
            "route",
            "--dry-run",
            "--json",
            "--config",
            str(config),
            "--sample",
            str(sample),
            "--as-of",
            "2026-06-03T14:00:00Z",
        ],
    )
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["would_route"] == 1 and body["decisions"][0]["owner_email"] == "c@s.io"
    assert snapshot(warehouse) == before
    text = CliRunner().invoke(app, ["route", "--dry-run", "--config", str(config)])
    assert (
        text.exit_code == 0
        and "Nothing was written." in text.output
        and "l3: assigned c@s.io" in text.output
    )


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("leads.txt", "x", "a sample is a .csv or .json file"),
        ("leads.json", "{", "not valid JSON"),
        ("leads.json", '{"rows": 1}', "expected a list of lead objects"),
        ("leads.csv", "region\nNA\n", "every lead needs a lead_id column"),
        ("leads.csv", "lead_id,region\n,NA\n", "lead 1 has no lead_id"),
    ],
    ids=["wrong-suffix", "bad-json", "json-not-a-list", "no-lead-id-column", "empty-lead-id"],
)
def test_a_bad_sample_is_one_line_error(tmp_path: Path, name: str, body: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_sample(path)


def test_a_sample_missing_a_field_the_rules_read_is_an_error(
    warehouse: Path, tmp_path: Path
) -> None:
    sample = tmp_path / "leads.csv"
    sample.write_text("lead_id,country_code\ns1,US\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"routing\.rules\.na\.when: unknown lead field 'region'"):
        dry_run(warehouse, routing_config(), as_of=T0, sample=sample)


def test_the_cli_routes_for_real_without_dry_run(warehouse: Path, tmp_path: Path) -> None:
    config = tmp_path / "leadflow.yml"
    routing = routing_config().model_dump(by_alias=True, exclude_none=True)
    config.write_text(
        yaml.safe_dump({"warehouse": {"path": str(warehouse)}, "routing": routing}),
        encoding="utf-8",
    )
    sample = tmp_path / "leads.csv"
    sample.write_text("lead_id,region\ns1,NA\n", encoding="utf-8")
    refused = CliRunner().invoke(app, ["route", "--config", str(config), "--sample", str(sample)])
    assert refused.exit_code == 2 and "--sample only goes with --dry-run" in refused.output
    out = CliRunner().invoke(app, ["route", "--json", "--config", str(config)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["by_owner"] == {"c@s.io": 1, "a@s.io": 1}
    assert snapshot(warehouse)[1]["lead_assignments"] == 4


def test_a_warehouse_without_modelled_leads_is_one_line_error(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "fresh.duckdb")
    wh.ensure_schema()
    with pytest.raises(ConfigError, match="no leads modelled yet"):
        dry_run(wh.path, routing_config(), as_of=T0)
    with pytest.raises(ConfigError, match="no warehouse yet"):
        dry_run(tmp_path / "absent.duckdb", routing_config(), as_of=T0)
