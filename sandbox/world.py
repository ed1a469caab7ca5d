"""The generated world: companies, reps, people, and each person's dirty records on the sources.

Everything here is deterministic from the seed. The world is the ground truth the rest of LeadFlow
is measured against: `World.truth` says which person every source record belongs to, so dedupe can
be scored; `World.people` holds each person's clean attributes, so normalisation can be scored.

The records themselves are deliberately dirty, the way real form and CRM data is: the same person
shows up with their email in another case or padded with spaces, a one-letter typo in a name, the
phone in another format, the country spelled another way, fields missing; some records carry an
invalid email, some no email at all. The rates are module constants below so tests can check them.

Generation streams people to the store in chunks, so memory stays flat however large the world:
nothing holds all people, all emails or all records at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from itertools import accumulate
from random import Random
from typing import Any, overload

from sandbox.clock import hubspot_time, parse_iso_ms
from sandbox.properties import (
    ANALYTICS_SOURCES,
    DEAL_STAGES,
    EMPLOYEE_RANGES,
    FUNNEL_STAGES,
    HARD_BOUNCE_REASONS,
    PROPERTY_NAMES,
    first_touch_delay_ms,
    touch_type,
)

# --------------------------------------------------------------------------- world constants

WINDOW_DAYS = 180
DAY_MS = 86_400_000
SALES_DOMAIN = "quillstone.example"
META_PAGE_ID = "100000000000001"
HUBSPOT_FIRST_ID = 1001
META_FIRST_LEAD_ID = 1_600_000_000_000_001

# Which sources a person is found on, and how often: ~60% have a HubSpot contact and a person has
# ~1.3 records on average (1 + 0.24 + 2 * 0.03).
SOURCE_COMBOS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("hubspot",), 0.36),
    (("meta",), 0.22),
    (("typeform",), 0.15),
    (("hubspot", "meta"), 0.12),
    (("hubspot", "typeform"), 0.09),
    (("meta", "typeform"), 0.03),
    (("hubspot", "meta", "typeform"), 0.03),
)

# Dirt rates. Record-level unless said otherwise.
FREE_MAIL_RATE = 0.25  # of people
NO_CONTACT_RATE = 0.015  # records with neither email nor phone
PHONE_ONLY_RATE = 0.03  # records with a phone but no email
INVALID_EMAIL_RATE_FORMS = 0.075  # of Meta/Typeform records with an email (HubSpot rejects them)
NAME_TYPO_RATE = 0.2  # of a person's second and third records
PERSON_PHONE_RATE = 0.7  # of people, besides those whose records need one

# Funnel shape for HubSpot contacts: the chance a contact is drawn to reach each stage. A contact
# created recently may not have had time to get there (stage dates never pass now), so the draws sit
# a little above the observed shape: ~100% lead, 35% MQL, 15% SQL, 8% opportunity, 3% customer.
FUNNEL_REACH = {
    "lead": 1.0,
    "marketingqualifiedlead": 0.38,
    "salesqualifiedlead": 0.17,
    "opportunity": 0.095,
    "customer": 0.042,
}
# Mean days spent before moving to the stage.
STAGE_GAP_DAYS = {
    "marketingqualifiedlead": 4.0,
    "salesqualifiedlead": 7.0,
    "opportunity": 10.0,
    "customer": 25.0,
}

FREE_MAIL_DOMAINS = (
    ("gmail.com", 45),
    ("outlook.com", 14),
    ("yahoo.com", 14),
    ("hotmail.com", 11),
    ("icloud.com", 9),
    ("gmx.de", 7),
)


# --------------------------------------------------------------------------- public shapes


@dataclass(frozen=True)
class Company:
    """An invented company; `domain` is unique and never a real brand's."""

    id: int
    name: str
    domain: str
    country: str
    industry: str
    employees: int


@dataclass(frozen=True)
class Owner:
    """A sales rep, served as a HubSpot owner."""

    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    team_id: str
    team: str
    created_ms: int
    archived: bool = False


@dataclass(frozen=True)
class Form:
    """A lead form on a source. `page_id` is set for Meta forms only."""

    source: str
    id: str
    name: str
    page_id: str | None = None


@dataclass(frozen=True)
class Person:
    """One real person: clean attributes (the truth) and the source records they left."""

    person_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None  # E.164
    company_id: int
    job_title: str
    country: str  # ISO 3166 alpha-2
    city: str
    arrived_at: datetime
    records: tuple[tuple[str, str], ...]  # (source, record_id)


@dataclass(frozen=True)
class WorldParams:
    """What the world was generated from."""

    seed: int
    leads: int
    generated_at: datetime
    sales_domain: str = SALES_DOMAIN
    window_days: int = WINDOW_DAYS


META_FORMS = (
    Form("meta", "810000000000001", "Webinar signup", META_PAGE_ID),
    Form("meta", "810000000000002", "Pricing guide", META_PAGE_ID),
)
TYPEFORM_FORMS = (
    Form("typeform", "dEm0rQ", "Request a demo"),
    Form("typeform", "eB00kD", "Download the ebook"),
)
FORMS: tuple[Form, ...] = META_FORMS + TYPEFORM_FORMS

# Meta questions per form, in form order; the last key is the form's custom question.
META_QUESTIONS: dict[str, tuple[str, ...]] = {
    "810000000000001": (
        "full_name",
        "email",
        "phone_number",
        "company_name",
        "job_title",
        "country",
        "city",
        "what_is_your_biggest_data_challenge?",
    ),
    "810000000000002": (
        "first_name",
        "last_name",
        "email",
        "phone_number",
        "company_name",
        "job_title",
        "country",
        "city",
        "when_do_you_plan_to_buy?",
    ),
}
META_CUSTOM_ANSWERS: dict[str, tuple[str, ...]] = {
    "what_is_your_biggest_data_challenge?": (
        "data_quality",
        "too_many_tools",
        "slow_reporting",
        "hiring",
    ),
    "when_do_you_plan_to_buy?": ("this_month", "next_3_months", "this_year", "just_researching"),
}

# Typeform questions per form: ref -> field type, in form order.
TYPEFORM_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "dEm0rQ": (
        ("first_name", "short_text"),
        ("last_name", "short_text"),
        ("email", "email"),
        ("phone", "phone_number"),
        ("company", "short_text"),
        ("job_title", "short_text"),
        ("country", "dropdown"),
    ),
    "eB00kD": (
        ("first_name", "short_text"),
        ("last_name", "short_text"),
        ("email", "email"),
        ("company", "short_text"),
        ("job_title", "short_text"),
    ),
}


@lru_cache(maxsize=64)
def typeform_field_id(form_id: str, ref: str) -> str:
    """A stable 12-character field id, the shape Typeform uses."""
    digest = hashlib.sha256(f"{form_id}:{ref}".encode()).digest()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[b % 62] for b in digest[:12])


# --------------------------------------------------------------------------- reference pools

