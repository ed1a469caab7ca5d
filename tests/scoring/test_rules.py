"""Rules scoring: caps, floor, decay, bands, MQL threshold and explanations."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from leadflow.config import Condition, ScoringConfig
from scoring.rules import Event, decayed, matches, score_lead, scoring_moment

NOW = datetime(2026, 6, 1)

CONFIG = ScoringConfig.model_validate(
    {
        "fit": {
            "cap": 60,
            "rules": [
                {
                    "name": "business_email",
                    "when": {"field": "is_free_email", "equals": False},
                    "points": 10,
                },
                {
                    "name": "senior_title",
                    "when": {"field": "job_title", "matches": "(?i)\\b(vp|head|chief)\\b"},
                    "points": 30,
                },
                {
                    "name": "icp_country",
                    "when": {"field": "country_code", "in": ["US", "GB"]},
                    "points": 30,
                },
            ],
        },
        "intent": {
            "cap": 40,
            "events": [
                {"event": "demo_request", "points": 30, "half_life_days": 10},
                {"event": "page_view", "points": 1, "half_life_days": 7, "max_occurrences": 20},
            ],
        },
        "negative": {
            "cap": 30,
            "rules": [
                {
                    "name": "free_email",
                    "when": {"field": "is_free_email", "equals": True},
                    "points": -20,
                },
                {
                    "name": "student",
                    "when": {"field": "job_title", "matches": "(?i)student"},
                    "points": -25,
                },
            ],
        },
        "mql_threshold": 60,
    }
)


def test_fit_is_capped_and_factors_explain_the_score() -> None:
    lead = {"is_free_email": False, "job_title": "VP Sales", "country_code": "US"}
    result = score_lead(lead, [], CONFIG, NOW)
    assert result.fit_score == 60  # 70 points, capped
    assert result.score == 60 and result.is_mql
    assert [f.factor for f in result.factors][:2] == ["icp_country", "senior_title"]
    assert "+30 senior_title" in result.reasons()


def test_score_has_a_floor_at_zero() -> None:
    lead = {"is_free_email": True, "job_title": "Student"}
    result = score_lead(lead, [], CONFIG, NOW)
    assert result.negative_score == -30  # -45 floored at the group cap
    assert result.score == 0 and result.grade == "E"


def test_intent_decays_with_its_half_life() -> None:
    fresh = score_lead({}, [Event("demo_request", NOW)], CONFIG, NOW)
    old = score_lead({}, [Event("demo_request", NOW - timedelta(days=10))], CONFIG, NOW)
    older = score_lead({}, [Event("demo_request", NOW - timedelta(days=20))], CONFIG, NOW)
    assert (fresh.intent_score, old.intent_score, older.intent_score) == (30, 15, 8)


def test_event_quantity_is_capped_by_max_occurrences() -> None:
    result = score_lead({}, [Event("page_view", NOW, quantity=500)], CONFIG, NOW)
    assert result.intent_score == 20


def test_temperature_follows_intent_and_grade_follows_score() -> None:
    lead = {"is_free_email": False, "job_title": "Head of Growth", "country_code": "GB"}
    hot = score_lead(lead, [Event("demo_request", NOW), Event("page_view", NOW, 10)], CONFIG, NOW)
    assert hot.temperature == "hot" and hot.grade == "A" and hot.score == 100


def test_decay_resolution_keeps_a_day_stable() -> None:
    morning = scoring_moment(datetime(2026, 6, 1, 8, 30), "day")
    evening = scoring_moment(datetime(2026, 6, 1, 22, 5), "day")
    assert morning == evening == datetime(2026, 6, 1)
    assert decayed(10, timedelta(days=-1), 5) == 10  # an event after the moment does not grow


@pytest.mark.parametrize(
    ("condition", "lead", "expected"),
    [
        ({"field": "x", "exists": True}, {"x": ""}, False),
        ({"field": "x", "exists": False}, {}, True),
        ({"field": "x", "equals": "abc"}, {"x": "ABC"}, True),
        ({"field": "x", "in": ["us"]}, {"x": "US"}, True),
        ({"field": "x", "gte": 10, "lte": 20}, {"x": "15"}, True),
        ({"field": "x", "gte": 10}, {"x": "n/a"}, False),
        ({"field": "x", "matches": "^a"}, {"x": None}, False),
    ],
)
def test_conditions(condition: dict, lead: dict, expected: bool) -> None:
    assert matches(Condition.model_validate(condition), lead) is expected


def test_reasons_are_short_and_readable() -> None:
    result = score_lead({}, [Event("demo_request", NOW - timedelta(days=3))], CONFIG, NOW)
    assert result.reasons() == "+24.4 demo_request"
