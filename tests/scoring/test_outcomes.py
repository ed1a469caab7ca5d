"""Outcome labels: the scoring moment, the conversion window, maturity, already-converted leads."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from scoring.outcomes import FUNNEL_STAGES, canonical_stage, lead_outcomes, stages_from

AS_OF = datetime(2026, 6, 1)
T0 = datetime(2026, 1, 10)


def _world(con: duckdb.DuckDBPyConnection, leads: dict[str, datetime], stages: list[tuple]) -> None:
    """The two intermediate tables lead_outcomes reads, as dbt's `prepare` builds them."""
    con.execute("create schema if not exists intermediate")
    con.execute(
        "create table intermediate.int_leads_unified (lead_id varchar, created_at timestamp)"
    )
    con.executemany("insert into intermediate.int_leads_unified values (?, ?)", list(leads.items()))
    con.execute(
        "create table intermediate.int_lead_stages_unpivoted "
        "(lead_id varchar, stage varchar, stage_order integer, entered_at timestamp)"
    )
    rows = [(lead, stage, FUNNEL_STAGES.index(stage) + 1, at) for lead, stage, at in stages]
    rows += [(lead, "lead", 1, created) for lead, created in leads.items()]
    con.executemany("insert into intermediate.int_lead_stages_unpivoted values (?, ?, ?, ?)", rows)


@pytest.mark.parametrize(
    ("created", "stages", "converted", "matured", "before"),
    [
        pytest.param(T0, [], False, True, False, id="never-converted-matured"),
        pytest.param(
            T0, [("opportunity", T0 + timedelta(days=10))], True, True, False, id="in-window"
        ),
        pytest.param(
            T0, [("won", T0 + timedelta(days=10))], True, True, False, id="later-stage-counts"
        ),
        pytest.param(
            T0, [("sql", T0 + timedelta(days=10))], False, True, False, id="earlier-stage-does-not"
        ),
        pytest.param(
            T0, [("opportunity", T0 + timedelta(days=95))], False, True, False, id="after-window"
        ),
        pytest.param(
            T0, [("opportunity", T0 + timedelta(hours=5))], False, True, True, id="before-moment"
        ),
        pytest.param(AS_OF - timedelta(days=30), [], False, False, False, id="window-still-open"),
        pytest.param(
            AS_OF - timedelta(days=30),
            [("opportunity", AS_OF + timedelta(days=1))],
            False,
            False,
            False,
            id="conversion-after-as-of-unknown",
        ),
    ],
)
def test_each_lead_is_labelled_from_its_scoring_moment(
    con: duckdb.DuckDBPyConnection,
    created: datetime,
    stages: list[tuple[str, datetime]],
    converted: bool,
    matured: bool,
    before: bool,
) -> None:
    # GIVEN one lead and the funnel stages it entered
    _world(con, {"L1": created}, [("L1", stage, at) for stage, at in stages])
    # WHEN it is labelled for 'opportunity' within 90 days of a moment 24 h after creation
    out = lead_outcomes(
        con, conversion_stage="opportunity", window_days=90, feature_delay_hours=24, as_of=AS_OF
    )
    # THEN the label, its maturity and the already-converted flag follow the definitions
    row = out.set_index("lead_id").loc["L1"]
    assert row["scoring_moment"] == created + timedelta(hours=24)
    assert (bool(row["converted"]), bool(row["matured"]), bool(row["converted_before_moment"])) == (
        converted,
        matured,
        before,
    )


def test_one_row_per_lead_with_the_first_conversion_time(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a lead that reached opportunity then won, and one that never moved
    _world(
        con,
        {"L1": T0, "L2": T0 + timedelta(days=1)},
        [("L1", "opportunity", T0 + timedelta(days=3)), ("L1", "won", T0 + timedelta(days=9))],
    )
    # WHEN labelled with HubSpot's name for a stage
    out = lead_outcomes(
        con,
        conversion_stage="salesqualifiedlead",
        window_days=30,
        feature_delay_hours=0,
        as_of=AS_OF,
    )
    # THEN one row each, sorted by scoring moment, converted_at = the first stage at or after 'sql'
    assert list(out["lead_id"]) == ["L1", "L2"]
    assert out.loc[0, "converted_at"] == T0 + timedelta(days=3)
    assert out["converted"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("opportunity", "opportunity", id="funnel-name"),
        pytest.param("customer", "won", id="hubspot-customer"),
        pytest.param(" MarketingQualifiedLead ", "mql", id="hubspot-mql-any-case"),
    ],
)
def test_stage_names_and_hubspot_synonyms(name: str, expected: str) -> None:
    assert canonical_stage(name) == expected


def test_an_unknown_stage_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown conversion stage 'deal'; use one of: lead, mql"):
        stages_from("deal")


def test_funnel_stages_mirror_the_dbt_project() -> None:
    # GIVEN dbt_project.yml's funnel_stages var, which int_lead_stages_unpivoted is built from
    project = yaml.safe_load(
        (Path(__file__).parents[2] / "dbt_project" / "dbt_project.yml").read_text()
    )
    # THEN the Python mirror lists the same stages in the same order
    assert list(FUNNEL_STAGES) == project["vars"]["funnel_stages"]
