with

quarantine as (

    select * from {{ ref('stg_leadflow__quarantine') }}

),

reasons as (

    select
        source,
        stream,
        raw_id,
        quarantined_at,
        {{ json_text_elements('reasons') }} as reason

    from quarantine

),

final as (

    select
        source,
        stream,
        reason,
        count(distinct raw_id) as count_records,
        min(quarantined_at) as first_quarantined_at,
        max(quarantined_at) as last_quarantined_at

    from reasons
    group by source, stream, reason

)

select * from final
