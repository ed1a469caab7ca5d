"""The probabilistic stage of identity resolution: Splink (Fellegi-Sunter) on DuckDB.

It runs after the deterministic rules (dedupe/deterministic.py) and only for records that those
rules left without a lead: each is scored against every existing record it shares a blocking key
with, and against the other new records, never existing against existing. So a run costs what
arrived, and no existing lead is re-clustered.

Candidate pairs (`blocking_rules`): the configured rules (`identity.blocking_rules`), then the
stage's own (`SPELLING_BLOCKING_RULES`) on keys that survive what the configured ones miss: a
misspelt name (`first_key`, `last_key`: a name's common spelling), first and last name swapped, a
company written two ways, an address that spells the other record's name. They are joined here
(`blocked_pairs_sql`) and handed to Splink to score.

What it compares (`comparisons`): first and last name (exact with term-frequency adjustment, swapped
even with a typo, nickname, two Jaro-Winkler levels, and a name missing on one record that the
other's address spells), the address as one comparison over local part and domain (the same
address, one typo apart, neutral when the names are alike, the same local part at another domain,
an address that spells the other record's name or last name, similar, one work and one personal
address), the phone (neutral on a line several people share: a switchboard, a family's phone), the
company (folded, legal suffix removed; for a record without one, the name its business domain
spells), the country, and the email domain (one business domain, the same free-mail provider, or
one work and one personal address, which says nothing either way). Thresholds, which comparisons
run (but the country) and the blocking rules come from `identity:` in leadflow.yml.

Model parameters are not estimated on each run (that would make every run slower and its result
depend on the batch): the m and u probabilities and the prior are read from a JSON file, by default
dedupe/identity_params.json, which `python -m dedupe.train` writes (m from the labelled generator,
u by seeded random sampling). Term frequencies of names come from the warehouse itself on each
run, so a common name counts for less than a rare one.

A score alone never links two records. `guard` refuses a pair whose first names cannot be one
person's (a family at one address, colleagues on one switchboard), and `emails_conflict` refuses a
pair (or a join of two groups) holding two different addresses of the same kind: two business
addresses, or two personal ones. Work and personal addresses of one person may meet; a one-letter
typo in an address is forgiven, a numbered twin (jo.lee2@) is not.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dedupe.names import (
    SHARED_LINE_NAMES,
    canonical_first,
    canonicals,
    edit_distance,
    first_names_compatible,
    fold,
    names_compatible,
    shared_lines,
)
from enrichment.accounts import normalize_domain
from leadflow.config import ConfigError, IdentityComparisons, IdentityConfig

PARAMS_PATH = Path(__file__).with_name("identity_params.json")

# Every comparison's levels, strongest first (the null level is implied and carries no weight).
LEVELS: dict[str, tuple[str, ...]] = {
    "first_name": (
        "in_address",
        "exact",
        "swapped",
        "nickname",
        "similar_high",
        "similar_low",
        "else",
    ),
    "last_name": ("in_address", "exact", "similar_high", "similar_low", "else"),
    "email_local": (
        "same_address",
        "exact",
        "typo",
        "spells_name",
        "spells_last_name",
        "similar",
        "work_and_personal",
        "else",
    ),
    "phone": ("exact", "else"),
    "company": ("exact", "similar", "else"),
    "email_domain": ("same_business", "same_free", "work_and_personal", "else"),
    "country": ("exact", "else"),
}
SWAPPED_SIMILARITY = 0.9  # Jaro-Winkler, each crossed pair of a swap with a typo
# Levels that carry no evidence of their own (m = u), fixed rather than trained: a swap is weighed
# once, by the first-name comparison; an address made of the person's name says nothing more when
# the names are already alike (namesakes have look-alike addresses too); a shared line says what
# the company or the last name already says (colleagues share the switchboard, a family the home
# phone), however rarely the number occurs.
_NEUTRAL = {
    "m_probability": 1.0,
    "u_probability": 1.0,
    "fix_m_probability": True,
    "fix_u_probability": True,
}

_LEGAL_SUFFIX = re.compile(
    r"\b(inc|incorporated|llc|ltd|limited|gmbh|ag|sa|sas|sarl|bv|nv|plc|corp|corporation|co|company|oy|ab|as|spa|srl|pty)\b\.?"
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"\d+")
_TRAILING_DIGITS = re.compile(r"\d+$")


class IdentityMemoryError(ConfigError):
    """The probabilistic stage ran out of the memory `identity.memory_limit_mb` allows it."""


class ModelFileError(ConfigError):
    """The parameters file is missing or does not fit the configured comparisons (one line)."""


@dataclass(frozen=True)
class Params:
    """The trained model: per comparison and level (m, u), and the prior per record."""

    duplicate_pairs_per_record: float
    levels: dict[str, dict[str, tuple[float, float]]]
    trained_on: dict[str, Any]

    @classmethod
    def load(cls, path: Path | None = None) -> Params:
        path = path or PARAMS_PATH
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelFileError(
                f"{path}: no identity model file (run `python -m dedupe.train`)"
            ) from None
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{path}: not valid JSON ({exc.msg})") from None
        levels = {
            comparison: {level: (float(mu[0]), float(mu[1])) for level, mu in by_level.items()}
            for comparison, by_level in data["levels"].items()
        }
        for comparison, names in LEVELS.items():
            missing = [n for n in names if n not in levels.get(comparison, {})]
            if missing:
                raise ModelFileError(
                    f"{path}: {comparison} has no parameters for {', '.join(missing)} (retrain it)"
                )
        return cls(
            float(data["duplicate_pairs_per_record"]), levels, dict(data.get("trained_on", {}))
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "duplicate_pairs_per_record": self.duplicate_pairs_per_record,
                "levels": {
                    c: {lv: list(mu) for lv, mu in by.items()} for c, by in self.levels.items()
                },
                "trained_on": self.trained_on,
            },
            indent=2,
            sort_keys=True,
        )

    def prior(self, records: int) -> float:
        """The probability that two random records of a base of `records` are one person: the
        duplicate pairs (duplicate_pairs_per_record x records) over all pairs (records x
        (records - 1) / 2)."""
        return min(0.5, 2 * self.duplicate_pairs_per_record / max(records - 1, 1))


# --------------------------------------------------------------------------- features


def company_key(name: str | None) -> str | None:
    """The company name folded, legal suffixes and punctuation dropped ('Acme, Inc.' -> 'acme')."""
    if not name:
        return None
    folded = fold_text(name)
    stripped = _NOT_ALNUM.sub("", _LEGAL_SUFFIX.sub(" ", folded))
    return stripped or None


def domain_company_key(domain: str | None) -> str | None:
    """The company name a business domain spells, as `company_key` writes names: the registrable
    domain's first label without punctuation or a trailing number ('mail.acme-labs2.co.uk' ->
    'acmelabs'), so a record with a work address and no company compares with one that names it."""
    registrable = normalize_domain(domain)
    if not registrable:
        return None
    label = _NOT_ALNUM.sub("", registrable.split(".", 1)[0])
    return _TRAILING_DIGITS.sub("", label) or None


def fold_text(value: str) -> str:
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()


def email_local(email: str | None) -> str | None:
    """The part of an address before the @, without a +tag ('ana+news@x.io' -> 'ana')."""
    if not email or "@" not in email:
        return None
    local = email.rpartition("@")[0].split("+", 1)[0]
    return local or None


RECORD_COLUMNS = (
    "record_key",
    "email",
    "email_domain",
    "is_free_email",
    "phone_e164",
    "first_name",
    "last_name",
    "company",
    "country_code",
)

FEATURES_SQL = """
create or replace temp table identity_base as
with r as (
    select
        cast(record_key as varchar) as record_key,
        cast(email as varchar) as email,
        cast(email_domain as varchar) as email_domain,
        cast(is_free_email as boolean) as is_free_email,
        cast(phone_e164 as varchar) as phone_e164,
        cast(first_name as varchar) as first_name,
        cast(last_name as varchar) as last_name,
        cast(company as varchar) as company,
        cast(country_code as varchar) as country_code,
        cast(is_new as boolean) as is_new,
        cast(person_id as varchar) as person_id,
        rid
    from identity_input
)
select
    r.record_key as unique_id,
    fn.folded as first_name,
    ln.folded as last_name,
    fn.canon as first_canon,
    fn.canons as first_canons,
    r.email,
    nullif(regexp_extract(r.email, '^([^+@]*)@', 1), '') as email_local,
    -- the local part without its digits: a typo is never a number ('jo.lee2@' is another mailbox)
    regexp_replace(regexp_extract(r.email, '^([^+@]*)@', 1), '[0-9]', '', 'g') as email_digitless,
    -- the address's letters ('ana.silva84@' -> 'anasilva'), for blocking against the names
    nullif(regexp_replace(lower(regexp_extract(r.email, '^([^+@]*)@', 1)), '[^a-z]', '', 'g'), '')
        as email_name,
    fn.folded || ln.folded as full_name,
    r.email_domain,
    r.is_free_email,
    r.phone_e164 as phone,
    -- the company; for a record without one, the name its business address's domain spells
    coalesce(c.key, case when not coalesce(r.is_free_email, false) then d.key end) as company,
    upper(r.country_code) as country,
    r.is_new,       -- score(): the records the rules left without a lead
    r.person_id,    -- training only: the generator's label
    r.rid           -- the record's position: a small key for the candidate pairs
