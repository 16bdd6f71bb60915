"""`corral plan` on a mixed set of local repositories: one ready, one no verifier applies
to, one whose checks fail today, one that does not clone; on the terminal and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from campaign_helpers import corral, runtime_args, write_spec

from corral.pipeline.context import Runtime
from corral.pipeline.plan import plan_campaign
from corral.spec import load_spec
from corral.testing.repos import git, make_remote, notes_repo


def test_plan_gives_each_repository_its_verdict(tmp_path: Path, cache_dir: Path) -> None:
    forge = tmp_path / "forge"
    ready = make_remote(
        forge, "ready", {**notes_repo(), "tests/test_notes.py": "def test_x(): pass\n"}
    )
    unsupported = make_remote(forge, "plain", {"README.txt": "nothing to build\n"})
    failing = make_remote(forge, "failing", notes_repo("Release notes.\nTODO: write them\n"))
    missing = forge / "gone.git"
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="readiness",
        command="true",
        targets={"repos": [str(r) for r in (ready, unsupported, failing, missing)]},
        budgets={"job": {"max_cost_usd": 2}},
    )
    args = [
        "plan",
        str(spec),
        "--baseline",
        *runtime_args(str(tmp_path / "c.db"), tmp_path / "w", cache_dir),
    ]

    as_json = corral(*args, "--json")
    assert as_json.returncode == 1, as_json.stdout + as_json.stderr  # not every repo is ready
    plan = json.loads(as_json.stdout)
    repos = {repo["name"]: repo for repo in plan["repos"]}
    assert {name: repo["verdict"] for name, repo in repos.items()} == {
        "ready": "ready",
        "plain": "unsupported",
        "failing": "baseline_fails",
        "gone": "unreachable",
    }
    assert repos["ready"]["projects"] == [{"path": ".", "verifier": "notes"}]
    assert repos["ready"]["has_tests"] is True and repos["ready"]["baseline_ok"] is True
    assert repos["plain"]["has_tests"] is False
    assert "TODO" in repos["failing"]["reason"] and repos["failing"]["baseline_ok"] is False
    assert "does not clone" in repos["gone"]["reason"]
    assert plan["estimate"]["jobs"] == 1 and plan["estimate"]["cost_usd_at_most"] == 2.0
    assert not list((tmp_path / "w" / "readiness" / "plan").glob("plan-*"))  # scratch removed

    table = corral(*args)
    assert table.returncode == 1
    for word in ("ready", "unsupported", "baseline_fails", "unreachable", "1 of 4 repositories"):
        assert word in table.stdout, table.stdout


def test_has_file_and_overrides_shape_the_plan(tmp_path: Path) -> None:
    forge = tmp_path / "forge"
    service = {**notes_repo(), "catalog-info.yaml": "kind: Component\n"}
    kept = make_remote(forge, "kept", service)
    make_remote(forge, "legacy", {**service, "LEGACY": "old\n"})
    make_remote(forge, "other", notes_repo())
    git(kept, "branch", "develop", "main")
    (tmp_path / "repos.yaml").write_text("kept:\n  base_branch: develop\n  labels: [x]\n")
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="shaped",
        command="true",
        targets={
            "repos": [str(forge / f"{n}.git") for n in ("kept", "legacy", "other")],
            "has_file": ["catalog-info.yaml"],
            "exclude_has_file": ["LEGACY"],
            "overrides": "repos.yaml",
        },
    )
    runtime = Runtime(str(tmp_path / "c.db"), tmp_path / "w", tmp_path / "cache", "local")

    made = plan_campaign(load_spec(spec), runtime)

    verdicts = {repo.name: (repo.verdict, repo.reason) for repo in made.repos}
    assert verdicts["kept"] == ("ready", None)
    assert verdicts["legacy"] == ("not_targeted", "LEGACY matches exclude_has_file ['LEGACY']")
    assert verdicts["other"][0] == "not_targeted" and "has_file" in str(verdicts["other"][1])
    assert made.ready and made.estimate.jobs == 1  # skipped repositories block nothing
