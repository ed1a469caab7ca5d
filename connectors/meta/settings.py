"""Meta Lead Ads through the Graph API: endpoints, fields and limits.

Docs: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving (the leads edge,
`filtering` on time_created, `field_data`), https://developers.facebook.com/docs/graph-api/results
(cursor paging), https://developers.facebook.com/docs/graph-api/overview/rate-limiting and
https://developers.facebook.com/docs/graph-api/guides/error-handling (error codes),
https://developers.facebook.com/docs/marketing-api/insights/parameters (the Insights edge: `level`,
`time_increment`, `time_range`; 37 months of history; a day's numbers restated for up to 28 days).
"""

from __future__ import annotations

LEADS = "/{version}/{form_id}/leads"
INSIGHTS = "/{version}/act_{account_id}/insights"

LEAD_FIELDS: tuple[str, ...] = (
    "id",
    "created_time",
    "field_data",
    "ad_id",
    "ad_name",
    "adset_id",
    "adset_name",
    "campaign_id",
    "campaign_name",
    "form_id",
    "is_organic",
    "platform",
)

# One row per campaign per day: what cost per lead needs.
INSIGHTS_FIELDS: tuple[str, ...] = (
    "account_id",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "spend",
    "impressions",
    "clicks",
    "date_start",
    "date_stop",
)
INSIGHTS_PAGE_LIMIT = 500

# Graph error codes that mean "try again later": unknown/transient (1, 2), application, user and
# page throttling (4, 17, 32, 613), custom-level throttling (80000-80014) and temporary blocks (341).
RETRIABLE_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, *range(80000, 80015)})
# Graph errors about the token or its permissions.
AUTH_CODES = frozenset({10, 102, 104, 190, 200})

# Lead retrieval is throttled per page; stay well under it.
RATE_LIMIT = (20, 1.0)

# field_data keys (Meta's standard questions) -> SourceRecord fields.
FIELD_MAP: dict[str, str] = {
    "email": "email",
    "work_email": "email",
    "phone_number": "phone",
    "work_phone_number": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "company_name": "company",
    "job_title": "job_title",
    "country": "country",
}