from r
left join identity_first_names as fn on fn.raw = r.first_name
left join identity_last_names as ln on ln.raw = r.last_name
left join identity_companies as c on c.raw = r.company
left join identity_domains as d on d.raw = r.email_domain
"""

# The last step: the common spellings, and whether the record's phone is a shared line (one that
# records of two or more people carry, see dedupe.names.shared_lines).
RECORDS_SQL = """
create or replace table identity_records as
select b.*, f.first_key, l.last_key, coalesce(s.shared, false) as phone_shared
from identity_base b
left join identity_first_key f on f.name = b.first_canon
left join identity_last_key l on l.name = b.last_name
left join identity_shared_lines s on s.phone = b.phone
"""

# A name's common spelling: of the names one deletion from it that are written far more often (and
# itself), the one written most often (ties: the first alphabetically). "Smtih" and "Smiht" both
# become "smith", so one blocking key holds a name and its misspellings, while two names that are
# both common stay apart ("marta" and "amara", "miller" and "muller"). Far more often: twice for a
# spelling written once or twice (a rare name's typo), ten times otherwise (a misspelling is much
# rarer than the name). Deletion neighbourhoods (each name of four letters or more and every form
# of it with one letter removed) find every pair one substitution, insertion, deletion or
# transposition apart with one equi-join, as SymSpell does; three-letter names are left as they
# are ("jia" and "mia" are one deletion from "ia").
SPELLING_SQL = """
create or replace temp table identity_{key} as
with written as (
    select {column} as name, count(*) as n from identity_base where {column} is not null group by 1
),
neighbourhood as (
    select name, n, name as form from written
    union all
    select name, n, substr(name, 1, i - 1) || substr(name, i + 1) as form
    from written, range(1, 64) as t(i)
    where length(name) >= 4 and i <= length(name)
)
select a.name, first(b.name order by b.n desc, b.name) as {key}
from neighbourhood a join neighbourhood b using (form)
where b.name = a.name or b.n >= (case when a.n <= 2 then 2 else 10 end) * a.n
group by a.name
"""


def load_features(
    mem: duckdb.DuckDBPyConnection,
    records: pd.DataFrame | pa.Table,
    *,
    is_new: Sequence[bool] | None = None,
    labelled: bool = False,
) -> None:
    """The table `identity_records` of the columns the model compares, from normalized records
    (ops.lead_records' columns), in the in-memory database `mem`; `is_new` marks the records to
    match, `labelled` carries the records' person_id (a pandas frame of the generator) for training.

    The work is SQL; only the distinct names and companies go through Python (folding, nicknames,
    legal suffixes), so a million records cost seconds, not minutes.
    """
    if isinstance(records, pd.DataFrame):
        frame = pa.Table.from_pandas(records[list(RECORD_COLUMNS)], preserve_index=False)
    else:
        frame = records.select(list(RECORD_COLUMNS))
    n = frame.num_rows
    new = pa.array(list(is_new), pa.bool_()) if is_new is not None else pa.nulls(n, pa.bool_())
    labels = (
        pa.array(records["person_id"].astype(str).tolist(), pa.string())
        if labelled
        else pa.nulls(n, pa.string())
    )
    frame = (
        frame.append_column("is_new", new)
        .append_column("person_id", labels)
        .append_column("rid", pa.array(range(n), pa.int32()))
    )
    mem.register("identity_input", frame)

    def distinct(column: str) -> list[Any]:
        return pc.unique(frame.column(column).drop_null()).to_pylist()

    def lookup(name: str, rows: list[tuple[Any, ...]], schema: pa.Schema) -> None:
        columns = [list(c) for c in zip(*rows, strict=True)] or [[] for _ in schema.names]
        mem.register(name, pa.table(dict(zip(schema.names, columns, strict=True)), schema=schema))

    firsts = distinct("first_name")
    lookup(
        "identity_first_names",
        [(v, fold(v), canonical_first(v), list(canonicals(v)) or None) for v in firsts],
        pa.schema(
            [
                ("raw", pa.string()),
                ("folded", pa.string()),
                ("canon", pa.string()),
                ("canons", pa.list_(pa.string())),
            ]
        ),
    )
    lasts = distinct("last_name")
    lookup(
        "identity_last_names",
        [(v, fold(v)) for v in lasts],
        pa.schema([("raw", pa.string()), ("folded", pa.string())]),
    )
    companies = distinct("company")
    lookup(
        "identity_companies",
        [(v, company_key(v)) for v in companies],
        pa.schema([("raw", pa.string()), ("key", pa.string())]),
    )
    domains = distinct("email_domain")
    lookup(
        "identity_domains",
        [(v, domain_company_key(v)) for v in domains],
        pa.schema([("raw", pa.string()), ("key", pa.string())]),
    )
    mem.execute(FEATURES_SQL)
    mem.execute(SPELLING_SQL.format(column="first_canon", key="first_key"))
    mem.execute(SPELLING_SQL.format(column="last_name", key="last_key"))
    # A number written with many names is shared as it stands; the others' names are checked.
    lines = mem.execute(
        f"""
        select phone, count(distinct [first_name, last_name]) >= {SHARED_LINE_NAMES} as many,
            case when not many then list(distinct [first_name, last_name]) end as names
        from identity_base
        where phone is not null and (first_name is not null or last_name is not null)
        group by phone having count(distinct [first_name, last_name]) > 1
        """
    ).fetchall()
    shared = [phone for phone, many, _ in lines if many]
    shared += shared_lines((phone, names) for phone, many, names in lines if not many)
    lookup(
        "identity_shared_lines",
        [(phone, True) for phone in shared],
        pa.schema([("phone", pa.string()), ("shared", pa.bool_())]),
    )
    mem.execute(RECORDS_SQL)
    for table in ("identity_base", "identity_first_key", "identity_last_key"):
        mem.execute(f"drop table {table}")
    for name in (
        "identity_input",
        "identity_first_names",
        "identity_last_names",
        "identity_companies",
        "identity_domains",
        "identity_shared_lines",
    ):
        mem.unregister(name)


# --------------------------------------------------------------------------- the model


def _null_level(column: str) -> dict[str, Any]:
    """A comparison's first level: either side without a value says nothing either way."""
    return {
        "sql_condition": f"{column}_l is null or {column}_r is null",
        "label_for_charts": "null",
        "is_null_level": True,
    }


def _level(sql: str, name: str, mu: tuple[float, float] | None, **extra: Any) -> dict[str, Any]:
    level = {"sql_condition": sql, "label_for_charts": name, **extra}
    if mu is not None:
        level["m_probability"], level["u_probability"] = mu
    return level


def comparisons(config: IdentityComparisons, params: Params | None) -> list[dict[str, Any]]:
    """Splink comparison dicts for the enabled comparisons, with the model's m/u (none: to train)."""

    def mu(comparison: str, level: str) -> tuple[float, float] | None:
        return params.levels[comparison][level] if params else None

    def jw(column: str, threshold: float) -> str:
        return f"jaro_winkler_similarity({column}_l, {column}_r) >= {threshold}"

    # First and last name swapped on one record, either name possibly misspelt as well.
    swapped = (
        "(first_name_l = last_name_r and last_name_l = first_name_r)"
        f" or (jaro_winkler_similarity(first_name_l, last_name_r) >= {SWAPPED_SIMILARITY}"
        f" and jaro_winkler_similarity(last_name_l, first_name_r) >= {SWAPPED_SIMILARITY})"
    )

    def in_address(column: str) -> str:
        """The name is missing on one record and the other's address spells it (three letters
        or more): 'Frederick ?' with frederickwilliams@ against Frederick Williams without an
        address (with one, the address comparison weighs those letters: spells_name)."""
        return " or ".join(
            f"({column}_{a} is null and email_name_{b} is null and length({column}_{b}) >= 3"
            f" and contains(email_name_{a}, {column}_{b}))"
            for a, b in (("l", "r"), ("r", "l"))
        )

    kinds_differ = "coalesce(is_free_email_l, false) <> coalesce(is_free_email_r, false)"

    def spells_last(a: str, b: str) -> str:
        """a's address holds b's last name (three letters or more)."""
        return f"length(last_name_{b}) >= 3 and contains(email_name_{a}, last_name_{b})"

    def spells(a: str, b: str) -> str:
        """a's address spells b's name: the last name and the first name (or its canonical form),
        or the first initial right before the last name (jsmith, j.smith)."""
        return (
            f"{spells_last(a, b)} and (contains(email_name_{a}, first_name_{b})"
            f" or contains(email_name_{a}, first_canon_{b})"
            f" or contains(email_name_{a}, left(first_name_{b}, 1) || last_name_{b}))"
        )

    out: list[dict[str, Any]] = []
    if config.first_name.enabled:
        high, low = config.first_name.similarity
        out.append(
            {
                "output_column_name": "first_name",
                "comparison_levels": [
                    _level(in_address("first_name"), "in_address", mu("first_name", "in_address")),
                    _null_level("first_name"),
                    _level(
                        "first_name_l = first_name_r",
                        "exact",
                        mu("first_name", "exact"),
                        tf_adjustment_column="first_name",
                        tf_adjustment_weight=1.0,
                    ),
                    _level(swapped, "swapped", mu("first_name", "swapped")),
                    _level(
                        "list_has_any(first_canons_l, first_canons_r)",
                        "nickname",
                        mu("first_name", "nickname"),
                    ),
                    _level(
                        jw("first_name", high), "similar_high", mu("first_name", "similar_high")
                    ),
                    _level(jw("first_name", low), "similar_low", mu("first_name", "similar_low")),
                    _level("ELSE", "else", mu("first_name", "else")),
                ],
            }
        )
    if config.last_name.enabled:
        high, low = config.last_name.similarity
        out.append(
            {
                "output_column_name": "last_name",
                "comparison_levels": [
                    _level(in_address("last_name"), "in_address", mu("last_name", "in_address")),
                    _null_level("last_name"),
                    _level(
                        "last_name_l = last_name_r",
                        "exact",
                        mu("last_name", "exact"),
                        tf_adjustment_column="last_name",
                        tf_adjustment_weight=1.0,
                    ),
                    {"sql_condition": swapped, "label_for_charts": "swapped", **_NEUTRAL},
                    _level(jw("last_name", high), "similar_high", mu("last_name", "similar_high")),
                    _level(jw("last_name", low), "similar_low", mu("last_name", "similar_low")),
                    _level("ELSE", "else", mu("last_name", "else")),
                ],
            }
        )
    if config.email_local.enabled:
        out.append(
            {
                "output_column_name": "email_local",
                "comparison_levels": [
                    _null_level("email_local"),
                    _level("email_l = email_r", "same_address", mu("email_local", "same_address")),
                    _level(
                        "email_domain_l = email_domain_r"
                        " and damerau_levenshtein(email_local_l, email_local_r) <= 1"
                        " and email_digitless_l <> email_digitless_r",
                        "typo",
                        mu("email_local", "typo"),
                    ),
                    {
                        "sql_condition": f"{jw('first_name', 0.85)} and {jw('last_name', 0.85)}",
                        "label_for_charts": "explained_by_names",
                        **_NEUTRAL,
                    },
                    _level("email_local_l = email_local_r", "exact", mu("email_local", "exact")),
                    _level(
                        f"({spells('l', 'r')}) or ({spells('r', 'l')})",
                        "spells_name",
                        mu("email_local", "spells_name"),
                    ),
                    _level(
                        f"({spells_last('l', 'r')}) or ({spells_last('r', 'l')})",
                        "spells_last_name",
                        mu("email_local", "spells_last_name"),
                    ),
                    _level(
                        jw("email_local", config.email_local.similarity),
                        "similar",
                        mu("email_local", "similar"),
                    ),
                    _level(
                        kinds_differ, "work_and_personal", mu("email_local", "work_and_personal")
                    ),
                    _level("ELSE", "else", mu("email_local", "else")),
                ],
            }
        )
    if config.phone.enabled:
        out.append(
            {
                "output_column_name": "phone",
                "comparison_levels": [
                    _null_level("phone"),
                    {
                        "sql_condition": "phone_l = phone_r and phone_shared_l",
                        "label_for_charts": "shared",
                        **_NEUTRAL,
                    },
                    _level(
                        "phone_l = phone_r",
                        "exact",
                        mu("phone", "exact"),
                        tf_adjustment_column="phone",
                        tf_adjustment_weight=1.0,
                    ),
                    _level("ELSE", "else", mu("phone", "else")),
                ],
            }
        )
    if config.company.enabled:
        out.append(
            {
                "output_column_name": "company",
                "comparison_levels": [
                    _null_level("company"),
                    _level(
                        "company_l = company_r",
                        "exact",
                        mu("company", "exact"),
                        tf_adjustment_column="company",
                        tf_adjustment_weight=1.0,
                    ),
                    _level(
                        jw("company", config.company.similarity),
                        "similar",
                        mu("company", "similar"),
                    ),
                    _level("ELSE", "else", mu("company", "else")),
                ],
            }
        )
    out.append(
        {
            "output_column_name": "country",
            "comparison_levels": [
                _null_level("country"),
                _level("country_l = country_r", "exact", mu("country", "exact")),
                _level("ELSE", "else", mu("country", "else")),
            ],
        }
    )
    if config.email_domain.enabled:
        out.append(
            {
                "output_column_name": "email_domain",
                "comparison_levels": [
                    _null_level("email_domain"),
                    _level(
                        "email_domain_l = email_domain_r and not coalesce(is_free_email_l, false)",
                        "same_business",
                        mu("email_domain", "same_business"),
                        tf_adjustment_column="email_domain",
                        tf_adjustment_weight=1.0,
                    ),
                    _level(
                        "email_domain_l = email_domain_r",
                        "same_free",
                        mu("email_domain", "same_free"),
                    ),
                    _level(
                        kinds_differ, "work_and_personal", mu("email_domain", "work_and_personal")
                    ),
                    _level("ELSE", "else", mu("email_domain", "else")),
                ],
            }
        )
    return out


def tf_columns(config: IdentityConfig) -> list[str]:
    """The columns whose exact agreement is weighed by how common the value is: a common name, a
    switchboard number or a big employer's domain is weaker evidence than a rare one."""
    enabled = config.comparisons
    return [
        column
        for column, on in (
            ("first_name", enabled.first_name.enabled),
            ("last_name", enabled.last_name.enabled),
            ("phone", enabled.phone.enabled),
            ("company", enabled.company.enabled),
            ("email_domain", enabled.email_domain.enabled),
        )
        if on
    ]


# Blocking rules the stage adds to `identity.blocking_rules`, on keys that survive a misspelling
# (first_key, last_key: a name's common spelling, see SPELLING_SQL), swapped names, a company
# written two ways (its first six letters: "Acme Labs" and acmelabsnorth.example) and an address
# that spells the other record's name. They use columns the config's rules cannot name, so they
# are not in `identity.blocking_rules`. Each is an equality on a selective key; at 100,000 records
# of the hard generator they add about half again the pairs the configured rules compare.
SPELLING_BLOCKING_RULES = (
    "l.first_key = r.first_key and l.last_key = r.last_key",
    "l.first_key = r.last_key and l.last_key = r.first_key",
    "l.phone = r.phone and l.first_key = r.first_key",
    "l.phone = r.phone and l.last_key = r.last_key",
    "l.phone = r.phone and l.first_key = r.last_key",
    "l.phone = r.phone and l.last_key = r.first_key",
    "l.email_name = r.full_name",
    "l.full_name = r.email_name",
    "l.email_name = r.last_name || r.first_name",
    "l.last_name || l.first_name = r.email_name",
    "left(l.company, 6) = left(r.company, 6) and l.last_key = r.last_key"
    " and left(l.first_key, 1) = left(r.first_key, 1)",
    "left(l.company, 6) = left(r.company, 6) and l.first_key = r.last_key"
    " and left(l.last_key, 1) = left(r.first_key, 1)",
    "left(l.company, 6) = left(r.company, 6) and l.last_key = r.first_key"
    " and left(l.first_key, 1) = left(r.last_key, 1)",
)


def blocking_rules(config: IdentityConfig) -> list[str]:
    """The configured rules, then those of SPELLING_BLOCKING_RULES not already among them."""
    configured = list(config.blocking_rules)
    return configured + [rule for rule in SPELLING_BLOCKING_RULES if rule not in configured]


def splink_settings(
    config: IdentityConfig, params: Params | None, records: int = 100_000
) -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": params.prior(records) if params else 1e-5,
        "blocking_rules_to_generate_predictions": blocking_rules(config),
        "comparisons": comparisons(config.comparisons, params),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


# --------------------------------------------------------------------------- scoring


def blocked_pairs_sql(rules: Sequence[str], *, existing: bool = True) -> str:
    """The candidate pairs of `identity_records` that involve a new record (`identity_new`), one
    row per pair with the first rule that found it (match_key): what Splink's blocking would
    produce for predict_within and predict_between, but as one plain equi-join per rule and one
    de-duplication (on the records' small `rid`), instead of each rule re-testing every earlier one
    on every pair it finds (three times slower at a million records); only the first rule, which
    finds the most, is re-tested. With `existing` records, each rule is also tried with the new
    record on the right, so a rule that is not symmetric (l.email_name = r.full_name) finds its
    pairs whichever record is new."""
    parts = []
    for key, rule in enumerate(rules):
        skip = f" and not coalesce(({rules[0]}), false)" if key else ""
        parts.append(
            f"select {key} as k, l.rid as a, r.rid as b"
            f" from identity_new as l join identity_records as r on ({rule})"
            f" where (l.rid < r.rid or not r.is_new){skip}"
        )
        if existing:
            parts.append(
                f"select {key} as k, l.rid as a, r.rid as b"
                f" from identity_records as l join identity_new as r on ({rule})"
                f" where not l.is_new{skip}"
            )
    union = "\n        union all\n        ".join(parts)
    return f"""
create or replace table identity_blocked_pairs as
with pairs as (
    select min(k) as k, least(a, b) as a, greatest(a, b) as b
    from (
        {union}
    )
    group by least(a, b), greatest(a, b)
)
select cast(pairs.k as varchar) as match_key, l.unique_id as join_key_l, r.unique_id as join_key_r
from pairs
join identity_records as l on l.rid = pairs.a
join identity_records as r on r.rid = pairs.b
"""


def connect(config: IdentityConfig, spill_dir: str) -> duckdb.DuckDBPyConnection:
    """The stage's own in-memory DuckDB, capped at `identity.memory_limit_mb` when set: past it,
    joins and aggregates spill to `spill_dir` (a million records: peak RSS 5.6 -> 3.8 GB at
    1,500 MB, about a fifth slower; bench/README.md)."""
    settings: dict[str, str | bool | int | float | list[str]] = {"temp_directory": spill_dir}
    if config.memory_limit_mb is not None:
        settings["memory_limit"] = f"{config.memory_limit_mb}MB"
    return duckdb.connect(":memory:", config=settings)


def score(
    records: pd.DataFrame | pa.Table,
    is_new: Sequence[bool],
    config: IdentityConfig,
    params: Params,
) -> pd.DataFrame:
    """Candidate pairs (new_key, other_key, match_probability) at or above the threshold: every new
    record against the existing ones and against the other new ones, blocked by the configured
    rules and the stage's own (`blocking_rules`). Existing records are never paired with each
    other.

    Runs in its own in-memory DuckDB, so the warehouse file gets none of Splink's work tables.
    """
    from splink import DuckDBAPI, Linker

    empty = pd.DataFrame({"new_key": [], "other_key": [], "match_probability": []})
    new_count = sum(bool(x) for x in is_new)
    if not new_count:
        return empty
    spill = tempfile.TemporaryDirectory(prefix="leadflow-identity-")
    mem = connect(config, spill.name)
    try:
        load_features(mem, records, is_new=is_new)
        mem.execute("create table identity_new as select * from identity_records where is_new")
        mem.execute(blocked_pairs_sql(blocking_rules(config), existing=new_count < len(is_new)))
        api = DuckDBAPI(mem)
        everything = api.register("identity_records")
        linker = Linker(everything, splink_settings(config, params, len(records)), log_level=None)
        for column in tf_columns(config):
            linker.table_management.compute_tf_table(column)
        linker.table_management.register_blocked_pairs_for_predict(
            api.register("identity_blocked_pairs")
        )
        predicted = linker.inference.predict(
            threshold_match_probability=config.threshold, warning_mode="never"
        )
        pairs = mem.execute(
            f"""
            select case when n.unique_id is null then p.unique_id_r else p.unique_id_l end
                    as new_key,
                case when n.unique_id is null then p.unique_id_l else p.unique_id_r end
                    as other_key,
                p.match_probability
            from {predicted.physical_name} as p
            left join identity_new as n on n.unique_id = p.unique_id_l
            """
        ).df()
    except duckdb.OutOfMemoryException as exc:
        raise IdentityMemoryError(
            f"identity.memory_limit_mb ({config.memory_limit_mb}) is too small to match"
            f" {new_count:,} new records against {len(is_new):,}: raise it, or unset it"
        ) from exc
    finally:
        mem.close()
        spill.cleanup()
    if pairs.empty:
        return empty
    return pairs.astype({"new_key": object, "other_key": object, "match_probability": float})


# --------------------------------------------------------------------------- guards


def emails_conflict(
    a: str | None,
    b: str | None,
    a_is_free: bool | None,
    b_is_free: bool | None,
    *,
    same_name: bool = True,
    alias_of: str | None = None,
) -> bool:
    """Whether two addresses say "two people": both present, different, and of the same kind (two
    business addresses, or two personal ones), unless one is a one-letter typo of the other at the
    same domain. A typo is not forgiven when the names explain it (`same_name` false: emma_hill@
    and emma_hall@ of Emma Hill and Emma Hall are two colleagues, see `typo_explained_by_names`),
    nor in the first letter (often an initial), nor in a number (jo.lee2@ is another mailbox).
    Nor are two aliases of one mailbox a conflict: with `alias_of`, the last name both records
    share (see `shared_last_name`), two addresses at one domain that both spell it and differ in
    more than a number (m.kowalczyk@ and margarethe.kowalczyk@ of Margarethe Kowalczyk)."""
    if not a or not b or a == b:
        return False
    local_a, _, domain_a = a.rpartition("@")
    local_b, _, domain_b = b.rpartition("@")
    if domain_a == domain_b and (
        email_local(a) == email_local(b)
        or (same_name and _one_typo_apart(local_a, local_b))
        or (alias_of is not None and _aliases(a, b, alias_of))
    ):
        return False
    return bool(a_is_free) == bool(b_is_free)


def _aliases(a: str, b: str, last_name: str) -> bool:
    """Two addresses that both spell the last name, differ in more than a number (jo.lee@ and
    jo.lee2@ are two namesakes' mailboxes), and whose letters besides the last name can be one
    person's first name (m.kowalczyk@ and margarethe.kowalczyk@; not robert.murphy@ and
    albert.murphy@, two colleagues whom "Bert Murphy" could be either of)."""
    letters_a, letters_b = _letters(a), _letters(b)
    if letters_a == letters_b or last_name not in letters_a or last_name not in letters_b:
        return False
    rest_a, rest_b = letters_a.replace(last_name, "", 1), letters_b.replace(last_name, "", 1)
    return first_names_compatible(rest_a or None, rest_b or None)


def shared_last_name(a: Sequence[Any], b: Sequence[Any]) -> str | None:
    """The last name two records share exactly (folded, at least four letters) when their first
    names can be one person's: then two addresses at one domain that both spell it are aliases of
    one mailbox, not two colleagues (colleagues who share a last name differ in first name).
    `a` and `b` are (first_name, last_name, ...)."""
    last_a, last_b = fold(a[1]), fold(b[1])
    if last_a is None or last_a != last_b or len(last_a) < 4:
        return None
    return last_a if first_names_compatible(a[0], b[0]) and fold(a[0]) and fold(b[0]) else None


def typo_explained_by_names(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether two near-identical addresses differ because the names do: a first or last name
    that differs between the records, each record's address holding its own (emma_hill@ of Emma
    Hill, emma_hall@ of Emma Hall: two colleagues). A typo in a name that the address does not
    repeat (Kowalczk with m.kowalczyk@) explains nothing: that is one person typed twice.
    `a` and `b` are (first_name, last_name, email, ...)."""
    letters_a, letters_b = _letters(a[2]), _letters(b[2])
    names_a, names_b = (fold(a[0]), fold(a[1])), (fold(b[0]), fold(b[1]))
    if None not in names_a and set(names_a) == set(names_b):
        return False  # the same two names, one record's swapped: nothing differs
    for fx, fy in zip(names_a, names_b, strict=True):
        if fx and fy and fx != fy and fx in letters_a and fy in letters_b:
            return True
    return False


def _letters(email: str | None) -> str:
    local = email_local(email) or ""
    return "".join(ch for ch in fold_text(local) if ch.isalpha())


def _one_typo_apart(a: str, b: str) -> bool:
    """One letter wrong, missing, doubled or two swapped, never the first; in a local part of
    fewer than five letters only one missing or doubled (tom@ and tim@ are two mailboxes)."""
    if a[0] != b[0] or (min(len(a), len(b)) < 5 and len(a) == len(b)):
        return False
    if _DIGITS.sub("", a) == _DIGITS.sub("", b):
        return False  # numbered twins: another mailbox
    return edit_distance(a, b, 2) <= 1


def guard(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether a scored pair may be linked at all: names that can be one person's, and addresses
    that do not conflict. `a` and `b` are (first_name, last_name, email, is_free_email)."""
    if not names_compatible(a[0], a[1], b[0], b[1]):
        return False
    return not emails_conflict(
        a[2],
        b[2],
        a[3],
        b[3],
        same_name=not typo_explained_by_names(a, b),
        alias_of=shared_last_name(a, b),
    )
