"""leadflow.yml validation: a bad file is one clear line naming the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadflow.config import ConfigError, load_settings, parse_settings, read_secret

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_config_is_valid() -> None:
    settings = load_settings(REPO / "leadflow.yml")
    assert set(settings.sources.enabled()) == {"hubspot", "meta", "typeform"}
    assert settings.warehouse_path == (REPO / ".leadflow/warehouse.duckdb").resolve()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            {"sources": {"hubspot": {"page_size": 500}}},
            "sources.hubspot.page_size: Input should be less than or equal to 200",
            id="out-of-range",
        ),
        pytest.param({"sourcez": {}}, "sourcez: unknown key", id="typo-top-level"),
        pytest.param(
            {"sources": {"hubspot": {"pagesize": 10}}},
            "sources.hubspot.pagesize: unknown key",
            id="typo-nested",
        ),
        pytest.param(
            {"routing": {"rules": [{"name": "na", "pool": "nope"}]}},
            "routing: rule 'na' names pool 'nope', which is not under pools",
            id="missing-pool",
        ),
        pytest.param(
            {
                "routing": {
                    "rules": [{"name": "na", "pool": "na", "rep": "a@s.io"}],
                    "pools": {"na": ["a@s.io"]},
                }
            },
            "rule 'na' needs exactly one action",
            id="rule-with-two-actions",
        ),
        pytest.param(
            {"routing": {"rules": [{"name": "na", "rep": "not-an-email"}]}},
            "rep must be a CRM owner's email",
            id="rule-rep-not-an-email",
        ),
        pytest.param(
            {"routing": {"territories": []}},
            "territories / keep_existing_owner were replaced by rules",
            id="old-territories",
        ),
        pytest.param(
            {
                "scoring": {
                    "fit": {
                        "cap": 10,
                        "rules": [{"name": "x", "when": {"field": "a"}, "points": 1}],
                    }
                }
            },
            "a condition needs one of",
            id="condition-without-operator",
        ),
        pytest.param(
            {
                "scoring": {
                    "negative": {
                        "cap": 10,
                        "rules": [
                            {"name": "x", "when": {"field": "a", "exists": True}, "points": 5}
                        ],
                    }
                }
            },
            "negative rule 'x' must have points <= 0",
            id="positive-negative-rule",
        ),
        pytest.param({"sandbox": {"host": "0.0.0.0"}}, "loopback only", id="sandbox-not-loopback"),
        pytest.param(["a", "list"], "must hold a mapping", id="not-a-mapping"),
    ],
)
def test_invalid_config_names_the_key_and_the_problem(data: object, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings(data, source="leadflow.yml")
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "leadflow.yml"
    path.write_text("sources:\n  hubspot: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line \d+"):
        load_settings(path)


def test_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "nope.yml")


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = tmp_path / "leadflow.yml"
    path.write_text("warehouse:\n  path: data/w.duckdb\n", encoding="utf-8")
    assert load_settings(path).warehouse_path == tmp_path / "data" / "w.duckdb"


def test_missing_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADFLOW_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="LEADFLOW_TEST_TOKEN is not set"):
        read_secret("LEADFLOW_TEST_TOKEN")
    monkeypatch.setenv("LEADFLOW_TEST_TOKEN", "s3cret-value")
    secret = read_secret("LEADFLOW_TEST_TOKEN")
    assert secret.get_secret_value() == "s3cret-value"
    assert "s3cret" not in repr(secret)
