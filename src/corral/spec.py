"""The campaign spec: one YAML file saying what to change, where, and within which limits.

`load_spec(path)` validates it with pydantic and resolves paths relative to the file, so an
invalid spec is refused before anything runs with `spec.yaml:9 agent.max_turns: reason`.
`corral schema` prints `spec_json_schema()`.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import string
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from corral.config import ConfigError, load_yaml_model, read_utf8
from corral.gate.settings import GateSettings
from corral.llm.settings import ModelSettings

TEMPLATE_FIELDS = frozenset({"campaign", "repo", "prompt", "change"})
"""Names a branch, commit message, PR title or body template may use, as `{campaign}`."""


AgentKind = Literal["builtin", "claude-code"]
"""The agents a prompt can be given to; a change command needs none."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class AgentSpec(_Strict):
    """Who turns the prompt into edits (unused when the campaign gives a command)."""

    kind: AgentKind = "builtin"
    model: ModelSettings = Field(
        default_factory=lambda: ModelSettings(provider="anthropic", model="claude-sonnet-4-5")
    )


class TargetSpec(_Strict):
    """One repository: a git URL or a local path (which is then itself the remote)."""

    repo: str = Field(min_length=1)
    workspace: str | None = None
    """A sub-folder of a monorepo to work in; the job's gate and verifiers run there."""
    name: str | None = None
    """How the repository is shown; defaults to the last part of `repo` (plus the workspace)."""
    base_branch: str | None = None
    """The branch to change; default: the remote's default branch."""

    @field_validator("workspace")
    @classmethod
    def _relative_workspace(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith("/") or ".." in Path(value).parts):
            raise ValueError("must be a relative folder inside the repository")
        return value

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        base = re.sub(r"\.git$", "", self.repo.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
        return f"{base}/{self.workspace}" if self.workspace else base


class ForgeQuery(_Strict):
    """Repositories found on a forge rather than listed (needs the github or gitlab forge)."""

    github_org: str | None = None
    github_topic: str | None = None
    github_code_search: str | None = None
    gitlab_group: str | None = None

    @model_validator(mode="after")
    def _one_query(self) -> ForgeQuery:
        if sum(v is not None for v in self.model_dump().values()) != 1:
            raise ValueError(
                "give exactly one of github_org, github_topic, github_code_search, gitlab_group"
            )
        return self


class TargetsSpec(_Strict):
    repos: list[TargetSpec | str] = Field(default_factory=list)
    file: Path | None = None
    """A text file with one repository per line (`#` comments allowed)."""
    query: ForgeQuery | None = None
    include: list[str] = Field(default_factory=list)
    """fnmatch patterns on the repository's name or URL; when given, only matches are kept."""
    exclude: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_source(self) -> TargetsSpec:
        if not self.repos and self.file is None and self.query is None:
            raise ValueError("list repos, a file of them, or a forge query")
        return self

    def selects(self, target: TargetSpec) -> bool:
        keys = (target.display_name, target.repo)
        if self.include and not any(fnmatch.fnmatch(k, p) for k in keys for p in self.include):
            return False
        return not any(fnmatch.fnmatch(k, p) for k in keys for p in self.exclude)


class SessionBudgets(_Strict):
    """Limits on one agent session (or change command): the campaign spec's job budget is
    these plus its CI rounds."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    max_turns: int = Field(default=50, gt=0)
    max_tokens: int = Field(default=2_000_000, gt=0)
    max_cost_usd: float = Field(default=10.0, gt=0)
    max_wall_s: float = Field(default=3600.0, gt=0)
    """Wall time of one agent session (for a command: its run)."""
    max_gate_retries: int = Field(default=3, ge=0)
    """How many failed gates are fed back to the agent before it is given up on."""


class JobBudget(SessionBudgets):
    """Limits on one repository's work: its agent sessions' and its CI rounds."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    max_ci_rounds: int = Field(default=2, ge=0)
    """How many times a failing CI is fed back to the agent before the PR is left as failed."""


class CampaignBudget(_Strict):
    """Limits on the whole campaign; once spent, no new job starts."""

    max_tokens: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_jobs: int | None = Field(default=None, gt=0)
    """How many repositories may be started at most (a canary campaign)."""


class Budgets(_Strict):
    job: JobBudget = Field(default_factory=JobBudget)
    campaign: CampaignBudget = Field(default_factory=CampaignBudget)


class PullRequestSpec(_Strict):
    """Templates use `{campaign}`, `{repo}`, `{prompt}` and `{change}` (prompt or command)."""

    branch: str = "corral/{campaign}"
    commit_message: str = "{campaign}\n\n{change}"
    title: str = "{campaign}"
    body: str = "Opened by corral for campaign `{campaign}`.\n\n{change}"
    draft: bool = False
    author_name: str = "corral"
    author_email: str = "corral@localhost"

    @field_validator("branch", "commit_message", "title", "body")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name}
        except ValueError as exc:
            raise ValueError(f"not a valid template: {exc}") from exc
        unknown = names - TEMPLATE_FIELDS
        if unknown:
            raise ValueError(
                f"unknown template field(s) {sorted(unknown)}; use {sorted(TEMPLATE_FIELDS)}"
            )
        return value

    @field_validator("branch")
    @classmethod
    def _valid_branch(cls, value: str) -> str:
        """Refused here, not by git in every job: the template with its fields filled in must
        be a valid branch name (git check-ref-format's rules)."""
        sample = value.format(**dict.fromkeys(TEMPLATE_FIELDS, "x"))
        problem = branch_name_problem(sample)
        if problem is not None:
            raise ValueError(f"{value!r} does not make a valid branch name: {problem}")
        return value


