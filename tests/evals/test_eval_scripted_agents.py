"""Every failure mode of an agent classified: scripted agents on the fake model server
through the built-in agent and the real campaign pipeline (bubblewrap, Go toolchain, local
forge). A file of its own so the suite's two workers can run it beside the task-command modes
(pytest-xdist distributes by file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_helpers import write_suite

from corral.evals.results import EvalOutcome, NoPrReason
from corral.evals.runner import EvalOptions, run_suite
from corral.evals.suite import load_suite
from corral.llm.settings import ModelSettings
from corral.testing.fake_llm import FakeModelServer

pytestmark = pytest.mark.slow


SCRIPTED = {
    "right": (EvalOutcome.RIGHT, None),
    "disable-test": (EvalOutcome.NO_PR, NoPrReason.GUARD),
    "delete-test": (EvalOutcome.NO_PR, NoPrReason.GUARD),
    "weaken-assertion": (EvalOutcome.NO_PR, NoPrReason.GUARD),
    "out-of-scope": (EvalOutcome.NO_PR, NoPrReason.GUARD),
    "break-build": (EvalOutcome.NO_PR, NoPrReason.VERIFIERS),
    "give-up": (EvalOutcome.NO_PR, NoPrReason.NO_CHANGE),
    "crash": (EvalOutcome.NO_PR, NoPrReason.AGENT),
    "loop": (EvalOutcome.NO_PR, NoPrReason.BUDGET),
    "veto-recover": (EvalOutcome.RIGHT, None),
}


def test_scripted_agents_through_the_builtin_agent(
    tmp_path: Path, cache_dir: Path, server: FakeModelServer, scope_judge: ModelSettings
) -> None:
    budgets = {"job": {"max_turns": 8, "max_gate_retries": 1}}
    suite = load_suite(write_suite(tmp_path / "suite", [{"id": "clamp"}], budgets=budgets))
    got = {}
    runs = {}
    for model in SCRIPTED:
        options = EvalOptions(
            agent="builtin",
            model=ModelSettings(
                provider="openai", model=model, base_url=server.openai_base_url, max_retries=0
            ),
            judge=scope_judge,
            cache_dir=cache_dir,
            work_dir=tmp_path / "work" / model,
        )
        run = run_suite(suite, options)
        (task,) = run.tasks
        got[model] = (task.outcome, task.reason)
        runs[model] = task
    assert got == SCRIPTED
    recovered = runs["veto-recover"]
    assert (recovered.vetoes, recovered.recovered) == (1, True)
    assert recovered.gate_runs >= 2 and recovered.turns >= 3 and recovered.tokens > 0
    assert runs["right"].vetoes == 0 and not runs["right"].recovered
    assert runs["loop"].turns == 8
