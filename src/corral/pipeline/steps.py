"""The steps of one job, as plain functions: `step(ctx, job) -> job`.

Each step acts (git, sandbox, agent, forge), then stores the job's next state before it
returns, so the next step only ever starts from a stored state. Each is idempotent: run
again after a crash, it redoes or finds its own work (the checkout is reset, the branch is
force-pushed, the pull request is found before one is opened). The in-process engine calls
them directly; a Temporal engine wraps each as an activity.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path

from corral.agents.base import Agent, AgentOutcome
from corral.agents.factory import AgentChoice, build_agent
from corral.forge.base import ForgeError, PullRequest, PullRequestRequest
from corral.forge.git import git
from corral.gate.base import Gate, GateResult, Recorder
from corral.git.worktree import commit_tree, working_tree
from corral.paths import PathEscapeError, resolve_inside
from corral.pipeline.change_steps import run_steps
from corral.pipeline.ci_load import ci_slot, note_wait
from corral.pipeline.ci_triage import failure_for_agent, note_if_flaky
from corral.pipeline.context import CampaignContext
from corral.pipeline.notify import ci_failed_for_good, notify
from corral.pipeline.pr_body import add_metadata, gate_section
from corral.pipeline.refresh import refresh, settle
from corral.sandbox.base import CommandRunner
from corral.states import JobState, Reason
from corral.store import StaleStateError
from corral.store.records import Job, JobFacts

Step = Callable[[CampaignContext, Job], Job]


class WorkspaceLostError(RuntimeError):
    """The job's checkout is gone (another machine, a cleaned disk): it must start over."""


# queued -> prepared


def prepare(ctx: CampaignContext, job: Job) -> Job:
    """A clean checkout of the base branch; a repository that cannot be cloned fails alone."""
    target = ctx.target(job)
    dest = ctx.checkout_dir(job)
    try:
        checkout = ctx.forge.checkout(job.repo, dest, target.base_branch)
    except ForgeError as exc:
        return _end(ctx, job, JobState.FAILED, Reason.CLONE_FAILED, f"clone failed: {exc}")
    if target.workspace:
        what = f"the workspace folder {target.workspace!r}"
        try:
            folder = resolve_inside(dest, target.workspace, what)
        except PathEscapeError as exc:
            return _end(ctx, job, JobState.FAILED, Reason.CLONE_FAILED, f"clone failed: {exc}")
        if not folder.is_dir():
            reason = f"clone failed: {what} is not in the repository"
            return _end(ctx, job, JobState.FAILED, Reason.CLONE_FAILED, reason)
    problem = _file_filter_problem(ctx, dest / (target.workspace or ""))
    if problem is not None:
        return _end(ctx, job, JobState.SKIPPED, Reason.NOT_TARGETED, f"not a target: {problem}")
    facts = JobFacts(
        base_branch=checkout.base_branch,
        base_sha=checkout.base_sha,
        head_sha=None,
        gated_tree=None,
        checkout=str(dest),
        branch=branch_name(ctx, job),
    )
    return ctx.store.transition(job.id, JobState.PREPARED, expect=job.state, facts=facts)


def _file_filter_problem(ctx: CampaignContext, folder: Path) -> str | None:
    targets = ctx.spec.targets
    if not (targets.has_file or targets.exclude_has_file):
        return None  # no filter: no listing
    return targets.file_filter_problem(git("ls-files", "-z", cwd=folder).split("\0"))


# prepared -> baselined


def baseline(ctx: CampaignContext, job: Job) -> Job:
    """The verifiers on the untouched code, so the gate can excuse what was already broken."""
    from corral.verifiers import verify

    workspace = job_workspace(ctx, job, at=job.base_sha)
    report = verify(workspace, ctx.runner(workspace), ctx.spec.gate.verifiers)
    ctx.store.record_verifier_runs(job.id, "baseline", report.results)
    if not report.results:
        return _end(
            ctx,
            job,
            JobState.FAILED,
            Reason.ERROR,
            "nothing to verify: no verifier applies here, so no change could pass the gate",
        )
    return ctx.store.transition(job.id, JobState.BASELINED, expect=job.state)


