"""HubSpot company records for the generated world: the accounts leads are matched to.

A CRM's companies are about as dirty as its contacts, and in the ways that make lead-to-account
matching hard (dedupe/accounts.py). Deterministic from the seed, and drawn from a generator of their
own, so adding them left every other draw of the world as it was:

- Some of the world's companies have an account, most don't (ACCOUNT_RATE): a lead at a company
  without one matches nothing, or the wrong thing.
- The account's name is the company's name as someone typed it into the CRM: another legal form
  ("Zenlane Labs Inc" / "Zenlane Labs, Incorporated" / "ZENLANE LABS LLC"), another case.
- Its domain is there, or only a website URL ("https://www.zenlane.io/about"), or an alias with the
  company's real domain among `hs_additional_domains`, or nothing at all.
- Duplicates: a second record of the same company, created later, often without an owner and with
  fewer contacts (the tie-breakers decide between the two).
- Namesakes: an unrelated company with the same name under another legal form and domain
  ("Zenlane Labs GmbH", zenlane.de): a name alone cannot tell them apart.
- Phones: some accounts carry one of their people's numbers (the founder's line).
- Sole traders entered with their free-mail address's domain (gmail.com) as the company domain:
  an account no lead may match by domain.

Docs: https://developers.hubspot.com/docs/api/crm/companies
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random

from sandbox.clock import hubspot_time, parse_iso_ms
from sandbox.properties import COMPANY_PROPERTY_NAMES
from sandbox.world import (
    _COUNTRY_TLD,
    _LEGAL_SUFFIX,
    COUNTRIES_BY_CODE,
    DAY_MS,
    FREE_MAIL_DOMAINS,
    LAST_NAMES,
    Company,
    Owner,
    phone_variant,
)

COMPANY_FIRST_ID = 20_000_000_001

ACCOUNT_RATE = 0.6  # of the world's companies
ACCOUNT_OWNED_RATE = 0.7  # of accounts
ACCOUNT_DUPLICATE_RATE = 0.1  # of accounts: a second record of the same company
DUPLICATE_OWNED_RATE = 0.35
ACCOUNT_NAMESAKE_RATE = 0.05  # of accounts: an unrelated company of the same name
ACCOUNT_PHONE_RATE = 0.3  # of accounts of companies whose people left a phone
SOLE_TRADER_RATE = 0.02  # per world company: a sole trader's account on a free-mail domain

# How CRMs spell each country's legal forms.
LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "US": (" Inc", ", Inc.", " Incorporated", " LLC", " Corp."),
    "CA": (" Inc", " Inc.", " Ltd.", " Corporation"),
    "GB": (" Ltd", " Limited", " Ltd.", " plc"),
    "DE": (" GmbH", " AG", " GmbH & Co. KG"),
    "FR": (" SAS", " S.A.S.", " SA"),
    "NL": (" B.V.", " BV", " N.V."),
    "ES": (" S.L.", " SL", " S.A."),
    "AU": (" Pty Ltd", " Pty. Ltd."),
    "IN": (" Pvt Ltd", " Private Limited"),
    "SG": (" Pte Ltd", " Pte. Ltd."),
}


@dataclass(frozen=True)
class CompanyRecord:
    """One company record of the CRM, and the world company it really is (None: a namesake or a
    sole trader, no company of the world)."""

    company_id: int | None
    properties: dict[str, str | None]


@dataclass(frozen=True)
class CompanyFacts:
    """What the CRM knows of a world company through its people."""

    phones: tuple[tuple[str, str], ...] = ()  # (E.164, country code) of its people with a phone
    contacts: int = 0  # its people with a HubSpot contact


def base_name(name: str) -> str:
    """The company's name without the legal form the world gave it ("Zenlane Labs Inc" -> "Zenlane
    Labs")."""
    for suffix in sorted(set(_LEGAL_SUFFIX.values()), key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _team(country_code: str) -> str:
    if country_code in ("US", "CA"):
        return "NA"
    return "APAC" if country_code in ("AU", "IN", "SG") else "EMEA"


def _owner(owners: Sequence[Owner], country_code: str, rng: Random) -> str:
    team = [o for o in owners if o.team == _team(country_code) and not o.archived]
    return rng.choice(team or [o for o in owners if not o.archived] or list(owners)).id


def _name_as_typed(company: Company, rng: Random) -> str:
    forms = LEGAL_FORMS[company.country]
    r = rng.random()
    if r < 0.5:
        return company.name
    if r < 0.75:
        return base_name(company.name) + rng.choice(forms)
    if r < 0.85:
        return (base_name(company.name) + rng.choice(forms)).upper()
    if r < 0.95:
        return company.name.lower()
    return "The " + company.name


def _root(company: Company) -> str:
    return company.domain.split(".", 1)[0]


class _Accounts:
    """Accumulates company records with consecutive ids."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.rows: list[CompanyRecord] = []

    def add(
        self,
        rng: Random,
        *,
        name: str,
        country: str,
        company: Company | None,
        domain: str | None = None,
        website: str | None = None,
        additional: str | None = None,
        phone: str | None = None,
        owner: str | None = None,
        contacts: int = 0,
        created_ms: int | None = None,
    ) -> int:
        account_id = COMPANY_FIRST_ID + len(self.rows)
        now = self.now_ms
        created = created_ms if created_ms is not None else now - int(rng.uniform(60, 900) * DAY_MS)
        modified = max(created, min(now - 60_000, created + int(rng.random() * (now - created))))
        activity = (
            created + int(rng.random() * (modified - created))
            if contacts and rng.random() < 0.7
            else None
        )
        spec = COUNTRIES_BY_CODE[country]
        row: dict[str, str | None] = dict.fromkeys(COMPANY_PROPERTY_NAMES)
        row.update(
            {
                "hs_object_id": str(account_id),
                "name": name,
                "domain": domain,
                "website": website,
                "hs_additional_domains": additional,
                "phone": phone,
                "city": spec.cities[0] if rng.random() < 0.6 else None,
                "country": spec.name if rng.random() < 0.8 else None,
                "industry": company.industry if company and rng.random() < 0.7 else None,
                "numberofemployees": (
                    str(company.employees) if company and rng.random() < 0.6 else None
                ),
                "hubspot_owner_id": owner,
                "num_associated_contacts": str(contacts),
                "notes_last_updated": hubspot_time(activity) if activity is not None else None,
                "createdate": hubspot_time(created),
                "hs_lastmodifieddate": hubspot_time(modified),
            }
        )
        self.rows.append(CompanyRecord(company.id if company else None, row))
        return account_id


def make_hubspot_companies(
    seed: int,
    companies: Sequence[Company],
    owners: Sequence[Owner],
    facts: Mapping[int, CompanyFacts],
    now_ms: int,
) -> list[CompanyRecord]:
    """The CRM's company records for the world: property values (strings or None), each with the
    world company it stands for."""
    rng = Random(f"{seed}:hubspot-companies")
    out = _Accounts(now_ms)
    for company in companies:
        known = facts.get(company.id, CompanyFacts())
        if rng.random() < SOLE_TRADER_RATE:
            trader = rng.choice(LAST_NAMES)
            free = rng.choice([domain for domain, _ in FREE_MAIL_DOMAINS])
            out.add(
                rng,
                name=f"{trader} Consulting",
                country=company.country,
                company=None,
                domain=free,
                owner=_owner(owners, company.country, rng) if rng.random() < 0.5 else None,
            )
        if rng.random() >= ACCOUNT_RATE:
            continue
        _account(rng, out, company, known, owners)
    return out.rows


def _account(
    rng: Random, out: _Accounts, company: Company, known: CompanyFacts, owners: Sequence[Owner]
) -> None:
    root = _root(company)
    name = _name_as_typed(company, rng)
    domain: str | None = None
    website: str | None = None
    additional: str | None = None
    r = rng.random()
    if r < 0.62:
        domain = company.domain
        if rng.random() < 0.08:
            domain = "www." + domain
        elif rng.random() < 0.05:
            domain = domain.upper()
        w = rng.random()
        if w < 0.6:
            website = f"https://www.{company.domain}"
        elif w < 0.75:
            website = f"http://{company.domain}/"
    elif r < 0.74:
        website = f"https://www.{company.domain}/" + rng.choice(("", "about", "en/home"))
    elif r < 0.82:
        # an alias as the primary domain; the domain its people use is an additional one
        domain = f"{root}.net"
        additional = company.domain if rng.random() < 0.5 else f"{company.domain}; {root}-hq.com"
        website = f"https://{domain}"
    phone = None
    if known.phones and rng.random() < ACCOUNT_PHONE_RATE:
        e164, country_code = rng.choice(known.phones)
        spec = COUNTRIES_BY_CODE[country_code]
        phone = phone_variant(spec, e164[len(spec.calling_code) + 1 :], rng)
    owned = rng.random() < ACCOUNT_OWNED_RATE
    duplicate = rng.random() < ACCOUNT_DUPLICATE_RATE
    dup_contacts = rng.randint(0, known.contacts // 3) if duplicate else 0
    first = out.add(
        rng,
        name=name,
        country=company.country,
        company=company,
        domain=domain,
        website=website,
        additional=additional,
        phone=phone,
        owner=_owner(owners, company.country, rng) if owned else None,
        contacts=known.contacts - dup_contacts,
    )
    created = _created_ms(out, first)
    if duplicate:
        # entered again later, by someone who did not find the first record
        later = min(out.now_ms - DAY_MS, created + int(rng.uniform(10, 300) * DAY_MS))
        out.add(
            rng,
            name=_name_as_typed(company, rng),
            country=company.country,
            company=company,
            domain=company.domain if rng.random() < 0.6 else None,
            owner=(
                _owner(owners, company.country, rng)
                if rng.random() < DUPLICATE_OWNED_RATE
                else None
            ),
            contacts=dup_contacts,
            created_ms=max(created, later),
        )
    if rng.random() < ACCOUNT_NAMESAKE_RATE:
        # an unrelated company of the same name, elsewhere
        country = rng.choice(sorted(c for c in LEGAL_FORMS if c != company.country))
        tld = _COUNTRY_TLD[country]
        other = f"{root}{tld if not company.domain.endswith(tld) else '.org'}"
        out.add(
            rng,
            name=base_name(company.name) + rng.choice(LEGAL_FORMS[country]),
            country=country,
            company=None,
            domain=other,
            website=f"https://www.{other}",
            owner=_owner(owners, country, rng) if rng.random() < 0.5 else None,
            contacts=rng.randint(0, 3),
        )


def _created_ms(out: _Accounts, account_id: int) -> int:
    stamp = out.rows[account_id - COMPANY_FIRST_ID].properties["createdate"]
    assert stamp is not None
    return parse_iso_ms(stamp)
