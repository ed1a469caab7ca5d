{#
    Use a model's custom schema name as-is (`staging`, `intermediate`, `marts`) instead of dbt's
    default `<target schema>_<custom schema>`: Python code and the CRM push read these schemas by
    name, on every target. Nodes without a custom schema fall back to the target's schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
