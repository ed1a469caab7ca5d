"""Access to the warehouse file and the tables Python owns (schemas `raw` and `ops`).

DuckDB allows one writer per file and never waits for a lock, so every caller opens a connection for
the shortest useful time with `connect()` and closes it before anything else (dbt, another task)
needs the file. Timestamps are stored as naive UTC `timestamp` values throughout.

The table definitions below are the contract with dbt, which reads them as sources
(dbt_project/models/staging/leadflow/_leadflow__sources.yml).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

SCHEMAS = ("raw", "ops")

# Raw landing tables: one per source stream, append-only, the original payload kept verbatim.
# A re-read of an unchanged record produces the same _raw_id and is not stored twice.
# Lead streams (connectors.LEAD_STREAMS) become ops.lead_records; the others (owners, deals,
# companies, HubSpot's stage histories, ad insights) are reference and activity data that dbt,
# routing and account matching read. The webform table is filled by `leadflow serve` (webhooks)
# only; google_ads's by the webhook and, when sources.google_ads is configured, by a pull of the
# same submissions.
RAW_STREAMS: tuple[tuple[str, str], ...] = (
    ("hubspot", "contacts"),
    ("hubspot", "owners"),
    ("hubspot", "deals"),
    ("hubspot", "companies"),
    ("hubspot", "contact_lifecycle_history"),
    ("hubspot", "deal_stage_history"),
    ("meta", "leads"),
    ("meta", "ad_insights"),
    ("typeform", "responses"),
    ("webform", "submissions"),
    ("google_ads", "lead_form_submissions"),
    ("salesforce", "leads"),
    ("salesforce", "contacts"),
    ("salesforce", "opportunities"),
    ("salesforce", "opportunity_history"),
    ("salesforce", "users"),
    ("linkedin", "lead_form_responses"),
    ("pipedrive", "persons"),
    ("pipedrive", "leads"),
    ("pipedrive", "deals"),
    ("pipedrive", "users"),
    ("file_drop", "events"),
    ("file_drop", "referrals"),
)

RAW_TABLE_DDL = """
create table if not exists raw.{name} (
    _raw_id           varchar primary key,   -- md5(record_id, payload_hash): one row per version
    record_id         varchar not null,      -- the source's own id for the record
    _partition        varchar,               -- what it was pulled under (a form id), if anything
    record_updated_at timestamp,             -- the stream's cursor field, as UTC
    payload           json not null,         -- the record exactly as the API returned it
    payload_hash      varchar not null,
    _run_id           varchar not null,
    _loaded_at        timestamp not null
)
"""

OPS_DDL = """
create table if not exists ops.sync_state (
    source       varchar not null,
    stream       varchar not null,
    cursor_value varchar,                  -- the newest cursor value covered by committed raw rows
    updated_at   timestamp not null,
    run_id       varchar not null,
    primary key (source, stream)
);

create table if not exists ops.sync_runs (
    run_id      varchar primary key,
    started_at  timestamp not null,
    finished_at timestamp,
    as_of       timestamp not null,
    status      varchar not null,          -- running | completed | failed
    summary     json
);

create table if not exists ops.quarantine (
    _raw_id             varchar primary key,  -- the raw version that failed
    source              varchar not null,
    stream              varchar not null,
    record_id           varchar,
    run_id              varchar not null,
    failed_expectations json not null,        -- GX expectation types that failed
    reasons             json not null,        -- one readable reason per failure
    payload             json not null,
    quarantined_at      timestamp not null
);

