"""Meta ad insights: the days each pull reads (restatement lookback), paging, and loads that merge."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors import meta
from connectors.meta import client as meta_client
from connectors.streams import Page, PullWindow
from leadflow.config import HttpSettings, MetaSourceConfig
from leadflow.landing import land, read_cursor
from leadflow.warehouse import Warehouse
from sandbox import Sandbox
from sandbox.world import META_AD_ACCOUNT_ID
from tests.connectors.conftest import Canned, ScriptedServer

TOKEN = "insights-meta-token"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)
TODAY = date(2026, 5, 20)


def config(base_url: str = "http://127.0.0.1:1", **extra: object) -> MetaSourceConfig:
    return MetaSourceConfig(base_url=base_url, http=FAST, **extra)


@pytest.mark.parametrize(
    ("cursor", "expected_since"),
    [
        pytest.param(datetime(2000, 1, 1), date(2025, 5, 20), id="first-pull-backfills-a-year"),
        pytest.param(datetime(2026, 5, 19), date(2026, 4, 21), id="later-pull-rereads-28-days"),
        pytest.param(datetime(2026, 5, 20, 13), date(2026, 4, 22), id="cursor-today"),
    ],
)
def test_each_pull_rereads_the_days_meta_may_restate(
    cursor: datetime, expected_since: date
) -> None:
    cfg = config(ad_account_id="act_42")
    assert meta.insights_range(cfg, PullWindow(cursor), TODAY) == (expected_since, TODAY)


def test_the_lookback_and_backfill_are_configurable() -> None:
    cfg = config(ad_account_id="42", insights_lookback_days=3, insights_backfill_days=10)
    assert meta.insights_range(cfg, PullWindow(datetime(2026, 5, 19)), TODAY) == (
        date(2026, 5, 16),
        TODAY,
    )
    assert meta.insights_range(cfg, PullWindow(datetime(2000, 1, 1)), TODAY)[0] == date(2026, 5, 10)


def test_without_an_ad_account_the_stream_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="leadflow.connectors.meta"):
        assert meta.partitions(config(), "ad_insights") == []
    assert "no sources.meta.ad_account_id" in caplog.text
    assert meta.partitions(config(ad_account_id="act_42"), "ad_insights") == ["act_42"]
    assert config(ad_account_id="act_42").ad_account_id == "42"


def test_insights_ask_for_daily_campaign_rows_and_follow_the_after_cursor(
    scripted: ScriptedServer,
) -> None:
    row = {"campaign_id": "c1", "date_start": "2026-05-01", "spend": "12.50"}
    scripted.script = [
        Canned(
            200,
            {
                "data": [row],
                "paging": {"cursors": {"after": "QUZURVI"}, "next": f"{scripted.url}/next"},
            },
        ),
        Canned(200, {"data": [{**row, "date_start": "2026-05-02"}], "paging": {"cursors": {}}}),
    ]
    client = meta_client.make_client(scripted.url, SecretStr(TOKEN), FAST)
    pages = list(
        meta_client.list_insights(client, "v21.0", "42", date(2026, 5, 1), date(2026, 5, 2))
    )
    assert [len(p.records) for p in pages] == [1, 1] and [p.last for p in pages] == [False, True]
    first, second = scripted.seen
    assert first.path.startswith("/v21.0/act_42/insights?")
    assert "level=campaign" in first.path and "time_increment=1" in first.path
    assert (
        "time_range=%7B%22since%22%3A+%222026-05-01%22%2C+%22until%22%3A+%222026-05-02%22%7D"
        in (first.path)
    )
    assert "after=QUZURVI" in second.path
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"  # never in the URL
    assert TOKEN not in first.path


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with Sandbox(seed=4, leads=200, tokens={"meta": TOKEN}, now=now) as sandbox:
        sandbox.set_rate_limit("meta", 0, 1)
        yield sandbox


def test_a_second_pull_rereads_recent_days_and_keeps_only_changes(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the sandbox ad account, pulled once into a warehouse on 2026-05-01 at 09:00
    monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)
    cfg = config(sb.urls["meta"], ad_account_id=META_AD_ACCOUNT_ID, insights_lookback_days=3)
    client = meta.open_client(cfg)
    client.limiters = {}
    stream = meta.STREAMS["ad_insights"]
    today = {"value": date(2026, 5, 1)}
    real_range = meta.insights_range
    monkeypatch.setattr(
        meta, "insights_range", lambda c, w, _today: real_range(c, w, today["value"])
    )

    def pages(window: PullWindow, partition: str | None) -> Iterator[Page]:
        return meta.pull(client, cfg, "ad_insights", window, partition)

    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    as_of = datetime(2026, 5, 1, 9, 0)
    with warehouse.connect() as con:
        first = land(
            con, stream, pages, meta.partitions(cfg, "ad_insights"),
            lookback=timedelta(0), run_id="r1", as_of=as_of,
        )  # fmt: skip
        # THEN a year back to the world's first day: 3 campaigns a day, today's spend so far
        days = con.execute("select count(distinct record_updated_at) from raw.meta__ad_insights")
        n_days = days.fetchone()[0]  # type: ignore[index]
        assert first.new_versions == first.pulled == 3 * n_days > 300
        assert read_cursor(con, "meta", f"ad_insights:act_{META_AD_ACCOUNT_ID}") == datetime(
            2026, 5, 1
        )
        # WHEN the clock moves 6 hours (today's spend grows) and the next pull runs
        sb.advance_clock(timedelta(hours=6))
        second = land(
            con, stream, pages, meta.partitions(cfg, "ad_insights"),
            lookback=timedelta(0), run_id="r2", as_of=as_of + timedelta(hours=6),
        )  # fmt: skip
        # THEN it re-read the 3 lookback days and today, and only today's rows are new versions
        assert second.pulled == 3 * 4
        changed = con.execute(
            "select distinct cast(record_updated_at as date) from raw.meta__ad_insights "
            "where _run_id = 'r2'"
        ).fetchall()
        assert changed == [(date(2026, 5, 1),)]
        assert second.new_versions == 3
        payloads = [
            json.loads(p)
            for (p,) in con.execute(
                "select payload from raw.meta__ad_insights where record_id like '%:2026-05-01' "
                "order by _loaded_at"
            ).fetchall()
        ]
    # AND the newer versions of today (loaded last) spent more
    assert len(payloads) == 6
    assert sum(float(p["spend"]) for p in payloads[3:]) > sum(
        float(p["spend"]) for p in payloads[:3]
    )
