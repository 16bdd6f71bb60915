"""The suite format, test-id matching, results and comparisons: no toolchain needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_helpers import write_suite

from corral.config import ConfigError
from corral.evals.report import markdown, write_report
from corral.evals.results import (
    Comparison,
    EvalOutcome,
    EvalRun,
    NoPrReason,
    TaskResult,
    load_run,
    wilson_interval,
)
from corral.evals.runner import check_tests, import_repository, matching_ids
from corral.evals.store import list_runs, load_stored_run, save_run
from corral.evals.suite import load_suite, suite_json_schema
from corral.forge.git import git
from corral.testing.cli import run_corral as corral

SHIPPED = Path(__file__).parents[2] / "evals" / "tasks"
PLOTS = ("outcomes", "configurations", "cost_vs_right")


def test_the_shipped_suite_loads_with_twelve_tasks_over_four_ecosystems() -> None:
    suite = load_suite(SHIPPED)
    assert len(suite.tasks) >= 12
    ecosystems = {task.id.split("-")[0] for task in suite.tasks}
    assert ecosystems >= {"py", "go", "node", "rs"}
    for task in suite.tasks:
        assert task.command and task.prompt and task.fail_to_pass, task.id
        hidden = suite.hidden_tests_dir(task)
        assert hidden is not None and any(hidden.rglob("*")), task.id


def test_an_invalid_suite_names_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(
        "tasks:\n  - id: one\n    repo: .\n    command: 'true'\n    repeat: 3\n"
    )
    with pytest.raises(ConfigError, match=r"suite.yaml:5 tasks.0.repeat: Extra inputs"):
        load_suite(tmp_path)


def test_a_task_needs_a_change_and_existing_paths(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text("tasks:\n  - id: one\n    repo: .\n")
    with pytest.raises(ConfigError, match="give a prompt, a prompt_file or a command"):
        load_suite(tmp_path)
    (tmp_path / "suite.yaml").write_text("tasks:\n  - {id: one, repo: nowhere, command: 'true'}\n")
    with pytest.raises(ConfigError, match="task one repo: nowhere does not exist"):
        load_suite(tmp_path)
    (tmp_path / "suite.yaml").write_text(
        "tasks:\n  - {id: a, repo: ., command: x}\n  - {id: a, repo: ., command: y}\n"
    )
    with pytest.raises(ConfigError, match="task id 'a' is used twice"):
        load_suite(tmp_path)


def test_prompt_file_is_read_and_scope_reaches_the_guard(tmp_path: Path) -> None:
    (tmp_path / "ask.md").write_text("Fix the clamp.\n")
    (tmp_path / "suite.yaml").write_text(
        "gate: {guard: {max_diff_lines: 50}}\n"
        "tasks:\n  - {id: a, repo: ., prompt_file: ask.md, scope: ['src/**']}\n"
    )
    suite = load_suite(tmp_path)
    (task,) = suite.tasks
    assert task.prompt == "Fix the clamp.\n" and task.prompt_file is None
    gate, _ = suite.settings_for(task)
    assert (gate.guard.scope, gate.guard.max_diff_lines) == (["src/**"], 50)


def test_the_schema_documents_every_task_field() -> None:
    task = suite_json_schema()["$defs"]["TaskSpec"]["properties"]
    for name in ("repo", "ref", "command", "hidden_tests", "fail_to_pass", "pass_to_pass"):
        assert task[name].get("description"), name
    done = corral("eval", "schema")
    assert done.returncode == 0 and json.loads(done.stdout)["title"] == "SuiteSpec"


def test_a_folder_or_a_git_ref_becomes_the_tasks_main(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.txt").write_text("one\n")
    remote = import_repository(str(folder), None, tmp_path / "forge1")
    assert git("show", "main:a.txt", cwd=remote) == "one"

    repo = tmp_path / "repo"
    git("init", "-q", "-b", "main", str(repo))
    for text in ("first", "second"):
        (repo / "a.txt").write_text(text)
        git("add", "-A", cwd=repo)
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", text, cwd=repo)
    git("tag", "v1", "HEAD~1", cwd=repo)
    remote = import_repository(str(repo), "v1", tmp_path / "forge2")
    assert git("show", "main:a.txt", cwd=remote) == "first"


def test_test_ids_match_exactly_or_by_their_last_part() -> None:
    statuses = {
        "tests/test_x.py::test_add": "passed",
        "example.com/calc.TestClamp/high": "failed",
        "example.com/calc.TestClamp/low": "passed",
        "suite > adds": "passed",
    }
    assert matching_ids("tests/test_x.py::test_add", statuses) == ["tests/test_x.py::test_add"]
    assert matching_ids("test_add", statuses) == ["tests/test_x.py::test_add"]
    assert matching_ids("TestClamp", statuses) == [
        "example.com/calc.TestClamp/high",
        "example.com/calc.TestClamp/low",
    ]
    assert matching_ids("adds", statuses) == ["suite > adds"]
    assert matching_ids("add", statuses) == []
    more = {"com.example.FooTest.bar()": "passed", "t.py::test_p[1]": "failed"}
    assert matching_ids("FooTest#bar", more) == ["com.example.FooTest.bar()"]
    assert matching_ids("test_p", more) == ["t.py::test_p[1]"]


def test_pass_to_pass_skipped_or_missing_counts_as_failed(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(
        "tasks:\n  - {id: a, repo: ., command: x, fail_to_pass: [t1], pass_to_pass: [t2, t3, t4]}\n"
    )
    (task,) = load_suite(tmp_path).tasks
    result = check_tests(task, {"m.t1": "passed", "m.t2": "skipped", "m.t3": "passed"})
    assert result.passed == ["t1", "t3"]
    assert result.failed == ["t2: skipped", "t4: missing"]


def _run(agent: str, outcomes: list[EvalOutcome], cost: float = 0.0) -> EvalRun:
    tasks = [
        TaskResult(
            f"t{i}",
            outcome,
            NoPrReason.GUARD if outcome == EvalOutcome.NO_PR else None,
            1,
            cost_usd=cost,
        )
        for i, outcome in enumerate(outcomes)
    ]
    return EvalRun("s", agent, "m", tasks)


def test_wilson_interval() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)


def test_compare_gives_differences_and_warns_on_small_counts(tmp_path: Path) -> None:
    a = _run("command", [EvalOutcome.RIGHT] * 3 + [EvalOutcome.WRONG])
    b = _run("builtin", [EvalOutcome.RIGHT, EvalOutcome.NO_PR, EvalOutcome.CI_FAILED] * 1, 0.5)
    data = Comparison([a, b]).to_json()
    second = data["runs"][1]
    assert second["difference"]["right"] == -2 and second["difference"]["no_pr"] == 1
    assert second["difference"]["rate_right"] == round(1 / 3 - 3 / 4, 4)
    assert data["notes"] and "too few runs" in data["notes"][0]
    assert data["tasks"]["t0"] == [
        {"no_pr": 0, "ci_failed": 0, "wrong": 0, "right": 1},
        {"no_pr": 0, "ci_failed": 0, "wrong": 0, "right": 1},
    ]
    big_a = _run("command", [EvalOutcome.RIGHT] * 200)
    big_b = _run("builtin", [EvalOutcome.NO_PR] * 200)
    assert Comparison([big_a, big_b]).notes() == []

    for name, run in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps(run.to_json()))
    assert load_run(tmp_path / "a.json").to_json() == a.to_json()
    done = corral("eval", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["runs"][1]["summary"]["no_pr"] == 1
    (tmp_path / "bad.json").write_text("{}")
    bad = corral("eval", "compare", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "not an eval run's JSON" in bad.stderr


def test_report_files_and_markdown(tmp_path: Path) -> None:
    a = _run("command", [EvalOutcome.RIGHT, EvalOutcome.WRONG, EvalOutcome.NO_PR])
    b = _run("builtin", [EvalOutcome.RIGHT] * 3, 0.25)
    names = {path.name for path in write_report([a, b], tmp_path)}
    assert names == {
        "runs.json",
        "report.md",
        *(f"{n}.{s}" for n in PLOTS for s in ("svg", "png")),
    }
    text = markdown([a])
    assert "| t1 | 1 | wrong |" in text and "No PR, by reason: guard: 1." in text


def test_runs_are_kept_in_the_store(tmp_path: Path) -> None:
    store = str(tmp_path / "corral.db")
    first = save_run(store, _run("command", [EvalOutcome.RIGHT, EvalOutcome.WRONG]))
    second = save_run(store, _run("builtin", [EvalOutcome.NO_PR]))
    assert [(r.id, r.label, r.right, r.runs) for r in list_runs(store)] == [
        (second, "builtin / m", 0, 1),
        (first, "command / m", 1, 2),
    ]
    assert load_stored_run(store, first).tasks[1].outcome == EvalOutcome.WRONG


def test_eval_run_refuses_bad_usage_before_running(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite", [{"id": "clamp", "command": None}])
    no_model = corral("eval", "run", str(suite), "--agent", "builtin")
    assert no_model.returncode == 2 and "needs a model" in no_model.stderr
    no_command = corral("eval", "run", str(suite), "--agent", "command")
    assert no_command.returncode == 2
    assert "these tasks have no command (the reference change): ['clamp']" in no_command.stderr
    unknown = corral("eval", "run", str(suite), "--agent", "robot")
    assert unknown.returncode == 2 and "unknown agent 'robot'" in unknown.stderr


def test_the_dashboard_lists_and_shows_eval_runs(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from corral.store import Store
    from corral.web.app import create_app
    from corral.web.settings import DashboardSettings

    url = str(tmp_path / "corral.db")
    run_id = save_run(url, _run("command", [EvalOutcome.RIGHT, EvalOutcome.WRONG]))
    store = Store.open(url)
    try:
        settings = DashboardSettings(allowed_hosts=["testserver"])
        client = TestClient(create_app(store, settings))
        listed = client.get("/api/evals").json()
        assert [(r["id"], r["right"], r["rate_right"]) for r in listed] == [(run_id, 1, 0.5)]
        detail = client.get(f"/api/evals/{run_id}").json()
        assert [t["outcome"] for t in detail["tasks"]] == ["right", "wrong"]
        assert client.get("/api/evals/999").status_code == 404
        page = client.get("/evals").text
        assert f'href="/evals/{run_id}"' in page and "command / m" in page
        one = client.get(f"/evals/{run_id}").text
        assert 'data-task="t1" data-outcome="wrong"' in one
    finally:
        store.close()


def test_the_published_schema_is_the_codes() -> None:
    published = json.loads((SHIPPED.parent / "suite.schema.json").read_text())
    # regenerate with: corral eval schema > evals/suite.schema.json
    assert published == suite_json_schema()
