"""score_all: every change of a score kept with its cause; MQL/SQL crossings kept once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pytest

from leadflow.config import ScoringConfig
from scoring import change_cause, score_all
from tests.scoring.lead_tables import make_intermediate

DAY1 = datetime(2026, 6, 1, 9)

CONFIG = ScoringConfig.model_validate(
    {
        "mql_threshold": 40,
        "sql_threshold": 60,
        "fit": {
            "cap": 60,
            "rules": [
                {
                    "name": "senior",
                    "when": {"field": "seniority", "in": ["vp", "c_level"]},
                    "points": 30,
                },
                {
                    "name": "icp_industry",
                    "when": {"field": "industry", "equals": "software"},
                    "points": 10,
                },
            ],
        },
        "intent": {
            "cap": 40,
            "events": [{"event": "demo_request", "points": 30, "half_life_days": 7}],
        },
        "negative": {
            "cap": 50,
            "rules": [
                {
                    "name": "unsubscribed",
                    "when": {"field": "is_unsubscribed", "equals": True},
                    "points": -20,
                }
            ],
        },
    }
)

VP = {"lead_id": "L1", "seniority": "vp", "industry": "software", "created_at": DAY1}


def run(con: duckdb.DuckDBPyConnection, at: datetime, config: ScoringConfig = CONFIG) -> Any:
    return score_all(con, config, run_id=f"run-{at:%d%H}", as_of=at)


def history(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    return con.execute(
        "select score, cause from ops.lead_score_history where lead_id = 'L1' order by scored_at"
    ).fetchall()


def test_each_cause_of_a_score_change_is_recorded(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a VP at a software company, scored on day 1
    make_intermediate(con, [VP])
    run(con, DAY1)
    # WHEN nothing changes and the lead is scored again the same day THEN no history row is added
    run(con, DAY1 + timedelta(hours=2))
    # WHEN a demo request arrives
    make_intermediate(con, [VP], events=[("L1", "demo_request", DAY1 + timedelta(days=1), 1)])
    run(con, DAY1 + timedelta(days=1))
    # WHEN a week passes with no new activity
    run(con, DAY1 + timedelta(days=8))
    # WHEN the person unsubscribes
    make_intermediate(
        con,
        [{**VP, "is_unsubscribed": True}],
        events=[("L1", "demo_request", DAY1 + timedelta(days=1), 1)],
    )
    run(con, DAY1 + timedelta(days=8, hours=1))
    # WHEN the rules change
    stricter = CONFIG.model_copy(update={"mql_threshold": 45})
    run(con, DAY1 + timedelta(days=8, hours=2), stricter)

    rows = history(con)
    # THEN each change is one row with the score and its cause
    assert [cause for _, cause in rows] == [
        "new lead",
        "new activity: demo_request",
        "decay (activity aged)",
        "attributes changed: +unsubscribed",
        rows[-1][1],
    ]
    # (decay is computed at the day's start: 30 * 0.5 ** (6.625 / 7) = 15.6 after the week)
    assert [score for score, _ in rows] == [40, 70, 56, 36, 36]
    assert rows[-1][1].startswith("rules changed (rules-v1+") and " -> rules-v1+" in rows[-1][1]


def test_mql_and_sql_crossings_are_kept_once_with_their_time(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN a lead at 40 (an MQL, not an SQL)
    make_intermediate(con, [VP])
    first = run(con, DAY1)
    assert (first.new_mqls, first.new_sqls) == (1, 0)
    # WHEN a demo request lifts it over the SQL threshold the next day
    make_intermediate(con, [VP], events=[("L1", "demo_request", DAY1 + timedelta(days=1), 1)])
    second = run(con, DAY1 + timedelta(days=1))
    # AND it later drops below both thresholds
    make_intermediate(con, [{**VP, "seniority": "manager"}])
    third = run(con, DAY1 + timedelta(days=30))
    # THEN the first crossing of each threshold stays, with the time it happened
    assert (second.new_mqls, second.new_sqls, third.new_mqls, third.new_sqls) == (0, 1, 0, 0)
    events = con.execute(
        "select event, occurred_at, score from ops.lead_lifecycle_events order by event"
    ).fetchall()
    assert events == [("mql", DAY1, 40), ("sql", DAY1 + timedelta(days=1), 70)]
    current = con.execute("select score, is_mql, is_sql from ops.lead_scores").fetchone()
    assert current == (10, False, False)


def test_stored_factors_add_up_to_the_stored_score(con: duckdb.DuckDBPyConnection) -> None:
    make_intermediate(
        con,
        [VP, {**VP, "lead_id": "L2", "is_unsubscribed": True}],
        events=[("L1", "demo_request", DAY1 - timedelta(days=3), 1)],
    )
    run(con, DAY1)
    for score, factors in con.execute("select score, factors from ops.lead_scores").fetchall():
        assert round(sum(f["points"] for f in json.loads(factors)), 2) == score


@pytest.mark.parametrize(
    ("old", "new", "cause"),
    [
        pytest.param(None, [], "new lead", id="new-lead"),
        pytest.param(
            [{"factor": "demo_request", "group": "intent", "points": 20}],
            [{"factor": "demo_request", "group": "intent", "points": 28}],
            "new activity: demo_request",
            id="stored-before-detail",
        ),
        pytest.param(
            [{"factor": "page_view", "group": "intent", "points": 2, "detail": {"occurrences": 4}}],
            [],
            "decay (activity aged)",
            id="faded-out",
        ),
        pytest.param(
            [{"factor": "senior", "group": "fit", "points": 30}],
            [
                {"factor": "manager", "group": "fit", "points": 10},
                {"factor": "x", "group": "intent", "points": 5, "detail": {"occurrences": 1}},
            ],
            "new activity: x; attributes changed: +manager, -senior",
            id="activity-and-attributes",
        ),
        pytest.param(
            [{"factor": "rounding", "group": "adjustment", "points": 0.2}],
            [{"factor": "rounding", "group": "adjustment", "points": -0.2}],
            "recomputed",
            id="nothing-identifiable",
        ),
    ],
)
def test_change_cause(old: list[dict] | None, new: list[dict], cause: str) -> None:
    assert change_cause(old, "v1", new, "v1") == cause


def test_a_run_rescores_only_the_leads_whose_inputs_changed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    def scored_runs() -> dict[str, str]:
        return dict(con.execute("select lead_id, run_id from ops.lead_scores").fetchall())

    leads = [VP, {"lead_id": "L2", "seniority": "intern", "created_at": DAY1}]
    leads.append({"lead_id": "L3", "industry": "software", "created_at": DAY1})
    # GIVEN three leads scored on day 1
    make_intermediate(con, leads)
    first = run(con, DAY1)
    assert (first.scored, first.rescored) == (3, 3)
    # WHEN the next hour's run finds nothing new THEN no lead is scored again
    quiet = run(con, DAY1 + timedelta(hours=1))
    assert (quiet.scored, quiet.rescored, quiet.changed) == (3, 0, 0)
    # WHEN L2 is promoted, L3 gets a demo request, and L1 is unchanged
    promoted = [VP, {**leads[1], "seniority": "c_level"}, leads[2]]
    demo = [("L3", "demo_request", DAY1 + timedelta(hours=2), 1)]
    make_intermediate(con, promoted, events=demo)
    busy = run(con, DAY1 + timedelta(hours=2))
    # THEN exactly those two are re-scored, with their new scores
    assert (busy.scored, busy.rescored, busy.changed) == (3, 2, 2)
    assert scored_runs() == {"L1": "run-0109", "L2": "run-0111", "L3": "run-0111"}
    # WHEN a day passes (decay moves every score) THEN every lead is re-scored
    assert run(con, DAY1 + timedelta(days=1)).rescored == 3
    # WHEN the rules change THEN every lead is re-scored
    stricter = CONFIG.model_copy(update={"mql_threshold": 45})
    assert run(con, DAY1 + timedelta(days=1, hours=1), stricter).rescored == 3
    # WHEN L3 is merged away THEN its score goes, and nothing else is scored
    make_intermediate(con, promoted[:2], events=demo)
    merged = run(con, DAY1 + timedelta(days=1, hours=2), stricter)
    assert (merged.scored, merged.rescored) == (2, 0)
    assert sorted(scored_runs()) == ["L1", "L2"]


def test_scoring_in_chunks_writes_what_one_chunk_writes(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN five leads, two with a demo request, scored in chunks of two
    leads = [
        {**VP, "lead_id": f"L{n}", "seniority": ("vp", "intern")[n % 2], "created_at": DAY1}
        for n in range(5)
    ]
    events = [("L1", "demo_request", DAY1, 1), ("L4", "demo_request", DAY1, 1)]
    make_intermediate(con, leads, events=events)
    chunked = score_all(con, CONFIG, run_id="r1", as_of=DAY1, chunk_size=2)
    # THEN every lead is scored once, as a single pass writes it
    columns = "lead_id, score, grade, is_mql, factors, reasons, input_fingerprint"
    scores = con.execute(f"select {columns} from ops.lead_scores order by lead_id").fetchall()
    crossings = con.execute("select lead_id, event from ops.lead_lifecycle_events order by all")
    crossed = crossings.fetchall()
    con.execute("delete from ops.lead_scores")
    con.execute("delete from ops.lead_score_history")
    con.execute("delete from ops.lead_lifecycle_events")
    whole = score_all(con, CONFIG, run_id="r1", as_of=DAY1)
    assert (chunked.rescored, chunked.changed, chunked.new_mqls) == (
        whole.rescored,
        whole.changed,
        whole.new_mqls,
    )
    assert chunked.rescored == 5 and crossed
    assert con.execute(f"select {columns} from ops.lead_scores order by lead_id").fetchall() == (
        scores
    )
    assert (
        con.execute("select lead_id, event from ops.lead_lifecycle_events order by all").fetchall()
        == crossed
    )
