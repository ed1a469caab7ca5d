"""Apollo.io organization enrichment: the endpoint, its auth and its documented limits.

Docs: https://docs.apollo.io/reference/organization-enrichment (`GET /api/v1/organizations/enrich`
with `domain`, no `www.` and no `@`; the answer is `{"organization": {...}}`; one credit per company
enriched), https://docs.apollo.io/reference/rate-limits (fixed windows per minute, hour and day,
set by the plan; every answer carries `x-rate-limit-minute/-hourly/-daily`,
`x-minute/hourly/daily-requests-left` and `x-minute/hourly/daily-usage`; a refused request is a 429
whose `message` names the endpoint, the limit and its window),
https://docs.apollo.io/docs/create-api-key (the key goes in the `x-api-key` header).
"""

from __future__ import annotations

ORGANIZATION_ENRICH = "/api/v1/organizations/enrich"  # GET ?domain=
API_KEY_HEADER = "x-api-key"

# A 429 names its window ("... is 600 times per hour. Please upgrade your plan ..."). A minute's
# limit frees within the run; an hour's or a day's does not, so those end the run's lookups at once.
QUOTA_WINDOWS = ("per hour", "per day", "per 24")

# Documented on every answer (docs/reference/rate-limits); read when a 429 is reported.
RATE_LIMIT_HEADERS = (
    "x-rate-limit-minute",
    "x-minute-requests-left",
    "x-rate-limit-hourly",
    "x-hourly-requests-left",
    "x-rate-limit-daily",
    "x-daily-requests-left",
)
