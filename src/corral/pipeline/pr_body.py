"""What a reviewer finds on a corral pull request: what the gate checked on this very
change (the last gate run that passed), so they see why it is considered safe; and the
labels and reviewers the campaign asks for (its own, the repository's overrides, and the
owners CODEOWNERS names for the changed files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corral.forge.base import ForgeError, PullRequest, UnaskedReviewersError
from corral.forge.codeowners import CodeownersError, owners_of, read_rules
from corral.forge.git import git
from corral.pipeline.context import CampaignContext
from corral.store import Store
from corral.store.records import GateVerdict, Job

HEADING = "### What corral checked before opening this pull request"


def gate_section(store: Store, job_id: int) -> str:
    """A Markdown section from the job's last passing gate run ("" when none is recorded)."""
    passed = [v for v in store.gate_verdicts(job_id) if v.ok]
    if not passed:
        return ""
    return "\n".join([HEADING, "", "| check | result |", "|---|---|", *_rows(passed[-1])])


def _rows(verdict: GateVerdict) -> list[str]:
    rows: list[str] = []
    for stage in verdict.stages:
        name, details = stage.get("name"), stage.get("details") or {}
        if name == "verifiers":
            rows += [_verifier_row(v) for v in details.get("verifiers", [])]
        elif name == "guard":
            rows.append(f"| guard (scope, tests kept) | {_guard_result(stage, details)} |")
        elif name == "judge":
            rows.append(f"| judge | {_judge_result(stage)} |")
    return rows


def _verifier_row(run: dict[str, Any]) -> str:
    tests = run.get("tests") or {}
    counted = f", {tests.get('run', 0)} tests run" if tests else ""
    before = [f for f in run.get("findings", []) if not f.get("new", True)]
    result = "passed" + (f" ({len(before)} finding(s) there before the change)" if before else "")
    project = run.get("project", ".")
    return f"| `{run.get('name')}` in `{project}` | {result}{counted} |"


def _guard_result(stage: dict[str, Any], details: dict[str, Any]) -> str:
    if stage.get("skipped"):
        return "off"
    files, lines = details.get("files_changed"), details.get("lines_changed")
    return f"passed ({files} file(s), {lines} line(s) changed)"


def _judge_result(stage: dict[str, Any]) -> str:
    if stage.get("skipped"):
        return f"not run: {str(stage.get('message', '')).removeprefix('Judge: ').rstrip('.')}"
    return "approved the change as within what was asked"


MAX_REVIEWERS = 15
"""GitHub asks at most this many reviewers on a pull request."""
MAX_CHANGED_FILES = 1000


def add_metadata(ctx: CampaignContext, job: Job, pr: PullRequest) -> PullRequest:
    """Put the campaign's labels and reviewers on the pull request, those it lacks. A label
    or reviewer the forge refuses never fails the job: it is recorded as the job's
    `pr_metadata` event, with what was put on."""
    labels, reviewers, problems = wanted_metadata(ctx, job)
    new_labels = [label for label in labels if label not in pr.labels]
    if new_labels:
        try:
            pr = ctx.forge.add_labels(pr, new_labels)
        except ForgeError as exc:
            problems.append(f"labels not added: {exc}")
    new_reviewers = [r for r in reviewers if r not in pr.reviewers]
    if new_reviewers:
        try:
            pr = ctx.forge.request_reviewers(pr, new_reviewers)
        except UnaskedReviewersError as exc:
            pr = exc.pr
            problems.append(f"reviewers not asked: {exc}")
        except ForgeError as exc:
            problems.append(f"reviewers not asked: {exc}")
    if new_labels or new_reviewers or problems:
        event = {"labels": list(pr.labels), "reviewers": list(pr.reviewers)}
        ctx.store.add_event(job.id, "pr_metadata", {**event, "problems": problems})
    return pr


def wanted_metadata(ctx: CampaignContext, job: Job) -> tuple[list[str], list[str], list[str]]:
    """The labels and reviewers the job's pull request should have, and why any is left out."""
    settings = ctx.spec.pull_request
    override = ctx.spec.targets.override_for(ctx.target(job))
    labels = [*settings.labels, *(override.labels if override else [])]
    reviewers = [*settings.reviewers, *(override.reviewers if override else [])]
    problems: list[str] = []
    if settings.codeowners:
        try:
            owners = changed_files_owners(job)
        except (ForgeError, CodeownersError) as exc:
            owners = []
            problems.append(f"CODEOWNERS not read: {exc}")
        reviewers += [owner for owner in owners if owner.startswith("@")]
        mailed = [owner for owner in owners if not owner.startswith("@")]
        if mailed:
            problems.append(f"owners named by e-mail cannot be asked: {', '.join(mailed)}")
    reviewers = list(dict.fromkeys(r.removeprefix("@") for r in reviewers))
    if len(reviewers) > MAX_REVIEWERS:
        problems.append(f"only the first {MAX_REVIEWERS} of {len(reviewers)} reviewers asked")
    return list(dict.fromkeys(labels)), reviewers[:MAX_REVIEWERS], problems


def changed_files_owners(job: Job) -> list[str]:
    """The owners of the files the job changed, by the CODEOWNERS of its base commit (the
    change cannot choose its own reviewers)."""
    if not (job.checkout and job.base_sha and job.head_sha):
        return []
    checkout = Path(job.checkout)
    if not (checkout / ".git").exists():  # another worker's machine (Temporal)
        raise ForgeError("the job's checkout is not on this machine")
    rules = read_rules(checkout, job.base_sha)
    if not rules:
        return []
    changed = git("diff", "--name-only", "--no-renames", job.base_sha, job.head_sha, cwd=checkout)
    return owners_of(rules, changed.splitlines()[:MAX_CHANGED_FILES])
