"""CI parity and pinned tool versions: verifiers check what the project's CI checks, as it does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from verifier_helpers import only

from corral.sandbox.local import LocalRunner
from corral.verifiers.base import ProjectContext
from corral.verifiers.ci_parity import ci_plan, decide, pre_commit_hooks, script_name
from corral.verifiers.run import verify
from corral.verifiers.tool_versions import (
    go_directive,
    pinned_rust_toolchain,
    python_tool_pins,
    without_comment_only_hunks,
    wrapper_maven_version,
)

WORKFLOW = """\
name: CI
on: [push]
jobs:
  test:
    strategy:
      matrix:
        rust: [nightly, beta, stable]
    runs-on: ubuntu-latest
    steps:
      - uses: dtolnay/rust-toolchain@master
        with:
          toolchain: ${{matrix.rust}}
      - run: cargo test --features serde
      - run: cargo bench --no-run
        if: matrix.rust == 'nightly'
      - run: |
          cargo +nightly build -Z minimal-versions
          cargo build \\
            --no-default-features
  clippy:
    runs-on: ubuntu-latest
    steps:
      - uses: dtolnay/rust-toolchain@clippy
      - run: cargo clippy --tests -- -Dclippy::pedantic
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: cargo publish
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def commands(root: Path) -> list[tuple[str, str]]:
    plan = ci_plan(root)
    assert plan is not None
    return [(c.text, c.source) for c in plan.commands]


def test_workflow_steps_for_nightly_other_toolchains_and_deploys_are_left_out(
    tmp_path: Path,
) -> None:
    write(tmp_path, {".github/workflows/ci.yml": WORKFLOW})
    found = commands(tmp_path)
    assert found == [
        ("cargo test --features serde", ".github/workflows/ci.yml (job test)"),
        ("cargo build --no-default-features", ".github/workflows/ci.yml (job test)"),
    ]


def test_a_matrix_without_the_default_toolchain_is_left_out(tmp_path: Path) -> None:
    workflow = WORKFLOW.replace("[nightly, beta, stable]", "[nightly, beta]")
    write(tmp_path, {".github/workflows/ci.yml": workflow})
    assert commands(tmp_path) == []


def test_task_runners_ci_calls_are_expanded_to_their_commands(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": (
                "jobs:\n  lint:\n    steps:\n"
                "      - run: uvx --with tox-uv tox -e typing\n"
                "      - run: make check\n"
                "      - run: npm run lint && npm test\n"
            ),
            "tox.ini": "[testenv:typing]\ncommands = mypy src --strict\n",
            "Makefile": "check:\n\t@go vet ./...\n\nother:\n\techo no\n",
            "package.json": json.dumps({"scripts": {"lint": "eslint .", "test": "ava"}}),
            ".pre-commit-config.yaml": (
                "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n"
                "    rev: 0123abcd  # frozen: v0.4.2\n    hooks:\n      - id: ruff\n"
            ),
        },
    )
    found = dict(commands(tmp_path))
    assert found["mypy src --strict"] == "tox (typing)"
    assert found["go vet ./..."] == "Makefile (check)"
    assert found["eslint ."] == "package.json (scripts.lint)"
    assert found["ava"] == "package.json (scripts.test)"
    assert found["ruff check"] == ".pre-commit-config.yaml"
    assert "echo no" not in found
    plan = ci_plan(tmp_path)
    assert plan is not None and set(plan.scripts_run()) == {"lint", "test"}


def test_script_names_of_package_manager_calls() -> None:
    assert script_name("npm test") == "test"
    assert script_name("pnpm run test:types") == "test:types"
    assert script_name("pnpm lint") == "lint"
    assert script_name("pnpm install") is None
    assert script_name("pnpm vitest --coverage") is None


