{#- The id inside a LinkedIn URN: linkedin_urn_id(x, 'leadGenForm') reads 7234246 from both
    'urn:li:leadGenForm:7234246' and 'urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)',
    linkedin_urn_id(x, 'sponsoredCampaign') 367378530 from 'urn:li:sponsoredCampaign:367378530'.
    Null when `expression` holds no such URN. dbt.split_part: the same on DuckDB and PostgreSQL. -#}
{% macro linkedin_urn_id(expression, entity) -%}
    {%- if not modules.re.fullmatch('[A-Za-z]+', entity) -%}
        {{ exceptions.raise_compiler_error("linkedin_urn_id: " ~ entity ~ " is not a URN entity type") }}
    {%- endif -%}
    nullif(
        {{ dbt.split_part(dbt.split_part(dbt.split_part(expression, "'urn:li:" ~ entity ~ ":'", 2), "','", 1), "')'", 1) }},
        ''
    )
{%- endmacro %}
