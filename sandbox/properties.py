"""The HubSpot contact, deal and company properties the sandbox knows: types and write rules.

HubSpot stores every property value as a string (or no value at all); the type decides how a
search filter compares values and how a write is validated. The list is fixed: the standard
properties LeadFlow reads plus the custom `leadflow_*` properties its setup creates. A write naming
any other property fails the way HubSpot fails it (PROPERTY_DOESNT_EXIST).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

PropertyType = Literal["string", "number", "datetime", "enumeration"]

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
# The funnel the generated world walks, in order; each has an hs_lifecyclestage_<stage>_date.
FUNNEL_STAGES = ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")

LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)

# Engagement object types a first sales touch can be.
FIRST_ENGAGEMENT_TYPES = ("CALL", "EMAIL", "MEETING")
# How long after being assigned an owner first touches a contact: (share, low, high) in ms.
FIRST_TOUCH_DELAYS = (
    (0.70, 60_000, 4 * 60_000),  # within minutes
    (0.15, 10 * 60_000, 90 * 60_000),  # late for a hot lead
    (0.07, 3 * 3_600_000, 30 * 3_600_000),  # next day
)


def first_touch_delay_ms(contact_id: str, owner_id: str) -> int | None:
    """How long after being assigned an owner first touches a contact: deterministic per (contact,
    owner). Most touch within minutes, some late, some never (None)."""
    digest = hashlib.sha256(f"first-touch:{contact_id}:{owner_id}".encode()).digest()
    u = int.from_bytes(digest[:4], "big") / 2**32
    v = int.from_bytes(digest[4:8], "big") / 2**32
    for share, low_ms, high_ms in FIRST_TOUCH_DELAYS:
        if u < share:
            return int(low_ms + v * (high_ms - low_ms))
        u -= share
    return None


def touch_type(contact_id: str, owner_id: str) -> str:
    digest = hashlib.sha256(f"touch-type:{contact_id}:{owner_id}".encode()).digest()
    return FIRST_ENGAGEMENT_TYPES[digest[0] % len(FIRST_ENGAGEMENT_TYPES)]


# HubSpot's default `numemployees` contact property options.
EMPLOYEE_RANGES = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
# A few of HubSpot's `hs_email_hard_bounce_reason_enum` options.
HARD_BOUNCE_REASONS = ("UNKNOWN_USER", "MAILBOX_FULL", "DNS_FAILURE", "SPAM", "POLICY", "OTHER")

ANALYTICS_SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "PAID_SOCIAL",
    "DIRECT_TRAFFIC",
    "REFERRALS",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "OTHER_CAMPAIGNS",
    "OFFLINE",
)


@dataclass(frozen=True)
class ContactProperty:
    """One contact property: how it compares in a filter and whether the API may write it."""

    name: str
    label: str
    type: PropertyType
    group: str = "contactinformation"
    writable: bool = True
    unique: bool = False
    options: tuple[str, ...] = ()
    custom: bool = False


def _stage_date(stage: str) -> ContactProperty:
    return ContactProperty(
        f"hs_lifecyclestage_{stage}_date",
        f"Became a {stage} date",
        "datetime",
        group="contact_activity",
        writable=False,
    )


CONTACT_PROPERTIES: tuple[ContactProperty, ...] = (
    ContactProperty("hs_object_id", "Record ID", "number", writable=False, unique=True),
    ContactProperty("email", "Email", "string", unique=True),
    ContactProperty("firstname", "First Name", "string"),
    ContactProperty("lastname", "Last Name", "string"),
    ContactProperty("phone", "Phone Number", "string"),
    ContactProperty("mobilephone", "Mobile Phone Number", "string"),
    ContactProperty("company", "Company Name", "string"),
    ContactProperty("jobtitle", "Job Title", "string"),
    ContactProperty("industry", "Industry", "string"),
    ContactProperty("numemployees", "Number of Employees", "enumeration", options=EMPLOYEE_RANGES),
    ContactProperty("country", "Country/Region", "string"),
    ContactProperty("city", "City", "string"),
    ContactProperty("lifecyclestage", "Lifecycle Stage", "enumeration", options=LIFECYCLE_STAGES),
    ContactProperty("hs_lead_status", "Lead Status", "enumeration", options=LEAD_STATUSES),
    ContactProperty("hubspot_owner_id", "Contact owner", "enumeration"),
    # Set by HubSpot itself: when the current owner was assigned, and that owner's first sales
    # engagement (call, email, meeting) with the contact, cleared when the owner changes.
    ContactProperty(
        "hubspot_owner_assigneddate", "Owner assigned date", "datetime", writable=False
    ),
    ContactProperty(
        "hs_sa_first_engagement_date",
        "Date of first engagement",
        "datetime",
        group="sales_properties",
        writable=False,
    ),
    ContactProperty(
        "hs_sa_first_engagement_object_type",
        "Object type of first engagement",
        "enumeration",
        group="sales_properties",
        writable=False,
        options=FIRST_ENGAGEMENT_TYPES,
    ),
    # Sales activity HubSpot rolls up from logged calls, emails, meetings and notes.
    ContactProperty(
        "num_contacted_notes",
        "Number of Sales Activities",
        "number",
        group="sales_properties",
        writable=False,
    ),
    ContactProperty(
        "notes_last_contacted",
        "Last Contacted",
        "datetime",
        group="sales_properties",
        writable=False,
    ),
    ContactProperty(
        "notes_last_updated",
        "Last Activity Date",
        "datetime",
        group="sales_properties",
        writable=False,
    ),
    ContactProperty("createdate", "Create Date", "datetime"),
    ContactProperty(
        "hs_email_optout",
        "Unsubscribed from all email",
        "enumeration",
        group="emailinformation",
        writable=False,
        options=("true", "false"),
    ),
    ContactProperty(
        "hs_email_hard_bounce_reason_enum",
        "Email hard bounce reason",
        "enumeration",
        group="emailinformation",
        writable=False,
        options=HARD_BOUNCE_REASONS,
    ),
    ContactProperty("lastmodifieddate", "Last Modified Date", "datetime", writable=False),
    # Set by a merge (sandbox/hubspot.py): the ids of every contact merged into this one, through
    # earlier merges too, semicolon-separated as HubSpot's multi-value properties are.
    ContactProperty("hs_merged_object_ids", "Merged Contact IDs", "enumeration", writable=False),
    *(_stage_date(stage) for stage in FUNNEL_STAGES),
    ContactProperty(
        "hs_analytics_source",
        "Original Source",
        "enumeration",
        group="analyticsinformation",
        writable=False,
        options=ANALYTICS_SOURCES,
    ),
    ContactProperty(
        "hs_analytics_num_page_views",
        "Number of Pageviews",
        "number",
        group="analyticsinformation",
        writable=False,
    ),
    ContactProperty(
        "hs_analytics_last_visit_timestamp",
        "Time of Last Session",
        "datetime",
        group="analyticsinformation",
        writable=False,
    ),
    ContactProperty(
        "num_conversion_events",
        "Number of Form Submissions",
        "number",
        group="conversioninformation",
        writable=False,
    ),
    ContactProperty(
        "leadflow_lead_id", "LeadFlow lead ID", "string", "leadflow", unique=True, custom=True
    ),
    ContactProperty("leadflow_score", "LeadFlow score", "number", "leadflow", custom=True),
    ContactProperty("leadflow_grade", "LeadFlow grade", "string", "leadflow", custom=True),
    ContactProperty(
        "leadflow_temperature", "LeadFlow temperature", "string", "leadflow", custom=True
    ),
    ContactProperty("leadflow_reasons", "LeadFlow reasons", "string", "leadflow", custom=True),
    ContactProperty(
        "leadflow_nurture_track", "LeadFlow nurture track", "string", "leadflow", custom=True
    ),
    ContactProperty(
        "leadflow_model_version", "LeadFlow model version", "string", "leadflow", custom=True
    ),
)

PROPERTIES_BY_NAME: dict[str, ContactProperty] = {p.name: p for p in CONTACT_PROPERTIES}
PROPERTY_NAMES: tuple[str, ...] = tuple(p.name for p in CONTACT_PROPERTIES)

# Returned on every object whatever was asked for (HubSpot does the same).
ALWAYS_RETURNED = ("createdate", "hs_object_id", "lastmodifieddate")
# What search and list return when the request names no properties.
DEFAULT_RETURNED = (
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
)
# Properties an upsert may name as `idProperty` (HubSpot: "unique value" properties only).
UNIQUE_ID_PROPERTIES = ("email", "leadflow_lead_id")

# Deals: HubSpot's default sales pipeline and the deal properties LeadFlow reads. The sandbox serves
# deals read-only (search), so none is writable through it.
DEAL_PIPELINE = "default"
DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)
DEAL_PROPERTIES: tuple[ContactProperty, ...] = (
    ContactProperty("hs_object_id", "Record ID", "number", "dealinformation", False, True),
    ContactProperty("dealname", "Deal Name", "string", "dealinformation", False),
    ContactProperty("amount", "Amount", "number", "dealinformation", False),
    ContactProperty(
        "dealstage", "Deal Stage", "enumeration", "dealinformation", False, options=DEAL_STAGES
    ),
    ContactProperty(
        "pipeline", "Pipeline", "enumeration", "dealinformation", False, options=(DEAL_PIPELINE,)
    ),
    ContactProperty("closedate", "Close Date", "datetime", "dealinformation", False),
    ContactProperty("createdate", "Create Date", "datetime", "dealinformation", False),
    ContactProperty("hs_lastmodifieddate", "Last Modified Date", "datetime", "dealinformation", False),
    ContactProperty("hubspot_owner_id", "Deal owner", "enumeration", "dealinformation", False),
    ContactProperty("deal_currency_code", "Currency", "enumeration", "dealinformation", False),
    ContactProperty(
        "hs_is_closed", "Is Deal Closed?", "enumeration", "dealinformation", False,
        options=("true", "false"),
    ),
    ContactProperty(
        "hs_is_closed_won", "Is Closed Won", "enumeration", "dealinformation", False,
        options=("true", "false"),
    ),
)  # fmt: skip
DEAL_PROPERTIES_BY_NAME: dict[str, ContactProperty] = {p.name: p for p in DEAL_PROPERTIES}
DEAL_PROPERTY_NAMES: tuple[str, ...] = tuple(p.name for p in DEAL_PROPERTIES)
DEAL_ALWAYS_RETURNED = ("createdate", "hs_lastmodifieddate", "hs_object_id")
DEAL_DEFAULT_RETURNED = (
    "amount",
    "closedate",
    "createdate",
    "dealname",
    "dealstage",
    "hs_lastmodifieddate",
    "hs_object_id",
    "pipeline",
)

# Companies: the accounts leads are matched to (dedupe/accounts.py). HubSpot's default company
# properties LeadFlow reads; the sandbox serves companies read-only (search, list, get), so none is
# writable through it. `hs_additional_domains` holds further domains, separated by semicolons.
COMPANY_PROPERTIES: tuple[ContactProperty, ...] = (
    ContactProperty("hs_object_id", "Record ID", "number", "companyinformation", False, True),
    ContactProperty("name", "Company name", "string", "companyinformation", False),
    ContactProperty("domain", "Company Domain Name", "string", "companyinformation", False),
    ContactProperty("website", "Website URL", "string", "companyinformation", False),
    ContactProperty(
        "hs_additional_domains", "Additional Domains", "string", "companyinformation", False
    ),
    ContactProperty("phone", "Phone Number", "string", "companyinformation", False),
    ContactProperty("city", "City", "string", "companyinformation", False),
    ContactProperty("country", "Country/Region", "string", "companyinformation", False),
    ContactProperty("industry", "Industry", "string", "companyinformation", False),
    ContactProperty(
        "numberofemployees", "Number of Employees", "number", "companyinformation", False
    ),
    ContactProperty("hubspot_owner_id", "Company owner", "enumeration", "companyinformation", False),
    ContactProperty(
        "num_associated_contacts", "Number of Associated Contacts", "number", "companyinformation",
        False,
    ),
    ContactProperty("notes_last_updated", "Last Activity Date", "datetime", "sales_properties", False),
    ContactProperty("createdate", "Create Date", "datetime", "companyinformation", False),
    ContactProperty(
        "hs_lastmodifieddate", "Last Modified Date", "datetime", "companyinformation", False
    ),
)  # fmt: skip
COMPANY_PROPERTIES_BY_NAME: dict[str, ContactProperty] = {p.name: p for p in COMPANY_PROPERTIES}
COMPANY_PROPERTY_NAMES: tuple[str, ...] = tuple(p.name for p in COMPANY_PROPERTIES)
COMPANY_ALWAYS_RETURNED = ("createdate", "hs_lastmodifieddate", "hs_object_id")
# What a companies search or list returns when the request names no properties (HubSpot's own).
COMPANY_DEFAULT_RETURNED = ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name")
