"""Lead-to-account matching, LeanData-style: every lead -> at most one CRM account, with the rule
that matched it and, when several accounts matched, the tie-breaker that chose.

Accounts are HubSpot companies (raw.hubspot__companies: the newest version of each, archived ones
left out). A lead's evidence is every record it is made of (ops.lead_identity -> ops.lead_records):
their email domains, company names (a company written as a web address counts as a domain) and phone
numbers. An account's: its `domain`, `website` and `hs_additional_domains`, its name and its phone.
enrichment/accounts.py turns both into comparable keys.

Rules, in order; the first that finds an account decides (`accounts.domain_only` in leadflow.yml
places the domain-only rule):

    domain_and_name   the account has one of the lead's domains and its name (exactly or by acronym)
    domain            the account has one of the lead's domains         (domain_only: always)
    company_name      equal normalized company names
    company_acronym   one name reads as an acronym and is the other's initials ("IBM" ~ "International
                      Business Machines Corp.")
    phone             the account's phone is one of the lead's (E.164)
    domain            ... here instead                                   (domain_only: fallback)

With `domain_only: off` a domain never matches on its own but still confirms a name
(domain_and_name). Free-mail domains (the free_email_domains seed) never match anything, on
either side: a lead at gmail.com is not the account of a sole trader entered with gmail.com.

Tie-breakers, when the deciding rule finds several accounts, in order:

    has_owner         owned by a CRM owner who is not archived
    most_contacts     the most contacts associated in the CRM (num_associated_contacts)
    latest_activity   the most recent sales activity (notes_last_updated)
    oldest            created first: the original record rather than a later duplicate
    lowest_id         the lowest id, so the choice is stable

ops.lead_accounts keeps one row per lead (account_id null when nothing matched) with the rule, what
it matched on (a domain, a name or an acronym; never a phone number), how many accounts the rule
found and which tie-breaker chose.

Incremental, and set-based for scale: the comparable keys of each lead (ops.lead_match_keys) and of
each account (ops.account_match_keys) are kept, and normalized again in Python only for a lead whose
records changed (a hash of their domains, companies and phones) or an account with a new raw
version, once per distinct value. Matching is a few joins and window functions in DuckDB over the
kept keys, for the leads that can have a new answer: those whose keys changed, and those a changed
account may win or lose (a key of its old or new version, or matched to it now); every lead when
the owners or `domain_only` changed. Only rows whose answer changed are written; a re-run with
nothing new writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from enrichment.accounts import (
    company_domain,
    is_matchable_domain,
    lists_fingerprint,
    normalize_company_name,
    normalize_domain,
    phone_key,
    split_domains,
)
from enrichment.normalize import is_free_email
from leadflow.config import AccountsConfig
from leadflow.warehouse import has_table, registered, transaction

__all__ = [
    "RULES",
    "TIE_BREAKS",
    "AccountMatchResult",
    "account_keys",
    "match_accounts",
    "rule_order",
]

log = logging.getLogger("leadflow.accounts")

# Bump when the keys change (what the normalizers make of a value): every key is made again.
MATCHER_VERSION = "1"

RULES = ("domain_and_name", "domain", "company_name", "company_acronym", "phone")
TIE_BREAKS = ("has_owner", "most_contacts", "latest_activity", "oldest", "lowest_id")

# When a pair (lead, account) qualifies for each rule, from what matched between them, and what
# the rule names as matched_on (phones are personal data: never written).
_RULE_SQL = {
    "domain_and_name": ("by_domain and (by_name or by_acronym)", "domain_value"),
    "domain": ("by_domain", "domain_value"),
    "company_name": ("by_name", "name_value"),
    "company_acronym": ("by_acronym", "acronym_value"),
    "phone": ("by_phone", "null"),
}


def rule_order(domain_only: str) -> tuple[str, ...]:
    """The rules in the order they are tried for a `domain_only` setting."""
    names = ("company_name", "company_acronym", "phone")
    if domain_only == "always":
        return ("domain_and_name", "domain", *names)
    if domain_only == "fallback":
        return ("domain_and_name", *names, "domain")
    if domain_only == "off":
        return ("domain_and_name", *names)
    raise ValueError(f"domain_only must be off, fallback or always (got {domain_only!r})")


@dataclass
class AccountMatchResult:
    accounts: int = 0  # accounts the leads matched in this run went to
    leads: int = 0  # leads (re)matched in this run
    matched: int = 0  # ... of which matched an account
    by_rule: Counter[str] = field(default_factory=Counter)
    tie_broken: int = 0  # matches where several accounts qualified and a tie-breaker chose
    unchanged: bool = False  # nothing the match reads changed since the last run: nothing written


# --------------------------------------------------------------------------- keys


def account_keys(
    domain: str | None,
    website: str | None,
    additional_domains: str | None,
    name: str | None,
    phone: str | None,
    country: str | None,
) -> list[tuple[str, str]]:
    """(kind, value) keys of one account: domain, name, initials, acronym, phone."""
    keys: list[tuple[str, str]] = []
    domains = [
        normalize_domain(domain),
        normalize_domain(website),
        *split_domains(additional_domains),
    ]
    domains.append(company_domain(name))
    for value in dict.fromkeys(d for d in domains if d):
        if is_matchable_domain(value):
            keys.append(("domain", value))
    keys.extend(_name_keys(name))
    number = phone_key(phone, country)
    if number:
        keys.append(("phone", number))
    return keys


def _name_keys(name: str | None) -> list[tuple[str, str]]:
    parsed = normalize_company_name(name)
    if parsed is None:
        return []
    keys = [("name", parsed.key)]
    if parsed.initials:
        keys.append(("initials", parsed.initials))
    if parsed.acronym:
        keys.append(("acronym", parsed.acronym))
    return keys


def _company_keys(company: str) -> list[tuple[str, str]]:
    """A lead's company field: a web address is a domain, anything else a name."""
    web = company_domain(company)
    if web is not None:
        return [("domain", web)] if is_matchable_domain(web) else []
    return _name_keys(company)


