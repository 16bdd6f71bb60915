"""A campaign over real repositories of several ecosystems, on a local forge, showing every
outcome a fleet owner sees; run on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from campaign_helpers import corral, remote_branches, runtime_args, write_spec

from corral.states import JobState, Outcome, Reason
from corral.store import Store
from corral.testing.repos import git, make_remote
from corral.testing.samples import sample

COMMAND = (
    "printf '# Contributing\\n\\nOpen a pull request.\\n' > CONTRIBUTING.md && "
    "if [ -f campaign-hook.sh ]; then sh campaign-hook.sh; fi"
)
"""The change: a CONTRIBUTING file everywhere, plus what a repository's own hook does."""

GENERATED = "package calc\n\n// Answer is generated.\nfunc Answer() int { return 42 }\n"
MORE_TESTS = "from calc import add\n\n\ndef test_add_zero() -> None:\n    assert add(0, 0) == 0\n"
USES_GENERATED = "\n// Twice uses the generated Answer.\nfunc Twice() int { return 2 * Answer() }\n"


def _repos() -> dict[str, dict[str, str]]:
    go, cargo, python = sample("go").clean(), sample("cargo").clean(), sample("python").clean()
    return {
        "go-open": go,
        "cargo-merged": {**cargo, ".gitignore": "/target\nCargo.lock\n"},
        "go-closed": go,
        # The hook generates a file that .gitignore keeps out of the commit: the build passes
        # in the checkout, and fails in CI's fresh clone.
        "go-ci": {
            **go,
            ".gitignore": "calc/zz_generated.go\n",
            "campaign-hook.sh": (
                f"cat > calc/zz_generated.go <<'EOF'\n{GENERATED}EOF\n"
                f"cat >> calc/calc.go <<'EOF'\n{USES_GENERATED}EOF\n"
            ),
        },
        "py-vetoed": {
            **python,
            "tests/test_more.py": MORE_TESTS,
            "campaign-hook.sh": "rm tests/test_more.py\n",
        },
        "go-slow": {**go, "campaign-hook.sh": "sleep 120\n"},
        "go-gives-up": {**go, "campaign-hook.sh": "echo 'cannot parse go.mod' >&2; exit 3\n"},
    }


@dataclass
class Campaign:
    store_url: str
    forge: Path
    first: dict[str, Any]
    second: dict[str, Any]

    def jobs(self) -> dict[str, dict[str, Any]]:
        return {str(job["repo"]): job for job in self.second["jobs"]}