FIRST_NAMES = (
    "Ana", "Liam", "Olivia", "Noah", "Emma", "Lucas", "Sofia", "Mateo", "Mia", "Elena", "Jonas",
    "Lea", "Felix", "Hannah", "Luca", "Chloé", "Hugo", "Camille", "Léa", "Louis", "Aarav", "Priya",
    "Rohan", "Ananya", "Vikram", "Yuki", "Haruto", "Sakura", "Wei", "Mei", "Jia", "Oliver",
    "Amelia", "George", "Isla", "Harry", "Freya", "James", "Charlotte", "Daniel", "Sarah",
    "Michael", "Emily", "David", "Jessica", "Carlos", "Lucía", "Javier", "Marta", "Pablo",
    "Carmen", "João", "Beatriz", "Pedro", "Mariana", "Sven", "Ingrid", "Lars", "Astrid", "Noor",
    "Omar", "Layla", "Yusuf", "Fatima", "Kwame", "Amara", "Chidi", "Zara", "Ethan", "Ava",
    "Mason", "Isabella", "Logan", "Grace", "Ryan", "Nora", "Tom", "Julia", "Max", "Laura", "Ben",
    "Anna", "Sam", "Kate", "Rahul", "Sanjay", "Aisha", "Tariq", "Ines", "Matteo", "Giulia",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Smith", "Johnson", "Garcia", "Müller", "Schmidt", "Schneider", "Fischer", "Weber",
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Rossi", "Russo", "Ferrari",
    "Patel", "Sharma", "Singh", "Kumar", "Gupta", "Tanaka", "Suzuki", "Sato", "Wang", "Li",
    "Zhang", "Liu", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Wright", "Roberts",
    "Hughes", "Lopez", "Martinez", "Fernández", "González", "Rodriguez", "Santos", "Oliveira",
    "Costa", "Pereira", "Andersson", "Johansson", "Larsen", "Nielsen", "de Vries", "van Dijk",
    "Jansen", "Bakker", "O'Brien", "Murphy", "Kelly", "Nguyen", "Tran", "Kim", "Park", "Lee",
    "Chen", "Okafor", "Mensah", "Haddad", "Khan", "Ali", "Cohen", "Levi", "Novak", "Kowalski",
    "Nowak", "Ivanova", "Popescu", "Horvat", "Jones", "Miller", "Davis", "Anderson", "Clark",
    "Lewis", "Hall", "Young", "King", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
    "Campbell", "Mitchell", "Carter", "Reyes", "Moreau", "Laurent", "Becker", "Hoffmann",
)  # fmt: skip

# (title, weight); seniority from C-level to intern, as real inbound traffic is.
JOB_TITLES = (
    ("CEO", 2), ("CTO", 2), ("CMO", 1), ("CFO", 1), ("COO", 1), ("Founder", 2), ("Co-Founder", 2),
    ("VP Sales", 3), ("VP Marketing", 3), ("VP Engineering", 2), ("VP of Growth", 1),
    ("Head of Growth", 3), ("Head of Data", 2), ("Head of Marketing", 3),
    ("Director of Marketing", 3), ("Sales Director", 3), ("Director of Engineering", 2),
    ("Marketing Manager", 6), ("Sales Manager", 5), ("Product Manager", 5),
    ("Engineering Manager", 3), ("Demand Generation Manager", 3), ("RevOps Manager", 2),
    ("Account Executive", 5), ("Sales Development Representative", 4),
    ("Marketing Specialist", 4), ("Data Analyst", 4), ("Analyst", 4), ("Software Engineer", 5),
    ("Consultant", 3), ("Designer", 2), ("Operations Coordinator", 2), ("Student", 3),
    ("Intern", 3), ("Marketing Intern", 2), ("Assistant", 2),
)  # fmt: skip
TITLE_VARIANTS: dict[str, tuple[str, ...]] = {
    "CEO": ("Chief Executive Officer", "ceo"),
    "CTO": ("Chief Technology Officer", "cto"),
    "CMO": ("Chief Marketing Officer",),
    "CFO": ("Chief Financial Officer",),
    "Co-Founder": ("Cofounder", "co-founder & CEO"),
    "VP Sales": ("VP of Sales", "Vice President, Sales", "vp sales"),
    "VP Marketing": ("VP of Marketing", "Vice President Marketing"),
    "VP Engineering": ("VP of Engineering",),
    "Head of Growth": ("head of growth", "Growth Lead"),
    "Sales Development Representative": ("SDR", "Sales Development Rep"),
    "Account Executive": ("AE", "Senior Account Executive"),
    "Marketing Manager": ("marketing manager", "Mktg Manager"),
    "Software Engineer": ("Software Developer", "SWE"),
    "Student": ("student", "MBA Student"),
    "Intern": ("intern", "Summer Intern"),
}

INDUSTRIES = (
    "Software", "Fintech", "Healthcare", "Retail", "Manufacturing", "Education", "Logistics",
    "Media", "Consulting", "Real Estate", "Energy", "Telecommunications",
)  # fmt: skip

_SYL_START = (
    "bri", "kor", "nex", "val", "zen", "lum", "quar", "tal", "ver", "sol", "mar", "tri", "ox",
    "cal", "den", "fal", "gra", "hel", "ion", "jun", "kai", "lor", "mir", "nov", "orb", "pax",
    "rho", "syl", "tor", "ul", "vex", "wyn", "xan", "yor", "zel", "ar", "bel", "cor", "dra", "el",
    "fen", "gal", "hav", "ist", "jas", "kel", "lyr", "mon", "nyx", "op", "pry", "qui", "ros",
    "ste", "tiv", "umb", "vor", "wes", "yar", "zo",
)  # fmt: skip
_SYL_MID = (
    "a", "e", "i", "o", "u", "ra", "ri", "lo", "na", "ve", "mi", "to", "ka", "si", "de", "lu",
    "ne", "ta", "vo", "ze",
)  # fmt: skip
_SYL_END = (
    "lane", "loom", "ly", "io", "ora", "ent", "ix", "ify", "wave", "forge", "stack", "path",
    "grid", "nest", "ware", "sight", "mark", "bit", "cast", "flow", "hub", "line", "point",
    "scale", "shift", "spark", "stone", "tide", "works", "dex",
)  # fmt: skip
_NAME_SUFFIX = ("", "", "", " Labs", " Systems", " Analytics", " Technologies", " Group", " Cloud")
_LEGAL_SUFFIX = {
    "US": " Inc", "CA": " Inc", "GB": " Ltd", "DE": " GmbH", "FR": " SAS", "NL": " B.V.",
    "ES": " S.L.", "AU": " Pty Ltd", "IN": " Pvt Ltd", "SG": " Pte Ltd",
}  # fmt: skip
_COUNTRY_TLD = {
    "US": ".com", "CA": ".ca", "GB": ".co.uk", "DE": ".de", "FR": ".fr", "NL": ".nl",
    "ES": ".es", "AU": ".com.au", "IN": ".in", "SG": ".sg",
}  # fmt: skip


@dataclass(frozen=True)
class PhoneBlock:
    """A range of numbers: a fixed national prefix, then free digits; `groups` splits the NSN."""

    fixed: str
    groups: tuple[int, ...]

    @property
    def free(self) -> int:
        return sum(self.groups) - len(self.fixed)


@dataclass(frozen=True)
class Country:
    """A country with the ways people write its name, its cities and a phone plan."""

    code: str
    name: str
    spellings: tuple[str, ...]
    weight: int
    cities: tuple[str, ...]
    calling_code: str
    trunk: str
    blocks: tuple[PhoneBlock, ...]

    @cached_property
    def phone_space(self) -> int:
        return sum(10**b.free for b in self.blocks)


def _nanp(areas: Sequence[str]) -> tuple[PhoneBlock, ...]:
    # 555 numbers: the exchange North America keeps for directory and fiction.
    return tuple(PhoneBlock(area + "555", (3, 3, 4)) for area in areas)


