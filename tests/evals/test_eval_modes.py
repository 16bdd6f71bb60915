"""Every failure mode classified for task commands through the real campaign pipeline
(bubblewrap, Go toolchain, local forge), and `corral eval run` against the fake model server.
The scripted agents' modes are in test_eval_scripted_agents.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_helpers import FIX, write_suite

from corral.evals.results import EvalOutcome, NoPrReason
from corral.evals.runner import EvalOptions, run_suite
from corral.evals.suite import load_suite
from corral.llm.settings import ModelSettings
from corral.testing.cli import run_corral as corral
from corral.testing.fake_llm import FakeModelServer
from corral.testing.scripted_agents import UNRELATED

pytestmark = pytest.mark.slow


def test_task_commands_play_each_failure_mode(
    tmp_path: Path, cache_dir: Path, scope_judge: ModelSettings
) -> None:
    unrelated = f"sed -i '1i // {UNRELATED}' calc.go && {FIX}"
    tasks = [
        {"id": "right", "command": FIX},
        {"id": "green-but-wrong", "command": "sed -i '15s/return lo/return x/' calc.go"},
        {"id": "deleted-test", "command": f"{FIX} && rm more_test.go"},
        {"id": "broken-build", "command": "printf 'func (\\n' >> calc.go"},
        {"id": "no-change", "command": "true"},
        {"id": "ci-red", "repo": "repos/calc-broken", "command": FIX},
        {"id": "slow", "command": "sleep 30", "budgets": {"job": {"max_wall_s": 2}}},
        {"id": "judged", "command": unrelated},
    ]
    suite = load_suite(write_suite(tmp_path / "suite", tasks))
    options = EvalOptions(
        agent="command", judge=scope_judge, cache_dir=cache_dir, work_dir=tmp_path / "work"
    )
    run = run_suite(suite, options)

    got = {t.id: (t.outcome, t.reason) for t in run.tasks}
    assert got == {
        "right": (EvalOutcome.RIGHT, None),
        "green-but-wrong": (EvalOutcome.WRONG, None),
        "deleted-test": (EvalOutcome.NO_PR, NoPrReason.GUARD),
        "broken-build": (EvalOutcome.NO_PR, NoPrReason.VERIFIERS),
        "no-change": (EvalOutcome.NO_PR, NoPrReason.NO_CHANGE),
        "ci-red": (EvalOutcome.CI_FAILED, None),
        "slow": (EvalOutcome.NO_PR, NoPrReason.BUDGET),
        "judged": (EvalOutcome.NO_PR, NoPrReason.JUDGE),
    }
    by_id = {t.id: t for t in run.tasks}
    assert by_id["green-but-wrong"].hidden is not None
    assert by_id["green-but-wrong"].hidden.failed == ["TestClampHigh: failed"]
    assert by_id["right"].hidden is not None
    assert sorted(by_id["right"].hidden.passed) == [
        "TestAdd",
        "TestClampHigh",
        "TestClampInside",
        "TestClampLow",
    ]
    assert by_id["judged"].vetoes == 1 and not by_id["judged"].recovered
    summary = run.to_json()["summary"]
    assert (summary["right"], summary["wrong"], summary["ci_failed"], summary["no_pr"]) == (
        1,
        1,
        1,
        5,
    )


def test_cli_runs_a_suite_against_the_fake_endpoint(
    tmp_path: Path, cache_dir: Path, server: FakeModelServer
) -> None:
    suite = write_suite(tmp_path / "suite", [{"id": "clamp"}])
    out = tmp_path / "report"
    common = ["--cache-dir", str(cache_dir), "--store", str(tmp_path / "corral.db")]
    judge = ["--judge-provider", "openai", "--judge-model", "scope-judge"]
    judge += ["--judge-base-url", server.openai_base_url]
    done = corral(
        *("eval", "run", str(suite), "--agent", "builtin", "--provider", "openai"),
        *("--model", "veto-recover", "--base-url", server.openai_base_url, *judge),
        *("--repeat", "2", "--json", "--out", str(out), *common),
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"suite", "agent", "model", "tasks", "summary"}
    assert [t["repeat"] for t in result["tasks"]] == [1, 2]
    task = result["tasks"][0]
    assert set(task) >= {
        *("id", "outcome", "reason", "repeat", "turns", "tokens"),
        *("cost_usd", "wall_s", "vetoes", "recovered"),
    }
    for task in result["tasks"]:
        assert (task["outcome"], task["vetoes"], task["recovered"]) == ("right", 1, True)
    assert (result["summary"]["right"], result["summary"]["rate_right"]) == (2, 1.0)
    written = {path.name for path in out.iterdir()}
    assert {"results.json", "report.md", "outcomes.svg", "outcomes.png"} <= written
    assert {"configurations.svg", "cost_vs_right.png"} <= written
    assert "| clamp | 2 | right |" in (out / "report.md").read_text()

    listed = corral("eval", "runs", "--json", "--store", str(tmp_path / "corral.db"))
    assert listed.returncode == 0, listed.stderr
    assert [(r["suite"], r["right"]) for r in json.loads(listed.stdout)] == [("failure-modes", 2)]