def test_decide_takes_corral_yaml_then_ci_then_convention(tmp_path: Path) -> None:
    clippy = re.compile(r"\bclippy\b")
    no_ci = decide(tmp_path, "cargo", "clippy", clippy, convention=True)
    assert (no_ci.run, no_ci.source) == (True, "convention")
    write(
        tmp_path, {".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: cargo test\n"}
    )
    by_ci = decide(tmp_path, "cargo", "clippy", clippy, convention=True)
    assert not by_ci.run
    assert by_ci.source == "not run by the project's CI (.github/workflows/ci.yml)"
    opted_in = decide(tmp_path, "cargo", "clippy", clippy, convention=True, enabled=("clippy",))
    assert (opted_in.run, opted_in.source) == (True, ".corral.yaml (verifiers.checks)")
    test = decide(tmp_path, "cargo", "test", re.compile(r"cargo test"), convention=True)
    assert test.run and test.source.startswith(".github/workflows/ci.yml (job t)")


def test_ci_that_never_runs_an_ecosystems_tools_leaves_it_to_conventions(tmp_path: Path) -> None:
    write(
        tmp_path, {".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: npm test\n"}
    )
    decision = decide(tmp_path, "go", "gofmt", re.compile("gofmt"), convention=True)
    assert (decision.run, decision.source) == (True, "convention")


# --- pinned versions -----------------------------------------------------------------------


def test_python_pins_come_from_the_lock_then_pre_commit_then_declarations(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements-dev.txt": "ruff==0.1.0\nmypy==1.0.0\n",
            ".pre-commit-config.yaml": (
                "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n"
                "    rev: 76e47323a83cd9795e4ff9a1de1c0d2eef610f17  # frozen: v0.11.11\n"
                "    hooks:\n      - id: ruff\n"
            ),
            "uv.lock": 'version = 1\n[[package]]\nname = "mypy"\nversion = "1.15.0"\n',
        },
    )
    assert python_tool_pins(tmp_path) == {"ruff": "0.11.11", "mypy": "1.15.0"}
    assert pre_commit_hooks(tmp_path)[0].rev == "v0.11.11"


def test_wrapper_go_and_rust_pins_are_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".mvn/wrapper/maven-wrapper.properties": (
                "distributionUrl=https://repo.maven.apache.org/maven2/org/apache/maven/"
                "apache-maven/3.9.6/apache-maven-3.9.6-bin.zip\n"
            ),
            "go.mod": "module example.com/x\n\ngo 1.16\n",
            "rust-toolchain.toml": '[toolchain]\nchannel = "1.70.0"\n',
        },
    )
    assert wrapper_maven_version(tmp_path) == "3.9.6"
    assert go_directive(tmp_path) == (1, 16)
    assert pinned_rust_toolchain(tmp_path) == "1.70.0"


def test_comment_only_gofmt_hunks_are_dropped_and_code_hunks_kept() -> None:
    diff = (
        "diff calc.go.orig calc.go\n--- calc.go.orig\n+++ calc.go\n"
        "@@ -2,4 +2,4 @@\n // Add adds.\n-//  x := Add(1, 2)\n+//\tx := Add(1, 2)\n"
        "@@ -9,3 +9,3 @@\n }\n-var  x   = 1\n+var x = 1\n"
    )
    kept, dropped = without_comment_only_hunks(diff)
    assert dropped == 1
    assert "var x = 1" in kept and "Add(1, 2)" not in kept
    assert kept.startswith("diff calc.go.orig calc.go\n--- calc.go.orig\n+++ calc.go\n@@ -9,3")


# --- end to end, with real toolchains -------------------------------------------------------


def git_repo(root: Path, files: dict[str, str]) -> Path:
    write(root, files)
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(
            ["git", "-C", str(root), *argv],
            check=True,
            capture_output=True,
            env={
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@t",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@t",
                "PATH": "/usr/bin:/bin",
            },
        )
    return root


