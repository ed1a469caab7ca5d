{#- A HubSpot CRM v3 object property from the raw payload ({"properties": {name: "value"}}).
    HubSpot sends every property value as a string and a cleared property as "" or null: both
    become null here. -#}
{% macro hubspot_property(name, column='payload') -%}
    nullif({{ json_text(column, ['properties', name]) }}, '')
{%- endmacro %}

{#- True when a deal stage id is in a list var (hubspot_won_deal_stages, hubspot_lost_deal_stages). -#}
{% macro hubspot_deal_stage_in(column, stages_var) -%}
    {%- set stages = var(stages_var) -%}
    {%- if stages | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({% for stage in stages %}'{{ stage }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}
