"""The assignment engine: sticky owner, territory pools with round robin, fallback, audit."""

from __future__ import annotations

from leadflow.config import RoutingConfig
from routing.engine import Owner, Roster, decide

CONFIG = RoutingConfig.model_validate(
    {
        "territories": [
            {"name": "north-america", "countries": ["US", "CA"], "pool": "na"},
            {"name": "emea", "regions": ["EMEA"], "pool": "emea"},
        ],
        "pools": {"na": ["a@s.io", "b@s.io", "c@s.io"], "emea": ["d@s.io", "gone@s.io"]},
        "fallback_owner": "e@s.io",
    }
)
ROSTER = Roster(
    [
        Owner("1", "a@s.io"),
        Owner("2", "b@s.io"),
        Owner("3", "c@s.io"),
        Owner("4", "d@s.io"),
        Owner("5", "e@s.io"),
        Owner("9", "gone@s.io", active=False),
    ]
)


def test_an_existing_active_crm_owner_is_kept() -> None:
    decision = decide(
        {"lead_id": "l1", "crm_owner_id": "3", "country_code": "US"}, CONFIG, ROSTER, {}
    )
    assert (decision.rule, decision.owner.id) == ("existing_owner", "3")


def test_round_robin_takes_turns_and_the_pointer_persists() -> None:
    pointers: dict[str, int] = {}
    owners = [
        decide({"lead_id": f"l{i}", "country_code": "US"}, CONFIG, ROSTER, pointers).owner.email
        for i in range(4)
    ]
    assert owners == ["a@s.io", "b@s.io", "c@s.io", "a@s.io"]
    assert pointers == {"na": 1}


def test_an_inactive_rep_is_skipped_and_the_skip_recorded() -> None:
    pointers = {"emea": 1}  # gone@s.io's turn
    decision = decide(
        {"lead_id": "l1", "country_code": "DE", "region": "EMEA"}, CONFIG, ROSTER, pointers
    )
    assert decision.owner.email == "d@s.io"
    assert decision.evaluated[-1]["skipped"] == [
        {"rep": "gone@s.io", "why": "not an active CRM owner"}
    ]
    assert decision.rule == "territory:emea" and "region EMEA" in decision.reason


def test_no_territory_goes_to_the_fallback_owner() -> None:
    decision = decide({"lead_id": "l1", "country_code": "JP", "region": "APAC"}, CONFIG, ROSTER, {})
    assert (decision.rule, decision.owner.email) == ("fallback", "e@s.io")
    assert [step["rule"] for step in decision.evaluated] == [
        "existing_owner",
        "territory:north-america",
        "territory:emea",
        "fallback",
    ]


def test_without_a_fallback_the_lead_stays_unassigned_with_a_reason() -> None:
    config = CONFIG.model_copy(update={"fallback_owner": None})
    decision = decide({"lead_id": "l1"}, config, ROSTER, {})
    assert decision.owner is None and decision.rule == "unassigned"
