"""Salesforce REST API: endpoints, the fields each stream reads, and the documented limits.

Docs:
- Query / QueryAll, batches and `nextRecordsUrl`:
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm,
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm
- `Sforce-Query-Options: batchSize` (200 to 2,000, default 2,000; a hint, not a promise):
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
- Query cursors: a locator is gone after 15 minutes without use, and a user keeps at most 10 open:
  https://help.salesforce.com/s/articleView?id=000386175&type=1
- sObject Collections update / upsert, at most 200 records a request:
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html,
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html
- `Sforce-Auto-Assign` (lead and case assignment rules on API writes; TRUE when absent):
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_autoassign.htm
- API request limits (a rolling 24-hour org allowance, 15,000 + 1,000 per licence on Enterprise;
  `Sforce-Limit-Info: api-usage=N/LIMIT` on every answer; 403 REQUEST_LIMIT_EXCEEDED past it):
  https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm,
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
- SOQL datetime literals (unquoted, `YYYY-MM-DDThh:mm:ssZ`):
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
"""

from __future__ import annotations

DEFAULT_API_VERSION = "v62.0"

DATA = "/services/data/{version}"
QUERY_ALL = DATA + "/queryAll"
LIMITS = DATA + "/limits"
DESCRIBE = DATA + "/sobjects/{sobject}/describe"
COLLECTIONS = DATA + "/composite/sobjects"
COLLECTIONS_UPSERT = DATA + "/composite/sobjects/{sobject}/{external_id_field}"

BATCH_SIZE_MIN = 200
BATCH_SIZE_MAX = 2_000
COLLECTION_MAX_RECORDS = 200
DEFAULT_DAILY_REQUEST_LIMIT = 15_000  # the smallest org allowance; the real one is per org

CURSOR_FIELD = "SystemModstamp"  # changes on every write, by users and by automation alike

# The custom fields LeadFlow writes back (on Lead and Contact); create them before the first push.
LEADFLOW_FIELDS: tuple[str, ...] = (
    "LeadFlow_Score__c",
    "LeadFlow_Grade__c",
    "LeadFlow_Temperature__c",
    "LeadFlow_Reasons__c",
    "LeadFlow_Model_Version__c",
    "LeadFlow_Lead_Id__c",
)
EXTERNAL_ID_FIELD = "LeadFlow_Lead_Id__c"

_SYSTEM: tuple[str, ...] = ("CreatedDate", "LastModifiedDate", "SystemModstamp")
_PERSON: tuple[str, ...] = (
    "Id",
    "IsDeleted",
    "MasterRecordId",  # set on the losing record of a merge (which is deleted)
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MobilePhone",
    "Title",
    "LeadSource",
    "OwnerId",
    "HasOptedOutOfEmail",
    "EmailBouncedReason",
    "EmailBouncedDate",
)

# stream -> (sObject, the fields every pull selects)
STREAM_OBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "leads": (
        "Lead",
        (
            *_PERSON,
            "Company",
            "Country",
            "City",
            "Industry",
            "NumberOfEmployees",
            "Status",
            "IsConverted",
            "ConvertedContactId",
            "ConvertedDate",
            *LEADFLOW_FIELDS,
            *_SYSTEM,
        ),
    ),
    "contacts": (
        "Contact",
        (
            *_PERSON,
            "AccountId",
            "Account.Name",
            "MailingCountry",
            "MailingCity",
            "IsEmailBounced",
            *LEADFLOW_FIELDS,
            *_SYSTEM,
        ),
    ),
    "opportunities": (
        "Opportunity",
        (
            "Id",
            "IsDeleted",
            "AccountId",
            "ContactId",
            "Name",
            "StageName",
            "Amount",
            "Probability",
            "CloseDate",
            "IsClosed",
            "IsWon",
            "LeadSource",
            "OwnerId",
            *_SYSTEM,
        ),
    ),
    # One row per stage an opportunity entered; never updated, so no LastModifiedDate.
    "opportunity_history": (
        "OpportunityHistory",
        (
            "Id",
            "IsDeleted",
            "OpportunityId",
            "StageName",
            "Amount",
            "Probability",
            "CloseDate",
            "ExpectedRevenue",
            "ForecastCategory",
            "CreatedById",
            "CreatedDate",
            "SystemModstamp",
        ),
    ),
    # Users are never deleted (they are deactivated: IsActive false), so they have no IsDeleted.
    "users": (
        "User",
        (
            "Id",
            "Username",
            "FirstName",
            "LastName",
            "Name",
            "Email",
            "Title",
            "Department",
            "IsActive",
            "UserType",
            *_SYSTEM,
        ),
    ),
}

# Per-record status codes that say "not now" rather than "never": sent again on the next run.
RETRIABLE_STATUS_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",  # another transaction holds the record; documented as retriable
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
        "REQUEST_LIMIT_EXCEEDED",
        "QUERY_TIMEOUT",
    }
)
# Status codes whose Salesforce message quotes the offending value (a name, an email): the
# outcome keeps the code and the fields only.
VALUE_ECHOING_STATUS_CODES = frozenset(
    {
        "STRING_TOO_LONG",
        "INVALID_EMAIL_ADDRESS",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    }
)
