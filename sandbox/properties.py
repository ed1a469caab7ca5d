"""The HubSpot contact properties the sandbox knows, with their types and write rules.

HubSpot stores every property value as a string (or no value at all); the type decides how a
search filter compares values and how a write is validated. The list is fixed: the standard
properties LeadFlow reads plus the custom `leadflow_*` properties its setup creates. A write naming
any other property fails the way HubSpot fails it (PROPERTY_DOESNT_EXIST).
"""

from __future__ import annotations

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
    ContactProperty("country", "Country/Region", "string"),
    ContactProperty("city", "City", "string"),
    ContactProperty("lifecyclestage", "Lifecycle Stage", "enumeration", options=LIFECYCLE_STAGES),
    ContactProperty("hs_lead_status", "Lead Status", "enumeration", options=LEAD_STATUSES),
    ContactProperty("hubspot_owner_id", "Contact owner", "enumeration"),
    ContactProperty("createdate", "Create Date", "datetime"),
    ContactProperty("lastmodifieddate", "Last Modified Date", "datetime", writable=False),
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