@pytest.fixture(scope="module")
def campaign(
    new_store: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> Campaign:
    root = tmp_path_factory.mktemp("outcomes")
    forge = root / "forge"
    for name, files in _repos().items():
        make_remote(forge, name, files)
    spec = write_spec(
        root / "spec.yaml",
        name="outcomes",
        command=COMMAND,
        targets={"repos": [*(str(p) for p in sorted(forge.iterdir())), str(forge / "missing.git")]},
        budgets={"job": {"max_wall_s": 15}},
        concurrency=4,
    )
    store_url = new_store()
    args = runtime_args(store_url, root / "work", cache_dir)
    first = corral("run", str(spec), "--json", *args)
    assert first.returncode == 1, first.stderr  # some repositories end without a PR
    # People act on the pull requests: one is merged, one closed by deleting its branch.
    clone = root / "merge"
    git(forge, "clone", "-q", str(forge / "cargo-merged.git"), str(clone))
    git(clone, "merge", "-q", "--no-edit", "origin/corral/outcomes")
    git(clone, "push", "-q", "origin", "main")
    git(forge / "go-closed.git", "branch", "-D", "corral/outcomes")
    second = corral("run", str(spec), "--json", *args)
    assert second.returncode == 1, second.stderr
    return Campaign(store_url, forge, json.loads(first.stdout), json.loads(second.stdout))


def test_every_outcome_a_fleet_owner_sees(campaign: Campaign) -> None:
    outcomes = {repo: (job["outcome"], job["reason_code"]) for repo, job in campaign.jobs().items()}
    assert outcomes == {
        "go-open": (Outcome.PR_OPEN, None),
        "cargo-merged": (Outcome.MERGED, None),
        "go-closed": (Outcome.CLOSED, None),
        "go-ci": (Outcome.PR_FAILED_CI, None),
        "py-vetoed": (Outcome.NO_PR, Reason.GATE_VETOED),
        "go-slow": (Outcome.NO_PR, Reason.BUDGET_SPENT),
        "go-gives-up": (Outcome.NO_PR, Reason.AGENT_GAVE_UP),
        "missing": (Outcome.NO_PR, Reason.CLONE_FAILED),
    }


def test_reasons_say_why(campaign: Campaign) -> None:
    jobs = campaign.jobs()
    assert "tests/test_more.py" in str(jobs["py-vetoed"]["reason"])
    assert "guard" in str(jobs["py-vetoed"]["reason"])
    assert "wall-time" in str(jobs["go-slow"]["reason"])
    assert "exited 3" in str(jobs["go-gives-up"]["reason"])
    assert "does not exist" in str(jobs["missing"]["reason"])
    assert "Answer" in str(jobs["go-ci"]["reason"])  # CI's failure, condensed


def test_first_run_left_pull_requests_open(campaign: Campaign) -> None:
    first = {job["repo"]: job for job in campaign.first["jobs"]}
    for repo in ("go-open", "cargo-merged", "go-closed"):
        assert first[repo]["outcome"] == Outcome.PR_OPEN
        assert first[repo]["ci"] == "passed"
    assert first["go-ci"]["ci"] == "failed"


def test_pull_requests_are_pushed_branches(campaign: Campaign) -> None:
    for repo in ("go-open", "go-ci"):
        remote = campaign.forge / f"{repo}.git"
        assert "corral/outcomes" in remote_branches(remote)
        files = git(remote, "show", "--name-only", "--format=", "corral/outcomes")
        assert "CONTRIBUTING.md" in files.splitlines()
    assert "zz_generated.go" not in git(
        campaign.forge / "go-ci.git", "ls-tree", "-r", "--name-only", "corral/outcomes"
    )
    for repo in ("py-vetoed", "go-slow", "go-gives-up"):
        assert remote_branches(campaign.forge / f"{repo}.git") == ["main"]


def test_every_step_is_recorded(campaign: Campaign) -> None:
    store = Store.open(campaign.store_url)
    try:
        record = store.campaign("outcomes")
        assert record is not None
        for job in store.jobs(record.id):
            chain = store.transitions(job.id)
            assert chain[0].from_state is None and chain[0].to_state == JobState.QUEUED
            for before, after in itertools.pairwise(chain):
                assert after.from_state == before.to_state  # no gap, no state skipped
            if job.name == "missing":
                continue
            assert store.verifier_runs(job.id, "baseline"), job.name
            sessions = store.sessions(job.id)
            assert sessions and sessions[0].agent == "command"
            assert any(e.kind == "tool_call" for e in store.events(job.id, sessions[0].id))
        vetoed = next(j for j in store.jobs(record.id) if j.name == "py-vetoed")
        verdicts = store.gate_verdicts(vetoed.id)
        assert verdicts and not verdicts[-1].ok
        assert [s["name"] for s in verdicts[-1].stages] == ["verifiers", "guard"]
    finally:
        store.close()


def test_status_and_logs(campaign: Campaign) -> None:
    status = corral("status", "outcomes", "--store", campaign.store_url)
    assert status.returncode == 1
    assert "closed unmerged" in status.stdout and "merged" in status.stdout
    job_id = next(j["id"] for j in campaign.jobs().values() if j["repo"] == "py-vetoed")
    logs = corral("logs", str(job_id), "--store", campaign.store_url)
    assert logs.returncode == 0, logs.stderr
    assert "changing -> failed" in logs.stdout
    assert "You deleted the test file tests/test_more.py" in logs.stdout
