"""An eval run written out: its JSON, a Markdown report and plots.

`write_report(runs, out)` writes `results.json` (the first run, or `runs.json` for several),
`report.md`, and with matplotlib (`pip install 'corral[plots]'`) `outcomes.svg`/`.png`
(outcome bars per task), `configurations.svg`/`.png` (outcome bars per configuration) and
`cost_vs_right.svg`/`.png` (cost against right-rate, one point per configuration).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from corral.evals.results import OUTCOMES, Comparison, EvalOutcome, EvalRun

COLOURS = {
    EvalOutcome.RIGHT: "#2e7d32",
    EvalOutcome.WRONG: "#c62828",
    EvalOutcome.CI_FAILED: "#ef6c00",
    EvalOutcome.NO_PR: "#9e9e9e",
}


def write_report(runs: list[EvalRun], out: Path) -> list[Path]:
    """Every file for these runs in `out` (created); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if len(runs) == 1:
        written.append(_write(out / "results.json", json.dumps(runs[0].to_json(), indent=2)))
    else:
        comparison = Comparison(runs).to_json()
        written.append(_write(out / "runs.json", json.dumps(comparison, indent=2)))
    written.append(_write(out / "report.md", markdown(runs)))
    written += plot(runs, out)
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text + ("" if text.endswith("\n") else "\n"))
    return path


def markdown(runs: list[EvalRun]) -> str:
    lines: list[str] = []
    for run in runs:
        lines += _run_markdown(run)
    if len(runs) > 1:
        lines += _comparison_markdown(Comparison(runs))
    return "\n".join(lines)


