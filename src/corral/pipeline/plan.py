"""`corral plan`: a campaign's readiness before any change, per repository.

Each target is cloned shallowly into a scratch folder (never changed, never pushed) and
looked at: which projects and verifiers apply, whether it has tests, and, with
`baseline`, whether its checks pass today. A repository that does not clone, lacks its
workspace, or has no supported project cannot be done; one whose baseline already fails
is flagged before any agent spends on it. The estimate comes from the campaign's budgets
and from earlier jobs in the store.
"""

from __future__ import annotations

import fnmatch
import math
import shutil
import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from corral.config import load_repo_config
from corral.forge import find_repositories
from corral.forge.base import ForgeError
from corral.forge.git import git
from corral.pipeline.context import Runtime
from corral.spec import CampaignSpec, TargetSpec, selected_targets
from corral.states import TERMINAL
from corral.store import Store

Verdict = Literal["ready", "baseline_fails", "unsupported", "unreachable", "not_targeted"]
"""not_targeted: the checkout lacks what `targets.has_file` asks for (or has what
`exclude_has_file` refuses); a run skips it, so it does not make the plan unready."""

TEST_PATTERNS = (
    "test_*.py",
    "*_test.py",
    "*_test.go",
    "*.test.[jt]s",
    "*.spec.[jt]s",
    "*.test.[jt]sx",
    "*Test.java",
    "*Tests.java",
    "*Test.kt",
    "tests/*.rs",
)
"""Files that are tests in the ecosystems corral verifies (Rust unit tests live in their
modules: a crate counts as tested when it has a `tests/` folder or `#[test]` is found)."""


@dataclass(frozen=True)
class ProjectPlan:
    path: str
    verifier: str


@dataclass
class RepoPlan:
    name: str
    repo: str
    verdict: Verdict
    reason: str | None = None
    projects: list[ProjectPlan] = field(default_factory=list)
    has_tests: bool | None = None
    baseline_ok: bool | None = None
    """None: the baseline was not run (no --baseline, or nothing to run)."""


@dataclass(frozen=True)
class Estimate:
    jobs: int
    """Repositories a run would work on (the ready ones)."""
    cost_usd_at_most: float | None
    """From the budgets: each job's cap, within the campaign's cap (None: no cap set)."""
    cost_usd_expected: float | None
    """From earlier jobs in the store: their mean cost per job (None: no earlier job)."""
    duration_s_expected: float | None
    """From earlier jobs' mean duration, `concurrency` at a time (None: no earlier job)."""
    earlier_jobs: int


@dataclass
class CampaignPlan:
    campaign: str
    repos: list[RepoPlan]
    estimate: Estimate

    @property
    def ready(self) -> bool:
        return all(repo.verdict in ("ready", "not_targeted") for repo in self.repos)

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "ready": self.ready,
            "repos": [asdict(repo) for repo in self.repos],
            "estimate": asdict(self.estimate),
        }


def plan_campaign(
    spec: CampaignSpec, runtime: Runtime, *, baseline: bool = False, store: Store | None = None
) -> CampaignPlan:
    """Look at every target of the (resolved) spec without changing any."""
    found = find_repositories(spec, runtime.work_dir / spec.name / "forge")
    targets = selected_targets(spec, found)
    scratch = runtime.work_dir / spec.name / "plan"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plan-", dir=scratch) as folder:
        repos = [
            _look(spec, runtime, target, Path(folder) / str(n), baseline)
            for n, target in enumerate(targets)
        ]
    ready = sum(repo.verdict == "ready" for repo in repos)
    return CampaignPlan(spec.name, repos, estimate(spec, ready, store))


