"""One lead, two routes: a submission Google delivered by the lead form webhook (accepted and
landed as `leadflow serve` does) and the same submission pulled from the Google Ads API become the
same lead with the same record id, and one raw record, whichever came first."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors import google_ads
from connectors.google_ads.models import from_search_row
from intake.webhooks import Request, accept
from leadflow.landing import land, land_records
from leadflow.warehouse import Warehouse
from tests.connectors.google_ads.conftest import NOW, STREAM, Ads, naive

KEY = "form-webhook-key"
LEAD_FIELDS = (
    "record_id", "created_at", "email", "phone", "first_name", "last_name", "company",
    "job_title", "country", "form_id",
)  # fmt: skip


def delivered(ads: Ads, lead_id: str) -> tuple[dict[str, Any], str | None]:
    """What the intake stores for the webhook's delivery of a submission: (payload, partition)."""
    body = json.dumps(ads.account.webhook_body(lead_id, KEY)).encode()
    [arrival] = accept("google_ads", Request("POST", "https://x/webhooks/google_ads", {}, body), KEY, window_s=300)  # fmt: skip
    assert arrival.payload is not None
    return arrival.payload, arrival.partition


def pulled(ads: Ads) -> dict[str, dict[str, Any]]:
    return {r["lead_id"]: r for p in ads.pull() for r in p.records}


def lead(payload: dict[str, Any]) -> dict[str, Any]:
    record = asdict(google_ads.parse_lead(payload))
    return {name: record[name] for name in LEAD_FIELDS}


def test_every_submission_is_the_same_lead_by_webhook_and_by_pull(ads: Ads) -> None:
    # GIVEN every submission of the account, as the webhook delivered it and as a pull read it
    by_pull = pulled(ads)
    assert len(by_pull) == 60
    for sub in ads.account.submissions:
        webhook_payload, partition = delivered(ads, sub.id)
        # THEN both parse to one lead: same id, person, form and submission time
        assert lead(webhook_payload) == lead(by_pull[sub.id]), sub.id
        assert partition == str(sub.form.asset_id) == lead(by_pull[sub.id])["form_id"]
        # AND the webhook alone says whether a lead is Google's test data; a pull leaves it unsaid
        assert google_ads.parse_lead(webhook_payload).is_test is False
        assert google_ads.parse_lead(by_pull[sub.id]).is_test is None


@pytest.mark.parametrize(
    "webhook_first", [True, False], ids=["webhook-then-pull", "pull-then-webhook"]
)
def test_a_lead_that_came_both_ways_is_one_raw_record(
    ads: Ads, tmp_path: Path, webhook_first: bool
) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.ensure_schema()
    stream = google_ads.STREAMS[STREAM]
    sub = ads.account.submissions[0]
    payload, partition = delivered(ads, sub.id)
    cfg = ads.source()
    with warehouse.connect() as con, google_ads.open_client(cfg) as client:

        def webhook() -> int:
            return land_records(con, stream, [payload], partition, run_id="intake")

        def pull() -> int:
            return land(
                con,
                stream,
                lambda window, part: google_ads.pull(client, cfg, STREAM, window, part),
                [None],
                lookback=timedelta(minutes=10),
                run_id="pull",
                as_of=naive(NOW),
            ).new_versions

        # WHEN the lead lands by one route, then by the other
        first, second = (webhook(), pull()) if webhook_first else (pull(), webhook())
        rows = con.execute(
            "select record_id, payload from raw.google_ads__lead_form_submissions "
            "where record_id = ?",
            [sub.id],
        ).fetchall()
        total = con.execute("select count(*) from raw.google_ads__lead_form_submissions").fetchone()
    # THEN the second route adds nothing for it: one raw record, the copy that came first
    assert len(rows) == 1 and total == (60,)
    stored = json.loads(rows[0][1])
    assert ("_received_at" in stored) is webhook_first
    assert ("_resource_name" in stored) is not webhook_first
    assert (first, second) == ((1, 59) if webhook_first else (60, 0))


def test_a_row_google_changed_in_shape_still_reads_without_error(ads: Ads) -> None:
    # GIVEN a search row with fields of the wrong type and unknown keys (Google adds fields)
    row = {
        "leadFormSubmissionData": {
            "id": 123,
            "asset": "customers/1/assets/not-a-number",
            "campaign": ["customers/1/campaigns/2"],
            "submissionDateTime": "yesterday",
            "leadFormSubmissionFields": [None, {"fieldType": "EMAIL"}, "x"],
            "customLeadFormSubmissionFields": {"questionText": "q"},
            "futureField": {"a": 1},
        }
    }
    payload = from_search_row(row)
    # THEN what is readable is kept and the rest is left for validation to judge
    assert payload["lead_id"] == 123 and payload["lead_submit_time"] == "yesterday"
    assert "form_id" not in payload and "campaign_id" not in payload
    record = google_ads.parse_lead(payload)
    assert (record.record_id, record.email, record.created_at) == ("123", None, None)
    assert from_search_row("not a row") == {"user_column_data": []}
