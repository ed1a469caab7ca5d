"""Rules scoring: fit + intent (with half-life decay) + negatives, on a 0-100 scale, explained.

- fit: points for each matching ICP rule (industry, seniority, geography, ...), capped per group;
- intent: points per event occurrence, halving every `half_life_days`, so old activity fades;
- negative: points (<= 0) for disqualifying signals, floored at -cap;
- score = fit + intent + negative, clamped to 0..100 (there is a floor: no negative scores);
- grade: the score's band (A-E); temperature: the intent group's band, as a share of its cap;
- is_mql: score >= the MQL threshold.

Everything here is plain Python on plain values, so it is tested without a warehouse.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from leadflow.config import Condition, ScoringConfig


@dataclass(frozen=True)
class Event:
    event: str
    occurred_at: datetime | None
    quantity: float = 1.0


@dataclass(frozen=True)
class Factor:
    factor: str
    group: str  # fit | intent | negative
    points: float

    def as_dict(self) -> dict[str, Any]:
        return {"factor": self.factor, "group": self.group, "points": round(self.points, 1)}


@dataclass
class LeadScore:
    score: int
    fit_score: int
    intent_score: int
    negative_score: int
    grade: str
    temperature: str
    is_mql: bool
    factors: list[Factor] = field(default_factory=list)

    def reasons(self) -> str:
        """'+20 senior_title; +12.5 demo_request; -15 free_email' (strongest first)."""
        return (
            "; ".join(f"{round(f.points, 1):+g} {f.factor}" for f in self.factors)
            or "no scoring rule matched"
        )


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matches(condition: Condition, lead: dict[str, Any]) -> bool:
    """Whether one lead field passes one condition; a missing field fails every test but exists."""
    value = lead.get(condition.field)
    if isinstance(value, float) and math.isnan(value):
        value = None
    if condition.exists is not None:
        present = value is not None and value != ""
        return present is condition.exists
    if value is None:
        return False
    if condition.equals is not None:
        if isinstance(condition.equals, bool):
            return bool(value) is condition.equals
        return str(value).lower() == str(condition.equals).lower()
    if condition.in_ is not None:
        return str(value).lower() in {str(v).lower() for v in condition.in_}
    if condition.matches is not None:
        return _regex(condition.matches).search(str(value)) is not None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if condition.gte is not None and number < condition.gte:
        return False
    return not (condition.lte is not None and number > condition.lte)


def scoring_moment(as_of: datetime, resolution: str) -> datetime:
    """Decay is computed at this resolution, so a re-run within it gives the same scores."""
    if resolution == "hour":
        return as_of.replace(minute=0, second=0, microsecond=0)
    return as_of.replace(hour=0, minute=0, second=0, microsecond=0)


def decayed(points: float, age: timedelta, half_life_days: float) -> float:
    days = max(age.total_seconds(), 0) / 86400
    return points * 0.5 ** (days / half_life_days)


def _band(value: float, bands: dict[str, int]) -> str:
    for name, lower in sorted(bands.items(), key=lambda item: item[1], reverse=True):
        if value >= lower:
            return name
    return min(bands.items(), key=lambda item: item[1])[0]


def score_lead(
    lead: dict[str, Any], events: list[Event], config: ScoringConfig, moment: datetime
) -> LeadScore:
    factors: list[Factor] = []

    fit_raw = 0.0
    for rule in config.fit.rules:
        if matches(rule.when, lead):
            fit_raw += rule.points
            factors.append(Factor(rule.name, "fit", rule.points))
    fit = min(fit_raw, config.fit.cap)

    intent_raw = 0.0
    for event_rule in config.intent.events:
        total = 0.0
        remaining = float(event_rule.max_occurrences)
        for event in sorted(
            (e for e in events if e.event == event_rule.event),
            key=lambda e: e.occurred_at or datetime.min,
            reverse=True,
        ):
            if remaining <= 0 or event.occurred_at is None:
                continue
            quantity = min(event.quantity, remaining)
            remaining -= quantity
            total += quantity * decayed(
                event_rule.points, moment - event.occurred_at, event_rule.half_life_days
            )
        if total > 0.05:
            intent_raw += total
            factors.append(Factor(event_rule.event, "intent", total))
    intent = min(intent_raw, config.intent.cap)

    negative_raw = 0.0
    for rule in config.negative.rules:
        if matches(rule.when, lead):
            negative_raw += rule.points
            factors.append(Factor(rule.name, "negative", rule.points))
    negative = max(negative_raw, -config.negative.cap)

    score = round(max(0.0, min(100.0, fit + intent + negative)))
    intent_share = 100 * intent / config.intent.cap if config.intent.cap else 0
    factors.sort(key=lambda f: (-abs(f.points), f.factor))
    return LeadScore(
        score=score,
        fit_score=round(fit),
        intent_score=round(intent),
        negative_score=round(negative),
        grade=_band(score, config.bands.grades),
        temperature=_band(intent_share, config.bands.temperature),
        is_mql=score >= config.mql_threshold,
        factors=factors[: config.top_factors],
    )
