"""bench/scale.py's bookkeeping: the issue-10 targets judged against the measurements, and the
issue's stages summed from the harness's steps. (The timings themselves live in bench/.)"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import scale


def measured(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "leads": 1_000_000,
        "full_s": 580.0,
        "full_peak_rss_mb": 3900.0,
        "incremental_s": 20.0,
        "noop_s": 12.0,
        "noop_pushed": 0,
        "push_efficiency": 0.93,
        "push_429s": 0,
    }
    return {**base, **overrides}


def test_every_target_met_at_a_million() -> None:
    # GIVEN measurements inside every target, WHEN judged, THEN each says met
    verdict = scale.judge(measured())
    assert {name: v["met"] for name, v in verdict.items() if name != "note"} == {
        "full_s": True,
        "full_peak_rss_mb": True,
        "incremental_share_of_full": True,
        "noop_s": True,
        "noop_pushed": True,
        "push_efficiency": True,
        "push_429s": True,
    }
    assert verdict["incremental_share_of_full"]["measured"] == pytest.approx(20 / 580, abs=1e-4)


@pytest.mark.parametrize(
    ("overrides", "missed"),
    [
        pytest.param({"full_s": 601.0}, "full_s", id="full-run-too-slow"),
        pytest.param({"full_peak_rss_mb": 4097.0}, "full_peak_rss_mb", id="too-much-memory"),
        pytest.param({"incremental_s": 30.0}, "incremental_share_of_full", id="incremental-6pct"),
        pytest.param({"noop_s": 31.0}, "noop_s", id="noop-too-slow"),
        pytest.param({"noop_pushed": 1}, "noop_pushed", id="noop-pushed-one"),
        pytest.param({"push_efficiency": 0.89}, "push_efficiency", id="push-under-0.9"),
        pytest.param({"push_429s": 2}, "push_429s", id="push-met-429s"),
    ],
)
def test_one_missed_target_is_the_only_one_not_met(overrides: dict[str, Any], missed: str) -> None:
    verdict = scale.judge(measured(**overrides))
    assert [name for name, v in verdict.items() if name != "note" and not v["met"]] == [missed]


def test_a_run_that_did_not_finish_is_neither_met_nor_missed() -> None:
    # GIVEN a stopped incremental run and a push too short for a full window
    verdict = scale.judge(measured(incremental_s=None, push_efficiency=None))
    # THEN those targets are unknown (None), not passed or failed
    assert verdict["incremental_share_of_full"]["met"] is None
    assert verdict["push_efficiency"]["met"] is None
    assert verdict["full_s"]["met"] is True


def test_stages_sum_the_harness_steps() -> None:
    run = {
        "stages_s": {
            "pull_hubspot": 10.0,
            "pull_meta": 2.0,
            "pull_typeform": 1.5,
            "validate_enrich": 3.0,
            "dedupe": 4.0,
            "enrich_firmographics": 0.5,
            "dbt_prepare": 12.0,
            "score": 2.0,
            "route": 1.0,
            "dbt_publish": 6.0,
            "push": 9.0,
        }
    }
    assert scale.by_stage(run) == {
        "pull": 13.5,
        "validate_stage": 3.0,
        "enrich": 0.5,
        "dedupe_identity": 4.0,
        "dbt": 18.0,
        "score": 2.0,
        "route": 1.0,
        "push": 9.0,
    }
    assert scale.by_stage({"completed": False}) is None


@pytest.mark.parametrize(
    ("now", "expected", "shift"),
    [
        # four runs an hour apart from 10:40 end at 13:40: as they are
        (datetime(2026, 12, 4, 10, 40), datetime(2026, 12, 4, 10, 40), 0),
        (datetime(2026, 12, 4, 20, 59), datetime(2026, 12, 4, 20, 59), 0),
        # from 21:40 the no-op run would fall at 00:40 on a new day (every lead re-scored): all
        # four start 3 h later, on the next date
        (datetime(2026, 12, 4, 21, 40), datetime(2026, 12, 5, 0, 40), 3),
        (datetime(2026, 12, 4, 23, 59), datetime(2026, 12, 5, 0, 59), 1),
    ],
)
def test_the_runs_fall_on_one_utc_date(now: datetime, expected: datetime, shift: int) -> None:
    first, hours = scale.one_utc_date(now, 4)
    assert (first, hours) == (expected, shift)
    assert first.date() == (first + timedelta(hours=3)).date()
