"""What an evaluation produces: one outcome per task run, the run's JSON, and comparisons.

The JSON of a run (`corral eval run --json`, `results.json` under `--out`):

    {"suite", "agent", "model", "prompt_version", "judge", "started_at",
     "tasks": [{"id", "outcome", "reason", "repeat", "turns", "tokens", "cost_usd",
                "wall_s", "gate_runs", "vetoes", "guard_vetoes", "recovered", "detail",
                "hidden": {"passed": [...], "failed": [...]} | null}],
     "summary": {"runs", "right", "wrong", "ci_failed", "no_pr", "rate_right",
                 "rate_right_ci95", "no_pr_reasons", "tokens", "cost_usd", "wall_s",
                 "vetoes", "recovered"}}
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from corral.config import ConfigError


class EvalOutcome(StrEnum):
    """Exactly one per task run."""

    NO_PR = "no_pr"
    """No pull request: the reason says whose doing."""
    CI_FAILED = "ci_failed"
    """A pull request opened and its CI failed."""
    WRONG = "wrong"
    """A green pull request whose hidden tests fail: the failure mode that erodes trust."""
    RIGHT = "right"
    """A green pull request whose hidden tests pass."""


class NoPrReason(StrEnum):
    AGENT = "agent"
    """The agent gave up or failed (model error, crash), or the repository could not be set up."""
    VERIFIERS = "verifiers"
    """The change never passed the build, lint and test checks."""
    GUARD = "guard"
    """The guard vetoed the diff (tests deleted, skipped or weakened; out of scope)."""
    JUDGE = "judge"
    """The judge vetoed the diff."""
    BUDGET = "budget"
    """A turn, token, cost or time budget ran out."""
    NO_CHANGE = "no_change"
    """The change left the repository as it was."""


OUTCOMES = tuple(EvalOutcome)


@dataclass
class HiddenResult:
    passed: list[str] = field(default_factory=list)
    """Required test ids that passed."""
    failed: list[str] = field(default_factory=list)
    """Required test ids that failed, were skipped or are missing ("id: why")."""


@dataclass
class TaskResult:
    id: str
    outcome: EvalOutcome
    reason: NoPrReason | None
    """Set for `no_pr` only."""
    repeat: int
    """Which run of the task this is, from 1 (`--repeat N`)."""
    turns: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0
    gate_runs: int = 0
    vetoes: int = 0
    """Judge vetoes during the run."""
    guard_vetoes: int = 0
    recovered: bool = False
    """Vetoed (by the guard or the judge) at least once, and passed the gate afterwards."""
    detail: str = ""
    """One line: the job's reason, or what the hidden tests said."""
    hidden: HiddenResult | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        data["reason"] = None if self.reason is None else str(self.reason)
        data["cost_usd"] = round(self.cost_usd, 6)
        data["wall_s"] = round(self.wall_s, 2)
        return data


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) with no trials."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def summarize(tasks: list[TaskResult]) -> dict[str, Any]:
    counts = Counter(t.outcome for t in tasks)
    right = counts[EvalOutcome.RIGHT]
    low, high = wilson_interval(right, len(tasks))
    reasons = Counter(str(t.reason) for t in tasks if t.reason is not None)
    return {
        "runs": len(tasks),
        **{str(o): counts[o] for o in OUTCOMES},
        "rate_right": round(right / len(tasks), 4) if tasks else 0.0,
        "rate_right_ci95": [round(low, 4), round(high, 4)],
        "no_pr_reasons": dict(sorted(reasons.items())),
        "turns": sum(t.turns for t in tasks),
        "tokens": sum(t.tokens for t in tasks),
        "cost_usd": round(sum(t.cost_usd for t in tasks), 6),
        "wall_s": round(sum(t.wall_s for t in tasks), 2),
        "gate_runs": sum(t.gate_runs for t in tasks),
        "vetoes": sum(t.vetoes for t in tasks),
        "recovered": sum(t.recovered for t in tasks),
    }


