"""Firmographics per company email domain: a warehouse cache with a TTL, a daily budget, a provider.

Which domains: every business email domain (free mail never) of ops.lead_records whose answer is
not in ops.company_enrichment or is older than its TTL (`ttl_days`; `not_found_ttl_days` for "no such
company"), the domains of the newest records first, so that when the budget runs short the leads
that just arrived are served first.

Each lookup's answer is put in LeadFlow's vocabulary (the industry key of the seed industry_aliases,
HubSpot's employee bands, the revenue bands below, a list of technology names) and stored together
with the lookup's count in ops.enrichment_usage, in one transaction: a crash loses at most the one
answer in flight, never the count of what was spent.

Lookups stop, and the remaining domains wait for a later run, when:
- the day's budget (`daily_budget` lookups per UTC day of the run's as_of) is spent;
- the provider is down or throttling past the client's retries (5xx, timeouts, no connection, 429);
- the plan's hourly or daily limit answers (a 429 the client does not retry), or the key is refused.
A domain the provider refuses on its own (another 4xx) is stored as `rejected` and asked again after
`not_found_ttl_days`. None of this fails the run: leads go on with what their sources said.

The provider's values fill gaps only: a lead's own industry or employee band (from its records)
wins. dbt's int_leads_unified joins the answers to each lead (stg_leadflow__company_enrichment), so
scoring, routing and the marts all read one enriched profile; it keeps technologies as JSON text,
which `technology_lists` turns back into a list for the rules' `contains`.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import duckdb
import pandas as pd

from connectors.apollo.models import Organization
from connectors.http import AuthError, ConnectorError, FatalError
from enrichment.normalize import SEEDS, employee_band, normalize_industry
from leadflow.config import FirmographicsConfig
from leadflow.warehouse import transaction

log = logging.getLogger("leadflow.enrichment")

Lookup = Callable[[str], Organization | None]

# Annual revenue (USD) -> band, lower bound first match, highest first.
REVENUE_BANDS: tuple[tuple[float, str], ...] = (
    (1e9, "1B+"),
    (5e8, "500M-1B"),
    (1e8, "100M-500M"),
    (5e7, "50M-100M"),
    (1e7, "10M-50M"),
    (1e6, "1M-10M"),
    (1.0, "<1M"),
)


@lru_cache(maxsize=1)
def industry_aliases() -> dict[str, str]:
    """A provider's or CRM's industry label (as a snake_case key) -> LeadFlow's industry key."""
    with (SEEDS / "industry_aliases.csv").open(encoding="utf-8") as handle:
        return {
            key: row["industry"].strip()
            for row in csv.DictReader(handle)
            if (key := normalize_industry(row["label"])) is not None
        }


def industry_key(label: str | None) -> str | None:
    """'Computer Software' -> 'software' (seed industry_aliases); a label not listed keeps its own
    snake_case key ('Veterinary' -> 'veterinary'), so a rule can still name it."""
    key = normalize_industry(label)
    return None if key is None else industry_aliases().get(key, key)


def revenue_band(amount: float | None) -> str | None:
    """Annual revenue in USD -> '<1M' ... '1B+'; nothing, zero or negative -> None."""
    if amount is None or amount < 1:
        return None
    for lower, band in REVENUE_BANDS:
        if amount >= lower:
            return band
    return None


@dataclass
class FirmographicsResult:
    """What one run of the step did; `stopped` says in one line why lookups ended early."""

    enabled: bool = False
    domains: int = 0  # business email domains among the leads' records
    fresh: int = 0  # of them, with an answer within its TTL (no lookup)
    known: int = 0  # of them, with a company the provider found (any age)
    looked_up: int = 0  # lookups sent this run
    found: int = 0
    not_found: int = 0
    rejected: int = 0
    waiting: int = 0  # still to look up, on a later run
    budget_left: int | None = None  # lookups left today after this run
    stopped: str = ""

    def as_summary(self) -> dict[str, Any]:
        return {
            "firmographics_enabled": self.enabled,
            "firmographics_domains": self.domains,
            "firmographics_known": self.known,
            "firmographics_cached": self.fresh,
            "firmographics_looked_up": self.looked_up,
            "firmographics_found": self.found,
            "firmographics_not_found": self.not_found + self.rejected,
            "firmographics_waiting": self.waiting,
            "firmographics_budget_left": self.budget_left,
            "firmographics_stopped": self.stopped,
        }


def pending_domains(
    con: duckdb.DuckDBPyConnection, config: FirmographicsConfig, as_of: datetime
) -> tuple[list[str], int, int]:
    """(domains to look up, newest records first; business domains in all; of them fresh)."""
    found_after = as_of - timedelta(days=config.ttl_days)
    missed_after = as_of - timedelta(days=config.not_found_ttl_days)
    rows = con.execute(
        """
        with domains as (
            select lower(email_domain) as domain, max(first_seen_at) as last_seen_at
            from ops.lead_records
            where email_domain is not null and not coalesce(is_free_email, false)
            group by 1
        )
        select
            d.domain,
            coalesce(
                c.fetched_at > case when c.status = 'found' then ? else ? end, false
            ) as is_fresh
        from domains d
        left join ops.company_enrichment c on c.domain = d.domain
        order by d.last_seen_at desc, d.domain
        """,
        [found_after, missed_after],
    ).fetchall()
    pending = [domain for domain, is_fresh in rows if not is_fresh]
    return pending, len(rows), len(rows) - len(pending)


