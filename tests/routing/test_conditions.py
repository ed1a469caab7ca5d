"""Routing conditions: every operator, all/any groups nesting, eligibility, and config validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from leadflow.config import RoutingConfig, When
from routing.conditions import evaluate, is_eligible

LEAD: dict[str, Any] = {
    "lead_id": "l1",
    "country_code": "US",
    "region": "NA",
    "score": 72,
    "is_mql": True,
    "job_title": "VP Sales",
    "company": None,
    "email": "ann@acme.io",
    "employees": "250",
}


def when(spec: dict[str, Any]) -> When:
    return When.model_validate(spec)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"field": "country_code", "equals": "US"}, True),
        ({"field": "country_code", "equals": "us"}, True),
        ({"field": "country_code", "equals": "CA"}, False),
        ({"field": "is_mql", "equals": True}, True),
        ({"field": "is_mql", "equals": False}, False),
        ({"field": "score", "equals": 72}, True),
        ({"field": "employees", "equals": 250}, True),
        ({"field": "company", "equals": "Acme"}, False),
        ({"field": "region", "in": ["EMEA", "NA"]}, True),
        ({"field": "region", "in": ["EMEA", "APAC"]}, False),
        ({"field": "score", "gte": 70}, True),
        ({"field": "score", "gte": 73}, False),
        ({"field": "score", "lte": 72}, True),
        ({"field": "score", "gte": 50, "lte": 70}, False),
        ({"field": "score", "gte": 50, "lte": 80}, True),
        ({"field": "job_title", "gte": 1}, False),
        ({"field": "company", "gte": 1}, False),
        ({"field": "job_title", "regex": r"\bVP\b"}, True),
        ({"field": "job_title", "regex": r"(?i)^director"}, False),
        ({"field": "company", "exists": False}, True),
        ({"field": "company", "exists": True}, False),
        ({"field": "job_title", "exists": True}, True),
        ({"field": "not_a_field", "exists": False}, True),
    ],
    ids=[
        "equals-str",
        "equals-case-insensitive",
        "equals-str-miss",
        "equals-bool",
        "equals-bool-miss",
        "equals-number",
        "equals-numeric-string",
        "equals-null-never-matches",
        "in-hit",
        "in-miss",
        "gte-hit",
        "gte-miss",
        "lte-inclusive",
        "range-miss",
        "range-hit",
        "range-non-number",
        "range-null",
        "regex-hit",
        "regex-miss",
        "exists-false-on-null",
        "exists-true-on-null",
        "exists-true",
        "exists-false-on-missing-key",
    ],
)
def test_each_operator(spec: dict[str, Any], expected: bool) -> None:
    # GIVEN a condition WHEN it is evaluated on the lead THEN it matches as documented
    ok, why = evaluate(when(spec), LEAD)
    assert ok is expected
    assert why  # every outcome has a reason for the audit


def test_groups_nest_and_say_which_test_decided() -> None:
    # GIVEN any(all(US, score >= 90), all(NA, mql))
    cond = when(
        {
            "any": [
                {"all": [{"field": "country_code", "equals": "US"}, {"field": "score", "gte": 90}]},
                {"all": [{"field": "region", "equals": "NA"}, {"field": "is_mql", "equals": True}]},
            ]
        }
    )
    ok, why = evaluate(cond, LEAD)
    # THEN the second branch matches and the reason names both its tests
    assert ok and "region" in why and "is_mql" in why
    ok, why = evaluate(
        when({"all": [{"field": "region", "equals": "NA"}, {"field": "score", "gte": 90}]}), LEAD
    )
    assert not ok and why.startswith("score")


def test_personal_values_are_not_written_into_the_reason() -> None:
    ok, why = evaluate(when({"field": "email", "regex": "acme"}), LEAD)
    assert ok and "ann@acme.io" not in why and "(set)" in why


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"field": "a"}, "needs one of"),
        ({"field": "a", "equals": 1, "in": [1]}, "takes one operator"),
        ({"field": "a", "regex": "("}, "regex"),
        ({"all": []}, "empty"),
        (
            {"all": [{"field": "a", "exists": True}], "any": [{"field": "a", "exists": True}]},
            "exactly one",
        ),
        ({"equals": 1}, "needs a field"),
    ],
    ids=["no-operator", "two-operators", "bad-regex", "empty-group", "two-groups", "no-field"],
)
def test_malformed_conditions_are_config_errors(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        when(spec)


def test_eligibility_defaults_to_every_lead_and_follows_the_condition() -> None:
    assert is_eligible(LEAD, RoutingConfig())
    config = RoutingConfig.model_validate(
        {
            "eligible": {
                "any": [
                    {"field": "is_mql", "equals": True},
                    {"field": "crm_owner_id", "exists": True},
                ]
            }
        }
    )
    assert is_eligible(LEAD, config)
    assert not is_eligible({**LEAD, "is_mql": False}, config)
    assert is_eligible({**LEAD, "is_mql": False, "crm_owner_id": "7"}, config)
