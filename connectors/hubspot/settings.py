"""HubSpot CRM v3: endpoints, default properties and the documented limits.

Docs: https://developers.hubspot.com/docs/api/crm/search (search, its 200-per-page and 10,000-result
limits, 5 requests/s), https://developers.hubspot.com/docs/api/crm/contacts (batch upsert/update, 100
inputs), https://developers.hubspot.com/docs/api/usage-details (100 requests per 10 s per private
app on Free/Starter; 190 on Professional/Enterprise), https://developers.hubspot.com/docs/api/crm/deals
(deals search: the same limits as contacts), https://developers.hubspot.com/docs/api/crm/associations
(v4 batch read: at most 1,000 inputs a request since 2025-02-10; up to 500 associations per object a
page, more behind a per-input `after` token), https://developers.hubspot.com/docs/api/crm/companies
(companies search: the same limits as contacts; `hs_additional_domains` is a semicolon-separated
list), https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/delete-contact
(archived contacts are restorable for 90 days; `GET /crm/v3/objects/contacts?archived=true` lists
them, 100 a page, `after` the last id, with no filter and no sort),
https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies
(a merge makes a new contact with a new id; `hs_merged_object_ids` lists the ids merged into it),
https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
(batch read takes `propertiesWithHistory`: each property's versions `{value, timestamp, sourceType,
sourceId, sourceLabel, updatedByUserId}`, newest first), https://developers.hubspot.com/docs/guides/api/crm/using-object-apis
(the list and the single read take it too; search does not). With history, at most 50 objects a
request: HubSpot answers a bigger batch read with 400 VALIDATION_ERROR "The maximum number of inputs
supported in a batch request for property histories is 50" (reported in
https://github.com/activepieces/activepieces/pull/9359; the limit on list pages in
https://github.com/dlt-hub/verified-sources/pull/206); the reference pages do not state the number.
"""

from __future__ import annotations

CONTACTS = "/crm/v3/objects/contacts"
SEARCH_CONTACTS = "/crm/v3/objects/contacts/search"
BATCH_UPSERT_CONTACTS = "/crm/v3/objects/contacts/batch/upsert"
BATCH_UPDATE_CONTACTS = "/crm/v3/objects/contacts/batch/update"
BATCH_READ_CONTACTS = "/crm/v3/objects/contacts/batch/read"
OWNERS = "/crm/v3/owners"
SEARCH_DEALS = "/crm/v3/objects/deals/search"
SEARCH_COMPANIES = "/crm/v3/objects/companies/search"
DEAL_CONTACTS_BATCH_READ = "/crm/v4/associations/deals/contacts/batch/read"
BATCH_READ_DEALS = "/crm/v3/objects/deals/batch/read"

SEARCH_MAX_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
BATCH_MAX_INPUTS = 100
OWNERS_PAGE_LIMIT = 100
LIST_MAX_LIMIT = 100  # the objects list (and so the archived list): at most 100 a page
# The contacts stream's second pass: the recycle bin, read under a cursor of its own (archivedAt).
ARCHIVED_PARTITION = "archived"
ASSOCIATIONS_MAX_INPUTS = 1_000
# A batch read asking for propertiesWithHistory takes at most 50 inputs (100 without).
HISTORY_BATCH_MAX_INPUTS = 50

# The stage histories (streams of their own): which property's versions each reads, for which
# object. Search cannot return history, so each page of ids the search finds is batch read again.
CONTACT_LIFECYCLE_HISTORY = "contact_lifecycle_history"
DEAL_STAGE_HISTORY = "deal_stage_history"
CONTACT_HISTORY_PROPERTIES: tuple[str, ...] = ("lifecyclestage",)
DEAL_HISTORY_PROPERTIES: tuple[str, ...] = ("dealstage",)

# Client-side limits, a little under the documented ones so clock skew never trips them.
GENERAL_LIMIT = (98, 10.0)  # requests per seconds, every endpoint
SEARCH_LIMIT = (4, 1.0)  # the search endpoints' own, lower limit

CURSOR_PROPERTY = "lastmodifieddate"
DEAL_CURSOR_PROPERTY = "hs_lastmodifieddate"  # deals name the same thing differently
COMPANY_CURSOR_PROPERTY = "hs_lastmodifieddate"  # ... and so do companies

