"""History exports: column mapping, one-line errors, bad rows counted, CSV and Parquet alike."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from leadflow.config import ConfigError, HistoryExportConfig, ScoringConfig, parse_settings
from scoring.history_export import load_history
from scoring.model import TrainingError

AS_OF = datetime(2026, 11, 1)
CONFIG = ScoringConfig.model_validate({"model": {"window_days": 30, "feature_delay_hours": 0}})


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def export(tmp_path: Path, **overrides: object) -> HistoryExportConfig:
    leads = write(
        tmp_path / "leads.csv",
        [
            {
                "Id": "A",
                "Created": "2026-01-01T10:00:00Z",
                "Email": "a@gmail.com",
                "Country": "Germany",
            },
            {
                "Id": "B",
                "Created": "2026-01-02 09:00:00",
                "Email": "b@acme.example",
                "Country": "us",
            },
            {"Id": "C", "Created": "2026-01-03", "Email": None, "Country": None},
        ],
    )
    outcomes = write(
        tmp_path / "outcomes.csv",
        [
            {"Lead": "A", "IsWon": "true", "CloseDate": "2026-01-20"},
            {"Lead": "B", "IsWon": "false", "CloseDate": "2026-01-10"},
        ],
    )
    data: dict[str, object] = {
        "leads": str(leads),
        "outcomes": str(outcomes),
        "columns": {
            "leads": {
                "lead_id": "Id",
                "created_at": "Created",
                "email": "Email",
                "country_code": "Country",
            },
            "outcomes": {"lead_id": "Lead", "won": "IsWon", "closed_at": "CloseDate"},
        },
    }
    data.update(overrides)
    return HistoryExportConfig.model_validate(data)


def test_a_mapped_export_becomes_labelled_training_data(tmp_path: Path) -> None:
    # GIVEN leads and won/lost outcomes mapped from a CRM's column names
    # WHEN the export is loaded
    data = load_history(export(tmp_path), CONFIG, as_of=AS_OF, root=tmp_path)
    # THEN leads carry LeadFlow's field names, derived fields are filled and the labels follow
    leads = data.leads.set_index("lead_id")
    assert leads.loc["A", "is_free_email"] is True and leads.loc["B", "is_free_email"] is False
    assert (leads.loc["A", "country_code"], leads.loc["A", "region"]) == ("DE", "EMEA")
    assert leads.loc["B", "country_code"] == "US"
    assert "email" not in data.leads.columns  # the address itself is not kept
    labels = data.outcomes.set_index("lead_id")["converted"].to_dict()
    assert labels == {"A": True, "B": False, "C": False}  # B lost: never converts
    assert data.source == "history_export" and data.notes == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_activities_are_mapped_to_intent_events(tmp_path: Path, fmt: str) -> None:
    # GIVEN activities in CSV or Parquet, with an event name mapping
    frame = pd.DataFrame(
        [
            {"Who": "A", "Type": "Demo Requested", "At": "2026-01-01T12:00:00Z"},
            {"Who": "B", "Type": "Web Visit", "At": "2026-01-02T10:00:00Z"},
        ]
    )
    path = tmp_path / f"activities.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        con = duckdb.connect()
        con.register("frame", frame)
        con.execute("copy frame to '" + str(path).replace("'", "''") + "' (format parquet)")
        con.close()
    config = export(
        tmp_path,
        activities=path.name,
        events={"Demo Requested": "demo_request"},
        columns={
            "leads": {"lead_id": "Id", "created_at": "Created"},
            "activities": {"lead_id": "Who", "event": "Type", "occurred_at": "At"},
            "outcomes": {"lead_id": "Lead", "won": "IsWon", "closed_at": "CloseDate"},
        },
    )
    # WHEN loaded (paths relative to the config's folder)
    data = load_history(config, CONFIG, as_of=AS_OF, root=tmp_path)
    # THEN each activity is an event: mapped names as mapped, others as a slug
    assert sorted(data.events["event"]) == ["demo_request", "web_visit"]
    assert data.events["occurred_at"].min() == pd.Timestamp("2026-01-01 12:00:00")


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        pytest.param(
            {"leads": {"lead_id": "LeadId", "created_at": "Created"}},
            "leads.csv: no column 'LeadId' (mapped from scoring.model.history_export.columns."
            "leads.lead_id); the file has: Id, Created, Email, Country",
            id="mapped-column-missing",
        ),
        pytest.param(
            {"leads": {"lead_id": "Id"}},
            "leads.csv: no column 'created_at' (LeadFlow's created_at; map it under columns.leads)",
            id="required-column-not-mapped",
        ),
        pytest.param(
            {
                "leads": {"lead_id": "Id", "created_at": "Created"},
                "outcomes": {"lead_id": "Lead"},
            },
            "outcomes.csv: no column 'converted_at' and no won + closed_at pair",
            id="no-outcome-columns",
        ),
    ],
)
def test_a_mapping_error_is_one_line_naming_the_file_and_column(
    tmp_path: Path, columns: dict[str, dict[str, str]], message: str
) -> None:
    config = export(tmp_path, columns=columns)
    with pytest.raises(TrainingError) as err:
        load_history(config, CONFIG, as_of=AS_OF, root=tmp_path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_file_or_unknown_type_is_one_line(tmp_path: Path) -> None:
    config = export(tmp_path, leads="nowhere/leads.csv")
    with pytest.raises(
        TrainingError, match=r"leads.csv: no such file \(scoring.model.history_export.leads\)"
    ):
        load_history(config, CONFIG, as_of=AS_OF, root=tmp_path)
    (tmp_path / "leads.xlsx").write_text("x")
    with pytest.raises(TrainingError, match=r"unknown file type .* use \.csv or \.parquet"):
        load_history(export(tmp_path, leads="leads.xlsx"), CONFIG, as_of=AS_OF, root=tmp_path)


def test_bad_rows_are_skipped_and_counted_not_fatal(tmp_path: Path) -> None:
    # GIVEN leads with a missing id, an unreadable date and a repeated id; an unknown outcome value
    config = export(tmp_path)
    leads = pd.read_csv(tmp_path / "leads.csv")
    extra = pd.DataFrame(
        [
            {"Id": None, "Created": "2026-01-05", "Email": "x@y.example", "Country": "FR"},
            {"Id": "D", "Created": "last tuesday", "Email": "d@y.example", "Country": "FR"},
            {"Id": "A", "Created": "2026-01-06", "Email": "a2@y.example", "Country": "FR"},
        ]
    )
    pd.concat([leads, extra]).to_csv(tmp_path / "leads.csv", index=False)
    outcomes = pd.read_csv(tmp_path / "outcomes.csv")
    pd.concat(
        [outcomes, pd.DataFrame([{"Lead": "C", "IsWon": "maybe", "CloseDate": "2026-02-01"}])]
    ).to_csv(tmp_path / "outcomes.csv", index=False)
    # WHEN loaded
    data = load_history(config, CONFIG, as_of=AS_OF, root=tmp_path)
    # THEN the good rows are kept and every skipped row is counted by reason, with no row contents
    assert sorted(data.leads["lead_id"]) == ["A", "B", "C"]
    assert data.notes == [
        "leads.csv: 3 rows skipped (1 without a lead id, 1 with an unreadable created_at, "
        "1 repeating a lead id)",
        "outcomes.csv: 1 row skipped (1 with a won value that is neither true nor false)",
    ]
    assert not any("@" in note for note in data.notes)


def test_an_unknown_field_in_the_mapping_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings(
            {
                "scoring": {
                    "model": {
                        "history_export": {
                            "leads": "l.csv",
                            "outcomes": "o.csv",
                            "columns": {"leads": {"revenue": "AnnualRevenue"}},
                        }
                    }
                }
            }
        )
    assert str(err.value).startswith(
        "leadflow.yml: scoring.model.history_export.columns: leads: unknown field 'revenue'; map one of: lead_id"
    )
