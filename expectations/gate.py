"""Run a stream's suite on a batch and split the rows that fail from the rows that pass.

The gate never drops a row: each input row comes back either in `passed` or in `failed`, the
latter with the names of the expectations it broke and a readable reason for each. An expectation
that could not run at all (GX reports it in exception_info, not as an exception) is an error, not
a pass: the batch stops rather than letting unchecked rows through.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig

from expectations.suites import expectations_for

log = logging.getLogger("leadflow.expectations")
ROW = "_gate_row"


class ValidationRunError(RuntimeError):
    """An expectation failed to evaluate (not: a row failed it)."""


@dataclass
class Failure:
    expectations: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class GateResult:
    passed: pd.DataFrame
    failed: pd.DataFrame
    failures: dict[int, Failure]  # index of `failed` -> what it broke
    statistics: dict[str, int]


def _raised(info: dict) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if it caught one.

    GX 1.x reports it either at the top of `exception_info` or, when a metric failed (a column the
    batch lacks, a row_condition naming one), nested under each failed metric's id: without the
    second form an expectation on a missing column fails with no unexpected rows, so every row
    would pass unchecked."""
    found = [info, *(value for value in info.values() if isinstance(value, dict))]
    for entry in found:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message"))
    return None


class Gate:
    """One ephemeral GX context for a run; suites are built per stream and batch."""

    def __init__(self) -> None:
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("leadflow_batches")
        self.asset = source.add_dataframe_asset("records")
        self.batch_definition = self.asset.add_batch_definition_whole_dataframe("whole_batch")
        self._count = 0

    def check(self, stream_key: str, frame: pd.DataFrame, as_of: datetime) -> GateResult:
        frame = frame.reset_index(drop=True)
        if frame.empty:
            return GateResult(frame, frame, {}, {"evaluated": 0, "failed": 0})
        self._count += 1
        suite = gx.ExpectationSuite(name=f"{stream_key}__{self._count}")
        for expectation in expectations_for(stream_key, as_of):
            suite.add_expectation(expectation)
        checked = frame.copy()
        checked[ROW] = range(len(checked))
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": checked})
        result = batch.validate(
            suite,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]},
        )
        failures: dict[int, Failure] = {}
        for item in result.results:
            config = item.expectation_config
            if config is None:  # every result of a suite run carries its configuration
                raise ValidationRunError(f"{stream_key}: a validation result has no expectation")
            problem = _raised(item.exception_info or {})
            if problem is not None:
                raise ValidationRunError(
                    f"{stream_key}: expectation {config.type} on {config.kwargs.get('column')} could not run: "
                    f"{problem}"
                )
            if item.success:
                continue
            reason = (config.meta or {}).get("reason") or config.type
            # A suite may let each failing row say why in a column of its own (a file drop's row:
            # "the row has 11 values where the header has 9 columns"); the meta's reason otherwise.
            reason_column = (config.meta or {}).get("reason_column")
            name = f"{config.type}({config.kwargs.get('column')})"
            for hit in item.result.get("unexpected_index_list") or []:
                row = int(hit[ROW]) if isinstance(hit, dict) else int(hit)
                failure = failures.setdefault(row, Failure())
                failure.expectations.append(name)
                own = checked.at[row, reason_column] if reason_column in checked else None
                failure.reasons.append(own if isinstance(own, str) and own else reason)
        failed_mask = frame.index.isin(list(failures))
        return GateResult(
            passed=frame[~failed_mask],
            failed=frame[failed_mask],
            failures=failures,
            statistics={"evaluated": len(frame), "failed": int(failed_mask.sum())},
        )
