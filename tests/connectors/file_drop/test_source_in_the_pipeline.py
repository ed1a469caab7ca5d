"""The file drop as a configured source: the pipeline's own steps (land, validate, resolve, then
dbt's prepare models and scoring) on a copy of examples/file_drop, whose four files hold 23 people
rows, one blank row and eight deliberately bad rows. One module-scoped run serves the tests (GX and
dbt take seconds each); it then runs again over the same folder with one file renamed.

What the sample holds (row numbers as a spreadsheet shows them, the header being row 1):
- events/2026-04-22_revops-summit_booth-scans.csv (UTF-8 with a BOM, commas): 5 leads; row 6 an
  address without a domain and no phone, row 7 neither email nor phone, row 8 blank, row 9 an
  unquoted comma in the company (11 values for 10 columns); row 10 a no-show (registered).
- events/2026-05-14_webinar_pipeline-hygiene.csv (a webinar platform's report: Yes/No, dates with
  times): Michael again (merged into his summit lead), 3 new leads; row 5 dated 05/06/2026.
- events/2026-06-03_berlin-revops-meetup.csv (semicolons, day.month.year, full names): Ana again
  (merged), 2 new leads; row 4 dated 31.06.2026, row 6 checked in "maybe".
- referrals/2026-q2_partner-referrals.csv: 2 new leads (one named "Vogel, Katrin", one with a
  note over two lines); Wei Li again (merged); row 4 without email or phone, row 6 dated "next
  week".
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadflow import pipeline
from leadflow.accounting import file_drop_accounting, record_accounting
from leadflow.config import ConfigError, Settings, load_settings
from leadflow.dbt import build
from leadflow.embedded import sandboxed_vendors
from leadflow.landing import LandResult
from scoring import ScoreResult

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "file_drop"
AS_OF = datetime(2026, 6, 10, 9, 0)
SUMMIT = "events/2026-04-22_revops-summit_booth-scans.csv"
WEBINAR = "events/2026-05-14_webinar_pipeline-hygiene.csv"
MEETUP = "events/2026-06-03_berlin-revops-meetup.csv"
REFERRALS = "referrals/2026-q2_partner-referrals.csv"
INTENT = [
    {"event": "event_attended", "points": 15, "half_life_days": 30, "max_occurrences": 3},
    {"event": "event_registered", "points": 5, "half_life_days": 30, "max_occurrences": 3},
    {"event": "referral", "points": 25, "half_life_days": 30, "max_occurrences": 2},
]


def settings_for(tmp_path: Path) -> Settings:
    """A config whose only source is the file drop in tmp_path/drops (relative to the config)."""
    config: dict[str, Any] = {
        "warehouse": {"path": "warehouse.duckdb"},
        "sandbox": {"embedded": False},
        "sources": {"file_drop": {"path": "drops", "settle_seconds": 0}},
        "scoring": {"intent": {"cap": 40, "events": INTENT}},
    }
    path = tmp_path / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)


def run_once(settings: Settings, run_id: str) -> list[LandResult]:
    pipeline.start_run(settings, run_id, AS_OF)
    pulled = pipeline.pull_source(settings, "file_drop", run_id, AS_OF)
    pipeline.stage_records(settings, run_id, AS_OF)
    pipeline.resolve_identities(settings, run_id, AS_OF)
    return pulled


@dataclass(frozen=True)
class Synced:
    settings: Settings
    drops: Path
    first: list[LandResult]
    second: list[LandResult]
    scores: ScoreResult


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    # GIVEN the sample drop and a config reading it, with intent rules for the drop's events
    tmp = tmp_path_factory.mktemp("file_drop_pipeline")
    drops = tmp / "drops"
    shutil.copytree(EXAMPLES, drops)
    settings = settings_for(tmp)
    # WHEN the pipeline lands, validates and resolves it, dbt builds what scoring reads and the
    # leads are scored
    first = run_once(settings, "fd-1")
    build(
        "prepare",
        settings.warehouse_path,
        dbt_vars=pipeline.dbt_vars(settings),
        unit_tests=False,
        target_path=tmp / "dbt_target",
    )
    scores = pipeline.score_leads(settings, "fd-1", AS_OF)
    # AND the next run finds the same files, one of them renamed
    (drops / SUMMIT).rename(drops / "events" / "summit-booth-scans (copy).csv")
    second = run_once(settings, "fd-2")
    return Synced(settings, drops, first, second, scores)


def quarantine_reasons(settings: Settings) -> dict[str, list[str]]:
    """'<file> row <n>' -> its reasons, without the location prefix."""
    with pipeline.warehouse(settings).connect() as con:
        rows = con.execute(
            "select reasons from ops.quarantine where source = 'file_drop'"
        ).fetchall()
    found: dict[str, list[str]] = {}
    for (reasons,) in rows:
        for reason in json.loads(reasons):
            where, why = reason.split(": ", 1)
            found.setdefault(where, []).append(why)
    return found


def test_every_data_row_lands_once_as_one_raw_record(synced: Synced) -> None:
    assert [(r.stream, r.pulled, r.new_versions) for r in synced.first] == [
        ("events", 18, 18),
        ("referrals", 5, 5),
    ]


def test_bad_rows_are_quarantined_naming_their_file_row_and_problem_and_no_person(
    synced: Synced,
) -> None:
    reasons = quarantine_reasons(synced.settings)
    assert reasons == {
        f"{SUMMIT} row 6": [
            "the email is not a valid address",
            "no valid email or phone number to reach the lead",
        ],
        f"{SUMMIT} row 7": ["no valid email or phone number to reach the lead"],
        f"{SUMMIT} row 9": [
            "the row has 11 values where the header has 10 columns (a comma or semicolon inside "
            "a value that is not in quotes?)"
        ],
        f"{WEBINAR} row 5": [
            "the date in column 'Registration Time' has its day and month both as numbers, "
            "which reads two ways: write it as YYYY-MM-DD, or set sources.file_drop.date_order "
            "to DMY or MDY"
        ],
        f"{MEETUP} row 4": [
            "the date in column 'Date' is not a date LeadFlow reads (write it as YYYY-MM-DD)"
        ],
        f"{MEETUP} row 6": [
            "column 'Checked In' says neither attended nor registered "
            "(connectors/file_drop/README.md lists the words LeadFlow reads)"
        ],
        f"{REFERRALS} row 4": ["no valid email or phone number to reach the lead"],
        f"{REFERRALS} row 6": [
            "the date in column 'Referral Date' is not a date LeadFlow reads (write it as "
            "YYYY-MM-DD)"
        ],
    }
    flat = " ".join(" ".join(r) for r in reasons.values())
    for personal in ("raj.patel", "Sam", "Taylor", "Hannah", "hannah.becker", "Felix", "Osei"):
        assert personal not in flat


def test_rows_in_files_equal_raw_records_equal_leads_merged_and_quarantined(
    synced: Synced,
) -> None:
    with pipeline.warehouse(synced.settings).connect() as con:
        accounting = record_accounting(con)
        per_file = {f["file_name"]: f for f in file_drop_accounting(con)}
    # Overall: 23 rows, 23 records, each in exactly one place.
    assert {k: accounting[k] for k in ("lead", "merged", "quarantined", "unprocessed")} == {
        "lead": 12,
        "merged": 3,
        "quarantined": 8,
        "unprocessed": 0,
    }
    assert accounting["total"] == 23
    # Per file: (rows, blank rows, leads, merged into another lead, quarantined, erased).
    counts = {
        name: tuple(
            f[k]
            for k in ("count_rows", "count_blank_rows", "lead", "merged", "quarantined", "erased")
        )
        for name, f in per_file.items()
    }
    assert counts == {
        SUMMIT: (8, 1, 5, 0, 3, 0),
        WEBINAR: (5, 0, 3, 1, 1, 0),
        MEETUP: (5, 0, 2, 1, 2, 0),
        REFERRALS: (5, 0, 2, 1, 2, 0),
    }
    assert {f["file_status"] for f in per_file.values()} == {"loaded"}


def test_each_kind_of_row_has_its_intent_event_and_its_own_date(synced: Synced) -> None:
    # Each lead record has its kind as form_id and the default event for that kind, dated by its
    # row (a time without a zone is UTC; a row that only registered counts from registering).
    with pipeline.warehouse(synced.settings).connect() as con:
        records = {
            email: (form, event, created)
            for email, form, event, created in con.execute(
                "select email, form_id, intent_event, record_created_at from ops.lead_records"
                " where source = 'file_drop'"
            ).fetchall()
        }
    assert records["priya.raman@tealbyte.example"] == (
        "registered",
        "event_registered",
        datetime(2026, 4, 22),
    )
    assert records["tomas@casa-verde.example"] == (
        "registered",
        "event_registered",
        datetime(2026, 5, 9, 13, 12),
    )
    assert records["grace.kim@orbital-ai.example"] == (
        "attended",
        "event_attended",
        datetime(2026, 5, 14, 16, 0),
    )
    assert records["k.vogel@alpenbank.example"] == ("referral", "referral", datetime(2026, 5, 27))


def test_the_events_reach_scoring(synced: Synced) -> None:
    # Every lead is scored, and its intent factors come from the dropped rows: Ana attended twice
    # (summit, meetup), Wei Li attended and was referred, Priya only registered.
    assert synced.scores.scored == 12
    with pipeline.warehouse(synced.settings).connect() as con:
        factors = {
            email: {f["factor"]: f for f in json.loads(raw) if f["group"] == "intent"}
            for email, raw in con.execute(
                """
                select r.email, s.factors
                from ops.lead_scores s
                join ops.lead_identity i on i.lead_id = s.lead_id and i.rule = 'new_lead'
                join ops.lead_records r on r.record_key = i.record_key
                """
            ).fetchall()
        }
    ana = factors["ana.souza@acme-robotics.example"]
    assert set(ana) == {"event_attended"} and ana["event_attended"]["detail"]["occurrences"] == 2
    assert set(factors["li.wei@northwind-freight.example"]) == {"event_attended", "referral"}
    assert set(factors["priya.raman@tealbyte.example"]) == {"event_registered"}
    assert all(f["points"] > 0 for lead in factors.values() for f in lead.values())


def test_a_second_run_over_the_same_folder_lands_nothing_and_the_files_stay(
    synced: Synced,
) -> None:
    assert [(r.pulled, r.new_versions) for r in synced.second] == [(0, 0), (0, 0)]
    for name in (WEBINAR, MEETUP, REFERRALS):
        assert (synced.drops / name).read_bytes() == (EXAMPLES / name).read_bytes()
    renamed = synced.drops / "events" / "summit-booth-scans (copy).csv"
    assert renamed.read_bytes() == (EXAMPLES / SUMMIT).read_bytes()
    with pipeline.warehouse(synced.settings).connect() as con:
        assert record_accounting(con)["total"] == 23


def test_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    # GIVEN a config whose drop folder does not exist
    settings = settings_for(tmp_path)
    pipeline.start_run(settings, "fd-1", AS_OF)
    # WHEN it is pulled THEN the run stops with one line that says what to fix
    with pytest.raises(ConfigError, match=r"sources\.file_drop\.path: .*drops is not a folder"):
        pipeline.pull_source(settings, "file_drop", "fd-1", AS_OF)


def test_the_embedded_sandbox_ignores_the_folder(tmp_path: Path) -> None:
    # A file drop has no vendor: the embedded default must not look for one (or for its URL).
    assert sandboxed_vendors(settings_for(tmp_path)) == set()
