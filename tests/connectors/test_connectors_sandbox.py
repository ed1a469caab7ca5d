"""The connectors against the sandbox: paging to the end, cursors, retries, landing, pushing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import duckdb
import pytest
from pydantic import SecretStr

from connectors import hubspot, meta
from connectors.http import ApiClient, AuthError
from connectors.hubspot import client as hubspot_client
from connectors.hubspot import settings as hubspot_settings
from connectors.meta import client as meta_client
from connectors.reverse_etl import push_changed
from connectors.streams import Page, PullWindow, parse_timestamp
from connectors.sync import PushOutcome, SyncRow
from connectors.typeform import client as typeform_client
from leadflow.config import HttpSettings
from leadflow.landing import land, read_cursor
from leadflow.warehouse import utcnow
from sandbox import Sandbox

TOKENS = {
    "hubspot": "conn-hubspot-token",
    "meta": "conn-meta-token",
    "typeform": "conn-typeform-token",
}
FAST = HttpSettings(timeout_s=5, max_attempts=4, backoff_base_s=0.01, backoff_max_s=0.05)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=3, leads=160, tokens=TOKENS) as sandbox:
        for bucket in ("hubspot", "hubspot_search", "meta", "typeform"):
            sandbox.set_rate_limit(bucket, 0, 1)
        yield sandbox


def hs(sb: Sandbox) -> ApiClient:
    client = hubspot_client.make_client(sb.urls["hubspot"], SecretStr(TOKENS["hubspot"]), FAST)
    client.limiters = {}
    return client


def ids(pages: Iterator[Page], key: str = "id") -> list[str]:
    return [str(record[key]) for page in pages for record in page.records]


def test_hubspot_search_reads_every_contact_once_across_small_pages(sb: Sandbox) -> None:
    # GIVEN pages of 7 and a result cap lowered to 20, far below the number of contacts
    sb.knobs.hubspot_search_cap = 20
    try:
        pulled = ids(hubspot_client.search_modified_since(hs(sb), None, ("email",), limit=7))
    finally:
        sb.knobs.hubspot_search_cap = 10_000
    # THEN every contact came exactly once: the keyset never pages into the cap
    assert sorted(pulled) == sorted(c["id"] for c in sb.hubspot_contacts())
    assert len(pulled) == len(set(pulled)) > 20


def test_hubspot_search_since_a_cursor_reads_only_later_changes(sb: Sandbox) -> None:
    contacts = sb.hubspot_contacts()
    stamps = sorted(c["properties"]["lastmodifieddate"] for c in contacts)
    middle = parse_timestamp(stamps[len(stamps) // 2])
    assert middle is not None
    pulled = ids(hubspot_client.search_modified_since(hs(sb), middle, ("email",), limit=50))
    expected = [
        c["id"] for c in contacts if parse_timestamp(c["properties"]["lastmodifieddate"]) >= middle
    ]
    assert sorted(pulled) == sorted(expected)


def test_hubspot_rate_limit_and_server_errors_are_retried(sb: Sandbox) -> None:
    sb.inject_faults("hubspot", 429, 1, path_prefix=hubspot_settings.SEARCH_CONTACTS)
    sb.inject_faults("hubspot", 502, 1, path_prefix=hubspot_settings.SEARCH_CONTACTS)
    client = hs(sb)
    slept: list[float] = []
    client.sleep = slept.append
    pulled = ids(hubspot_client.search_modified_since(client, None, ("email",), limit=200))
    assert len(pulled) == len(sb.hubspot_contacts())
    assert slept and max(slept) >= 1  # the 429 carried Retry-After: 1


def test_meta_pages_through_every_lead_of_a_form(sb: Sandbox) -> None:
    client = meta_client.make_client(sb.urls["meta"], SecretStr(TOKENS["meta"]), FAST)
    client.limiters = {}
    form = "810000000000001"
    pulled = ids(meta_client.list_leads(client, "v21.0", form, None, limit=5))
    truth = [rid for (source, rid) in sb.world.truth if source == "meta"]
    everything = (
        ids(meta_client.list_leads(client, "v21.0", "810000000000002", None, limit=500)) + pulled
    )
    assert len(pulled) == len(set(pulled)) > 5
    assert sorted(everything) == sorted(truth)


def test_typeform_pages_with_before_tokens(sb: Sandbox) -> None:
    client = typeform_client.make_client(sb.urls["typeform"], SecretStr(TOKENS["typeform"]), FAST)
    client.limiters = {}
    pulled = ids(
        typeform_client.list_responses(client, "dEm0rQ", None, page_size=4), key="response_id"
    )
    pulled += ids(
        typeform_client.list_responses(client, "eB00kD", None, page_size=1000), key="response_id"
    )
    truth = [rid for (source, rid) in sb.world.truth if source == "typeform"]
    assert sorted(pulled) == sorted(truth)


def test_a_crash_mid_stream_never_moves_a_cursor_past_unsaved_rows(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    client = hs(sb)
    stream = hubspot.STREAMS["contacts"]

    def crashing(window: PullWindow, partition: str | None) -> Iterator[Page]:
        for n, page in enumerate(
            hubspot_client.search_modified_since(
                client, window.since, ("email", "lastmodifieddate"), 20
            )
        ):
            if n == 2:
                raise ConnectionError("killed mid-stream")
            yield page

    with pytest.raises(ConnectionError):
        land(con, stream, crashing, [None], lookback=timedelta(0), run_id="r1", as_of=utcnow())
    # THEN the cursor covers exactly the two committed pages (the stream is sorted)
    saved = con.execute(
        "select max(record_updated_at), count(*) from raw.hubspot__contacts"
    ).fetchone()
    assert saved is not None and 20 < saved[1] <= 40  # a tie re-read on page 2 is not stored twice
    assert read_cursor(con, "hubspot", "contacts") == saved[0]
    # WHEN the next run resumes from that cursor
    result = land(
        con,
        stream,
        lambda w, p: hubspot_client.search_modified_since(
            client, w.since, ("email", "lastmodifieddate"), 20
        ),
        [None],
        lookback=timedelta(0),
        run_id="r2",
        as_of=utcnow(),
    )
    # THEN everything is landed once; the tie on the cursor was re-read but not stored twice
    total = con.execute(
        "select count(*), count(distinct record_id) from raw.hubspot__contacts"
    ).fetchone()
    assert total == (len(sb.hubspot_contacts()), len(sb.hubspot_contacts()))
    assert result.pulled >= result.new_versions == len(sb.hubspot_contacts()) - saved[1]


def test_an_unsorted_stream_commits_its_cursor_with_the_last_page_only(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    client = meta_client.make_client(sb.urls["meta"], SecretStr(TOKENS["meta"]), FAST)
    client.limiters = {}

    def crashing(window: PullWindow, partition: str | None) -> Iterator[Page]:
        for n, page in enumerate(
            meta_client.list_leads(client, "v21.0", str(partition), window.since, 5)
        ):
            if n == 1:
                raise TimeoutError("killed")
            yield page

    with pytest.raises(TimeoutError):
        land(
            con,
            meta.STREAMS["leads"],
            crashing,
            ["810000000000001"],
            lookback=timedelta(0),
            run_id="r1",
            as_of=utcnow(),
        )
    assert con.execute("select count(*) from raw.meta__leads").fetchone() == (5,)
    assert read_cursor(con, "meta", "leads:810000000000001") is None


def test_push_acknowledges_good_rows_and_dead_letters_rejected_ones(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    # GIVEN 150 new contacts to create, one with an owner HubSpot does not know
    rows = [
        SyncRow(
            f"lead-{n}",
            "upsert",
            None,
            "leadflow_lead_id",
            f"lead-{n}",
            {
                "leadflow_lead_id": f"lead-{n}",
                "leadflow_score": str(n % 100),
                "hubspot_owner_id": "51000001" if n != 7 else "99999999",
            },
        )
        for n in range(150)
    ]
    client = hs(sb)
    sb.clear_request_log()

    def send(batch: list[SyncRow]) -> list:
        return hubspot.push_contacts(client, batch, 100)

    result = push_changed(
        con,
        "hubspot",
        rows,
        send,
        owned_properties=hubspot_settings.OWNED_PROPERTIES,
        batch_size=100,
        run_id="r1",
        as_of=utcnow(),
    )
    # THEN two requests (100 + 50), 149 acknowledged, one dead letter with HubSpot's reason
    batches = [entry for entry in sb.request_log if entry[2].endswith("/batch/upsert")]
    assert len(batches) == 2
    assert (result.pushed, result.failed) == (149, 1)
    dead = con.execute("select lead_id, error_category, retriable from ops.dead_letter").fetchall()
    assert dead == [("lead-7", "VALIDATION_ERROR/INVALID_OWNER_ID", False)]
    in_crm = {c["properties"].get("leadflow_lead_id") for c in sb.hubspot_contacts()}
    assert {f"lead-{n}" for n in range(150) if n != 7} <= in_crm
    # WHEN the same rows are pushed again
    again = push_changed(
        con,
        "hubspot",
        rows,
        send,
        owned_properties=hubspot_settings.OWNED_PROPERTIES,
        batch_size=100,
        run_id="r2",
        as_of=utcnow(),
    )
    # THEN nothing is sent: acknowledged rows are unchanged, the rejected one would fail the same way
    assert (again.pushed, again.failed, again.skipped_rejected) == (0, 0, 1)
    # AND once its payload is fixed it goes through and leaves the dead-letter table
    fixed = [
        SyncRow(
            "lead-7",
            "upsert",
            None,
            "leadflow_lead_id",
            "lead-7",
            {"leadflow_lead_id": "lead-7", "leadflow_score": "7", "hubspot_owner_id": "51000002"},
        )
    ]
    last = push_changed(
        con,
        "hubspot",
        fixed,
        send,
        owned_properties=hubspot_settings.OWNED_PROPERTIES,
        batch_size=100,
        run_id="r3",
        as_of=utcnow(),
    )
    assert last.pushed == 1
    assert con.execute("select count(*) from ops.dead_letter").fetchone() == (0,)


def test_each_batch_is_logged_as_sent_before_it_leaves(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN three contacts to create, in batches of two
    rows = [
        SyncRow(f"lead-{n}", "upsert", None, "email", f"p{n}@example.com", {"leadflow_score": "1"})
        for n in range(3)
    ]
    logged_when_sent: list[list[tuple[str, str]]] = []

    def send(batch: list[SyncRow]) -> list[PushOutcome]:
        logged_when_sent.append(
            con.execute("select lead_id, status from ops.push_log order by all").fetchall()
        )
        return [PushOutcome(r.lead_id, r.operation, ok=True, object_id=r.lead_id) for r in batch]

    push_changed(
        con,
        "hubspot",
        rows,
        send,
        owned_properties=hubspot_settings.OWNED_PROPERTIES,
        batch_size=2,
        run_id="r1",
        as_of=utcnow(),
    )
    # THEN each batch's `sent` rows were committed before it left (a run killed while HubSpot
    # answers leaves them behind for identity resolution), and each got its answer after
    assert logged_when_sent == [
        [("lead-0", "sent"), ("lead-1", "sent")],
        [
            ("lead-0", "ok"),
            ("lead-0", "sent"),
            ("lead-1", "ok"),
            ("lead-1", "sent"),
            ("lead-2", "sent"),
        ],
    ]
    assert con.execute(
        "select status, count(*) from ops.push_log group by status order by all"
    ).fetchall() == [("ok", 3), ("sent", 3)]


def test_a_batch_rejected_whole_is_split_until_the_bad_input_stands_alone(sb: Sandbox) -> None:
    good = [
        SyncRow(
            f"split-{n}",
            "upsert",
            None,
            "leadflow_lead_id",
            f"split-{n}",
            {"leadflow_lead_id": f"split-{n}"},
        )
        for n in range(5)
    ]
    bad = SyncRow(
        "split-bad",
        "upsert",
        None,
        "leadflow_lead_id",
        "split-bad",
        {"leadflow_lead_id": "split-bad", "no_such_property": "x"},
    )
    outcomes = {o.lead_id: o for o in hubspot.push_contacts(hs(sb), [*good, bad], 100)}
    assert all(outcomes[f"split-{n}"].ok for n in range(5))
    assert not outcomes["split-bad"].ok and "PROPERTY_DOESNT_EXIST" in outcomes["split-bad"].message


def test_typeform_and_meta_need_their_token(sb: Sandbox) -> None:
    client = typeform_client.make_client(sb.urls["typeform"], SecretStr("wrong-token-123"), FAST)
    with pytest.raises(AuthError) as err:
        list(typeform_client.list_responses(client, "dEm0rQ", None, 10))
    assert "AUTHENTICATION_FAILED" in str(err.value)
    assert "wrong-token-123" not in str(err.value)
    bad_meta = meta_client.make_client(sb.urls["meta"], SecretStr("wrong-meta-token"), FAST)
    with pytest.raises(AuthError, match="code 190") as meta_err:
        list(meta_client.list_leads(bad_meta, "v21.0", "810000000000001", None, 10))
    assert "wrong-meta-token" not in str(meta_err.value)
