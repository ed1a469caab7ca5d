with

source as (

    select * from {{ source('leadflow', 'company_enrichment') }}

),

renamed as (

    select
        -- ids
        domain,
        organization_id,

        -- the answer
        provider,
        status as lookup_status,
        status = 'found' as is_found,
        organization_name,

        -- firmographics (in LeadFlow's vocabulary: enrichment/firmographics.py)
        industry,
        industry_label,
        employee_count,
        employee_band,
        annual_revenue as annual_revenue_usd,
        revenue_band,
        cast(technologies as {{ dbt.type_string() }}) as technologies,

        -- timestamps
        fetched_at,

        -- lineage
        run_id

    from source

)

select * from renamed
