"""Pipedrive REST API: endpoints, paging, and the documented limits.

Docs:
- Base URL for API-token requests: the company domain, `https://<company>.pipedrive.com/api/v1/`
  and `/api/v2/`: https://pipedrive.readme.io/docs/how-to-get-the-company-domain,
  https://pipedrive.readme.io/docs/core-api-concepts-authentication
- Pagination (v2 cursors: `cursor`, `limit` at most 500, `additional_data.next_cursor`; v1 offsets:
  `start`, `limit`, `additional_data.pagination.next_start`):
  https://pipedrive.readme.io/docs/core-api-concepts-pagination
- Persons / deals v2 (`updated_since` RFC 3339, `sort_by=update_time`, `sort_direction`):
  https://developers.pipedrive.com/docs/api/v1/Persons#getPersons,
  https://developers.pipedrive.com/docs/api/v1/Deals#getDeals
- Leads (`archived_status`, `sort`): https://developers.pipedrive.com/docs/api/v1/Leads#getLeads
- Users: https://developers.pipedrive.com/docs/api/v1/Users#getUsers
- Person fields and custom field keys (40-hex keys per company):
  https://developers.pipedrive.com/docs/api/v1/PersonFields#getPersonFields,
  https://pipedrive.readme.io/docs/core-api-concepts-custom-fields
- Rate limits (a 2-second burst window per token: Essential 20, Advanced 40, Professional 80,
  Power 100, Enterprise 120 requests for an api_token; `x-ratelimit-limit`, `-remaining`,
  `-reset` on every answer; 429 past it; plus a daily token budget per company):
  https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting
"""

from __future__ import annotations

PERSONS = "/api/v2/persons"
PERSON = "/api/v2/persons/{id}"
DEALS = "/api/v2/deals"
LEADS = "/api/v1/leads"
LEAD = "/api/v1/leads/{id}"
USERS = "/api/v1/users"
PERSON_FIELDS = "/api/v1/personFields"

PAGE_MAX = 500  # v2 cursor pages and v1 offset pages alike
CURSOR_FIELD = "update_time"
USERS_CURSOR_FIELD = "modified"

# The burst window; the plan sets how many requests fit in it (config `burst_limit`).
BURST_WINDOW_S = 2.0
DEFAULT_BURST_LIMIT = 20  # the Essential plan, api_token: the smallest documented figure
PACING_SHARE = 0.8  # the client sends at most this share of the burst limit per window

# Leads are paged by offset, newest change first. A lead deleted mid-pull shifts every later
# row up by one, so each page re-reads this many rows of the previous one (ids seen are dropped).
LEAD_PAGE_OVERLAP = 10

# The custom person fields LeadFlow writes back, by their names in Pipedrive (the keys differ
# per company; `custom_field_keys` looks them up).
SCORE_FIELD = "LeadFlow Score"  # Numerical
GRADE_FIELD = "LeadFlow Grade"  # Text
TEMPERATURE_FIELD = "LeadFlow Temperature"  # Text
REASONS_FIELD = "LeadFlow Reasons"  # Large text
LEAD_ID_FIELD = "LeadFlow Lead Id"  # Text
LEADFLOW_FIELDS: tuple[str, ...] = (
    SCORE_FIELD,
    GRADE_FIELD,
    TEMPERATURE_FIELD,
    REASONS_FIELD,
    LEAD_ID_FIELD,
)

STREAM_PATHS: dict[str, str] = {
    "persons": PERSONS,
    "deals": DEALS,
    "leads": LEADS,
    "users": USERS,
}
