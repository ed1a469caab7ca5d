"""Estimate the probabilistic stage's parameters and write them where the pipeline reads them.

    python -m dedupe.train                                          # the shipped file
    python -m dedupe.train --u-from .leadflow/warehouse.duckdb --out my_params.json

m (how often a comparison level occurs between two records of one person) is estimated from the
labelled generator (dedupe/generator.py, hard setting, a seed the benchmark does not use): the
typo, nickname and missing-field rates it models are what m describes. u (how often a level occurs
between two records of different people) is estimated by seeded random sampling of pairs, from the
generator or, with --u-from, from your own warehouse's ops.lead_records, since u describes your
population (how common its names, companies and free-mail domains are). Expectation maximisation
was tried first and rejected: with households, colleagues on switchboards and namesakes filling the
blocks it took look-alike strangers for duplicates (m(first names equal) came out at 0.31).

The prior is stored per record (`duplicate_pairs_per_record`, true pairs / records) and turned
into Splink's probability that two random records match at run time by dividing by the number of
records, so a name match means less in a million records than in a thousand.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import duckdb
import pandas as pd

from dedupe.generator import generate, true_pairs
from dedupe.probabilistic import LEVELS, PARAMS_PATH, Params, load_features, splink_settings
from leadflow.config import IdentityConfig

TRAIN_SEED = 42  # the benchmark uses other seeds
M_FLOOR = 0.005
U_FLOOR = 1e-6
# Where the generator is surer than the world: it never gives one person two countries, but forms
# and CRMs disagree now and then (a default in a drop-down, a country guessed from an IP address),
# so a different country costs at most log2(0.05 / u) (about 3.7 bits), not a veto.
M_FLOORS = {("country", "else"): 0.05}


def _estimate(records: pd.DataFrame, *, seed: int, u_pairs: float, labels: bool) -> dict:
    from splink import DuckDBAPI, Linker

    mem = duckdb.connect(":memory:")
    try:
        load_features(mem, records, labelled=labels)
        api = DuckDBAPI(mem)
        table = api.register("identity_records")
        linker = Linker(table, splink_settings(IdentityConfig(), None), log_level=logging.WARNING)
        linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
        if labels:
            linker.training.estimate_m_from_label_column("person_id")
        return linker.misc.save_model_to_json()
    finally:
        mem.close()


def _levels(model: dict, key: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for comparison in model["comparisons"]:
        by_level = {}
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level") or level.get("fix_m_probability"):
                continue
            value = level.get(key)
            # A level never observed gets a tiny probability rather than none at all.
            by_level[level["label_for_charts"]] = float(value) if isinstance(value, float) else 1e-6
        out[comparison["output_column_name"]] = by_level
    return out


def train(
    records: pd.DataFrame,
    *,
    u_records: pd.DataFrame | None = None,
    seed: int = TRAIN_SEED,
    u_pairs: float = 1e7,
) -> Params:
    """m and the prior from labelled `records` (with person_id), u from `u_records` (default the
    same records)."""
    labelled = _estimate(records, seed=seed, u_pairs=u_pairs, labels=True)
    m = _levels(labelled, "m_probability")
    u = _levels(labelled, "u_probability")
    if u_records is not None:
        u = _levels(
            _estimate(u_records, seed=seed, u_pairs=u_pairs, labels=False),
            "u_probability",
        )
    # Floors: the generator never writes one person's company two unrelated ways, so m(company
    # differs) comes out at 0, which would veto any pair whose companies differ; real people move.
    levels = {
        c: {
            lv: (max(m[c][lv], M_FLOORS.get((c, lv), M_FLOOR)), max(u[c][lv], U_FLOOR))
            for lv in LEVELS[c]
        }
        for c in LEVELS
    }
    return Params(
        duplicate_pairs_per_record=true_pairs(records) / len(records),
        levels=levels,
        trained_on={
            "m": f"generator hard, {len(records)} records, seed {seed}",
            "u": f"{'warehouse' if u_records is not None else 'generator'}, {u_pairs:.0e} sampled pairs",
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Estimate the identity model's parameters.")
    parser.add_argument("--records", type=int, default=100_000, help="generator records for m")
    parser.add_argument(
        "--u-from", type=Path, help="estimate u on ops.lead_records of this warehouse"
    )
    parser.add_argument("--seed", type=int, default=TRAIN_SEED)
    parser.add_argument("--out", type=Path, default=PARAMS_PATH)
    args = parser.parse_args()
    u_records = None
    if args.u_from:
        with duckdb.connect(str(args.u_from), read_only=True) as con:
            u_records = con.execute("select * from ops.lead_records").df()
    records = generate(args.records, seed=args.seed, difficulty="hard")
    params = train(records, u_records=u_records, seed=args.seed)
    args.out.write_text(params.to_json() + "\n", encoding="utf-8")
    print(f"wrote {args.out}: m from {len(records):,} labelled records")


if __name__ == "__main__":
    main()
