"""corral's own suite: reference commands are `right` through the whole pipeline.

The suite runs one task of each of its ecosystems here (about 3 minutes); all twelve by hand
with `corral eval run evals/tasks --agent command` (right 12/12, 1003 s on a loaded 2-core
machine, mostly the Python tasks' environments).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.evals.results import EvalOutcome
from corral.evals.runner import EvalOptions, run_suite
from corral.evals.suite import load_suite

SHIPPED = Path(__file__).parents[2] / "evals" / "tasks"
ONE_PER_ECOSYSTEM = ("py-truncate-ellipsis", "go-reverse-runes", "node-format-thousands",
                     "rs-pairs-trim")  # fmt: skip


def test_the_shipped_suite_has_twelve_tasks_over_four_ecosystems() -> None:
    ids = [task.id for task in load_suite(SHIPPED).tasks]
    assert len(ids) >= 12
    assert {i.split("-")[0] for i in ids} >= {"py", "go", "node", "rs"}
    assert set(ONE_PER_ECOSYSTEM) <= set(ids)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_reference_commands_are_right(tmp_path: Path, cache_dir: Path) -> None:
    suite = load_suite(SHIPPED)
    options = EvalOptions(
        agent="command", cache_dir=cache_dir, work_dir=tmp_path, tasks=ONE_PER_ECOSYSTEM
    )
    run = run_suite(suite, options)
    outcomes = {t.id: (t.outcome, t.detail) for t in run.tasks}
    assert set(outcomes) == set(ONE_PER_ECOSYSTEM)
    assert all(outcome == EvalOutcome.RIGHT for outcome, _ in outcomes.values()), outcomes
