"""The CLI: one clear line and exit status 2 for a mistake the user can fix, never a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from leadflow.cli import app, render_summary

runner = CliRunner()


def test_an_invalid_config_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "leadflow.yml"
    config.write_text("sources:\n  hubspot:\n    page_size: 5000\n", encoding="utf-8")
    for command in (["config", "check"], ["run"]):
        result = runner.invoke(app, [*command, "--config", str(config)])
        assert result.exit_code == 2
        assert result.output.strip() == (
            f"leadflow: {config}: sources.hubspot.page_size: Input should be less than or equal to 200"
        )


def test_config_check_says_what_is_configured() -> None:
    result = runner.invoke(
        app, ["config", "check", "--config", str(Path(__file__).parents[2] / "leadflow.yml")]
    )
    assert result.exit_code == 0
    assert "sources: hubspot, meta, typeform" in result.output


def test_a_bad_as_of_is_explained(tmp_path: Path) -> None:
    config = tmp_path / "leadflow.yml"
    config.write_text("{}\n", encoding="utf-8")
    result = runner.invoke(app, ["run", "--config", str(config), "--as-of", "yesterday"])
    assert result.exit_code == 2 and "is not an ISO-8601 time" in result.output


def test_the_human_summary_names_reasons_reps_and_where_to_look() -> None:
    summary = {
        "records_pulled": 10,
        "records_pulled_by_stream": {"meta.leads": 10},
        "records_quarantined": 2,
        "quarantine_reasons": {"the email is not a valid address": 2},
        "records_merged": 1,
        "leads": 7,
        "leads_new": 7,
        "leads_scored": 7,
        "leads_rescored": 7,
        "scores_changed": 7,
        "new_mqls": 1,
        "leads_routed": 7,
        "leads_routed_by_rep": {"a@s.io": 7},
        "leads_unassigned": 0,
        "records_pushed": 7,
        "push_failed": 0,
        "accounting": {
            "lead": 7,
            "merged": 1,
            "crm_copy": 0,
            "quarantined": 2,
            "unprocessed": 0,
            "total": 10,
        },
        "warehouse": "/tmp/w.duckdb",
    }
    text = render_summary(summary)
    for expected in (
        "Records pulled",
        "the email is not a valid address",
        "a@s.io",
        "Pushed to the CRM",
        "7 leads + 1 merged + 0 CRM copies + 2 quarantined = 10",
        "/tmp/w.duckdb",
        "Prefect UI",
    ):
        assert expected in text


def test_the_human_summary_says_what_the_intake_landed_only_when_it_did() -> None:
    base = {
        "records_pulled": 0,
        "records_pulled_by_stream": {},
        "records_quarantined": 0,
        "quarantine_reasons": {},
        "records_merged": 0,
        "leads": 2,
        "leads_new": 2,
        "leads_scored": 2,
        "leads_rescored": 2,
        "scores_changed": 2,
        "new_mqls": 0,
        "leads_routed": 0,
        "leads_routed_by_rep": {},
        "leads_unassigned": 0,
        "records_pushed": 2,
        "push_failed": 0,
        "accounting": {
            "lead": 2,
            "merged": 0,
            "crm_copy": 0,
            "quarantined": 0,
            "unprocessed": 0,
            "total": 2,
        },
        "warehouse": "/tmp/w.duckdb",
    }
    assert "Webhooks landed" not in render_summary(base)
    landed = {
        **base,
        "intake_landed": 2,
        "intake_landed_by_source": {"webform": 1, "meta": 1},
        "intake_gone": 1,
        "intake_pending_failed": 3,
    }
    text = render_summary(landed)
    assert "Webhooks landed            2   (1 webform, 1 meta)" in text
    assert "1  gone at the source, 3 waiting for the next run" in text


def test_sandbox_serve_refuses_a_bad_chaos_flag_in_one_line() -> None:
    for flags, said in (
        (["--chaos-rate", "1.5"], "between 0 and 1"),
        (["--chaos-rate", "0.1", "--chaos-kinds", "flood"], "flood"),
    ):
        result = runner.invoke(app, ["sandbox", "serve", *flags])
        assert result.exit_code == 2
        assert said in result.output and "Traceback" not in result.output
