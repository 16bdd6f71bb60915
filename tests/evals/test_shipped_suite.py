"""corral's own suite: every task's reference command is `right` through the whole pipeline.

Slow (1003 s on a loaded 2-core machine, mostly the Python tasks' environments).
By hand: `corral eval run evals/tasks --agent command`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.evals.results import EvalOutcome
from corral.evals.runner import EvalOptions, run_suite
from corral.evals.suite import load_suite

SHIPPED = Path(__file__).parents[2] / "evals" / "tasks"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_every_reference_command_is_right(tmp_path: Path, cache_dir: Path) -> None:
    suite = load_suite(SHIPPED)
    run = run_suite(suite, EvalOptions(agent="command", cache_dir=cache_dir, work_dir=tmp_path))
    outcomes = {t.id: (t.outcome, t.detail) for t in run.tasks}
    assert all(outcome == EvalOutcome.RIGHT for outcome, _ in outcomes.values()), outcomes
    assert len(run.tasks) == len(suite.tasks) >= 12
