"""Where every raw record ended up: the pipeline's promise that nothing is lost.

A record is one (source, stream, record_id), whatever number of versions raw holds of it. After a
run each record is exactly one of:
- lead: the anchor of its own lead;
- merged: linked into another record's lead (a duplicate);
- crm_copy: the CRM record LeadFlow's own push created for a lead, pulled back (rule crm_echo);
- quarantined: no version of it passed validation (the reasons are in ops.quarantine);
- unprocessed: landed but not yet validated (only between a crash and the next run).
"""

from __future__ import annotations

import duckdb

from connectors import LEAD_STREAMS
from leadflow.warehouse import raw_table

STATUSES = ("lead", "merged", "crm_copy", "quarantined", "unprocessed")


def record_status_sql() -> str:
    """One row per raw record with its status (the query behind `record_accounting`)."""
    unions = " union all ".join(
        f"select distinct '{source}' as source, '{stream}' as stream, record_id from {raw_table(source, stream)}"
        for source, stream in LEAD_STREAMS
    )
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
    result = {status: int(counts.get(status, 0)) for status in STATUSES}
    result["total"] = sum(result.values())
    return result