@dataclass
class EvalRun:
    suite: str
    agent: str
    model: str | None
    tasks: list[TaskResult]
    judge: str | None = None
    prompt_version: str | None = None
    started_at: str = ""

    @property
    def summary(self) -> dict[str, Any]:
        return summarize(self.tasks)

    @property
    def label(self) -> str:
        """How the configuration is named in comparisons: agent, model, judge."""
        parts = [self.agent, self.model or "", f"judge {self.judge}" if self.judge else ""]
        return " / ".join(p for p in parts if p)

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "agent": self.agent,
            "model": self.model,
            "judge": self.judge,
            "prompt_version": self.prompt_version,
            "started_at": self.started_at,
            "tasks": [t.to_json() for t in self.tasks],
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalRun:
        tasks = []
        for item in data.get("tasks", []):
            hidden = item.get("hidden")
            tasks.append(
                TaskResult(
                    id=str(item["id"]),
                    outcome=EvalOutcome(item["outcome"]),
                    reason=NoPrReason(item["reason"]) if item.get("reason") else None,
                    repeat=int(item.get("repeat", 1)),
                    turns=int(item.get("turns", 0)),
                    tokens=int(item.get("tokens", 0)),
                    cost_usd=float(item.get("cost_usd", 0.0)),
                    wall_s=float(item.get("wall_s", 0.0)),
                    gate_runs=int(item.get("gate_runs", 0)),
                    vetoes=int(item.get("vetoes", 0)),
                    guard_vetoes=int(item.get("guard_vetoes", 0)),
                    recovered=bool(item.get("recovered", False)),
                    detail=str(item.get("detail", "")),
                    hidden=HiddenResult(**hidden) if isinstance(hidden, dict) else None,
                )
            )
        return cls(
            suite=str(data["suite"]),
            agent=str(data["agent"]),
            model=data.get("model"),
            tasks=tasks,
            judge=data.get("judge"),
            prompt_version=data.get("prompt_version"),
            started_at=str(data.get("started_at", "")),
        )


def load_run(path: Path) -> EvalRun:
    """A run from its JSON file (`--json` output or `results.json`); ConfigError if unreadable."""
    try:
        return EvalRun.from_json(json.loads(path.read_text()))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not an eval run's JSON: {exc}") from exc


@dataclass(frozen=True)
class Comparison:
    """Configurations side by side: counts, right-rates with intervals, and differences."""

    runs: list[EvalRun]

    def to_json(self) -> dict[str, Any]:
        base = self.runs[0]
        rows = []
        for run in self.runs:
            summary = run.summary
            rows.append(
                {
                    "label": run.label,
                    "suite": run.suite,
                    "agent": run.agent,
                    "model": run.model,
                    "judge": run.judge,
                    "prompt_version": run.prompt_version,
                    "summary": summary,
                    "difference": {str(o): summary[str(o)] - base.summary[str(o)] for o in OUTCOMES}
                    | {"rate_right": round(summary["rate_right"] - base.summary["rate_right"], 4)},
                }
            )
        return {"runs": rows, "notes": self.notes(), "tasks": self.per_task()}

    def per_task(self) -> dict[str, list[dict[str, int]]]:
        """Task id -> per run, how many repeats ended in each outcome."""
        ids = list(dict.fromkeys(t.id for run in self.runs for t in run.tasks))
        table: dict[str, list[dict[str, int]]] = {}
        for task_id in ids:
            table[task_id] = [_outcome_counts(run, task_id) for run in self.runs]
        return table

    def notes(self) -> list[str]:
        """Where the counts are too small to tell configurations apart (overlapping 95%
        Wilson intervals on the right-rate), or the suites differ."""
        notes = []
        base = self.runs[0]
        if len({run.suite for run in self.runs}) > 1:
            notes.append("the runs are of different suites: their rates do not compare")
        low0, high0 = base.summary["rate_right_ci95"]
        for run in self.runs[1:]:
            low, high = run.summary["rate_right_ci95"]
            if low <= high0 and low0 <= high:
                notes.append(
                    f"{run.label} vs {base.label}: right-rate "
                    f"{run.summary['rate_right']:.0%} [{low:.0%}, {high:.0%}] against "
                    f"{base.summary['rate_right']:.0%} [{low0:.0%}, {high0:.0%}] (95% Wilson): "
                    "the intervals overlap, too few runs to tell them apart"
                )
        return notes


def _outcome_counts(run: EvalRun, task_id: str) -> dict[str, int]:
    return {str(o): sum(t.id == task_id and t.outcome == o for t in run.tasks) for o in OUTCOMES}
