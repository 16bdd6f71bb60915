"""What every verifier is and produces: findings, results, and the Verifier base class.

A verifier is one module in this folder (maven.py, go.py, ...) defining a subclass of
`Verifier`; `registry.py` lists them. Verifiers never run a process themselves: they go
through the `CommandRunner` they are given, so the sandbox decides how commands run.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Generic, Literal, TypeVar

from corral.sandbox.base import (
    CommandResult,
    CommandRunner,
    Limits,
    NetworkPolicy,
    ToolMissingError,
)

Rel = Callable[[str], str]
"""A path as a tool printed it, made relative to the repository root (`ProjectContext.rel`)."""


class FindingKind(StrEnum):
    ERROR = "error"
    """The verifier could not run: tool missing, dependencies unresolvable, timeout, crash."""
    COMPILE = "compile"
    TEST = "test"
    LINT = "lint"
    FORMAT = "format"


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    file: str | None
    """Relative to the repository root, POSIX separators."""
    line: int | None
    message: str
    test_id: str | None = None
    context: str | None = None
    """A few lines that help (a source excerpt, a diff hunk, a stack frame)."""
    new: bool = True
    """False when the same finding was already there at the baseline."""

    def baseline_key(self, verifier: str) -> tuple[str, str, str, str, str]:
        """Identity across commits: never the line number, which any edit above shifts."""
        return (
            verifier,
            self.file or "",
            self.kind.value,
            self.test_id or "",
            _normalise(self.message),
        )


def _normalise(message: str) -> str:
    return " ".join(message.split()).lower()


TestStatus = Literal["passed", "failed", "skipped"]


@dataclass
class TestCounts:
    __test__ = False  # not a pytest class

    run: int = 0
    """Tests executed (passed or failed), skipped ones excluded."""
    failed: int = 0
    skipped: int = 0
    cases: dict[str, TestStatus] = field(default_factory=dict, compare=False, repr=False)
    """Each test's id and how it ended, as the tool's structured report names it (pytest's
    node id, `package.TestName` for Go, JUnit's `class.method`, libtest's path)."""

    def add(self, other: TestCounts) -> TestCounts:
        return TestCounts(
            self.run + other.run,
            self.failed + other.failed,
            self.skipped + other.skipped,
            {**self.cases, **other.cases},
        )


def counts_json(counts: TestCounts) -> dict[str, int]:
    """The counts as `verify --json` and the store show them (each test's status left out)."""
    return {"run": counts.run, "failed": counts.failed, "skipped": counts.skipped}


class StageStatus(StrEnum):
    RAN = "ran"
    """Ran to the end: its findings, if any, are its whole report."""
    STOPPED = "stopped"
    """Started but ended before it checked everything (a collection error, a test build
    that failed, a chained script that failed as a whole): what it did not reach is unknown."""
    NOT_RUN = "not_run"
    """Never started (a step it needs failed first)."""


STAGES = ("format", "build", "lint", "test")
"""The stages a verifier reports, in the order CI runs them."""


@dataclass(frozen=True)
class StageReport:
    status: StageStatus
    detail: str | None = None
    """Why it did not run to the end: the first line a reader needs (one line)."""

    @property
    def complete(self) -> bool:
        return self.status == StageStatus.RAN


RAN = StageReport(StageStatus.RAN)


@dataclass
class CheckOutcome:
    """What `Verifier.check` returns."""

    findings: list[Finding] = field(default_factory=list)
    tests: TestCounts | None = None
    # Keyword-only: three dicts/lists in a row, easily passed to the wrong one by position.
    sources: dict[str, str] = field(default_factory=dict, kw_only=True)
    """Check name -> where the decision to run it (or not) came from (`ci_parity.decide`)."""
    notes: list[str] = field(default_factory=list, kw_only=True)
    """What the agent should know once, e.g. a pinned tool version that could not be had."""
    stages: dict[str, StageReport] = field(default_factory=dict, kw_only=True)
    """Each stage the project has (format, build, lint, test) and whether it ran to the end.
    A stage the project does not have is absent; an empty dict is a verifier that does not say.
    A check CI parity leaves out is absent too: it is not a stage that did not run."""


@dataclass
class VerifierResult:
    name: str
    project: str
    """The sub-project's folder relative to the repository root ('.' for the root)."""
    ok: bool
    duration_s: float
    findings: list[Finding] = field(default_factory=list)
    tests: TestCounts | None = None
    sources: dict[str, str] = field(default_factory=dict, kw_only=True)
    notes: list[str] = field(default_factory=list, kw_only=True)
    stages: dict[str, StageReport] = field(default_factory=dict, kw_only=True)

    @property
    def new_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.new]

    def incomplete_stages(self) -> dict[str, StageReport]:
        return {name: s for name, s in self.stages.items() if not s.complete}


