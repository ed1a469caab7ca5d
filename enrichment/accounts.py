"""Normalizers for lead-to-account matching: company names (and their acronyms), web domains, phones.

Each takes what a form, a CRM or a person typed and returns a comparable key, or None when there is
nothing to compare; none of them raises on bad input. dedupe/accounts.py compares the keys.

Company names ("ACME, Inc.", "Acme Incorporated", "acme") -> `CompanyName`:
- Unicode is folded (NFKC, accents dropped, case-folded: "Müller GmbH" ~ "MULLER GMBH").
- "&" between two words of one or two letters joins them ("AT&T", "AT & T" -> "att"), elsewhere it
  is "and" ("Procter & Gamble" ~ "Procter and Gamble"); dots and apostrophes
  are dropped ("I.B.M." -> "ibm", "O'Reilly" -> "oreilly"); any other punctuation separates words.
- Runs of single letters are one word ("S. A." -> "sa", "I B M" -> "ibm"); a leading "the" goes.
- Trailing legal forms and organizational words (Inc, LLC, Ltd, GmbH & Co. KG, S.A., Pty Ltd, plc,
  Group, Holdings, ...) are removed, as many as there are, never the last word.
- Placeholders people type when a form insists ("n/a", "none", "self-employed", "student", "-")
  are no company at all.
The lists are the seed dbt_project/seeds/company_name_terms.csv (term, kind), one declared place.

Acronyms, concretely: the *initials* of a name are the first letters of its significant words (the
words left once stopwords such as "and", "of", "the", "de", "und" are dropped), for a name of at
least three significant words: "International Business Machines Corp." -> "ibm", "Bank of New
York Mellon" -> "bnym". A name that *reads as an acronym* is a single word of 3 to 5 letters or
digits once normalized ("IBM", "I.B.M.", "ibm inc" -> "ibm"). Two names match by acronym when one
reads as an acronym and equals the other's initials; two sets of initials never match each other.
Two letters are not enough: on a 2,000-lead sandbox world, two-letter initials ("Brivane Labs" ->
"bl") picked the wrong company in 18 of 63 acronym matches, so "HP" ~ "Hewlett Packard" is left to
the domain rules.

Web domains ("https://www.Acme.co.uk/about", "ana@mail.acme.com", "ACME.COM.") -> the registrable
domain ("acme.co.uk", "acme.com"): scheme, user, port, path, "www." and other subdomains removed,
IDNA (punycode) for non-ASCII names. The registrable part is the last two labels, or three under a
second-level public suffix listed in dbt_project/seeds/second_level_domains.csv (co.uk, com.au,
co.jp, ...); that list covers the common country second levels, not the whole Public Suffix List.

Phones: E.164 through enrichment.normalize.normalize_phone, read in the record's country.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from enrichment.normalize import SEEDS, is_free_email, normalize_country, normalize_phone

__all__ = [
    "ACRONYM_LENGTH",
    "CompanyName",
    "company_domain",
    "is_matchable_domain",
    "lists_fingerprint",
    "normalize_company_name",
    "normalize_domain",
    "phone_key",
    "split_domains",
]

# How long a single word may be and still read as an acronym ("ibm", "kpmg", "lvmh"), and so how
# many significant words a name needs for its initials to be compared.
ACRONYM_LENGTH = (3, 5)
# Longer values are not a company name someone typed (a pasted paragraph, an attack string).
MAX_NAME_LENGTH = 200
MAX_DOMAIN_LENGTH = 253


@dataclass(frozen=True)
class CompanyName:
    """A company name in comparable form."""

    key: str  # 'international business machines'
    initials: str | None  # 'ibm': first letters of the significant words, when there are 3 to 5
    acronym: str | None  # the key itself when it reads as an acronym ('ibm'), else None


@dataclass(frozen=True)
class _Terms:
    suffixes: frozenset[tuple[str, ...]]  # legal and organizational forms, as word tuples
    longest: int  # the most words a suffix has
    stopwords: frozenset[str]
    placeholders: frozenset[str]


@lru_cache(maxsize=1)
def _terms() -> _Terms:
    suffixes: set[tuple[str, ...]] = set()
    stopwords: set[str] = set()
    placeholders: set[str] = set()
    with (SEEDS / "company_name_terms.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            term, kind = row["term"].strip().lower(), row["kind"].strip()
            if kind in ("legal_suffix", "org_suffix"):
                suffixes.add(tuple(term.split()))
            elif kind == "stopword":
                stopwords.add(term)
            elif kind == "placeholder":
                placeholders.add(term)
    # A seed cannot hold the word null (dbt loads it as a missing value), yet integrations write it.
    placeholders.add("null")
    return _Terms(
        frozenset(suffixes),
        max((len(s) for s in suffixes), default=0),
        frozenset(stopwords),
        frozenset(placeholders),
    )


@lru_cache(maxsize=1)
def _second_level() -> frozenset[str]:
    with (SEEDS / "second_level_domains.csv").open(encoding="utf-8") as handle:
        return frozenset(row["suffix"].strip().lower() for row in csv.DictReader(handle))


def lists_fingerprint() -> str:
    """The lookup lists the normalizers read, as one string: a change re-matches every lead."""
    terms = _terms()
    parts = [
        ";".join(sorted(" ".join(s) for s in terms.suffixes)),
        ";".join(sorted(terms.stopwords)),
        ";".join(sorted(terms.placeholders)),
        ";".join(sorted(_second_level())),
    ]
    return "|".join(parts)


# --------------------------------------------------------------------------- company names

# "AT&T", "AT & T", "B&Q": an ampersand between two words of one or two letters joins them.
_JOINING_AMPERSAND = re.compile(r"(?<!\w)(\w{1,2})\s*&\s*(\w{1,2})(?!\w)")
_DROPPED = re.compile(r"[.'\u2019\u2018\u02bc`\u00b4]")
_SEPARATORS = re.compile(r"[\W_]+")


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", value))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _words(value: str) -> list[str]:
    text = _DROPPED.sub("", _fold(value))
    for _ in range(3):  # "A&B&C": each pass joins one more pair
        text = _JOINING_AMPERSAND.sub(r"\1\2", text)
    text = text.replace("&", " and ")
    words = _SEPARATORS.sub(" ", text).split()
    # A run of single letters is one word: "s a" -> "sa", "i b m" -> "ibm".
    merged: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        if run:
            merged.append("".join(run))
            run = []
        if word:
            merged.append(word)
    return merged


def _strip_suffixes(words: list[str], terms: _Terms) -> list[str]:
    """Trailing legal forms and organizational words off, longest first, never the last word; a
    stopword left dangling ("Acme & Co" -> "acme and") goes too."""
    while len(words) > 1:
        for size in range(min(terms.longest, len(words) - 1), 0, -1):
            if tuple(words[-size:]) in terms.suffixes:
                words = words[:-size]
                break
        else:
            if words[-1] not in terms.stopwords:
                return words
            words = words[:-1]
    return words


def normalize_company_name(value: str | None) -> CompanyName | None:
    """A company name as comparable keys; None for blanks, placeholders and web addresses (a
    company written as "acme.io" is a domain: see `company_domain`)."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
        return None
    return _company_name(value)