CRATE = {
    "Cargo.toml": '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n',
    # A lint clippy denies, and a bench that needs nightly: CI runs neither.
    "src/lib.rs": (
        "#![deny(clippy::needless_return)]\n"
        "pub fn add(a: u32, b: u32) -> u32 {\n    return a + b;\n}\n\n"
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n"
        "        assert_eq!(super::add(1, 2), 3);\n    }\n}\n"
    ),
    "benches/speed.rs": "#![feature(test)]\nextern crate test;\n",
    ".github/workflows/ci.yml": (
        "jobs:\n  test:\n    steps:\n      - uses: dtolnay/rust-toolchain@stable\n"
        "      - run: cargo test\n"
    ),
}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_cargo_runs_what_ci_runs_and_says_where_each_check_came_from(
    tmp_path: Path, cache_dir: Path
) -> None:
    repo = git_repo(tmp_path / "crate", CRATE)
    report = verify(repo, LocalRunner(cache_dir), only("cargo"))
    assert report.ok, report.message
    [result] = report.results
    assert result.tests is not None and result.tests.run == 1
    assert result.sources["clippy"] == "not run by the project's CI (.github/workflows/ci.yml)"
    assert result.sources["benches"].startswith("not run by the project's CI")
    assert report.to_json()["verifiers"][0]["sources"] == result.sources


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_an_opted_in_check_runs_although_ci_does_not(tmp_path: Path, cache_dir: Path) -> None:
    files = {**CRATE, "benches/speed.rs": "fn main() {}\n"}
    repo = git_repo(tmp_path / "crate", files)
    settings = only("cargo").model_copy(update={"checks": {"cargo": ["clippy"]}})
    report = verify(repo, LocalRunner(cache_dir), settings)
    assert not report.ok
    [finding] = report.results[0].findings
    assert (finding.file, finding.line) == ("src/lib.rs", 3)
    assert "needless_return" in finding.message
    assert report.results[0].sources["clippy"] == ".corral.yaml (verifiers.checks)"


GO_MODULE = {
    "go.mod": "module example.com/calc\n\ngo 1.16\n",
    # gofmt since Go 1.19 rewrites this doc comment; the module's own Go (1.16) would not.
    "calc.go": (
        "package calc\n\n// Add adds.\n//\n//  x := Add(1, 2)\n"
        "func Add(a, b int) int { return a + b }\n"
    ),
    "calc_test.go": (
        'package calc\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {\n'
        '\tif Add(1, 2) != 3 {\n\t\tt.Fatal("wrong")\n\t}\n}\n'
    ),
    ".github/workflows/ci.yml": (
        'jobs:\n  test:\n    steps:\n      - run: test -z "$(gofmt -l .)"\n'
        "      - run: go test ./...\n"
    ),
}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("go") is None, reason="needs go")
def test_gofmt_of_a_newer_go_reports_code_not_comment_opinions(
    tmp_path: Path, cache_dir: Path
) -> None:
    clean = git_repo(tmp_path / "clean", GO_MODULE)
    report = verify(clean, LocalRunner(cache_dir), only("go"))
    assert report.ok, report.message
    assert "Note: gofmt: 1 comment-only difference(s) not reported" in report.message
    assert "declares go 1.16" in report.message
    assert report.results[0].sources["gofmt"].startswith(".github/workflows/ci.yml (job test)")
    misformatted = {**GO_MODULE, "calc.go": GO_MODULE["calc.go"] + "\nvar  x   = 1\n"}
    bad = git_repo(tmp_path / "bad", misformatted)
    report = verify(bad, LocalRunner(cache_dir), only("go"))
    [finding] = report.results[0].findings
    assert (finding.file, finding.line, finding.kind.value) == ("calc.go", 8, "format")