# Read on every pull: identity, lifecycle, intent signals and what LeadFlow itself writes back.
CONTACT_PROPERTIES: tuple[str, ...] = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "mobilephone",
    "company",
    "jobtitle",
    "industry",
    "numemployees",
    "country",
    "city",
    "hs_email_optout",
    "hs_email_hard_bounce_reason_enum",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "hubspot_owner_assigneddate",  # set by HubSpot when the current owner was assigned
    "hs_sa_first_engagement_date",  # the current owner's first sales touch (SLA tracking)
    "hs_sa_first_engagement_object_type",
    "num_contacted_notes",  # "Number of sales activities": calls, emails, meetings, notes logged
    "notes_last_contacted",  # "Last contacted": the last call, email or meeting
    "notes_last_updated",  # "Last activity date": the last sales activity of any kind
    "createdate",
    "lastmodifieddate",
    "hs_merged_object_ids",  # set by a merge: the contacts merged into this one (dedupe follows)
    "hs_lifecyclestage_lead_date",
    "hs_lifecyclestage_marketingqualifiedlead_date",
    "hs_lifecyclestage_salesqualifiedlead_date",
    "hs_lifecyclestage_opportunity_date",
    "hs_lifecyclestage_customer_date",
    "hs_analytics_source",
    "hs_analytics_num_page_views",
    "hs_analytics_last_visit_timestamp",
    "num_conversion_events",
    "leadflow_lead_id",
    "leadflow_score",
    "leadflow_grade",
    "leadflow_temperature",
    "leadflow_reasons",
)

# The contact properties LeadFlow owns and keeps in sync; a change in any of them is a new push.
# Identity properties (email, names, ...) are only sent when LeadFlow creates the contact.
OWNED_PROPERTIES: tuple[str, ...] = (
    "hubspot_owner_id",
    "leadflow_lead_id",
    "leadflow_score",
    "leadflow_grade",
    "leadflow_temperature",
    "leadflow_reasons",
    "leadflow_nurture_track",  # routing/nurture.py: the open track, '' once the lead left it
    "leadflow_model_version",  # the scoring model that gave the score
    "hs_lead_status",  # routing/recycle.py: BAD_TIMING / UNQUALIFIED; sent only when recycled
)

# The custom contact properties LeadFlow writes, as the properties API creates them (POST
# /crm/v3/properties/contacts) in a portal that lacks them. In the standard "contactinformation"
# group, which every portal has.
PROPERTIES = "/crm/v3/properties/contacts"
CUSTOM_PROPERTIES: tuple[dict[str, object], ...] = tuple(
    {"groupName": "contactinformation", **definition}
    for definition in (
        {"name": "leadflow_lead_id", "label": "LeadFlow lead ID", "type": "string",
         "fieldType": "text", "hasUniqueValue": True},
        {"name": "leadflow_score", "label": "LeadFlow score", "type": "number",
         "fieldType": "number"},
        {"name": "leadflow_grade", "label": "LeadFlow grade", "type": "string",
         "fieldType": "text"},
        {"name": "leadflow_temperature", "label": "LeadFlow temperature", "type": "string",
         "fieldType": "text"},
        {"name": "leadflow_reasons", "label": "LeadFlow reasons", "type": "string",
         "fieldType": "textarea"},
        {"name": "leadflow_nurture_track", "label": "LeadFlow nurture track", "type": "string",
         "fieldType": "text"},
        {"name": "leadflow_model_version", "label": "LeadFlow model version", "type": "string",
         "fieldType": "text"},
    )
)  # fmt: skip
IDENTITY_PROPERTIES: tuple[str, ...] = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "jobtitle",
    "country",
)

# Read on every deals pull: what the pipeline marts need (value, stage, owner, dates).
DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "hubspot_owner_id",
    "createdate",
    "closedate",
    "hs_lastmodifieddate",
    "hs_is_closed",
    "hs_is_closed_won",
)

# Read on every companies pull: what lead-to-account matching (dedupe/accounts.py) compares (name,
# domains, phone), its tie-breakers (owner, contacts, last activity, creation) and dim_accounts.
COMPANY_PROPERTIES: tuple[str, ...] = (
    "name",
    "domain",
    "website",
    "hs_additional_domains",
    "phone",
    "city",
    "country",
    "industry",
    "numberofemployees",
    "hubspot_owner_id",
    "num_associated_contacts",
    "notes_last_updated",
    "createdate",
    "hs_lastmodifieddate",
)
