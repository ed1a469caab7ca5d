"""Account-matching normalizers: company names (and acronyms), web domains, phones. Table-driven:
what a person, a form or a CRM wrote in, the comparable key out, never an exception."""

from __future__ import annotations

from typing import Any

import pytest

from enrichment.accounts import (
    CompanyName,
    company_domain,
    is_matchable_domain,
    normalize_company_name,
    normalize_domain,
    phone_key,
    split_domains,
)


def name(key: str, initials: str | None = None, acronym: str | None = None) -> CompanyName:
    return CompanyName(key, initials, acronym)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # legal forms, punctuation and case
        pytest.param("Acme, Inc.", name("acme", acronym="acme"), id="comma-inc-dot"),
        pytest.param("ACME INCORPORATED", name("acme", acronym="acme"), id="incorporated-caps"),
        pytest.param("acme llc", name("acme", acronym="acme"), id="llc-lower"),
        pytest.param("Zenlane Labs Ltd.", name("zenlane labs"), id="ltd"),
        pytest.param("Zenlane Labs Limited", name("zenlane labs"), id="limited"),
        pytest.param("Zenlane Labs plc", name("zenlane labs"), id="plc"),
        pytest.param("ZENLANE LABS GMBH", name("zenlane labs"), id="gmbh"),
        pytest.param("Zenlane Labs AG", name("zenlane labs"), id="ag"),
        pytest.param("Zenlane Labs S.A.", name("zenlane labs"), id="s-a-dotted"),
        pytest.param("Zenlane Labs S. A.", name("zenlane labs"), id="s-a-spaced"),
        pytest.param("Zenlane Labs B.V.", name("zenlane labs"), id="bv"),
        pytest.param("Zenlane Labs Pty. Ltd.", name("zenlane labs"), id="pty-ltd"),
        pytest.param("Zenlane Labs Pvt Ltd", name("zenlane labs"), id="pvt-ltd"),
        pytest.param("Zenlane Labs Sp. z o.o.", name("zenlane labs"), id="sp-zoo"),
        pytest.param("Zenlane Labs S.A. de C.V.", name("zenlane labs"), id="sa-de-cv"),
        pytest.param("Müller GmbH & Co. KG", name("muller"), id="gmbh-co-kg"),
        pytest.param("Acme Group Holdings Ltd.", name("acme", acronym="acme"), id="org-words"),
        pytest.param("Acme & Co", name("acme", acronym="acme"), id="and-co"),
        pytest.param("The Acme Company", name("acme", acronym="acme"), id="leading-the"),
        pytest.param("Limited Brands Inc.", name("limited brands"), id="only-trailing-forms"),
        pytest.param("Holding AG", None, id="nothing-but-forms"),
        # "&" and "and", dots and apostrophes
        pytest.param("Procter & Gamble", name("procter and gamble"), id="ampersand-is-and"),
        pytest.param("Procter and Gamble Co.", name("procter and gamble"), id="and-spelled"),
        pytest.param("AT&T Inc.", name("att", acronym="att"), id="ampersand-joins-letters"),
        pytest.param("AT & T", name("att", acronym="att"), id="spaced-ampersand-joins"),
        pytest.param("O'Reilly Media, Inc.", name("oreilly media"), id="apostrophe"),
        pytest.param("Toys “R” Us", name("toys r us", initials="tru"), id="curly-quotes"),
        pytest.param("Yahoo!", name("yahoo", acronym="yahoo"), id="exclamation"),
        pytest.param("  Acme\t\nInc  ", name("acme", acronym="acme"), id="whitespace"),
        # acronyms: initials of the significant words, 3 to 5 of them
        pytest.param(
            "International Business Machines Corp.",
            name("international business machines", initials="ibm"),
            id="initials",
        ),
        pytest.param(
            "Bank of New York Mellon",
            name("bank of new york mellon", initials="bnym"),
            id="initials-skip-stopwords",
        ),
        pytest.param("I.B.M.", name("ibm", acronym="ibm"), id="dotted-acronym"),
        pytest.param("IBM Corp", name("ibm", acronym="ibm"), id="acronym-with-suffix"),
        pytest.param("I B M", name("ibm", acronym="ibm"), id="spaced-letters"),
        pytest.param("3M Company", name("3m"), id="two-characters-no-acronym"),
        pytest.param("Brivane Labs", name("brivane labs"), id="two-words-no-initials"),
        pytest.param("Zenlane", name("zenlane"), id="long-word-no-acronym"),
        # unicode
        pytest.param("Société Générale S.A.", name("societe generale"), id="accents"),
        pytest.param(
            "\uff21\uff23\uff2d\uff25 \uff29\uff4e\uff43",
            name("acme", acronym="acme"),
            id="fullwidth",
        ),
        pytest.param("Straße GmbH", name("strasse"), id="eszett-casefolds"),
        pytest.param("日本電気株式会社", name("日本電気株式会社"), id="cjk-kept"),
        pytest.param("Ромашка", name("ромашка"), id="cyrillic-kept"),
        pytest.param("Acme\u0301 Inc", name("acme", acronym="acme"), id="combining-mark"),
        # nothing to compare
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="blank"),
        pytest.param("-", None, id="dash"),
        pytest.param("n/a", None, id="n-a"),
        pytest.param("NULL", None, id="null-written-out"),
        pytest.param("N.A.", None, id="n-a-dotted"),
        pytest.param("Self-employed", None, id="self-employed"),
        pytest.param("The Company", None, id="the-company"),
        pytest.param("x", None, id="one-letter"),
        pytest.param("Inc.", None, id="a-legal-form-alone"),
        pytest.param("acme.io", None, id="a-domain-is-not-a-name"),
        pytest.param("https://www.acme.io/about", None, id="a-url-is-not-a-name"),
        pytest.param("A" * 500, None, id="too-long"),
        pytest.param("!!!???", None, id="punctuation-only"),
        pytest.param("\x00\ud800", None, id="control-and-lone-surrogate"),
    ],
)
def test_normalize_company_name(given: str | None, expected: CompanyName | None) -> None:
    assert normalize_company_name(given) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Zenlane Labs, Inc.", "ZENLANE LABS GMBH", id="legal-forms"),
        pytest.param("Procter & Gamble", "procter and gamble co", id="and"),
        pytest.param("Société Générale", "SOCIETE GENERALE SA", id="accents"),
        pytest.param("AT&T", "A.T. & T.", id="ampersand-and-dots"),
    ],
)
def test_spellings_of_one_company_normalize_alike(a: str, b: str) -> None:
    left, right = normalize_company_name(a), normalize_company_name(b)
    assert left is not None and left == right


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("acme.com", "acme.com", id="bare"),
        pytest.param("ACME.COM.", "acme.com", id="case-and-root-dot"),
        pytest.param("www.acme.io", "acme.io", id="www"),
        pytest.param("https://www.Acme.co.uk/about?x=1#top", "acme.co.uk", id="url-second-level"),
        pytest.param("http://acme.com:8080/x", "acme.com", id="port"),
        pytest.param("https://user:pw@shop.acme.com/", "acme.com", id="userinfo-subdomain"),
        pytest.param("eu.shop.acme.com.au", "acme.com.au", id="deep-subdomain"),
        pytest.param("ana@mail.acme.com", "acme.com", id="email-address"),
        pytest.param("mailto:ana@acme.com", "acme.com", id="mailto"),
        pytest.param("<acme.com>", "acme.com", id="angle-brackets"),
        pytest.param("münchen.de", "xn--mnchen-3ya.de", id="idn-to-punycode"),
        pytest.param("xn--mnchen-3ya.de", "xn--mnchen-3ya.de", id="punycode-kept"),
        pytest.param(
            "\uff41\uff43\uff4d\uff45\uff0e\uff43\uff4f\uff4d", "acme.com", id="fullwidth"
        ),
        pytest.param("co.uk", None, id="public-suffix-alone"),
        pytest.param("acme", None, id="no-tld"),
        pytest.param("localhost", None, id="localhost"),
        pytest.param("192.168.0.1", None, id="ip-address"),
        pytest.param("http://[::1]/", None, id="ipv6"),
        pytest.param("acme..com", None, id="empty-label"),
        pytest.param("-acme.com", None, id="leading-hyphen"),
        pytest.param("acme.c0m", None, id="numeric-tld"),
        pytest.param("ana@", None, id="email-without-domain"),
        pytest.param("acme .com", None, id="space"),
        pytest.param("http://acme.com:port", None, id="bad-port"),
        pytest.param("a" * 64 + ".com", None, id="label-too-long"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
        pytest.param("\ud800.com", None, id="lone-surrogate"),
    ],
)
def test_normalize_domain(given: str | None, expected: str | None) -> None:
    assert normalize_domain(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("acme.com; acme.de", ["acme.com", "acme.de"], id="semicolons"),
        pytest.param("www.acme.com,ACME.COM acme.io", ["acme.com", "acme.io"], id="mixed-once"),
        pytest.param(" ; ;", [], id="separators-only"),
        pytest.param("not a domain; acme", [], id="junk"),
        pytest.param(None, [], id="none"),
    ],
)
def test_split_domains(given: str | None, expected: list[str]) -> None:
    assert split_domains(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("acme.io", "acme.io", id="bare-domain"),
        pytest.param("https://www.acme.io/", "acme.io", id="url"),
        pytest.param("Booking.com", "booking.com", id="brand-that-is-a-domain"),
        pytest.param("Acme Inc.", None, id="name-with-dot"),
        pytest.param("I.B.M.", None, id="dotted-acronym"),
        pytest.param("Node.js Foundation", None, id="dot-in-a-word"),
        pytest.param("ana@acme.io", None, id="email-is-not-a-company"),
        pytest.param(None, None, id="none"),
    ],
)
def test_company_domain(given: str | None, expected: str | None) -> None:
    assert company_domain(given) == expected


