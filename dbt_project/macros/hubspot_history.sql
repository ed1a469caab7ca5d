{#- One HubSpot property's history (`propertiesWithHistory`), one row per change, oldest first, from
    the newest raw record of each object in `stream` (its whole history): the staging body of
    stg_hubspot__contact_lifecycle_history and stg_hubspot__deal_stage_history. `object_id`,
    `stage` and `change_id` name the columns; previous_<stage> is the value before the change. -#}
{% macro hubspot_property_history(stream, property, object_id, stage, change_id) %}
with

source as (

    select * from {{ source('hubspot', stream) }}

),

latest as (

    -- one raw record per pull of the object: its newest one holds its whole history
    {{ newest_raw_versions('source') }}

),

versions as (

    -- HubSpot lists the versions newest first; position 0 is the current value
    select
        record_id,
        record_updated_at,
        _loaded_at,
        _raw_id,
        {{ json_array_elements('payload', ['propertiesWithHistory', property]) }} as version,
        {{ json_array_positions('payload', ['propertiesWithHistory', property]) }} as version_position

    from latest

),

typed as (

    select
        record_id,
        record_updated_at,
        _loaded_at,
        _raw_id,
        version_position,
        -- a cleared value comes as ""
        nullif({{ json_text('version', 'value') }}, '') as stage_value,
        {{ iso_to_utc_timestamp(json_text('version', 'timestamp')) }} as changed_at_value,
        nullif({{ json_text('version', 'sourceType') }}, '') as source_type_value,
        nullif({{ json_text('version', 'sourceId') }}, '') as source_id_value,
        nullif({{ json_text('version', 'updatedByUserId') }}, '') as updated_by_user_id_value

    from versions

),

ordered as (

    select
        *,
        -- oldest first; versions stamped alike keep HubSpot's order (the later listed is older)
        row_number() over (
            partition by record_id order by changed_at_value, version_position desc
        ) as change_order_value

    from typed

),

renamed as (

    select
        -- ids
        record_id || '-' || cast(change_order_value as {{ dbt.type_string() }}) as {{ change_id }},
        record_id as {{ object_id }},

        -- the change
        change_order_value as change_order,
        stage_value as {{ stage }},
        lag(stage_value) over (partition by record_id order by change_order_value) as previous_{{ stage }},
        version_position = 0 as is_current,

        -- who made it
        source_type_value as source_type,
        source_id_value as source_id,
        updated_by_user_id_value as updated_by_user_id,

        -- timestamps
        changed_at_value as changed_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from ordered

)

select * from renamed
{% endmacro %}
