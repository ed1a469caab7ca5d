"""Fivetran's HubSpot and Salesforce tables: which table fills which LeadFlow stream, the columns
that hold its id, its cursor and its deletion, and the read limits.

Docs:
- System columns (`_fivetran_synced`: when Fivetran last wrote the row, updated for a single soft
  delete; `_fivetran_deleted`; history mode's `_fivetran_active`, `_fivetran_start`: when the
  version was made in the source, `_fivetran_end`):
  https://fivetran.com/docs/core-concepts/system-columns-and-tables
- Soft delete mode (Salesforce: `is_deleted` is the source's own flag, kept as a column):
  https://fivetran.com/docs/core-concepts/sync-modes/soft-delete
- Destination names are the source's, lower-cased and snake_cased (`SystemModstamp` ->
  `system_modstamp`, `LeadFlow_Lead_Id__c` -> `leadflow_lead_id_c`); the connection's schema tab
  shows the exact ones: https://fivetran.com/docs/rest-api/tutorials/retrieving-schema-table-column-names
- HubSpot: one column per contact property, `property_<name>`; `contact_property_history` and
  `contact_merge_audit` beside it. Salesforce: one table per object, one column per field.
"""

from __future__ import annotations

from dataclasses import dataclass

# Rows a page holds: one DuckDB query each (keyset on cursor and id, `LIMIT`), so memory stays
# bounded by the page whatever the table's size.
PAGE_ROWS = 2_000

# Fivetran's metadata columns: read for deletes and history, never put in a payload (a re-sync
# rewrites `_fivetran_synced` on every row; it would make every record a new version).
SYSTEM_PREFIX = "_fivetran_"
SYNCED = "_fivetran_synced"
DELETED = "_fivetran_deleted"
ACTIVE = "_fivetran_active"
START = "_fivetran_start"

HUBSPOT_PROPERTY_PREFIX = "property_"


@dataclass(frozen=True)
class Table:
    """One Fivetran table and the LeadFlow stream it fills."""

    stream: str
    table: str
    # The first of these the table has holds the record id (Fivetran's HubSpot owner table has
    # `owner_id`, older ones `id`).
    id_columns: tuple[str, ...]
    # The first of these the table has is the incremental cursor, as the API's own cursor is (the
    # property or field that moves with every change). None of them: the table is read whole on
    # every run (re-reads store nothing new).
    cursor_columns: tuple[str, ...]
    # A column that says the source deleted the row, beside _fivetran_deleted.
    deleted_columns: tuple[str, ...] = ("is_deleted",)
    # Without it, the source has no stream worth reading: the pull stops with a clear error.
    required: bool = True


HUBSPOT_TABLES: dict[str, Table] = {
    "contacts": Table(
        "contacts",
        "contact",
        id_columns=("id",),
        cursor_columns=("property_lastmodifieddate",),
    ),
    "owners": Table(
        "owners",
        "owner",
        id_columns=("owner_id", "id"),
        cursor_columns=("updated_at",),
    ),
    "deals": Table(
        "deals",
        "deal",
        id_columns=("deal_id", "id"),
        cursor_columns=("property_hs_lastmodifieddate",),
    ),
    "companies": Table(
        "companies",
        "company",
        id_columns=("id", "company_id"),
        cursor_columns=("property_hs_lastmodifieddate",),
    ),
}
# A deal's contacts (`associations.contacts`, as the API pull adds them); without the table a
# deal lands without associations.
HUBSPOT_DEAL_CONTACT = "deal_contact"

SALESFORCE_TABLES: dict[str, Table] = {
    stream: Table(stream, table, id_columns=("id",), cursor_columns=cursor)
    for stream, table, cursor in (
        ("leads", "lead", ("system_modstamp", "last_modified_date")),
        ("contacts", "contact", ("system_modstamp", "last_modified_date")),
        ("opportunities", "opportunity", ("system_modstamp", "last_modified_date")),
        ("opportunity_history", "opportunity_history", ("system_modstamp", "created_date")),
        ("users", "user", ("system_modstamp", "last_modified_date")),
    )
}
# A contact's Account.Name (the company its parser reads); without the table, left out.
SALESFORCE_ACCOUNT = "account"

TABLES: dict[str, dict[str, Table]] = {
    "hubspot": HUBSPOT_TABLES,
    "salesforce": SALESFORCE_TABLES,
}
VENDOR_NAMES = {"hubspot": "HubSpot", "salesforce": "Salesforce"}

# HubSpot properties the dbt staging models cast as timestamps: a value Fivetran holds as text is
# sent on in HubSpot's form (2026-05-01T09:30:00.000Z), or as null when it reads as no time.
HUBSPOT_TIMESTAMP_PROPERTIES = frozenset(
    {
        "createdate",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "closedate",
        "notes_last_updated",
        "notes_last_contacted",
        "hubspot_owner_assigneddate",
        "hs_sa_first_engagement_date",
        "hs_analytics_last_visit_timestamp",
        "hs_lifecyclestage_lead_date",
        "hs_lifecyclestage_marketingqualifiedlead_date",
        "hs_lifecyclestage_salesqualifiedlead_date",
        "hs_lifecyclestage_opportunity_date",
        "hs_lifecyclestage_customer_date",
    }
)

# Salesforce fields that hold a date without a time (sent as 2026-05-01).
SALESFORCE_DATE_FIELDS = frozenset({"CloseDate", "ConvertedDate", "LastActivityDate", "Birthdate"})