# Phone ranges are those set aside for drama/fiction where a country has them (NANP 555, Ofcom's
# 01632/020 7946/07700 900 style blocks, ARCEP's 01 99 00, ACMA's 02 5550); elsewhere 555 blocks.
COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        "United States",
        ("United States", "US", "USA", "usa", "United States of America", "U.S."),
        34,
        (
            "San Francisco",
            "New York",
            "Chicago",
            "Austin",
            "Boston",
            "Seattle",
            "Denver",
            "Atlanta",
        ),
        "1",
        "",
        _nanp(("415", "212", "646", "312", "617", "206", "512", "303", "404", "305", "213", "702")),
    ),
    Country(
        "CA",
        "Canada",
        ("Canada", "CA", "canada"),
        6,
        ("Toronto", "Vancouver", "Montreal", "Calgary", "Ottawa"),
        "1",
        "",
        _nanp(("416", "604", "514", "403", "613")),
    ),
    Country(
        "GB",
        "United Kingdom",
        ("United Kingdom", "GB", "UK", "England", "Great Britain", "united kingdom"),
        13,
        ("London", "Manchester", "Leeds", "Bristol", "Edinburgh", "Glasgow"),
        "44",
        "0",
        (
            PhoneBlock("2079460", (2, 4, 4)),
            PhoneBlock("1614960", (3, 3, 4)),
            PhoneBlock("1134960", (3, 3, 4)),
            PhoneBlock("1174960", (3, 3, 4)),
            PhoneBlock("1314960", (3, 3, 4)),
            PhoneBlock("1414960", (3, 3, 4)),
            PhoneBlock("7700900", (4, 6)),
        ),
    ),
    Country(
        "DE",
        "Germany",
        ("Germany", "DE", "Deutschland", "germany"),
        12,
        ("Berlin", "Munich", "Hamburg", "Frankfurt", "Cologne"),
        "49",
        "0",
        (
            PhoneBlock("305550", (2, 8)),
            PhoneBlock("895550", (2, 8)),
            PhoneBlock("405550", (2, 8)),
            PhoneBlock("221555", (3, 7)),
            PhoneBlock("1515550", (3, 8)),
        ),
    ),
    Country(
        "FR",
        "France",
        ("France", "FR", "france"),
        7,
        ("Paris", "Lyon", "Marseille", "Toulouse", "Lille"),
        "33",
        "0",
        (PhoneBlock("19900", (1, 2, 2, 2, 2)), PhoneBlock("63998", (1, 2, 2, 2, 2))),
    ),
    Country(
        "NL",
        "Netherlands",
        ("Netherlands", "NL", "The Netherlands", "Holland"),
        5,
        ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"),
        "31",
        "0",
        (PhoneBlock("20555", (2, 3, 4)), PhoneBlock("10555", (2, 3, 4))),
    ),
    Country(
        "ES",
        "Spain",
        ("Spain", "ES", "España"),
        5,
        ("Madrid", "Barcelona", "Valencia", "Seville"),
        "34",
        "",
        (PhoneBlock("91555", (2, 3, 2, 2)), PhoneBlock("93555", (2, 3, 2, 2))),
    ),
    Country(
        "AU",
        "Australia",
        ("Australia", "AU", "australia"),
        6,
        ("Sydney", "Melbourne", "Brisbane", "Perth"),
        "61",
        "0",
        (PhoneBlock("25550", (1, 4, 4)), PhoneBlock("37010", (1, 4, 4))),
    ),
    Country(
        "IN",
        "India",
        ("India", "IN", "india"),
        7,
        ("Bengaluru", "Mumbai", "Delhi", "Pune", "Hyderabad"),
        "91",
        "0",
        (PhoneBlock("98555", (5, 5)), PhoneBlock("99555", (5, 5))),
    ),
    Country(
        "SG",
        "Singapore",
        ("Singapore", "SG"),
        3,
        ("Singapore",),
        "65",
        "",
        (PhoneBlock("6555", (4, 4)), PhoneBlock("8555", (4, 4))),
    ),
)
COUNTRIES_BY_CODE: dict[str, Country] = {c.code: c for c in COUNTRIES}

OWNERS_SPEC = (
    ("Maya", "Okafor", "NA"),
    ("Ethan", "Brooks", "NA"),
    ("Sofia", "Ramirez", "NA"),
    ("Lukas", "Becker", "EMEA"),
    ("Amelie", "Laurent", "EMEA"),
    ("Oliver", "Hughes", "EMEA"),
    ("Kenji", "Watanabe", "APAC"),
    ("Priya", "Nair", "APAC"),
)
TEAM_IDS = {"NA": "4100001", "EMEA": "4100002", "APAC": "4100003"}

META_CAMPAIGNS = (
    ("120210000000000101", "Webinar - Data Teams Q2"),
    ("120210000000000102", "Pricing Guide - Retargeting"),
    ("120210000000000103", "Brand - Lookalike 2%"),
)
# The ad account the campaigns run in, its currency, and each campaign's typical cost per lead
# (the Insights API's daily spend is drawn around it; see sandbox/meta.py).
META_AD_ACCOUNT_ID = "1000000000042"
META_AD_ACCOUNT_NAME = "Quillstone Ads"
META_AD_CURRENCY = "USD"
META_CAMPAIGN_CPL = {
    "120210000000000101": 24.0,
    "120210000000000102": 38.0,
    "120210000000000103": 55.0,
}
_ADSET_NAMES = ("US & CA - Broad", "EMEA - Interests")
_AD_NAMES = ("Video 15s", "Carousel - Customer stories")

USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
)
UTM_SOURCES = ("google", "linkedin", "newsletter", "partner", "twitter", "bing")


# --------------------------------------------------------------------------- small helpers


class Weighted:
    """A weighted choice with the cumulative weights computed once (it runs per record)."""

    def __init__(self, items: Sequence[tuple[Any, float]]) -> None:
        self.items = [item for item, _ in items]
        self.cumulative = list(accumulate(weight for _, weight in items))
        self.total = self.cumulative[-1]

    def pick(self, rng: Random) -> Any:
        return self.items[bisect_right(self.cumulative, rng.random() * self.total)]


@lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters and digits only: 'O'Brien' -> 'obrien', 'Müller' -> 'muller'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def typo(name: str, rng: Random) -> str:
    """The name with one letter wrong (replaced, dropped, doubled or swapped); first letter kept."""
    if len(name) < 3:
        return name + name[-1]
    for _ in range(8):
        i = rng.randrange(1, len(name))
        op = rng.randrange(4)
        if op == 0:
            letter = rng.choice("aeioulnrst")
            out = name[:i] + letter + name[i + 1 :]
        elif op == 1:
            out = name[:i] + name[i + 1 :]
        elif op == 2:
            out = name[:i] + name[i] + name[i:]
        else:
            if i + 1 >= len(name):
                continue
            out = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        if out != name and out.strip():
            return out
    return name[:-1] if len(name) > 3 else name + "e"


def name_variant(name: str, rng: Random, typo_rate: float) -> str:
    out = typo(name, rng) if rng.random() < typo_rate else name
    r = rng.random()
    if r < 0.04:
        return out.lower()
    if r < 0.06:
        return out.upper()
    return out


def email_variant(email: str, rng: Random, *, spaces: bool) -> str:
    """The same address as a person might type it: another case, stray spaces."""
    r = rng.random()
    if r < 0.55:
        return email
    local, _, domain = email.partition("@")
    if r < 0.75:
        titled = ".".join(part.capitalize() for part in local.split("."))
        return f"{titled}@{domain.capitalize() if rng.random() < 0.5 else domain}"
    if r < 0.85:
        return email.upper()
    return f"  {email} " if spaces else email.capitalize()


