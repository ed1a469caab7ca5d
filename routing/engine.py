"""The assignment engine: ordered rules, first match wins, every decision explained.

For each lead, the rules of `routing.rules` are tried in order. A rule whose condition matches takes
its action; when the action cannot be carried out (no active CRM owner to keep, no account owner,
nobody in the pool can take the lead) the next rule is tried, unless the pool says `hold`. After the
last rule, the catch-all `fallback_owner` takes the lead; without one the lead stays unassigned.

Actions:
- `sticky`: keep the lead's CRM owner, if it is an active CRM owner;
- `account_owner`: the owner of the CRM account the lead matched (dedupe/accounts.py: the HubSpot
  company's `hubspot_owner_id`, on the lead as `account_owner_id`). When the lead matched no account,
  or its account has no active owner, the fallback: the CRM owner of the most recently updated
  *other* lead at the lead's non-free email domain (routing/roster.py builds that map);
- `rep: <email>`: that rep, if active, available and under every cap;
- `pool: <name>`: round robin or fewest among the pool's reps who are active, have the skills the
  lead asks for, are available now and under every cap;
- `queue: <name>`: nobody; the lead waits in a named queue (ops.routing_queue) for people.

Sticky and account-owner matches and the fallback owner ignore caps and calendars: the lead is
already the rep's, or the catch-all must take it. Every rep skipped, and why, is recorded.

`Engine.decide()` is pure apart from the `RoutingState` it is given, which it updates as it hands
out turns (pool pointers, per-rep counts), so a batch of leads routes exactly as the same leads one
run at a time would, and everything is testable without a warehouse.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.config import PoolConfig, RepConfig, RoutingConfig, RoutingRule
from routing.calendar import is_available
from routing.conditions import evaluate
from routing.pools import PoolState, pick_fewest, pick_round_robin

__all__ = [
    "Decision",
    "Engine",
    "Owner",
    "Roster",
    "RoutingState",
    "Workload",
    "decide",
    "period_start",
]

CAP_PERIODS = (
    ("per_hour", "hour"),
    ("per_day", "day"),
    ("per_week", "week"),
    ("per_month", "month"),
)


@dataclass(frozen=True)
class Owner:
    id: str
    email: str
    active: bool = True


class Roster:
    """CRM owners by id and by email (lower-cased)."""

    def __init__(self, owners: list[Owner]) -> None:
        self.by_id = {o.id: o for o in owners}
        self.by_email = {o.email.lower(): o for o in owners if o.email}

    def active_by_email(self, email: str) -> Owner | None:
        owner = self.by_email.get(email.lower())
        return owner if owner is not None and owner.active else None

    def __len__(self) -> int:
        return len(self.by_id)


@dataclass
class Workload:
    """What each owner already holds, from the assignments themselves (never a separate counter).

    `times`: when each of the owner's current assignments was made, sorted, for the period caps and
    the `fewest` strategy; sticky assignments (the lead was already the rep's) are not counted.
    `open`: how many of the owner's assigned leads are still open (not a customer, not an
    opportunity, not closed or recycled by the nurture path).
    """

    times: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    open: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def count_since(self, owner_id: str, start: datetime) -> int:
        times = self.times.get(owner_id)
        if not times:
            return 0
        return len(times) - bisect_left(times, start)

    def add(self, owner_id: str, at: datetime, *, counted: bool) -> None:
        if counted:
            times = self.times[owner_id]
            if not times or times[-1] <= at:
                times.append(at)
            else:
                insort(times, at)
        self.open[owner_id] += 1


@dataclass
class RoutingState:
    """Everything decide() reads besides the lead and the config, and updates as it assigns."""

    roster: Roster
    pools: dict[str, PoolState] = field(default_factory=dict)
    workload: Workload = field(default_factory=Workload)
    # non-free email domain -> [(lead_id, crm owner id)], most recently updated first (at most 2)
    accounts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def pool(self, name: str) -> PoolState:
        return self.pools.setdefault(name, PoolState())


@dataclass
class Decision:
    """One routing decision, as audited in ops.routing_audit."""

    lead_id: str
    rule: str
    owner: Owner | None
    reason: str
    outcome: str = "unassigned"  # assigned | kept | reassigned | queued | held | unassigned
    action: str | None = None  # sticky | account_owner | pool | rep | queue | fallback
    pool: str | None = None
    queue: str | None = None
    evaluated: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    # the pool's strategy state, aligned with `candidates`: {"turns", "current": [weights]} for
    # round robin, {"period", "counts": [assignments this period]} for fewest
    strategy_before: dict[str, Any] | None = None
    strategy_after: dict[str, Any] | None = None
    previous_owner_id: str | None = None
    decided_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for `leadflow route --dry-run --json` and the audit writer."""
        return {
            "lead_id": self.lead_id,
            "outcome": self.outcome,
            "rule": self.rule,
            "action": self.action,
            "owner_id": self.owner.id if self.owner else None,
            "owner_email": self.owner.email if self.owner else None,
            "pool": self.pool,
            "queue": self.queue,
            "reason": self.reason,
            "evaluated": self.evaluated,
            "candidates": self.candidates,
            "skipped": self.skipped,
            "strategy_before": self.strategy_before,
            "strategy_after": self.strategy_after,
            "previous_owner_id": self.previous_owner_id,
        }


