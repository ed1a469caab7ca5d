{#
    Incremental lead-grain facts (fct_lead_stage_history, fct_lead_funnel_events, and
    fct_lead_first_touch with its own touch_state_hash). Each row keeps the funnel_state_hash of
    its lead (dim_leads) from when it was derived; an hourly build
    re-derives exactly the leads whose hash is new or different, and delete+insert on lead_id
    replaces every stored row of theirs. No watermark and no lookback window: a lead that arrives
    late with old dates (a backfill, a new source) is new to the table and built; an unchanged lead
    is never re-read. `dbt build --full-refresh` rebuilds the whole table.
#}

{#- A fingerprint of `columns` (any type, nullable) as one md5: equal on DuckDB and PostgreSQL,
    which print timestamps, booleans and numbers the same way as text. -#}
{% macro state_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first %}{% do parts.append("'|'") %}{% endif -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '~')") -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- The lead_ids of `leads` (a relation or CTE with lead_id and the fingerprint `hash_column`)
    that the incremental model being built must re-derive: those it holds no rows for, or rows
    derived from another state of the lead. A table built before it kept the fingerprint (an
    upgrade) has every lead derived again; on_schema_change then adds the column. -#}
{% macro leads_to_rebuild(leads, hash_column='funnel_state_hash') -%}
    {%- if execute and not is_hash_stored_in_this(hash_column) %}
    select lead_id from {{ leads }}
    {%- else %}
    select leads.lead_id
    from {{ leads }} as leads
    left join (select distinct lead_id, {{ hash_column }} from {{ this }}) as built
        on built.lead_id = leads.lead_id
    where built.{{ hash_column }} is distinct from leads.{{ hash_column }}
    {%- endif %}
{%- endmacro %}

{#- The `where` that limits an incremental build to leads_to_rebuild(leads); nothing on a full one. -#}
{% macro where_lead_to_rebuild(leads, hash_column='funnel_state_hash') -%}
    {%- if is_incremental() %}
    where lead_id in ({{ leads_to_rebuild(leads, hash_column) }})
    {%- endif %}
{%- endmacro %}

{#- True when the model's table has the fingerprint `column`, or does not exist yet (a first
    build; a unit test's `this`, which is its given rows). -#}
{% macro is_hash_stored_in_this(column='funnel_state_hash') -%}
    {%- if this is string -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if relation is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return(column in names) }}
{%- endmacro %}

{#- post_hook: the rows of leads no longer in dim_leads (merged into another lead) go. -#}
{% macro delete_rows_of_gone_leads() -%}
    delete from {{ this }}
    where lead_id not in (select lead_id from {{ ref('dim_leads') }})
{%- endmacro %}

{#- The dim_leads columns the incremental facts are derived from: when the lead entered each
    funnel stage, its terminal outcomes, its recyclings. funnel_state_hash fingerprints them. -#}
{% macro funnel_state_columns() -%}
    {%- set columns = [] -%}
    {%- for stage in var('funnel_stages') -%}
        {%- do columns.append(stage ~ '_entered_at') -%}
    {%- endfor -%}
    {{ return(columns + ['lost_at', 'disqualified_at', 'count_recycles', 'recycled_at']) }}
{%- endmacro %}

{#- post_hook of int_leads_unified: the rows of leads that no longer have a record (merged into
    another lead, or erased) go. -#}
{% macro delete_rows_of_leads_without_records() -%}
    delete from {{ this }}
    where lead_id not in (
        select identity.lead_id
        from {{ ref('stg_leadflow__lead_identity') }} as identity
        inner join {{ ref('stg_leadflow__lead_records') }} as records
            on records.record_key = identity.record_key
    )
{%- endmacro %}

{#- ['a', 'b'] -> ['records.a', 'records.b']: the same columns of one relation, for state_hash(). -#}
{% macro prefixed(prefix, columns) -%}
    {%- set named = [] -%}
    {%- for column in columns -%}
        {%- do named.append(prefix ~ column) -%}
    {%- endfor -%}
    {{ return(named) }}
{%- endmacro %}
