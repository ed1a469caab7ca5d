"""Rules scoring: caps, floor, decay, bands, MQL threshold and explanations."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.config import Condition, ScoringConfig
from scoring.rules import (
    REASONS_MAX_CHARS,
    Event,
    LeadScore,
    decayed,
    matches,
    score_lead,
    scoring_moment,
)

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


# --------------------------------------------------------------------------- condition types


@pytest.mark.parametrize(
    ("condition", "lead", "expected"),
    [
        pytest.param(
            {"field": "x", "not_in": ["us", "ca"]}, {"x": "DE"}, True, id="not_in-outside"
        ),
        pytest.param({"field": "x", "not_in": ["us"]}, {"x": "US"}, False, id="not_in-inside"),
        pytest.param({"field": "x", "not_in": ["us"]}, {}, False, id="not_in-missing-is-unknown"),
        pytest.param(
            {"field": "tech", "contains": "HubSpot"},
            {"tech": ["salesforce", "hubspot"]},
            True,
            id="contains-list-item",
        ),
        pytest.param(
            {"field": "tech", "contains": "hub"},
            {"tech": ["hubspot"]},
            False,
            id="contains-list-is-whole-item",
        ),
        pytest.param(
            {"field": "tech", "contains": "spot"}, {"tech": "HubSpot CRM"}, True, id="contains-text"
        ),
        pytest.param(
            {"field": "tech", "exists": True}, {"tech": []}, False, id="empty-list-absent"
        ),
        pytest.param({"field": "x", "gte": 1}, {"x": float("nan")}, False, id="nan-is-missing"),
        pytest.param(
            {"all": [{"field": "a", "equals": 1}, {"field": "b", "in": ["x"]}]},
            {"a": 1, "b": "X"},
            True,
            id="all-pass",
        ),
        pytest.param(
            {"all": [{"field": "a", "equals": 1}, {"field": "b", "in": ["x"]}]},
            {"a": 1, "b": "y"},
            False,
            id="all-one-fails",
        ),
        pytest.param(
            {"any": [{"field": "a", "equals": 1}, {"all": [{"field": "b", "exists": True}]}]},
            {"a": 2, "b": "y"},
            True,
            id="any-nested-group",
        ),
        pytest.param(
            {"any": [{"field": "a", "equals": 1}, {"field": "b", "exists": True}]},
            {"a": 2},
            False,
            id="any-none-pass",
        ),
    ],
)
def test_condition_operators(condition: dict, lead: dict, expected: bool) -> None:
    # GIVEN a condition from config WHEN a lead is tested THEN it passes exactly when it should
    assert matches(Condition.model_validate(condition), lead) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        pytest.param({"field": "x"}, "needs one of", id="no-operator"),
        pytest.param({"field": "x", "in": ["a"], "not_in": ["b"]}, "one operator", id="two-ops"),
        pytest.param({"in": ["a"]}, "needs a field", id="no-field"),
        pytest.param({"all": [], "field": "x"}, "alone", id="group-with-field"),
        pytest.param({"any": []}, "at least one", id="empty-group"),
        pytest.param({"field": "x", "matches": "("}, "regular expression", id="bad-regex"),
    ],
)
def test_bad_conditions_are_config_errors(condition: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Condition.model_validate(condition)


def test_competitor_domain_is_derived_from_the_config_list() -> None:
    # GIVEN competitor domains in config and a negative rule on the derived field
    config = ScoringConfig.model_validate(
        {
            "competitor_domains": ["rival.example"],
            "negative": {
                "cap": 50,
                "rules": [
                    {
                        "name": "competitor",
                        "when": {"field": "is_competitor_domain", "equals": True},
                        "points": -50,
                    }
                ],
            },
        }
    )
    # WHEN leads from the competitor, a subdomain of it, a look-alike and no domain are scored
    scores = {
        domain: [
            f
            for f in score_lead({"email_domain": domain}, [], config, NOW).factors
            if f.group != "adjustment"
        ]
        for domain in ("rival.example", "eu.rival.example", "notrival.example", None)
    }
    # THEN only the competitor and its subdomain get the negative factor
    assert [f.factor for f in scores["rival.example"]] == ["competitor"]
    assert [f.factor for f in scores["eu.rival.example"]] == ["competitor"]
    assert scores["notrival.example"] == [] and scores[None] == []


# --------------------------------------------------------------------------- decay


@pytest.mark.parametrize(
    ("age_days", "expected"),
    [
        pytest.param(0, 30.0, id="fresh"),
        pytest.param(10, 15.0, id="one-half-life"),
        pytest.param(20, 7.5, id="two-half-lives"),
        pytest.param(5, 30 * 0.5**0.5, id="half-a-half-life"),
    ],
)
def test_half_life_is_exact(age_days: float, expected: float) -> None:
    result = score_lead({}, [Event("demo_request", NOW - timedelta(days=age_days))], CONFIG, NOW)
    (factor,) = [f for f in result.factors if f.group == "intent"]
    assert factor.points == pytest.approx(expected, abs=1e-12)
    assert factor.detail["after_decay"] == round(expected, 2)
    assert factor.detail["before_decay"] == 30


def test_max_occurrences_keeps_the_newest_and_says_how_many_counted() -> None:
    # GIVEN 25 page views at different ages, 20 counted at most
    events = [Event("page_view", NOW - timedelta(days=d)) for d in range(25)]
    result = score_lead({}, events, CONFIG, NOW)
    (factor,) = [f for f in result.factors if f.factor == "page_view"]
    # THEN the 20 newest count, and the detail tells the whole story
    assert factor.points == pytest.approx(sum(0.5 ** (d / 7) for d in range(20)))
    assert factor.detail["occurrences"] == 25 and factor.detail["counted"] == 20
    assert factor.detail["last_at"] == NOW.isoformat()


def test_faded_activity_is_neither_counted_nor_listed() -> None:
    result = score_lead({}, [Event("page_view", NOW - timedelta(days=70))], CONFIG, NOW)
    assert result.intent_score == 0 and result.factors == []


# --------------------------------------------------------------------------- arithmetic


def _points(result: LeadScore) -> dict[str, float]:
    return {f.factor: f.as_dict()["points"] for f in result.factors}


def test_a_group_cap_is_an_adjustment_that_closes_the_sum() -> None:
    lead = {"is_free_email": False, "job_title": "VP Sales", "country_code": "US"}
    result = score_lead(lead, [], CONFIG, NOW)
    assert _points(result) == {
        "senior_title": 30,
        "icp_country": 30,
        "business_email": 10,
        "fit capped at 60": -10,
    }
    assert sum(_points(result).values()) == result.score == 60


def test_the_negative_floor_and_the_zero_clamp_are_adjustments() -> None:
    # GIVEN -45 of negatives (floored at -30) and nothing positive
    result = score_lead({"is_free_email": True, "job_title": "Student"}, [], CONFIG, NOW)
    # THEN the floor gives back 15 and the clamp the remaining 30
    assert _points(result) == {
        "student": -25,
        "free_email": -20,
        "negatives floored at -30": 15,
        "score clamped to 0": 30,
    }
    assert result.score == 0


def test_rounding_is_listed_so_the_points_add_up() -> None:
    result = score_lead({}, [Event("demo_request", NOW - timedelta(days=3))], CONFIG, NOW)
    points = _points(result)
    assert points["demo_request"] == 24.37
    assert points["rounding"] == -0.37
    assert result.score == 24


@given(
    lead=st.fixed_dictionaries(
        {
            "is_free_email": st.sampled_from([True, False, None]),
            "job_title": st.sampled_from(["VP Sales", "Student", "Head of Data", "", None]),
            "country_code": st.sampled_from(["US", "GB", "FR", None]),
        }
    ),
    ages=st.lists(
        st.tuples(
            st.sampled_from(["demo_request", "page_view"]), st.floats(0, 120), st.floats(0.1, 40)
        ),
        max_size=12,
    ),
)
@settings(max_examples=300, deadline=None)
def test_factors_always_add_up_to_the_score(lead: dict, ages: list) -> None:
    # GIVEN any lead and any activity WHEN it is scored
    events = [Event(name, NOW - timedelta(days=age), quantity) for name, age, quantity in ages]
    result = score_lead(lead, events, CONFIG, NOW)
    # THEN the stored two-decimal points add up exactly to the integer score, within 0..100
    total = sum(Decimal(str(f.as_dict()["points"])) for f in result.factors)
    assert total == Decimal(result.score)
    assert 0 <= result.score <= 100


# --------------------------------------------------------------------------- thresholds


def test_mql_and_sql_thresholds() -> None:
    config = CONFIG.model_copy(update={"mql_threshold": 40, "sql_threshold": 60})
    lead = {"is_free_email": False, "job_title": "VP Sales", "country_code": "US"}
    assert (score_lead(lead, [], config, NOW).is_mql, score_lead(lead, [], config, NOW).is_sql) == (
        True,
        True,
    )
    lower = score_lead({"is_free_email": False, "job_title": "VP"}, [], config, NOW)
    assert lower.score == 40 and lower.is_mql and not lower.is_sql
    assert not score_lead(lead, [], CONFIG, NOW).is_sql  # no sql_threshold: never an SQL


def test_sql_threshold_below_mql_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match=r"sql_threshold .* must be >= mql_threshold"):
        ScoringConfig.model_validate({"mql_threshold": 60, "sql_threshold": 50})


@pytest.mark.parametrize(
    ("score_points", "grade"),
    [(100, "A"), (80, "A"), (79, "B"), (60, "B"), (40, "C"), (20, "D"), (19, "E"), (0, "E")],
)
def test_grade_bands_use_lower_bounds(score_points: int, grade: str) -> None:
    config = ScoringConfig.model_validate(
        {
            "fit": {
                "cap": 100,
                "rules": [
                    {"name": "p", "when": {"field": "p", "exists": True}, "points": score_points}
                ],
            }
        }
    )
    assert score_lead({"p": 1}, [], config, NOW).grade == grade


# --------------------------------------------------------------------------- reasons


def test_reasons_name_top_positives_then_negatives_without_adjustments() -> None:
    lead = {"is_free_email": True, "job_title": "VP Sales", "country_code": "US"}
    result = score_lead(lead, [Event("demo_request", NOW)], CONFIG, NOW)
    assert result.reasons() == (
        "+30 demo_request; +30 icp_country; +30 senior_title; -20 free_email"
    )


def test_reasons_stay_short_however_many_factors() -> None:
    rules = [
        {"name": f"rule_{i:03d}_" + "x" * 40, "when": {"field": "p", "exists": True}, "points": 1}
        for i in range(60)
    ]
    config = ScoringConfig.model_validate({"fit": {"cap": 60, "rules": rules}, "top_factors": 20})
    text = score_lead({"p": 1}, [], config, NOW).reasons()
    assert len(text) <= REASONS_MAX_CHARS and text.endswith("…")