# baselined | changing | ci_failed -> gating (or failed / skipped / back to ci_failed)


def change(ctx: CampaignContext, job: Job) -> Job:
    """One agent session (or the change command) with the gate, on a reset workspace."""
    ci_round = job.state == JobState.CI_FAILED or (
        job.state == JobState.CHANGING and job.head_sha is not None
    )
    start = job.head_sha if ci_round else job.base_sha
    if job.state != JobState.CHANGING:
        facts = JobFacts(ci_rounds=job.ci_rounds + 1) if ci_round else None
        job = ctx.store.transition(job.id, JobState.CHANGING, expect=job.state, facts=facts)
    workspace = job_workspace(ctx, job, at=start)
    runner = ctx.runner(workspace)

    def gate_for(recorder: Recorder) -> WatchedGate:
        return WatchedGate(job_gate(ctx, job, workspace, runner, recorder), workspace)

    if ctx.spec.steps is not None and not ci_round:
        outcome, gate = run_steps(ctx, job, workspace, runner, gate_for)
    else:
        purpose = "ci_fix" if ci_round else "change"
        recorder = ctx.store.start_session(job.id, _agent_name(ctx), purpose)
        gate = gate_for(recorder)
        outcome = make_agent(ctx, job, runner).run(
            workspace, _prompt(ctx, job, ci_round), gate, recorder
        )
        recorder.finish(outcome.status, outcome.reason, outcome.usage, outcome.turns)
    if outcome.status == "passed":
        facts = JobFacts(gated_tree=gate.passed_tree())
        return ctx.store.transition(job.id, JobState.GATING, expect=JobState.CHANGING, facts=facts)
    if ci_round:
        return ctx.store.transition(
            job.id,
            JobState.CI_FAILED,
            reason=f"CI still failing: {outcome.reason}",
            reason_code=_REASONS[outcome.status],
            expect=JobState.CHANGING,
        )
    state = JobState.SKIPPED if outcome.status == "no_change" else JobState.FAILED
    return _end(ctx, job, state, _REASONS[outcome.status], _describe(outcome))


_REASONS = {
    "gate_failed": Reason.GATE_VETOED,
    "budget_exhausted": Reason.BUDGET_SPENT,
    "no_change": Reason.NO_CHANGE,
    "error": Reason.AGENT_GAVE_UP,
}


# gating -> committed


def commit(ctx: CampaignContext, job: Job) -> Job:
    """Nothing is committed that has not passed the gate: the same tree, or a fresh run."""
    workspace = job_workspace(ctx, job)
    root = Path(job.checkout or "")
    tree = working_tree(workspace)  # the gate's own view: a monorepo's workspace only
    if tree != job.gated_tree:
        result = job_gate(
            ctx,
            job,
            workspace,
            ctx.runner(workspace),
            ctx.store.job_recorder(job.id, final_gate=True),
        ).check()
        if not result.ok:
            return _vetoed(ctx, job, result)
        tree = working_tree(workspace)  # as the gate's diff saw it, after the verifiers ran
    head, head_at = git("rev-parse", "HEAD", "HEAD^{tree}", cwd=root).split()
    if tree != head_at:
        head = commit_tree(
            root,
            tree,
            _template(ctx, job, ctx.spec.pull_request.commit_message),
            commit_identity(ctx),
            parent=head,
        )
    facts = JobFacts(head_sha=head)
    return ctx.store.transition(job.id, JobState.COMMITTED, expect=job.state, facts=facts)


def commit_identity(ctx: CampaignContext) -> dict[str, str]:
    name, email = ctx.spec.pull_request.author_name, ctx.spec.pull_request.author_email
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


# committed -> awaiting_approval; awaiting_approval (rejected) -> failed


