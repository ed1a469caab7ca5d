"""The probabilistic stage: typo'd duplicates join their lead, look-alikes stay apart, new records are
matched incrementally, every link is explained, and the thresholds come from the config."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml

from dedupe.deterministic import resolve
from dedupe.generator import generate
from dedupe.probabilistic import (
    RECORD_COLUMNS,
    IdentityMemoryError,
    ModelFileError,
    Params,
    blocked_pairs_sql,
    blocking_rules,
    company_key,
    comparisons,
    connect,
    domain_company_key,
    email_local,
    emails_conflict,
    guard,
    load_features,
    typo_explained_by_names,
)
from leadflow.config import ConfigError, IdentityConfig, parse_settings
from leadflow.pipeline import dbt_vars

T0 = datetime(2026, 5, 1)
BACKGROUND = 300  # generated people around the ones a test is about, so frequencies are realistic


def store_labelled(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """2,000 labelled records of the hard generator (seed 5) stored as lead records, without the
    label (person_id) and the country; the frame keeps both."""
    frame = generate(2000, seed=5, difficulty="hard")
    con.register("g", frame.drop(columns=["person_id"]))
    columns = ", ".join(c for c in frame.columns if c not in ("person_id", "country_code"))
    con.execute(f"insert into ops.lead_records ({columns}) select {columns} from g")
    return frame


def add(con: duckdb.DuckDBPyConnection, key: str, seen: int, **fields: Any) -> None:
    source, stream, record_id = key.split(":")
    email = fields.get("email")
    domain = email.rpartition("@")[2] if email else None
    con.execute(
        """insert into ops.lead_records (record_key, source, stream, record_id, _raw_id, email,
               email_domain, is_free_email, phone_e164, first_name, last_name, company,
               seniority, first_seen_at, run_id)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'r')""",
        [
            key,
            source,
            stream,
            record_id,
            f"raw-{key}",
            email,
            domain,
            (domain in {"gmail.com", "outlook.com"}) if domain else None,
            fields.get("phone"),
            fields.get("first"),
            fields.get("last"),
            fields.get("company"),
            fields.get("seniority"),
            T0 + timedelta(hours=seen),
        ],
    )


def background(con: duckdb.DuckDBPyConnection) -> None:
    frame = generate(BACKGROUND, seed=11, difficulty="hard").drop(columns=["person_id"])
    frame["first_seen_at"] = T0 - timedelta(days=1)
    con.register("bg", frame)
    columns = ", ".join(c for c in frame.columns if c != "country_code")
    con.execute(f"insert into ops.lead_records ({columns}) select {columns} from bg")
    con.unregister("bg")


def identity(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    rows = con.execute(
        "select record_key, lead_id, rule, matched_record_key, match_probability, run_id "
        "from ops.lead_identity"
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


MARGARETHE = {
    "first": "Margarethe",
    "last": "Kowalczyk",
    "email": "m.kowalczyk@quartzline.example",
    "phone": "+493012345678",
    "company": "Quartzline GmbH",
    "seniority": "vp",
}


@pytest.fixture
def base(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A resolved warehouse: the background people and Margarethe, resolved by run r1."""
    background(con)
    add(con, "hubspot:contacts:1", 0, **MARGARETHE)
    resolve(con, run_id="r1", as_of=T0)
    return con


def test_a_typod_duplicate_joins_the_existing_lead_and_nothing_else_changes(
    base: duckdb.DuckDBPyConnection,
) -> None:
    before = identity(base)
    lead = before["hubspot:contacts:1"][0]
    # WHEN a form record arrives with typos in both names, a personal address and no phone
    add(
        base,
        "meta:leads:2",
        1,
        first="Margarete",
        last="Kowalczik",
        email="margarete.k@gmail.com",
        company="Quartzline",
    )
    result = resolve(base, run_id="r2", as_of=T0)
    after = identity(base)
    # THEN it joins Margarethe's lead, probabilistically, naming her record and the probability
    new_lead, rule, matched, probability, run = after["meta:leads:2"]
    assert (new_lead, rule, matched, run) == (lead, "probabilistic", "hubspot:contacts:1", "r2")
    assert probability >= IdentityConfig().threshold
    assert (result.newly_linked, result.probabilistic, result.merges) == (1, 1, 0)
    # AND every record resolved before keeps its row untouched (no re-clustering)
    assert {k: v for k, v in after.items() if k != "meta:leads:2"} == before
    # AND a re-run with nothing new changes nothing
    again = resolve(base, run_id="r3", as_of=T0)
    assert identity(base) == after and again.newly_linked == 0