def invalid_email(email: str, rng: Random) -> str:
    """A broken form of the address, as forms let through: no domain, a space, no TLD..."""
    local, _, domain = email.partition("@")
    kind = rng.randrange(5)
    if kind == 0:
        return f"{local}@"
    if kind == 1:
        spaced = local.replace(".", " ", 1) if "." in local else local[:2] + " " + local[2:]
        return f"{spaced}@{domain}"
    if kind == 2:
        return f"{local}@{domain.split('.')[0]}"
    if kind == 3:
        return f"{local}@@{domain}"
    return f"{local}@{domain.replace('.', ',', 1)}"


def phone_e164(country: Country, nsn: str) -> str:
    return f"+{country.calling_code}{nsn}"


def phone_variant(country: Country, nsn: str, rng: Random, style: str | None = None) -> str:
    """The number written one of the ways people write it in that country."""
    groups: list[str] = []
    pos = 0
    for size in _block_for(country, nsn).groups:
        groups.append(nsn[pos : pos + size])
        pos += size
    cc = country.calling_code
    if country.code in ("US", "CA"):
        a, b, c = groups
        styles = {
            "paren": f"({a}) {b}-{c}",
            "intl": f"+1 {a} {b} {c}",
            "plain": f"{a}{b}{c}",
            "dash": f"{a}-{b}-{c}",
            "e164": f"+1{a}{b}{c}",
            "one": f"1-{a}-{b}-{c}",
            "dot": f"{a}.{b}.{c}",
        }
        weights = _NANP_STYLES
    else:
        trunk = country.trunk
        styles = {
            "intl": f"+{cc} " + " ".join(groups),
            "e164": f"+{cc}{nsn}",
            "national": trunk + " ".join(groups),
            "compact": trunk + nsn,
            "double0": f"00{cc} " + " ".join(groups),
            "paren": f"({trunk}{groups[0]}) " + " ".join(groups[1:]) if trunk else f"+{cc} {nsn}",
        }
        weights = _INTL_STYLES
    return styles[style] if style in styles else styles[weights.pick(rng)]


def _block_for(country: Country, nsn: str) -> PhoneBlock:
    for block in country.blocks:
        if nsn.startswith(block.fixed) and len(nsn) == sum(block.groups):
            return block
    return country.blocks[0]


_COUNTRY_PICK = Weighted([(c, c.weight) for c in COUNTRIES])
# Shares of HubSpot contacts with each attribute filled (firmographics are often missing in CRMs).
HUBSPOT_INDUSTRY_RATE = 0.6
HUBSPOT_EMPLOYEES_RATE = 0.55
HUBSPOT_OPTOUT_RATE = 0.05
HUBSPOT_BOUNCE_RATE = 0.02

# Sales activity on a contact (num_contacted_notes): mean touches per funnel depth (lead, MQL, SQL,
# opportunity, customer), for a contact with an owner; an unowned contact gets a fraction of them.
SALES_TOUCH_MEANS = (0.4, 1.5, 3.5, 6.0, 9.0)
UNOWNED_TOUCH_FACTOR = 0.25
# Mean delay between a contact's creation and the CRM's own owner assignment (HubSpot workflows and
# round robins assign within minutes).
CRM_ASSIGNMENT_DELAY_MS = 6 * 60_000

# Deals in HubSpot's default pipeline. Most contacts that reached opportunity have one; some SQLs
# do (and lose it or keep it early); a customer's deal is closed won at its customer date, and some
# customers lost an earlier deal first.
DEAL_OPEN_STAGES = tuple(stage for stage in DEAL_STAGES if not stage.startswith("closed"))
DEAL_FIRST_ID = 30_000_000_000  # a contact's deals are DEAL_FIRST_ID + 4 * contact id + n
DEAL_RATE_OPPORTUNITY = 0.9
DEAL_RATE_SQL = 0.25
DEAL_LOST_RATE = 0.45  # of deals not won, once their close date has passed
DEAL_PRIOR_LOST_RATE = 0.15  # of customers
DEAL_CYCLE_DAYS = 21.0  # mean days from a deal's creation to its loss
DEAL_CURRENCY = "USD"
DEAL_PRODUCTS = ("Platform", "Team plan", "Enterprise plan", "Pilot", "Expansion")


def employee_range(employees: int) -> str:
    """A head count as HubSpot's numemployees option (each range holds its lower bound)."""
    lowers = (1, 5, 25, 50, 100, 500, 1000)
    return EMPLOYEE_RANGES[max(0, bisect_right(lowers, employees) - 1)]


_TITLE_PICK = Weighted(JOB_TITLES)
_COMBO_PICK = Weighted(SOURCE_COMBOS)
_FREE_PICK = Weighted(FREE_MAIL_DOMAINS)
_FREE_PICK_DE = Weighted((*FREE_MAIL_DOMAINS, ("gmx.de", 30)))
_SOURCE_PICK = Weighted(list(zip(ANALYTICS_SOURCES, (24, 14, 16, 14, 9, 10, 5, 3, 5), strict=True)))
_NANP_STYLES = Weighted(
    (("paren", 3), ("intl", 2), ("plain", 2), ("dash", 2), ("e164", 2), ("one", 1), ("dot", 1))
)
_INTL_STYLES = Weighted(
    (("intl", 3), ("e164", 2), ("national", 3), ("compact", 1), ("double0", 1), ("paren", 1))
)


# --------------------------------------------------------------------------- generator state


@dataclass
class GenState:
    """Counters that must survive a restart so later arrivals continue the same sequences."""

    next_person: int = 1
    next_hubspot_id: int = HUBSPOT_FIRST_ID
    next_meta_lead: int = META_FIRST_LEAD_ID
    phone_counters: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GenState:
        return cls(**json.loads(text))


@dataclass
class Bundle:
    """One person and their records, as rows for the store."""

    person: tuple[Any, ...]
    truth: list[tuple[str, str, str]]
    hubspot: list[dict[str, str | None]]
    meta: list[tuple[int, str, int, str]]
    typeform: list[tuple[str, str, int, int, str]]
    deals: list[dict[str, Any]] = field(default_factory=list)


def make_companies(rng: Random, count: int) -> list[Company]:
    """`count` invented companies with unique domain roots."""
    seen: set[str] = set()
    companies: list[Company] = []
    for cid in range(1, count + 1):
        root = ""
        for attempt in range(50):
            parts = [rng.choice(_SYL_START)]
            parts += [rng.choice(_SYL_MID) for _ in range(rng.choice((0, 1, 1, 2)))]
            parts.append(rng.choice(_SYL_END))
            root = "".join(parts)
            if attempt > 40:
                root += str(rng.randrange(10, 99))
            if root not in seen:
                break
        seen.add(root)
        country: Country = _COUNTRY_PICK.pick(rng)
        r = rng.random()
        if r < 0.5:
            tld = ".com"
        elif r < 0.72:
            tld = ".io"
        elif r < 0.87:
            tld = ".co"
        else:
            tld = _COUNTRY_TLD[country.code]
        name = root.capitalize() + rng.choice(_NAME_SUFFIX)
        if rng.random() < 0.3:
            name += _LEGAL_SUFFIX[country.code]
        employees = int(min(250_000, 2 + rng.lognormvariate(3.6, 1.6)))
        companies.append(
            Company(cid, name, root + tld, country.code, rng.choice(INDUSTRIES), employees)
        )
    return companies