def request_approval(ctx: CampaignContext, job: Job) -> Job:
    held = ctx.store.transition(
        job.id,
        JobState.AWAITING_APPROVAL,
        expect=job.state,
        reason=f"waiting for a person to approve the diff: corral approve {job.id}",
    )
    text = f"{job.name} waits for approval: corral approve {job.id}"
    notify(ctx.store, ctx.campaign, ctx.spec, "approval_waiting", text, held)
    return held


def reject(ctx: CampaignContext, job: Job) -> Job:
    decision = ctx.store.approvals(job.id)[-1]
    why = f": {decision.reason}" if decision.reason else ""
    return _end(ctx, job, JobState.FAILED, Reason.REJECTED, f"rejected by {decision.by}{why}")


# committed | awaiting_approval (approved) -> pushed


def push(ctx: CampaignContext, job: Job) -> Job:
    """Push the committed change, once a CI slot is free (`ci_concurrency`); without one the
    job stays committed, and the engine tries again when another job has moved on."""
    with ci_slot(ctx) as free:
        if not free:
            note_wait(ctx, job, "push")
            return job
        _at_head(ctx, job)
        still_mine(ctx, job)
        try:
            ctx.forge.push(Path(job.checkout or ""), job.repo, job.branch or branch_name(ctx, job))
        except ForgeError as exc:
            return _end(ctx, job, JobState.FAILED, Reason.PUSH_FAILED, f"push failed: {exc}")
        # CI triage's verdict was on the previous head
        facts = JobFacts(ci_verdict=None) if job.ci_verdict is not None else None
        return ctx.store.transition(job.id, JobState.PUSHED, expect=job.state, facts=facts)


def _at_head(ctx: CampaignContext, job: Job) -> None:
    """The checkout's HEAD at the job's commit, which is what a push sends: one look when
    it already is (commit just left it there), a reset to it otherwise."""
    root = Path(job.checkout or "")
    if job.head_sha and (root / ".git").exists():
        try:
            if git("rev-parse", "HEAD", cwd=root) == job.head_sha:
                return
        except ForgeError:
            pass
    job_workspace(ctx, job, at=job.head_sha)


# pushed -> pr_open


def open_pr(ctx: CampaignContext, job: Job) -> Job:
    """Find the campaign's pull request for this repository, or open it; never a second."""
    still_mine(ctx, job)
    pr = ctx.forge.find_or_open_pr(
        PullRequestRequest(
            campaign=ctx.campaign.name,
            repo=job.repo,
            branch=job.branch or branch_name(ctx, job),
            base_branch=job.base_branch or "main",
            title=_template(ctx, job, ctx.spec.pull_request.title),
            body=_with_gate_section(_template(ctx, job, ctx.spec.pull_request.body), ctx, job),
            draft=ctx.spec.pull_request.draft,
            head_sha=job.head_sha or "",
        )
    )
    pr = add_metadata(ctx, job, pr)
    ctx.store.link_pull_request(pr, ctx.campaign.id, job.id)
    settle(ctx, job)
    try:
        return ctx.store.transition(job.id, JobState.PR_OPEN, expect=job.state, reason=pr.url)
    except StaleStateError:
        _close_if_cancelled(ctx, job, pr)
        raise


def still_mine(ctx: CampaignContext, job: Job) -> None:
    """Before a step writes to the forge: the job is still where this step found it (a
    campaign cancelled meanwhile ended it, and nothing may be pushed or opened for it)."""
    current = ctx.store.job(job.id)
    if current.state != job.state:
        raise StaleStateError(f"job {job.id} is {current.state.value} now, not {job.state.value}")


def _close_if_cancelled(ctx: CampaignContext, job: Job, pr: PullRequest) -> None:
    """The campaign was cancelled while this PR was being opened: cancel found no PR to close."""
    current = ctx.store.job(job.id)
    if current.reason_code == Reason.CANCELLED and pr.state == "open":
        closed = ctx.forge.close_pr(pr, f"{current.reason}: corral closes this pull request.")
        ctx.store.save_pull_request(closed)


