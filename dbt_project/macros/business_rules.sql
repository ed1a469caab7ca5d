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
