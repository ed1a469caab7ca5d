"""Lemlist API: endpoints, paging and the documented limits.

Docs: https://developer.lemlist.com/api-reference/getting-started/authentication (basic auth, an empty
user and the API key as password), .../getting-started/rate-limits (20 requests per 2 seconds per API
key, on every route; 429 with Retry-After), .../getting-started/errors (short text messages such as
"Bad params"), .../endpoints/leads/create-lead-in-campaign, .../endpoints/leads/delete-lead
(`action=remove` deletes; without it the lead is only unsubscribed), and
.../endpoints/activities/get-many-activities (`type`, `campaignId`, `minDate`, `offset`, `limit`).
"""

from __future__ import annotations

ADD_LEAD = "/api/campaigns/{campaign_id}/leads/{email}"  # POST: create the lead in the campaign
REMOVE_LEAD = "/api/campaigns/{campaign_id}/leads/{email}"  # DELETE ?action=remove
ACTIVITIES = "/api/activities"  # GET, a JSON array, newest first

# Activities are paged by offset; a page shorter than the limit is the last one.
ACTIVITIES_PAGE_LIMIT = 100

# Lemlist names activity types in the plural in the `type` filter (emailsReplied) and in some
# payloads the singular (emailReplied); both count as a reply.
REPLY_TYPE = "emailsReplied"
REPLY_TYPES = frozenset({"emailsReplied", "emailReplied"})

# Client-side limit, a little under the documented 20 per 2 s.
RATE_LIMIT = (18, 2.0)