@pytest.mark.slow
def test_python_checks_only_what_ci_runs_with_the_pinned_ruff(
    tmp_path: Path, cache_dir: Path
) -> None:
    repo = git_repo(
        tmp_path / "py",
        {
            "pyproject.toml": ("[tool.ruff]\nline-length = 100\n[tool.mypy]\nstrict = true\n"),
            "calc.py": "import os\n\n\ndef add(a, b):\n    return a + b\n",
            "test_calc.py": (
                "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
            ),
            ".pre-commit-config.yaml": (
                "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n"
                "    rev: v0.4.2\n    hooks:\n      - id: ruff\n"
            ),
            ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: pytest\n",
        },
    )
    report = verify(repo, LocalRunner(cache_dir), only("python"))
    # ruff runs (pre-commit), pinned; mypy (configured, never run by CI) does not.
    [result] = report.results
    assert "mypy" in result.sources, report.message
    assert result.sources["mypy"].startswith("not run by the project's CI")
    assert result.sources["ruff"].startswith(".pre-commit-config.yaml")
    [finding] = result.findings
    assert (finding.file, finding.line) == ("calc.py", 1)
    ctx = ProjectContext(repo, repo, LocalRunner(cache_dir))
    from corral.verifiers.python import Interpreter, ProjectConfig, venv_dir

    venv = venv_dir(ctx, Interpreter.find(ctx), ProjectConfig.read(ctx).tool_pins)
    version = subprocess.run(
        [str(venv / "bin" / "ruff"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == "ruff 0.4.2"


def test_a_build_ci_never_runs_is_not_verified_unless_opted_in(tmp_path: Path) -> None:
    from corral.config import VerifierSettings
    from corral.verifiers.run import applicable_projects

    write(
        tmp_path,
        {
            "pom.xml": "<project/>\n",
            "build.gradle": "plugins { id 'java' }\n",
            "package.json": json.dumps({"name": "docs", "scripts": {"test": "echo"}}),
            ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: mvn -B verify\n",
        },
    )
    # Gradle, the alternative build CI does not run, is left out; Node is verified anyway
    # (CI might reach it through a script).
    names = sorted(p.verifier.name for p in applicable_projects(tmp_path, VerifierSettings()))
    assert names == ["maven", "node"]
    opted = VerifierSettings(checks={"gradle": ["build"]})
    names = sorted(p.verifier.name for p in applicable_projects(tmp_path, opted))
    assert names == ["gradle", "maven", "node"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("rustup") is None, reason="needs rustup")
def test_a_pinned_toolchain_that_is_not_installed_is_said_once_and_its_lints_skipped(
    tmp_path: Path, cache_dir: Path
) -> None:
    files = {**CRATE, "rust-toolchain.toml": '[toolchain]\nchannel = "1.2.3"\n'}
    repo = git_repo(tmp_path / "crate", files)
    settings = only("cargo").model_copy(update={"checks": {"cargo": ["clippy"]}})
    report = verify(repo, LocalRunner(cache_dir), settings)
    assert report.ok, report.message
    assert report.message.count("Note: rust-toolchain pins 1.2.3, which is not installed") == 1


def test_node_scripts_ci_never_runs_are_left_out_and_said_so(tmp_path: Path) -> None:
    from corral.sandbox.local import LocalRunner as Runner
    from corral.verifiers.ci_parity import Checks

    scripts = {"test": "run-s typecheck unit", "typecheck": "tsc", "unit": "ava", "lint": "xo"}
    write(
        tmp_path,
        {
            "package.json": json.dumps({"scripts": scripts}),
            ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: npm test\n",
        },
    )
    checks = Checks(ProjectContext(tmp_path, tmp_path, Runner(tmp_path / "cache")), "node")
    assert checks.scripts_allowed(("lint",), set(scripts)) == ()
    assert checks.scripts_allowed(("typecheck",), set(scripts)) == ("typecheck",)
    assert checks.sources["lint"] == "not run by the project's CI (.github/workflows/ci.yml)"
    assert checks.sources["typecheck"] == "package.json (scripts.test)"


def test_maven_checks_up_to_the_phase_ci_runs(tmp_path: Path) -> None:
    from corral.verifiers.ci_parity import maven_phase

    ctx = ProjectContext(tmp_path, tmp_path, LocalRunner(tmp_path / "cache"))
    assert maven_phase(ctx) == ("verify", "convention")
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": (
                "jobs:\n  build:\n    steps:\n      - run: mvn clean compile\n"
                "      - run: mvn -B package -DskipJavadoc\n"
                "  deploy:\n    steps:\n      - run: mvn deploy\n"
            )
        },
    )
    phase, source = maven_phase(ctx)
    assert phase == "package"
    assert source == ".github/workflows/ci.yml (job build): mvn -B package -DskipJavadoc"


def test_ci_scripts_and_hatch_scripts_are_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": (
                "jobs:\n  t:\n    steps:\n      - run: ./ci/check.sh\n"
                "      - run: hatch run lint:check\n"
            ),
            "ci/check.sh": "#!/bin/sh\nset -e\ncargo clippy -- -D warnings\n",
            "pyproject.toml": '[tool.hatch.envs.lint.scripts]\ncheck = ["ruff check src"]\n',
        },
    )
    found = dict(commands(tmp_path))
    assert found["cargo clippy -- -D warnings"] == "ci/check.sh"
    assert found["ruff check src"] == "pyproject.toml (tool.hatch.envs.lint.scripts)"


