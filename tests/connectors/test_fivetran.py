"""HubSpot and Salesforce read from the tables Fivetran loads (`loader: fivetran`,
connectors/fivetran): the real leadflow.pipeline.pull_source and staging step on Fivetran's own
table shapes (tests/fixtures/fivetran_seeds, the integration-test seeds of Fivetran's dbt packages).

One module-scoped world serves most tests (the staging step imports Great Expectations: seconds):
the seeds loaded into the schemas `hubspot` and `salesforce` of a temporary warehouse, with these
edits, each standing for something a real Fivetran table holds and the seeds do not:
- HubSpot contacts: a `property_lastmodifieddate` column (the cursor; the seed trims it) as text in
  five forms ('...T...000Z', '2020-07-15 4:46:01', '2021-03-21 14:33:30', '...+02:00', epoch
  milliseconds); valid emails on four contacts (the seed's are hashes); 46897301 deleted
  (`_fivetran_deleted`); `property_createdate` as text, 'sometime in 2021' on 55703851; deal
  1244495215 associated with two contacts (the seed's associations name deals it does not have).
- Salesforce: contact 0031G00000rfAvuQAE deleted (`is_deleted` 'TRUE', a text column in the seed);
  the account of contact 0031G00000qAfq1QAC named.
Then: pull both sources, stage; pull again (nothing changed); change one HubSpot contact and one
Salesforce contact with their cursors, and pull a third time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from connectors import hubspot, salesforce
from connectors.fivetran import settings as fivetran_settings
from connectors.streams import PullWindow
from leadflow import pipeline
from leadflow.config import ConfigError, Settings, load_settings, parse_settings
from leadflow.landing import LandResult

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "fivetran_seeds"
AS_OF = datetime(2026, 6, 1, 9, 0)
HUBSPOT_TABLES = {
    "contact": "contact_data",
    "owner": "owner_data",
    "deal": "deal_data",
    "company": "company_data",
    "deal_contact": "deal_contact_data",
}
SALESFORCE_TABLES = {
    "lead": "sf_lead_data",
    "contact": "sf_contact_data",
    "opportunity": "sf_opportunity_data",
    "opportunity_history": "sf_opportunity_history_data",
    "user": "sf_user_data",
    "account": "sf_account_data",
}
MERGED_INTO = "78971951"  # its property_hs_merged_object_ids: 76340251;46897301;76226001
HUBSPOT_DELETED = "46897301"
HUBSPOT_BAD_DATE = "55703851"
HUBSPOT_CHANGED = "76226001"
SF_DELETED = "0031G00000rfAvuQAE"
SF_CHANGED = "0031G00000qAfq1QAC"


def write_config(tmp: Path, sources: dict[str, Any]) -> Settings:
    config = {
        "warehouse": {"path": "warehouse.duckdb"},
        "sandbox": {"embedded": False},
        "sources": sources,
    }
    path = tmp / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)


def load_seeds(
    con: duckdb.DuckDBPyConnection,
    *,
    hubspot_schema: str | None = "hubspot",
    salesforce_schema: str | None = "salesforce",
) -> None:
    """The seeds, as published, into tables named as Fivetran names them."""
    for schema, folder, tables in (
        (hubspot_schema, "hubspot", HUBSPOT_TABLES),
        (salesforce_schema, "salesforce", SALESFORCE_TABLES),
    ):
        if schema is None:
            continue
        con.execute(f"create schema if not exists {schema}")
        for table, seed in tables.items():
            con.execute(
                f'create table {schema}."{table}" as select * from read_csv(?)',
                [str(SEEDS / folder / f"{seed}.csv")],
            )


def edit_like_a_real_connector(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        alter table hubspot.contact add column property_lastmodifieddate varchar;
        update hubspot.contact
            set property_lastmodifieddate = strftime(property_createdate, '%Y-%m-%dT%H:%M:%S.000Z');
        update hubspot.contact set property_lastmodifieddate = '2020-07-15 4:46:01'
            where id = 36842001;
        update hubspot.contact set property_lastmodifieddate = '2021-03-21 14:33:30'
            where id = 76340251;
        update hubspot.contact set property_lastmodifieddate = '2021-04-01T19:32:47+02:00'
            where id = 78971951;
        update hubspot.contact
            set property_lastmodifieddate = cast(epoch_ms(property_createdate) as varchar)
            where id = 33419651;
        alter table hubspot.contact alter property_createdate type varchar;
        update hubspot.contact set property_createdate = 'sometime in 2021' where id = 55703851;
        update hubspot.contact set property_email = 'lead' || id || '@example.com'
            where id in (78971951, 76340251, 36842001, 55703851);
        update hubspot.contact set _fivetran_deleted = true, _fivetran_synced = '2021-04-05 08:00:00'
            where id = 46897301;
        update salesforce.contact set is_deleted = 'TRUE' where id = '0031G00000rfAvuQAE';
        update salesforce.contact set is_deleted = 'FALSE' where id <> '0031G00000rfAvuQAE';
        insert into salesforce.account (id, name) values ('0011G00000eNyiXQAS', 'Acme Analytics');
        insert into hubspot.deal_contact (contact_id, deal_id, type_id, category) values
            (78971951, 1244495215, 3, 'HUBSPOT_DEFINED'),
            (76340251, 1244495215, 3, 'HUBSPOT_DEFINED'),
            (76340251, 1244495215, 5, 'HUBSPOT_DEFINED');
        """
    )


