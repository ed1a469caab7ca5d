"""`dbt docs generate` works offline and documents the marts; the exposures name what reads them.

Runs on a copy of the synced sandbox world (session fixture `synced_world`), whose marts the sync
built, so the catalog holds their real columns.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from leadflow.dbt import run_dbt
from leadflow.report import REPORT_MARTS
from tests.conftest import SyncedWorld


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def docs(synced_world: SyncedWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt_docs")
    path = tmp / "warehouse.duckdb"
    shutil.copyfile(synced_world.warehouse, path)
    target = tmp / "target"
    run_dbt(["docs", "generate", "--static"], warehouse_path=path, target_path=target)
    return target


def built_marts(synced_world: SyncedWorld) -> set[str]:
    with duckdb.connect(str(synced_world.warehouse), read_only=True) as con:
        return {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }


def test_the_catalog_documents_every_mart_with_its_columns(
    docs: Path, synced_world: SyncedWorld
) -> None:
    # GIVEN docs generated into a fresh target path
    catalog = load(docs / "catalog.json")
    manifest = load(docs / "manifest.json")
    marts = built_marts(synced_world)
    assert len(marts) >= 10

    # THEN the catalog has every mart the warehouse holds, with the columns it has there
    in_catalog = {
        node["metadata"]["name"]: node
        for node in catalog["nodes"].values()
        if node["metadata"]["schema"] == "marts"
    }
    assert marts <= set(in_catalog)
    assert {"lead_id", "current_stage", "segment"} <= set(in_catalog["dim_leads"]["columns"])
    # AND the manifest carries each mart's grain, as its description says
    descriptions = {
        node["name"]: node["description"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"] in marts
    }
    assert {
        name for name, text in descriptions.items() if "one row per" not in text.lower()
    } == set()


def test_the_docs_site_is_one_offline_file(docs: Path) -> None:
    # GIVEN the generated site
    index = (docs / "index.html").read_text(encoding="utf-8")
    static = (docs / "static_index.html").read_text(encoding="utf-8")
    # THEN the static page embeds the manifest and catalog (marts included), so it opens from disk
    assert "rpt_funnel_weekly" in static and "rpt_funnel_weekly" not in index
    assert len(static) > len(index)
    # AND neither page loads a script or stylesheet from another host
    remote = re.compile(r"<(?:script|link)[^>]+(?:src|href)=[\"']https?://", re.IGNORECASE)
    assert not remote.search(index)
    assert not remote.search(static)


def test_exposures_name_the_report_and_the_crm_push(docs: Path) -> None:
    # GIVEN the manifest the docs were generated from
    exposures = load(docs / "manifest.json")["exposures"]

    def depends_on(name: str) -> set[str]:
        (exposure,) = [e for e in exposures.values() if e["name"] == name]
        return {node.removeprefix("model.leadflow.") for node in exposure["depends_on"]["nodes"]}

    # THEN the HTML report's exposure lists exactly the marts `leadflow report` reads
    assert depends_on("funnel_report") == set(REPORT_MARTS)
    # AND the reverse-ETL push's exposure, the payload model it sends
    assert depends_on("hubspot_contacts_push") == {"sync_hubspot__contacts"}
