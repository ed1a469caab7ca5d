"""The account_owner action: the owner of the CRM account the lead matched (dedupe/accounts.py),
falling back to the owner of another lead at the same domain when there is none to take it."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from leadflow.config import RoutingConfig
from routing import route_new_leads
from routing.engine import Owner, Roster, RoutingState, decide
from routing.roster import lead_columns, load_leads
from tests.routing.world import T0, add_leads, build_world, owners_by_lead, routing_config

AT = T0
OWNERS = [Owner("3", "c@s.io"), Owner("4", "d@s.io"), Owner("9", "gone@s.io", active=False)]
ACCOUNT_RULES = [{"name": "account", "account_owner": True}]


def config(**routing: Any) -> RoutingConfig:
    return RoutingConfig.model_validate({"rules": ACCOUNT_RULES, **routing})


def state() -> RoutingState:
    return RoutingState(roster=Roster(OWNERS))


def lead(**fields: Any) -> dict[str, Any]:
    return {"lead_id": "l1", "crm_owner_id": None, **fields}


@pytest.mark.parametrize(
    ("fields", "owner", "why"),
    [
        pytest.param(
            {"account_id": "c1", "account_owner_id": "3", "account_match_rule": "domain"},
            "3",
            "account c1 (domain): the account's owner",
            id="the-accounts-owner",
        ),
        pytest.param(
            {"account_id": "c1", "account_owner_id": "3", "email_domain": "acme.io"},
            "3",
            "the account's owner",
            id="the-account-before-the-domain",
        ),
        pytest.param(
            {"account_id": "c1", "account_owner_id": None, "email_domain": "acme.io"},
            "4",
            "account c1 has no owner; domain acme.io: owner of lead l0",
            id="unowned-account-falls-back-to-the-domain",
        ),
        pytest.param(
            {"account_id": "c1", "account_owner_id": "9", "email_domain": "acme.io"},
            "4",
            "account c1: its owner is not an active CRM owner; domain acme.io",
            id="archived-account-owner-falls-back",
        ),
        pytest.param(
            {"account_id": "c1", "account_owner_id": "77", "email_domain": "acme.io"},
            "4",
            "its owner is not an active CRM owner",
            id="unknown-account-owner-falls-back",
        ),
        pytest.param(
            {"account_id": None, "email_domain": "acme.io", "is_free_email": False},
            "4",
            "no account matched; domain acme.io: owner of lead l0",
            id="no-account-falls-back-to-the-domain",
        ),
        pytest.param(
            {"account_id": None, "email_domain": "gmail.com", "is_free_email": True},
            None,
            "no account matched; a free email domain says nothing of the company",
            id="no-account-and-free-mail",
        ),
    ],
)
def test_account_owner(fields: dict[str, Any], owner: str | None, why: str) -> None:
    # GIVEN another lead at acme.io owned by 4 in the CRM
    st = state()
    st.accounts = {"acme.io": [("l0", "4")]}
    d = decide(lead(**fields), config(), st, AT)
    assert (d.owner.id if d.owner else None) == owner
    assert why in (d.reason if owner else d.evaluated[0]["outcome"])


def test_an_account_owner_excluded_from_a_reroute_is_not_chosen() -> None:
    d = decide(
        lead(account_id="c1", account_owner_id="3"),
        config(),
        state(),
        AT,
        exclude_owner_ids=frozenset({"3"}),
    )
    assert d.owner is None
    assert "account c1: its owner is excluded from this re-route" in d.evaluated[0]["outcome"]


def test_routing_reads_the_matched_account_from_the_warehouse(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN two leads at a domain nobody owns; dedupe/accounts.py matched one to an account owned by c
    build_world(con)
    add_leads(con, ["matched", "unmatched"], email_domain="acme.io", is_free_email=False)
    con.execute(
        """insert into ops.lead_accounts (lead_id, account_id, account_owner_id, match_rule,
               count_candidates, inputs_hash, matched_at, run_id)
           values ('matched', 'c1', '3', 'domain', 1, 'h', ?, 'r'),
                  ('unmatched', null, null, null, 0, 'h', ?, 'r')""",
        [T0, T0],
    )
    # THEN the leads carry their account, and a rule may read it
    assert {"account_id", "account_owner_id", "account_match_rule"} <= set(lead_columns(con))
    by_id = {row["lead_id"]: row for row in load_leads(con)}
    assert (by_id["matched"]["account_id"], by_id["matched"]["account_owner_id"]) == ("c1", "3")
    assert by_id["unmatched"]["account_id"] is None
    # WHEN routed: accounts to their owner, the rest to the pool
    config = routing_config(
        rules=[
            {"name": "account", "account_owner": True},
            {"name": "rest", "when": {"field": "account_id", "exists": False}, "pool": "na"},
        ]
    )
    route_new_leads(con, config, run_id="r1", as_of=T0)
    owners = owners_by_lead(con)
    assert owners["matched"] == "c@s.io"
    assert owners["unmatched"] in {"a@s.io", "b@s.io", "c@s.io"}
    reason = con.execute(
        "select reason from ops.lead_assignments where lead_id = 'matched'"
    ).fetchone()
    assert reason is not None and "account c1 (domain): the account's owner" in reason[0]
