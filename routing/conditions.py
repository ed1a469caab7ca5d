"""Routing conditions evaluated on one lead, each with a reason a person can read in the audit.

A lead is a plain dict of its fields (intermediate.int_leads_unified joined with ops.lead_scores and
the nurture exit reason). Comparison rules, chosen so a YAML value matches what a RevOps user means:
- a missing value (None) matches nothing but `exists: false`;
- strings compare case-insensitively ("us" equals "US"); booleans and numbers compare as such, and a
  numeric string ("42") compares as a number against a number;
- `regex` is searched (not anchored) in the value's text, case-sensitively unless the pattern says
  `(?i)`;
- `gte` / `lte` need a number; a value that is not one does not match.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from leadflow.config import RoutingConfig, When

__all__ = ["evaluate", "is_eligible", "matches"]

# Values of these fields are personal: the audit says that they were tested, not what they hold.
PERSONAL_FIELDS = frozenset({"email", "phone_e164", "first_name", "last_name"})


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    if isinstance(value, int | float):
        return {1: True, 0: False}.get(int(value)) if value in (0, 1) else None
    return None


def _equal(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        as_bool = _as_bool(value)
        return as_bool is not None and as_bool == _as_bool(expected)
    if isinstance(expected, int | float) or isinstance(value, int | float):
        a, b = _number(value), _number(expected)
        return a is not None and b is not None and a == b
    return str(value).strip().lower() == str(expected).strip().lower()


def _shown(field: str, value: Any) -> str:
    return "(set)" if field in PERSONAL_FIELDS else repr(value)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _test(cond: When, lead: dict[str, Any]) -> tuple[bool, str]:
    field = cond.field
    assert field is not None
    value = lead.get(field)
    if cond.exists is not None:
        present = not _is_missing(value)
        return present is cond.exists, f"{field} {'is set' if present else 'is empty'}"
    if _is_missing(value):
        return False, f"{field} is empty"
    shown = _shown(field, value)
    if cond.equals is not None:
        ok = _equal(value, cond.equals)
        return ok, f"{field} = {shown} {'equals' if ok else 'is not'} {cond.equals!r}"
    if cond.in_ is not None:
        ok = any(_equal(value, option) for option in cond.in_)
        return ok, f"{field} = {shown} {'is in' if ok else 'is not in'} {list(cond.in_)}"
    if cond.regex is not None:
        ok = _compiled(cond.regex).search(str(value)) is not None
        return ok, f"{field} = {shown} {'matches' if ok else 'does not match'} /{cond.regex}/"
    number = _number(value)
    bounds = " and ".join(
        f"{op} {bound:g}" for op, bound in ((">=", cond.gte), ("<=", cond.lte)) if bound is not None
    )
    if number is None:
        return False, f"{field} = {shown} is not a number (needs {bounds})"
    ok = (cond.gte is None or number >= cond.gte) and (cond.lte is None or number <= cond.lte)
    return ok, f"{field} = {shown} {'is' if ok else 'is not'} {bounds}"


def evaluate(cond: When | None, lead: dict[str, Any]) -> tuple[bool, str]:
    """Whether `cond` matches `lead`, and why (the deciding test(s), as readable text)."""
    if cond is None:
        return True, "no condition"
    if cond.field is not None:
        return _test(cond, lead)
    if cond.all is not None:
        reasons = []
        for part in cond.all:
            ok, why = evaluate(part, lead)
            if not ok:
                return False, why  # the first test that fails says why the group fails
            reasons.append(why)
        return True, " and ".join(reasons)
    parts = cond.any or []
    fails = []
    for part in parts:
        ok, why = evaluate(part, lead)
        if ok:
            return True, why  # the first test that passes says why the group passes
        fails.append(why)
    return False, "none of: " + "; ".join(fails)


def matches(cond: When | None, lead: dict[str, Any]) -> bool:
    return evaluate(cond, lead)[0]


def is_eligible(lead: dict[str, Any], config: RoutingConfig) -> bool:
    """Whether routing takes this lead at all (`routing.eligible`; none configured: every lead).

    The leads it leaves out are the nurture track's (routing/nurture.py).
    """
    return matches(config.eligible, lead)