def make_owners(now_ms: int) -> list[Owner]:
    """The eight reps; created a year before the world's now."""
    created = now_ms - 400 * DAY_MS
    return [
        Owner(
            id=str(51_000_001 + i),
            email=f"{ascii_slug(first)}.{ascii_slug(last)}@{SALES_DOMAIN}",
            first_name=first,
            last_name=last,
            user_id=9_100_001 + i,
            team_id=TEAM_IDS[team],
            team=team,
            created_ms=created + i * 3_600_000,
        )
        for i, (first, last, team) in enumerate(OWNERS_SPEC)
    ]


def _meta_ads() -> list[dict[str, str]]:
    ads = []
    for c_index, (campaign_id, campaign_name) in enumerate(META_CAMPAIGNS):
        for s_index, adset_name in enumerate(_ADSET_NAMES):
            adset_id = f"1202100000002{c_index}{s_index}01"
            for a_index, ad_name in enumerate(_AD_NAMES):
                ads.append(
                    {
                        "ad_id": f"1202100000003{c_index}{s_index}{a_index}1",
                        "ad_name": ad_name,
                        "adset_id": adset_id,
                        "adset_name": adset_name,
                        "campaign_id": campaign_id,
                        "campaign_name": campaign_name,
                    }
                )
    return ads


META_ADS = _meta_ads()


# --------------------------------------------------------------------------- funnel propensity

# Who moves down the funnel is not a coin flip: seniority, a business address, the country and the
# company's size change the odds, so a model trained on the sandbox has something real to find.
# Each factor is divided by its mean over the world's own distributions, so the product averages
# about 1 and FUNNEL_REACH stays the funnel's average shape.
_TITLE_LEVEL_PROPENSITY = (
    (r"\b(student|intern)\b", 0.25),
    (r"\b(assistant|coordinator)\b", 0.5),
    (r"\b(vp|head|director)\b", 1.9),
    (r"\b(ceo|cto|cmo|cfo|coo|founder|co-founder)\b", 1.6),
    (r"\bmanager\b", 1.1),
)
_INDIVIDUAL_PROPENSITY = 0.75
_BUSINESS_EMAIL_PROPENSITY, _FREE_EMAIL_PROPENSITY = 1.15, 0.55
_COUNTRY_PROPENSITY = {"US": 1.3, "CA": 1.3, "GB": 1.3, "DE": 1.3, "ES": 0.6, "IN": 0.6, "SG": 0.6}
# Company size: exp(k * z - k^2 / 2) with z the standardized log head count (mean exactly 1).
_SIZE_PROPENSITY_K = 0.45


def _title_propensity(title: str) -> float:
    for pattern, factor in _TITLE_LEVEL_PROPENSITY:
        if re.search(pattern, title, re.IGNORECASE):
            return factor
    return _INDIVIDUAL_PROPENSITY


@lru_cache(maxsize=1)
def _propensity_means() -> tuple[float, float, float]:
    """The mean title, email and country factors over the world's distributions."""
    total = sum(w for _, w in JOB_TITLES)
    title = sum(_title_propensity(t) * w for t, w in JOB_TITLES) / total
    business, free = 1 - FREE_MAIL_RATE, FREE_MAIL_RATE
    email = business * _BUSINESS_EMAIL_PROPENSITY + free * _FREE_EMAIL_PROPENSITY
    weights = sum(c.weight for c in COUNTRIES)
    country = sum(_COUNTRY_PROPENSITY.get(c.code, 1.0) * c.weight for c in COUNTRIES) / weights
    return title, email, country


def funnel_propensity(title: str, business_email: bool, country: str, employees: int) -> float:
    """How much likelier than average this person is to move down the funnel (mean ~1)."""
    title_mean, email_mean, country_mean = _propensity_means()
    email = _BUSINESS_EMAIL_PROPENSITY if business_email else _FREE_EMAIL_PROPENSITY
    z = (math.log(max(employees - 2, 1)) - 3.6) / 1.6  # make_companies' lognormvariate(3.6, 1.6)
    size = math.exp(_SIZE_PROPENSITY_K * z - _SIZE_PROPENSITY_K**2 / 2)
    title_factor = _title_propensity(title) / title_mean
    country_factor = _COUNTRY_PROPENSITY.get(country, 1.0) / country_mean
    return title_factor * (email / email_mean) * country_factor * size


