{#
    The funnel marts' constants (vars under "# Funnel (issue 7)" in dbt_project.yml) turned into
    SQL, and the one definition of "now" they measure ages against.
#}

{#- "Now" as a naive UTC timestamp: var as_of when set (tests and backfills pin it, e.g.
    --vars '{as_of: "2026-05-10 12:00:00"}'), else the database's current time in UTC. Every age,
    staleness and time-in-current-stage figure is measured to this. -#}
{% macro as_of() -%}
    {%- set pinned = var('as_of', none) -%}
    {%- if pinned -%}
        cast('{{ pinned }}' as timestamp)
    {%- else -%}
        cast(current_timestamp at time zone 'UTC' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- The time from `start` to `end` in `unit` ('hour' or 'day'), to the minute, as numeric(12,2).
    Null when either is null. -#}
{% macro duration_between(start, end, unit) -%}
    {%- set minutes_per = {'hour': 60, 'day': 1440} -%}
    {%- if unit not in minutes_per -%}
        {{ exceptions.raise_compiler_error("duration_between: unit must be hour or day, not " ~ unit) }}
    {%- endif -%}
    {#- through double precision and numeric(28,6), like rounded_mean below, so a half-way value
        rounds the same way on every engine -#}
    cast(
        round(cast(cast({{ dbt.datediff(start, end, 'minute') }} as double precision) / {{ minutes_per[unit] }} as numeric(28, 6)), 2)
        as numeric(12, 2)
    )
{%- endmacro %}

{#- The segment of an employee band (var funnel_segments); 'unknown' for null or unmapped bands. -#}
{% macro employee_band_segment(column) -%}
    case {{ column }}
    {%- for band, segment in var('funnel_segments').items() %}
        when '{{ band }}' then '{{ segment }}'
    {%- endfor %}
        else 'unknown'
    end
{%- endmacro %}

{#- How many days a lead may sit in `stage_column`'s stage before it is stale
    (var stale_after_days); null for stages without a limit (won). -#}
{% macro stale_after_days(stage_column) -%}
    case {{ stage_column }}
    {%- for stage, days in var('stale_after_days').items() %}
        when '{{ stage }}' then {{ days }}
    {%- endfor %}
    end
{%- endmacro %}

{#- The HubSpot lead status (hs_lead_status) means disqualified (var disqualified_lead_statuses). -#}
{% macro is_disqualified_lead_status(column) -%}
    upper({{ column }}) in (
    {%- for status in var('disqualified_lead_statuses') -%}
        '{{ status | upper }}'{{ ', ' if not loop.last }}
    {%- endfor -%}
    )
{%- endmacro %}

{#- A nurture membership's exit reason means the lead came back ready for sales
    (var nurture_requalified_reasons). -#}
{% macro is_requalified_exit(column) -%}
    {{ column }} in (
    {%- for reason in var('nurture_requalified_reasons') -%}
        '{{ reason }}'{{ ', ' if not loop.last }}
    {%- endfor -%}
    )
{%- endmacro %}

{#- A rate as numeric(9,4): numerator / denominator, null when the denominator is 0. -#}
{% macro funnel_rate(numerator, denominator) -%}
    cast(
        round(cast({{ numerator }} as {{ dbt.type_numeric() }}) / nullif({{ denominator }}, 0), 4)
        as numeric(9, 4)
    )
{%- endmacro %}

{#- The stage-to-stage conversions the funnel marts report: (rate name, numerator count,
    denominator count), in funnel order. -#}
{% macro funnel_conversion_rates() -%}
    {{ return([
        ('lead_to_mql', 'mqls', 'leads'),
        ('mql_to_sql', 'sqls', 'mqls'),
        ('sql_to_opportunity', 'opportunities', 'sqls'),
        ('opportunity_to_won', 'won', 'opportunities'),
    ]) }}
{%- endmacro %}

{#- The newest of `columns` (timestamps that may be null), never older than `floor` (not null):
    greatest() over null-free values, whose null handling differs between warehouses otherwise. -#}
{% macro latest_since(floor, columns) -%}
    greatest(
        {{ floor }}
        {%- for column in columns %},
        coalesce({{ column }}, {{ floor }})
        {%- endfor %}
    )
{%- endmacro %}

{#- The terminal stages after the funnel (fct_lead_stage_history), with their stage_order. -#}
{% macro terminal_stages() -%}
    {%- set n = var('funnel_stages') | length -%}
    {{ return({'lost': n + 1, 'disqualified': n + 2}) }}
{%- endmacro %}

{#- The position of the funnel stage named in `column` (var funnel_stages), as SQL; null for
    other values. -#}
{% macro funnel_stage_order_of(column) -%}
    case {{ column }}
    {%- for stage in var('funnel_stages') %}
        when '{{ stage }}' then {{ loop.index }}
    {%- endfor %}
    end
{%- endmacro %}

{#- Aggregates rounded to 2 decimals, as numeric(12,2), the same on every engine: DuckDB's
    quantile_cont keeps (and truncates to) a decimal input's scale and its avg of a decimal is a
    double, PostgreSQL works in double / exact numeric; going through double precision, then
    numeric(28,6), then round() gives both engines the same digits (14.585 -> 14.59). -#}
{% macro rounded_percentile(expression, fraction) -%}
    cast(round(cast({{ percentile_cont('cast(' ~ expression ~ ' as double precision)', fraction) }} as numeric(28, 6)), 2) as numeric(12, 2))
{%- endmacro %}

{% macro rounded_mean(expression) -%}
    cast(round(cast(avg(cast({{ expression }} as double precision)) as numeric(28, 6)), 2) as numeric(12, 2))
{%- endmacro %}