class RateLimit(_Strict):
    count: int = Field(gt=0)
    per_s: float = Field(gt=0)


class PauseIf(_Strict):
    """When the rollout stops by itself: too many of the settled jobs failed."""

    failure_rate: float = Field(default=0.3, ge=0, le=1)
    """Pause once the share of failed jobs (no PR for a failure, or a PR failing CI) among
    the settled ones is above this."""
    after: int = Field(default=5, gt=0)
    """...and at least this many jobs have settled."""


class RolloutSpec(_Strict):
    """A staged rollout: the canary first, then each wave once the one before it settled."""

    canary: int = Field(default=5, gt=0)
    """How many repositories (the first ones listed) go first."""
    waves: list[int] = Field(default_factory=list)
    """Cumulative sizes of the following waves (the canary included); the rest comes last."""
    pause_if: PauseIf | None = None
    approve_waves: bool = False
    """Each wave after the canary also waits for a person (`corral resume CAMPAIGN`)."""

    @field_validator("waves")
    @classmethod
    def _growing(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError("wave sizes are cumulative: each must be larger than the one before")
        return value

    @model_validator(mode="after")
    def _after_canary(self) -> RolloutSpec:
        if self.waves and self.waves[0] <= self.canary:
            raise ValueError("the first wave must be larger than the canary (sizes are cumulative)")
        return self

    def bounds(self) -> list[int]:
        """Where each stage ends (cumulative job counts): the canary, then the waves."""
        return [self.canary, *self.waves]


class StepSpec(_Strict):
    """One step of a job's change: a deterministic command, or an agent given a prompt."""

    command: str | None = None
    prompt: str | None = None
    prompt_file: Path | None = None
    """A file holding the prompt, relative to the spec."""

    @model_validator(mode="after")
    def _one_kind(self) -> StepSpec:
        given = [n for n in ("command", "prompt", "prompt_file") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a step gives exactly one of command, prompt or prompt_file")
        return self


NotifyEvent = Literal["approval_waiting", "paused", "ci_failed", "finished"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("approval_waiting", "paused", "ci_failed", "finished")


class WebhookSpec(_Strict):
    """Where events a person must act on are posted (Slack-compatible, or generic JSON)."""

    url: str | None = None
    url_env: str | None = None
    """The name of an environment variable holding the URL (a Slack URL is a secret: keep
    it out of the spec and the store)."""
    format: Literal["slack", "json"] = "json"
    events: list[NotifyEvent] = Field(default_factory=lambda: list(NOTIFY_EVENTS))

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSpec:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        if self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError("url must be http:// or https://")
        return self


class CampaignSpec(_Strict):
    """A campaign: one change, many repositories, one pull request each."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    """Lower-case letters, digits, `.`, `_`, `-`: it names branches and records."""
    prompt: str | None = None
    """What the agent is asked to change, in every repository."""
    prompt_file: Path | None = None
    """A file holding the prompt, relative to the spec."""
    command: str | None = None
    """A deterministic change command (`sh -c`), instead of a prompt and an agent."""
    steps: list[StepSpec] | None = Field(default=None, min_length=1)
    """Instead of one prompt or command: commands then agents, in one job (`[{command:
    ./codemod.sh}, {prompt_file: fix.md}]`). An agent step sees the change so far and the
    gate's findings on it; it is skipped when the change already passes the gate."""
    agent: AgentSpec = Field(default_factory=AgentSpec)
    targets: TargetsSpec
    """The repositories: listed, from a file, or found by a forge query; a plain list is
    short for `targets: {repos: [...]}`."""
    gate: GateSettings = Field(default_factory=GateSettings)
    """Verifier overrides, guard rules (scope globs, rules allowed, diff size) and the judge."""
    budgets: Budgets = Field(default_factory=Budgets)
    pull_request: PullRequestSpec = Field(default_factory=PullRequestSpec)
    approval: Literal["none", "each"] = "none"
    """each: a person approves every diff (`corral approve JOB`) before it is pushed."""
    concurrency: int = Field(default=4, gt=0, le=256)
    """How many repositories are worked on at once."""
    pr_rate_limit: RateLimit | None = None
    """At most `count` pull requests opened per `per_s` seconds, across all workers."""
    ci_concurrency: int | None = Field(default=None, gt=0)
    """At most this many of the campaign's PRs with CI running at once (pushed, CI not yet
    done on the pushed commit); further pushes (new PRs, CI-fix rounds, refreshes) wait."""
    refresh: Literal["on_base_change", "daily", "never"] = "on_base_change"
    """When an open PR's base branch moves: rebase it (re-gated, CI re-run) at the next look
    (on_base_change), at most once a day (daily), or never (it is only shown as behind). A
    rebase that conflicts, or that the gate refuses, redoes the change on the new base."""
    rollout: RolloutSpec | None = None
    notify: list[WebhookSpec] = Field(default_factory=list)
    """Webhooks for what needs a person: approval waiting, a paused rollout, a PR failing
    CI after its rounds, the campaign finished. A failed delivery is retried and recorded,
    and never fails a job."""
    """Stages: a canary, then waves, pausing when too many fail; default: all at once."""
    forge: Literal["local", "github", "gitlab"] = "local"
    """Where pull requests open: local bare repositories, GitHub or GitLab (token from the
    environment: GITHUB_TOKEN, GITLAB_TOKEN)."""

    @field_validator("targets", mode="before")
    @classmethod
    def _plain_list_is_repos(cls, value: object) -> object:
        return {"repos": value} if isinstance(value, list) else value

    @model_validator(mode="after")
    def _one_change(self) -> CampaignSpec:
        names = ("prompt", "prompt_file", "command", "steps")
        given = [n for n in names if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of prompt, prompt_file, command or steps"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def change_text(self) -> str:
        """The prompt, or the command, or the steps, as commits and pull requests show them
        (and as the judge reads what was asked)."""
        if self.steps is not None:
            return "\n\n".join(_step_text(step) for step in self.steps)
        return self.prompt if self.prompt is not None else f"Change command: `{self.command}`"

    @property
    def uses_agent(self) -> bool:
        """Whether a model works on the change (so CI failures can go back to it)."""
        if self.steps is not None:
            return any(step.command is None for step in self.steps)
        return self.command is None

    @property
    def agent_prompt(self) -> str:
        """What the agent is asked: the prompt, or the last agent step's prompt."""
        if self.steps is not None:
            prompts = [step.prompt for step in self.steps if step.prompt is not None]
            return prompts[-1] if prompts else ""
        return self.prompt or ""


def _step_text(step: StepSpec) -> str:
    return step.prompt if step.prompt is not None else f"Change command: `{step.command}`"


def load_spec(path: Path) -> CampaignSpec:
    """Validate a spec file and resolve what it refers to; raises ConfigError naming the field."""
    spec = load_yaml_model(path, CampaignSpec)
    return resolve(spec, path.resolve().parent, origin=str(path))


def resolve(spec: CampaignSpec, base_dir: Path, origin: str = "spec") -> CampaignSpec:
    """The spec made self-contained: prompt file read, target file and local paths absolute."""
    updates: dict[str, Any] = {}
    if spec.prompt_file is not None:
        updates["prompt"] = _read(base_dir / spec.prompt_file, f"{origin} prompt_file")
        updates["prompt_file"] = None
    if spec.steps is not None:
        updates["steps"] = [
            _resolve_step(s, base_dir, f"{origin} steps[{n}]") for n, s in enumerate(spec.steps)
        ]
    targets = list(spec.targets.repos)
    if spec.targets.file is not None:
        targets += _targets_file(base_dir / spec.targets.file, f"{origin} targets.file")
    resolved = [_absolute(_as_target(t), base_dir) for t in targets]
    updates["targets"] = spec.targets.model_copy(update={"repos": resolved, "file": None})
    return spec.model_copy(update=updates)


def selected_targets(spec: CampaignSpec, found: Sequence[str] = ()) -> list[TargetSpec]:
    """The resolved spec's repositories, plus those its forge query `found`, after
    include/exclude. A repository both listed and found counts once; a found one whose name
    is taken is named by its path on the forge (`group/sub/name`); a name listed twice is
    refused."""
    listed = [t for t in map(_as_target, spec.targets.repos) if spec.targets.selects(t)]
    known = {(t.repo, t.workspace) for t in map(_as_target, spec.targets.repos)}
    queried = [TargetSpec(repo=url) for url in dict.fromkeys(found) if (url, None) not in known]
    chosen = listed + _distinct_names([t for t in queried if spec.targets.selects(t)], listed)
    seen: set[str] = set()
    for target in chosen:
        if target.display_name in seen:
            raise ConfigError(f"targets: {target.display_name!r} is listed twice")
        seen.add(target.display_name)
    return chosen


def _distinct_names(queried: list[TargetSpec], listed: list[TargetSpec]) -> list[TargetSpec]:
    """Found repositories, those sharing a name with another named by their path instead."""
    names = Counter(t.display_name for t in [*listed, *queried])
    return [
        t.model_copy(update={"name": _forge_path(t.repo)}) if names[t.display_name] > 1 else t
        for t in queried
    ]


def _forge_path(url: str) -> str:
    """`group/sub/name` of `https://host/group/sub/name.git` or `git@host:group/sub/name.git`."""
    path = urlsplit(url).path if "://" in url else url.split(":", 1)[-1]
    return re.sub(r"\.git$", "", path.strip("/"))


def _as_target(item: TargetSpec | str) -> TargetSpec:
    return TargetSpec(repo=item) if isinstance(item, str) else item


def _absolute(target: TargetSpec, base_dir: Path) -> TargetSpec:
    if is_remote_url(target.repo):
        return target
    return target.model_copy(update={"repo": str((base_dir / target.repo).resolve())})


_BAD_IN_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def branch_name_problem(name: str) -> str | None:
    """Why `name` is not a valid git branch name, or None (git check-ref-format's rules)."""
    if bad := _BAD_IN_BRANCH.search(name):
        return f"it contains {bad.group()!r} (no spaces, control characters, ~^:?*[ or \\)"
    checks = [
        (
            name.startswith(("-", "/")) or name.endswith("/"),
            "it starts with - or /, or ends with /",
        ),
        (".." in name or "//" in name or "@{" in name, "it contains .., // or @{"),
        (name.endswith((".", ".lock")), "it ends with . or .lock"),
        (any(p.startswith(".") for p in name.split("/")), "a part of it starts with ."),
        (name == "@", "it is @"),
    ]
    return next((why for failed, why in checks if failed), None)


def is_remote_url(repo: str) -> bool:
    """True for `scheme://...` and scp-like `user@host:path`; false for local paths."""
    return "://" in repo or bool(re.match(r"^[\w.-]+@[\w.-]+:", repo))


def _resolve_step(step: StepSpec, base_dir: Path, origin: str) -> StepSpec:
    if step.prompt_file is None:
        return step
    prompt = _read(base_dir / step.prompt_file, f"{origin}.prompt_file")
    return step.model_copy(update={"prompt": prompt, "prompt_file": None})


def _read(path: Path, what: str) -> str:
    try:
        return read_utf8(path)
    except ConfigError as exc:
        raise ConfigError(f"{what}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror}") from exc


def _targets_file(path: Path, what: str) -> list[TargetSpec | str]:
    lines = (line.split("#", 1)[0].strip() for line in _read(path, what).splitlines())
    return [line for line in lines if line]


def spec_json_schema() -> dict[str, Any]:
    return CampaignSpec.model_json_schema()
