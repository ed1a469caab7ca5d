{#
    The business constants declared as vars in dbt_project.yml, turned into SQL. Models call these
    instead of writing the constants as literals.
#}

{#- The survivorship priority of a source (1 = most trusted); unknown sources rank last. -#}
{% macro source_priority(column) -%}
    {%- set priorities = var('source_priority') -%}
    case {{ column }}
    {%- for source_name, priority in priorities.items() %}
        when '{{ source_name }}' then {{ priority }}
    {%- endfor %}
        else {{ priorities.values() | max + 1 }}
    end
{%- endmacro %}

{#- The survivorship rule of a golden-record field (var survivorship: `default` and per-field
    `fields`), as the name of the order column int_leads_unified ranks the lead's records by:
    source_priority (the source's rank, then the newest record), most_recent (the newest record,
    then the source's rank) or most_complete (the record with the most identity fields filled, then
    the source's rank). -#}
{% macro survivorship_order(field) -%}
    {%- set rules = var('survivorship', {}) -%}
    {%- set rule = (rules.get('fields') or {}).get(field, rules.get('default', 'source_priority')) -%}
    {%- set columns = {
        'source_priority': 'priority_order',
        'most_recent': 'recency_order',
        'most_complete': 'completeness_order',
    } -%}
    {%- if rule not in columns -%}
        {{ exceptions.raise_compiler_error(
            "survivorship of " ~ field ~ ": '" ~ rule ~ "' is not one of " ~ (columns.keys() | join(', '))
        ) }}
    {%- endif -%}
    {{ return(columns[rule]) }}
{%- endmacro %}

{#- The position (from 1) of a funnel stage in var('funnel_stages'). -#}
{% macro funnel_stage_order(stage) -%}
    {%- set stages = var('funnel_stages') -%}
    {%- if stage not in stages -%}
        {{ exceptions.raise_compiler_error("unknown funnel stage " ~ stage ~ "; var funnel_stages has " ~ stages | join(', ')) }}
    {%- endif -%}
    {{ return(stages.index(stage) + 1) }}
{%- endmacro %}

{#- The earlier of two timestamps, ignoring nulls (null only when both are). Written out rather
    than least(), whose null handling differs between warehouses. -#}
{% macro earliest(first, second) -%}
    case
        when {{ first }} is null then {{ second }}
        when {{ second }} is null then {{ first }}
        when {{ second }} < {{ first }} then {{ second }}
        else {{ first }}
    end
{%- endmacro %}
