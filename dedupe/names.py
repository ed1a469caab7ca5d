"""Name keys for identity resolution: folding, nicknames, and when two first names can be one person.

Both stages of identity resolution use these: the deterministic stage refuses a phone link between
records whose first names cannot belong to one person (colleagues on a company switchboard, family
members on a home phone), and the probabilistic stage compares names through the same keys (its SQL
twin is `dedupe.probabilistic`, checked against this module by the tests).

The nickname table is LeadFlow's own short list of common English given-name diminutives plus a few
international short forms; it maps every form to one canonical name. It is deliberately small: a
nickname it does not know is still caught by the edit-distance levels when it is close
("Chris"/"Christopher" is not, so it is listed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz.distance import OSA

# canonical -> the forms people write it as (the canonical form itself is implied)
NICKNAMES: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "albert": ("al", "bert", "bertie"),
    "alexander": ("alex", "alec", "sasha", "xander", "sandy"),
    "alexandra": ("alexa", "lexi", "sandra", "sasha"),
    "alfred": ("alf", "alfie", "fred"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant"),
    "barbara": ("barb", "babs"),
    "benjamin": ("ben", "benji", "benny"),
    "catherine": ("cathy", "kate", "katie", "cat", "kathy"),
    "charles": ("charlie", "chuck", "chas"),
    "charlotte": ("lottie", "charlie"),
    "christina": ("tina", "chrissy"),
    "christopher": ("chris", "kit", "topher"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("debbie", "deb", "debra"),
    "dorothy": ("dot", "dottie", "dolly"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "eleanor": ("ellie", "nell", "nora"),
    "elizabeth": ("liz", "beth", "betty", "lizzie", "eliza", "elisabeth", "betsy"),
    "emily": ("em", "emmy"),
    "frances": ("fran", "frankie"),
    "francis": ("frank",),
    "frederick": ("fred", "freddie", "fritz"),
    "gabriel": ("gabe",),
    "gregory": ("greg",),
    "henry": ("hank", "harry"),
    "isabella": ("bella", "izzy", "isabel"),
    "jacob": ("jake",),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "john": ("johnny", "jack", "jon"),
    "jonathan": ("jon", "jonny"),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "katherine": ("kate", "katie", "kathy", "kat", "kathryn"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie"),
    "leonard": ("leo", "len", "lenny"),
    "margaret": ("maggie", "meg", "peggy", "marge", "greta"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mikey", "mick", "mickey", "michel"),
    "nicholas": ("nick", "nicky", "nico"),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy", "rick"),
    "peter": ("pete",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "ricky", "dick", "rich", "richie"),
    "robert": ("rob", "bob", "bobby", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sam", "sammy"),
    "stephanie": ("steph", "stephie"),
    "stephen": ("steve", "steven", "stevie"),
    "susan": ("sue", "susie", "suzanne"),
    "theodore": ("theo", "ted", "teddy"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori", "vic"),
    "william": ("will", "bill", "billy", "liam", "willy", "willem"),
    "zachary": ("zach", "zack"),
}

# form -> every canonical it can stand for ("pat" is Patricia or Patrick, "jon" John or Jonathan).
_CANONICALS: dict[str, tuple[str, ...]] = {}
for _canonical, _forms in NICKNAMES.items():
    for _form in (_canonical, *_forms):
        if _canonical not in _CANONICALS.get(_form, ()):
            _CANONICALS[_form] = (*_CANONICALS.get(_form, ()), _canonical)

_NOT_LETTERS = re.compile(r"[^a-z]+")


@lru_cache(maxsize=65_536)
def fold(name: str | None) -> str | None:
    """Lower-case ASCII letters only ('Zoë O'Brien-Ly' -> 'zoeobrienly'); None when nothing is left."""
    if not name:
        return None
    ascii_only = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    folded = _NOT_LETTERS.sub("", ascii_only.lower())
    return folded or None


def canonical_first(name: str | None) -> str | None:
    """The folded first name with a known nickname replaced by its (first) canonical form: the
    blocking key that puts "Bill" and "William" side by side."""
    folded = fold(name)
    if folded is None:
        return None
    return _CANONICALS.get(folded, (folded,))[0]


def canonicals(name: str | None) -> tuple[str, ...]:
    """Every canonical form a first name can stand for (itself when it is no known nickname)."""
    folded = fold(name)
    if folded is None:
        return ()
    return _CANONICALS.get(folded, (folded,))


def nickname_rows() -> list[tuple[str, str]]:
    """(form, canonical) for every known form: the table the SQL stage joins."""
    return sorted((form, canon) for form, canons in _CANONICALS.items() for canon in canons)


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (an adjacent transposition costs 1), capped at `limit`
    (rapidfuzz's C implementation: the phone rule calls this for every pair it tries)."""
    return min(int(OSA.distance(a, b, score_cutoff=limit)), limit)


@lru_cache(maxsize=1 << 18)
def first_names_compatible(a: str | None, b: str | None) -> bool:
    """Whether two first names can be one person's: equal once folded, one a nickname of the other,
    one an initial of the other, or a typo apart (two, with the same first letter, for names of five
    letters or more). Missing is compatible.

    Family members at one address and colleagues on one switchboard differ here, which is why a
    shared phone alone never links records whose first names are incompatible.
    """
    fa, fb = fold(a), fold(b)
    if fa is None or fb is None or fa == fb:
        return True
    forms_a, forms_b = {fa, *canonicals(fa)}, {fb, *canonicals(fb)}
    if forms_a & forms_b:
        return True
    if len(fa) == 1 or len(fb) == 1:
        return fa[0] == fb[0]
    # A typo in one spelling, possibly of the other's nickname (Jssica / Jessie -> Jessica; Katte /
    # Katherine -> Kate).
    return any(_typo_apart(x, y) for x in forms_a for y in _all_forms(forms_b)) or any(
        _typo_apart(x, y) for x in _all_forms(forms_a) for y in forms_b
    )


def _all_forms(names: set[str]) -> set[str]:
    """The names and every form of the canonical names among them (william -> bill, will, ...)."""
    return names.union(*(NICKNAMES.get(name, ()) for name in names))


def _typo_apart(fa: str, fb: str) -> bool:
    if _gendered_pair(fa, fb):
        return False
    shorter = min(len(fa), len(fb))
    if shorter < 4:
        # Short names: a letter dropped or doubled (Ana/Anna, Jon/Jonh), never one replaced (Tom/Tim).
        return len(fa) != len(fb) and fa[0] == fb[0] and edit_distance(fa, fb, 2) <= 1
    allowed = 2 if shorter >= 5 and fa[0] == fb[0] else 1
    return edit_distance(fa, fb, allowed + 1) <= allowed


def _gendered_pair(a: str, b: str) -> bool:
    """Mario/Maria, Paulo/Paula, Daniel/Daniela, Louis/Louise: one letter apart, and often two
    siblings on one home phone rather than a typo."""
    if len(a) == len(b):
        return a[:-1] == b[:-1] and a[-1] in "aeio" and b[-1] in "aeio"
    short, long_ = sorted((a, b), key=len)
    return (
        len(long_) == len(short) + 1
        and long_.startswith(short)
        and long_[-1] in "ae"
        and short[-1] not in "aeiou"
    )


@lru_cache(maxsize=1 << 18)
def last_names_compatible(a: str | None, b: str | None) -> bool:
    """Equal once folded, or a typo or two apart (one for short names); missing is compatible.

    Looser than first names on purpose: what keeps a family apart is their first names, and two
    colleagues' last names are rarely this close."""
    fa, fb = fold(a), fold(b)
    if fa is None or fb is None or fa == fb:
        return True
    allowed = 2 if min(len(fa), len(fb)) >= 5 else 1
    return edit_distance(fa, fb, allowed + 1) <= allowed


@lru_cache(maxsize=1 << 18)
def names_compatible(
    first_a: str | None, last_a: str | None, first_b: str | None, last_b: str | None
) -> bool:
    """Whether two (first, last) names can be one person's: both parts compatible as written, or
    with one record's first and last name swapped (both present on both sides)."""
    if first_names_compatible(first_a, first_b) and last_names_compatible(last_a, last_b):
        return True
    # Swapped: both crossed pairs compatible, and at least one of them present on both sides.
    crossed = ((first_a, last_b), (last_a, first_b))
    return (
        any(fold(x) and fold(y) for x, y in crossed)
        and first_names_compatible(first_a, last_b)
        and last_names_compatible(last_a, first_b)
    )


SHARED_LINE_NAMES = 12  # a number written with this many different names is shared, unchecked


def shared_lines(
    named: Iterable[tuple[str, Sequence[Sequence[str | None]]]],
) -> list[str]:
    """The phone numbers that records of two or more people carry, as their names tell: two of the
    (first, last) names written with a number cannot be one person's (`names_compatible`:
    misspellings, nicknames, initials and swapped names are one person). A company switchboard or
    a family's home phone. `named` holds each number with the distinct names written with it."""
    shared = []
    for phone, names in named:
        if len(names) >= SHARED_LINE_NAMES or any(
            not names_compatible(a[0], a[1], b[0], b[1])
            for k, a in enumerate(names)
            for b in names[k + 1 :]
        ):
            shared.append(phone)
    return shared