def test_one_person_in_hubspot_a_meta_form_and_a_typeform_is_one_lead_explained_by_its_lineage(
    base: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN Margarethe's HubSpot contact; WHEN she fills a Meta form (typos in both names, a
    # personal address, no phone) and a Typeform (another address at her company, her phone)
    add(
        base,
        "meta:leads:m1",
        1,
        first="Margarete",
        last="Kowalczik",
        email="margarete.k@gmail.com",
        company="Quartzline",
    )
    add(
        base,
        "typeform:responses:t1",
        2,
        first="Margarethe",
        last="Kowalczyk",
        email="margarethe.kowalczyk@quartzline.example",
        phone="+493012345678",
        company="QUARTZLINE GMBH",
    )
    resolve(base, run_id="r2", as_of=T0)
    rows = identity(base)
    keys = ("hubspot:contacts:1", "meta:leads:m1", "typeform:responses:t1")
    # THEN the three records are one lead (so one score, one route, one owner) and no one else's
    lead = rows[keys[0]][0]
    assert {rows[k][0] for k in keys} == {lead}
    assert sorted(k for k, row in rows.items() if row[0] == lead) == sorted(keys)
    # AND the lineage explains each link: following matched_record_key reaches the anchor
    assert rows[keys[0]][1] == "new_lead"
    for key in keys[1:]:
        rule, matched, probability = rows[key][1:4]
        assert rule in {"email", "phone", "probabilistic"}
        assert (probability is not None) == (rule == "probabilistic")
        seen = {key}
        while matched != keys[0]:
            assert matched in keys and matched not in seen
            seen.add(matched)
            matched = rows[matched][2]


def test_a_probabilistic_link_stands_on_later_runs_even_with_the_stage_off(
    base: duckdb.DuckDBPyConnection,
) -> None:
    add(
        base,
        "meta:leads:2",
        1,
        first="Margarete",
        last="Kowalczik",
        company="Quartzline",
        email="margarete.k@gmail.com",
    )
    resolve(base, run_id="r2", as_of=T0)
    linked = identity(base)
    assert linked["meta:leads:2"][1] == "probabilistic"
    # WHEN a later run has the probabilistic stage switched off
    resolve(base, run_id="r3", as_of=T0, identity=IdentityConfig(probabilistic=False))
    # THEN the link, its rule and its probability stay as recorded
    assert identity(base) == linked


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(
            {
                "first": "Tomasz",
                "last": "Kowalczyk",
                "email": "tomasz.k@gmail.com",
                "phone": "+493012345678",
            },
            id="family-member-on-the-home-phone",
        ),
        pytest.param(
            {
                "first": "Anna",
                "last": "Nowak",
                "email": "a.nowak@quartzline.example",
                "phone": "+493012345678",
                "company": "Quartzline GmbH",
            },
            id="colleague-on-the-switchboard",
        ),
        pytest.param(
            {
                "first": "Margarethe",
                "last": "Kowalczyk",
                "email": "m.kowalczyk2@quartzline.example",
                "company": "Quartzline",
            },
            id="namesake-colleague-with-her-own-mailbox",
        ),
        pytest.param(
            {
                "first": "Margarethe",
                "last": "Kowalczyk",
                "email": "margarethe.kowalczyk@gmail.com",
                "company": "Quartzline GmbH",
                "seniority": "intern",
            },
            id="namesake-intern-at-one-employer-with-a-personal-address",
        ),
    ],
)
def test_look_alikes_stay_apart(base: duckdb.DuckDBPyConnection, other: dict[str, str]) -> None:
    add(base, "typeform:responses:3", 1, **other)
    resolve(base, run_id="r2", as_of=T0)
    ids = identity(base)
    assert ids["typeform:responses:3"][1] == "new_lead"
    assert ids["typeform:responses:3"][0] != ids["hubspot:contacts:1"][0]


