with

source as (

    select * from {{ source('leadflow', 'lead_scores') }}

),

renamed as (

    select
        -- ids
        lead_id,

        -- score
        score,
        fit_score,
        intent_score,
        negative_score,
        grade,
        temperature,
        is_mql,
        coalesce(is_sql, false) as is_sql,
        factors,
        reasons as score_reasons,
        model_version,

        -- timestamps
        scored_as_of,
        scored_at,

        -- lineage
        run_id

    from source

)

select * from renamed
