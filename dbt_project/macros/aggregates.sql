{#
    The value below which `fraction` of the group's values fall, interpolated between the two
    nearest values (PostgreSQL's percentile_cont, DuckDB's quantile_cont): median = 0.5, p90 = 0.9.
    An aggregate: use it with group by, not as a window function. Nulls are ignored.
#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'leadflow')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}