def _email_domain_key(email_domain: str) -> str | None:
    if is_free_email(email_domain):
        return None
    domain = normalize_domain(email_domain)
    return domain if is_matchable_domain(domain) else None


# --------------------------------------------------------------------------- SQL

# The newest raw version of each HubSpot company (found without reading the JSON).
_NEWEST_COMPANY_VERSIONS = """
select record_id, _raw_id
from raw.hubspot__companies
qualify row_number() over (
    partition by record_id order by record_updated_at desc nulls last, _loaded_at desc, _raw_id
) = 1
"""

# The newest raw version of each HubSpot company, with the properties matching reads.
_COMPANIES_SQL = f"""
select
    record_id as account_id,
    _raw_id as raw_id,
    nullif(json_extract_string(payload, '$.properties.name'), '') as name,
    nullif(json_extract_string(payload, '$.properties.domain'), '') as domain,
    nullif(json_extract_string(payload, '$.properties.website'), '') as website,
    nullif(json_extract_string(payload, '$.properties.hs_additional_domains'), '')
        as additional_domains,
    nullif(json_extract_string(payload, '$.properties.phone'), '') as phone,
    nullif(json_extract_string(payload, '$.properties.country'), '') as country,
    nullif(json_extract_string(payload, '$.properties.hubspot_owner_id'), '') as owner_id,
    nullif(json_extract_string(payload, '$.properties.num_associated_contacts'), '') as contacts,
    nullif(json_extract_string(payload, '$.properties.notes_last_updated'), '') as last_activity,
    coalesce(
        nullif(json_extract_string(payload, '$.properties.createdate'), ''),
        json_extract_string(payload, '$.createdAt')
    ) as created,
    coalesce(try_cast(json_extract_string(payload, '$.archived') as boolean), false) as is_archived
from raw.hubspot__companies
where _raw_id in (select _raw_id from ({_NEWEST_COMPANY_VERSIONS}) as newest)
"""