def stage_gap_findings(result: VerifierResult, *, at_base_too: bool = False) -> list[Finding]:
    """One `error` finding per stage that did not run to the end: never a pass.

    Used when nothing new explains the gap (no findings at all, or only pre-existing ones
    that the baseline excused): a stopped stage may hide any fault of the change.
    """
    findings = []
    for name, stage in result.incomplete_stages().items():
        verb = "did not run" if stage.status == StageStatus.NOT_RUN else "stopped early"
        why = f": {stage.detail}" if stage.detail else ""
        base = " (at the base commit too)" if at_base_too else ""
        findings.append(
            Finding(
                FindingKind.ERROR,
                None if result.project == "." else result.project,
                None,
                f"{result.name} {name} stage {verb}{why}{base}; nothing can pass until it "
                "runs to the end",
            )
        )
    return findings


@dataclass(frozen=True)
class ProjectContext:
    """Everything a verifier needs to prepare or check one project."""

    repo_root: Path
    project_dir: Path
    runner: CommandRunner
    timeout_s: float = 900.0
    extra_args: tuple[str, ...] = ()
    network: NetworkPolicy = "none"
    checks: tuple[str, ...] = ()
    """Checks opted in by `.corral.yaml` or the campaign (`verifiers.checks`), e.g. `clippy`."""

    @property
    def cache_dir(self) -> Path:
        return self.runner.cache_dir

    def rel(self, path: str | os.PathLike[str]) -> str:
        """A path (absolute, or relative to the project) made relative to the repository root."""
        p = Path(path)
        if not p.is_absolute():
            p = self.project_dir / p
        try:
            return p.resolve().relative_to(self.repo_root.resolve()).as_posix()
        except ValueError:
            return p.as_posix()

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout_s: float | None = None,
    ) -> CommandResult:
        """Run a command in the project with the shared cache environment."""
        return self.runner.run(
            argv,
            cwd=cwd or self.project_dir,
            env={**cache_env(self.cache_dir), **(env or {})},
            network=self.network,
            limits=Limits(timeout_s=timeout_s or self.timeout_s),
        )


class VerifierError(Exception):
    """Raised inside a verifier when it cannot do its job; becomes an `error` finding."""

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


class Verifier(ABC):
    """One kind of project: how to recognise it, prepare it and check it."""

    name: ClassVar[str]
    markers: ClassVar[tuple[str, ...]]
    """File names (or fnmatch patterns) whose presence in a folder marks a project."""
    nested: ClassVar[bool] = False
    """Whether a project below another project of the same kind is checked on its own.

    False for build tools whose root already builds its sub-projects (Maven modules, cargo
    and npm workspaces); True where each project is separate (Go modules).
    """

    def detect(self, directory: Path) -> bool:
        names = os.listdir(directory)
        return any(fnmatch.filter(names, marker) for marker in self.markers)

    def prepare(self, ctx: ProjectContext) -> None:
        """Install what the project declares it needs. May use the network.

        Raises VerifierError (or lets ToolMissingError out) when it cannot.
        """
        return None

    @abstractmethod
    def check(self, ctx: ProjectContext) -> CheckOutcome:
        """Format-check, build, lint and test. Must work offline once prepared."""


