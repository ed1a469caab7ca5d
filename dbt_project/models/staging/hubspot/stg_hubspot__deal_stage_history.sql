{#- Each deal's stage changes, one row per change (macros/hubspot_history.sql). -#}
{{ hubspot_property_history(
    stream='deal_stage_history',
    property='dealstage',
    object_id='deal_id',
    stage='deal_stage',
    change_id='deal_stage_change_id'
) }}
