"""A labelled generator of dirty duplicate lead records, to measure identity resolution against.

It invents people at companies and in households, then writes each person's records the way forms
and CRMs hold them after normalization (the columns of ops.lead_records): the same person with a
typo or a transposition in a name, a nickname, first and last name swapped, a missing field, their
personal address on one form and their work address on another, a typo in an address, the company's
switchboard instead of their own phone. Every record carries `person_id`, the truth.

It also makes the records that must stay apart although they look alike:
- colleagues: same company, same email domain and address pattern, often the same switchboard
  number, sometimes the same last name;
- family members at one address: same last name, one home phone, and free-mail addresses;
- namesakes: common names recur across (and now and then within) companies.

Two settings: `easy` (few, mild errors; every duplicate keeps a strong key) and `hard` (more
duplicates per person, more and harsher errors, more households and shared phones). Everything
follows from the seed; the same (records, seed, difficulty) always yields the same frame.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

import pandas as pd

from dedupe.names import NICKNAMES

SOURCES = (("hubspot", "contacts"), ("meta", "leads"), ("typeform", "responses"))
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "gmx.de")
# Country calling code and national-number length of the phones handed out (E.164 strings).
PHONE_PLANS = (("1", 10, 0.55), ("44", 10, 0.15), ("49", 11, 0.15), ("33", 9, 0.15))

# A given name is drawn from the nickname table's canonicals plus these (weights fall off by rank).
OTHER_FIRST_NAMES = (
    "Olivia",
    "Noah",
    "Emma",
    "Liam",
    "Sofia",
    "Mateo",
    "Mia",
    "Lucas",
    "Chloé",
    "Hugo",
    "Camille",
    "Léa",
    "Louis",
    "Aarav",
    "Priya",
    "Rohan",
    "Ananya",
    "Vikram",
    "Yuki",
    "Haruto",
    "Sakura",
    "Wei",
    "Mei",
    "Jia",
    "Amelia",
    "George",
    "Isla",
    "Freya",
    "Sarah",
    "Laura",
    "Paul",
    "Paula",
    "Maria",
    "Mario",
    "Anna",
    "Anne",
    "Jan",
    "Jana",
    "Lukas",
    "Sophie",
    "Jonas",
    "Lea",
    "Felix",
    "Hannah",
    "Luca",
    "Elena",
    "Marco",
    "Giulia",
    "Carlos",
    "Carla",
    "José",
    "Lucía",
    "Zoë",
    "Björn",
    "Åsa",
    "Søren",
    "Łukasz",
    "Agnieszka",
    "Tomás",
    "Inés",
    "Omar",
    "Fatima",
    "Ahmed",
    "Layla",
    "Kwame",
    "Amara",
    "Chen",
    "Ling",
    "Hiroshi",
    "Aiko",
    "Ravi",
    "Deepa",
    "Arjun",
    "Nina",
    "Oscar",
    "Ella",
    "Leo",
    "Ava",
    "Max",
    "Ida",
    "Erik",
    "Karin",
    "Pablo",
    "Marta",
    "Diego",
    "Valentina",
    "Ivan",
    "Olga",
    "Dmitri",
    "Irina",
    "Sean",
    "Siobhan",
    "Connor",
    "Aoife",
    "Rhys",
    "Megan",
    "Kevin",
    "Brian",
    "Nancy",
    "Karen",
    "Gary",
    "Donna",
    "Scott",
    "Amy",
    "Eric",
    "Helen",
    "Adam",
    "Rachel",
    "Aaron",
    "Julia",
)
COMMON_LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Reed",
    "Bailey",
    "Bell",
    "Kelly",
    "Howard",
    "Ward",
    "Cox",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Dubois",
    "Durand",
    "Lefèvre",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Patel",
    "Sharma",
    "Singh",
    "Kumar",
    "Gupta",
    "Shah",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Watanabe",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Kim",
    "Park",
    "Nguyen",
    "Tran",
    "Silva",
    "Santos",
    "Oliveira",
    "Pereira",
    "Costa",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Jensen",
    "Nielsen",
    "Hansen",
    "Andersson",
    "Johansson",
    "Karlsson",
    "O'Brien",
    "O'Connor",
    "Byrne",
)
# Rarer surnames are built from these pieces, as real surname lists have a long tail.
_SURNAME_HEADS: tuple[str, ...] = (
    "Ash",
    "Black",
    "Bram",
    "Brook",
    "Cald",
    "Carr",
    "Dal",
    "Dun",
    "Elling",
    "Fair",
    "Fen",
    "Gold",
    "Grim",
    "Hal",
    "Hart",
    "Hol",
    "Kings",
    "Lang",
    "Lind",
    "Mar",
    "Mel",
    "Moor",
    "New",
    "Nor",
    "Oak",
    "Pem",
    "Rad",
    "Red",
    "Ros",
    "Rut",
    "Sand",
    "Shel",
    "Stan",
    "Stock",
    "Thorn",
    "Wal",
    "West",
    "Whit",
    "Win",
    "Wold",
    "Berg",
    "Eck",
    "Gran",
    "Hag",
    "Kro",
    "Lof",
    "Stro",
    "Vin",
)
_SURNAME_TAILS: tuple[str, ...] = (
    "ford",
    "ley",
    "ton",
    "well",
    "wood",
    "by",
    "field",
    "worth",
    "more",
    "stone",
    "brook",
    "dale",
    "ham",
    "hurst",
    "mann",
    "berg",
    "ström",
    "sen",
    "ini",
    "elli",
    "ova",
    "ez",
    "ard",
    "ier",
)
# Middles and extra heads and tails: tens of thousands of distinct surnames, so that at a million
# records full names collide about as often as in a real population rather than far more.
_SURNAME_MIDS = (
    "",
    "",
    "",
    "er",
    "en",
    "in",
    "el",
    "an",
    "ow",
    "is",
    "ing",
    "am",
    "et",
    "or",
    "ul",
)
_SURNAME_HEADS += (
    "Abel",
    "Bex",
    "Corn",
    "Dray",
    "Ever",
    "Fitz",
    "Garn",
    "Hems",
    "Irv",
    "Jarr",
    "Kell",
    "Lock",
    "Mort",
    "Nett",
    "Orr",
    "Pratt",
    "Quen",
    "Rams",
    "Sel",
    "Tarr",
    "Upp",
    "Vaug",
    "Warr",
    "Yarn",
)
_SURNAME_TAILS += ("cott", "dorf", "gard", "holm", "kamp", "lund", "rick", "shaw", "thal", "vik")
COMMON_SURNAME_SHARE = 0.3  # of people: one of COMMON_LAST_NAMES, the rest a built surname

_COMPANY_HEADS = (
    "Acme",
    "Apex",
    "Aster",
    "Atlas",
    "Beacon",
    "Birch",
    "Blue",
    "Bright",
    "Cedar",
    "Cinder",
    "Cobalt",
    "Copper",
    "Crest",
    "Delta",
    "Echo",
    "Ember",
    "Falcon",
    "Fern",
    "Flux",
    "Forge",
    "Granite",
    "Harbor",
    "Helix",
    "Indigo",
    "Iron",
    "Juniper",
    "Kite",
    "Lumen",
    "Maple",
    "Meridian",
    "Nimbus",
    "North",
    "Nova",
    "Onyx",
    "Orbit",
    "Pine",
    "Pixel",
    "Prism",
    "Quartz",
    "Quill",
    "Raven",
    "Ridge",
    "River",
    "Sable",
    "Sage",
    "Slate",
    "Solar",
    "Spruce",
    "Summit",
    "Tidal",
)
_COMPANY_TAILS = (
    "Labs",
    "Systems",
    "Analytics",
    "Logistics",
    "Health",
    "Capital",
    "Works",
    "Networks",
    "Foods",
    "Media",
    "Robotics",
    "Energy",
    "Software",
    "Partners",
    "Studio",
    "Bio",
    "Cloud",
    "Data",
)
_LEGAL = ("Inc", "Inc.", "LLC", "Ltd", "GmbH", "SA", "BV", "Corp", "plc", "AG")
_TYPO_LETTERS = "aeioulnrst"


@dataclass(frozen=True)
class Difficulty:
    """How dirty the duplicates are. Rates are per record unless said otherwise."""

    name: str
    records_per_person: float  # mean; every person has at least one record
    household_rate: float  # of people: living with 1-3 others who share last name and home phone
    namesake_rate: float  # of people: given one of a pool of common full names (~5 people each)
    work_email: float  # a record carries the work address ...
    personal_email: float  # ... or the personal one; otherwise no address
    email_typo: float  # a letter wrong in the local part
    switchboard: float  # a record carries the company switchboard instead of a personal phone
    home_phone: float  # (household members) the home phone
    no_phone: float
    name_typo: float  # per name
    transposition: float  # per name: two adjacent letters swapped
    nickname: float  # the first name as a nickname (when the name has one)
    swapped: float  # first and last name swapped
    no_first: float
    no_last: float
    no_company: float
    company_variant: float  # legal suffix, case, first word only


EASY = Difficulty(
    name="easy",
    records_per_person=1.4,
    household_rate=0.04,
    namesake_rate=0.05,
    work_email=0.75,
    personal_email=0.15,
    email_typo=0.0,
    switchboard=0.05,
    home_phone=0.1,
    no_phone=0.3,
    name_typo=0.05,
    transposition=0.0,
    nickname=0.05,
    swapped=0.0,
    no_first=0.01,
    no_last=0.02,
    no_company=0.05,
    company_variant=0.1,
)
HARD = Difficulty(
    name="hard",
    records_per_person=1.8,
    household_rate=0.15,
    namesake_rate=0.1,
    work_email=0.65,
    personal_email=0.2,
    email_typo=0.04,
    switchboard=0.2,
    home_phone=0.35,
    no_phone=0.3,
    name_typo=0.12,
    transposition=0.04,
    nickname=0.15,
    swapped=0.04,
    no_first=0.03,
    no_last=0.06,
    no_company=0.15,
    company_variant=0.3,
)
DIFFICULTIES = {"easy": EASY, "hard": HARD}

COLUMNS = (
    "record_key",
    "source",
    "stream",
    "record_id",
    "_raw_id",
    "email",
    "email_domain",
    "is_free_email",
    "phone_e164",
    "first_name",
    "last_name",
    "company",
    "country_code",
    "record_created_at",
    "first_seen_at",
    "run_id",
    "person_id",
)


@dataclass
class _Company:
    name: str
    domain: str
    pattern: int  # which local-part pattern its addresses follow
    switchboard: str
    country: str


@dataclass
class _Person:
    person_id: str
    first: str
    last: str
    company: _Company
    work_email: str
    personal_email: str
    mobile: str | None
    home_phone: str | None


class _Gen:
    def __init__(self, seed: int, difficulty: Difficulty) -> None:
        self.rng = Random(seed)
        self.d = difficulty
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        canon = list(NICKNAMES)
        firsts = [n.capitalize() for n in canon] + list(OTHER_FIRST_NAMES)
        self.rng.shuffle(firsts)
        self.first_names = firsts
        # Zipf-like weights: a few names are very common, most are not.
        self.first_cum = _cumulative([1 / (rank + 3) for rank in range(len(firsts))])
        self.last_cum = _cumulative([1 / (rank + 5) for rank in range(len(COMMON_LAST_NAMES))])

    # ------------------------------------------------------------------ pieces

    def phone(self, country: str | None = None) -> str:
        rng = self.rng
        if country is None:
            code, length = _pick_weighted(rng, PHONE_PLANS)
        else:
            code, length = next((c, n) for c, n, _ in PHONE_PLANS if c == country)
        while True:
            number = (
                f"+{code}{rng.randrange(2, 10)}{rng.randrange(10 ** (length - 1)):0{length - 1}d}"
            )
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def first_name(self) -> str:
        return self.first_names[_bisect(self.first_cum, self.rng.random())]

    def last_name(self) -> str:
        rng = self.rng
        if rng.random() < COMMON_SURNAME_SHARE:
            return COMMON_LAST_NAMES[_bisect(self.last_cum, rng.random())]
        return rng.choice(_SURNAME_HEADS) + rng.choice(_SURNAME_MIDS) + rng.choice(_SURNAME_TAILS)

    def company(self, index: int) -> _Company:
        rng = self.rng
        name = f"{rng.choice(_COMPANY_HEADS)} {rng.choice(_COMPANY_TAILS)}"
        if rng.random() < 0.5:
            name = f"{name} {rng.choice(('North', 'Global', 'Group', 'One', 'Co', 'Digital'))}"
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        domain = f"{slug}{index}.example"
        plan = _pick_weighted(rng, PHONE_PLANS)[0]
        return _Company(name, domain, rng.randrange(5), self.phone(plan), plan)

    def email(self, local: str, domain: str) -> str:
        candidate = f"{local}@{domain}"
        n = 2
        while candidate in self.used_emails:
            candidate = f"{local}{n}@{domain}"
            n += 1
        self.used_emails.add(candidate)
        return candidate

    def work_local(self, first: str, last: str, pattern: int) -> str:
        f, lname = _slug(first) or "x", _slug(last) or "x"
        return (f"{f}.{lname}", f"{f}{lname}", f"{f[0]}{lname}", f"{f}", f"{f}_{lname}")[pattern]

    def personal_local(self, first: str, last: str) -> str:
        rng = self.rng
        f, lname = _slug(first) or "x", _slug(last) or "x"
        return rng.choice(
            (
                f"{f}.{lname}",
                f"{f}{lname}{rng.randrange(1, 99)}",
                f"{f[0]}{lname}{rng.randrange(1, 999)}",
                f"{lname}.{f}",
                f"{f}{rng.randrange(70, 100)}",
            )
        )

    # ------------------------------------------------------------------ dirt

    def typo(self, name: str) -> str:
        rng = self.rng
        if len(name) < 3:
            return name
        i = rng.randrange(1, len(name))
        op = rng.randrange(3)
        if op == 0:
            return name[:i] + rng.choice(_TYPO_LETTERS) + name[i + 1 :]
        if op == 1:
            return name[:i] + name[i + 1 :]
        return name[:i] + name[i] + name[i:]

    def transpose(self, name: str) -> str:
        if len(name) < 4:
            return name
        i = self.rng.randrange(1, len(name) - 1)
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]

    def dirty_name(self, name: str) -> str:
        rng = self.rng
        if rng.random() < self.d.name_typo:
            name = self.typo(name)
        if rng.random() < self.d.transposition:
            name = self.transpose(name)
        r = rng.random()
        if r < 0.03:
            return name.upper()
        if r < 0.06:
            return name.lower()
        if r < 0.08:
            return _strip_accents(name)
        return name

    def nickname(self, first: str) -> str:
        forms = NICKNAMES.get(first.lower())
        return self.rng.choice(forms).capitalize() if forms else first

    def company_variant(self, company: _Company) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return f"{company.name} {rng.choice(_LEGAL)}"
        if r < 0.6:
            return company.name.lower()
        if r < 0.8:
            return company.name.split(" ")[0] + " " + company.name.split(" ")[1]
        return company.name.upper()

    def email_typo(self, email: str) -> str:
        local, _, domain = email.partition("@")
        return f"{self.typo(local) if len(local) >= 3 else local}@{domain}"

    # ------------------------------------------------------------------ records

    def record(self, person: _Person) -> dict[str, Any]:
        rng, d = self.rng, self.d
        first, last = person.first, person.last
        if rng.random() < d.nickname:
            first = self.nickname(first)
        first, last = self.dirty_name(first), self.dirty_name(last)
        if rng.random() < d.swapped:
            first, last = last, first
        first_v: str | None = None if rng.random() < d.no_first else first
        last_v: str | None = None if rng.random() < d.no_last else last

        r = rng.random()
        email: str | None = (
            person.work_email
            if r < d.work_email
            else person.personal_email
            if r < d.work_email + d.personal_email
            else None
        )
        if email is not None and rng.random() < d.email_typo:
            email = self.email_typo(email)

        r = rng.random()
        phone: str | None
        if person.home_phone and r < d.home_phone:
            phone = person.home_phone
        elif r < d.home_phone + d.switchboard:
            phone = person.company.switchboard
        elif r < d.home_phone + d.switchboard + d.no_phone or person.mobile is None:
            phone = None
        else:
            phone = person.mobile

        company: str | None = person.company.name
        r = rng.random()
        if r < d.no_company:
            company = None
        elif r < d.no_company + d.company_variant:
            company = self.company_variant(person.company)

        domain = email.rpartition("@")[2] if email else None
        return {
            "email": email,
            "email_domain": domain,
            "is_free_email": (domain in FREE_MAIL) if domain else None,
            "phone_e164": phone,
            "first_name": first_v,
            "last_name": last_v,
            "company": company,
            "country_code": {"1": "US", "44": "GB", "49": "DE", "33": "FR"}[person.company.country],
            "person_id": person.person_id,
        }


def generate(records: int, *, seed: int = 7, difficulty: str = "hard") -> pd.DataFrame:
    """About `records` normalized lead records (exactly that many), with their true `person_id`.

    Records arrive in a shuffled order (first_seen_at increases with it), so a person's records
    are spread over time as real ones are.
    """
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {sorted(DIFFICULTIES)}, not {difficulty!r}")
    d = DIFFICULTIES[difficulty]
    gen = _Gen(seed, d)
    rng = gen.rng
    people_target = max(1, math.ceil(records / d.records_per_person))
    companies = [gen.company(i) for i in range(max(1, people_target // 12))]
    # Company sizes are skewed: a few large employers, a long tail of small ones.
    company_cum = _cumulative([1 / (rank + 2) ** 0.8 for rank in range(len(companies))])

    people: list[_Person] = []
    # Namesakes: a pool of distinct common full names, about five people each.
    wanted = max(4, int(people_target * d.namesake_rate) // 5)
    pool: dict[tuple[str, str], None] = {}
    for _ in range(wanted * 20):
        pool[(gen.first_name(), COMMON_LAST_NAMES[_bisect(gen.last_cum, rng.random())])] = None
        if len(pool) >= wanted:
            break
    common = list(pool)
    while len(people) < people_target:
        company = companies[_bisect(company_cum, rng.random())]
        if rng.random() < d.namesake_rate:
            first, last = rng.choice(common)
        else:
            first, last = gen.first_name(), gen.last_name()
        household: list[tuple[str, _Company]] = [(first, company)]
        if rng.random() < d.household_rate:
            for _ in range(rng.randrange(1, 4)):
                other = gen.first_name()
                if rng.random() < 0.3:  # siblings and spouses with the same initial
                    alike = [n for n in gen.first_names if n[0] == first[0] and n != first]
                    other = rng.choice(alike or [other])
                if other == first:
                    continue  # two people of one household never share a first name here
                household.append((other, companies[_bisect(company_cum, rng.random())]))
        home = gen.phone(company.country) if len(household) > 1 else None
        for member_first, member_company in household:
            index = len(people)
            personal_domain = FREE_MAIL[_bisect(_FREE_CUM, rng.random())]
            people.append(
                _Person(
                    person_id=f"P{index:08d}",
                    first=member_first,
                    last=last,
                    company=member_company,
                    work_email=gen.email(
                        gen.work_local(member_first, last, member_company.pattern),
                        member_company.domain,
                    ),
                    personal_email=gen.email(
                        gen.personal_local(member_first, last), personal_domain
                    ),
                    mobile=gen.phone(member_company.country) if rng.random() < 0.75 else None,
                    home_phone=home,
                )
            )

    rows: list[dict[str, Any]] = []
    extra = d.records_per_person - 1
    for person in people:
        count = 1 + _poisson(rng, extra)
        for _ in range(count):
            rows.append(gen.record(person))
    rng.shuffle(rows)
    rows = rows[:records]
    while len(rows) < records:  # short by a few: more records of random people
        rows.append(gen.record(people[rng.randrange(len(people))]))

    t0 = datetime(2026, 1, 1)
    for n, row in enumerate(rows):
        source, stream = SOURCES[n % 3]
        record_id = f"g{n:08d}"
        row["record_key"] = f"{source}:{stream}:{record_id}"
        row["source"], row["stream"], row["record_id"] = source, stream, record_id
        row["_raw_id"] = f"raw-{record_id}"
        at = t0 + timedelta(seconds=n)
        row["record_created_at"] = at
        row["first_seen_at"] = at
        row["run_id"] = "generated"
    return pd.DataFrame(rows, columns=list(COLUMNS))


def true_pairs(frame: pd.DataFrame) -> int:
    """How many record pairs belong to one person (the denominator of pairwise recall)."""
    sizes = frame.groupby("person_id").size()
    return int((sizes * (sizes - 1) // 2).sum())


_FREE_CUM = [0.45, 0.59, 0.73, 0.84, 0.93, 1.0]


def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    out, acc = [], 0.0
    for weight in weights:
        acc += weight / total
        out.append(acc)
    out[-1] = 1.0
    return out


def _bisect(cumulative: list[float], x: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _pick_weighted(rng: Random, plans: tuple[tuple[str, int, float], ...]) -> tuple[str, int]:
    x, acc = rng.random(), 0.0
    for code, length, weight in plans:
        acc += weight
        if x < acc:
            return code, length
    return plans[-1][0], plans[-1][1]


def _poisson(rng: Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _slug(text: str) -> str:
    return "".join(ch for ch in _strip_accents(text).lower() if ch.isalnum())


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
