"""The labelled generator of dirty duplicates: seeded, labelled, and as dirty as its setting says."""

from __future__ import annotations

import pandas as pd
import pytest

from dedupe.generator import COLUMNS, generate, true_pairs
from dedupe.names import fold


@pytest.fixture(scope="module")
def hard() -> pd.DataFrame:
    return generate(3000, seed=3, difficulty="hard")


def test_same_seed_same_records_and_another_seed_others(hard: pd.DataFrame) -> None:
    assert generate(3000, seed=3, difficulty="hard").equals(hard)
    assert not generate(3000, seed=4, difficulty="hard").equals(hard)


def test_every_record_carries_its_true_person_and_the_lead_record_columns(
    hard: pd.DataFrame,
) -> None:
    assert len(hard) == 3000 and list(hard.columns) == list(COLUMNS)
    assert hard["person_id"].notna().all() and hard["record_key"].is_unique
    # duplicates: fewer people than records, and the pair count agrees with the labels
    sizes = hard.groupby("person_id").size()
    assert sizes.max() > 1 and true_pairs(hard) == int((sizes * (sizes - 1) // 2).sum())


def test_hard_is_dirtier_than_easy(hard: pd.DataFrame) -> None:
    easy = generate(3000, seed=3, difficulty="easy")

    def no_email(frame: pd.DataFrame) -> float:
        return float(frame["email"].isna().mean())

    def duplicates(frame: pd.DataFrame) -> float:
        return 1 - frame["person_id"].nunique() / len(frame)

    assert no_email(hard) > no_email(easy)
    assert duplicates(hard) > duplicates(easy)

    # one person's records disagree on a name more often in the hard setting
    def name_variants(frame: pd.DataFrame) -> float:
        folded = frame.assign(f=frame["first_name"].map(fold))
        return float(folded.groupby("person_id")["f"].nunique().gt(1).mean())

    assert name_variants(hard) > name_variants(easy)


def test_look_alikes_that_are_different_people_exist(hard: pd.DataFrame) -> None:
    """Family members (one home phone, one last name) and colleagues (one switchboard) are
    distinct people in the labels: the true non-matches a matcher must keep apart."""
    phones = hard.dropna(subset=["phone_e164"]).groupby("phone_e164")
    shared = phones["person_id"].nunique()
    assert (shared > 1).sum() > 10
    families = [
        group
        for _, group in phones
        if group["person_id"].nunique() > 1
        and group["last_name"].map(fold).dropna().nunique() == 1
        and group["first_name"].map(fold).dropna().nunique() > 1
    ]
    assert families


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="difficulty"):
        generate(10, difficulty="medium")