class Generator:
    """Makes people and their source records, one person at a time.

    `email_taken` answers whether an address already belongs to someone (the store looks it up by
    index), so uniqueness holds across chunks, restarts and arrivals without a set of every email.
    """

    def __init__(
        self,
        seed: int,
        companies: Sequence[Company],
        owners: Sequence[Owner],
        state: GenState,
        email_taken: Callable[[str], bool],
    ) -> None:
        self.seed = seed
        self.companies = companies
        self.owners = owners
        self.state = state
        self._email_taken = email_taken
        self._pending: set[str] = set()

    def flushed(self) -> None:
        """The pending bundles are in the store: their emails are now found by `email_taken`."""
        self._pending.clear()

    # ------------------------------------------------------------------ person

    def person(self, rng: Random, arrived_ms: int, now_ms: int, *, same_time: bool) -> Bundle:
        idx = self.state.next_person
        self.state.next_person += 1
        person_id = f"P{idx:07d}"

        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        n = len(self.companies)
        company = self.companies[min(n - 1, int(n * rng.random() ** 1.6))]
        country = COUNTRIES_BY_CODE[company.country]
        if rng.random() < 0.15:
            country = _COUNTRY_PICK.pick(rng)
        city = rng.choice(country.cities)
        title: str = _TITLE_PICK.pick(rng)
        email = self._claim_email(rng, first, last, company, country)

        sources: tuple[str, ...] = _COMBO_PICK.pick(rng)
        sources = tuple(rng.sample(sources, len(sources)))
        kinds = []
        for _ in sources:
            r = rng.random()
            kinds.append(
                "none"
                if r < NO_CONTACT_RATE
                else "phone"
                if r < NO_CONTACT_RATE + PHONE_ONLY_RATE
                else "email"
            )
        has_phone = "phone" in kinds or rng.random() < PERSON_PHONE_RATE
        nsn = self._claim_phone(country) if has_phone else None

        bundle = Bundle(
            person=(
                idx,
                person_id,
                first,
                last,
                email,
                phone_e164(country, nsn) if nsn else None,
                company.id,
                title,
                country.code,
                city,
                arrived_ms,
            ),
            truth=[],
            hubspot=[],
            meta=[],
            typeform=[],
        )
        at = arrived_ms
        for position, (source, kind) in enumerate(zip(sources, kinds, strict=True)):
            if position and not same_time:
                gap = int(rng.expovariate(1 / (3 * DAY_MS)))
                at = min(at + max(gap, 60_000), now_ms - rng.randrange(1_000, 60_000))
                at = max(at, arrived_ms)
            ctx = _RecordContext(
                rng=rng,
                first=first,
                last=last,
                email=email if kind == "email" else None,
                nsn=nsn if kind != "none" else None,
                phone_kind=kind,
                company=company,
                country=country,
                city=city,
                title=title,
                at_ms=at,
                now_ms=now_ms,
                typo_rate=NAME_TYPO_RATE if position else 0.02,
            )
            if source == "hubspot":
                record_id = self._hubspot(ctx, bundle)
            elif source == "meta":
                record_id = self._meta(ctx, bundle)
            else:
                record_id = self._typeform(ctx, bundle)
            bundle.truth.append((source, record_id, person_id))
        return bundle

    def _claim_email(
        self, rng: Random, first: str, last: str, company: Company, country: Country
    ) -> str:
        f, lname = ascii_slug(first) or "x", ascii_slug(last) or "x"
        if rng.random() < FREE_MAIL_RATE:
            domain = (_FREE_PICK_DE if country.code == "DE" else _FREE_PICK).pick(rng)
            local = rng.choice(
                (
                    f"{f}.{lname}",
                    f"{f}{lname}",
                    f"{f}.{lname}{rng.randrange(1, 99)}",
                    f"{f}{lname}{rng.randrange(70, 100)}",
                    f"{f[0]}{lname}{rng.randrange(1, 999)}",
                )
            )
        else:
            domain = company.domain
            pattern = company.id % 5
            local = (f"{f}.{lname}", f"{f}{lname}", f"{f[0]}{lname}", f, f"{f}_{lname}")[pattern]
        candidate = f"{local}@{domain}"
        while candidate in self._pending or self._email_taken(candidate):
            candidate = f"{local}{rng.randrange(2, 9999)}@{domain}"
        self._pending.add(candidate)
        return candidate

    def _claim_phone(self, country: Country) -> str:
        # A bijection of a per-country counter over the country's range: unique until the range
        # is used up, deterministic, and no set of numbers to hold.
        k = self.state.phone_counters.get(country.code, 0)
        self.state.phone_counters[country.code] = k + 1
        size = country.phone_space
        offset = int.from_bytes(hashlib.sha256(f"{self.seed}:{country.code}".encode()).digest()[:4])
        index = (k * 982_451_653 + offset) % size
        for block in country.blocks:
            span = 10**block.free
            if index < span:
                return block.fixed + str(index).zfill(block.free)
            index -= span
        raise AssertionError("phone index outside the country's range")

    # ------------------------------------------------------------------ sources

    def _hubspot(self, ctx: _RecordContext, bundle: Bundle) -> str:
        rng = ctx.rng
        contact_id = self.state.next_hubspot_id
        self.state.next_hubspot_id += 1
        created = ctx.at_ms
        props: dict[str, str | None] = dict.fromkeys(PROPERTY_NAMES)
        props["hs_object_id"] = str(contact_id)
        props["email"] = ctx.email  # HubSpot stores addresses trimmed and lower-cased
        props["firstname"] = name_variant(ctx.first, rng, ctx.typo_rate)
        props["lastname"] = (
            name_variant(ctx.last, rng, ctx.typo_rate) if rng.random() > 0.02 else None
        )
        if ctx.nsn and (ctx.phone_kind == "phone" or rng.random() < 0.8):
            written = phone_variant(ctx.country, ctx.nsn, rng)
            props["mobilephone" if rng.random() < 0.2 else "phone"] = written
        if rng.random() > 0.07:
            props["company"] = _company_variant(ctx.company, rng)
        if rng.random() > 0.12:
            props["jobtitle"] = _title_variant(ctx.title, rng)
        if rng.random() > 0.1:
            props["country"] = _country_spelling(ctx.country, rng)
        if rng.random() > 0.25:
            props["city"] = ctx.city
        self._hubspot_attributes(props, ctx.company, contact_id)

        # Funnel: walk the stages while the draw allows and the dates stay in the past.
        # The same single draw as a coin flip, against thresholds scaled by the person's propensity.
        reach = rng.random() / funnel_propensity(
            ctx.title,
            bundle.person[4].endswith("@" + ctx.company.domain),
            ctx.country.code,
            ctx.company.employees,
        )
        stage_at = created
        reached = "lead"
        props["hs_lifecyclestage_lead_date"] = hubspot_time(created)
        for stage in FUNNEL_STAGES[1:]:
            if reach >= FUNNEL_REACH[stage]:
                break
            nxt = stage_at + int(rng.expovariate(1 / (STAGE_GAP_DAYS[stage] * DAY_MS)))
            if nxt >= ctx.now_ms:
                break
            stage_at = nxt
            reached = stage
            props[f"hs_lifecyclestage_{stage}_date"] = hubspot_time(stage_at)
        props["lifecyclestage"] = reached
        depth = FUNNEL_STAGES.index(reached)
        if depth <= 1:
            props["hs_lead_status"] = rng.choice(
                ("NEW", "NEW", "OPEN", "ATTEMPTED_TO_CONTACT", "CONNECTED", "UNQUALIFIED", None)
            )
        elif depth == 2:
            props["hs_lead_status"] = rng.choice(("IN_PROGRESS", "CONNECTED", "OPEN_DEAL"))
        else:
            props["hs_lead_status"] = "OPEN_DEAL"
        if (depth >= 2 and rng.random() < 0.95) or (depth < 2 and rng.random() < 0.068):
            props["hubspot_owner_id"] = self._owner_for(ctx.country, rng).id

        # Intent: skewed page views, the more the further down the funnel.
        views = min(80, int(rng.expovariate(1 / (4 + 6 * depth))))
        props["hs_analytics_num_page_views"] = str(views)
        last_visit = None
        if views:
            last_visit = created + int(rng.random() * max(1, ctx.now_ms - created))
            props["hs_analytics_last_visit_timestamp"] = hubspot_time(last_visit)
        props["num_conversion_events"] = str(1 + min(9, int(rng.expovariate(0.9)) + depth // 2))
        props["hs_analytics_source"] = _SOURCE_PICK.pick(rng)
        # Last touched a little after the last event, and not at exactly "now" unless an event
        # was: a pull started at the world's now must not meet a wall of ties on its cursor.
        last_event = max(stage_at, last_visit or created)
        later = min(
            ctx.now_ms - rng.randrange(1_000, 3_600_000), last_event + int(rng.random() * DAY_MS)
        )
        modified = max(last_event, later)
        props["createdate"] = hubspot_time(created)
        props["lastmodifieddate"] = hubspot_time(modified)
        self._hubspot_activity(props, contact_id, depth, created, stage_at, modified)
        bundle.deals.extend(self._hubspot_deals(props, ctx, contact_id))
        bundle.hubspot.append(props)
        return str(contact_id)

    def _hubspot_activity(
        self,
        props: dict[str, str | None],
        contact_id: int,
        depth: int,
        created: int,
        stage_at: int,
        modified: int,
    ) -> None:
        """The contact's sales activity: how many touches were logged and when the last were.

        More touches further down the funnel and on owned contacts; the last contact falls after
        the contact reached its stage, the last activity after that, both by the contact's last
        modification (so never after the world's now). A contact the CRM already gave an owner was
        assigned soon after it was created and, if touched at all, first touched with the delays
        the sandbox applies to LeadFlow's own assignments (`hubspot_owner_assigneddate`,
        `hs_sa_first_engagement_date`): the history speed-to-lead is measured on. Drawn from their
        own generator, so every other draw of the world stays as it was.
        """
        rng = Random(f"{self.seed}:hubspot-activity:{contact_id}")
        mean = SALES_TOUCH_MEANS[depth] * (
            1.0 if props["hubspot_owner_id"] else UNOWNED_TOUCH_FACTOR
        )
        touches = _poisson(rng, mean)
        props["num_contacted_notes"] = str(touches)
        if touches:
            contacted = stage_at + int(rng.random() * max(0, modified - stage_at))
            updated = contacted + int(rng.random() * max(0, modified - contacted))
            owner = props["hubspot_owner_id"]
            assigned = created + int(rng.expovariate(1 / CRM_ASSIGNMENT_DELAY_MS))
            if owner and assigned <= modified:
                props["hubspot_owner_assigneddate"] = hubspot_time(assigned)
                delay = first_touch_delay_ms(str(contact_id), owner)
                if delay is not None and assigned + delay <= modified:
                    first = assigned + delay
                    props["hs_sa_first_engagement_date"] = hubspot_time(first)
                    props["hs_sa_first_engagement_object_type"] = touch_type(str(contact_id), owner)
                    contacted = max(contacted, first)
                    updated = max(updated, contacted)
            props["notes_last_contacted"] = hubspot_time(contacted)
            props["notes_last_updated"] = hubspot_time(updated)

    def _hubspot_deals(
        self, props: dict[str, str | None], ctx: _RecordContext, contact_id: int
    ) -> list[dict[str, Any]]:
        """The contact's deals in the default pipeline, each associated with the contact.

        Drawn from their own generator, so adding them left every other draw of the world as it was.
        """
        rng = Random(f"{self.seed}:hubspot-deals:{contact_id}")
        stage = props["lifecyclestage"]
        dates = {
            name: parse_hubspot_ms(props.get(f"hs_lifecyclestage_{name}_date"))
            for name in ("salesqualifiedlead", "opportunity", "customer")
        }
        sql_at, opp_at, won_at = (
            dates["salesqualifiedlead"],
            dates["opportunity"],
            dates["customer"],
        )
        now = ctx.now_ms
        deals: list[dict[str, Any]] = []

        def deal(created: int, outcome: str, closed: int | None) -> None:
            deal_id = DEAL_FIRST_ID + 4 * contact_id + len(deals)
            if outcome == "open":
                age_days = (now - created) / DAY_MS
                index = min(len(DEAL_OPEN_STAGES) - 1, int(age_days / 7 * rng.uniform(0.5, 1.5)))
                dealstage = DEAL_OPEN_STAGES[index]
                close = created + int(rng.uniform(30, 90) * DAY_MS)  # the expected close date
            else:
                dealstage = "closedwon" if outcome == "won" else "closedlost"
                close = closed if closed is not None else created
            last_event = max(created, closed or created)
            modified = max(
                last_event,
                min(now - rng.randrange(1_000, 3_600_000), last_event + int(rng.random() * DAY_MS)),
            )
            scale = 0.25 * math.log10(ctx.company.employees + 1)
            amount = round(rng.lognormvariate(math.log(6_000) + scale, 0.6), -2)
            deals.append(
                {
                    "id": deal_id,
                    "contact_id": contact_id,
                    "dealname": f"{ctx.company.name} - {rng.choice(DEAL_PRODUCTS)}",
                    "amount": f"{max(amount, 500):.0f}",
                    "dealstage": dealstage,
                    "pipeline": "default",
                    "closedate": hubspot_time(close),
                    "createdate": hubspot_time(created),
                    "hs_lastmodifieddate": hubspot_time(modified),
                    "hubspot_owner_id": props["hubspot_owner_id"],
                    "deal_currency_code": DEAL_CURRENCY,
                    "hs_is_closed": "false" if outcome == "open" else "true",
                    "hs_is_closed_won": "true" if outcome == "won" else "false",
                }
            )

        def lost_or_open(created: int) -> None:
            closes = created + int(rng.expovariate(1 / (DEAL_CYCLE_DAYS * DAY_MS)))
            if rng.random() < DEAL_LOST_RATE and closes < now - 3_600_000:
                deal(created, "lost", closes)
            else:
                deal(created, "open", None)

        if stage == "customer" and opp_at is not None and won_at is not None:
            if sql_at is not None and rng.random() < DEAL_PRIOR_LOST_RATE:
                created = sql_at + int(rng.random() * (opp_at - sql_at))
                deal(created, "lost", created + int(rng.random() * (opp_at - created)))
            # A quick close: a deal is never created after it was won.
            deal(min(opp_at + rng.randrange(60_000, 4 * 3_600_000), won_at), "won", won_at)
        elif stage == "opportunity" and opp_at is not None:
            if rng.random() < DEAL_RATE_OPPORTUNITY:
                lost_or_open(min(opp_at + rng.randrange(60_000, 4 * 3_600_000), now - 60_000))
        elif stage == "salesqualifiedlead" and sql_at is not None and rng.random() < DEAL_RATE_SQL:
            created = sql_at + int(rng.expovariate(1 / (5 * DAY_MS)))
            if created < now - 60_000:
                lost_or_open(created)
        return deals

    def _hubspot_attributes(
        self, props: dict[str, str | None], company: Company, contact_id: int
    ) -> None:
        """Firmographics from the person's company and the email status, for a share of contacts.

        Drawn from their own generator, so adding them left every other draw of the world as it was.
        """
        rng = Random(f"{self.seed}:hubspot-attributes:{contact_id}")
        if rng.random() < HUBSPOT_INDUSTRY_RATE:
            props["industry"] = company.industry
        if rng.random() < HUBSPOT_EMPLOYEES_RATE:
            props["numemployees"] = employee_range(company.employees)
        if rng.random() < HUBSPOT_OPTOUT_RATE:
            props["hs_email_optout"] = "true"
        if rng.random() < HUBSPOT_BOUNCE_RATE:
            props["hs_email_hard_bounce_reason_enum"] = rng.choice(HARD_BOUNCE_REASONS)

    def _owner_for(self, country: Country, rng: Random) -> Owner:
        team = (
            "NA"
            if country.code in ("US", "CA")
            else "APAC"
            if country.code in ("AU", "IN", "SG")
            else "EMEA"
        )
        return rng.choice([o for o in self.owners if o.team == team] or list(self.owners))

    def _meta(self, ctx: _RecordContext, bundle: Bundle) -> str:
        rng = ctx.rng
        lead_id = self.state.next_meta_lead
        self.state.next_meta_lead += 1
        form = META_FORMS[0] if rng.random() < 0.55 else META_FORMS[1]
        first = name_variant(ctx.first, rng, ctx.typo_rate)
        last = name_variant(ctx.last, rng, ctx.typo_rate)
        values: dict[str, str | None] = {
            "full_name": f"{first} {last}" if rng.random() > 0.03 else first,
            "first_name": first,
            "last_name": last,
            "email": _form_email(ctx, rng, spaces=True),
            "phone_number": None,
            "company_name": _company_variant(ctx.company, rng) if rng.random() > 0.05 else None,
            "job_title": _title_variant(ctx.title, rng) if rng.random() > 0.08 else None,
            "country": (
                ctx.country.code if rng.random() < 0.75 else _country_spelling(ctx.country, rng)
            ),
            "city": ctx.city if rng.random() > 0.3 else None,
        }
        if ctx.nsn and (ctx.phone_kind == "phone" or rng.random() < 0.9):
            style = "e164" if rng.random() < 0.6 else None
            values["phone_number"] = phone_variant(ctx.country, ctx.nsn, rng, style)
        field_data = []
        for key in META_QUESTIONS[form.id]:
            if key in META_CUSTOM_ANSWERS:
                value: str | None = rng.choice(META_CUSTOM_ANSWERS[key])
            else:
                value = values[key]
            if value is not None:
                field_data.append({"name": key, "values": [value]})
        data: dict[str, Any] = {"field_data": field_data, "form_id": form.id}
        organic = rng.random() < 0.1
        if not organic:
            data.update(rng.choice(META_ADS))
        data["is_organic"] = organic
        data["platform"] = "fb" if rng.random() < 0.65 else "ig"
        bundle.meta.append((lead_id, form.id, ctx.at_ms // 1000, json.dumps(data)))
        return str(lead_id)

    def _typeform(self, ctx: _RecordContext, bundle: Bundle) -> str:
        rng = ctx.rng
        # Only the demo form asks for a phone, so a phone-only record came through it.
        form = (
            TYPEFORM_FORMS[0]
            if ctx.phone_kind == "phone" or rng.random() < 0.4
            else TYPEFORM_FORMS[1]
        )
        token = f"{rng.getrandbits(128):032x}"
        submitted = ctx.at_ms // 1000 * 1000
        landed = submitted - rng.randrange(20_000, 600_000)
        values: dict[str, Any] = {
            "first_name": name_variant(ctx.first, rng, ctx.typo_rate),
            "last_name": name_variant(ctx.last, rng, ctx.typo_rate)
            if rng.random() > 0.03
            else None,
            "email": _form_email(ctx, rng, spaces=False),
            # Typeform's phone question stores E.164 whatever the respondent typed.
            "phone": phone_e164(ctx.country, ctx.nsn)
            if ctx.nsn and (ctx.phone_kind == "phone" or rng.random() < 0.8)
            else None,
            "company": _company_variant(ctx.company, rng) if rng.random() > 0.06 else None,
            "job_title": _title_variant(ctx.title, rng) if rng.random() > 0.1 else None,
            "country": ctx.country.name,
        }
        answers = []
        for ref, field_type in TYPEFORM_FIELDS[form.id]:
            value = values[ref]
            if value is None:
                continue
            fld = {"id": typeform_field_id(form.id, ref), "type": field_type, "ref": ref}
            if field_type == "email":
                answers.append({"field": fld, "type": "email", "email": value})
            elif field_type == "phone_number":
                answers.append({"field": fld, "type": "phone_number", "phone_number": value})
            elif field_type == "dropdown":
                answers.append({"field": fld, "type": "choice", "choice": {"label": value}})
            else:
                answers.append({"field": fld, "type": "text", "text": value})
        agent = rng.choice(USER_AGENTS)
        mobile = "Mobile" in agent
        utm_source = rng.choice(UTM_SOURCES)
        utm_campaign = rng.choice(("demo-q2", "ebook-data-quality", "brand", "retargeting"))
        item = {
            "landing_id": token,
            "token": token,
            "response_id": token,
            "response_type": "completed",
            "landed_at_ms": landed,
            "submitted_at_ms": submitted,
            "metadata": {
                "user_agent": agent,
                "platform": "mobile" if mobile else "other",
                "referer": (
                    f"https://quillstone.typeform.com/to/{form.id}"
                    f"?utm_source={utm_source}&utm_campaign={utm_campaign}"
                ),
                "network_id": f"{rng.getrandbits(40):010x}",
                "browser": "touch" if mobile else "default",
            },
            "hidden": {"utm_source": utm_source, "utm_campaign": utm_campaign},
            "calculated": {"score": 0},
            "answers": answers,
        }
        bundle.typeform.append((token, form.id, submitted, landed, json.dumps(item)))
        return token


@dataclass
class _RecordContext:
    rng: Random
    first: str
    last: str
    email: str | None
    nsn: str | None
    phone_kind: str
    company: Company
    country: Country
    city: str
    title: str
    at_ms: int
    now_ms: int
    typo_rate: float


def _form_email(ctx: _RecordContext, rng: Random, *, spaces: bool) -> str | None:
    if ctx.email is None:
        return None
    if rng.random() < INVALID_EMAIL_RATE_FORMS:
        return invalid_email(ctx.email, rng)
    return email_variant(ctx.email, rng, spaces=spaces)


def _company_variant(company: Company, rng: Random) -> str:
    r = rng.random()
    if r < 0.85:
        return company.name
    if r < 0.92:
        return company.name.split(" ")[0]
    if r < 0.97:
        return company.name.lower()
    return company.domain


def _title_variant(title: str, rng: Random) -> str:
    variants = TITLE_VARIANTS.get(title)
    if variants and rng.random() < 0.35:
        return rng.choice(variants)
    return title.lower() if rng.random() < 0.04 else title


def _country_spelling(country: Country, rng: Random) -> str:
    return country.spellings[0] if rng.random() < 0.45 else rng.choice(country.spellings)


def _poisson(rng: Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: fine for the small means used here)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def parse_hubspot_ms(value: str | None) -> int | None:
    """A HubSpot timestamp string ("2026-05-01T10:20:30.123Z") as epoch ms; None stays None."""
    return None if not value else parse_iso_ms(value)


def arrival_times(rng: Random, count: int, now_ms: int) -> list[int]:
    """`count` arrival times over the window before now, ascending, recent days slightly denser."""
    window = WINDOW_DAYS * DAY_MS
    ages = sorted((rng.random() ** 1.25 for _ in range(count)), reverse=True)
    return [now_ms - 60_000 - int(a * (window - 60_000)) for a in ages]


# --------------------------------------------------------------------------- the world object


class PeopleView(Sequence[Person]):
    """All people, read from the store on demand (a million people are not held in memory)."""

    def __init__(self, fetch: Callable[[int, int], list[Person]], count: Callable[[], int]) -> None:
        self._fetch = fetch
        self._count = count

    def __len__(self) -> int:
        return self._count()

    @overload
    def __getitem__(self, index: int) -> Person: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Person]: ...
    def __getitem__(self, index: int | slice) -> Person | Sequence[Person]:
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._fetch(start, max(0, stop - start))
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("person index out of range")
        return self._fetch(index, 1)[0]

    def __iter__(self) -> Iterator[Person]:
        n, chunk = len(self), 5_000
        for start in range(0, n, chunk):
            yield from self._fetch(start, chunk)


class TruthView(Mapping[tuple[str, str], str]):
    """(source, record_id) -> person_id for every source record, read from the store."""

    def __init__(
        self,
        lookup: Callable[[str, str], str | None],
        iterate: Callable[[], Iterator[tuple[str, str, str]]],
        count: Callable[[], int],
    ) -> None:
        self._lookup = lookup
        self._iterate = iterate
        self._count = count

    def __getitem__(self, key: tuple[str, str]) -> str:
        found = self._lookup(*key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for source, record_id, _ in self._iterate():
            yield (source, record_id)

    def __len__(self) -> int:
        return self._count()

    def items(self) -> Iterator[tuple[tuple[str, str], str]]:  # type: ignore[override]
        """Each record and its person, streamed in one pass."""
        for source, record_id, person_id in self._iterate():
            yield (source, record_id), person_id


@dataclass(frozen=True)
class World:
    """The generated ground truth: what every source record really is."""

    params: WorldParams
    companies: Sequence[Company]
    owners: Sequence[Owner]
    forms: tuple[Form, ...]
    people: PeopleView
    truth: TruthView

    def person_of(self, source: str, record_id: str) -> Person | None:
        """The person a record belongs to, or None for a record the world did not generate."""
        person_id = self.truth.get((source, record_id))
        if person_id is None:
            return None
        index = int(person_id[1:]) - 1
        return self.people[index]

    @property
    def generated_at(self) -> datetime:
        return self.params.generated_at
