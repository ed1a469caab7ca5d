{#
    Casts of vendor text that never fail. Raw payloads are whatever the APIs sent: a HubSpot number
    property of "3.5" or "1e309", a Typeform timestamp of "true". A plain cast of one such value
    fails the whole build, and with it every push. Unreadable values become null instead; the
    record's own validation (expectations/) has already quarantined it with a reason where the
    value matters. tests/reliability/test_hostile_end_to_end.py builds the project on such data, on
    DuckDB and on PostgreSQL.

    dbt's own `safe_cast` is a plain cast on DuckDB and PostgreSQL (neither adapter overrides it),
    so this file overrides it for both: the root project is searched first for `dbt` macros.
    - DuckDB has try_cast.
    - PostgreSQL has none: one small PL/pgSQL function per target type, `try_<type>(text)`, returns
      null where the cast raises. `create_lenient_cast_functions` (an on-run-start hook) creates them
      in the target schema. A type without a function (dbt's unit-test fixtures cast every column)
      gets dbt's plain cast: a model casting vendor text to a new type needs a function here.
#}

{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro duckdb__iso_to_utc_timestamp(column) -%}
    (try_cast(nullif({{ column }}, '') as timestamp with time zone) at time zone 'UTC')
{%- endmacro %}

{% macro lenient_cast_functions() -%}
    {#- function name -> the PostgreSQL type it casts to -#}
    {{ return({
        'try_integer': 'integer',
        'try_bigint': 'bigint',
        'try_boolean': 'boolean',
        'try_numeric_18_2': 'numeric(18,2)',
        'try_timestamptz': 'timestamp with time zone',
        'try_date': 'date',
    }) }}
{%- endmacro %}

{% macro lenient_cast_function(type) -%}
    {#- the try_ function casting to `type`, or none (dbt's unit-test fixtures cast every type) -#}
    {%- set wanted = type | lower | replace(' ', '') -%}
    {%- set aliases = {'int': 'integer', 'int4': 'integer', 'int8': 'bigint', 'bool': 'boolean',
                       'timestamptz': 'timestampwithtimezone'} -%}
    {%- set wanted = aliases.get(wanted, wanted) -%}
    {%- for name, cast_to in lenient_cast_functions().items() -%}
        {%- if cast_to | replace(' ', '') == wanted -%}
            {{ return(target.schema ~ '.' ~ name) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{% macro postgres__safe_cast(field, type) -%}
    {%- set function = lenient_cast_function(type) -%}
    {%- if function -%}
        {#- the outer cast keeps the column's type modifier (a function's return type drops it) -#}
        cast({{ function }}(({{ field }})::text) as {{ type }})
    {%- else -%}
        cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{% macro postgres__iso_to_utc_timestamp(column) -%}
    ({{ lenient_cast_function('timestamp with time zone') }}(nullif({{ column }}, '')) at time zone 'UTC')
{%- endmacro %}

{% macro create_lenient_cast_functions() -%}
    {%- if target.type == 'postgres' -%}
        create schema if not exists {{ target.schema }};
        {%- for name, cast_to in lenient_cast_functions().items() %}
        create or replace function {{ target.schema }}.{{ name }}(value text) returns {{ cast_to }}
        language plpgsql immutable parallel safe as $fn$
        begin
            return value::{{ cast_to }};
        exception when others then
            return null;
        end
        $fn$;
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- A vendor's yes/no as text (JSON true, "1", " Yes ") read exactly as LeadFlow's parsers read it
    (connectors/records.py `flag`): true, 1, yes -> true; false, 0, no -> false (any case, spaces
    around); anything else -> null. A cast to boolean is not that: PostgreSQL also reads 't', 'on',
    'y' and prefixes such as 'ye' as true, DuckDB reads 't' and 'y', so a record Python validated
    as "not a test lead" read as one in SQL, on one engine and not the other. Plain SQL, the same
    on every engine. -#}
{% macro vendor_flag(column) -%}
    case
        when lower(trim({{ column }})) in ('true', '1', 'yes') then true
        when lower(trim({{ column }})) in ('false', '0', 'no') then false
    end
{%- endmacro %}
