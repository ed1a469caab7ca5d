"""LinkedIn Marketing API lead sync: endpoints, the projection the pull asks for, documented limits.

Docs:
- Lead sync (the `leadForms` and `leadFormResponses` resources, the `owner` finder, `leadType`,
  `versionedLeadGenFormUrn`, `submittedAtTimeRange`, `limitedToTestLeads`, field projection with
  the `form` decoration; responses kept for 365 days):
  https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync,
  https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/lead-sync-schema
- Versioning (`LinkedIn-Version: YYYYMM` on every call under /rest/, each version supported for
  at least a year; a sunset one answers 426 NONEXISTENT_VERSION):
  https://learn.microsoft.com/en-us/linkedin/marketing/versioning,
  https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations
- Rest.li 2.0 query syntax (`X-Restli-Protocol-Version: 2.0.0`; records as `(key:value,...)`, URNs
  inside them percent-encoded):
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version
- Paging (`start` / `count`, `paging.total`):
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/pagination
- Rate limits (per application and per member per day, reset at midnight UTC, unpublished numbers,
  429 past them; no Retry-After): https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
- Errors (`{"status", "serviceErrorCode", "code", "message"}`):
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling
"""

from __future__ import annotations

RESPONSES = "/rest/leadFormResponses"
FORM = "/rest/leadForms/{form_id}"
FORMS = "/rest/leadForms"

RESTLI_PROTOCOL_VERSION = "2.0.0"
LEAD_TYPE = "SPONSORED"  # the only lead type an ad account's forms collect

# LinkedIn documents no maximum `count` for this finder; 100 is the most LinkedIn's own examples
# and every client we know of ask for. The paginator never assumes a full page means more.
PAGE_SIZE_MAX = 100
RETENTION_DAYS = 365  # LinkedIn keeps a form response this long: a first pull starts there

# The response fields LeadFlow lands, and the form each answered (its questions map questionId to
# a predefined field, so a landed payload explains its own answers without another call).
RESPONSE_PROJECTION = (
    "id,owner,leadType,submitter,submittedAt,testLead,versionedLeadGenFormUrn,leadMetadata,"
    "associatedEntity,formResponse,form:(id,name,content,hiddenFields)"
)

# Daily limits are not published (the app's Analytics tab in the Developer Portal shows them):
# pace to a few calls a second so one pull never bursts through a member's day.
RATE_LIMIT = (10, 1.0)

# predefinedField of a form question -> SourceRecord field. Other questions (custom ones) stay in
# the raw payload for dbt.
PREDEFINED_FIELDS: dict[str, str] = {
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE_NUMBER": "phone",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "job_title",
    "COUNTRY": "country",
}
