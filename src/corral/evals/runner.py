"""Running a task suite: every task through the real campaign pipeline, then hidden tests.

For each task (and each repeat) the runner builds a throwaway local forge holding the task's
repository at its `ref`, writes a one-repository campaign (the task's prompt or command, the
suite's gate and budgets) and runs it with `campaigns.run_campaign` on the in-process engine:
checkout, baseline, the agent with the gate, commit, push, pull request and the local CI.
A pull request whose CI passed is then cloned afresh, the task's hidden tests are copied over
it, and the verifiers run it in the sandbox; their structured test reports (JUnit, `go test
-json`, libtest) say which of `fail_to_pass` and `pass_to_pass` passed.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast, get_args

from corral.config import ConfigError
from corral.engine.campaign import run_campaign
from corral.engine.local import LocalEngine
from corral.evals.results import EvalOutcome, EvalRun, HiddenResult, NoPrReason, TaskResult
from corral.evals.suite import Suite, TaskSpec
from corral.forge.base import ForgeError
from corral.forge.git import git
from corral.llm.settings import ModelSettings
from corral.pipeline.context import Runtime
from corral.sandbox import Backend, default_cache_dir
from corral.spec import AgentKind, CampaignSpec, is_remote_url
from corral.states import JobState, Reason
from corral.store import Store
from corral.store.records import GateVerdict, Job
from corral.verifiers import verify
from corral.verifiers.base import TestStatus

EvalAgent = AgentKind | Literal["command"]
"""A campaign agent kind, or `command`: each task's own change command."""
AGENTS: tuple[str, ...] = (*get_args(AgentKind), "command")


def eval_agent(name: str) -> EvalAgent:
    """The agent named on the command line; ConfigError for an unknown one."""
    if name not in AGENTS:
        raise ConfigError(f"unknown agent {name!r}: use {', '.join(AGENTS)}")
    return cast("EvalAgent", name)


OnTask = Callable[[TaskSpec, int, TaskResult | None], None]
"""Called when a task run starts (result None) and when it ends (with its result)."""


@dataclass(frozen=True)
class EvalOptions:
    agent: EvalAgent = "command"
    model: ModelSettings | None = None
    """The agent's model (builtin, claude-code); None for `command`."""
    judge: ModelSettings | None = None
    """A judge model for every task (over the suite's gate settings)."""
    repeat: int = 1
    work_dir: Path | None = None
    """Forges, checkouts and the campaigns' store; default: a temporary folder, removed."""
    sandbox: Backend = "bwrap"
    cache_dir: Path | None = None
    """Dependency caches, shared by every task (default: ~/.cache/corral/caches/eval)."""
    keep: bool = False
    """Keep the work folder (it is named in each task's detail) instead of removing it."""
    tasks: tuple[str, ...] = field(default_factory=tuple)
    """Only these task ids (default: all)."""