# Each live account with what the tie-breakers compare. HubSpot dates are ISO-8601 or epoch
# milliseconds; unreadable ones are null (and lose the latest_activity / oldest comparisons).
_ACCOUNTS_SQL = f"""
with companies as ({_COMPANIES_SQL}),
archived_owners as (
    select record_id
    from raw.hubspot__owners
    where coalesce(try_cast(json_extract_string(payload, '$.archived') as boolean), false)
    qualify row_number() over (
        partition by record_id order by record_updated_at desc nulls last, _loaded_at desc, _raw_id
    ) = 1
)
select
    account_id,
    owner_id,
    owner_id is not null and owner_id not in (select record_id from archived_owners) as has_owner,
    coalesce(try_cast(try_cast(contacts as double) as bigint), 0) as count_contacts,
    case
        when regexp_full_match(last_activity, '[0-9]{{1,13}}')
            then make_timestamp(cast(last_activity as bigint) * 1000)
        else try_cast(last_activity as timestamptz) at time zone 'UTC'
    end as last_activity_at,
    case
        when regexp_full_match(created, '[0-9]{{1,13}}')
            then make_timestamp(cast(created as bigint) * 1000)
        else try_cast(created as timestamptz) at time zone 'UTC'
    end as created_at,
    try_cast(account_id as hugeint) as account_number
from companies
where not is_archived
"""

# One hash per lead of what its records say that matching reads; order-free, so cheap to group.
_LEAD_INPUTS_SQL = """
select
    i.lead_id,
    cast(bit_xor(hash(r.record_key, r.email_domain, r.is_free_email, r.company, r.phone_e164))
         as varchar) as inputs_hash
from ops.lead_identity i
join ops.lead_records r using (record_key)
group by i.lead_id
"""

_TEMP_TABLES = (
    "lf_lead_inputs",
    "lf_diff",
    "lf_rekey",
    "lf_stale",
    "lf_rematch",
    "lf_matches",
    "lf_changed",
)
_RESULT_COLUMNS = (
    "account_id",
    "account_owner_id",
    "match_rule",
    "matched_on",
    "count_candidates",
    "tie_break",
    "inputs_hash",
)
# The new rows that say something else than the stored ones (or have none).
_CHANGED_SQL = f"""
select n.*
from lf_matches n
left join ops.lead_accounts a using (lead_id)
where a.lead_id is null
   or {" or ".join(f"n.{c} is distinct from a.{c}" for c in _RESULT_COLUMNS)}
"""


# --------------------------------------------------------------------------- state


def _keys_version() -> str:
    """What the kept keys were made with: change it and every key is made again."""
    text = f"{MATCHER_VERSION}|{lists_fingerprint()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _accounts_hash(con: duckdb.DuckDBPyConnection, config: AccountsConfig) -> str:
    """What every lead's match depends on besides its own keys and its candidate accounts, as one
    hash: `domain_only` and the owners (an owner archived changes every tie they break). A changed
    company is followed account by account (ops.account_match_keys.raw_id)."""
    owners = con.execute(
        "select count(*), coalesce(bit_xor(hash(_raw_id)), 0) from raw.hubspot__owners"
    ).fetchone()
    return hashlib.sha256(repr([config.domain_only, owners]).encode("utf-8")).hexdigest()


def _first(row: tuple[Any, ...] | None) -> int:
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------- matching


