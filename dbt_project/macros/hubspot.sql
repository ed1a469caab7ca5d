{#- A HubSpot CRM v3 object property from the raw payload ({"properties": {name: "value"}}).
    HubSpot sends every property value as a string and a cleared property as "" or null: both
    become null here. -#}
{% macro hubspot_property(name, column='payload') -%}
    nullif({{ json_text(column, ['properties', name]) }}, '')
{%- endmacro %}