@pytest.mark.parametrize(
    ("domain", "matchable"),
    [("acme.io", True), ("gmail.com", False), ("yahoo.co.uk", False), (None, False), ("", False)],
    ids=["business", "free-mail", "free-mail-second-level", "none", "empty"],
)
def test_free_mail_domains_are_never_matchable(domain: str | None, matchable: bool) -> None:
    assert is_matchable_domain(domain) is matchable


@pytest.mark.parametrize(
    ("given", "country", "expected"),
    [
        pytest.param("(415) 555-0134", "United States", "+14155550134", id="us-national"),
        pytest.param("030 5550 1234", "Germany", "+493055501234", id="de-by-country-name"),
        pytest.param("030 5550 1234", "DE", "+493055501234", id="de-by-code"),
        pytest.param("+44 20 7946 0958", None, "+442079460958", id="international"),
        pytest.param("030 5550 1234", None, None, id="national-without-country"),
        pytest.param("ext. 12", "US", None, id="not-a-number"),
        pytest.param("", "US", None, id="empty"),
        pytest.param(None, "US", None, id="none"),
    ],
)
def test_phone_key(given: str | None, country: str | None, expected: str | None) -> None:
    assert phone_key(given, country) == expected


@pytest.mark.parametrize(
    "junk",
    [123, 4.5, ["acme"], {"name": "acme"}, b"acme.com"],
    ids=["int", "float", "list", "dict", "bytes"],
)
def test_no_normalizer_raises_on_a_wrong_type(junk: Any) -> None:
    assert normalize_company_name(junk) is None
    assert normalize_domain(junk) is None
    assert company_domain(junk) is None
    assert split_domains(junk) == []
    assert phone_key(junk, "US") is None