def _run_markdown(run: EvalRun) -> list[str]:
    s = run.summary
    low, high = s["rate_right_ci95"]
    lines = [
        f"# Eval: {run.suite} with {run.label}",
        "",
        f"{s['runs']} task runs: **{s['right']} right**, {s['wrong']} wrong (green but the "
        f"hidden tests fail), {s['ci_failed']} CI failed, {s['no_pr']} no PR. "
        f"Right-rate {s['rate_right']:.0%} (95% Wilson interval {low:.0%} to {high:.0%}).",
        "",
        f"Spent {s['tokens']} tokens, ${s['cost_usd']:.4f}, {s['wall_s']:.0f}s; "
        f"{s['gate_runs']} gate runs, {s['vetoes']} judge vetoes, "
        f"{s['recovered']} recoveries after a veto.",
        "",
    ]
    if s["no_pr_reasons"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in s["no_pr_reasons"].items())
        lines += [f"No PR, by reason: {reasons}.", ""]
    lines += [
        "| task | run | outcome | reason | turns | tokens | cost $ | wall s | vetoes | recovered "
        "| detail |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in run.tasks:
        detail = t.detail.replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(
            f"| {t.id} | {t.repeat} | {t.outcome} | {t.reason or ''} | {t.turns} | {t.tokens} "
            f"| {t.cost_usd:.4f} | {t.wall_s:.0f} | {t.vetoes} | {'yes' if t.recovered else ''} "
            f"| {detail} |"
        )
    lines += [
        "",
        "How to read it: `right` is a green pull request whose hidden tests pass; `wrong` a "
        "green one whose hidden tests fail (what erodes trust); `ci_failed` a pull request "
        "whose CI failed; `no_pr` a change that never became a pull request, with the reason: "
        "agent, verifiers, guard, judge, budget or no_change.",
        "",
    ]
    return lines


def _comparison_markdown(comparison: Comparison) -> list[str]:
    data = comparison.to_json()
    lines = [
        "# Comparison",
        "",
        "| configuration | runs | right | wrong | ci_failed | no_pr | right-rate (95% CI) | "
        "cost $ | Δ right-rate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in data["runs"]:
        s, d = row["summary"], row["difference"]
        low, high = s["rate_right_ci95"]
        lines.append(
            f"| {row['label']} | {s['runs']} | {s['right']} | {s['wrong']} | {s['ci_failed']} "
            f"| {s['no_pr']} | {s['rate_right']:.0%} ({low:.0%} to {high:.0%}) | "
            f"{s['cost_usd']:.4f} | {d['rate_right']:+.0%} |"
        )
    lines.append("")
    lines += [f"- Note: {note}" for note in data["notes"]]
    lines.append("")
    return lines


def plot(runs: list[EvalRun], out: Path) -> list[Path]:
    """The plots as SVG and PNG; none (and no error) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for name, draw in (
        ("outcomes", _outcomes_per_task),
        ("configurations", _outcomes_per_configuration),
        ("cost_vs_right", _cost_vs_right),
    ):
        figure = draw(plt, runs)
        for suffix in ("svg", "png"):
            path = out / f"{name}.{suffix}"
            figure.savefig(path, dpi=100, bbox_inches="tight", metadata=_metadata(suffix))
            written.append(path)
        plt.close(figure)
    return written


def _metadata(suffix: str) -> dict[str, Any]:
    """No creation date in the files, so the same run draws the same bytes."""
    return {"Date": None} if suffix == "svg" else {"Software": None}


def _outcomes_per_task(plt: Any, runs: list[EvalRun]) -> Any:
    run = runs[0]
    ids = list(dict.fromkeys(t.id for t in run.tasks))
    counts = {task_id: Counter(t.outcome for t in run.tasks if t.id == task_id) for task_id in ids}
    reasons = [
        Counter(str(t.reason) for t in run.tasks if t.id == task_id and t.reason is not None)
        for task_id in ids
    ]
    figure, axes = plt.subplots(figsize=(max(6.0, 0.7 * len(ids) + 2), 4))
    _stacked(axes, ids, [counts[i] for i in ids], reasons)
    axes.set_ylabel("runs")
    axes.set_title(f"{run.suite}: outcome per task ({run.label})")
    axes.tick_params(axis="x", labelrotation=60)
    return figure


def _outcomes_per_configuration(plt: Any, runs: list[EvalRun]) -> Any:
    labels = [run.label for run in runs]
    figure, axes = plt.subplots(figsize=(max(5.0, 1.6 * len(runs) + 2), 4))
    _stacked(axes, labels, [Counter(t.outcome for t in run.tasks) for run in runs])
    axes.set_ylabel("task runs")
    axes.set_title("outcomes per configuration")
    return figure


def _stacked(
    axes: Any,
    labels: list[str],
    counts: list[Counter[EvalOutcome]],
    reasons: list[Counter[str]] | None = None,
) -> None:
    """Stacked outcome bars; a no_pr segment is labelled with its commonest reason."""
    from matplotlib.ticker import MaxNLocator

    bottoms = [0] * len(labels)
    for outcome in (EvalOutcome.RIGHT, EvalOutcome.WRONG, EvalOutcome.CI_FAILED, EvalOutcome.NO_PR):
        heights = [c[outcome] for c in counts]
        axes.bar(labels, heights, bottom=bottoms, color=COLOURS[outcome], label=str(outcome))
        if outcome == EvalOutcome.NO_PR and reasons is not None:
            for x, (bottom, height, why) in enumerate(zip(bottoms, heights, reasons, strict=True)):
                if height and why:
                    text = why.most_common(1)[0][0]
                    axes.text(
                        x,
                        bottom + height / 2,
                        text,
                        ha="center",
                        va="center",
                        rotation=90,
                        fontsize="small",
                        color="white",
                    )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def _cost_vs_right(plt: Any, runs: list[EvalRun]) -> Any:
    figure, axes = plt.subplots(figsize=(6, 4))
    for run in runs:
        s = run.summary
        low, high = s["rate_right_ci95"]
        cost = s["cost_usd"] / max(s["runs"], 1)
        axes.errorbar(
            [cost],
            [s["rate_right"]],
            yerr=[[s["rate_right"] - low], [high - s["rate_right"]]],
            fmt="o",
            capsize=4,
            label=run.label,
        )
    axes.set_xlabel("cost per task run ($)")
    axes.set_ylabel("right-rate (95% Wilson interval)")
    axes.set_ylim(-0.05, 1.05)
    axes.set_title("cost against right-rate")
    axes.legend(loc="lower right", frameon=False, fontsize="small")
    return figure


__all__ = ["OUTCOMES", "markdown", "plot", "write_report"]
