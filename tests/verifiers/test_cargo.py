"""The cargo verifier: its parsers on recorded real output, then real cargo on the sample crate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corral.config import VerifierSettings
from corral.sandbox.local import LocalRunner
from corral.testing.repos import MakeRepo, git, write_files
from corral.testing.samples import cargo as sample
from corral.verifiers import Finding, FindingKind, VerifyReport, verify
from corral.verifiers.base import ProjectContext
from corral.verifiers.cargo import (
    CargoVerifier,
    parse_compiler_messages,
    parse_libtest,
    parse_rustfmt_check,
)
from corral.verifiers.discovery import find_projects
from corral.verifiers.registry import BUILTIN

pytestmark = pytest.mark.xdist_group("cargo")

DATA = Path(__file__).parent / "data" / "cargo"
# Where the recorded output was produced (see data/cargo/README.md).
RECORDED_ROOT = Path("/tmp/rx/repo")
ONLY_CARGO = VerifierSettings(disable=sorted(set(BUILTIN) - {"cargo"}))


def recorded(name: str) -> str:
    return (DATA / name).read_text()


def rel(path: str) -> str:
    ctx = ProjectContext(RECORDED_ROOT, RECORDED_ROOT, LocalRunner(Path("/nonexistent")))
    return ctx.rel(path)


def summary(findings: list[Finding]) -> list[tuple[str, str | None, int | None]]:
    return [(f.kind.value, f.file, f.line) for f in findings]


# --- parsers, on real output ------------------------------------------------------------


def test_libtest_report_gives_each_failure_at_its_line_in_the_test_source() -> None:
    report = parse_libtest(recorded("test.out").splitlines(), rel)
    by_id = {f.test_id: f for f in report.findings}
    assert set(by_id) == {
        "tests::indexes",
        "adds_negative",
        "returns_error",
        "src/lib.rs - add (line 5)",
    }
    # The panic is inside the library (lib.rs:14); the finding points at the test's own line.
    indexes = by_id["tests::indexes"]
    assert (indexes.file, indexes.line) == ("src/lib.rs", 29)
    assert indexes.message == "index out of bounds: the len is 2 but the index is 7"
    negative = by_id["adds_negative"]
    assert (negative.kind, negative.file, negative.line) == (FindingKind.TEST, "tests/api.rs", 6)
    assert negative.message == "assertion `left == right` failed: adding -2 and -3"
    assert negative.context == "left: -5\nright: -6"
    error = by_id["returns_error"]
    assert (error.file, error.message) == (None, 'Error: "no luck"')
    doc = by_id["src/lib.rs - add (line 5)"]
    assert (doc.file, doc.line, doc.message) == (
        "src/lib.rs",
        5,
        "assertion `left == right` failed",
    )
    # Three binaries: 1+1 run and 1 ignored, 0+2 run, 0+1 run.
    assert vars(report.counts) == {"run": 5, "failed": 4, "skipped": 1}


def test_workspace_failures_point_into_each_member_crate() -> None:
    """RUST_BACKTRACE=full frames are absolute: each member's test lands in its own folder."""
    root = Path("/tmp/hard/cargows")
    ctx = ProjectContext(root, root, LocalRunner(Path("/nonexistent")))
    report = parse_libtest(recorded("workspace_test.out").splitlines(), ctx.rel)
    by_id = {f.test_id: (f.file, f.line, f.message) for f in report.findings}
    assert by_id == {
        "tests::sums": ("crates/cli/src/main.rs", 13, "assertion `left == right` failed"),
        # The assert is in a helper (line 4); the test's own call is line 10.
        "cents": (
            "crates/core/tests/parse.rs",
            10,
            'assertion `left == right` failed: parsing " 2.05 "',
        ),
        "tests::nth_out_of_range": (
            "crates/core/src/lib.rs",
            29,
            "test did not panic as expected",
        ),
        "crates/core/src/lib.rs - parse (line 5)": (
            "crates/core/src/lib.rs",
            5,
            "assertion `left == right` failed",
        ),
    }
    assert vars(report.counts) == {"run": 5, "failed": 4, "skipped": 1}


def test_compile_errors_once_each_and_warnings_left_out() -> None:
    findings = parse_compiler_messages(recorded("build_compile_error.jsonl"), rel)
    assert summary(findings) == [("compile", "src/lib.rs", 11)]
    assert findings[0].message == "mismatched types"
    assert findings[0].context is not None
    assert "expected `String`, found integer" in findings[0].context


