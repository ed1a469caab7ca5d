"""Rules scoring: fit + intent (with half-life decay) + negatives, on a 0-100 scale, explained.

- fit: points for each matching ICP rule (industry, employee band, seniority, geography, ...),
  capped per group;
- intent: points per event occurrence, halving every `half_life_days`, so old activity fades;
- negative: points (<= 0) for disqualifying signals (free mail, competitor, student, unsubscribed,
  bounced), floored at -cap;
- score = fit + intent + negative, clamped to 0..100 (there is a floor: no negative scores);
- grade: the score's band (A-E); temperature: the intent group's band, as a share of its cap;
- is_mql / is_sql: score >= the MQL / SQL threshold.

Every score carries ALL its factors, and the adjustments that close the arithmetic (a group cap, the
negative floor, the 0..100 clamp, the rounding), so the factors' points, as stored at two decimals,
add up exactly to the integer score. Everything here is plain Python on plain values, so it is
tested without a warehouse.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from leadflow.config import Condition, ScoringConfig

# HubSpot's single-line text property holds up to 65,536 characters; the reasons field stays far
# below that so it is readable in the CRM sidebar.
REASONS_MAX_CHARS = 500

# Activity whose decayed worth is below this has faded out: it is neither counted nor listed.
FADED_POINTS = 0.05

GROUPS = ("fit", "intent", "negative", "adjustment")


@dataclass(frozen=True)
class Event:
    event: str
    occurred_at: datetime | None
    quantity: float = 1.0


@dataclass(frozen=True)
class Factor:
    """One contribution to a score. `points` is exact; `as_dict` stores it at two decimals."""

    factor: str
    group: str  # fit | intent | negative | adjustment
    points: float
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "factor": self.factor,
            "group": self.group,
            "points": points2(self.points),
        }
        if self.detail:
            out["detail"] = self.detail
        return out


def points2(value: float) -> float:
    """Points as stored and printed: two decimals (half away from zero, not banker's)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))


@dataclass
class LeadScore:
    score: int
    fit_score: int
    intent_score: int
    negative_score: int
    grade: str
    temperature: str
    is_mql: bool
    is_sql: bool = False
    factors: list[Factor] = field(default_factory=list)
    top_factors: int = 5

    def reasons(self) -> str:
        """'+20 senior_title; +12.5 demo_request; -15 free_email'.

        The strongest positive factors, then the strongest negative ones (at most `top_factors`
        of each), at one decimal; caps and rounding are left to `leadflow explain`.
        """
        ranked = sorted(
            (f for f in self.factors if f.group != "adjustment" and round(f.points, 1) != 0),
            key=lambda f: (-abs(f.points), f.factor),
        )
        positive = [f for f in ranked if f.points > 0][: self.top_factors]
        negative = [f for f in ranked if f.points < 0][: self.top_factors]
        text = "; ".join(f"{round(f.points, 1):+g} {f.factor}" for f in positive + negative)
        if not text:
            return "no scoring rule matched"
        if len(text) > REASONS_MAX_CHARS:
            text = text[: REASONS_MAX_CHARS - 3].rsplit(";", 1)[0] + "; …"
        return text

    def factor_dicts(self) -> list[dict[str, Any]]:
        return [f.as_dict() for f in self.factors]


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_list(value: Any) -> list[Any] | None:
    """A list-valued field (a Python list, a tuple, a numpy array, or a JSON array as text)."""
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if hasattr(value, "tolist") and not isinstance(value, str):
        listed = value.tolist()
        return listed if isinstance(listed, list) else None
    return None


def matches(condition: Condition, lead: dict[str, Any]) -> bool:
    """Whether a lead passes a condition.

    A missing field fails every test except `exists: false`; it fails `not_in` too, because an
    unknown value is not known to be outside the list.
    """
    if condition.all_ is not None:
        return all(matches(c, lead) for c in condition.all_)
    if condition.any_ is not None:
        return any(matches(c, lead) for c in condition.any_)
    value = lead.get(condition.field or "")
    if _is_missing(value):
        value = None
    if condition.exists is not None:
        listed = _as_list(value)
        present = value is not None and value != "" and (listed is None or len(listed) > 0)
        return present is condition.exists
    if value is None:
        return False
    if condition.equals is not None:
        if isinstance(condition.equals, bool):
            return bool(value) is condition.equals
        return str(value).lower() == str(condition.equals).lower()
    if condition.in_ is not None:
        return str(value).lower() in {str(v).lower() for v in condition.in_}
    if condition.not_in is not None:
        return str(value).lower() not in {str(v).lower() for v in condition.not_in}
    if condition.contains is not None:
        needle = condition.contains.lower()
        listed = _as_list(value)
        if listed is not None:
            return any(str(item).lower() == needle for item in listed if not _is_missing(item))
        return needle in str(value).lower()
    if condition.matches is not None:
        return _regex(condition.matches).search(str(value)) is not None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if math.isnan(number):
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


def band(value: float, bands: dict[str, int]) -> str:
    for name, lower in sorted(bands.items(), key=lambda item: item[1], reverse=True):
        if value >= lower:
            return name
    return min(bands.items(), key=lambda item: item[1])[0]


def is_competitor_domain(domain: Any, competitors: list[str]) -> bool | None:
    """Whether an email domain is a competitor's (or a subdomain of one); None when unknown."""
    if _is_missing(domain) or not str(domain).strip():
        return None
    name = str(domain).strip().lower().rstrip(".")
    for competitor in competitors:
        c = competitor.strip().lower().lstrip("@").rstrip(".")
        if c and (name == c or name.endswith("." + c)):
            return True
    return False


def _intent_factor(
    event_rule: Any, events: list[Event], moment: datetime
) -> tuple[float, Factor | None]:
    total = 0.0
    counted = 0.0
    seen = 0.0
    last_at: datetime | None = None
    remaining = float(event_rule.max_occurrences)
    for event in sorted(
        (e for e in events if e.event == event_rule.event and e.occurred_at is not None),
        key=lambda e: e.occurred_at or datetime.min,
        reverse=True,
    ):
        assert event.occurred_at is not None
        seen += event.quantity
        last_at = event.occurred_at if last_at is None else max(last_at, event.occurred_at)
        if remaining <= 0:
            continue
        quantity = min(event.quantity, remaining)
        remaining -= quantity
        counted += quantity
        total += quantity * decayed(
            event_rule.points, moment - event.occurred_at, event_rule.half_life_days
        )
    if total <= FADED_POINTS:
        return 0.0, None
    detail = {
        "occurrences": _num(seen),
        "counted": _num(counted),
        "max_occurrences": event_rule.max_occurrences,
        "last_at": last_at.isoformat(timespec="seconds") if last_at else None,
        "half_life_days": _num(event_rule.half_life_days),
        "points_each": _num(event_rule.points),
        "before_decay": points2(counted * event_rule.points),
        "after_decay": points2(total),
    }
    return total, Factor(event_rule.event, "intent", total, detail)


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def score_lead(
    lead: dict[str, Any], events: list[Event], config: ScoringConfig, moment: datetime
) -> LeadScore:
    """Score one lead at `moment` from its attributes and its intent events."""
    if config.competitor_domains:
        lead = {
            **lead,
            "is_competitor_domain": is_competitor_domain(
                lead.get("email_domain"), config.competitor_domains
            ),
        }
    factors: list[Factor] = []
    adjustments: list[Factor] = []

    fit_raw = 0.0
    for rule in config.fit.rules:
        if matches(rule.when, lead):
            fit_raw += rule.points
            factors.append(Factor(rule.name, "fit", float(rule.points)))
    fit = min(fit_raw, config.fit.cap)
    if fit != fit_raw:
        adjustments.append(
            Factor(f"fit capped at {config.fit.cap}", "adjustment", fit - fit_raw, {"cap": "fit"})
        )

    intent_raw = 0.0
    for event_rule in config.intent.events:
        total, factor = _intent_factor(event_rule, events, moment)
        if factor is not None:
            intent_raw += total
            factors.append(factor)
    intent = min(intent_raw, config.intent.cap)
    if intent != intent_raw:
        adjustments.append(
            Factor(
                f"intent capped at {config.intent.cap}",
                "adjustment",
                intent - intent_raw,
                {"cap": "intent"},
            )
        )

    negative_raw = 0.0
    for rule in config.negative.rules:
        if matches(rule.when, lead):
            negative_raw += rule.points
            factors.append(Factor(rule.name, "negative", float(rule.points)))
    negative = max(negative_raw, -config.negative.cap)
    if negative != negative_raw:
        adjustments.append(
            Factor(
                f"negatives floored at -{config.negative.cap}",
                "adjustment",
                negative - negative_raw,
                {"cap": "negative"},
            )
        )

    total = fit + intent + negative
    clamped = max(0.0, min(100.0, total))
    if clamped != total:
        bound = "0" if clamped == 0 else "100"
        adjustments.append(
            Factor(f"score clamped to {bound}", "adjustment", clamped - total, {"clamp": bound})
        )
    score = round(clamped)

    factors.sort(key=lambda f: (-abs(f.points), f.factor))
    factors.extend(adjustments)
    # What the stored two-decimal points leave over to the integer score: shown as rounding, so
    # the listed points add up to the score exactly.
    listed = sum((Decimal(repr(points2(f.points))) for f in factors), Decimal(0))
    rest = Decimal(score) - listed
    if rest != 0:
        factors.append(Factor("rounding", "adjustment", float(rest), {"rounding": True}))

    intent_share = 100 * intent / config.intent.cap if config.intent.cap else 0
    return LeadScore(
        score=score,
        fit_score=round(fit),
        intent_score=round(intent),
        negative_score=round(negative),
        grade=band(score, config.bands.grades),
        temperature=band(intent_share, config.bands.temperature),
        is_mql=score >= config.mql_threshold,
        is_sql=config.sql_threshold is not None and score >= config.sql_threshold,
        factors=factors,
        top_factors=config.top_factors,
    )