create table if not exists ops.lead_records (
    record_key        varchar primary key,    -- '<source>:<stream>:<record_id>'
    source            varchar not null,
    stream            varchar not null,
    record_id         varchar not null,
    _raw_id           varchar not null,       -- the raw version these values come from
    email             varchar,                -- trimmed, lower-cased
    email_domain      varchar,
    is_free_email     boolean,
    phone_e164        varchar,
    phone_timezone    varchar,                -- IANA zone of the phone's prefix, when it has one
    first_name        varchar,
    last_name         varchar,
    company           varchar,
    job_title         varchar,
    seniority         varchar,                -- from the job title: c_level | vp | director | ...
    department        varchar,                -- from the job title: sales | marketing | ...
    industry          varchar,                -- snake_case key, e.g. real_estate
    employee_band     varchar,                -- HubSpot's numemployees bands: 1-5 ... 1000+
    is_unsubscribed   boolean,                -- opted out of all email
    is_bounced        boolean,                -- the address hard-bounced
    country_code      varchar,                -- ISO 3166-1 alpha-2
    crm_contact_id    varchar,                -- the CRM's own id, when the record comes from the CRM
    crm_owner_id      varchar,                -- the owner the CRM holds for the record
    leadflow_lead_id  varchar,                -- our lead id, when the CRM echoes it back
    crm_merged_ids    varchar,                -- ids the CRM merged into this record ('1;2'): one lead
    crm_merged_into   varchar,                -- the record the CRM merged this one into: one lead
    form_id           varchar,
    intent_event      varchar,                -- what a submission of this record's form counts as
    record_created_at timestamp,
    record_updated_at timestamp,
    -- when the source last changed a value survivorship reads (the golden record's fields): a
    -- version that only moves record_updated_at (LeadFlow's own push, an edit to another field)
    -- keeps the previous version's time, so it does not become the "newest" record
    values_changed_at timestamp,
    first_seen_at     timestamp not null,
    run_id            varchar not null
);

create table if not exists ops.lead_identity (
    record_key         varchar primary key,
    lead_id            varchar not null,
    rule               varchar not null,      -- new_lead | email | crm_lead_id | crm_merge | phone | probabilistic | crm_echo
    matched_record_key varchar,               -- the record it was linked to (null for new_lead)
    resolved_at        timestamp not null,
    run_id             varchar not null,
    match_probability  double precision       -- rule probabilistic: the model's match probability
);

-- The digest of everything the last identity resolution read, as it stood after its writes
-- (dedupe/deterministic.py input_digest): a run that finds the same digest has nothing to resolve.
create table if not exists ops.identity_state (
    id           integer primary key,      -- 1: one row
    input_digest varchar not null,
    resolved_at  timestamp not null,
    run_id       varchar not null
);

create table if not exists ops.lead_merges (
    from_lead_id varchar not null,
    into_lead_id varchar not null,
    rule         varchar not null,
    merged_at    timestamp not null,
    run_id       varchar not null,
    primary key (from_lead_id)
);

create table if not exists ops.lead_scores (
    lead_id        varchar primary key,
    score          integer not null,
    fit_score      integer not null,
    intent_score   integer not null,
    negative_score integer not null,
    grade          varchar not null,
    temperature    varchar not null,
    is_mql         boolean not null,
    is_sql         boolean,                  -- score >= sql_threshold (false when none is set)
    factors        json not null,            -- every factor + adjustment; points sum to the score
    reasons        varchar not null,         -- the same, readable, as pushed to the CRM
    model_version  varchar not null,
    scored_as_of   timestamp not null,
    scored_at      timestamp not null,
    run_id         varchar not null,
    input_fingerprint varchar               -- what it was computed from (scoring/__init__.py)
);

create table if not exists ops.lead_score_history (
    lead_id       varchar not null,
    score         integer not null,
    grade         varchar not null,
    temperature   varchar not null,
    is_mql        boolean not null,
    model_version varchar not null,
    scored_as_of  timestamp not null,
    scored_at     timestamp not null,
    run_id        varchar not null,
    cause         varchar                    -- new lead | rules changed | new activity: ... | ...
);

create table if not exists ops.lead_lifecycle_events (
    lead_id     varchar not null,
    event       varchar not null,            -- mql | sql (the first crossing of the threshold)
    occurred_at timestamp not null,
    score       integer,
    run_id      varchar not null,
    primary key (lead_id, event)
);

create table if not exists ops.lead_assignments (
    lead_id     varchar primary key,
    owner_id    varchar not null,
    owner_email varchar,
    pool        varchar,
    rule        varchar not null,            -- the routing rule's name, or fallback
    reason      varchar not null,
    assigned_at timestamp not null,
    run_id      varchar not null,
    action      varchar                      -- sticky | account_owner | pool | rep | fallback
);

create table if not exists ops.push_state (
    destination           varchar not null,
    lead_id               varchar not null,
    payload_hash          varchar not null, -- hash of the last payload the destination acknowledged
    destination_record_id varchar,
    acknowledged_at       timestamp not null,
    run_id                varchar not null,
    -- md5 in SQL of that row's owned columns (connectors/reverse_etl.py read_changed_sync_rows):
    -- a sync row whose hash is this one is not read at all; null: read and compared by payload_hash
    row_hash              varchar,
    primary key (destination, lead_id)
);

create table if not exists ops.push_log (
    run_id                varchar not null,
    destination           varchar not null,
    lead_id               varchar not null,
    operation             varchar not null, -- update | upsert
    status                varchar not null, -- sent (before the call) | ok | error
    destination_record_id varchar,
    payload_hash          varchar not null,
    http_status           integer,
    error                 varchar,
    logged_at             timestamp not null
);

create table if not exists ops.dead_letter (
    destination     varchar not null,
    lead_id         varchar not null,
    payload         json not null,
    payload_hash    varchar not null,
    error_category  varchar not null,
    error_message   varchar not null,
    retriable       boolean not null,        -- false: the same payload would fail the same way
    attempts        integer not null,
    first_failed_at timestamp not null,
    last_failed_at  timestamp not null,
    -- not sent again while its payload is unchanged: rejected as invalid, or still failing after
    -- the destination's max_attempts; `leadflow dead-letters --requeue` sends it again
    permanent       boolean not null default false,
    primary key (destination, lead_id)
);

-- What each push did, one row per destination per run (a `leadflow push --dry-run` writes none).
create table if not exists ops.push_runs (
    run_id        varchar not null,
    destination   varchar not null,
    mode          varchar not null,          -- upsert | update
    started_at    timestamp not null,
    finished_at   timestamp not null,
    candidates    integer not null,          -- rows in the sync model
    unchanged     integer not null,          -- payload the destination already acknowledged
    changed       integer not null,          -- payload differs from the acknowledged one
    processed     integer not null,          -- changed rows sent
    creates       integer not null,          -- of those, upserts (create, or match by unique id)
    updates       integer not null,          -- of those, updates by record id
    succeeded     integer not null,
    rejected      integer not null,          -- dead-lettered in this run
    skipped_permanent integer not null,      -- changed rows not sent: a permanent dead letter
    skipped_not_in_destination integer not null, -- update mode: rows with no record to update
    primary key (run_id, destination)
);
"""


# The nurture and recycle path (routing/nurture.py, routing/recycle.py). A lead has at most one open
# membership (exited_at is null); closed ones are kept as history. Routing reads the exit_reason of a
# lead's latest exited membership as `nurture_exit_reason`.
NURTURE_DDL = """
create table if not exists ops.nurture_memberships (
    lead_id             varchar not null,
    track               varchar not null,
    entered_at          timestamp not null,
    exited_at           timestamp,            -- null while the lead is in the track
    exit_reason         varchar,              -- mql | pricing_visit | replied | ... (docs/nurture.md)
    run_id              varchar not null,     -- the run that enrolled the lead
    lemlist_campaign_id varchar,
    exited_run_id       varchar,
    primary key (lead_id, entered_at)
);

create table if not exists ops.nurture_exclusions (
    lead_id    varchar primary key,
    reason     varchar not null,              -- unsubscribed
    flagged_at timestamp not null,
    run_id     varchar not null
);

create table if not exists ops.nurture_pushes (
    lead_id     varchar not null,
    campaign_id varchar not null,
    operation   varchar not null,             -- add | remove
    entered_at  timestamp not null,           -- the membership the call belongs to
    status      varchar not null,             -- ok | error (retried) | rejected (not retried)
    http_status integer,
    error       varchar,
    sent_at     timestamp not null,
    run_id      varchar not null,
    primary key (lead_id, entered_at, operation)
);

create table if not exists ops.lead_recycling (
    lead_id           varchar not null,
    action            varchar not null,       -- recycled | closed
    reason            varchar not null,
    last_activity_at  timestamp,
    previous_owner_id varchar,
    track             varchar,                -- the nurture track a recycled lead went back to
    crm_lead_status   varchar,                -- the hs_lead_status value set in the CRM
    recycled_at       timestamp not null,
    run_id            varchar not null,
    primary key (lead_id, recycled_at)
);
"""


# Columns added after the tables first shipped: an existing warehouse file gains them in place.
SCORING_COLUMNS_DDL: tuple[str, ...] = (
    "alter table ops.lead_records add column if not exists seniority varchar",
    "alter table ops.lead_records add column if not exists department varchar",
    "alter table ops.lead_records add column if not exists industry varchar",
    "alter table ops.lead_records add column if not exists employee_band varchar",
    "alter table ops.lead_records add column if not exists is_unsubscribed boolean",
    "alter table ops.lead_records add column if not exists is_bounced boolean",
    "alter table ops.lead_scores add column if not exists is_sql boolean",
    # null until the lead is next scored: every stored score is recomputed once
    "alter table ops.lead_scores add column if not exists input_fingerprint varchar",
    "alter table ops.lead_score_history add column if not exists cause varchar",
    "alter table ops.lead_identity add column if not exists match_probability double precision",
    "alter table ops.push_state add column if not exists row_hash varchar",
)


# Routing (routing/): the audit (one row per decision), the pools' strategy state, the queues and
# the lease that lets one router at a time write. ops.lead_assignments (above) holds current owners.
ROUTING_DDL = """
create table if not exists ops.routing_audit (
    decision_id       varchar primary key,   -- '<run_id>:<seq>'
    lead_id           varchar not null,
    run_id            varchar not null,
    seq               integer not null,      -- the decision's place in its run
    decided_at        timestamp not null,
    outcome           varchar not null,      -- assigned | kept | reassigned | queued | held | unassigned
    rule              varchar not null,      -- the rule that decided, fallback, or none
    action            varchar,               -- sticky | account_owner | pool | rep | queue | fallback
    owner_id          varchar,
    owner_email       varchar,
    previous_owner_id varchar,               -- a re-route: who had the lead before
    pool              varchar,
    queue             varchar,
    reason            varchar not null,
    evaluated         json not null,         -- every rule tried, in order, and why it did (not) match
    candidates        json,                  -- the reps of the pool that decided
    skipped           json,                  -- [{rep, why, rule}]: capped, unavailable, inactive, ...
    strategy_before   json,                  -- the pool's round-robin state before and after
    strategy_after    json,
    recorded_at       timestamp              -- wall clock of the write (orders same-time decisions)
);

create table if not exists ops.routing_pools (
    pool       varchar primary key,
    next_index integer not null,             -- turns handed out so far
    updated_at timestamp not null,
    state      json                          -- smooth weighted round robin: rep -> current weight
);

create table if not exists ops.routing_queue (
    lead_id   varchar primary key,           -- a lead left for people to pick up; not routed again
    queue     varchar not null,
    rule      varchar not null,
    reason    varchar not null,
    queued_at timestamp not null,
    run_id    varchar not null
);

-- The unrouted leads routing.eligible leaves to the nurture path, with the row (hash(...) of
-- everything a condition reads) and the condition they were judged on: routing/roster.py
-- load_unrouted reads such a lead again only once either changed.
create table if not exists ops.routing_not_eligible (
    lead_id          varchar primary key,
    input_hash       varchar not null,      -- DuckDB's hash(row), as text
    condition_digest varchar not null,
    judged_at        timestamp not null
);

create table if not exists ops.routing_lease (
    name        varchar primary key,         -- 'route': one router writes at a time
    holder      varchar not null,
    acquired_at timestamp not null,
    expires_at  timestamp not null
);
"""


def _migrate_routing(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a warehouse made before the rules engine up to ROUTING_DDL (idempotent)."""
    con.execute("alter table ops.lead_assignments add column if not exists action varchar")
    audit_cols = set(table_columns(con, "ops", "routing_audit"))
    if audit_cols and "decision_id" not in audit_cols:
        # The first audit was keyed (lead_id, run_id), which a re-route in the same run breaks.
        con.execute("alter table ops.routing_audit rename to routing_audit_v1")
        con.execute(ROUTING_DDL)
        con.execute(
            """insert into ops.routing_audit (decision_id, lead_id, run_id, seq, decided_at, outcome,
                   rule, owner_id, reason, evaluated)
               select run_id || ':' || lead_id, lead_id, run_id,
                      row_number() over (partition by run_id order by lead_id), decided_at,
                      case when owner_id is null then 'unassigned' else 'assigned' end,
                      rule, owner_id, reason, evaluated
               from ops.routing_audit_v1"""
        )
        con.execute("drop table ops.routing_audit_v1")
    con.execute("alter table ops.routing_pools add column if not exists state json")
    con.execute("alter table ops.routing_audit add column if not exists recorded_at timestamp")


# The predictive model (scoring/model.py): every trained version, its artifact as JSON (no pickle),
# its holdout metrics next to the rules score's. At most one row is active.
MODEL_DDL = """
create table if not exists ops.scoring_models (
    model_version      varchar primary key,
    trained_at         timestamp not null,
    algorithm          varchar not null,     -- logistic_regression
    config_hash        varchar not null,     -- scoring.model settings it was trained with
    features           json not null,        -- the design's column names, in coefficient order
    artifact           json not null,        -- encoders, scalers, coefficients, intercept
    metrics            json not null,        -- holdout AUC and Brier, model and rules, sizes, cutoff
    calibration        json not null,        -- per decile of prediction: predicted mean, observed rate
    lift               json not null,        -- per decile: conversion rate, lift, share captured
    train_leads        integer not null,
    holdout_leads      integer not null,
    status             varchar not null,     -- active | candidate | retired
    source             varchar not null,     -- warehouse | history_export
    status_reason      varchar               -- why it is (not) active
);
"""


# SLAs and notifications (routing/sla.py, routing/notify.py). A breach is recorded once per
# (lead, owner, policy); ops.notifications is the outbox: one row per (lead, owner, kind, channel),
# sent at most once, retried on later runs while pending.
NOTIFY_DDL = """
create table if not exists ops.sla_breaches (
    lead_id     varchar not null,
    owner_id    varchar not null,            -- the owner who missed the first touch
    owner_email varchar,
    policy      varchar not null,
    assigned_at timestamp not null,          -- when the clock started (the owner visible in the CRM)
    due_at      timestamp,                   -- assigned_at + the limit in working minutes
    touched_at  timestamp,                   -- the CRM's first engagement, null if none yet
    breached_at timestamp not null,          -- the run's as_of when the breach was seen
    action      varchar not null,            -- record | escalate | reroute
    new_owner   varchar,                     -- reroute: the owner id the lead went to
    run_id      varchar not null,
    primary key (lead_id, owner_id, policy)
);

create table if not exists ops.notifications (
    notification_id varchar primary key,     -- md5(lead_id, owner_id, kind, channel)
    lead_id         varchar not null,
    owner_id        varchar not null,
    kind            varchar not null,        -- assignment | sla_breach | escalation
    channel         varchar not null,        -- slack | email
    recipient       varchar,                 -- the address an email goes to (never logged)
    status          varchar not null,        -- pending | sent | failed
    attempts        integer not null,
    last_error      varchar,                 -- category and status only, no personal data
    created_at      timestamp not null,
    sent_at         timestamp,
    run_id          varchar not null         -- the run that queued it
);
"""


# Erasure (leadflow/forget.py, docs/privacy.md). The log is the audit of every erasure and of every
# suppressed arrival, with counts only: no email, name, phone or lead id. Suppressions hold salted
# sha256 hashes of erased emails and record keys, so a sync can drop a returning person without the
# warehouse keeping who they were; the salt (one random value) lives in ops.erasure_salt.
ERASURE_DDL = """
create table if not exists ops.erasure_log (
    erasure_id           varchar primary key,  -- a uuid
    kind                 varchar not null,     -- request (leadflow forget) | arrival (a sync dropped one)
    requested_at         timestamp not null,
    reference            varchar,              -- the operator's ticket id, as given
    run_id               varchar,              -- arrival: the sync run that dropped the records
    deleted              json not null,        -- table -> rows deleted
    records_erased       json not null,        -- 'source.stream' -> records erased
    crm_delete_requested boolean not null,
    crm_outcome          varchar not null,     -- not_requested | pending (CRM call under way) | deleted | failed
    crm_detail           json                  -- counts per answer, error status and category only
);

create table if not exists ops.erasure_suppressions (
    kind          varchar not null,            -- email | record ('<source>:<stream>:<record_id>')
    value_hash    varchar not null,            -- sha256(salt || ':' || value), hex
    source        varchar,                     -- record: where the erased record came from
    stream        varchar,
    erasure_id    varchar not null,            -- the erasure_log row that added it
    suppressed_at timestamp not null,
    primary key (kind, value_hash)
);

create table if not exists ops.erasure_salt (
    salt       varchar not null,               -- random, created once; meaningless on its own
    created_at timestamp not null
);
"""


# Lead-to-account matching (dedupe/accounts.py): every lead and the CRM account it matched, if any,
# with the rule and the tie-breaker; the comparable keys of each lead and of each account, kept so
# that only what changed is normalized again; and what the last match read.
ACCOUNTS_DDL = """
create table if not exists ops.lead_accounts (
    lead_id          varchar primary key,
    account_id       varchar,               -- the CRM account (HubSpot company id); null: none matched
    account_owner_id varchar,               -- the account's owner (hubspot_owner_id) when it matched
    match_rule       varchar,               -- domain_and_name | domain | company_name | company_acronym | phone
    matched_on       varchar,               -- the domain, name or acronym that matched (never a phone)
    count_candidates integer not null,      -- accounts the winning rule found; > 1: a tie-breaker chose
    tie_break        varchar,               -- has_owner | most_contacts | latest_activity | oldest | lowest_id
    inputs_hash      varchar not null,      -- the lead's domains, company names and phones, hashed
    matched_at       timestamp not null,   -- the run (as_of) that last changed this row
    run_id           varchar not null
);

create table if not exists ops.lead_match_keys (   -- no key: written in bulk, distinct by construction
    lead_id varchar not null,
    kind    varchar not null,               -- domain | name | initials | acronym | phone
    value   varchar not null
);

create table if not exists ops.account_match_keys (
    account_id varchar not null,
    raw_id     varchar not null,            -- the account's raw version the keys come from
    kind       varchar,                     -- domain | name | initials | acronym | phone; null: none
    value      varchar
);

create table if not exists ops.account_match_state (
    id            integer primary key,      -- always 1
    keys_version  varchar not null,         -- the normalizers' version and lists the keys were made with
    accounts_hash varchar not null,         -- the accounts, owners and domain_only the match read
    matched_at    timestamp not null,
    run_id        varchar not null
);
"""


# Firmographics (enrichment/firmographics.py): the provider's answer per company email domain, kept
# as a cache with a TTL, and the lookups sent per UTC day, against enrichment.firmographics
# .daily_budget. An answer and the lookup it cost commit together.
ENRICHMENT_DDL = """
create table if not exists ops.company_enrichment (
    domain            varchar primary key,     -- lower-case business email domain
    provider          varchar not null,        -- apollo
    status            varchar not null,        -- found | not_found | rejected (the provider refused the domain)
    industry          varchar,                 -- LeadFlow's snake_case industry key (seed industry_aliases)
    industry_label    varchar,                 -- the provider's own label, e.g. 'computer software'
    employee_count    integer,                 -- the provider's estimate
    employee_band     varchar,                 -- HubSpot's numemployees bands: 1-5 ... 1000+
    annual_revenue    bigint,                  -- USD, the provider's estimate
    revenue_band      varchar,                 -- <1M | 1M-10M | 10M-50M | 50M-100M | 100M-500M | 500M-1B | 1B+
    technologies      json,                    -- ["Salesforce", "HubSpot", ...]
    organization_id   varchar,                 -- the provider's id for the company
    organization_name varchar,
    organization      json,                    -- the company exactly as the provider returned it
    fetched_at        timestamp not null,      -- when it was asked (the run's as_of)
    run_id            varchar not null
);

create table if not exists ops.enrichment_usage (
    provider varchar not null,
    day      date not null,                    -- UTC day of the run's as_of
    lookups  integer not null,                 -- requests sent (one per domain asked, retries aside)
    primary key (provider, day)
);
"""


# The file drop's ledger (connectors/file_drop): one row per file loaded, known by its content hash
# within its stream; the same bytes dropped again, under any name, are not loaded twice. It is the
# file drop's cursor: a file's row commits with the raw rows it landed (leadflow/landing.py).
FILE_DROP_DDL = """
create table if not exists ops.file_drop_files (
    stream           varchar not null,     -- events | referrals: the folder it was found in
    content_sha256   varchar not null,     -- sha256 of the file's bytes: what makes it the same file
    file_name        varchar not null,     -- where it was found, under the drop folder: events/x.csv
    byte_size        bigint not null,
    status           varchar not null,     -- loaded | rejected (no CSV text, empty, no email or phone column)
    reason           varchar,              -- rejected: why (the one raw record it landed says the same)
    count_rows       integer not null,     -- data rows, one raw record each (0 when rejected)
    count_blank_rows integer not null,     -- rows with no value at all: not data, not landed
    loaded_at        timestamp not null,
    run_id           varchar not null,
    primary key (stream, content_sha256)
);
"""


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the table or view exists (dbt builds some only on its first run)."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """A table's column names in order; empty when the table does not exist (yet)."""
    return [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def utcnow() -> datetime:
    """Now as a naive UTC datetime, the form every warehouse timestamp takes."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def stable_hash(value: Any) -> str:
    """A hash of a JSON-able value that does not depend on key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    # surrogatepass: a lone surrogate (from a vendor's "\\ud800" escape) hashes instead of raising.
    return hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest()


def nulls_to_none(frame: pd.DataFrame) -> pd.DataFrame:
    """NaN/NaT/NA -> None, so rows read into Python compare and test as plain values."""
    return frame.astype(object).where(frame.notna(), None)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[str]:
    """Expose a DataFrame to SQL as `name` for the length of a block (unregistered even on error)."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def raw_table(source: str, stream: str) -> str:
    if (source, stream) not in RAW_STREAMS:
        raise ValueError(f"no raw table for {source}.{stream}")
    return f"raw.{source}__{stream}"


class Warehouse:
    """The warehouse file. Open connections briefly; DuckDB has one writer and does not wait."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def connect(
        self, *, retries: int = 20, retry_wait_s: float = 0.25
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, closed on exit.

        Another process holding the file makes DuckDB fail at once; a short bounded wait covers a
        neighbour that is about to close (a dbt subprocess, a CLI query) without hiding a real clash.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(retries):
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or attempt == retries - 1:
                    raise
                time.sleep(retry_wait_s)
        try:
            yield con
        finally:
            con.close()

    def ensure_schema(self) -> None:
        """Create the raw and ops tables if they are missing (idempotent)."""
        with self.connect() as con:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
            for source, stream in RAW_STREAMS:
                con.execute(RAW_TABLE_DDL.format(name=f"{source}__{stream}"))
            con.execute(OPS_DDL)
            con.execute(ROUTING_DDL)
            _migrate_routing(con)
            for statement in SCORING_COLUMNS_DDL:
                con.execute(statement)
            _migrate_phone_timezones(con)
            _migrate_crm_merged_ids(con)
            _migrate_crm_merged_into(con)
            _migrate_values_changed_at(con)
            _migrate_dead_letters(con)
            con.execute(NURTURE_DDL)
            con.execute(MODEL_DDL)
            con.execute(NOTIFY_DDL)
            con.execute(ERASURE_DDL)
            con.execute(ENRICHMENT_DDL)
            con.execute(ACCOUNTS_DDL)
            con.execute(FILE_DROP_DDL)


def _migrate_dead_letters(con: duckdb.DuckDBPyConnection) -> None:
    """ops.dead_letter.permanent, added after the table shipped: a row rejected as invalid was
    already never resent unchanged, so it starts permanent."""
    if "permanent" in table_columns(con, "ops", "dead_letter"):
        return
    with transaction(con):
        con.execute("alter table ops.dead_letter add column permanent boolean default false")
        con.execute("update ops.dead_letter set permanent = not retriable")


def _migrate_crm_merged_ids(con: duckdb.DuckDBPyConnection) -> None:
    """ops.lead_records.crm_merged_ids, added after the table shipped. Nothing to derive for the
    records already stored: no pull asked for HubSpot's hs_merged_object_ids before, and a merge
    makes a new contact (a new version the next pull reads), so the column fills as merges come."""
    if "crm_merged_ids" not in table_columns(con, "ops", "lead_records"):
        con.execute("alter table ops.lead_records add column crm_merged_ids varchar")


def _migrate_crm_merged_into(con: duckdb.DuckDBPyConnection) -> None:
    """ops.lead_records.crm_merged_into, added after the table shipped. Nothing to derive for the
    records already stored: a merge's loser was quarantined as deleted without noting where it
    went, so the column fills as merges come."""
    if "crm_merged_into" not in table_columns(con, "ops", "lead_records"):
        con.execute("alter table ops.lead_records add column crm_merged_into varchar")


def _migrate_values_changed_at(con: duckdb.DuckDBPyConnection) -> None:
    """ops.lead_records.values_changed_at, added after the table shipped: a stored record's values
    are taken to have changed when it was last updated (what survivorship read before)."""
    if "values_changed_at" in table_columns(con, "ops", "lead_records"):
        return
    with transaction(con):
        con.execute("alter table ops.lead_records add column values_changed_at timestamp")
        con.execute("update ops.lead_records set values_changed_at = record_updated_at")


def _migrate_phone_timezones(con: duckdb.DuckDBPyConnection) -> None:
    """ops.lead_records.phone_timezone, added after the table shipped: an existing warehouse gains
    the column and its stored records their phone's zone, once (a record is only re-enriched when
    its source changes)."""
    if "phone_timezone" in table_columns(con, "ops", "lead_records"):
        return
    # The one derivation lives with the other normalizers.
    from enrichment.normalize import phone_timezone

    pairs = con.execute(
        "select distinct phone_e164, country_code from ops.lead_records where phone_e164 is not null"
    ).fetchall()
    zones = pd.DataFrame(
        [(phone, country, phone_timezone(phone, country)) for phone, country in pairs],
        columns=["phone_e164", "country_code", "phone_timezone"],
    ).dropna(subset=["phone_timezone"])
    with transaction(con), registered(con, "phone_zones", zones):
        con.execute("alter table ops.lead_records add column phone_timezone varchar")
        if not zones.empty:
            con.execute(
                """
                update ops.lead_records r set phone_timezone = z.phone_timezone
                from phone_zones z
                where r.phone_e164 = z.phone_e164
                  and r.country_code is not distinct from z.country_code
                """
            )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: everything in it commits together or not at all."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
