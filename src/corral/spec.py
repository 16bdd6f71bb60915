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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from corral.config import ConfigError, load_yaml_model, read_utf8
from corral.gate.settings import GateSettings
from corral.llm.settings import ModelSettings

TEMPLATE_FIELDS = frozenset({"campaign", "repo", "prompt", "change"})
"""Names a branch, commit message, PR title or body template may use, as `{campaign}`."""


AgentKind = Literal["builtin", "claude-code"]
"""The agents a prompt can be given to; a change command needs none."""


class _Strict(BaseModel):
    # defer_build: each model's validator is built on first use, not at import; commands
    # that import the spec's types without reading a spec (approve, pause) skip the cost
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, defer_build=True)


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
        return _relative_folder(value)

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        base = re.sub(r"\.git$", "", self.repo.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
        return f"{base}/{self.workspace}" if self.workspace else base


QUERY_SOURCES = ("github_org", "github_topic", "github_code_search", "gitlab_group")


def _plain_names(value: list[str]) -> list[str]:
    """Labels and reviewers: GitLab takes labels comma-separated, so no commas."""
    bad = [v for v in value if not v.strip() or "," in v or len(v) > 100]
    if bad:
        raise ValueError(f"not a label or reviewer name: {bad[0]!r} (no commas, 1-100 chars)")
    return value


def _relative_folder(value: str | None) -> str | None:
    if value is not None and (value.startswith("/") or ".." in Path(value).parts):
        raise ValueError("must be a relative folder inside the repository")
    return value


class ForgeQuery(_Strict):
    """Repositories found on a forge rather than listed (needs the github or gitlab forge)."""

    github_org: str | None = None
    github_topic: str | None = None
    github_code_search: str | None = None
    gitlab_group: str | None = None
    language: str | None = None
    """Keep only repositories whose main language (as GitHub reports it) is this one,
    compared without case (GitHub only)."""
    topics: list[str] = Field(default_factory=list)
    """Keep only repositories carrying every one of these topics (GitHub and GitLab)."""

    @model_validator(mode="after")
    def _one_query(self) -> ForgeQuery:
        if sum(getattr(self, name) is not None for name in QUERY_SOURCES) != 1:
            raise ValueError(f"give exactly one of {', '.join(QUERY_SOURCES)}")
        if self.language is not None and self.gitlab_group is not None:
            raise ValueError("language filters GitHub repositories only (GitLab has topics)")
        if (self.language or self.topics) and self.github_code_search is not None:
            raise ValueError("language and topics filter org, topic and group queries only")
        return self


class RepoOverride(_Strict):
    """What one repository does differently from the rest of the campaign (`repos.yaml`)."""

    workspace: str | None = None
    """A sub-folder of a monorepo to work in, instead of the target's."""
    base_branch: str | None = None
    reviewers: list[str] = Field(default_factory=list)
    """Asked for review on this repository's pull request, besides the campaign's."""
    labels: list[str] = Field(default_factory=list)
    """Put on this repository's pull request, besides the campaign's."""

    @field_validator("workspace")
    @classmethod
    def _relative_workspace(cls, value: str | None) -> str | None:
        return _relative_folder(value)

    @field_validator("labels", "reviewers")
    @classmethod
    def _plain_names(cls, value: list[str]) -> list[str]:
        return _plain_names(value)


class RepoOverrides(RootModel[dict[str, RepoOverride]]):
    """`repos.yaml`: per repository (its name as corral shows it, or its URL or path as the
    spec lists it), what it does differently."""


class TargetsSpec(_Strict):
    repos: list[TargetSpec | str] = Field(default_factory=list)
    file: Path | None = None
    """A text file with one repository per line (`#` comments allowed)."""
    query: ForgeQuery | None = None
    include: list[str] = Field(default_factory=list)
    """fnmatch patterns on the repository's name or URL; when given, only matches are kept."""
    exclude: list[str] = Field(default_factory=list)
    has_file: list[str] = Field(default_factory=list)
    """Keep only repositories holding a file matching one of these globs (`pom.xml`: a file
    of that name at any depth; `src/*/main.go`: a path from the root, or the workspace's);
    checked on the checkout: a repository without one is skipped, and `corral plan` says so."""
    exclude_has_file: list[str] = Field(default_factory=list)
    """Skip repositories holding a file matching one of these globs."""
    overrides: Path | dict[str, RepoOverride] | None = None
    """A YAML file (relative to the spec) of per-repository settings: `name: {workspace,
    base_branch, reviewers, labels}`."""

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

    def override_for(self, target: TargetSpec) -> RepoOverride | None:
        """The target's entry in the overrides, by its name or its repository."""
        if not isinstance(self.overrides, dict):
            return None
        found = self.overrides.get(target.display_name) or self.overrides.get(target.repo)
        return found or self.overrides.get(target.repo.rstrip("/").removesuffix(".git"))

    def with_override(self, target: TargetSpec) -> TargetSpec:
        """The target with its override's workspace and base branch."""
        found = self.override_for(target)
        if found is None:
            return target
        changes = {"workspace": found.workspace, "base_branch": found.base_branch}
        kept = {k: v for k, v in changes.items() if v is not None}
        if "workspace" in kept and target.name is None:  # keep the name the override used
            kept["name"] = target.display_name
        return target.model_copy(update=kept)

    def file_filter_problem(self, files: Sequence[str]) -> str | None:
        """Why a checkout whose tracked files (relative to the workspace) are `files` is not
        a target under has_file / exclude_has_file, or None."""
        if self.has_file and not any(matches_file(f, p) for f in files for p in self.has_file):
            return f"no file matches has_file {self.has_file}"
        hit = next((f for f in files for p in self.exclude_has_file if matches_file(f, p)), None)
        return None if hit is None else f"{hit} matches exclude_has_file {self.exclude_has_file}"


def matches_file(path: str, pattern: str) -> bool:
    """A has_file glob: without `/`, a file name at any depth; with one (`/pom.xml`,
    `src/*.go`), a path from the root."""
    if "/" not in pattern.rstrip("/"):
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern.rstrip("/"))
    return fnmatch.fnmatchcase(path, pattern.strip("/"))


