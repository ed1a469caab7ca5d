"""prefect.yaml: every deployment points at a real flow, with parameters it takes and a valid cron."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule

REPO = Path(__file__).resolve().parents[2]
DEPLOYMENTS: list[dict[str, Any]] = yaml.safe_load((REPO / "prefect.yaml").read_text())[
    "deployments"
]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_each_deployment_runs_a_flow_with_its_parameters_on_a_valid_schedule(
    deployment: dict[str, Any],
) -> None:
    # GIVEN a deployment of prefect.yaml
    path, _, name = deployment["entrypoint"].partition(":")
    # WHEN its entrypoint is imported the way a worker does
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    # THEN it is a flow, its parameters are ones the flow takes, its schedules parse, and it runs one
    # at a time on the project's process pool
    assert isinstance(flow, Flow)
    accepted = set(inspect.signature(flow.fn).parameters)
    assert set(deployment.get("parameters", {})) <= accepted
    for schedule in deployment["schedules"]:
        CronSchedule(cron=schedule["cron"], timezone=schedule.get("timezone"))
    assert deployment["work_pool"]["name"] == "leadflow-process"
    assert deployment["concurrency_limit"] == 1


def test_deployment_names_are_unique() -> None:
    names = [d["name"] for d in DEPLOYMENTS]
    assert len(names) == len(set(names))
