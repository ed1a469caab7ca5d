{#- Completeness of what each source sends: the share of its records that carry each field, and
    their mean. A CRM contact that LeadFlow's own push created (identity rule crm_echo) holds what
    LeadFlow sent, not what the CRM captured, so it is left out. Blank strings count as missing. -#}
{%- set fields = [
    ('email', ['email']),
    ('phone', ['phone_e164']),
    ('company', ['company']),
    ('job_title', ['job_title']),
    ('country', ['country_code']),
    ('name', ['first_name', 'last_name']),
] -%}

with

records as (

    select * from {{ ref('stg_leadflow__lead_records') }}

),

identity as (

    select * from {{ ref('stg_leadflow__lead_identity') }}

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
        end as has_{{ name }}{{ ',' if not loop.last }}
        {% endfor %}
    from records
    left join identity
        on identity.record_key = records.record_key
    where coalesce(identity.match_rule, '') <> 'crm_echo'

),

counted as (

    select
        source,
        count(*) as records,
        {% for name, columns in fields -%}
        cast(sum(has_{{ name }}) as {{ dbt.type_bigint() }}) as records_with_{{ name }}{{ ',' if not loop.last }}
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
        ) as completeness

    from counted

)

select * from final
