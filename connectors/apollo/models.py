"""Apollo record shapes: the organization the enrichment endpoint returns (the fields LeadFlow reads)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from connectors.records import text


@dataclass(frozen=True)
class Organization:
    """One company as `GET /api/v1/organizations/enrich` describes it."""

    id: str | None
    name: str | None
    primary_domain: str | None
    industry: str | None  # Apollo's label (LinkedIn's taxonomy), e.g. "computer software"
    estimated_num_employees: int | None
    annual_revenue: float | None  # USD
    technologies: tuple[str, ...]  # technology_names, e.g. ("Salesforce", "Google Analytics")
    payload: dict[str, Any] = field(default_factory=dict, compare=False)  # as returned


def _number(value: Any) -> float | None:
    """A JSON number (or numeric string) as a float; None for anything else, NaN included."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _technologies(payload: dict[str, Any]) -> tuple[str, ...]:
    """technology_names, else the names in current_technologies; blanks dropped, order kept, once each."""
    names = payload.get("technology_names")
    if not isinstance(names, list):
        current = payload.get("current_technologies")
        names = (
            [t.get("name") for t in current if isinstance(t, dict)]
            if isinstance(current, list)
            else []
        )
    seen: dict[str, None] = {}
    for name in names:
        cleaned = (text(name) or "").strip()
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)


def parse_organization(body: Any) -> Organization | None:
    """The answer to an enrichment request -> Organization; None when Apollo has no record of the
    domain (a body without an `organization` object, which is how it answers a miss)."""
    payload = body.get("organization") if isinstance(body, dict) else None
    if not isinstance(payload, dict) or not payload:
        return None
    employees = _number(payload.get("estimated_num_employees"))
    return Organization(
        id=text(payload.get("id")),
        name=text(payload.get("name")),
        primary_domain=text(payload.get("primary_domain")),
        industry=text(payload.get("industry")),
        estimated_num_employees=int(employees)
        if employees is not None and employees >= 0
        else None,
        annual_revenue=_number(payload.get("annual_revenue")),
        technologies=_technologies(payload),
        payload=payload,
    )
