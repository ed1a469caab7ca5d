"""Where every raw record ended up: the pipeline's promise that nothing is lost.

A record is one (source, stream, record_id), whatever number of versions raw holds of it. After a
run each record is exactly one of:
- lead: the anchor of its own lead;
- merged: linked into another record's lead (a duplicate);
- crm_copy: the CRM record LeadFlow's own push created for a lead, pulled back (rule crm_echo);
- quarantined: no version of it passed validation (the reasons are in ops.quarantine);
- unprocessed: landed but not yet validated (only between a crash and the next run);
- erased: a person's record deleted by `leadflow forget`, or an arriving record of an erased person
  dropped by the staging step. Raw no longer holds it; ops.erasure_suppressions keeps its salted
  hash (one row per record, however many times it came back), which is what is counted here.
"""

from __future__ import annotations

import duckdb

from connectors import LEAD_STREAMS
from leadflow.warehouse import raw_table

STATUSES = ("lead", "merged", "crm_copy", "quarantined", "unprocessed", "erased")


def record_status_sql() -> str:
    """One row per raw record with its status (the query behind `record_accounting`)."""
    unions = _raw_records_sql()
    return f"""
        with records as ({unions}),
        quarantined as (select distinct source, stream, record_id from ops.quarantine)
        select r.source, r.stream, r.record_id,
            case
                when i.rule = 'new_lead' then 'lead'
                when i.rule = 'crm_echo' then 'crm_copy'
                when i.rule is not null then 'merged'
                when q.record_id is not null then 'quarantined'
                else 'unprocessed'
            end as status,
            i.lead_id
        from records r
        left join ops.lead_identity i on i.record_key = r.source || ':' || r.stream || ':' || r.record_id
        left join quarantined q on q.source = r.source and q.stream = r.stream and q.record_id = r.record_id
    """


def record_accounting(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = dict(
        con.execute(
            f"select status, count(*) from ({record_status_sql()}) group by status"
        ).fetchall()
    )
    counts["erased"] = erased_records(con)
    result = {status: int(counts.get(status, 0)) for status in STATUSES}
    result["total"] = sum(result.values())
    return result


def erased_records(con: duckdb.DuckDBPyConnection) -> int:
    """Records erased (suppressed by key) that raw no longer holds: never counted twice, and never
    beside another status. The hash is computed in SQL the way leadflow.forget.hash_value does."""
    row = con.execute(
        f"""
        with records as ({_raw_records_sql()}),
        held as (
            select sha256(s.salt || ':' || r.source || ':' || r.stream || ':' || r.record_id) as h
            from records r cross join (select min(salt) as salt from ops.erasure_salt) s
        )
        select count(*) from ops.erasure_suppressions
        where kind = 'record' and value_hash not in (select h from held where h is not null)
        """
    ).fetchone()
    return int(row[0]) if row else 0


def _raw_records_sql() -> str:
    return " union all ".join(
        f"select distinct '{source}' as source, '{stream}' as stream, record_id from {raw_table(source, stream)}"
        for source, stream in LEAD_STREAMS
    )
