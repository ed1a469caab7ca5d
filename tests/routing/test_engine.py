"""The rules engine as a pure function: actions, strategies, skills, availability, caps, audit."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from leadflow.config import RoutingConfig
from routing.engine import Engine, Owner, Roster, RoutingState, decide

# Wednesday 3 June 2026, 14:00 UTC (10:00 in New York, 16:00 in Berlin).
AT = datetime(2026, 6, 3, 14, 0)
OWNERS = [
    Owner("1", "a@s.io"),
    Owner("2", "b@s.io"),
    Owner("3", "c@s.io"),
    Owner("4", "d@s.io"),
    Owner("5", "e@s.io"),
    Owner("9", "gone@s.io", active=False),
]


def config(**routing: Any) -> RoutingConfig:
    base: dict[str, Any] = {
        "rules": [
            {"name": "existing_owner", "sticky": True},
            {"name": "na", "when": {"field": "region", "equals": "NA"}, "pool": "na"},
        ],
        "pools": {"na": ["a@s.io", "b@s.io", "c@s.io"]},
        "fallback_owner": "e@s.io",
    }
    base.update(routing)
    return RoutingConfig.model_validate(base)


def state() -> RoutingState:
    return RoutingState(roster=Roster(OWNERS))


def lead(n: int = 1, **fields: Any) -> dict[str, Any]:
    return {"lead_id": f"l{n}", "region": "NA", "crm_owner_id": None, **fields}


# ---------------------------------------------------------------------------------- actions


def test_sticky_keeps_an_active_crm_owner() -> None:
    d = decide(lead(crm_owner_id="3"), config(), state(), AT)
    assert (d.outcome, d.rule, d.action, d.owner and d.owner.id) == (
        "kept",
        "existing_owner",
        "sticky",
        "3",
    )


@pytest.mark.parametrize(
    ("owner_id", "why"),
    [(None, "no CRM owner"), ("9", "not an active owner"), ("77", "unknown")],
    ids=["no-owner", "archived-owner", "unknown-owner"],
)
def test_sticky_without_an_active_owner_falls_through_to_the_next_rule(
    owner_id: str | None, why: str
) -> None:
    d = decide(lead(crm_owner_id=owner_id), config(), state(), AT)
    assert d.rule == "na" and d.owner is not None
    assert why in d.evaluated[0]["outcome"]


def test_account_owner_is_the_crm_owner_of_another_lead_at_the_same_domain() -> None:
    cfg = config(rules=[{"name": "account", "account_owner": True}], fallback_owner=None)
    st = state()
    st.accounts = {"acme.io": [("l1", "2"), ("l0", "4")]}
    # GIVEN l1 is itself the newest lead at acme.io THEN the other lead's owner is used
    d = decide(lead(1, email_domain="acme.io", is_free_email=False), cfg, st, AT)
    assert (d.outcome, d.action, d.owner and d.owner.id) == ("assigned", "account_owner", "4")
    assert "lead l0" in d.reason
    d = decide(lead(2, email_domain="ACME.io", is_free_email=False), cfg, st, AT)
    assert d.owner is not None and d.owner.id == "2"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"email_domain": "gmail.com", "is_free_email": True}, "free email"),
        ({"email_domain": "other.io", "is_free_email": False}, "no other lead"),
        ({"email_domain": None}, "no email domain"),
    ],
    ids=["free-email", "no-other-lead", "no-domain"],
)
def test_no_account_owner_falls_through(fields: dict[str, Any], why: str) -> None:
    cfg = config(rules=[{"name": "account", "account_owner": True}], fallback_owner=None)
    st = state()
    st.accounts = {"gmail.com": [("x", "2")]}
    d = decide(lead(**fields), cfg, st, AT)
    assert d.outcome == "unassigned" and why in d.evaluated[0]["outcome"]


def test_a_named_rep_takes_the_lead() -> None:
    cfg = config(rules=[{"name": "vip", "when": {"field": "score", "gte": 90}, "rep": "d@s.io"}])
    d = decide(lead(score=95), cfg, state(), AT)
    assert (d.rule, d.action, d.owner and d.owner.email) == ("vip", "rep", "d@s.io")
    assert decide(lead(score=50), cfg, state(), AT).rule == "fallback"


def test_a_capped_named_rep_is_skipped_and_the_next_rule_decides() -> None:
    cfg = config(
        rules=[
            {"name": "vip", "rep": "d@s.io"},
            {"name": "na", "pool": "na"},
        ],
        reps={"d@s.io": {"caps": {"per_day": 1}}},
    )
    st = state()
    first, second = (decide(lead(n), cfg, st, AT) for n in (1, 2))
    assert first.owner is not None and first.owner.email == "d@s.io"
    assert second.rule == "na"
    assert second.skipped == [{"rep": "d@s.io", "why": "cap per_day reached (1/1)", "rule": "vip"}]


def test_a_queue_leaves_the_lead_unassigned_in_a_named_queue() -> None:
    cfg = config(
        rules=[
            {
                "name": "students",
                "when": {"field": "job_title", "regex": "(?i)student"},
                "queue": "review",
            }
        ]
    )
    d = decide(lead(job_title="Student"), cfg, state(), AT)
    assert (d.outcome, d.queue, d.owner) == ("queued", "review", None)
    assert "queue review" in d.reason


def test_no_rule_goes_to_the_fallback_and_without_one_stays_unassigned() -> None:
    d = decide(lead(region="APAC"), config(), state(), AT)
    assert (d.rule, d.action, d.owner and d.owner.email) == ("fallback", "fallback", "e@s.io")
    assert [s["rule"] for s in d.evaluated] == ["existing_owner", "na", "fallback"]
    d = decide(lead(region="APAC"), config(fallback_owner=None), state(), AT)
    assert (d.outcome, d.owner) == ("unassigned", None)
    assert "no fallback owner" in d.reason


# ---------------------------------------------------------------------------------- strategies


def test_round_robin_takes_turns_and_audits_the_state() -> None:
    st = state()
    engine = Engine(config())
    decisions = [engine.decide(lead(n), st, AT) for n in range(4)]
    assert [d.owner.email for d in decisions if d.owner] == ["a@s.io", "b@s.io", "c@s.io", "a@s.io"]
    assert st.pools["na"].turns == 4
    first = decisions[0]
    assert first.candidates == ["a@s.io", "b@s.io", "c@s.io"]
    assert first.strategy_before == {"turns": 0, "current": [0.0, 0.0, 0.0]}
    assert first.strategy_after == {"turns": 1, "current": [-2.0, 1.0, 1.0]}


def test_weighted_round_robin_interleaves_and_hits_the_weights_exactly() -> None:
    # GIVEN weights 3 : 1 : 1
    cfg = config(reps={"a@s.io": {"weight": 3}})
    st = state()
    engine = Engine(cfg)
    owners = [engine.decide(lead(n), st, AT).owner for n in range(500)]
    emails = [o.email for o in owners if o]
    # THEN every window of 5 turns holds exactly 3 a, 1 b, 1 c, and a never runs 3 times in a row
    assert Counter(emails) == {"a@s.io": 300, "b@s.io": 100, "c@s.io": 100}
    assert Counter(emails[:5]) == {"a@s.io": 3, "b@s.io": 1, "c@s.io": 1}
    assert "a@s.io,a@s.io,a@s.io" not in ",".join(emails)


def test_fewest_gives_the_lead_to_the_rep_with_fewest_this_period() -> None:
    cfg = config(
        pools={
            "na": {"reps": ["a@s.io", "b@s.io", "c@s.io"], "strategy": "fewest", "period": "day"}
        }
    )
    st = state()
    st.workload.add("1", AT - timedelta(hours=2), counted=True)
    st.workload.add("1", AT - timedelta(hours=1), counted=True)
    st.workload.add("2", AT - timedelta(hours=1), counted=True)
    st.workload.add("3", AT - timedelta(days=1), counted=True)  # yesterday: not this period
    d = decide(lead(), cfg, st, AT)
    assert d.owner is not None and d.owner.email == "c@s.io"
    assert d.strategy_before == {"period": "day", "counts": [2, 1, 0]}
    assert d.strategy_after == {"period": "day", "counts": [2, 1, 1]}
    assert "fewest leads this day" in d.reason


@pytest.mark.parametrize("period", ["week", "month"])
def test_fewest_counts_over_the_configured_period(period: str) -> None:
    cfg = config(
        pools={"na": {"reps": ["a@s.io", "b@s.io"], "strategy": "fewest", "period": period}}
    )
    st = state()
    st.workload.add("1", AT - timedelta(days=1), counted=True)  # this week and month, not today
    d = decide(lead(), cfg, st, AT)
    assert d.owner is not None and d.owner.email == "b@s.io"


def test_fewest_divides_by_weight() -> None:
    cfg = config(
        pools={"na": {"reps": ["a@s.io", "b@s.io"], "strategy": "fewest"}},
        reps={"a@s.io": {"weight": 2}},
    )
    st = state()
    engine = Engine(cfg)
    emails = [engine.decide(lead(n), st, AT).owner.email for n in range(30)]  # type: ignore[union-attr]
    assert Counter(emails) == {"a@s.io": 20, "b@s.io": 10}


# ---------------------------------------------------------------------------------- skills


def test_skills_filter_the_pool_by_lead_field() -> None:
    cfg = config(
        pools={"na": {"reps": ["a@s.io", "b@s.io", "c@s.io"], "skills": {"language": "language"}}},
        reps={
            "b@s.io": {"skills": {"language": ["en", "DE"]}},
            "c@s.io": {"skills": {"language": ["de"]}},
        },
    )
    st = state()
    engine = Engine(cfg)
    german = [engine.decide(lead(n, language="de"), st, AT) for n in range(4)]
    assert [d.owner.email for d in german if d.owner] == ["b@s.io", "c@s.io", "b@s.io", "c@s.io"]
    assert german[0].skipped == [{"rep": "a@s.io", "why": "lacks skill language=de", "rule": "na"}]
    # a lead that does not say its language can go to anyone
    d = engine.decide(lead(9, language=None), st, AT)
    assert d.skipped == []


# ---------------------------------------------------------------------------------- availability


@pytest.mark.parametrize(
    ("availability", "why"),
    [
        ({"timezone": "Asia/Tokyo"}, "outside working hours"),
        (
            {"out_of_office": [{"start": "2026-06-01", "end": "2026-06-05"}]},
            "out of office until 2026-06-05",
        ),
        ({"holidays": ["2026-06-03"]}, "holiday 2026-06-03"),
        ({"paused": True}, "paused"),
    ],
    ids=["outside-hours", "out-of-office", "holiday", "paused"],
)
def test_an_unavailable_rep_is_skipped_with_the_reason(
    availability: dict[str, Any], why: str
) -> None:
    cfg = config(reps={"a@s.io": {"availability": availability}})
    d = decide(lead(), cfg, state(), AT)
    assert d.owner is not None and d.owner.email == "b@s.io"
    assert d.skipped[0]["rep"] == "a@s.io" and why in d.skipped[0]["why"]


def test_a_rep_within_working_hours_in_their_zone_is_available() -> None:
    cfg = config(reps={"a@s.io": {"availability": {"timezone": "America/New_York"}}})
    d = decide(lead(), cfg, state(), AT)
    assert d.owner is not None and d.owner.email == "a@s.io" and d.skipped == []


def test_an_archived_pool_rep_is_skipped() -> None:
    cfg = config(pools={"na": ["gone@s.io", "b@s.io"]})
    d = decide(lead(), cfg, state(), AT)
    assert d.owner is not None and d.owner.email == "b@s.io"
    assert d.skipped == [
        {"rep": "gone@s.io", "why": "not an active CRM owner (archived)", "rule": "na"}
    ]


# ---------------------------------------------------------------------------------- caps


@pytest.mark.parametrize(
    ("cap", "earlier", "why"),
    [
        ("per_hour", timedelta(0), "cap per_hour reached (2/2)"),
        ("per_day", timedelta(hours=10), "cap per_day reached (2/2)"),
        ("per_week", timedelta(days=2), "cap per_week reached (2/2)"),
        ("per_month", timedelta(days=2), "cap per_month reached (2/2)"),
        ("open", timedelta(days=90), "open-lead cap reached (2/2)"),
    ],
    ids=["hour", "day", "week", "month", "open"],
)
def test_a_rep_at_a_cap_is_skipped(cap: str, earlier: timedelta, why: str) -> None:
    # GIVEN a holds two leads assigned `earlier` ago and a cap of 2
    cfg = config(reps={"a@s.io": {"caps": {cap: 2}}})
    st = state()
    for _ in range(2):
        st.workload.add("1", AT - earlier, counted=True)
    d = decide(lead(), cfg, st, AT)
    assert d.owner is not None and d.owner.email == "b@s.io"
    assert d.skipped == [{"rep": "a@s.io", "why": why, "rule": "na"}]


@pytest.mark.parametrize(
    ("cap", "earlier"),
    [
        ("per_hour", timedelta(minutes=1)),  # 13:59: the previous calendar hour
        ("per_day", timedelta(hours=15)),
        ("per_week", timedelta(days=3)),  # Sunday: last week
        ("per_month", timedelta(days=3)),  # 31 May: last month
    ],
    ids=["hour", "day", "week", "month"],
)
def test_a_cap_resets_with_its_period(cap: str, earlier: timedelta) -> None:
    cfg = config(reps={"a@s.io": {"caps": {cap: 2}}})
    st = state()
    for _ in range(2):
        st.workload.add("1", AT - earlier, counted=True)
    d = decide(lead(), cfg, st, AT)
    assert d.owner is not None and d.owner.email == "a@s.io"


def test_a_day_cap_counts_the_day_in_the_reps_time_zone() -> None:
    # GIVEN a Tokyo rep working around the clock with a day cap of 1 and a lead at 23:30 UTC
    # yesterday, which was 08:30 today in Tokyo
    cfg = config(
        reps={
            "a@s.io": {
                "caps": {"per_day": 1},
                "availability": {
                    "timezone": "Asia/Tokyo",
                    "working_hours": {
                        d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri")
                    },
                },
            }
        }
    )
    st = state()
    st.workload.add("1", datetime(2026, 6, 2, 23, 30), counted=True)
    d = decide(lead(), cfg, st, datetime(2026, 6, 3, 1, 0))
    assert d.skipped and d.skipped[0]["why"] == "cap per_day reached (1/1)"


def test_assignments_count_towards_caps_within_a_batch() -> None:
    cfg = config(reps={r: {"caps": {"per_hour": 2}} for r in ("a@s.io", "b@s.io", "c@s.io")})
    st = state()
    engine = Engine(cfg)
    decisions = [engine.decide(lead(n), st, AT) for n in range(8)]
    pooled = Counter(d.owner.email for d in decisions if d.rule == "na" and d.owner)
    assert pooled == {"a@s.io": 2, "b@s.io": 2, "c@s.io": 2}
    assert [d.rule for d in decisions[6:]] == ["fallback", "fallback"]


def test_sticky_assignments_do_not_count_towards_period_caps_but_do_towards_open() -> None:
    st = state()
    decide(lead(crm_owner_id="1"), config(), st, AT)
    assert st.workload.count_since("1", AT - timedelta(hours=1)) == 0
    assert st.workload.open["1"] == 1


# ---------------------------------------------------------------------------------- unavailable pool


def test_when_nobody_in_the_pool_can_take_the_lead_next_rule_or_hold() -> None:
    paused = {r: {"availability": {"paused": True}} for r in ("a@s.io", "b@s.io", "c@s.io")}
    d = decide(lead(), config(reps=paused), state(), AT)
    assert d.rule == "fallback"
    assert [s["rep"] for s in d.skipped] == ["a@s.io", "b@s.io", "c@s.io"]
    hold = config(
        reps=paused,
        pools={"na": {"reps": ["a@s.io", "b@s.io", "c@s.io"], "when_unavailable": "hold"}},
    )
    d = decide(lead(), hold, state(), AT)
    assert (d.outcome, d.rule, d.owner) == ("held", "na", None)
    assert "held for the next run" in d.reason


def test_excluded_owners_are_never_chosen() -> None:
    d = decide(lead(crm_owner_id="1"), config(), state(), AT, exclude_owner_ids=frozenset({"1"}))
    assert d.rule == "na" and d.owner is not None and d.owner.id == "2"
    assert {"rep": "a@s.io", "why": "excluded from this re-route", "rule": "na"} in d.skipped