@lru_cache(maxsize=65_536)  # names repeat across leads and runs; the lists are fixed per process
def _company_name(value: str) -> CompanyName | None:
    if company_domain(value) is not None:
        return None
    terms = _terms()
    words = _words(value)
    if not words or " ".join(words) in terms.placeholders:
        return None
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    words = _strip_suffixes(words, terms)
    key = " ".join(words)
    if len(key) < 2 or key in terms.placeholders or tuple(words) in terms.suffixes:
        return None  # nothing, a placeholder, or a legal form on its own ("Inc.")
    significant = [w for w in words if w not in terms.stopwords]
    low, high = ACRONYM_LENGTH
    initials = "".join(w[0] for w in significant) if low <= len(significant) <= high else None
    acronym = key if len(words) == 1 and low <= len(key) <= high and key.isalnum() else None
    return CompanyName(key, initials, acronym)


# --------------------------------------------------------------------------- domains

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _host(value: str) -> str | None:
    text = unicodedata.normalize("NFKC", value).strip().strip("<>").strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if "@" in text and not _SCHEME.match(text):
        text = text.rsplit("@", 1)[1]  # an email address: its domain
    try:
        parts = urlsplit(text if _SCHEME.match(text) else f"//{text}")
        host, _ = parts.hostname, parts.port  # .port raises on a malformed port
    except ValueError:  # a malformed port or an unbalanced IPv6 bracket
        return None
    return host.rstrip(".") if host else None


def normalize_domain(value: str | None) -> str | None:
    """The registrable domain of a URL, host name or email address, lower-case ASCII; else None."""
    if not isinstance(value, str) or len(value) > 2 * MAX_DOMAIN_LENGTH:
        return None
    return _domain(value)


_BARE_HOST = re.compile(r"^[a-z0-9.-]+$")


@lru_cache(maxsize=65_536)
def _domain(value: str) -> str | None:
    lowered = value.strip().lower()
    # the common case, a bare ASCII host name, needs no URL parsing
    host = lowered.rstrip(".") if _BARE_HOST.match(lowered) else _host(value)
    if not host:
        return None
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    if (
        len(ascii_host) > MAX_DOMAIN_LENGTH
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or not _TLD.match(labels[-1])
    ):
        return None
    keep = 3 if ".".join(labels[-2:]) in _second_level() else 2
    if len(labels) < keep:
        return None  # a public suffix on its own ("co.uk") is nobody's domain
    return ".".join(labels[-keep:])  # "www." and every other subdomain go


_LOOKS_LIKE_WEB = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|www\.)?[^\s@/]+\.[^\s@/.]{2,}(?:[/?#].*)?$", re.IGNORECASE
)


def company_domain(value: str | None) -> str | None:
    """The domain when a company field holds a web address ("acme.io", "https://acme.io/"), which
    forms and CRMs often do; None for an ordinary name ("Acme Inc.", "I.B.M.")."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or " " in text or not _LOOKS_LIKE_WEB.match(text):
        return None
    return normalize_domain(text)


def split_domains(value: str | None) -> list[str]:
    """HubSpot's hs_additional_domains ("acme.com; acme.de") -> registrable domains, each once."""
    if not isinstance(value, str):
        return []
    found = (normalize_domain(part) for part in re.split(r"[;,\s]+", value))
    return list(dict.fromkeys(d for d in found if d))


def is_matchable_domain(domain: str | None) -> bool:
    """A domain an account may be matched on: present and not a free-mail provider's."""
    return bool(domain) and not is_free_email(domain)


# --------------------------------------------------------------------------- phones


def phone_key(value: str | None, country: str | None) -> str | None:
    """An E.164 number from a phone as written and the country as written ('Germany', 'DE')."""
    if not isinstance(value, str):
        return None
    return normalize_phone(value, normalize_country(country) if country else None)