def period_start(at: datetime, period: str, tz: ZoneInfo | None) -> datetime:
    """The start (naive UTC) of the calendar hour / day / week (Monday) / month holding `at`."""
    moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    local = moment.astimezone(tz) if tz is not None else moment
    if period == "hour":
        local = local.replace(minute=0, second=0, microsecond=0)
    else:
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if period == "week":
            local -= timedelta(days=local.weekday())
        elif period == "month":
            local = local.replace(day=1)
        if tz is not None:  # midnight in the rep's zone, as a real instant (DST-safe)
            local = local.replace(tzinfo=None).replace(tzinfo=tz)
    return local.astimezone(UTC).replace(tzinfo=None)


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


class Engine:
    """A compiled routing config: lookups computed once, so deciding 100,000 leads stays cheap."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.reps: dict[str, RepConfig] = {k.lower(): v for k, v in config.reps.items()}
        self._default_rep = RepConfig()
        self._pool_reps: dict[str, list[str]] = {
            name: [r.lower() for r in pool.reps] for name, pool in config.pools.items()
        }
        # per rep: its caps as (name, period, limit), and the zone its calendar periods are in
        self._caps: dict[str, tuple[list[tuple[str, str, int]], ZoneInfo | None]] = {}
        # period starts for the moment being decided: (period, zone) -> start
        self._starts_at: datetime | None = None
        self._starts: dict[tuple[str, ZoneInfo | None], datetime] = {}

    def rep(self, email: str) -> RepConfig:
        return self.reps.get(email, self._default_rep)

    def _rep_caps(self, email: str) -> tuple[list[tuple[str, str, int]], ZoneInfo | None]:
        found = self._caps.get(email)
        if found is None:
            rep = self.rep(email)
            caps = [
                (name, period, limit)
                for name, period in CAP_PERIODS
                if (limit := getattr(rep.caps, name)) is not None
            ]
            av = rep.availability
            found = (caps, ZoneInfo(av.timezone) if av is not None else None)
            self._caps[email] = found
        return found

    def _period_start(self, at: datetime, period: str, zone: ZoneInfo | None) -> datetime:
        if self._starts_at != at:
            self._starts_at, self._starts = at, {}
        key = (period, zone)
        start = self._starts.get(key)
        if start is None:
            start = self._starts[key] = period_start(at, period, zone)
        return start

    # ------------------------------------------------------------------ rep checks

    def rep_blocker(
        self,
        email: str,
        state: RoutingState,
        at: datetime,
        *,
        lead: dict[str, Any] | None = None,
        pool: PoolConfig | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> tuple[Owner | None, str | None]:
        """The owner for `email` and None if the rep can take a lead now, else why not."""
        owner = state.roster.by_email.get(email)
        if owner is None:
            return None, "not a CRM owner"
        if not owner.active:
            return owner, "not an active CRM owner (archived)"
        if owner.id in exclude:
            return owner, "excluded from this re-route"
        rep = self.rep(email)
        if pool is not None and pool.skills and lead is not None:
            for lead_field, skill in pool.skills.items():
                wanted = lead.get(lead_field)
                if wanted is None or (isinstance(wanted, str) and not wanted.strip()):
                    continue
                values = {str(v).lower() for v in rep.skills.get(skill, [])}
                if str(wanted).strip().lower() not in values:
                    return owner, f"lacks skill {skill}={wanted}"
        if rep.availability is not None:
            available, why = is_available(rep.availability, at)
            if not available:
                return owner, why
        open_cap = rep.caps.open
        if open_cap is not None:
            held = state.workload.open.get(owner.id, 0)
            if held >= open_cap:
                return owner, f"open-lead cap reached ({held}/{open_cap})"
        caps, zone = self._rep_caps(email)
        for cap_name, period, limit in caps:
            held = state.workload.count_since(owner.id, self._period_start(at, period, zone))
            if held >= limit:
                return owner, f"cap {cap_name} reached ({held}/{limit})"
        return owner, None

    # ------------------------------------------------------------------ actions

    def _pool(
        self,
        rule: RoutingRule,
        lead: dict[str, Any],
        state: RoutingState,
        at: datetime,
        decision: Decision,
        exclude: frozenset[str],
    ) -> Owner | None:
        name = rule.pool
        assert name is not None
        pool = self.config.pools[name]
        reps = self._pool_reps[name]
        decision.candidates = list(reps)
        eligible: list[tuple[str, float]] = []
        owners: dict[str, Owner] = {}
        for email in reps:
            owner, why = self.rep_blocker(email, state, at, lead=lead, pool=pool, exclude=exclude)
            if why is not None:
                decision.skipped.append({"rep": email, "why": why, "rule": rule.name})
                continue
            assert owner is not None
            owners[email] = owner
            eligible.append((email, self.rep(email).weight))
        if not eligible:
            return None
        if pool.strategy == "round_robin":
            pool_state = state.pool(name)
            decision.strategy_before = {
                "turns": pool_state.turns,
                "current": pool_state.snapshot(reps),
            }
            chosen = pick_round_robin(pool_state, eligible)
            decision.strategy_after = {
                "turns": pool_state.turns,
                "current": pool_state.snapshot(reps),
            }
        else:
            start = self._period_start(at, pool.period, None)
            chosen, counts = pick_fewest(
                eligible, lambda email: state.workload.count_since(owners[email].id, start)
            )
            # reps that could not take the lead were not counted: null in their place
            before = [counts.get(rep) for rep in reps]
            after = [
                n + 1 if rep == chosen and n is not None else n
                for rep, n in zip(reps, before, strict=True)
            ]
            decision.strategy_before = {"period": pool.period, "counts": before}
            decision.strategy_after = {"period": pool.period, "counts": after}
        decision.pool = name
        return owners[chosen]

    def _account_owner(
        self, lead: dict[str, Any], state: RoutingState, exclude: frozenset[str]
    ) -> tuple[Owner | None, str]:
        """The matched account's owner; else the owner of another lead at the same domain."""
        account, owner_id = lead.get("account_id"), lead.get("account_owner_id")
        if account and owner_id:
            owner = state.roster.by_id.get(str(owner_id))
            if owner is not None and owner.active and owner.id not in exclude:
                how = lead.get("account_match_rule") or "matched"
                return owner, f"account {account} ({how}): the account's owner"
            why_not = (
                f"account {account}: its owner is excluded from this re-route"
                if owner is not None and owner.active
                else f"account {account}: its owner is not an active CRM owner"
            )
        elif account:
            why_not = f"account {account} has no owner"
        else:
            why_not = "no account matched"
        owner, why = self._domain_owner(lead, state, exclude)
        return owner, f"{why_not}; {why}"

    def _domain_owner(
        self, lead: dict[str, Any], state: RoutingState, exclude: frozenset[str]
    ) -> tuple[Owner | None, str]:
        """The CRM owner of the most recently updated other lead at the lead's non-free domain."""
        domain = lead.get("email_domain")
        if not domain:
            return None, "no email domain"
        if lead.get("is_free_email"):
            return None, "a free email domain says nothing of the company"
        for other_lead, owner_id in state.accounts.get(str(domain).lower(), []):
            if other_lead == lead["lead_id"]:
                continue
            owner = state.roster.by_id.get(owner_id)
            if owner is None or not owner.active:
                return (
                    None,
                    f"the owner of lead {other_lead} at {domain} is not an active CRM owner",
                )
            if owner.id in exclude:
                return (
                    None,
                    f"the owner of lead {other_lead} at {domain} is excluded from this re-route",
                )
            return owner, f"domain {domain}: owner of lead {other_lead}"
        return None, f"no other lead at {domain} has a CRM owner"

    # ------------------------------------------------------------------ decide

    def decide(
        self,
        lead: dict[str, Any],
        state: RoutingState,
        at: datetime,
        *,
        exclude_owner_ids: frozenset[str] = frozenset(),
    ) -> Decision:
        """Route one lead at `at` (naive UTC). Updates `state` when a rep is assigned."""
        at = _naive_utc(at)
        decision = Decision(lead_id=str(lead["lead_id"]), rule="none", owner=None, reason="")
        decision.decided_at = at
        for rule in self.config.rules:
            ok, why = evaluate(rule.when, lead)
            step: dict[str, Any] = {"rule": rule.name, "matched": ok, "why": why}
            decision.evaluated.append(step)
            if not ok:
                continue
            action = rule.action
            owner: Owner | None = None
            if action == "sticky":
                crm_owner = lead.get("crm_owner_id")
                found = state.roster.by_id.get(str(crm_owner)) if crm_owner else None
                if found is None:
                    step["outcome"] = "no CRM owner" if not crm_owner else "CRM owner is unknown"
                elif not found.active:
                    step["outcome"] = "CRM owner is not an active owner"
                elif found.id in exclude_owner_ids:
                    step["outcome"] = "CRM owner is excluded from this re-route"
                else:
                    return self._done(
                        decision, rule, found, state, at, "kept",
                        f"rule {rule.name}: {why}; the CRM record's owner is kept",
                    )  # fmt: skip
            elif action == "account_owner":
                owner, account_why = self._account_owner(lead, state, exclude_owner_ids)
                if owner is not None:
                    return self._done(
                        decision, rule, owner, state, at, "assigned",
                        f"rule {rule.name}: {why}; {account_why}",
                    )  # fmt: skip
                step["outcome"] = account_why
            elif action == "rep":
                assert rule.rep is not None
                email = rule.rep.lower()
                owner, blocker = self.rep_blocker(email, state, at, exclude=exclude_owner_ids)
                if blocker is None and owner is not None:
                    return self._done(
                        decision, rule, owner, state, at, "assigned",
                        f"rule {rule.name}: {why}; named rep",
                    )  # fmt: skip
                decision.skipped.append({"rep": email, "why": blocker or "", "rule": rule.name})
                step["outcome"] = f"the named rep cannot take it: {blocker}"
            elif action == "pool":
                assert rule.pool is not None
                pool_cfg = self.config.pools[rule.pool]
                owner = self._pool(rule, lead, state, at, decision, exclude_owner_ids)
                if owner is not None:
                    how = (
                        f"weighted round robin in pool {rule.pool}"
                        if pool_cfg.strategy == "round_robin"
                        else f"fewest leads this {pool_cfg.period} in pool {rule.pool}"
                    )
                    return self._done(
                        decision, rule, owner, state, at, "assigned",
                        f"rule {rule.name}: {why}; {how}",
                    )  # fmt: skip
                step["outcome"] = f"nobody in pool {rule.pool} can take it"
                if pool_cfg.when_unavailable == "hold":
                    decision.rule, decision.action, decision.pool = rule.name, "pool", rule.pool
                    decision.outcome = "held"
                    decision.reason = (
                        f"rule {rule.name}: {why}; nobody in pool {rule.pool} can take it now, "
                        "held for the next run"
                    )
                    return decision
            else:  # queue
                decision.rule, decision.action, decision.queue = rule.name, "queue", rule.queue
                decision.outcome = "queued"
                decision.reason = f"rule {rule.name}: {why}; left in queue {rule.queue}"
                return decision
        fallback = self.config.fallback_owner
        if fallback:
            owner = state.roster.by_email.get(fallback.lower())
            usable = owner is not None and owner.active and owner.id not in exclude_owner_ids
            decision.evaluated.append(
                {
                    "rule": "fallback",
                    "matched": usable,
                    "why": "fallback owner"
                    if usable
                    else "the fallback owner is not an active CRM owner",
                }
            )
            if usable and owner is not None:
                decision.rule, decision.action = "fallback", "fallback"
                return self._finish(
                    decision, owner, state, at, "assigned",
                    "no rule placed the lead; the fallback owner takes it",
                )  # fmt: skip
        decision.outcome = "unassigned"
        decision.reason = (
            "no rule placed the lead and no fallback owner is available"
            if self.config.rules or fallback
            else "no routing rules are configured"
        )
        return decision

    def _done(
        self,
        decision: Decision,
        rule: RoutingRule,
        owner: Owner,
        state: RoutingState,
        at: datetime,
        outcome: str,
        reason: str,
    ) -> Decision:
        decision.rule, decision.action = rule.name, rule.action
        if rule.action != "pool":
            decision.pool = None
        return self._finish(decision, owner, state, at, outcome, reason)

    @staticmethod
    def _finish(
        decision: Decision,
        owner: Owner,
        state: RoutingState,
        at: datetime,
        outcome: str,
        reason: str,
    ) -> Decision:
        decision.owner, decision.outcome, decision.reason = owner, outcome, reason
        state.workload.add(owner.id, at, counted=decision.action != "sticky")
        return decision


def decide(
    lead: dict[str, Any],
    config: RoutingConfig,
    state: RoutingState,
    at: datetime,
    *,
    exclude_owner_ids: frozenset[str] = frozenset(),
) -> Decision:
    """Route one lead (see Engine.decide); compile an Engine yourself to route many."""
    return Engine(config).decide(lead, state, at, exclude_owner_ids=exclude_owner_ids)
