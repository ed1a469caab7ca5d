"""The file drop's contract with the people who fill it: folders, the columns read and the words
understood, in one place (connectors/file_drop/README.md documents the same lists for users).

A header is matched after `header_key` folds it: case folded, a byte order mark dropped, every run
of spaces and punctuation one underscore. So `E-mail`, `E-Mail Address` and ` email_address ` all
read as the email column, through the aliases `e_mail`, `e_mail_address` and `email_address`. Each
field lists the header keys it accepts, most specific first; a row's value is the first non-empty
one among the columns present, in that order (Zoom writes `Join Time` for attendees and only
`Registration Time` for no-shows).
"""

from __future__ import annotations

import re
import unicodedata

# <path>/<stream>/*.csv: one folder per stream, so a file's kind never depends on its name.
STREAM_FOLDERS = ("events", "referrals")
FILE_SUFFIX = ".csv"  # compared case-blind: Excel on Windows writes .CSV
# Editors' lock and temporary files that sit beside a CSV while it is open: never read.
IGNORED_PREFIXES = (".", "~$", "~")

# Tried on the header row; the one that splits it into the most known columns wins (a tie: the
# earlier one). Semicolons are what Excel writes where the decimal separator is a comma (most of
# Europe); tabs are what "Text (tab delimited)" and many copy-pastes give.
DELIMITERS = (",", ";", "\t")

# The person, as every stream has one.
PERSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "e_mail", "email_address", "e_mail_address", "work_email", "business_email",
        "attendee_email", "registrant_email", "contact_email", "mail",
    ),
    "first_name": ("first_name", "firstname", "first", "given_name", "forename"),
    "last_name": ("last_name", "lastname", "last", "surname", "family_name"),
    "full_name": (
        "name", "full_name", "fullname", "attendee_name", "registrant_name", "contact_name",
    ),
    "company": (
        "company", "company_name", "organization", "organisation", "organization_name",
        "organisation_name", "org", "account", "account_name", "employer",
    ),
    "job_title": ("job_title", "jobtitle", "title", "position", "role"),
    "phone": (
        "phone", "phone_number", "telephone", "tel", "mobile", "mobile_phone", "mobile_number",
        "cell", "cell_phone", "work_phone", "direct_phone",
    ),
    "country": ("country", "country_region", "country_code", "country_name"),
}  # fmt: skip

EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    **PERSON_COLUMNS,
    "event_name": (
        "event_name", "event", "event_title", "webinar", "webinar_name", "webinar_topic",
        "topic", "session", "session_name", "meetup",
    ),
    # When the person attended or registered: the time their intent event happened.
    "event_date": (
        "event_date", "date", "event_day", "attended_at", "attended_on", "check_in_time",
        "checked_in_at", "join_time", "registered_at", "registration_time", "registration_date",
        "registered_on",
    ),
    "status": (
        "status", "attendance", "attended", "attendance_status", "attendee_status",
        "registration_status", "checked_in", "showed_up",
    ),
}  # fmt: skip

# The referred person first (the lead), then who referred them (kept in raw for dbt).
REFERRAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": (
        "referred_email", "referee_email", "referral_email", "lead_email", "prospect_email",
        *PERSON_COLUMNS["email"],
    ),
    "first_name": ("referred_first_name", "referee_first_name", *PERSON_COLUMNS["first_name"]),
    "last_name": ("referred_last_name", "referee_last_name", *PERSON_COLUMNS["last_name"]),
    "full_name": (
        "referred_name", "referee_name", "referral_name", "lead_name", "prospect_name",
        "referred_person", *PERSON_COLUMNS["full_name"],
    ),
    "company": ("referred_company", *PERSON_COLUMNS["company"]),
    "job_title": ("referred_job_title", "referred_title", *PERSON_COLUMNS["job_title"]),
    "phone": ("referred_phone", *PERSON_COLUMNS["phone"]),
    "country": ("referred_country", *PERSON_COLUMNS["country"]),
    "referrer_name": (
        "referrer_name", "referrer", "referred_by", "partner", "partner_name", "referring_partner",
    ),
    "referrer_email": ("referrer_email", "referrer_e_mail", "referred_by_email", "partner_email"),
    "referred_at": (
        "referred_at", "referral_date", "referred_on", "date_referred", "date", "created_at",
        "submitted_at",
    ),
    "note": ("note", "notes", "comment", "comments", "message", "context", "details"),
}  # fmt: skip

COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "events": EVENT_COLUMNS,
    "referrals": REFERRAL_COLUMNS,
}
# The column a stream's rows are dated by, for reasons a user reads.
DATE_FIELD = {"events": "event_date", "referrals": "referred_at"}

# An events row's status, folded like a header but with spaces (`status_key`). Empty or no status
# column: attended (an attendee list is a list of people who came). Anything else is unreadable
# rather than guessed, cancellations included: a cancelled registration is not interest we can
# score without a rule for it.
ATTENDED = frozenset(
    {
        "attended", "attendee", "yes", "y", "true", "1", "checked in", "present", "showed",
        "showed up", "participated", "visited",
    }
)  # fmt: skip
REGISTERED = frozenset(
    {
        "registered", "registrant", "no", "n", "false", "0", "no show", "noshow",
        "not attended", "did not attend", "absent", "attending", "signed up", "rsvp", "rsvped",
        "going", "waitlisted",
    }
)  # fmt: skip

# The kinds of row, which are their "forms": FileDropSourceConfig.intent_events maps each to the
# intent event it counts as (leadflow/config.py).
KIND_ATTENDED, KIND_REGISTERED, KIND_REFERRAL = "attended", "registered", "referral"

_NON_WORD = re.compile(r"[\W_]+")


def header_key(header: str) -> str:
    """`' E-Mail Address '` -> `e_mail_address`, `First Name` after a byte order mark ->
    `first_name`. Word boundaries stay (`e_mail` is not `email`): the aliases list both."""
    text = unicodedata.normalize("NFKC", header).replace("\ufeff", "").casefold()
    return _NON_WORD.sub("_", text).strip("_")


def status_key(value: str) -> str:
    """`'Checked-In'`, `'checked_in'` -> `checked in`."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def known_headers(stream: str) -> frozenset[str]:
    """Every header key a stream reads."""
    return frozenset(key for aliases in COLUMNS[stream].values() for key in aliases)