def test_the_threshold_and_the_switch_come_from_the_config(con: duckdb.DuckDBPyConnection) -> None:
    background(con)
    add(con, "hubspot:contacts:1", 0, **MARGARETHE)
    add(con, "meta:leads:2", 1, first="Margaret", last="Kowalczyk", company="Quartzline")
    path = Path(
        str(
            con.execute(
                "select path from duckdb_databases() where database_name = current_database()"
            ).fetchone()[0]
        )
    )
    con.execute("checkpoint")
    copies = {}
    for name in ("loose", "strict", "off"):
        copies[name] = path.with_name(f"{name}.duckdb")
        copies[name].write_bytes(path.read_bytes())

    def linked(name: str, config: IdentityConfig) -> tuple[str, float | None]:
        with duckdb.connect(str(copies[name])) as other:
            resolve(other, run_id="r1", as_of=T0, identity=config)
            rule, probability = other.execute(
                "select rule, match_probability from ops.lead_identity where record_key = 'meta:leads:2'"
            ).fetchone()
        return rule, probability

    rule, probability = linked("loose", IdentityConfig(threshold=0.5))
    assert rule == "probabilistic" and probability is not None and probability < 1
    stricter = probability + (1 - probability) / 2
    assert linked("strict", IdentityConfig(threshold=stricter))[0] == "new_lead"
    assert linked("off", IdentityConfig(probabilistic=False))[0] == "new_lead"