def test_denied_clippy_lint_is_a_lint_finding_with_its_name() -> None:
    findings = parse_compiler_messages(recorded("clippy_lints.jsonl"), rel)
    assert summary(findings) == [("lint", "src/lib.rs", 6)]
    assert findings[0].message == "unneeded `return` statement (clippy::needless_return)"


def test_rustfmt_check_points_at_the_first_changed_line_of_each_file() -> None:
    findings = parse_rustfmt_check(recorded("fmt_check.out"), rel)
    assert summary(findings) == [("format", "src/extra.rs", 1), ("format", "src/lib.rs", 6)]
    assert findings[1].context == "-    return a+b;\n+    return a + b;"


# --- which Cargo.toml is a project ------------------------------------------------------

PACKAGE = '[package]\nname = "{}"\nversion = "0.1.0"\n'


def cargo_projects(root: Path, files: dict[str, str]) -> list[str]:
    write_files(root, files)
    return [p.relative(root) for p in find_projects(root, [CargoVerifier()])]


def test_workspace_members_are_built_by_their_root(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\nexclude = ["crates/odd"]\n',
        "crates/a/Cargo.toml": PACKAGE.format("a"),
        "crates/odd/Cargo.toml": PACKAGE.format("odd"),
        "fuzz/Cargo.toml": PACKAGE.format("fuzz") + "[workspace]\n",
    }
    assert cargo_projects(tmp_path, files) == [".", "crates/odd", "fuzz"]


def test_a_crate_below_a_plain_crate_is_its_own_project(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": PACKAGE.format("root") + '[dependencies]\nlib = { path = "lib" }\n',
        "tools/gen/Cargo.toml": PACKAGE.format("gen"),
        "lib/Cargo.toml": PACKAGE.format("lib"),
    }
    # No workspace: cargo builds each on its own (`lib` only as a dependency, not its tests).
    assert cargo_projects(tmp_path, files) == [".", "lib", "tools/gen"]


def test_path_dependencies_of_a_workspace_root_are_members(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": PACKAGE.format("root")
        + '[workspace]\n[dependencies]\nlib = { path = "lib" }\n',
        "lib/Cargo.toml": PACKAGE.format("lib"),
    }
    assert cargo_projects(tmp_path, files) == ["."]


# --- the real toolchain on the sample crate -----------------------------------------------