def _look(
    spec: CampaignSpec, runtime: Runtime, target: TargetSpec, dest: Path, baseline: bool
) -> RepoPlan:
    plan = RepoPlan(target.display_name, target.repo, "ready")
    try:
        _shallow_clone(target, dest)
    except ForgeError as exc:
        return _verdict(plan, "unreachable", f"does not clone: {exc}")
    root = dest / target.workspace if target.workspace else dest
    if not root.is_dir():
        return _verdict(plan, "unreachable", f"no workspace folder {target.workspace!r}")
    problem = spec.targets.file_filter_problem(git("ls-files", "-z", cwd=root).split("\0"))
    if problem is not None:
        return _verdict(plan, "not_targeted", problem)
    from corral.verifiers.run import applicable_projects

    merged = load_repo_config(root).verifiers.merged(spec.gate.verifiers)
    projects = applicable_projects(root, merged)
    plan.projects = [ProjectPlan(p.relative(root), p.verifier.name) for p in projects]
    plan.has_tests = has_tests(root)
    if not projects:
        return _verdict(plan, "unsupported", "no supported project: no verifier applies")
    if baseline:
        _baseline(plan, spec, runtime, root)
    shutil.rmtree(dest, ignore_errors=True)
    return plan


def _baseline(plan: RepoPlan, spec: CampaignSpec, runtime: Runtime, root: Path) -> None:
    from corral.verifiers import verify

    report = verify(root, runtime.runner(spec.name, root), spec.gate.verifiers)
    plan.baseline_ok = report.ok
    if any(result.tests and result.tests.run for result in report.results):
        plan.has_tests = True
    if not report.ok:
        failed = next(r for r in report.results if not r.ok)
        first = failed.findings[0].message if failed.findings else "failed"
        _verdict(plan, "baseline_fails", f"{failed.name} fails today: {first}")


def _verdict(plan: RepoPlan, verdict: Verdict, reason: str) -> RepoPlan:
    plan.verdict = verdict
    plan.reason = reason[:300]
    return plan


def _shallow_clone(target: TargetSpec, dest: Path) -> None:
    branch = ["--branch", target.base_branch] if target.base_branch else []
    local = Path(target.repo)
    # --depth needs a URL for a local path; git@host:path and URLs pass as they are
    source = f"file://{local.resolve()}" if local.is_absolute() else target.repo
    git(
        "clone",
        "-q",
        "--depth",
        "1",
        "--no-tags",
        *branch,
        "--",
        source,
        str(dest),
        cwd=dest.parent,
    )


def has_tests(root: Path) -> bool:
    """Whether the checkout holds test files (by the ecosystems' naming conventions)."""
    files = git("ls-files", cwd=root).splitlines()
    names = [Path(f).name for f in files]
    if any(fnmatch.fnmatch(n, p) for n in names for p in TEST_PATTERNS if "/" not in p):
        return True
    return any(f.startswith("tests/") or "/tests/" in f or "src/test/" in f for f in files)


def estimate(spec: CampaignSpec, jobs: int, store: Store | None) -> Estimate:
    job_cap = spec.budgets.job.max_cost_usd
    at_most = None if job_cap is None else jobs * job_cap
    campaign_cap = spec.budgets.campaign.max_cost_usd
    if campaign_cap is not None:
        at_most = campaign_cap if at_most is None else min(at_most, campaign_cap)
    costs, durations = _earlier_jobs(store)
    mean_cost = statistics.fmean(costs) if costs else None
    mean_s = statistics.fmean(durations) if durations else None
    waves = math.ceil(jobs / spec.concurrency) if jobs else 0
    return Estimate(
        jobs=jobs,
        cost_usd_at_most=at_most,
        cost_usd_expected=None if mean_cost is None else round(jobs * mean_cost, 2),
        duration_s_expected=None if mean_s is None else round(waves * mean_s, 1),
        earlier_jobs=len(durations),
    )


def _earlier_jobs(store: Store | None) -> tuple[list[float], list[float]]:
    """Cost and duration (first to last transition) of every ended job in the store."""
    if store is None:
        return [], []
    costs: list[float] = []
    durations: list[float] = []
    for campaign in store.campaigns():
        for job in store.jobs(campaign.id):
            if job.state not in TERMINAL and job.state not in ("pr_open", "ci_failed"):
                continue
            costs.append(sum(s.cost_usd for s in store.sessions(job.id)))
            transitions = store.transitions(job.id)
            durations.append((transitions[-1].at - transitions[0].at).total_seconds())
    return costs, durations
