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


def file_drop_accounting(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Per file a file drop loaded (ops.file_drop_files): its rows and where their records ended,
    so that "my file had 120 rows" can be checked against leads, merges and quarantine. A file
    rejected whole has one record (quarantined, with the reason) and no rows. `erased` counts the
    records raw no longer holds: only `leadflow forget` removes raw records."""
    rows = con.execute(
        f"""
        with statuses as ({record_status_sql()}),
        by_file as (
            select stream, split_part(record_id, ':', 1) as content_sha256, status
            from statuses where source = 'file_drop'
        )
        select f.stream, f.file_name, f.content_sha256, f.status as file_status, f.count_rows,
            f.count_blank_rows, f.loaded_at,
            count(*) filter (where s.status = 'lead') as lead,
            count(*) filter (where s.status in ('merged', 'crm_copy')) as merged,
            count(*) filter (where s.status = 'quarantined') as quarantined,
            count(*) filter (where s.status = 'unprocessed') as unprocessed,
            f.count_rows + case when f.status = 'rejected' then 1 else 0 end
                - count(s.status) as erased
        from ops.file_drop_files f
        left join by_file s on s.stream = f.stream and s.content_sha256 = f.content_sha256
        group by f.stream, f.file_name, f.content_sha256, f.status, f.count_rows,
            f.count_blank_rows, f.loaded_at
        order by f.loaded_at, f.stream, f.file_name
        """
    ).fetchall()
    columns = [d[0] for d in con.description or []]
    return [dict(zip(columns, row, strict=True)) for row in rows]