def make_crate_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    write_files(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cargo")
    lib = sample.clean()[sample.LIB_PATH]
    variants = {
        "clean": sample.clean(),
        "compile_error": sample.compile_error(),
        "failing_test": sample.failing_test(),
        "lint_violation": sample.lint_violation(),
        "format": {**sample.clean(), sample.LIB_PATH: lib.replace("2 * x", "2*x")},
        # A plain crate with a separate crate below it, whose test fails.
        "nested": {
            **sample.clean(),
            **{f"tools/calc/{path}": text for path, text in sample.failing_test().items()},
        },
    }
    return {name: make_crate_repo(base / name, files) for name, files in variants.items()}


@pytest.fixture(scope="module")
def reports(repos: dict[str, Path], cache_dir: Path) -> dict[str, VerifyReport]:
    runner = LocalRunner(cache_dir)
    return {name: verify(repo, runner, ONLY_CARGO) for name, repo in repos.items()}


def only_result(report: VerifyReport) -> tuple[list[Finding], dict[str, int] | None]:
    """The findings and test counts of the one crate verified."""
    [result] = report.results
    assert result.name == "cargo"
    return result.findings, None if result.tests is None else vars(result.tests)


def test_clean_crate_passes_in_one_line(reports: dict[str, VerifyReport]) -> None:
    report = reports["clean"]
    findings, tests = only_result(report)
    assert report.ok, report.message
    assert findings == []
    assert tests == {"run": 2, "failed": 0, "skipped": 0}
    assert report.message == "All checks passed (cargo; 2 tests passed)."


def test_compile_error_names_file_line_and_cause(reports: dict[str, VerifyReport]) -> None:
    findings, _ = only_result(reports["compile_error"])
    assert summary(findings) == [("compile", "src/lib.rs", 5)]
    assert findings[0].message == "mismatched types"
    assert "expected `i64`, found `usize`" in (findings[0].context or "")


def test_failing_test_names_the_test_its_assertion_and_line(
    reports: dict[str, VerifyReport],
) -> None:
    findings, tests = only_result(reports["failing_test"])
    assert summary(findings) == [("test", "src/lib.rs", 19)]
    assert findings[0].test_id == "tests::sums"
    assert findings[0].message == "assertion `left == right` failed"
    assert findings[0].context == "left: 5\nright: 6"
    assert tests == {"run": 2, "failed": 1, "skipped": 0}


def test_denied_clippy_lint_is_a_lint_finding(reports: dict[str, VerifyReport]) -> None:
    findings, tests = only_result(reports["lint_violation"])
    assert summary(findings) == [("lint", "src/lib.rs", 5)]
    assert "clippy::needless_return" in findings[0].message
    assert tests == {"run": 2, "failed": 0, "skipped": 0}


def test_unformatted_file_is_a_format_finding(reports: dict[str, VerifyReport]) -> None:
    findings, _ = only_result(reports["format"])
    assert summary(findings) == [("format", "src/lib.rs", 10)]
    assert "rustfmt" in findings[0].message


def test_nested_crate_is_checked_on_its_own_with_repository_paths(
    reports: dict[str, VerifyReport],
) -> None:
    results = {r.project: r for r in reports["nested"].results}
    assert set(results) == {".", "tools/calc"}
    assert results["."].ok
    assert summary(results["tools/calc"].findings) == [("test", "tools/calc/src/lib.rs", 19)]
    assert "- tools/calc/src/lib.rs:19: [test] tests::sums:" in reports["nested"].message


def test_extra_args_reach_cargo_test(repos: dict[str, Path], cache_dir: Path) -> None:
    settings = ONLY_CARGO.model_copy(update={"args": {"cargo": ["--lib", "--", "doubles"]}})
    report = verify(repos["failing_test"], LocalRunner(cache_dir), settings, prepare=False)
    assert report.ok, report.message
    assert vars(report.results[0].tests) == {"run": 1, "failed": 0, "skipped": 0}


def test_missing_cargo_is_an_error_finding(repos: dict[str, Path], cache_dir: Path) -> None:
    runner = LocalRunner(cache_dir, base_env={**os.environ, "PATH": "/usr/bin:/bin"})
    report = verify(repos["clean"], runner, ONLY_CARGO)
    [finding] = report.results[0].findings
    assert finding.kind == FindingKind.ERROR
    assert "`cargo` is not installed" in finding.message
    assert not report.ok


def test_cli_json_contract_on_a_compile_error(repos: dict[str, Path], cache_dir: Path) -> None:
    repo = repos["compile_error"]
    config = repo / ".corral.yaml"
    config.write_text(json.dumps({"verifiers": {"disable": ONLY_CARGO.disable}}))
    corral = Path(sys.executable).with_name("corral")
    try:
        proc = subprocess.run(
            [corral, "verify", repo, "--json", "--sandbox", "local", "--cache-dir", cache_dir],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        config.unlink()
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] is False
    [verifier] = out["verifiers"]
    assert (verifier["name"], verifier["ok"]) == ("cargo", False)
    assert isinstance(verifier["duration_s"], float)
    [finding] = verifier["findings"]
    assert (finding["file"], finding["line"], finding["message"]) == (
        "src/lib.rs",
        5,
        "mismatched types",
    )
    assert out["message"].startswith("Verification failed: cargo (1 problem)")


@pytest.fixture(scope="module")
def minimal_toolchain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose Rust toolchain is cargo, rustc and rustdoc only: no clippy, no rustfmt.

    The same real binaries the rustup proxies run, linked into a folder of their own.
    """
    sysroot = Path(
        subprocess.run(
            ["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    bin_dir = tmp_path_factory.mktemp("minimal-rust") / "bin"
    bin_dir.mkdir()
    for tool in ("cargo", "rustc", "rustdoc"):
        (bin_dir / tool).symlink_to(sysroot / "bin" / tool)
    return {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}


def test_without_clippy_or_rustfmt_it_builds_and_tests(
    repos: dict[str, Path], cache_dir: Path, minimal_toolchain: dict[str, str]
) -> None:
    runner = LocalRunner(cache_dir, base_env=minimal_toolchain)
    report = verify(repos["failing_test"], runner, ONLY_CARGO, prepare=False)
    findings, tests = only_result(report)
    assert summary(findings) == [("test", "src/lib.rs", 19)]
    assert tests == {"run": 2, "failed": 1, "skipped": 0}


def test_rustfmt_configured_but_missing_is_an_error(
    make_repo: MakeRepo, cache_dir: Path, minimal_toolchain: dict[str, str]
) -> None:
    repo = make_repo({**sample.clean(), "rustfmt.toml": 'edition = "2021"\n'})
    report = verify(repo, LocalRunner(cache_dir, base_env=minimal_toolchain), ONLY_CARGO)
    findings, _ = only_result(report)
    assert summary(findings) == [("error", "rustfmt.toml", None)]
    assert "`cargo fmt` is not installed" in findings[0].message
    assert not report.ok
