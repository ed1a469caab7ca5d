{#- Completeness of what each source sends: the share of its records that carry each field, and
    their mean. A CRM contact that LeadFlow's own push created (identity rule crm_echo) holds what
    LeadFlow sent, not what the CRM captured, so it is left out. Blank strings count as missing.
    Firmographics are measured apart, twice: as the source sent them, and once the provider
    (stg_leadflow__company_enrichment, on the record's business email domain) filled the gaps;
    revenue band and technologies only ever come from the provider. -#}
{%- set fields = [
    ('email', ['email']),
    ('phone', ['phone_e164']),
    ('company', ['company']),
    ('job_title', ['job_title']),
    ('country', ['country_code']),
    ('name', ['first_name', 'last_name']),
] -%}
{%- set sent_firmographics = ['industry', 'employee_band'] -%}
{%- set enriched_firmographics = ['industry', 'employee_band', 'revenue_band', 'technologies'] -%}

with

records as (

    select * from {{ ref('stg_leadflow__lead_records') }}

),

identity as (

    select * from {{ ref('stg_leadflow__lead_identity') }}

),

companies as (

    select * from {{ ref('stg_leadflow__company_enrichment') }}
    where is_found

),

captured as (

    -- 1 when the record carries the field (name: a first or a last name)
    select
        records.source,
        {% for name, columns in fields -%}
        case
            when {% for column in columns -%}
            nullif(trim(records.{{ column }}), '') is not null{{ ' or ' if not loop.last }}
            {%- endfor %} then 1
            else 0
        end as has_{{ name }},
        {% endfor -%}
        {% for name in sent_firmographics -%}
        case when nullif(trim(records.{{ name }}), '') is not null then 1 else 0 end as has_{{ name }},
        {% endfor -%}
        -- after enrichment: the record's own value, else the provider's (an empty list is none)
        {% for name in enriched_firmographics -%}
        case
            when {% if name in sent_firmographics %}nullif(trim(records.{{ name }}), '') is not null
                or {% endif %}nullif(nullif(trim(companies.{{ name }}), ''), '[]') is not null then 1
            else 0
        end as has_{{ name }}_enriched{{ ',' if not loop.last }}
        {% endfor %}
    from records
    left join identity
        on identity.record_key = records.record_key
    -- one equality (a free-mail record's key is null and matches nothing): a hash join, where the
    -- condition on records alone made DuckDB compare every record with every company
    left join companies
        on companies.domain = case
            when not coalesce(records.is_free_email, false) then lower(records.email_domain)
        end
    where coalesce(identity.match_rule, '') <> 'crm_echo'

),

counted as (

    select
        source,
        count(*) as records,
        {% for name, columns in fields -%}
        cast(sum(has_{{ name }}) as {{ dbt.type_bigint() }}) as records_with_{{ name }},
        {% endfor -%}
        {% for name in sent_firmographics -%}
        cast(sum(has_{{ name }}) as {{ dbt.type_bigint() }}) as records_with_{{ name }},
        {% endfor -%}
        {% for name in enriched_firmographics -%}
        cast(sum(has_{{ name }}_enriched) as {{ dbt.type_bigint() }}) as records_with_{{ name }}_enriched{{ ',' if not loop.last }}
        {% endfor %}
    from captured
    group by source

),

final as (

    select
        source,
        records,
        {% for name, columns in fields -%}
        cast(
            round(cast(records_with_{{ name }} as {{ dbt.type_numeric() }}) / records, 4)
            as numeric(9, 4)
        ) as {{ name }}_share,
        {% endfor -%}
        -- the mean of the shares above, from the counts so no rounding is compounded
        cast(
            round(
                cast(
                    {% for name, columns in fields -%}
                    records_with_{{ name }}{{ ' + ' if not loop.last }}
                    {%- endfor %}
                    as {{ dbt.type_numeric() }}
                ) / ({{ fields | length }} * records),
                4
            )
            as numeric(9, 4)
        ) as completeness,
        -- firmographics as sent, and after the provider filled the gaps
        {% for name in sent_firmographics -%}
        cast(
            round(cast(records_with_{{ name }} as {{ dbt.type_numeric() }}) / records, 4)
            as numeric(9, 4)
        ) as {{ name }}_share,
        {% endfor -%}
        {% for name in enriched_firmographics -%}
        cast(
            round(cast(records_with_{{ name }}_enriched as {{ dbt.type_numeric() }}) / records, 4)
            as numeric(9, 4)
        ) as {{ name }}_enriched_share,
        {% endfor -%}
        cast(
            round(
                cast(
                    {% for name in enriched_firmographics -%}
                    records_with_{{ name }}_enriched{{ ' + ' if not loop.last }}
                    {%- endfor %}
                    as {{ dbt.type_numeric() }}
                ) / ({{ enriched_firmographics | length }} * records),
                4
            )
            as numeric(9, 4)
        ) as firmographics_completeness

    from counted

)

select * from final
