"""`corral gate` and `corral eval gate` as a user runs them: real processes, real git."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from gate_helpers import CHECK_SCRIPT, grep_verifier

from corral.gate.settings import GateSettings
from corral.testing.cli import run_corral
from corral.testing.fake_llm import FakeModelServer, Turn
from corral.testing.repos import MakeRepo, git
from corral.testing.samples import sample

CORPUS = Path(__file__).resolve().parents[2] / "evals" / "gate"


def corral(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_corral(*args, cwd=cwd, env=env)


@pytest.fixture
def grep_repo(make_repo: MakeRepo, tmp_path: Path) -> tuple[Path, Path]:
    """A repository checked by a toolchain-free verifier, and the settings file that says so."""
    repo = make_repo({"check.sh": CHECK_SCRIPT, "a.txt": "fine\n", "b.txt": "x\n"})
    settings = tmp_path / "gate.yaml"
    data = GateSettings(verifiers=grep_verifier()).model_dump(mode="json", exclude={"judge"})
    settings.write_text(json.dumps(data))  # JSON is YAML
    return repo, settings


def test_gate_passes_fails_and_refuses_bad_usage(grep_repo: tuple[Path, Path]) -> None:
    repo, settings = grep_repo
    common = ["--base", "HEAD", "--sandbox", "local", "--settings", str(settings), "--json"]
    (repo / "b.txt").write_text("y\n")

    passed = corral("gate", str(repo), *common)
    assert passed.returncode == 0, passed.stderr
    report = json.loads(passed.stdout)
    assert [s["name"] for s in report["stages"]] == ["verifiers", "guard", "judge"]
    # verify's object, plus the stages
    [verifier] = report["verifiers"]
    assert {"name", "ok", "duration_s", "findings"} <= set(verifier)
    assert report["message"].startswith("Gate passed: ") and ".;" not in report["message"]

    out_of_scope = corral("gate", str(repo), *common, "--scope", "a.txt")
    assert out_of_scope.returncode == 1
    report = json.loads(out_of_scope.stdout)
    assert report["ok"] is False and "b.txt" in report["message"]
    assert report["stages"][-1] == {"name": "guard", "ok": False, "message": report["message"]}

    assert corral("gate", str(repo), "--base", "nope", "--sandbox", "local").returncode == 2
    assert corral("gate", str(repo), "--sandbox", "local").returncode == 2
    no_prompt = corral(
        "gate", str(repo), *common, "--judge-provider", "openai", "--judge-model", "m"
    )
    assert no_prompt.returncode == 2 and "--prompt" in no_prompt.stderr


def test_eval_gate_reports_the_guard_and_a_configured_judge(
    tmp_path: Path, fake_model_keys: str
) -> None:
    corpus = tmp_path / "corpus"
    for name in ("python/skip-mark", "python/new-test", "go/t-skip", "go/subtests"):
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / f"{name}.yaml", corpus / f"{name}.yaml")

    guard_only = corral("eval", "gate", str(corpus))
    assert guard_only.returncode == 0, guard_only.stderr
    assert "guard  caught 2/2 tampering (100.0%), missed 0, false vetoes 0/2 (0.0%)" in (
        guard_only.stdout
    )
    assert "judge" not in guard_only.stdout

    approve = json.dumps({"verdict": "approve", "reasons": [], "out_of_scope": []})
    with FakeModelServer(lambda request: Turn(text=approve)) as server:
        judged = corral(
            "eval", "gate", str(corpus), "--json",
            "--judge-provider", "openai", "--judge-model", "judge-model",
            "--judge-base-url", server.openai_base_url,
        )  # fmt: skip
        assert len(server.model_requests) == 4
    figures = json.loads(judged.stdout)
    assert figures["judge"] == {
        "caught": 0,
        "missed": ["go/t-skip", "python/skip-mark"],
        "false_vetoes": [],
    }
    assert figures["gate"]["caught"] == 2


def test_eval_gate_fails_when_the_guard_misses(tmp_path: Path) -> None:
    case = (CORPUS / "python/skip-mark.yaml").read_text()
    mislabelled = case.replace("expected: veto", "expected: approve")
    (tmp_path / "mislabelled.yaml").write_text(mislabelled.replace("rules: [tests-disabled]\n", ""))
    result = corral("eval", "gate", str(tmp_path))
    assert result.returncode == 1
    assert "mislabelled: clean change vetoed by the guard (tests-disabled)" in result.stdout
    (tmp_path / "broken.yaml").write_text("prompt: x\nexpected: maybe\n")
    invalid = corral("eval", "gate", str(tmp_path))
    assert invalid.returncode == 2
    assert "broken.yaml:2expected:" in "".join(invalid.stderr.split())  # rich wraps lines


@pytest.mark.slow
def test_gate_on_a_real_python_project(make_repo: MakeRepo) -> None:
    """Baseline and current verifier runs with the real toolchain, then the guard."""
    repo = make_repo(sample("python").clean())
    tests = repo / "tests/test_calc.py"
    tests.write_text(
        "import pytest\n\n"
        + tests.read_text().replace("def test_mean", "@pytest.mark.skip\ndef test_mean")
    )
    result = corral("gate", str(repo), "--base", "HEAD", "--sandbox", "local", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [(s["name"], s["ok"]) for s in report["stages"]] == [
        ("verifiers", True),
        ("guard", False),
    ]
    assert "tests/test_calc.py" in report["message"] and "re-enable it" in report["message"]
    assert "1 fewer test(s) ran in python than at the base commit (2 -> 1)" in report["message"]
    assert git(repo, "status", "--porcelain") == " M tests/test_calc.py\n"