def test_on_generated_duplicates_precision_and_recall_beat_exact_email(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN 2,000 labelled records of the hard setting
    frame = store_labelled(con)
    # WHEN they are resolved
    resolve(con, run_id="r1", as_of=T0)
    rows = con.execute(
        "select record_key, lead_id, rule, matched_record_key, match_probability from ops.lead_identity"
    ).df()
    merged = frame.merge(rows, on="record_key")

    def pairs(sizes: pd.Series) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    def scores(cluster: str) -> tuple[float, float, float]:
        hits = pairs(merged.groupby([cluster, "person_id"]).size())
        precision = hits / pairs(merged.groupby(cluster).size())
        recall = hits / pairs(merged.groupby("person_id").size())
        return precision, recall, 2 * precision * recall / (precision + recall)

    merged["by_email"] = merged["email"].fillna(merged["record_key"])
    precision, recall, f1 = scores("lead_id")
    # THEN few merges are wrong, most duplicates are found, and far more than exact email finds
    assert precision >= 0.95 and recall >= 0.7
    assert f1 > scores("by_email")[2] + 0.15
    # AND the lineage explains every link: the matched record is in the same lead, and every
    # probabilistic link carries its probability
    lead_of = dict(zip(merged["record_key"], merged["lead_id"], strict=True))
    linked = merged[merged["rule"] != "new_lead"]
    assert (linked["matched_record_key"].map(lead_of) == linked["lead_id"]).all()
    probabilistic = merged[merged["rule"] == "probabilistic"]
    assert len(probabilistic) > 50
    assert probabilistic["match_probability"].between(IdentityConfig().threshold, 1).all()
    assert merged.loc[merged["rule"] != "probabilistic", "match_probability"].isna().all()


@pytest.mark.parametrize(
    ("a", "b", "free", "conflict"),
    [
        pytest.param("ana.silva@acme.io", "ana.silva@acme.io", (False, False), False, id="same"),
        pytest.param("ana.silva@acme.io", "ana.slva@acme.io", (False, False), False, id="typo"),
        pytest.param("ana+news@acme.io", "ana@acme.io", (False, False), False, id="plus-tag"),
        pytest.param(
            "asilva@acme.io", "rsilva@acme.io", (False, False), True, id="colleague-initial"
        ),
        pytest.param(
            "jo.lee@acme.io", "jo.lee2@acme.io", (False, False), True, id="numbered-mailbox"
        ),
        pytest.param(
            "ana@gmail.com", "ana.s@acme.io", (True, False), False, id="work-and-personal"
        ),
        pytest.param("ana@gmail.com", "tom@gmail.com", (True, True), True, id="two-personal"),
        pytest.param("ana@acme.io", "ana@other.io", (False, False), True, id="two-employers"),
        pytest.param(None, "ana@acme.io", (None, False), False, id="one-missing"),
        pytest.param("jos@kite.io", "jose@kite.io", (False, False), False, id="short-letter-lost"),
        pytest.param(
            "tom@kite.io", "tim@kite.io", (False, False), True, id="short-letter-replaced"
        ),
    ],
)
def test_emails_conflict(
    a: str | None, b: str | None, free: tuple[bool | None, bool | None], conflict: bool
) -> None:
    assert emails_conflict(a, b, *free) is conflict


@pytest.mark.parametrize(
    ("a", "b", "explained"),
    [
        pytest.param(
            ("Emma", "Hill", "emma_hill@acme.io"),
            ("Emma", "Hall", "emma_hall@acme.io"),
            True,
            id="colleagues-each-address-holds-its-own-name",
        ),
        pytest.param(
            ("Ana", "Kowalczyk", "a.kowalcyk@acme.io"),
            ("Ana", "Kowalczk", "a.kowalczyk@acme.io"),
            False,
            id="a-typo-in-the-name-and-another-in-the-address",
        ),
        pytest.param(
            ("Ana", None, "ana.silva@acme.io"),
            ("Ana", "Silva", "ana.slva@acme.io"),
            False,
            id="a-name-missing",
        ),
        pytest.param(
            ("Margaret", "Smith", "margaret_smith@acme.io"),
            ("Smith", "Margaret", "margaret_smithh@acme.io"),
            False,
            id="the-same-names-swapped",
        ),
    ],
)
def test_an_address_typo_is_told_from_two_colleagues_by_the_names(
    a: tuple[str | None, ...], b: tuple[str | None, ...], explained: bool
) -> None:
    assert typo_explained_by_names(a, b) is explained
    # THEN the pair guard refuses exactly the colleagues
    assert guard((*a, False), (*b, False)) is (not explained)


def test_a_record_without_names_does_not_join_a_named_one_on_a_shared_phone(
    base: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN Margarethe's lead; WHEN a record with only her number arrives (a switchboard, a home)
    add(base, "typeform:responses:3", 1, phone=MARGARETHE["phone"], company="Quartzline")
    resolve(base, run_id="r2", as_of=T0, identity=IdentityConfig(probabilistic=False))
    # THEN the phone rule does not link it: it could be anyone who answers that phone
    assert identity(base)["typeform:responses:3"][1] == "new_lead"


def test_keys_for_company_and_address() -> None:
    assert company_key("Acme, Inc.") == company_key("ACME") == "acme"
    assert company_key("Société Générale SA") == "societegenerale"
    assert company_key("  ") is None
    assert email_local("ana+news@acme.io") == "ana" and email_local("not-an-address") is None


def test_a_missing_model_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"dedupe\.train") as err:
        Params.load(tmp_path / "nope.json")
    assert "\n" not in str(err.value) and isinstance(err.value, ConfigError)


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ({"blocking_rules": ["l.surname = r.surname"]}, "uses surname"),
        ({"blocking_rules": []}, "at least one blocking rule"),
        ({"threshold": 1.0}, "threshold"),
        ({"comparisons": {"last_name": {"similarity": [0.8, 0.9]}}}, "higher first"),
        ({"survivorship": {"fields": {"phone": "most_recent"}}}, "phone: the fields are email"),
        ({"survivorship": {"fields": {"email": "newest"}}}, "most_recent"),
        ({"survivorship": {"source_priority": ["meta", "meta"]}}, "each once"),
    ],
)
def test_identity_config_mistakes_are_named(identity: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings({"identity": identity})


def test_survivorship_reaches_dbt_as_its_vars() -> None:
    settings = parse_settings(
        {"identity": {"survivorship": {"source_priority": ["typeform", "hubspot"],
                                       "fields": {"phone_e164": "most_recent"}}}}
    )  # fmt: skip
    assert dbt_vars(settings)["source_priority"] == {"typeform": 1, "hubspot": 2}
    assert dbt_vars(settings)["survivorship"] == {
        "default": "source_priority",
        "fields": {"phone_e164": "most_recent"},
    }
    # AND the defaults are dbt_project.yml's own, so a dbt run without leadflow.yml agrees
    project = yaml.safe_load(
        (Path(__file__).parents[2] / "dbt_project/dbt_project.yml").read_text()
    )
    defaults = dbt_vars(parse_settings({}))
    assert {k: project["vars"][k] for k in ("source_priority", "survivorship")} == {
        k: defaults[k] for k in ("source_priority", "survivorship")
    }


@pytest.mark.parametrize(
    ("addresses", "last_name", "conflict"),
    [
        pytest.param(
            ("m.kowalczyk@quartzline.example", "margarethe.kowalczyk@quartzline.example"),
            "kowalczyk",
            False,
            id="initial-and-full-first-name-one-mailbox",
        ),
        pytest.param(
            ("robert.murphy@acme.io", "albert.murphy@acme.io"),
            "murphy",
            True,
            id="two-colleagues-bert-could-be-either",
        ),
    ],
)
def test_two_addresses_spelling_one_last_name_are_aliases_only_with_one_first_name(
    addresses: tuple[str, str], last_name: str, conflict: bool
) -> None:
    assert emails_conflict(*addresses, False, False, alias_of=last_name) is conflict


def test_the_prior_is_the_duplicate_pairs_over_all_pairs() -> None:
    # GIVEN a model of one duplicate pair per four records (0.25 a record)
    params = Params(0.25, {}, {})
    # THEN two random records of four are one person with probability 1 pair of 6
    assert params.prior(4) == pytest.approx(1 / 6)
    assert params.prior(1_000_001) == pytest.approx(0.5 / 1_000_000)


@pytest.mark.parametrize(
    ("domain", "key"),
    [
        pytest.param("acmelabs17.example", "acmelabs", id="a-number-is-no-name"),
        pytest.param("mail.acme-labs.co.uk", "acmelabs", id="subdomain-and-second-level"),
        pytest.param("quartzline.example", "quartzline", id="plain"),
        pytest.param(None, None, id="none"),
        pytest.param("not a domain", None, id="junk"),
    ],
)
def test_a_business_domain_spells_its_company(domain: str | None, key: str | None) -> None:
    assert domain_company_key(domain) == key
    if key:
        assert company_key("Acme Labs Inc.") == "acmelabs"  # what it is compared with


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Normalized records (the columns the model reads), keys k0, k1, ... in order."""
    out = pd.DataFrame(
        [
            {
                "record_key": f"k{n}",
                "email": row.get("email"),
                "email_domain": row["email"].rpartition("@")[2] if row.get("email") else None,
                "is_free_email": (
                    row["email"].endswith("@gmail.com") if row.get("email") else None
                ),
                "phone_e164": row.get("phone"),
                "first_name": row.get("first"),
                "last_name": row.get("last"),
                "company": row.get("company"),
                "country_code": row.get("country"),
            }
            for n, row in enumerate(rows)
        ]
    )
    return out[list(RECORD_COLUMNS)]


def test_a_misspelt_name_takes_its_common_spelling_and_two_common_names_stay_apart() -> None:
    rows = [{"first": "Ana", "last": "Smith"}] * 3 + [{"first": "Anaa", "last": "Smtih"}]
    rows += [{"first": "Marta", "last": "Amara"}] * 2 + [{"first": "Amara", "last": "Marta"}] * 2
    mem = duckdb.connect()
    load_features(mem, frame(rows))
    keys = dict(
        mem.execute(
            "select unique_id, first_key || ' ' || last_key from identity_records"
        ).fetchall()
    )
    assert keys["k3"] == keys["k0"] == "ana smith"
    assert (keys["k4"], keys["k6"]) == ("marta amara", "amara marta")


P = "+4930555010"


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(
            [{"first": "Ana", "last": "Silva"}] * 2 + [{"first": "Ana", "last": "Sliva"}],
            id="a-misspelt-last-name-and-nothing-else",
        ),
        pytest.param(
            [
                {"first": "Ana", "last": "Silva", "phone": P},
                {"first": "Rui", "last": "Costa"},
                {"first": "Silva", "last": "Anna", "phone": P},
            ],
            id="swapped-with-a-typo-on-one-phone",
        ),
        pytest.param(
            [{"email": "ana.silva84@gmail.com"}, {}, {"first": "Ana", "last": "Silva"}],
            id="an-address-spelling-the-name-of-a-record-without-one",
        ),
        pytest.param(
            [
                {"first": "Ana", "last": "Silva", "company": "Acme Labs"},
                {},
                {"first": "Anna", "last": "Silva", "email": "asilva@acmelabsnorth.example"},
            ],
            id="one-company-written-two-ways-no-company-field",
        ),
    ],
)
def test_the_stages_own_blocking_finds_what_the_configured_rules_miss(
    rows: list[dict[str, Any]],
) -> None:
    # GIVEN records, the last one new; WHEN candidate pairs are drawn
    mem = duckdb.connect()
    load_features(mem, frame(rows), is_new=[n == len(rows) - 1 for n in range(len(rows))])
    mem.execute("create table identity_new as select * from identity_records where is_new")

    def candidates(rules: list[str]) -> set[tuple[str, str]]:
        mem.execute(blocked_pairs_sql(rules))
        return set(
            mem.execute("select join_key_l, join_key_r from identity_blocked_pairs").fetchall()
        )

    pair = ("k0", f"k{len(rows) - 1}")
    # THEN the first and the new record are compared, which the configured rules alone do not do
    assert pair in candidates(blocking_rules(IdentityConfig()))
    assert pair not in candidates(list(IdentityConfig().blocking_rules))
    # AND no pair of two existing records is ever drawn
    assert all(f"k{len(rows) - 1}" in p for p in candidates(blocking_rules(IdentityConfig())))


@pytest.mark.parametrize(
    ("comparison", "a", "b", "others", "level"),
    [
        pytest.param(
            "first_name",
            {"first": "Ana", "last": "Silva"},
            {"first": "Silva", "last": "Anna"},
            [],
            "swapped",
            id="swapped-with-a-typo",
        ),
        pytest.param(
            "last_name",
            {"first": "Frederick", "email": "frederickwilliams@acme.io"},
            {"first": "Frederick", "last": "Williams"},
            [],
            "in_address",
            id="a-missing-last-name-the-address-spells",
        ),
        pytest.param(
            "last_name",
            {"first": "Frederick", "email": "frederickwilliams@acme.io"},
            {"first": "Frederick", "last": "Williams", "email": "fw@gmail.com"},
            [],
            "null",
            id="both-addressed-the-address-comparison-weighs-it",
        ),
        pytest.param(
            "phone",
            {"first": "Ana", "last": "Silva", "phone": P},
            {"first": "Ana", "last": "Silva", "phone": P},
            [{"first": "Rui", "last": "Costa", "phone": P}],
            "shared",
            id="a-switchboard-says-nothing",
        ),
        pytest.param(
            "phone",
            {"first": "Ana", "last": "Silva", "phone": P},
            {"first": "Anna", "last": "Silva", "phone": P},
            [],
            "exact",
            id="her-own-number",
        ),
        pytest.param(
            "email_domain",
            {"email": "ana@acme.io"},
            {"email": "ana.silva@gmail.com"},
            [],
            "work_and_personal",
            id="work-and-personal-address",
        ),
        pytest.param(
            "company",
            {"email": "ana@acmelabs2.example"},
            {"company": "Acme Labs Inc."},
            [],
            "exact",
            id="the-company-a-work-address-spells",
        ),
        pytest.param(
            "country", {"country": "DE"}, {"country": "fr"}, [], "else", id="another-country"
        ),
    ],
)
def test_comparison_levels(
    comparison: str,
    a: dict[str, Any],
    b: dict[str, Any],
    others: list[dict[str, Any]],
    level: str,
) -> None:
    # GIVEN two records (and others that share their values) WHEN the model compares them
    mem = duckdb.connect()
    load_features(mem, frame([a, b, *others]))
    columns = [row[0] for row in mem.execute("describe identity_records").fetchall()]
    pairs = ", ".join(f"l.{c} as {c}_l, r.{c} as {c}_r" for c in columns)
    mem.execute(
        f"create table p as select {pairs} from identity_records l, identity_records r"
        " where l.unique_id = 'k0' and r.unique_id = 'k1'"
    )
    (levels,) = [
        c["comparison_levels"]
        for c in comparisons(IdentityConfig().comparisons, None)
        if c["output_column_name"] == comparison
    ]

    def holds(condition: str) -> bool:
        return condition == "ELSE" or mem.execute(
            f"select coalesce(({condition}), false) from p"
        ).fetchall() == [(True,)]

    # THEN the pair lands on the expected level (the first whose condition holds)
    assert next(lv["label_for_charts"] for lv in levels if holds(lv["sql_condition"])) == level


def test_on_generated_records_family_members_and_colleagues_on_one_phone_stay_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN 3,000 labelled records of the hard setting: households on one home phone, colleagues
    # on one switchboard
    generated = generate(3000, seed=5, difficulty="hard")
    con.register("g", generated.drop(columns=["person_id"]))
    columns = ", ".join(c for c in generated.columns if c != "person_id")
    con.execute(f"insert into ops.lead_records ({columns}) select {columns} from g")
    # WHEN they are resolved
    resolve(con, run_id="r1", as_of=T0)
    leads = dict(con.execute("select record_key, lead_id from ops.lead_identity").fetchall())
    generated["lead_id"] = generated["record_key"].map(leads)
    # THEN of the pairs of people who share a number, next to none end in one lead: not one in
    # fifty of those who also share a last name (a family, or namesake colleagues), not one in a
    # thousand of the others (colleagues on a switchboard)
    people = generated.groupby("person_id").agg(
        leads=("lead_id", set), phones=("phone_e164", lambda s: set(s.dropna())),
        lasts=("last_name", lambda s: {x.lower() for x in s.dropna()}),
    )  # fmt: skip
    on_phone: dict[str, list[str]] = {}
    for person, phones in people["phones"].items():
        for phone in phones:
            on_phone.setdefault(phone, []).append(person)
    counts = {"family": [0, 0], "colleagues": [0, 0]}
    for sharing in on_phone.values():
        for k, x in enumerate(sharing):
            for y in sharing[k + 1 :]:
                kind = "family" if people.at[x, "lasts"] & people.at[y, "lasts"] else "colleagues"
                counts[kind][0] += 1
                counts[kind][1] += bool(people.at[x, "leads"] & people.at[y, "leads"])
    assert counts["family"][0] > 50 and counts["colleagues"][0] > 1000
    assert counts["family"][1] <= 0.02 * counts["family"][0]
    assert counts["colleagues"][1] <= 0.001 * counts["colleagues"][0]


def test_a_memory_cap_reaches_the_stages_duckdb_and_changes_no_link(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # GIVEN the stage capped at 256 MB (DuckDB spills past it)
    capped = IdentityConfig(memory_limit_mb=256)
    mem = connect(capped, str(tmp_path))
    try:
        assert mem.execute("select current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"
    finally:
        mem.close()
    # WHEN 2,000 generated records are resolved with and without the cap
    frame = store_labelled(con)
    resolve(con, run_id="r1", as_of=T0, identity=capped)
    with_cap = con.execute(
        "select record_key, lead_id, rule from ops.lead_identity order by record_key"
    ).fetchall()
    con.execute("delete from ops.lead_identity")
    resolve(con, run_id="r2", as_of=T0)
    without = con.execute(
        "select record_key, lead_id, rule from ops.lead_identity order by record_key"
    ).fetchall()
    # THEN the same records are linked the same way
    assert with_cap == without and len(with_cap) == len(frame)
    # AND a cap too small to work with is a named config mistake
    with pytest.raises(ConfigError, match="memory_limit_mb"):
        parse_settings({"identity": {"memory_limit_mb": 100}})


def test_a_cap_the_batch_cannot_fit_in_is_one_clear_error(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a cap far below what 2,000 records need (past the config's floor, as an old file or a
    # bigger batch would make it)
    tiny = IdentityConfig.model_construct(**{**IdentityConfig().__dict__, "memory_limit_mb": 8})
    store_labelled(con)
    # WHEN they are resolved THEN the error names the setting and what to do, in one line
    with pytest.raises(IdentityMemoryError, match=r"identity\.memory_limit_mb \(8\) is too small"):
        resolve(con, run_id="r1", as_of=T0, identity=tiny)
