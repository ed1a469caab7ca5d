"""The assignment engine: first matching rule wins, every decision audited.

Rules, in order:
1. existing_owner: the lead's CRM record already has an active owner -> keep it (sticky);
2. territory:<name>: the lead's country or region is in a territory -> that territory's pool,
   round robin inside the pool (the pointer persists across runs); reps who are not active CRM
   owners are skipped and the skip is recorded;
3. fallback: the configured fallback owner;
otherwise the lead stays unassigned, and the audit says why.

`decide()` is pure: it takes the lead, the roster and the pool pointers and returns a decision plus
the pointer moves, so it is tested without a warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadflow.config import RoutingConfig


@dataclass(frozen=True)
class Owner:
    id: str
    email: str
    active: bool = True


@dataclass
class Decision:
    lead_id: str
    rule: str
    owner: Owner | None
    reason: str
    pool: str | None = None
    evaluated: list[dict[str, Any]] = field(default_factory=list)


class Roster:
    """CRM owners by id and by email (lower-cased)."""

    def __init__(self, owners: list[Owner]) -> None:
        self.by_id = {o.id: o for o in owners}
        self.by_email = {o.email.lower(): o for o in owners if o.email}

    def active_by_email(self, email: str) -> Owner | None:
        owner = self.by_email.get(email.lower())
        return owner if owner is not None and owner.active else None


def decide(
    lead: dict[str, Any], config: RoutingConfig, roster: Roster, pointers: dict[str, int]
) -> Decision:
    """Route one lead. Mutates `pointers` when a pool hands out a turn."""
    lead_id = lead["lead_id"]
    evaluated: list[dict[str, Any]] = []

    crm_owner = lead.get("crm_owner_id")
    if config.keep_existing_owner:
        owner = roster.by_id.get(str(crm_owner)) if crm_owner else None
        if owner is not None and owner.active:
            evaluated.append({"rule": "existing_owner", "matched": True})
            return Decision(
                lead_id,
                "existing_owner",
                owner,
                "the CRM record already has this owner",
                evaluated=evaluated,
            )
        evaluated.append(
            {
                "rule": "existing_owner",
                "matched": False,
                "why": "no CRM owner" if not crm_owner else "CRM owner is not an active owner",
            }
        )

    country, region = lead.get("country_code"), lead.get("region")
    for territory in config.territories:
        rule = f"territory:{territory.name}"
        if not (
            (country and country in territory.countries) or (region and region in territory.regions)
        ):
            evaluated.append({"rule": rule, "matched": False})
            continue
        reps = config.pools[territory.pool]
        start = pointers.get(territory.pool, 0)
        skipped = []
        for step in range(len(reps)):
            email = reps[(start + step) % len(reps)]
            owner = roster.active_by_email(email)
            if owner is None:
                skipped.append({"rep": email, "why": "not an active CRM owner"})
                continue
            pointers[territory.pool] = (start + step + 1) % len(reps)
            evaluated.append(
                {"rule": rule, "matched": True, "pool": territory.pool, "skipped": skipped}
            )
            where = f"country {country}" if country in territory.countries else f"region {region}"
            return Decision(
                lead_id,
                rule,
                owner,
                f"{where} is in territory {territory.name}; round robin in pool {territory.pool}",
                pool=territory.pool,
                evaluated=evaluated,
            )
        evaluated.append(
            {
                "rule": rule,
                "matched": True,
                "pool": territory.pool,
                "skipped": skipped,
                "why": "no rep in the pool is available",
            }
        )

    if config.fallback_owner:
        owner = roster.active_by_email(config.fallback_owner)
        if owner is not None:
            evaluated.append({"rule": "fallback", "matched": True})
            return Decision(
                lead_id,
                "fallback",
                owner,
                "no territory matched; fallback owner",
                evaluated=evaluated,
            )
        evaluated.append(
            {
                "rule": "fallback",
                "matched": False,
                "why": "fallback owner is not an active CRM owner",
            }
        )
    return Decision(
        lead_id,
        "unassigned",
        None,
        "no rule matched and no fallback owner is available",
        evaluated=evaluated,
    )