def change_two_contacts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        update hubspot.contact set property_jobtitle = 'Head of RevOps',
            property_lastmodifieddate = '2026-05-30T10:00:00Z' where id = 76226001;
        update salesforce.contact set title = 'VP Sales',
            system_modstamp = timestamp '2026-05-30 10:00:00' where id = '0031G00000qAfq1QAC';
        """
    )


def pull_all(settings: Settings, run_id: str) -> list[LandResult]:
    pipeline.start_run(settings, run_id, AS_OF)
    return [
        *pipeline.pull_source(settings, "hubspot", run_id, AS_OF),
        *pipeline.pull_source(settings, "salesforce", run_id, AS_OF),
    ]


def new_versions(results: list[LandResult]) -> dict[str, int]:
    return {f"{r.source}.{r.stream}": r.new_versions for r in results if r.new_versions}


@dataclass(frozen=True)
class World:
    settings: Settings
    first: list[LandResult]
    second: list[LandResult]
    third: list[LandResult]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    # GIVEN Fivetran's HubSpot and Salesforce tables in the warehouse, and both sources set to
    # read them: HubSpot's base_url at a port nothing listens on, Salesforce without one, and no
    # token anywhere (no API call may be made)
    patch = pytest.MonkeyPatch()
    patch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    patch.delenv("SALESFORCE_ACCESS_TOKEN", raising=False)
    tmp = tmp_path_factory.mktemp("fivetran")
    settings = write_config(
        tmp,
        {
            "hubspot": {"loader": "fivetran", "base_url": "http://127.0.0.1:9"},
            "salesforce": {"loader": "fivetran", "fivetran": {"schema": "salesforce"}},
        },
    )
    pipeline.warehouse(settings).ensure_schema()
    with pipeline.warehouse(settings).connect() as con:
        load_seeds(con)
        edit_like_a_real_connector(con)
    try:
        # WHEN the pipeline pulls and stages them, pulls again, and pulls once more after two
        # contacts changed
        first = pull_all(settings, "ft-1")
        pipeline.stage_records(settings, "ft-1", AS_OF)
        second = pull_all(settings, "ft-2")
        with pipeline.warehouse(settings).connect() as con:
            change_two_contacts(con)
        third = pull_all(settings, "ft-3")
    finally:
        patch.undo()
    return World(settings, first, second, third)


def query(world: World, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with pipeline.warehouse(world.settings).connect() as con:
        return con.execute(sql, params or []).fetchall()


def raw_payload(world: World, table: str, record_id: str, run_id: str = "ft-1") -> dict[str, Any]:
    rows = query(
        world,
        f"select payload from raw.{table} where record_id = ? and _run_id = ?",
        [record_id, run_id],
    )
    assert len(rows) == 1, rows
    payload: dict[str, Any] = json.loads(rows[0][0])
    return payload


# --------------------------------------------------------------------------- the first pull


@pytest.mark.parametrize(
    ("raw", "fivetran_table", "id_column"),
    [
        ("hubspot__contacts", "hubspot.contact", "id"),
        ("hubspot__owners", "hubspot.owner", "owner_id"),
        ("hubspot__deals", "hubspot.deal", "deal_id"),
        ("hubspot__companies", "hubspot.company", "id"),
        ("salesforce__leads", "salesforce.lead", "id"),
        ("salesforce__contacts", "salesforce.contact", "id"),
        ("salesforce__opportunities", "salesforce.opportunity", "id"),
        ("salesforce__opportunity_history", "salesforce.opportunity_history", "id"),
        ("salesforce__users", 'salesforce."user"', "id"),
    ],
)
def test_every_fivetran_row_is_one_raw_record(
    world: World, raw: str, fivetran_table: str, id_column: str
) -> None:
    # THEN each row of the Fivetran table is one record of the stream's raw table, by its id
    expected = {str(r[0]) for r in query(world, f"select {id_column} from {fivetran_table}")}
    landed = query(
        world, f"select record_id, count(*) from raw.{raw} where _run_id = 'ft-1' group by 1"
    )
    by_id = dict(landed)
    if raw == "salesforce__opportunity_history":  # one stage entered per history-mode version
        by_id = {key.split("@")[0]: n for key, n in by_id.items()}
    assert set(by_id) == expected
    assert set(by_id.values()) == {1}


def test_each_lead_record_is_a_lead_record_or_quarantined_with_a_reason(world: World) -> None:
    rows = query(
        world,
        """
        with raw_records as (
            select 'hubspot' as source, 'contacts' as stream, record_id from raw.hubspot__contacts
            union all select 'salesforce', 'leads', record_id from raw.salesforce__leads
            union all select 'salesforce', 'contacts', record_id from raw.salesforce__contacts
        )
        select r.source, r.stream, r.record_id, l.record_key is not null,
            coalesce(max(json_array_length(q.reasons)), 0)
        from raw_records r
        left join ops.lead_records l
            on l.record_key = r.source || ':' || r.stream || ':' || r.record_id
        left join ops.quarantine q
            on q.source = r.source and q.stream = r.stream and q.record_id = r.record_id
        group by all
        """,
    )
    assert len(rows) == 22 + 1 + 4
    unplaced = [r for r in rows if not r[3] and r[4] == 0]
    assert unplaced == []
    assert {r[2] for r in rows if r[3]} == {
        MERGED_INTO,
        "76340251",
        "36842001",
        "00Q1G00000nDnM5UAK",  # the lead, h@gmail.com
        SF_CHANGED,  # hi@google.com
    }


def test_hashed_emails_are_quarantined_with_their_reason(world: World) -> None:
    reasons = query(
        world,
        "select reasons from ops.quarantine where source = 'hubspot' and record_id = '33419651'",
    )
    assert json.loads(reasons[0][0]) == [
        "the email is not a valid address",
        "no valid email or phone number to reach the lead",
    ]


def test_merged_ids_land_as_hubspot_sends_them(world: World) -> None:
    payload = raw_payload(world, "hubspot__contacts", MERGED_INTO)
    assert payload["properties"]["hs_merged_object_ids"] == "76340251;46897301;76226001"
    merged = query(
        world,
        "select crm_merged_ids from ops.lead_records where record_key = ?",
        [f"hubspot:contacts:{MERGED_INTO}"],
    )
    assert merged == [("76340251;46897301;76226001",)]


def test_a_contact_fivetran_marks_deleted_lands_as_hubspots_archived_contact(
    world: World,
) -> None:
    rows = query(
        world,
        "select _partition, payload from raw.hubspot__contacts where record_id = ?",
        [HUBSPOT_DELETED],
    )
    assert [r[0] for r in rows] == ["archived"]
    payload = json.loads(rows[0][1])
    assert payload["archived"] is True
    assert payload["archivedAt"] == "2021-04-05T08:00:00.000Z"  # when Fivetran synced it
    assert hubspot.parse_contact(payload).deleted_at_source is True
    reasons = query(
        world, "select reasons from ops.quarantine where record_id = ?", [HUBSPOT_DELETED]
    )
    assert any("deleted in the CRM" in r for r in json.loads(reasons[0][0]))


def test_a_salesforce_row_deleted_as_text_true_is_deleted(world: World) -> None:
    payload = raw_payload(world, "salesforce__contacts", SF_DELETED)
    assert payload["IsDeleted"] is True
    reasons = query(world, "select reasons from ops.quarantine where record_id = ?", [SF_DELETED])
    assert any("deleted in the CRM" in r for r in json.loads(reasons[0][0]))
    others = query(
        world,
        "select distinct payload->>'IsDeleted' from raw.salesforce__contacts where record_id <> ?",
        [SF_DELETED],
    )
    assert others == [("false",)]


def test_an_unreadable_creation_time_lands_and_is_quarantined_with_the_reason(
    world: World,
) -> None:
    payload = raw_payload(world, "hubspot__contacts", HUBSPOT_BAD_DATE)
    assert payload["properties"]["createdate"] is None
    assert payload["_leadflow_unreadable"] == ["properties.createdate"]
    reasons = query(
        world, "select reasons from ops.quarantine where record_id = ?", [HUBSPOT_BAD_DATE]
    )
    assert json.loads(reasons[0][0]) == ["the record has no readable creation time"]


@pytest.mark.parametrize(
    ("record_id", "cursor"),
    [
        pytest.param("79092001", datetime(2021, 4, 2, 1, 12, 17), id="iso-with-Z"),
        pytest.param("36842001", datetime(2020, 7, 15, 4, 46, 1), id="one-digit-hour"),
        pytest.param("76340251", datetime(2021, 3, 21, 14, 33, 30), id="space-separated"),
        pytest.param("78971951", datetime(2021, 4, 1, 17, 32, 47), id="offset-honoured"),
        pytest.param("33419651", datetime(2020, 6, 1, 21, 13, 9), id="epoch-ms"),
    ],
)
def test_every_timestamp_form_reads_as_the_same_cursor(
    world: World, record_id: str, cursor: datetime
) -> None:
    rows = query(
        world,
        "select record_updated_at, payload->'properties'->>'lastmodifieddate' "
        "from raw.hubspot__contacts where record_id = ? and _run_id = 'ft-1'",
        [record_id],
    )
    assert rows == [(cursor, cursor.strftime("%Y-%m-%dT%H:%M:%S.000Z"))]


def test_a_hubspot_contact_parses_as_the_api_contact_does(world: World) -> None:
    record = hubspot.parse_contact(raw_payload(world, "hubspot__contacts", MERGED_INTO))
    assert record.record_id == MERGED_INTO
    assert record.email == f"lead{MERGED_INTO}@example.com"
    assert record.company == "SampleCompany"
    assert record.created_at == datetime(2021, 4, 1, 17, 32, 47)
    assert record.crm_merged_ids == ("76340251", "46897301", "76226001")
    assert record.unsubscribed is None  # the table has no hs_email_optout: it says nothing


def test_salesforce_rows_parse_as_the_api_records_do(world: World) -> None:
    lead = salesforce.parse_lead(raw_payload(world, "salesforce__leads", "00Q1G00000nDnM5UAK"))
    assert (lead.email, lead.last_name, lead.company) == ("h@gmail.com", "Croc", "Z")
    assert lead.crm_owner_id == "00537000003tmTnAAI"
    assert lead.updated_at == datetime(2019, 11, 11, 17, 23, 34)
    assert lead.unsubscribed is False
    payload = raw_payload(world, "salesforce__contacts", SF_CHANGED)
    assert payload["attributes"]["type"] == "Contact"
    contact = salesforce.parse_contact(payload)
    assert (contact.email, contact.company) == ("hi@google.com", "Acme Analytics")
    assert contact.crm_owner_id == "0051G000005MreQAC"


def test_owner_id_and_user_id_stay_apart(world: World) -> None:
    payload = raw_payload(world, "hubspot__owners", "44023296")
    assert (payload["id"], payload["userId"]) == ("44023296", 12345)
    assert payload["archived"] is False


def test_a_deal_carries_its_contacts_as_the_api_pull_adds_them(world: World) -> None:
    deals = {
        deal_id: json.loads(payload)["associations"]["contacts"]
        for deal_id, payload in query(
            world, "select record_id, payload from raw.hubspot__deals where _run_id = 'ft-1'"
        )
    }
    assert deals.pop("1244495215") == [
        {
            "toObjectId": 76340251,
            "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None},
                {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": None},
            ],
        },
        {
            "toObjectId": 78971951,
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}],
        },
    ]
    assert set(map(len, deals.values())) == {0}


def test_history_mode_opportunities_land_as_stage_history(world: World) -> None:
    payload = raw_payload(
        world, "salesforce__opportunity_history", "006q000000HcZXXAA3@2019-04-03T18:36:06.000000"
    )
    assert payload["OpportunityId"] == "006q000000HcZXXAA3"
    assert payload["CreatedDate"] == "2019-04-03T18:36:06.000+0000"
    assert payload["StageName"] == "tXi3M8u3iPxq0ggxTSxMKw=="


# --------------------------------------------------------------------------- the next pulls


def test_a_second_pull_lands_nothing_new(world: World) -> None:
    assert new_versions(world.first)
    assert new_versions(world.second) == {}


def test_an_incremental_pull_lands_exactly_the_changed_rows(world: World) -> None:
    assert new_versions(world.third) == {"hubspot.contacts": 1, "salesforce.contacts": 1}
    landed = query(world, "select record_id from raw.hubspot__contacts where _run_id = 'ft-3'")
    assert landed == [(HUBSPOT_CHANGED,)]
    landed = query(world, "select record_id from raw.salesforce__contacts where _run_id = 'ft-3'")
    assert landed == [(SF_CHANGED,)]
    cursors = dict(query(world, "select source || '.' || stream, cursor_value from ops.sync_state"))
    assert cursors["hubspot.contacts"] == "2026-05-30T10:00:00"
    assert cursors["salesforce.contacts"] == "2026-05-30T10:00:00"


# --------------------------------------------------------------------------- paging, errors


@pytest.mark.parametrize("database", [None, "fivetran.duckdb"], ids=["warehouse", "attached"])
def test_pages_are_bounded_and_lose_nothing_at_ties(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str | None
) -> None:
    # GIVEN pages of 3 rows, and contacts sharing their cursor value (a bulk import), in the
    # warehouse or in a DuckDB file of their own (copied to a temporary table, then paged)
    settings = write_config(
        tmp_path, {"salesforce": {"loader": "fivetran", "fivetran": {"database": database}}}
    )
    pipeline.warehouse(settings).ensure_schema()
    with duckdb.connect(str(tmp_path / (database or "warehouse.duckdb"))) as con:
        load_seeds(con, hubspot_schema=None)
        con.execute(
            "insert into salesforce.contact (id, system_modstamp, last_name) "
            "select 'zz' || range, timestamp '2019-11-11 17:23:34', 'Tie' from range(7)"
        )
    monkeypatch.setattr(fivetran_settings, "PAGE_ROWS", 3)
    from connectors import fivetran

    source = fivetran.reader("salesforce", warehouse=settings.warehouse_path, root=tmp_path)
    config = settings.sources.salesforce
    client = source.open_client(config)
    try:
        # WHEN the contacts are read from the start
        pages = list(source.pull(client, config, "contacts", PullWindow(datetime(2000, 1, 1))))
    finally:
        client.close()
    # THEN no page holds more than 3, every contact comes once, and the last page says so
    assert max(len(p.records) for p in pages) == 3
    ids = [r["Id"] for p in pages for r in p.records]
    assert len(ids) == len(set(ids)) == 4 + 7
    assert [p.last for p in pages] == [False] * (len(pages) - 1) + [True]


def test_an_attached_duckdb_file_is_read(tmp_path: Path) -> None:
    # GIVEN Fivetran's HubSpot tables in a DuckDB file of their own, named relative to the config
    with duckdb.connect(str(tmp_path / "fivetran.duckdb")) as con:
        load_seeds(con, salesforce_schema=None)
    settings = write_config(
        tmp_path, {"hubspot": {"loader": "fivetran", "fivetran": {"database": "fivetran.duckdb"}}}
    )
    # WHEN the source is pulled
    results = pull_all_of(settings, "hubspot")
    # THEN its rows land in the warehouse
    assert {r.stream: r.new_versions for r in results} == {
        "contacts": 22,
        "owners": 100,
        "deals": 44,
        "companies": 24,
        # the stage histories have no Fivetran table mapped: not read (connectors/fivetran)
        "contact_lifecycle_history": 0,
        "deal_stage_history": 0,
    }


def pull_all_of(settings: Settings, source: str) -> list[LandResult]:
    pipeline.start_run(settings, "ft-x", AS_OF)
    return pipeline.pull_source(settings, source, "ft-x", AS_OF)


@pytest.mark.parametrize(
    ("fivetran", "drop", "expected"),
    [
        pytest.param(
            {},
            "owner",
            "sources.hubspot.fivetran: no table hubspot.owner in the LeadFlow warehouse",
            id="missing-table",
        ),
        pytest.param(
            {"schema": "hubspot_eu"},
            None,
            "sources.hubspot.fivetran.schema: no schema 'hubspot_eu' in the LeadFlow warehouse",
            id="missing-schema",
        ),
        pytest.param(
            {"database": "elsewhere.duckdb"},
            None,
            "sources.hubspot.fivetran.database: no DuckDB file at",
            id="missing-file",
        ),
        pytest.param(
            {"database": "postgresql://leadflow@127.0.0.1:9/fivetran"},
            None,
            "sources.hubspot.fivetran.database: ",
            id="postgres-offline",
        ),
    ],
)
def test_tables_not_where_the_config_says_are_one_clear_line(
    tmp_path: Path, fivetran: dict[str, str], drop: str | None, expected: str
) -> None:
    settings = write_config(tmp_path, {"hubspot": {"loader": "fivetran", "fivetran": fivetran}})
    pipeline.warehouse(settings).ensure_schema()
    with pipeline.warehouse(settings).connect() as con:
        load_seeds(con, salesforce_schema=None)
        if drop:
            con.execute(f"drop table hubspot.{drop}")
    with pytest.raises(ConfigError) as raised:
        pull_all_of(settings, "hubspot")
    message = str(raised.value)
    assert message.startswith(expected)
    assert "\n" not in message
    with pipeline.warehouse(settings).connect() as con:  # nothing landed
        assert con.execute("select count(*) from raw.hubspot__contacts").fetchone() == (0,)


@pytest.mark.parametrize(
    ("sources", "error"),
    [
        pytest.param({"salesforce": {"loader": "fivetran"}}, None, id="fivetran-no-base-url"),
        pytest.param(
            {"salesforce": {"loader": "api"}},
            "sources.salesforce: base_url is required with loader api",
            id="api-no-base-url",
        ),
        pytest.param({"salesforce": {}}, "base_url is required", id="default-loader-no-base-url"),
        pytest.param(
            {"salesforce": {"base_url": "https://acme.my.salesforce.com"}}, None, id="api"
        ),
        pytest.param(
            {"hubspot": {"loader": "fivetran", "fivetran": {"database": "postgresql://u:pw@h/db"}}},
            "sources.hubspot.fivetran.database: the URL holds a password",
            id="password-in-url",
        ),
        pytest.param(
            {"hubspot": {"loader": "fivetran", "fivetran": {"schema": "hubspot; drop"}}},
            "sources.hubspot.fivetran.schema: a schema name is letters",
            id="schema-not-a-name",
        ),
        pytest.param(
            {"hubspot": {"loader": "stitch"}},
            "sources.hubspot.loader: Input should be 'api' or 'fivetran'",
            id="unknown-loader",
        ),
    ],
)
def test_loader_config(sources: dict[str, Any], error: str | None) -> None:
    if error is None:
        parsed = parse_settings({"sources": sources})
        assert parsed.sources.enabled()
        return
    with pytest.raises(ConfigError) as raised:
        parse_settings({"sources": sources})
    assert error in str(raised.value)


def test_the_default_schema_is_the_source_name() -> None:
    parsed = parse_settings(
        {"sources": {"hubspot": {"loader": "fivetran"}, "salesforce": {"loader": "fivetran"}}}
    )
    assert parsed.sources.hubspot is not None and parsed.sources.salesforce is not None
    assert parsed.sources.hubspot.fivetran.schema_for("hubspot") == "hubspot"
    assert parsed.sources.salesforce.fivetran.schema_for("salesforce") == "salesforce"