class SessionBudgets(_Strict):
    """Limits on one agent session (or change command): the campaign spec's job budget is
    these plus its CI rounds."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, defer_build=True
    )

    max_turns: int = Field(default=50, gt=0)
    max_tokens: int = Field(default=2_000_000, gt=0)
    max_cost_usd: float = Field(default=10.0, gt=0)
    max_wall_s: float = Field(default=3600.0, gt=0)
    """Wall time of one agent session (for a command: its run)."""
    max_gate_retries: int = Field(default=3, ge=0)
    """How many failed gates are fed back to the agent before it is given up on."""


class JobBudget(SessionBudgets):
    """Limits on one repository's work: its agent sessions' and its CI rounds."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, defer_build=True
    )

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
    labels: list[str] = Field(default_factory=list)
    """Labels put on every pull request (a repository's overrides may add more)."""
    reviewers: list[str] = Field(default_factory=list)
    """Users (`alice`) or teams (`org/team`, GitHub) asked for review on every pull request."""
    codeowners: bool = False
    """Also ask the owners the repository's CODEOWNERS names for the changed files
    (`reviewers: codeowners` is short for this)."""

    @model_validator(mode="before")
    @classmethod
    def _codeowners_shorthand(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("reviewers") == "codeowners":
            return {**data, "reviewers": [], "codeowners": True}
        return data

    @field_validator("labels", "reviewers")
    @classmethod
    def _plain_names(cls, value: list[str]) -> list[str]:
        return _plain_names(value)

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
    target_updates: dict[str, Any] = {"repos": resolved, "file": None}
    if isinstance(spec.targets.overrides, Path):
        overrides = base_dir / spec.targets.overrides
        target_updates["overrides"] = _overrides(overrides, base_dir, origin)
    updates["targets"] = spec.targets.model_copy(update=target_updates)
    return spec.model_copy(update=updates)


def _overrides(path: Path, base_dir: Path, origin: str) -> dict[str, RepoOverride]:
    """The overrides file, its keys that are relative paths (`./api`) made absolute as the
    targets' paths are."""
    try:
        loaded = load_yaml_model(path, RepoOverrides).root
    except ConfigError as exc:
        raise ConfigError(f"{origin} targets.overrides: {exc}") from exc
    return {
        str((base_dir / key).resolve()) if key.startswith(("./", "../")) else key: value
        for key, value in loaded.items()
    }


def selected_targets(spec: CampaignSpec, found: Sequence[str] = ()) -> list[TargetSpec]:
    """The resolved spec's repositories, plus those its forge query `found`, after
    include/exclude. A repository both listed and found counts once; a found one whose name
    is taken is named by its path on the forge (`group/sub/name`); a name listed twice is
    refused."""
    listed = [t for t in map(_as_target, spec.targets.repos) if spec.targets.selects(t)]
    known = {(t.repo, t.workspace) for t in map(_as_target, spec.targets.repos)}
    queried = [TargetSpec(repo=url) for url in dict.fromkeys(found) if (url, None) not in known]
    chosen = listed + _distinct_names([t for t in queried if spec.targets.selects(t)], listed)
    every = [*map(_as_target, spec.targets.repos), *queried, *_distinct_names(queried, listed)]
    _known_overrides(spec.targets, every)
    chosen = [spec.targets.with_override(t) for t in chosen]
    seen: set[str] = set()
    for target in chosen:
        if target.display_name in seen:
            raise ConfigError(f"targets: {target.display_name!r} is listed twice")
        seen.add(target.display_name)
    return chosen


def _known_overrides(targets: TargetsSpec, known: list[TargetSpec]) -> None:
    """Refuse an override naming no target: a typo would silently do nothing."""
    if not isinstance(targets.overrides, dict):
        return
    names = {k for t in known for k in (t.display_name, t.repo, t.repo.removesuffix(".git"))}
    unknown = sorted(set(targets.overrides) - names)
    if unknown:
        raise ConfigError(
            f"targets.overrides: {', '.join(map(repr, unknown))} is not a target "
            f"(use a repository's name as corral shows it, or its URL or path)"
        )


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
