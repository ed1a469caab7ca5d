"""The training report, as markdown: the model next to the rules score on the same holdout leads.

Rendered by `leadflow train --out` and published by the model-training flow as a Prefect markdown
artifact. It holds numbers only (sizes, metrics, coefficients): never a lead's attributes.
"""

from __future__ import annotations

from typing import Any

from scoring.model import TrainingResult


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render(result: TrainingResult) -> str:
    """The whole report for one training run."""
    m = result.config.model
    lines = [
        "# Lead scoring model report",
        "",
        f"**{result.message}**",
        "",
        f"- status: `{result.status}`"
        + (f", version `{result.version}`" if result.version else ""),
        f"- trained from: {result.source}, as of {result.as_of:%Y-%m-%d %H:%M} UTC",
        f"- conversion: reaching `{m.conversion_stage}` within {m.window_days} days of the scoring "
        f"moment (created + {m.feature_delay_hours:g} h)",
        f"- time split: holdout = leads scored from {result.cutoff:%Y-%m-%d} on (latest "
        f"{m.holdout_fraction:.0%} of matured leads); training = leads whose window closed before it"
        if result.cutoff
        else "- time split: no matured leads yet",
        "",
        "## Data",
        "",
        "| set | leads | conversions | rate | minimum |",
        "|---|---:|---:|---:|---|",
        _data_row(
            "training",
            result.train_leads,
            result.train_conversions,
            f"{m.min_leads} leads, {m.min_conversions} conversions",
        ),
        _data_row(
            "holdout",
            result.holdout_leads,
            result.holdout_conversions,
            f"{m.min_holdout_leads} leads, {m.min_holdout_conversions} conversions",
        ),
        "",
        f"Leads already converted at their scoring moment, left out: "
        f"{result.excluded_converted_before}.",
    ]
    if result.missing:
        lines += ["", "Minimum data not met: " + "; ".join(result.missing) + "."]
    for note in result.notes:
        lines += ["", f"- {note}"]

    if result.model_eval and result.rules_eval:
        me, re_ = result.model_eval, result.rules_eval
        lines += [
            "",
            "## Model vs rules on the same holdout leads",
            "",
            "| score | AUC | Brier |",
            "|---|---:|---:|",
            f"| model | {_num(me['auc'])} | {_num(me['brier'], 4)} |",
            f"| rules (score / 100) | {_num(re_['auc'])} | {_num(re_['brier'], 4)} |",
            "",
            "AUC: the chance a converting lead is ranked above one that did not (0.5 = chance). "
            "Brier: mean squared error of the probability (lower is better; the rules score is not "
            "a probability, so its Brier is only indicative).",
            "",
            "## Calibration (ten equal bins by predicted probability, lowest first)",
            "",
            "| bin | leads | model predicted | observed | rules predicted | observed |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        rules_cal = {row["bin"]: row for row in re_["calibration"]}
        for row in me["calibration"]:
            r = rules_cal.get(row["bin"], {})
            lines.append(
                f"| {row['bin']} | {row['count']} | {row['predicted']:.3f} | {row['observed']:.3f} "
                f"| {_num(r.get('predicted'))} | {_num(r.get('observed'))} |"
            )
        lines += [
            "",
            "## Lift by decile (1 = the top-scored 10 %)",
            "",
            "| decile | leads | model rate | model lift | model cum. share | rules rate | rules lift "
            "| rules cum. share |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rules_lift = {row["decile"]: row for row in re_["lift"]}
        for row in me["lift"]:
            r = rules_lift.get(row["decile"], {})
            lines.append(
                f"| {row['decile']} | {row['count']} | {row['rate']:.3f} | {_num(row['lift'], 2)} "
                f"| {_num(row['cumulative_share'], 2)} | {_num(r.get('rate'))} "
                f"| {_num(r.get('lift'), 2)} | {_num(r.get('cumulative_share'), 2)} |"
            )
    if result.model is not None:
        lines += [
            "",
            "## Top coefficients (log-odds per unit: one-hot category, 0/1 flag, or one standard "
            "deviation of log(1 + count))",
            "",
            "| feature | coefficient |",
            "|---|---:|",
        ]
        lines += [f"| `{name}` | {coef:+.3f} |" for name, coef in result.model.top_coefficients(15)]
        lines += [
            "",
            f"Intercept {result.model.intercept:+.3f}; {len(result.model.feature_names)} features.",
        ]
    return "\n".join(lines) + "\n"


def _data_row(name: str, leads: int, conversions: int, minimum: str) -> str:
    rate = f"{conversions / leads:.1%}" if leads else "n/a"
    return f"| {name} | {leads} | {conversions} | {rate} | {minimum} |"
