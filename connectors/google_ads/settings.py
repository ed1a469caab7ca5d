"""Google Ads lead form webhook: the payload's documented shape and the column ids LeadFlow reads.

Docs: https://developers.google.com/google-ads/webhook/docs/implementation (the `WebhookLead`
schema: lead_id, user_column_data[{column_name, string_value, column_id}], api_version, form_id,
campaign_id, google_key, is_test, gcl_id, adgroup_id, creative_id, asset_group_id, lead_stage,
lead_submit_time; "ignore fields you do not recognise"; lead_id is unique across forms and is the
key to de-duplicate deliveries). Google delivers by POST to `leadflow serve`; nothing is pulled.
"""

from __future__ import annotations

# user_column_data[].column_id -> SourceRecord field, in order of preference: a WORK_EMAIL is the
# email only when no EMAIL column was answered, a WORK_PHONE the phone only without PHONE_NUMBER.
# FULL_NAME is split into first and last name where FIRST_NAME / LAST_NAME are missing. Other
# columns (CITY, POSTAL_CODE, custom questions, ...) stay in the raw payload only.
COLUMN_MAP: dict[str, str] = {
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "phone",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "job_title",
    "COUNTRY": "country",
}
FULL_NAME = "FULL_NAME"

# The key `leadflow serve` adds to every body it lands: when it accepted the request (ISO 8601 UTC).
# Leads delivered before Google added lead_submit_time (schema field 13) are dated by it.
RECEIVED_AT = "_received_at"