def match_accounts(
    con: duckdb.DuckDBPyConnection, config: AccountsConfig, *, run_id: str, as_of: datetime
) -> AccountMatchResult:
    """Match the leads whose keys changed or whose candidate accounts changed (every lead when the
    owners or `domain_only` changed) and write ops.lead_accounts, the kept keys and
    ops.account_match_state in one transaction."""
    if not has_table(con, "ops", "lead_accounts"):
        return AccountMatchResult()
    if not config.enabled:
        with transaction(con):
            for table in ("lead_accounts", "lead_match_keys", "account_match_keys"):
                con.execute(f"delete from ops.{table}")
            con.execute("delete from ops.account_match_state")
        return AccountMatchResult()
    keys_version = _keys_version()
    accounts_hash = _accounts_hash(con, config)
    state = con.execute(
        "select keys_version, accounts_hash from ops.account_match_state where id = 1"
    ).fetchone()
    stored_keys, stored_accounts = state if state is not None else (None, None)
    rekey_all = stored_keys != keys_version
    rematch_all = rekey_all or stored_accounts != accounts_hash
    try:
        con.execute(f"create or replace temp table lf_lead_inputs as {_LEAD_INPUTS_SQL}")
        # one pass over both sides: leads whose records changed since their last match (or every
        # lead): keys made again; and leads that are gone (merged into another): rows dropped
        con.execute(
            """
            create or replace temp table lf_diff as
            select coalesce(n.lead_id, a.lead_id) as lead_id, n.inputs_hash,
                   n.lead_id is null as is_gone
            from lf_lead_inputs n
            full outer join ops.lead_accounts a using (lead_id)
            where ? or n.lead_id is null or a.lead_id is null or a.inputs_hash <> n.inputs_hash
            """,
            [rekey_all],
        )
        con.execute(
            "create or replace temp table lf_rekey as "
            "select lead_id, inputs_hash from lf_diff where not is_gone"
        )
        con.execute(
            "create or replace temp table lf_stale as select lead_id from lf_diff where is_gone"
        )
        # accounts with a new raw version since their keys were made (or every account)
        account_rows = _account_key_rows(con, rekey_all)
        stale = _first(con.execute("select count(*) from lf_stale").fetchone())
        rekeyed = _first(con.execute("select count(*) from lf_rekey").fetchone())
        if not (rematch_all or stale or rekeyed or len(account_rows)):
            return AccountMatchResult(unchanged=True)
        lead_keys = _lead_keys(con)
        with (
            registered(con, "new_lead_keys", lead_keys),
            registered(con, "new_account_keys", account_rows),
            transaction(con),
        ):
            _rematch_set(con, rematch_all)
            _write_keys(con, rekey_all)
            con.execute(
                f"create or replace temp table lf_matches as {_MATCH_SQL}",
                [list(rule_order(config.domain_only)), as_of, run_id],
            )
            # only rows that differ are written: a re-match after a CRM change rewrites the leads
            # whose account, rule or tie-break moved, not every lead it looked at
            con.execute(f"create or replace temp table lf_changed as {_CHANGED_SQL}")
            con.execute(
                "delete from ops.lead_accounts where lead_id in "
                "(select lead_id from lf_changed union all select lead_id from lf_stale)"
            )
            con.execute("insert into ops.lead_accounts by name select * from lf_changed")
            con.execute(
                """
                insert into ops.account_match_state
                    (id, keys_version, accounts_hash, matched_at, run_id)
                values (1, ?, ?, ?, ?)
                on conflict (id) do update set keys_version = excluded.keys_version,
                    accounts_hash = excluded.accounts_hash, matched_at = excluded.matched_at,
                    run_id = excluded.run_id
                """,
                [keys_version, accounts_hash, as_of, run_id],
            )
        result = _result(con)
    finally:
        for table in _TEMP_TABLES:
            con.execute(f"drop table if exists {table}")
    log.info(
        "accounts: %d of %d leads matched to %d accounts (%s); %d by a tie-breaker",
        result.matched,
        result.leads,
        result.accounts,
        ", ".join(f"{rule} {n}" for rule, n in result.by_rule.most_common()) or "none",
        result.tie_broken,
    )
    return result


def _rematch_set(con: duckdb.DuckDBPyConnection, rematch_all: bool) -> None:
    """lf_rematch: the leads to match again. Every lead when the owners, `domain_only` or the keys
    changed; else the leads whose own keys changed, and those a changed account may win or lose:
    leads holding a key of its old or new version, and the leads it holds now. Read before the
    account's old keys are replaced."""
    con.execute(
        """
        create or replace temp table lf_rematch as
        with changed_accounts as (
            select distinct account_id from new_account_keys
        ),
        changed_keys as (
            select kind, value from ops.account_match_keys
            where account_id in (select account_id from changed_accounts) and kind is not null
            union
            select kind, value from new_account_keys where kind is not null
        ),
        touched as (
            select lead_id from lf_rekey
            union
            select k.lead_id
            from ops.lead_match_keys k
            join changed_keys c
                on c.value = k.value
                and c.kind = case k.kind when 'acronym' then 'initials'
                                         when 'initials' then 'acronym' else k.kind end
            union
            select lead_id from ops.lead_accounts
            where account_id in (select account_id from changed_accounts)
        )
        select n.lead_id, n.inputs_hash
        from lf_lead_inputs n
        where ? or n.lead_id in (select lead_id from touched)
        """,
        [rematch_all],
    )


