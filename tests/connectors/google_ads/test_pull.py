"""Pulling Google Ads lead form submissions over real HTTP from the sandbox: the account's time
zone first, nextPageToken paging, the webhook's payload shape, incremental windows with lookback
landed into a warehouse, 429s with Google's retry delay, the day's operations spent, auth,
manager accounts, versions and what an error message may say."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors import google_ads
from connectors.google_ads import settings
from connectors.google_ads.client import gaql_date_time
from connectors.http import AuthError, FatalError
from connectors.streams import Page, PullWindow
from leadflow.landing import LandResult, land, read_cursor
from leadflow.warehouse import Warehouse
from sandbox.google_ads import DEMO, MANAGER_ID, PRICING
from tests.connectors.conftest import Canned, ScriptedServer
from tests.connectors.google_ads.conftest import FAST, NOW, PAGE, STREAM, TOKEN_ENV, Ads, naive

NEW_YORK = ZoneInfo("America/New_York")


def _ids(pages: list[Page]) -> list[str]:
    return [r["lead_id"] for p in pages for r in p.records]


def test_the_stream_declares_lead_id_submission_time_unsorted_and_immutable(ads: Ads) -> None:
    stream = google_ads.STREAMS[STREAM]
    assert (stream.primary_key, stream.cursor_field) == ("lead_id", "lead_submit_time")
    assert (stream.sorted_by_cursor, stream.immutable) == (False, True)
    assert google_ads.partitions(ads.source(), STREAM) == [None]


def test_a_first_pull_asks_the_time_zone_then_pages_every_submission_once(ads: Ads) -> None:
    # GIVEN 60 submissions and pages of 7
    # WHEN the account is pulled from scratch
    pages = ads.pull()
    # THEN full pages then a short one hold every submission once, and only the last says so
    assert [len(p.records) for p in pages] == [PAGE] * 8 + [4]
    assert [p.last for p in pages] == [False] * 8 + [True]
    assert sorted(_ids(pages)) == sorted(ads.ids())
    # AND the first request asked the zone; every page after repeated the query with its token
    seen = list(ads.app.seen)
    assert seen[0].query == settings.TIME_ZONE_QUERY
    lead_queries = {s.query for s in seen[1:]}
    assert len(lead_queries) == 1 and " FROM lead_form_submission_data " in str(lead_queries)
    assert [s.page_token_sent for s in seen[1:]] == [False] + [True] * 8


def test_a_pulled_submission_lands_in_the_webhooks_shape(ads: Ads) -> None:
    # GIVEN a submission with a click id and an answer to the form's own question
    sub = next(s for s in ads.account.submissions if s.gclid and s.custom)
    # WHEN it is pulled
    [payload] = [r for p in ads.pull() for r in p.records if r["lead_id"] == sub.id]
    # THEN it is the body the webhook would deliver for it, less what only a delivery has (the
    # key, the schema version, the test flag, the columns' display names), plus where it came from
    body = ads.account.webhook_body(sub.id, "secret")
    for key in ("google_key", "api_version", "is_test"):
        body.pop(key)
    for column in body["user_column_data"]:
        if "column_id" in column:
            column.pop("column_name")
    body["_resource_name"] = f"customers/{ads.account.customer_id}/leadFormSubmissionData/{sub.id}"
    assert payload == body


def test_a_submission_google_wrote_without_values_still_lands_to_be_judged(ads: Ads) -> None:
    # GIVEN a submission with no answers and no click id
    bare = ads.account.add_submission(PRICING, {}, NOW - timedelta(hours=1))
    [payload] = [r for p in ads.pull() for r in p.records if r["lead_id"] == bare]
    # THEN it is landed with what Google gave (validation quarantines a lead without contact)
    assert payload["user_column_data"] == [] and "gcl_id" not in payload
    record = google_ads.parse_lead(payload)
    assert (record.email, record.phone, record.form_id) == (None, None, str(PRICING.asset_id))


# --------------------------------------------------------------------------- incremental


def _land(ads: Ads, warehouse: Warehouse, run: str, **config: Any) -> LandResult:
    cfg = ads.source(**config)
    with google_ads.open_client(cfg) as client, warehouse.connect() as con:

        def pages(window: PullWindow, partition: str | None) -> Iterator[Page]:
            return google_ads.pull(client, cfg, STREAM, window, partition)

        return land(
            con,
            google_ads.STREAMS[STREAM],
            pages,
            google_ads.partitions(cfg, STREAM),
            lookback=timedelta(minutes=cfg.lookback_minutes),
            run_id=run,
            as_of=naive(NOW + timedelta(days=1)),
        )


def _raw(warehouse: Warehouse) -> list[tuple[str, str]]:
    with warehouse.connect() as con:
        return con.execute(
            "select record_id, payload from raw.google_ads__lead_form_submissions"
        ).fetchall()


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    wh.ensure_schema()
    return wh


def test_a_late_submission_at_or_just_before_the_cursor_is_re_read_never_lost(
    ads: Ads, warehouse: Warehouse
) -> None:
    # GIVEN a first pull, whose cursor is the newest submission's time
    first = _land(ads, warehouse, "r1")
    newest = max(s.submitted_ms for s in ads.account.submissions)
    cursor = datetime.fromtimestamp(newest // 1000, UTC)  # Google writes whole seconds
    assert (first.new_versions, first.cursors) == (60, {STREAM: naive(cursor).isoformat()})
    # WHEN submissions show up in the API late: one at the cursor's very second, one five minutes
    # before it (inside the 10-minute lookback), and one after it
    at_cursor = ads.account.add_submission(DEMO, {"EMAIL": "tie@example.com"}, cursor)
    before = ads.account.add_submission(
        DEMO, {"EMAIL": "late@example.com"}, cursor - timedelta(minutes=5)
    )
    after = ads.account.add_submission(
        DEMO, {"EMAIL": "new@example.com"}, cursor + timedelta(minutes=1)
    )
    second = _land(ads, warehouse, "r2")
    # THEN all three land, and what the lookback re-read adds nothing
    landed = {record_id for record_id, _ in _raw(warehouse)}
    assert {at_cursor, before, after} <= landed and len(landed) == 63
    assert second.new_versions == 3 and second.pulled > 3
    # AND the filter started the lookback before the cursor, in the account's wall time
    since = gaql_date_time(cursor - timedelta(minutes=10), NEW_YORK)
    assert f"submission_date_time >= '{since}'" in str(ads.app.seen[-1].query)
    # AND a pull with nothing new changes nothing
    third = _land(ads, warehouse, "r3")
    assert third.new_versions == 0 and len(_raw(warehouse)) == 63


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(datetime(2026, 7, 1, 12, 0, 0, 700_000), "2026-07-01 08:00:00", id="summer"),
        pytest.param(datetime(2026, 3, 8, 7, 0), "2026-03-08 03:00:00", id="spring-forward"),
        pytest.param(datetime(2026, 11, 1, 4, 59, 59), "2026-11-01 00:59:59", id="before-the-autumn-hour"),
        pytest.param(datetime(2026, 11, 1, 7, 0), "2026-11-01 02:00:00", id="after-the-autumn-hour"),
        # inside the hour New York lives twice, the filter starts before its first pass
        pytest.param(datetime(2026, 11, 1, 5, 0), "2026-11-01 00:59:00", id="autumn-first-pass"),
        pytest.param(datetime(2026, 11, 1, 5, 30, 59, 999_999), "2026-11-01 00:59:59", id="autumn-first-pass-mid"),
        pytest.param(datetime(2026, 11, 1, 6, 15), "2026-11-01 00:59:00", id="autumn-second-pass"),
        pytest.param(datetime(2026, 11, 1, 6, 59, 59), "2026-11-01 00:59:59", id="autumn-second-pass-end"),
    ],
)  # fmt: skip
def test_a_filter_value_never_starts_after_its_moment_whatever_google_reads(
    moment: datetime, expected: str
) -> None:
    # WHEN a cursor (naive UTC) is written as the account's wall time
    text = gaql_date_time(moment, NEW_YORK)
    # THEN it is that wall time, or, where the wall time names two instants, the last wall time
    # before both: whichever instant Google reads, the filter starts at or before the moment
    assert text == expected
    wall = datetime.fromisoformat(text)
    for fold in (0, 1):
        named = wall.replace(tzinfo=NEW_YORK, fold=fold).astimezone(UTC)
        assert (
            moment.replace(tzinfo=UTC) - timedelta(hours=2) <= named <= moment.replace(tzinfo=UTC)
        )


# --------------------------------------------------------------------------- limits


def test_a_burst_429_is_retried_after_the_delay_google_names(ads: Ads) -> None:
    ads.app.faults.extend([429, 429])
    cfg = ads.source()
    slept: list[float] = []
    with google_ads.open_client(cfg) as client:
        client.sleep = slept.append
        pages = list(google_ads.pull(client, cfg, STREAM, PullWindow(None)))
    assert sorted(_ids(pages)) == sorted(ads.ids())
    assert slept == [1.0, 1.0]  # Google's retryDelay "1s", never less


def test_a_429_without_retry_after_waits_the_retry_delay_in_its_body(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "t")
    zone = {"results": [{"customer": {"resourceName": "customers/1", "timeZone": "UTC"}}]}
    burst = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                    "errors": [
                        {
                            "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                            "message": "Too many requests in a short amount of time.",
                            "details": {"quotaErrorDetails": {"retryDelay": "3s"}},
                        }
                    ],
                }
            ],
        }
    }
    scripted.script = [Canned(200, zone), Canned(429, burst), Canned(200, {"fieldMask": "x"})]
    cfg = google_ads.GoogleAdsSourceConfig(
        base_url=scripted.url, access_token_env=TOKEN_ENV, customer_id="1234567890", http=FAST
    )
    slept: list[float] = []
    with google_ads.open_client(cfg) as client:
        client.sleep = slept.append
        pages = list(google_ads.pull(client, cfg, STREAM, PullWindow(None)))
    # THEN the wait came from the body, and an answer without results is one empty last page
    assert slept == [3.0]
    assert [(p.records, p.last) for p in pages] == [([], True)]
    assert scripted.seen[-1].body["query"] == scripted.seen[-2].body["query"]


def test_spent_daily_operations_stop_the_pull_cleanly_and_a_later_run_resumes(
    ads: Ads, warehouse: Warehouse
) -> None:
    # GIVEN an allowance of three operations a day, two spent by a first run (zone, leads)
    ads.app.set_daily_operations(3)
    _land(ads, warehouse, "r1")
    with warehouse.connect() as con:
        cursor = read_cursor(con, "google_ads", STREAM)
    new = ads.account.add_submission(DEMO, {"EMAIL": "new@example.com"}, NOW)
    # WHEN the next run's zone query spends it and its lead query is refused for ~24 hours
    stopped = _land(ads, warehouse, "r2")
    # THEN the source stops with a reason that says what to do, and nothing moves
    assert stopped.stopped is not None and "operations are used up" in stopped.stopped
    assert "Explorer" in stopped.stopped and stopped.new_versions == 0
    with warehouse.connect() as con:
        assert read_cursor(con, "google_ads", STREAM) == cursor
    # AND once the day has passed, the next run lands what arrived meanwhile
    ads.app.ctx.clock.advance(86_400)
    resumed = _land(ads, warehouse, "r3")
    assert resumed.stopped is None and resumed.new_versions == 1
    assert new in {record_id for record_id, _ in _raw(warehouse)}


# --------------------------------------------------------------------------- auth and headers


def test_a_wrong_token_is_an_auth_error_that_names_the_fix_not_the_token(
    ads: Ads, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "ya29.wrong-token-value")
    with pytest.raises(AuthError) as caught:
        ads.pull()
    message = str(caught.value)
    assert "OAUTH_TOKEN_INVALID" in message and "access_token_env" in message
    assert "wrong-token-value" not in message


def test_an_account_behind_a_manager_needs_login_customer_id(ads: Ads) -> None:
    ads.account.direct_access = False
    with pytest.raises(AuthError, match="login_customer_id"):
        ads.pull()
    pages = ads.pull(login_customer_id="555-000-1234")
    assert sorted(_ids(pages)) == sorted(ads.ids())
    assert {s.login_customer_id for s in list(ads.app.seen)[-3:]} == {MANAGER_ID}


def test_a_sunset_version_is_fatal_and_says_to_move_api_version(ads: Ads) -> None:
    with pytest.raises(FatalError, match="api_version") as caught:
        ads.pull(api_version="v22")
    assert not isinstance(caught.value, AuthError)
    assert "UNSUPPORTED_VERSION" in str(caught.value)


def test_a_developer_token_is_sent_only_when_the_config_names_one(
    ads: Ads, monkeypatch: pytest.MonkeyPatch
) -> None:
    ads.pull()
    assert not any(s.developer_token_sent for s in ads.app.seen)
    monkeypatch.setenv("LEADFLOW_TEST_DEV_TOKEN", "legacy-dev-token")
    ads.app.seen.clear()
    ads.pull(developer_token_env="LEADFLOW_TEST_DEV_TOKEN")
    assert ads.app.seen and all(s.developer_token_sent for s in ads.app.seen)


def test_an_error_message_keeps_googles_words_never_the_value_that_caused_it(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "t")
    refusal = {
        "error": {
            "code": 400,
            "message": "Request contains an invalid argument.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                    "errors": [
                        {
                            "errorCode": {"queryError": "BAD_VALUE"},
                            "message": "Invalid value.",
                            "trigger": {"stringValue": "ana.souza@acme.example"},
                        }
                    ],
                }
            ],
        }
    }
    scripted.script = [Canned(400, refusal)]
    cfg = google_ads.GoogleAdsSourceConfig(
        base_url=scripted.url, access_token_env=TOKEN_ENV, customer_id="1234567890", http=FAST
    )
    with pytest.raises(FatalError) as caught, google_ads.open_client(cfg) as client:
        list(google_ads.pull(client, cfg, STREAM, PullWindow(None)))
    assert "queryError.BAD_VALUE" in str(caught.value) and "Invalid value." in str(caught.value)
    assert "ana.souza" not in str(caught.value)