def run_suite(suite: Suite, options: EvalOptions, on_task: OnTask | None = None) -> EvalRun:
    """Every selected task, `options.repeat` times; one TaskResult each, in suite order."""
    tasks = _selected(suite, options)
    _check_runnable(tasks, options)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    work = options.work_dir or Path(tempfile.mkdtemp(prefix="corral-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[TaskResult] = []
    try:
        for task in tasks:
            for repeat in range(1, options.repeat + 1):
                if on_task is not None:
                    on_task(task, repeat, None)
                result = run_task(suite, task, repeat, options, work)
                results.append(result)
                if on_task is not None:
                    on_task(task, repeat, result)
    finally:
        if options.work_dir is None and not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    return EvalRun(
        suite=suite.name,
        agent=options.agent,
        model=None if options.model is None else options.model.model,
        judge=None if options.judge is None else options.judge.model,
        prompt_version=_prompt_version(options),
        tasks=results,
        started_at=started_at,
    )


def _selected(suite: Suite, options: EvalOptions) -> list[TaskSpec]:
    if not options.tasks:
        return suite.tasks
    known = {t.id for t in suite.tasks}
    unknown = [t for t in options.tasks if t not in known]
    if unknown:
        raise ConfigError(f"no task {', '.join(map(repr, unknown))} in suite {suite.name}")
    return [t for t in suite.tasks if t.id in options.tasks]


def _check_runnable(tasks: list[TaskSpec], options: EvalOptions) -> None:
    """Refuse before anything runs when a task cannot be given to this agent."""
    if options.repeat < 1:
        raise ConfigError("--repeat must be at least 1")
    if options.agent == "command":
        missing = [t.id for t in tasks if t.command is None]
        what = "command (the reference change)"
    else:
        if options.model is None:
            raise ConfigError(f"--agent {options.agent} needs a model: --provider and --model")
        missing = [t.id for t in tasks if t.prompt is None]
        what = "prompt"
    if missing:
        raise ConfigError(f"--agent {options.agent}: these tasks have no {what}: {missing}")


def _prompt_version(options: EvalOptions) -> str | None:
    if options.agent == "command":
        return None
    from corral.gate.judge import PROMPT_VERSION

    return f"agent:{options.agent} judge:{PROMPT_VERSION}"


def run_task(
    suite: Suite, task: TaskSpec, repeat: int, options: EvalOptions, work: Path
) -> TaskResult:
    """One run of one task, start to finish; whatever goes wrong ends in an outcome."""
    folder = work / f"{_slug(task.id)}-{repeat}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.monotonic()
    try:
        remote = import_repository(suite.repo_source(task), task.ref, folder / "forge")
    except ForgeError as exc:
        return TaskResult(
            task.id,
            EvalOutcome.NO_PR,
            NoPrReason.AGENT,
            repeat,
            wall_s=time.monotonic() - started,
            detail=f"the task's repository could not be set up: {exc}",
        )
    spec = campaign_spec(suite, task, repeat, options, remote)
    runtime = Runtime(
        store_url=str(work / "campaigns.db"),
        work_dir=folder / "work",
        cache_dir=options.cache_dir or default_cache_dir("eval"),
        sandbox=options.sandbox,
    )
    _forget(runtime.store_url, spec.name)
    summary = run_campaign(spec, runtime, engine=LocalEngine(workers=1))
    job = summary.lines[0].job
    store = Store.open(runtime.store_url)
    try:
        result = classify(store, job, task, repeat)
    finally:
        store.close()
    if result.outcome == EvalOutcome.RIGHT:  # green so far: the hidden tests decide
        hidden = run_hidden_tests(suite, task, remote, job, runtime, spec)
        result.hidden = hidden
        if hidden.failed:
            result.outcome = EvalOutcome.WRONG
            result.detail = f"hidden tests failed: {'; '.join(hidden.failed)}"[:500]
        else:
            result.detail = f"hidden tests passed: {len(hidden.passed)}"
    result.wall_s = time.monotonic() - started
    return result


def import_repository(source: str, ref: str | None, forge: Path) -> Path:
    """A bare repository in `forge` whose `main` is the task's starting point.

    `source` is a git URL, a local git repository, or a plain folder of files (committed
    as they are, in one commit). Raises ForgeError."""
    remote = forge / "repo.git"
    forge.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", "-b", "main", str(remote))
    with tempfile.TemporaryDirectory(prefix="corral-eval-import-") as tmp:
        tree = Path(tmp) / "tree"
        if is_remote_url(source) or _is_git_repository(Path(source)):
            git("clone", "-q", "--no-tags", "--", source, str(tree))
            if ref is not None:
                git("fetch", "-q", "origin", ref, cwd=tree)
                git("checkout", "-q", "--detach", "FETCH_HEAD", cwd=tree)
        else:
            if ref is not None:
                raise ForgeError(f"ref {ref!r} given, but {source} is not a git repository")
            shutil.copytree(source, tree, symlinks=True, ignore=shutil.ignore_patterns(".git"))
            git("init", "-q", "-b", "main", str(tree))
            git("add", "-A", cwd=tree)
            git(
                *("-c", "user.name=corral eval", "-c", "user.email=eval@corral.invalid"),
                *("commit", "-q", "--no-verify", "-m", "the task's starting point"),
                cwd=tree,
            )
        git("push", "-q", "--", str(remote), "HEAD:refs/heads/main", cwd=tree)
    return remote


def _is_git_repository(path: Path) -> bool:
    bare = (path / "HEAD").is_file() and (path / "objects").is_dir()
    return (path / ".git").exists() or bare


def campaign_spec(
    suite: Suite, task: TaskSpec, repeat: int, options: EvalOptions, remote: Path
) -> CampaignSpec:
    """The one-repository campaign this task run is."""
    gate, budgets = suite.settings_for(task)
    if options.judge is not None:
        gate = gate.model_copy(
            update={"judge": gate.judge.model_copy(update={"model": options.judge})}
        )
    data: dict[str, Any] = {
        "name": f"eval-{_slug(task.id).lower()}-{repeat}"[:63],
        "targets": {"repos": [{"repo": str(remote), "name": task.id}]},
        "gate": gate.model_dump(),
        "budgets": budgets.model_dump(),
        "concurrency": 1,
        "forge": "local",
        "pull_request": {"title": f"eval: {task.id}"},
    }
    if options.agent == "command":
        data["command"] = task.command
    else:
        assert options.model is not None
        data["prompt"] = task.prompt
        data["agent"] = {"kind": options.agent, "model": options.model.model_dump()}
    return CampaignSpec.model_validate(data)


def _forget(store_url: str, campaign: str) -> None:
    store = Store.open(store_url)
    try:
        previous = store.campaign(campaign)
        if previous is not None:
            store.delete_campaign(previous.id)
    finally:
        store.close()


# What the pipeline recorded, as an eval outcome


_NO_PR_REASONS = {
    Reason.NO_CHANGE: NoPrReason.NO_CHANGE,
    Reason.BUDGET_SPENT: NoPrReason.BUDGET,
}
_STAGE_REASONS = {
    "verifiers": NoPrReason.VERIFIERS,
    "guard": NoPrReason.GUARD,
    "judge": NoPrReason.JUDGE,
}


def classify(store: Store, job: Job, task: TaskSpec, repeat: int) -> TaskResult:
    """The outcome the pipeline reached (before the hidden tests), with the job's figures.
    A PR whose CI passed is returned as `right`, for the hidden tests to confirm."""
    result = TaskResult(task.id, EvalOutcome.NO_PR, None, repeat, detail=job.reason or "")
    _add_figures(store, job, result)
    if job.state == JobState.CI_FAILED:
        result.outcome = EvalOutcome.CI_FAILED
    elif job.state in (JobState.PR_OPEN, JobState.MERGED):
        pr = store.pull_request_for_job(job.id)
        if pr is not None and pr.ci.state == "failed":
            result.outcome = EvalOutcome.CI_FAILED
        elif pr is not None and pr.ci.state == "passed":
            result.outcome = EvalOutcome.RIGHT
        else:
            result.reason = NoPrReason.AGENT
            result.detail = f"the pull request's CI did not finish ({job.state})"
    else:
        result.reason = no_pr_reason(job, store.gate_verdicts(job.id))
    return result


def no_pr_reason(job: Job, verdicts: list[GateVerdict]) -> NoPrReason:
    code = Reason(job.reason_code) if job.reason_code in set(Reason) else Reason.ERROR
    if code in _NO_PR_REASONS:
        return _NO_PR_REASONS[code]
    if code == Reason.GATE_VETOED and verdicts:
        failed = next((s for s in verdicts[-1].stages if not s.get("ok")), None)
        if failed is not None:
            return _STAGE_REASONS.get(str(failed.get("name")), NoPrReason.VERIFIERS)
    if code == Reason.GATE_VETOED:
        return NoPrReason.VERIFIERS
    return NoPrReason.AGENT


def _add_figures(store: Store, job: Job, result: TaskResult) -> None:
    for session in store.sessions(job.id):
        result.turns += session.turns
        result.tokens += session.input_tokens + session.output_tokens
        result.cost_usd += session.cost_usd
    verdicts = store.gate_verdicts(job.id)
    result.gate_runs = len(verdicts)
    for verdict in verdicts:  # the judge's calls are the campaign's cost too
        for stage in verdict.stages:
            details = stage.get("details") or {}
            if stage.get("name") == "judge" and "cost_usd" in details:
                result.tokens += int(details.get("input_tokens", 0))
                result.tokens += int(details.get("output_tokens", 0))
                result.cost_usd += float(details.get("cost_usd", 0.0))
    vetoed_at: int | None = None
    for index, verdict in enumerate(verdicts):
        by = _vetoed_by(verdict)
        if by == "judge":
            result.vetoes += 1
        elif by == "guard":
            result.guard_vetoes += 1
        if by is not None and vetoed_at is None:
            vetoed_at = index
        if verdict.ok and vetoed_at is not None and index > vetoed_at:
            result.recovered = True


def _vetoed_by(verdict: GateVerdict) -> str | None:
    """ "guard" or "judge" when that stage refused the change (not when it could not run)."""
    for stage in verdict.stages:
        if stage.get("ok") or stage.get("skipped"):
            continue
        details = stage.get("details") or {}
        if stage.get("name") in ("guard", "judge") and not details.get("could_not_run"):
            return str(stage["name"])
        return None
    return None


# The hidden tests


def run_hidden_tests(
    suite: Suite, task: TaskSpec, remote: Path, job: Job, runtime: Runtime, spec: CampaignSpec
) -> HiddenResult:
    """The PR's branch, fresh from the forge, with the hidden tests copied over it, through
    the verifiers in the sandbox; each required test id must have passed."""
    tree = Path(runtime.work_dir) / "hidden"
    shutil.rmtree(tree, ignore_errors=True)
    try:
        git("clone", "-q", "--no-tags", "--branch", job.branch or "", "--", str(remote), str(tree))
    except ForgeError as exc:  # fails closed: a change whose tests did not run is not right
        return HiddenResult(failed=[f"the hidden tests could not run: {exc}"])
    hidden = suite.hidden_tests_dir(task)
    if hidden is not None:
        shutil.copytree(hidden, tree, dirs_exist_ok=True)
    report = verify(tree, runtime.runner(spec.name, tree), spec.gate.verifiers)
    statuses: dict[str, TestStatus] = {}
    for verifier in report.results:
        if verifier.tests is not None:
            statuses.update(verifier.tests.cases)
    return check_tests(task, statuses)


def check_tests(task: TaskSpec, statuses: dict[str, TestStatus]) -> HiddenResult:
    """Which required tests passed. With no ids listed, every test that ran must pass (and
    some must have run)."""
    result = HiddenResult()
    required = [*task.fail_to_pass, *task.pass_to_pass]
    if not required:
        failing = [f"{name}: {status}" for name, status in statuses.items() if status == "failed"]
        result.failed = failing or ([] if statuses else ["no test ran"])
        result.passed = [name for name, status in statuses.items() if status == "passed"]
        return result
    for wanted in required:
        matches = matching_ids(wanted, statuses)
        if not matches:
            result.failed.append(f"{wanted}: missing")
        elif all(statuses[m] == "passed" for m in matches):
            result.passed.append(wanted)
        else:
            worst = next(statuses[m] for m in matches if statuses[m] != "passed")
            result.failed.append(f"{wanted}: {worst}")
    return result


_SEPARATORS = ("::", ".", "/", " > ", "-")
_CHILD = ("/", "[")
"""What follows a parent's id in its children's: Go subtests, pytest parameters."""


def matching_ids(wanted: str, statuses: Mapping[str, TestStatus]) -> list[str]:
    """The test ids `wanted` names: itself, else those ending in it after a separator
    (`TestAdd` names `example.com/calc.TestAdd`; `test_add` names `tests/t.py::test_add`;
    `FooTest#bar` names `com.example.FooTest.bar()`); a parent names its children
    (`TestAdd` names `TestAdd/negative`, `test_add` names `test_add[1]`)."""
    if wanted in statuses:
        return [wanted]
    goal = _normal(wanted)
    return [name for name in statuses if _names(goal, _normal(name))]


def _normal(test_id: str) -> str:
    return test_id.replace("#", ".").removesuffix("()")


def _names(goal: str, name: str) -> bool:
    if name == goal or any(name.endswith(f"{sep}{goal}") for sep in _SEPARATORS):
        return True
    for parent in (f"{goal}{child}" for child in _CHILD):
        if name.startswith(parent) or any(f"{sep}{parent}" in name for sep in _SEPARATORS):
            return True
    return False


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:40] or "task"
