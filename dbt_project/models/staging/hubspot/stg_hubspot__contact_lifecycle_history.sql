{#- Each contact's lifecycle stage changes, one row per change (macros/hubspot_history.sql). -#}
{{ hubspot_property_history(
    stream='contact_lifecycle_history',
    property='lifecyclestage',
    object_id='contact_id',
    stage='lifecycle_stage',
    change_id='lifecycle_change_id'
) }}
