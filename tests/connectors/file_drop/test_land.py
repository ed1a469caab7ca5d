"""Landing a drop folder: each file once, known by the sha256 of its bytes; a file's rows and its
ledger row commit together; a file that is no CSV is recorded and quarantined while the run goes
on; the folder is never changed. And the source's config, as a user writes it."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.file_drop import STREAMS, DroppedFile
from leadflow import pipeline
from leadflow.config import ConfigError, Settings, load_settings
from leadflow.landing import land_files

AS_OF = datetime(2026, 6, 10, 9, 0)
SUMMIT = "Email,First Name,Event Date\r\nana@acme.example,Ana,2026-04-22\r\nbo@globex.example,Bo,2026-04-22\r\n"
REFERRAL = "Referred Email,Referred Name\r\nnadia@copperline.example,Nadia Rahman\r\n"


def settings_for(tmp_path: Path, **file_drop: Any) -> Settings:
    config = {
        "warehouse": {"path": "warehouse.duckdb"},
        "sandbox": {"embedded": False},
        "sources": {"file_drop": {"path": "drops", "settle_seconds": 0, **file_drop}},
    }
    path = tmp_path / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)


@pytest.fixture
def drops(tmp_path: Path) -> Path:
    for stream in ("events", "referrals"):
        (tmp_path / "drops" / stream).mkdir(parents=True)
    return tmp_path / "drops"


@pytest.fixture
def settings(tmp_path: Path, drops: Path) -> Settings:
    settings = settings_for(tmp_path)
    pipeline.warehouse(settings).ensure_schema()
    return settings


def land(settings: Settings, run_id: str = "r1") -> dict[str, tuple[int, int]]:
    """stream -> (records read, new raw versions) of one pull of the drop."""
    results = pipeline.pull_source(settings, "file_drop", run_id, AS_OF)
    return {r.stream: (r.pulled, r.new_versions) for r in results}


def ledger(settings: Settings) -> list[tuple[Any, ...]]:
    with pipeline.warehouse(settings).connect() as con:
        return con.execute(
            "select stream, file_name, status, count_rows, count_blank_rows, run_id"
            " from ops.file_drop_files order by loaded_at, stream, file_name"
        ).fetchall()


def raw_count(settings: Settings, stream: str) -> int:
    with pipeline.warehouse(settings).connect() as con:
        row = con.execute(f"select count(*) from raw.file_drop__{stream}").fetchone()
    assert row is not None
    return int(row[0])


def test_a_file_is_loaded_once_whatever_it_is_called_and_an_edit_is_a_new_file(
    settings: Settings, drops: Path
) -> None:
    # GIVEN an attendee list, loaded
    (drops / "events" / "summit.csv").write_text(SUMMIT, encoding="utf-8")
    assert land(settings, "r1") == {"events": (2, 2), "referrals": (0, 0)}

    # WHEN the same bytes come back renamed and as a second copy
    (drops / "events" / "summit.csv").rename(drops / "events" / "Summit FINAL.csv")
    (drops / "events" / "summit (1).csv").write_text(SUMMIT, encoding="utf-8")
    # THEN nothing is loaded again
    assert land(settings, "r2") == {"events": (0, 0), "referrals": (0, 0)}

    # WHEN a copy is edited (one row added)
    (drops / "events" / "summit (1).csv").write_text(
        SUMMIT + "cy@initech.example,Cy,2026-04-22\r\n", encoding="utf-8"
    )
    # THEN it is a new file: all its rows land, under new record ids
    assert land(settings, "r3") == {"events": (3, 3), "referrals": (0, 0)}
    assert raw_count(settings, "events") == 5
    assert ledger(settings) == [
        ("events", "events/summit.csv", "loaded", 2, 0, "r1"),
        ("events", "events/summit (1).csv", "loaded", 3, 0, "r3"),
    ]


def test_two_copies_dropped_together_load_once(settings: Settings, drops: Path) -> None:
    (drops / "events" / "a.csv").write_text(SUMMIT, encoding="utf-8")
    (drops / "events" / "b.csv").write_text(SUMMIT, encoding="utf-8")
    assert land(settings) == {"events": (2, 2), "referrals": (0, 0)}
    assert [row[1] for row in ledger(settings)] == ["events/a.csv"]


def test_the_same_bytes_in_the_other_folder_load_as_that_stream(
    settings: Settings, drops: Path
) -> None:
    # A referrals file first put in events/ by mistake, then copied where it belongs.
    (drops / "events" / "partners.csv").write_text(REFERRAL, encoding="utf-8")
    land(settings, "r1")
    (drops / "referrals" / "partners.csv").write_text(REFERRAL, encoding="utf-8")
    assert land(settings, "r2") == {"events": (0, 0), "referrals": (1, 1)}


def test_a_file_that_is_no_csv_is_recorded_and_the_other_files_load(
    settings: Settings, drops: Path
) -> None:
    # GIVEN a workbook saved with a .csv name, an empty file and a good list
    (drops / "events" / "a-workbook.csv").write_bytes(b"PK\x03\x04\x14\x00 [Content_Types].xml")
    (drops / "events" / "b-empty.csv").write_bytes(b"")
    (drops / "events" / "c-summit.csv").write_text(SUMMIT, encoding="utf-8")

    # WHEN the drop is landed and staged
    assert land(settings) == {"events": (4, 4), "referrals": (0, 0)}
    staged = pipeline.stage_records(settings, "r1", AS_OF)

    # THEN the good file's rows are lead records, and each bad file is rejected in the ledger and
    # quarantined as one record that says which file and why
    assert (staged.accepted, staged.quarantined) == (2, 2)
    assert [(name, status, rows) for _, name, status, rows, _, _ in ledger(settings)] == [
        ("events/a-workbook.csv", "rejected", 0),
        ("events/b-empty.csv", "rejected", 0),
        ("events/c-summit.csv", "loaded", 2),
    ]
    with pipeline.warehouse(settings).connect() as con:
        reasons = sorted(
            json.loads(r)[0]
            for (r,) in con.execute("select reasons from ops.quarantine").fetchall()
        )
    assert reasons == [
        "events/a-workbook.csv: the file is a ZIP archive, most likely an Excel workbook: "
        "save it as CSV UTF-8 (.csv)",
        "events/b-empty.csv: the file is empty",
    ]


def test_a_file_still_being_copied_waits_for_a_later_run(tmp_path: Path, drops: Path) -> None:
    settings = settings_for(tmp_path, settle_seconds=300)
    pipeline.warehouse(settings).ensure_schema()
    path = drops / "events" / "summit.csv"
    path.write_text(SUMMIT, encoding="utf-8")
    assert land(settings, "r1") == {"events": (0, 0), "referrals": (0, 0)}
    old = time.time() - 600
    os.utime(path, (old, old))
    assert land(settings, "r2") == {"events": (2, 2), "referrals": (0, 0)}


def test_only_csv_files_in_the_stream_folders_are_read(
    settings: Settings, drops: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a list in each place people might put one
    (drops / "events" / "SUMMIT.CSV").write_text(SUMMIT, encoding="utf-8")
    (drops / "events" / "~$summit.csv").write_text(SUMMIT, encoding="utf-8")  # Excel's lock file
    (drops / "events" / "notes.txt").write_text(SUMMIT, encoding="utf-8")
    (drops / "events" / "archive").mkdir()
    (drops / "events" / "archive" / "old.csv").write_text(REFERRAL, encoding="utf-8")
    (drops / "stray.csv").write_text(SUMMIT, encoding="utf-8")

    # WHEN the drop is landed
    with caplog.at_level(logging.WARNING, logger="leadflow.connectors.file_drop"):
        landed = land(settings)

    # THEN only the stream folder's CSV is read, and the stray one at the top is named in a warning
    assert landed == {"events": (2, 2), "referrals": (0, 0)}
    assert [row[1] for row in ledger(settings)] == ["events/SUMMIT.CSV"]
    assert any("1 CSV file(s) directly in" in r.getMessage() for r in caplog.records)


def test_landing_never_changes_the_folder(settings: Settings, drops: Path) -> None:
    (drops / "events" / "summit.csv").write_text(SUMMIT, encoding="utf-8")
    (drops / "referrals" / "bad.csv").write_bytes(b"\x00\x01")
    before = {p: (p.read_bytes(), p.stat().st_mtime) for p in drops.rglob("*") if p.is_file()}
    land(settings)
    after = {p: (p.read_bytes(), p.stat().st_mtime) for p in drops.rglob("*") if p.is_file()}
    assert after == before


def test_a_files_rows_and_its_ledger_row_commit_together(settings: Settings) -> None:
    # GIVEN a file whose ledger row cannot be written (no name: the column is not null)
    payloads = [
        {"file_name": "events/x.csv", "file_sha256": "ab" * 32, "row_number": 2, "values": {}},
    ]
    broken = DroppedFile("events", None, "ab" * 32, 10, payloads)  # type: ignore[arg-type]

    # WHEN it is landed, the write fails...
    with pipeline.warehouse(settings).connect() as con, pytest.raises(Exception, match="NOT NULL"):
        land_files(con, STREAMS["events"], lambda known: iter([broken]), run_id="r1")

    # THEN ...and its rows were not kept either: the next run reads the file again
    assert raw_count(settings, "events") == 0
    assert ledger(settings) == []


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("file_drop", "message"),
    [
        pytest.param({"encoding": "klingon"}, "unknown encoding 'klingon'", id="unknown-encoding"),
        pytest.param({"encoding": "utf-16"}, "byte order mark", id="utf-16"),
        pytest.param({"date_order": "YMD"}, "date_order", id="date-order"),
        pytest.param({"settle_seconds": -1}, "settle_seconds", id="negative-settle"),
        pytest.param({"intent_events": {"atended": "x"}}, "atended", id="typo-in-a-kind"),
        pytest.param({"folder": "drops"}, "folder", id="unknown-key"),
    ],
)
def test_a_config_mistake_is_one_clear_line(
    tmp_path: Path, file_drop: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        settings_for(tmp_path, **file_drop)
    assert "\n" not in str(caught.value)


def test_each_kind_of_row_has_its_intent_event_and_a_partial_override_keeps_the_rest(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, intent_events={"registered": "webinar_signup"})
    events = pipeline.intent_events(settings)
    assert {k: v for k, v in events.items() if k[0] == "file_drop"} == {
        ("file_drop", "attended"): "event_attended",
        ("file_drop", "registered"): "webinar_signup",
        ("file_drop", "referral"): "referral",
    }
    assert "file_drop" in settings.sources.enabled()
