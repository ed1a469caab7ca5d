"""Google Ads lead form submissions, by both routes: the webhook payload's documented shape and
the column ids LeadFlow reads, and the Google Ads API pull (endpoint, query, documented limits).

Docs, the webhook: https://developers.google.com/google-ads/webhook/docs/implementation (the
`WebhookLead` schema: lead_id, user_column_data[{column_name, string_value, column_id}],
api_version, form_id, campaign_id, google_key, is_test, gcl_id, adgroup_id, creative_id,
asset_group_id, lead_stage, lead_submit_time; "ignore fields you do not recognise"; lead_id is
unique across forms and is the key to de-duplicate deliveries).

Docs, the pull:
- Search over REST (`POST /{version}/customers/{customer_id}/googleAds:search`, `query`,
  `pageToken`; `results`, `nextPageToken`, `fieldMask`):
  https://developers.google.com/google-ads/api/rest/common/search
- Paging: fixed pages of 10,000 rows since v17 (`page_size` is PAGE_SIZE_NOT_SUPPORTED), no
  `nextPageToken` on the last page, a page token unused for about two hours expires, and the query
  must not change between pages: https://developers.google.com/google-ads/api/docs/reporting/paging
- The resource (`submission_date_time` as "yyyy-mm-dd hh:mm:ss+|-hh:mm" in the account's time
  zone; only `id` and `submission_date_time` sort):
  https://developers.google.com/google-ads/api/fields/v26/lead_form_submission_data,
  https://developers.google.com/google-ads/api/reference/rpc/v26/LeadFormSubmissionData
- Leads can be retrieved for 60 days: https://support.google.com/google-ads/answer/12080108
- Limits: operations a day per access level of the Cloud project (Test: test accounts only, 15,000;
  Explorer: 2,880 on production accounts; Basic: 15,000; Standard: unlimited), a sliding 24 hours;
  one query counts one operation however many pages it has:
  https://developers.google.com/google-ads/api/docs/api-policy/access-levels,
  https://developers.google.com/google-ads/api/docs/api-policy/rate-sheet
- Developer tokens were sunset on 9 September 2026: the header is optional and ignored:
  https://developers.google.com/google-ads/api/docs/api-policy/developer-token
- Versions live about a year: https://developers.google.com/google-ads/api/docs/sunset-dates
- Errors (GoogleAdsFailure; QuotaErrorDetails.retry_delay):
  https://developers.google.com/google-ads/api/docs/get-started/handle-errors,
  https://developers.google.com/google-ads/api/docs/best-practices/understand-api-errors,
  https://developers.google.com/google-ads/api/reference/rpc/v26/QuotaErrorDetails
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

# The key LeadFlow adds to a pulled submission: its resource name, where it came from. A payload
# with it was read from the API; one with RECEIVED_AT was delivered by the webhook.
RESOURCE_NAME = "_resource_name"

# --------------------------------------------------------------------------- the pull

SEARCH = "/{version}/customers/{customer_id}/googleAds:search"
PAGE_ROWS = 10_000  # Google's fixed page size; LeadFlow never sends page_size
# Google keeps a submission retrievable for 60 days: a first pull reads them all, a pull after a
# longer pause has lost what aged out (the webhook has not).
RETENTION_DAYS = 60

# The submission's own fields LeadFlow selects: everything the resource has. Sorted by time, then
# id (the two sortable fields), so the pages of one query are stable.
LEAD_FIELDS = (
    "lead_form_submission_data.resource_name",
    "lead_form_submission_data.id",
    "lead_form_submission_data.asset",
    "lead_form_submission_data.campaign",
    "lead_form_submission_data.ad_group",
    "lead_form_submission_data.ad_group_ad",
    "lead_form_submission_data.gclid",
    "lead_form_submission_data.submission_date_time",
    "lead_form_submission_data.lead_form_submission_fields",
    "lead_form_submission_data.custom_lead_form_submission_fields",
)
SUBMITTED = "lead_form_submission_data.submission_date_time"
# A date-time filter value is the account's wall time, so the pull asks the account's zone first.
TIME_ZONE_QUERY = "SELECT customer.id, customer.time_zone FROM customer"

# A 429 says how long to wait (QuotaErrorDetails.retry_delay). RESOURCE_TEMPORARILY_EXHAUSTED (a
# burst) is waited out; RESOURCE_EXHAUSTED with a wait longer than the client's longest backoff is
# the day's operations spent: the pull stops cleanly and the next run resumes from the cursor.
QUOTA_ERROR = "quotaError"