def test_maven_cleans_first_where_ci_does(tmp_path: Path) -> None:
    from corral.verifiers.ci_parity import maven_goals

    ctx = ProjectContext(tmp_path, tmp_path, LocalRunner(tmp_path / "cache"))
    assert maven_goals(ctx)[0] == ["verify"]
    write(tmp_path, {".travis.yml": "script:\n  - mvn -B clean package\n"})
    assert maven_goals(ctx) == (["clean", "package"], ".travis.yml (script): mvn -B clean package")


def test_mypy_as_ci_runs_it_through_tox_and_pre_commit(tmp_path: Path) -> None:
    """`tox -e mypy` stands for its environment's command (`mypy . --exclude tests`), not for
    a mypy without options; its stub packages are installed; a bare pre-commit mypy hook runs
    where the project's dependencies are missing, so their ignores are not `unused` there."""
    from corral.verifiers.ci_parity import python_checks
    from corral.verifiers.python import mypy_stubs

    files = {
        "tox.ini": (
            "[tox]\nenv_list = mypy\n\n[testenv:mypy]\ndeps =\n    mypy==1.12\n"
            "    types-colorama\ncommands =\n    mypy . {posargs} --exclude tests\n"
        ),
        ".github/workflows/lint.yml": (
            "jobs:\n  mypy:\n    steps:\n      - run: uvx --with tox-uv tox -e mypy\n"
        ),
    }
    write(tmp_path / "tox", files)
    ctx = ProjectContext(tmp_path / "tox", tmp_path / "tox", LocalRunner(tmp_path / "cache"))
    checks = python_checks(ctx, ruff=False, ruff_format=False, mypy=True)
    assert (checks.mypy, checks.mypy_targets) == (True, (".",))
    assert (checks.mypy_options, checks.mypy_isolated) == (("--exclude", "tests"), False)
    assert mypy_stubs(tmp_path / "tox") == ["types-colorama"]

    hook = "    hooks:\n      - id: mypy\n"
    pre_commit = "repos:\n  - repo: https://github.com/pre-commit/mirrors-mypy\n    rev: v1.19.1\n"
    workflow = "jobs:\n  lint:\n    steps:\n      - run: pre-commit run --all-files\n"
    bare = {".pre-commit-config.yaml": pre_commit + hook, ".github/workflows/ci.yml": workflow}
    write(tmp_path / "bare", bare)
    ctx = ProjectContext(tmp_path / "bare", tmp_path / "bare", LocalRunner(tmp_path / "cache"))
    assert python_checks(ctx, ruff=False, ruff_format=False, mypy=True).mypy_isolated
    with_deps = hook + "        additional_dependencies: [types-requests]\n"
    write(tmp_path / "deps", {**bare, ".pre-commit-config.yaml": pre_commit + with_deps})
    ctx = ProjectContext(tmp_path / "deps", tmp_path / "deps", LocalRunner(tmp_path / "cache"))
    assert not python_checks(ctx, ruff=False, ruff_format=False, mypy=True).mypy_isolated
    assert mypy_stubs(tmp_path / "deps") == ["types-requests"]


def test_a_workflow_is_parsed_once_per_content_and_an_edit_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ci_plan is asked per project and per check: the YAML parse is shared by text, so an
    edited workflow (or another repository's) is never answered from an older parse."""
    from ruamel.yaml import YAML

    parsed: list[str] = []
    real_load = YAML.load

    def counting(self: YAML, text: str) -> object:
        parsed.append(text)
        return real_load(self, text)

    monkeypatch.setattr(YAML, "load", counting)
    workflow = WORKFLOW.replace("--features serde", "--features corral-cache-test")
    write(tmp_path / "a", {".github/workflows/ci.yml": workflow})
    write(tmp_path / "b", {".github/workflows/ci.yml": workflow})
    first = commands(tmp_path / "a")
    assert commands(tmp_path / "a") == first and commands(tmp_path / "b") == first
    assert len(parsed) == 1
    write(tmp_path / "a", {".github/workflows/ci.yml": workflow.replace("corral-cache", "edit")})
    assert commands(tmp_path / "a")[0][0] == "cargo test --features edit-test"
    assert len(parsed) == 2