def _lead_keys(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """(lead_id, kind, value) for the leads in lf_rekey: each distinct email domain and company of
    their records normalized once in Python, the rest joined in DuckDB."""
    records = """
        select i.lead_id, r.email_domain, coalesce(r.is_free_email, false) as is_free_email,
               r.company, r.phone_e164
        from ops.lead_identity i
        join ops.lead_records r using (record_key)
        where i.lead_id in (select lead_id from lf_rekey)
    """
    domains = [
        row[0]
        for row in con.execute(
            f"select distinct email_domain from ({records}) "
            "where email_domain is not null and not is_free_email"
        ).fetchall()
    ]
    companies = [
        row[0]
        for row in con.execute(
            f"select distinct company from ({records}) where company is not null"
        ).fetchall()
    ]
    domain_map = pd.DataFrame(
        [(raw, key) for raw in domains if (key := _email_domain_key(raw))],
        columns=["raw", "value"],
    )
    company_map = pd.DataFrame(
        [(raw, kind, value) for raw in companies for kind, value in _company_keys(raw)],
        columns=["raw", "kind", "value"],
    )
    with (
        registered(con, "lf_domain_map", domain_map),
        registered(con, "lf_company_map", company_map),
    ):
        return con.execute(
            f"""
            with records as ({records})
            select distinct lead_id, kind, value from (
                select r.lead_id, 'domain' as kind, m.value
                from records r join lf_domain_map m on m.raw = r.email_domain
                where not r.is_free_email
                union all
                select r.lead_id, m.kind, m.value
                from records r join lf_company_map m on m.raw = r.company
                union all
                select lead_id, 'phone', phone_e164 from records where phone_e164 is not null
            )
            """
        ).df()


def _account_key_rows(con: duckdb.DuckDBPyConnection, rekey_all: bool) -> pd.DataFrame:
    """(account_id, raw_id, kind, value) for the accounts whose newest raw version has no keys yet
    (every account when the keys are made again); kind null for an account with none."""
    changed = con.execute(
        f"""
        select record_id, _raw_id,
               nullif(json_extract_string(payload, '$.properties.domain'), ''),
               nullif(json_extract_string(payload, '$.properties.website'), ''),
               nullif(json_extract_string(payload, '$.properties.hs_additional_domains'), ''),
               nullif(json_extract_string(payload, '$.properties.name'), ''),
               nullif(json_extract_string(payload, '$.properties.phone'), ''),
               nullif(json_extract_string(payload, '$.properties.country'), ''),
               coalesce(try_cast(json_extract_string(payload, '$.archived') as boolean), false)
        from raw.hubspot__companies
        where _raw_id in (
            select _raw_id from ({_NEWEST_COMPANY_VERSIONS}) as newest
            where ? or _raw_id not in (select raw_id from ops.account_match_keys)
        )
        """,
        [rekey_all],
    ).fetchall()
    rows: list[tuple[str, str, str | None, str | None]] = []
    for account_id, raw_id, domain, website, additional, name, phone, country, archived in changed:
        keys = [] if archived else account_keys(domain, website, additional, name, phone, country)
        rows.extend((account_id, raw_id, kind, value) for kind, value in keys)
        if not keys:
            rows.append((account_id, raw_id, None, None))
    return pd.DataFrame(rows, columns=["account_id", "raw_id", "kind", "value"])


def _write_keys(con: duckdb.DuckDBPyConnection, rekey_all: bool) -> None:
    """Replace the kept keys of the re-keyed leads and accounts; drop those of leads that are gone
    (merged into another) and of accounts' older versions."""
    con.execute(
        "delete from ops.lead_match_keys where lead_id in "
        "(select lead_id from lf_rekey union all select lead_id from lf_stale)"
    )
    con.execute("insert into ops.lead_match_keys by name select * from new_lead_keys")
    if rekey_all:
        con.execute("delete from ops.account_match_keys")
    else:
        con.execute(
            f"""
            delete from ops.account_match_keys
            where account_id in (select account_id from new_account_keys)
               or raw_id not in (select _raw_id from ({_NEWEST_COMPANY_VERSIONS}) as newest)
            """
        )
    con.execute("insert into ops.account_match_keys by name select * from new_account_keys")


# ops.lead_accounts rows for the leads in lf_rematch. Parameters: the rules in the order they are
# tried (rule_order()), as_of, run_id. A pair's tier is the position of the first rule it qualifies
# for; a rule the order leaves out (domain under `off`) has no position and never qualifies.
_TIER_SQL = (
    "least("
    + ", ".join(
        f"case when {condition} then list_position(params.rules, '{rule}') end"
        for rule, (condition, _) in _RULE_SQL.items()
    )
    + ")"
)
_MATCHED_ON = (
    "case rule "
    + " ".join(f"when '{rule}' then {column}" for rule, (_, column) in _RULE_SQL.items())
    + " end"
)
_RANKING = (
    "has_owner desc, count_contacts desc, last_activity_at desc nulls last, "
    "created_at asc nulls last, account_number asc nulls last, account_id asc"
)
_MATCH_SQL = f"""
with params as (select cast(? as varchar[]) as rules, cast(? as timestamp) as matched_at,
                       cast(? as varchar) as run_id),
accounts as ({_ACCOUNTS_SQL}),
lead_keys as (
    select k.* from ops.lead_match_keys k where k.lead_id in (select lead_id from lf_rematch)
),
pairs as (
    select
        l.lead_id,
        a.account_id,
        bool_or(l.kind = 'domain') as by_domain,
        bool_or(l.kind = 'name') as by_name,
        bool_or(l.kind in ('acronym', 'initials')) as by_acronym,
        bool_or(l.kind = 'phone') as by_phone,
        min(case when l.kind = 'domain' then l.value end) as domain_value,
        min(case when l.kind = 'name' then l.value end) as name_value,
        min(case when l.kind in ('acronym', 'initials') then l.value end) as acronym_value
    from lead_keys l
    -- a lead's acronym meets an account's initials, and the other way round
    join ops.account_match_keys a
        on a.value = l.value
        and a.kind = case l.kind when 'acronym' then 'initials'
                                 when 'initials' then 'acronym' else l.kind end
    group by l.lead_id, a.account_id
),
candidates as (
    select p.*, {_TIER_SQL} as tier, acc.* exclude (account_id)
    from pairs p
    cross join params
    join accounts acc using (account_id)
    qualify tier is not null
        and tier = min(tier) over (partition by p.lead_id)
),
ranked as (
    select
        candidates.*,
        params.rules[tier] as rule,
        count(*) over (partition by lead_id) as count_candidates,
        row_number() over w as pick,
        lead(has_owner) over w as next_has_owner,
        lead(count_contacts) over w as next_count_contacts,
        lead(last_activity_at) over w as next_last_activity_at,
        lead(created_at) over w as next_created_at
    from candidates
    cross join params
    window w as (partition by lead_id order by {_RANKING})
),
best as (
    select ranked.*, {_MATCHED_ON} as matched_on
    from ranked
    where pick = 1
)
select
    d.lead_id,
    b.account_id,
    b.owner_id as account_owner_id,
    b.rule as match_rule,
    b.matched_on,
    coalesce(b.count_candidates, 0) as count_candidates,
    case
        when coalesce(b.count_candidates, 0) < 2 then null
        when b.has_owner is distinct from b.next_has_owner then 'has_owner'
        when b.count_contacts is distinct from b.next_count_contacts then 'most_contacts'
        when b.last_activity_at is distinct from b.next_last_activity_at then 'latest_activity'
        when b.created_at is distinct from b.next_created_at then 'oldest'
        else 'lowest_id'
    end as tie_break,
    d.inputs_hash,
    params.matched_at,
    params.run_id
from lf_rematch d
cross join params
left join best b on b.lead_id = d.lead_id
"""


def _result(con: duckdb.DuckDBPyConnection) -> AccountMatchResult:
    rows = con.execute(
        """
        select match_rule, count(*), sum(case when count_candidates > 1 then 1 else 0 end)
        from lf_matches
        group by match_rule
        """
    ).fetchall()
    by_rule = Counter({str(rule): int(n) for rule, n, _ in rows if rule is not None})
    return AccountMatchResult(
        accounts=_first(
            con.execute("select count(distinct account_id) from lf_matches").fetchone()
        ),
        leads=sum(int(n) for _, n, _ in rows),
        matched=sum(by_rule.values()),
        by_rule=by_rule,
        tie_broken=sum(int(t or 0) for rule, _, t in rows if rule is not None),
    )