def cache_env(cache_dir: Path) -> dict[str, str]:
    """Environment variables that point every toolchain's dependency cache below cache_dir."""
    c = cache_dir
    return {
        "GOMODCACHE": str(c / "go" / "mod"),
        "GOCACHE": str(c / "go" / "build"),
        "GOPATH": str(c / "go" / "path"),
        "GOTOOLCHAIN": "local",
        "CARGO_HOME": str(c / "cargo"),
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup")),
        "npm_config_cache": str(c / "npm"),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "YARN_CACHE_FOLDER": str(c / "yarn"),
        "npm_config_store_dir": str(c / "pnpm"),
        "COREPACK_HOME": str(c / "corepack"),
        "COREPACK_ENABLE_DOWNLOAD_PROMPT": "0",
        # Without a `packageManager` field: corepack's own default, not the newest release
        # (which may not run on the installed Node, and needs the network on every check).
        "COREPACK_DEFAULT_TO_LATEST": "0",
        "PIP_CACHE_DIR": str(c / "pip"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "GRADLE_USER_HOME": str(c / "gradle"),
        "MAVEN_REPO_LOCAL": str(c / "m2"),
    }


def run_tool(
    ctx: ProjectContext, argv: Sequence[str], what: str, **kwargs: object
) -> CommandResult:
    """ctx.run, with a missing program or a limit hit turned into a VerifierError."""
    try:
        result = ctx.run(argv, **kwargs)  # type: ignore[arg-type]
    except ToolMissingError as exc:
        raise VerifierError(f"{what}: `{exc}` is not installed") from exc
    if result.limit_hit == "timeout":
        raise VerifierError(f"{what} timed out after {result.duration_s:.0f}s")
    if result.limit_hit in ("memory", "processes", "disk"):
        raise VerifierError(f"{what} was stopped by the sandbox's {result.limit_hit} limit")
    return result


_ERROR_LINE = re.compile(r"^\s*(error|fatal|panic)\b", re.IGNORECASE)
_BACKTRACE_LINE = re.compile(r"^\s*(\d+: \S|at \S+:\d+|at \./)")


def output_tail(result: CommandResult, lines: int = 3) -> str:
    """What a failed command said, on one line, for error findings: its first error line when
    it printed one (a tool that crashes ends in a backtrace, whose tail says nothing), else
    its last lines (stderr first)."""
    text = result.stderr.strip() or result.stdout.strip()
    all_lines = text.splitlines()
    first_error = next((line.strip() for line in all_lines if _ERROR_LINE.match(line)), None)
    if first_error is not None:
        crashed = any(_BACKTRACE_LINE.match(line) for line in all_lines[-lines:])
        hint = " (the tool could not start or crashed: check its installation)" if crashed else ""
        return first_error[:300] + hint
    return " | ".join(all_lines[-lines:]) or f"exit code {result.exit_code}"


def unique_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Without repeats (same file, line, message and test), e.g. one error seen by two builds."""
    seen: set[tuple[str | None, int | None, str, str | None]] = set()
    unique = []
    for f in findings:
        key = (f.file, f.line, f.message, f.test_id)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


T = TypeVar("T")


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


SIDE_BY_SIDE = _usable_cores() > 1
"""Whether a verifier's independent checks run at the same time (`SideBySide`): only where
a second core can run them; on one core they run one after another, as they always did."""


class Pending(Generic[T]):
    """A step started by `SideBySide.start`: `result()` waits for it and returns what it
    returned, or raises what it raised, at the point the caller asks."""

    def __init__(self, step: Callable[[], T], background: bool) -> None:
        self._step = step
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="corral-check", daemon=True)
            self._thread.start()
        else:
            self._run()

    def _run(self) -> None:
        try:
            self._value = self._step()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def result(self) -> T:
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class SideBySide:
    """Steps of a check that do not depend on each other, run at the same time when the
    machine has a core for it (`SIDE_BY_SIDE`), else one after another as they are started
    (the order they always ran in). The caller reads their results in that same order, so
    findings, notes and the error a failed step raises are the same either way. Leaving the
    block waits for every step: nothing keeps running into the tree guard's snapshot."""

    def __init__(self, parallel: bool | None = None) -> None:
        self.parallel = SIDE_BY_SIDE if parallel is None else parallel
        self._started: list[Pending[object]] = []

    def start(self, step: Callable[[], T]) -> Pending[T]:
        pending = Pending(step, background=self.parallel)
        self._started.append(pending)  # type: ignore[arg-type]
        return pending

    def __enter__(self) -> SideBySide:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            return  # interrupted: the process is going, its commands are killed with it
        for pending in self._started:
            pending.wait()


def answers_dir(cache_dir: Path) -> Path:
    """What corral keeps between verifies of a repository that a command must not be able to
    forge (`go list`'s answer): next to the cache, not in it, as baselines are (a sandboxed
    command sees and writes only its repository's cache folder)."""
    return cache_dir.parent / f"{cache_dir.name}-answers"
