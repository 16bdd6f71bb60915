"""Running every applicable verifier on a repository: prepare, then check."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from corral.config import VerifierSettings, load_repo_config
from corral.sandbox.base import CommandRunner, ToolMissingError
from corral.verifiers.base import (
    CheckOutcome,
    Finding,
    FindingKind,
    ProjectContext,
    Verifier,
    VerifierError,
    VerifierResult,
    stage_gap_findings,
)
from corral.verifiers.baseline import BaselineCheckout, apply_baseline, baselines_dir
from corral.verifiers.ci_parity import unused_by_ci
from corral.verifiers.custom import CustomVerifier
from corral.verifiers.discovery import Project, find_projects
from corral.verifiers.registry import builtin_verifiers
from corral.verifiers.report import VerifyReport, format_message
from corral.verifiers.tree_guard import TreeGuard

ProgressCallback = Callable[[str], None]


def applicable_projects(repo_root: Path, settings: VerifierSettings) -> list[Project]:
    verifiers: list[Verifier] = [
        *builtin_verifiers(frozenset(settings.disable)),
        *(CustomVerifier(spec) for spec in settings.custom),
    ]
    projects = find_projects(repo_root, verifiers)
    unused = unused_by_ci(repo_root, sorted({p.verifier.name for p in projects}))
    return [
        p for p in projects if p.verifier.name not in unused or settings.checks.get(p.verifier.name)
    ]


def verify(
    repo_root: Path,
    runner: CommandRunner,
    settings: VerifierSettings | None = None,
    *,
    prepare: bool = True,
    baseline: list[VerifierResult] | None = None,
    on_progress: ProgressCallback | None = None,
) -> VerifyReport:
    """Verify the working tree at repo_root.

    `settings` (a campaign's) are merged over the repository's own `.corral.yaml`. With
    `baseline`, findings already present there are marked pre-existing and do not fail.
    """
    repo_root = repo_root.resolve()
    merged = load_repo_config(repo_root).verifiers.merged(settings)
    guard = TreeGuard(repo_root)
    results = []
    before = None
    for project in applicable_projects(repo_root, merged):
        before = before or guard.snapshot()
        result = verify_project(
            repo_root, project, runner, merged, prepare=prepare, on_progress=on_progress
        )
        touched, before = guard.settle(before, project.verifier.name)
        if touched:
            result.findings = [*touched, *result.findings]
            result.ok = False
        results.append(result)
    if baseline is not None:
        results = apply_baseline(results, baseline)
    return VerifyReport(results, format_message(results, merged.max_message_chars))


def verify_project(
    repo_root: Path,
    project: Project,
    runner: CommandRunner,
    settings: VerifierSettings,
    *,
    prepare: bool = True,
    on_progress: ProgressCallback | None = None,
) -> VerifierResult:
    verifier = project.verifier
    rel = project.relative(repo_root)
    ctx = ProjectContext(
        repo_root=repo_root,
        project_dir=project.directory,
        runner=runner,
        timeout_s=settings.timeout_s,
        extra_args=tuple(settings.args.get(verifier.name, ())),
        checks=tuple(settings.checks.get(verifier.name, ())),
    )
    started = time.monotonic()
    if prepare:
        if on_progress:
            on_progress(f"preparing {verifier.name} in {rel}")
        outcome = _guarded(lambda: _prepare(verifier, ctx), ctx, rel, "preparing")
    else:
        outcome = None
    if outcome is None:
        if on_progress:
            on_progress(f"checking {verifier.name} in {rel}")
        outcome = _guarded(lambda: verifier.check(ctx), ctx, rel, "checking") or CheckOutcome()
    result = VerifierResult(
        name=verifier.name,
        project=rel,
        ok=not outcome.findings,
        duration_s=time.monotonic() - started,
        findings=outcome.findings,
        tests=outcome.tests,
        sources=outcome.sources,
        notes=outcome.notes,
        stages=outcome.stages,
    )
    if not result.findings and result.incomplete_stages():  # a verifier that stopped silently
        result.findings = stage_gap_findings(result)
        result.ok = False
    return result


def _prepare(verifier: Verifier, ctx: ProjectContext) -> None:
    verifier.prepare(
        ProjectContext(
            repo_root=ctx.repo_root,
            project_dir=ctx.project_dir,
            runner=ctx.runner,
            timeout_s=ctx.timeout_s,
            extra_args=ctx.extra_args,
            network="open",
            checks=ctx.checks,
        )
    )


def _guarded(
    step: Callable[[], CheckOutcome | None], ctx: ProjectContext, rel: str, doing: str
) -> CheckOutcome | None:
    """Run a verifier step; anything that stops it becomes one `error` finding, never a pass."""
    try:
        return step()
    except VerifierError as exc:
        message = str(exc)
        file = exc.file
    except ToolMissingError as exc:
        message, file = f"`{exc}` is not installed where verifiers run", None
    except Exception as exc:  # a verifier bug must fail closed, not pass
        message, file = f"crashed while {doing}: {type(exc).__name__}: {exc}", None
    where = file if file is not None else (None if rel == "." else rel)
    return CheckOutcome([Finding(FindingKind.ERROR, where, None, message)])


def verify_path(
    path: Path,
    runner: CommandRunner,
    settings: VerifierSettings | None = None,
    *,
    baseline_ref: str | None = None,
    prepare: bool = True,
    on_progress: ProgressCallback | None = None,
) -> VerifyReport:
    """verify(), first running the same verifiers on `baseline_ref` when one is given."""
    baseline = None
    if baseline_ref is not None:
        under = baselines_dir(runner.cache_dir)
        with BaselineCheckout(path.resolve(), baseline_ref, under) as tree:
            baseline = verify(
                tree, runner.for_workspace(tree), settings, prepare=prepare, on_progress=on_progress
            ).results
    return verify(
        path, runner, settings, prepare=prepare, baseline=baseline, on_progress=on_progress
    )
