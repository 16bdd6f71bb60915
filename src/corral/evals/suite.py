"""The task suite format: a folder with `suite.yaml` listing tasks.

    tasks:
      - id: add-mean
        repo: repos/calc            # a folder or git repository (relative), or a git URL
        ref: main                   # optional: branch, tag or commit (default: the default branch)
        prompt: "Add mean() ..."    # or prompt_file: prompts/add-mean.md
        command: python3 fix.py     # optional: the reference change (`--agent command`)
        hidden_tests: hidden/add-mean   # copied over the checkout after the change and the gate
        fail_to_pass: [tests/test_hidden.py::test_mean]
        pass_to_pass: [tests/test_calc.py::test_add]
        scope: ["src/**"]

`load_suite(path)` validates it (errors name `suite.yaml:LINE field: reason`) and resolves
every path relative to the suite folder; `suite_json_schema()` is what `corral eval schema`
prints.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from corral.config import ConfigError, load_yaml_model
from corral.gate.settings import GateSettings
from corral.spec import Budgets, is_remote_url

SUITE_FILE = "suite.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class CampaignSettings(_Strict):
    """The campaign settings a task runs with (the suite's, with the task's on top)."""

    gate: GateSettings | None = None
    """The gate: verifier overrides, guard rules and the judge (campaign spec's `gate`)."""
    budgets: Budgets | None = None
    """Job budgets (turns, tokens, cost, wall time, gate retries, CI rounds)."""


class TaskSpec(CampaignSettings):
    """One task: a repository, a change to make in it, and how to tell a right change."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    """Unique in the suite: letters, digits, `.`, `_`, `-`."""
    repo: str = Field(min_length=1)
    """A git URL, or a path relative to the suite: a git repository, or a plain folder of
    files (imported as one commit)."""
    ref: str | None = None
    """The branch, tag or commit the change starts from (default: the repository's HEAD)."""
    prompt: str | None = None
    """What the agent is asked to change."""
    prompt_file: Path | None = None
    """A file holding the prompt, relative to the suite."""
    command: str | None = None
    """A deterministic change (`sh -c` in the sandboxed checkout): the reference solution
    that validates the task, or a codemod to compare with agents (`--agent command`)."""
    hidden_tests: Path | None = None
    """A folder, relative to the suite, whose files are copied over the finished checkout
    (after the change, the gate and CI): never seen by the agent or the gate."""
    fail_to_pass: list[str] = Field(default_factory=list)
    """Test ids that must pass after the change (and fail before it)."""
    pass_to_pass: list[str] = Field(default_factory=list)
    """Test ids that must still pass; skipped or missing counts as failed."""
    scope: list[str] | None = None
    """Gitignore-style globs of the files the change may touch (the guard's scope)."""

    @model_validator(mode="after")
    def _has_change(self) -> TaskSpec:
        if self.prompt is not None and self.prompt_file is not None:
            raise ValueError("give prompt or prompt_file, not both")
        if self.prompt is None and self.prompt_file is None and self.command is None:
            raise ValueError("give a prompt, a prompt_file or a command")
        return self

    @field_validator("hidden_tests", "prompt_file")
    @classmethod
    def _inside(cls, value: Path | None) -> Path | None:
        if value is not None and (value.is_absolute() or ".." in value.parts):
            raise ValueError("must be a path inside the suite folder")
        return value

    @property
    def change_text(self) -> str:
        """The prompt (resolved), or the command when the task has no prompt."""
        return self.prompt or f"Run the change command `{self.command}`."


class SuiteSpec(CampaignSettings):
    """A task suite: tasks, and campaign settings every task starts from."""

    name: str | None = None
    """How the suite is named in reports (default: its folder's name)."""
    description: str | None = None
    tasks: list[TaskSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> SuiteSpec:
        seen: set[str] = set()
        for task in self.tasks:
            if task.id in seen:
                raise ValueError(f"task id {task.id!r} is used twice")
            seen.add(task.id)
        return self


class Suite(BaseModel):
    """A loaded suite: the spec with every path resolved, and where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    root: Path
    name: str
    spec: SuiteSpec

    @property
    def tasks(self) -> list[TaskSpec]:
        return self.spec.tasks

    def repo_source(self, task: TaskSpec) -> str:
        """A git URL as written, or the repository's absolute path."""
        return task.repo if is_remote_url(task.repo) else str((self.root / task.repo).resolve())

    def hidden_tests_dir(self, task: TaskSpec) -> Path | None:
        return None if task.hidden_tests is None else self.root / task.hidden_tests

    def settings_for(self, task: TaskSpec) -> tuple[GateSettings, Budgets]:
        """The task's gate and budgets: its own, else the suite's, else the defaults; its
        `scope` replaces the guard's scope."""
        gate = task.gate or self.spec.gate or GateSettings()
        budgets = task.budgets or self.spec.budgets or Budgets()
        if task.scope is not None:
            gate = gate.model_copy(
                update={"guard": gate.guard.model_copy(update={"scope": task.scope})}
            )
        return gate, budgets


def load_suite(path: Path) -> Suite:
    """A suite from its folder or its `suite.yaml`; raises ConfigError naming file:line field."""
    file = path / SUITE_FILE if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(f"{path}: no {SUITE_FILE} here")
    spec = load_yaml_model(file, SuiteSpec)
    root = file.resolve().parent
    tasks = [_resolved(task, root, file) for task in spec.tasks]
    name = spec.name or re.sub(r"[^A-Za-z0-9._-]+", "-", root.name) or "suite"
    return Suite(root=root, name=name, spec=spec.model_copy(update={"tasks": tasks}))


def _resolved(task: TaskSpec, root: Path, file: Path) -> TaskSpec:
    where = f"{file} task {task.id}"
    updates: dict[str, Any] = {}
    if task.prompt_file is not None:
        try:
            updates["prompt"] = (root / task.prompt_file).read_text()
        except OSError as exc:
            raise ConfigError(f"{where} prompt_file: cannot read: {exc.strerror}") from exc
        updates["prompt_file"] = None
    if not is_remote_url(task.repo) and not (root / task.repo).exists():
        raise ConfigError(f"{where} repo: {task.repo} does not exist")
    if task.hidden_tests is not None and not (root / task.hidden_tests).is_dir():
        raise ConfigError(f"{where} hidden_tests: {task.hidden_tests} is not a folder")
    return task.model_copy(update=updates)


def suite_json_schema() -> dict[str, Any]:
    return SuiteSpec.model_json_schema()