def _with_gate_section(body: str, ctx: CampaignContext, job: Job) -> str:
    section = gate_section(ctx.store, job.id)
    return f"{body}\n\n{section}" if section else body


# pr_open | ci_failed -> merged | closed | ci_failed | pr_open


def watch(ctx: CampaignContext, job: Job) -> Job:
    """Look at the pull request once: merged, closed, its base moved (pipeline/refresh.py),
    or CI's verdict on its head."""
    pr = ctx.store.pull_request_for_job(job.id)
    if pr is None:  # the PR record was lost with the step that opened it: open it again
        return ctx.store.transition(job.id, JobState.PUSHED, expect=job.state)
    pr = ctx.store.save_pull_request(ctx.forge.refresh_pr(pr))  # a hosted PR's mirror
    if pr.state == "merged":
        return ctx.store.transition(job.id, JobState.MERGED, expect=job.state, reason=pr.url)
    if pr.state == "closed":
        return _end(ctx, job, JobState.CLOSED, None, f"closed unmerged: {pr.url}")
    job = refresh(ctx, job, pr)  # its base moved: rebased and re-gated, or being redone
    if job.state not in (JobState.PR_OPEN, JobState.CI_FAILED):
        return job
    pr = ctx.store.pull_request_for_job(job.id) or pr
    ci = ctx.forge.ci_status(pr)
    ctx.store.save_pull_request(pr.with_changes(ci=ci))
    ctx.store.add_event(job.id, "ci", {"state": ci.state, "sha": ci.sha, "summary": ci.summary})
    if ci.state == "failed":
        ci_failed_for_good(ctx, job, pr.url)
    if ci.state == "failed" and job.state != JobState.CI_FAILED:
        failure = failure_for_agent(ctx, job, pr, ci)
        if failure is None:  # the infrastructure's, flaky, or being re-run
            return job
        return ctx.store.transition(
            job.id,
            JobState.CI_FAILED,
            expect=job.state,
            reason=f"CI failed: {condense(failure.summary)}",
        )
    if ci.state == "passed":
        note_if_flaky(ctx, job, pr, ci)
    if ci.state == "passed" and job.state == JobState.CI_FAILED:
        return ctx.store.transition(job.id, JobState.PR_OPEN, expect=job.state, reason=pr.url)
    return job


STEPS: dict[str, Step] = {
    "prepare": prepare,
    "baseline": baseline,
    "change": change,
    "commit": commit,
    "request_approval": request_approval,
    "reject": reject,
    "push": push,
    "open_pr": open_pr,
    "watch": watch,
}


def branch_name(ctx: CampaignContext, job: Job) -> str:
    name = _template(ctx, job, ctx.spec.pull_request.branch)
    if job.workspace:
        name = f"{name}-{job.workspace.strip('/').replace('/', '-')}"
    return _checked_branch(name)


@lru_cache(maxsize=1024)
def _checked_branch(name: str) -> str:
    """git's own check of a branch name, once per name: outside a repository its answer
    depends on the name alone (a campaign's jobs mostly share one)."""
    return git("check-ref-format", "--branch", name)


def make_agent(ctx: CampaignContext, job: Job, runner: CommandRunner) -> Agent:
    spec = ctx.spec
    choice = AgentChoice(
        spec.agent.kind,
        spec.agent.model,
        budgets=spec.budgets.job,
        command=spec.command,
        stop=partial(ctx.ended_meanwhile, job),
    )
    return build_agent(choice, runner)


class WatchedGate:
    """The job's gate, remembering the tree its last passing check saw."""

    def __init__(self, gate: Gate, root: Path) -> None:
        self.gate = gate
        self.root = root
        self._passed_tree: str | None = None

    def check(self) -> GateResult:
        result = self.gate.check()
        self._passed_tree = working_tree(self.root) if result.ok else None
        return result

    def passed_tree(self) -> str | None:
        """The tree the last passing check saw. Not read again here: `commit` compares it
        with the checkout's tree and gates afresh when they differ (an agent that edited
        after its last passing check), so a second look would only cost a tree more."""
        return self._passed_tree