def lookups_spent(con: duckdb.DuckDBPyConnection, provider: str, as_of: datetime) -> int:
    row = con.execute(
        "select lookups from ops.enrichment_usage where provider = ? and day = ?",
        [provider, as_of.date()],
    ).fetchone()
    return int(row[0]) if row else 0


def _count_lookup(con: duckdb.DuckDBPyConnection, provider: str, as_of: datetime) -> None:
    con.execute(
        """
        insert into ops.enrichment_usage (provider, day, lookups) values (?, ?, 1)
        on conflict (provider, day) do update set lookups = enrichment_usage.lookups + 1
        """,
        [provider, as_of.date()],
    )


def _answer_row(
    domain: str, provider: str, status: str, org: Organization | None, run_id: str, as_of: datetime
) -> list[Any]:
    return [
        domain,
        provider,
        status,
        industry_key(org.industry) if org else None,
        org.industry if org else None,
        org.estimated_num_employees if org else None,
        employee_band(org.estimated_num_employees) if org else None,
        round(org.annual_revenue) if org and org.annual_revenue is not None else None,
        revenue_band(org.annual_revenue) if org else None,
        json.dumps(list(org.technologies)) if org else None,
        org.id if org else None,
        org.name if org else None,
        json.dumps(org.payload, default=str) if org else None,  # the organization object
        as_of,
        run_id,
    ]


ANSWER_COLUMNS = (
    "domain",
    "provider",
    "status",
    "industry",
    "industry_label",
    "employee_count",
    "employee_band",
    "annual_revenue",
    "revenue_band",
    "technologies",
    "organization_id",
    "organization_name",
    "organization",
    "fetched_at",
    "run_id",
)


def _store(con: duckdb.DuckDBPyConnection, row: list[Any]) -> None:
    """One answer and the lookup it cost, together."""
    provider, as_of = row[1], row[ANSWER_COLUMNS.index("fetched_at")]
    placeholders = ", ".join("?" for _ in ANSWER_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in ANSWER_COLUMNS if c != "domain")
    with transaction(con):
        con.execute(
            f"insert into ops.company_enrichment ({', '.join(ANSWER_COLUMNS)}) "
            f"values ({placeholders}) on conflict (domain) do update set {updates}",
            row,
        )
        _count_lookup(con, provider, as_of)


def _stop_reason(error: ConnectorError, config: FirmographicsConfig) -> str | None:
    """Why a failed lookup ends this run's lookups; None when only this domain failed."""
    if isinstance(error, AuthError):
        return f"{error}; check {config.access_token_env}"
    if isinstance(error, FatalError) and error.status == 429:
        return f"the plan's lookup limit is reached ({error})"
    if isinstance(error, FatalError):
        return None
    return f"the provider is unavailable ({error})"


def enrich_companies(
    con: duckdb.DuckDBPyConnection,
    lookup: Lookup,
    config: FirmographicsConfig,
    *,
    run_id: str,
    as_of: datetime,
    max_lookups: int | None = None,
) -> FirmographicsResult:
    """Look up the domains that need it, within the day's budget and `max_lookups` (the lane)."""
    result = FirmographicsResult(enabled=True)
    pending, result.domains, result.fresh = pending_domains(con, config, as_of)
    allowance = max(0, config.daily_budget - lookups_spent(con, config.provider, as_of))
    limit = allowance if max_lookups is None else min(allowance, max_lookups)
    budget_bound = limit == allowance  # (in the lane, the lane's share may end it first)
    answered = 0
    for domain in pending:
        if result.looked_up >= limit:
            if budget_bound:
                result.stopped = (
                    f"the daily budget of {config.daily_budget} lookups is spent; "
                    "the other domains wait for the next UTC day"
                )
            break
        result.looked_up += 1
        try:
            org = lookup(domain)
        except ConnectorError as exc:
            reason = _stop_reason(exc, config)
            if reason is not None:  # the domain is not answered: it waits with the rest
                with transaction(con):
                    _count_lookup(con, config.provider, as_of)
                result.stopped = reason
                break
            _store(con, _answer_row(domain, config.provider, "rejected", None, run_id, as_of))
            result.rejected += 1
        else:
            status = "found" if org is not None else "not_found"
            _store(con, _answer_row(domain, config.provider, status, org, run_id, as_of))
            if org is not None:
                result.found += 1
            else:
                result.not_found += 1
        answered += 1
    result.waiting = len(pending) - answered
    result.budget_left = max(0, allowance - result.looked_up)
    result.known = _known(con)
    if result.stopped:
        log.warning(
            "firmographics: %d looked up, %d domains wait for a later run: %s",
            result.looked_up,
            result.waiting,
            result.stopped,
        )
    return result


def _known(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        """
        select count(distinct c.domain)
        from ops.company_enrichment c
        inner join ops.lead_records r on lower(r.email_domain) = c.domain
        where c.status = 'found'
        """
    ).fetchone()
    return int(row[0]) if row else 0


def technology_lists(leads: pd.DataFrame) -> pd.DataFrame:
    """Lead profiles read from int_leads_unified with `technologies` as a list of names: the table
    keeps the provider's JSON array as text (every warehouse has text), a scoring or routing rule
    tests an item of the list ({field: technologies, contains: Salesforce}), not a substring."""
    if "technologies" not in leads.columns:
        return leads
    out = leads.copy()
    out["technologies"] = out["technologies"].map(
        lambda value: json.loads(value) if isinstance(value, str) else None
    )
    return out
