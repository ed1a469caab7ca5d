"""Typeform Responses API: endpoint, limits and the field refs LeadFlow reads.

Docs: https://www.typeform.com/developers/responses/reference/retrieve-responses/ (page_size up to
1000, since/until, before/after tokens, newest first by default) and
https://www.typeform.com/developers/get-started/#rate-limits (2 requests per second per account).
"""

from __future__ import annotations

RESPONSES = "/forms/{form_id}/responses"
PAGE_MAX = 1000
RATE_LIMIT = (2, 1.05)

# Question refs -> SourceRecord fields. Answers of type email / phone_number are read whatever
# their ref, so a form built without these refs still yields a contact point.
REF_MAP: dict[str, str] = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "company": "company",
    "job_title": "job_title",
    "country": "country",
}