def job_gate(
    ctx: CampaignContext, job: Job, workspace: Path, runner: CommandRunner, recorder: Recorder
) -> Gate:
    from corral.gate.gate import StagedGate

    return StagedGate(
        workspace,
        base_ref=job.base_sha or "HEAD",
        runner=runner,
        settings=ctx.spec.gate,
        prompt=ctx.spec.change_text,
        baseline=ctx.store.baseline(job.id),
        recorder=recorder,
    )


def job_workspace(ctx: CampaignContext, job: Job, at: str | None = None) -> Path:
    """The job's working folder, reset to commit `at` when given (untracked files removed,
    ignored ones such as installed dependencies kept)."""
    root = Path(job.checkout or "")
    if not job.checkout or not (root / ".git").exists():
        raise WorkspaceLostError(f"the checkout {root} is gone")
    if at is not None:
        try:
            git("reset", "-q", "--hard", at, cwd=root)
        except ForgeError as exc:
            raise WorkspaceLostError(f"the checkout {root} lacks commit {at}") from exc
        _clean(root)
    if not job.workspace:
        return root
    return resolve_inside(root, job.workspace, f"the workspace folder {job.workspace!r}")


def _clean(path: Path) -> None:
    git("clean", "-ffdq", cwd=path)


def _prompt(ctx: CampaignContext, job: Job, ci_round: bool) -> str:
    prompt = ctx.spec.agent_prompt
    if not ci_round:
        return prompt
    pr = ctx.store.pull_request_for_job(job.id)
    summary = pr.ci.summary if pr else "(CI's report was not kept)"
    return (
        f"{prompt}\n\nYour change was pushed and CI failed on it:\n\n{summary}\n\n"
        "Fix what your change caused, then call verify."
    )


def _agent_name(ctx: CampaignContext) -> str:
    return "command" if ctx.spec.command is not None else ctx.spec.agent.kind


def _template(ctx: CampaignContext, job: Job, template: str) -> str:
    return template.format(
        campaign=ctx.campaign.name,
        repo=job.name,
        prompt=ctx.spec.prompt or "",
        change=ctx.spec.change_text,
    )


def _vetoed(ctx: CampaignContext, job: Job, result: GateResult) -> Job:
    reason = gate_reason(result)
    if job.head_sha is not None:  # a CI round: the PR stays, with CI failing
        return ctx.store.transition(
            job.id,
            JobState.CI_FAILED,
            expect=job.state,
            reason=reason,
            reason_code=Reason.GATE_VETOED,
        )
    return _end(ctx, job, JobState.FAILED, Reason.GATE_VETOED, reason)


def gate_reason(result: GateResult) -> str:
    """One line on why the gate refused: the failing stage and its first finding."""
    failed = next((stage for stage in result.stages if not stage.ok), None)
    stage = f" ({failed.name})" if failed is not None else ""
    return f"gate vetoed{stage}: {condense(result.message)}"


def condense(message: str) -> str:
    """A report's first finding (its first `- ` line), else its first line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    bullet = next((line[2:] for line in lines if line.startswith("- ")), None)
    return (bullet or (lines[0] if lines else "no message"))[:300]


def _describe(outcome: AgentOutcome) -> str:
    if outcome.status == "gate_failed" and outcome.final_gate is not None:
        return gate_reason(outcome.final_gate)
    prefix = {
        "gate_failed": "gate vetoed",
        "budget_exhausted": "budget spent",
        "no_change": "no change",
        "error": "agent gave up",
    }[outcome.status]
    return f"{prefix}: {outcome.reason}"


def _end(ctx: CampaignContext, job: Job, state: JobState, code: Reason | None, reason: str) -> Job:
    return ctx.store.transition(job.id, state, expect=job.state, reason=reason, reason_code=code)
