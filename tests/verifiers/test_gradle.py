"""The Gradle verifier: detection, the commands it runs, and its parsers on Gradle's formats.

Gradle itself cannot run here (no distribution can be downloaded), so the output samples in
data/gradle/ were written by hand in Gradle's real formats (see its README.md); what can run
for real (discovery, the missing-tool path, the CLI) does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from verifier_helpers import only

from corral.sandbox.base import CommandResult
from corral.sandbox.local import LocalRunner
from corral.testing.repos import MakeRepo, write_files
from corral.verifiers import Finding, FindingKind, verify
from corral.verifiers.base import ProjectContext, cache_env, counts_json
from corral.verifiers.discovery import find_projects
from corral.verifiers.gradle import (
    GradleVerifier,
    check_argv,
    gradle_command,
    parse_compile_errors,
    prepare_argv,
    project_dirs,
    read_outcome,
)

DATA = Path(__file__).parent / "data" / "gradle"
WRITTEN_AT = Path("/home/dev/calc")
"""The project folder the samples' absolute paths name."""
ONLY_GRADLE = only("gradle")
CALC = "src/main/java/com/example/calc/Calculator.java"
CALC_TEST = "src/test/java/com/example/calc/CalculatorTest.java"
BUILD_GRADLE = "plugins { id 'java' }\n"


def sample(name: str) -> str:
    return (DATA / name).read_text()


def context_at(
    root: Path, cache: Path = Path("/nonexistent"), args: tuple[str, ...] = ()
) -> ProjectContext:
    return ProjectContext(root, root, LocalRunner(cache), extra_args=args)


def where(f: Finding) -> tuple[FindingKind, str | None, int | None]:
    return f.kind, f.file, f.line


def failed(output: str, exit_code: int = 1) -> CommandResult:
    return CommandResult(("gradle",), exit_code, output, "", 1.0)


# --- detection and commands ---------------------------------------------------------------


@pytest.mark.parametrize(
    "marker", ["build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"]
)
def test_each_build_script_marks_a_project(tmp_path: Path, marker: str) -> None:
    write_files(tmp_path, {marker: ""})
    assert GradleVerifier().detect(tmp_path)


def test_a_folder_without_build_scripts_is_not_a_project(tmp_path: Path) -> None:
    write_files(tmp_path, {"pom.xml": "", "gradle.properties": "", "src/App.java": ""})
    assert not GradleVerifier().detect(tmp_path)


def test_subprojects_are_built_by_the_root(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "settings.gradle.kts": 'include("app", "lib")\n',
            "app/build.gradle.kts": BUILD_GRADLE,
            "lib/build.gradle": BUILD_GRADLE,
            "tools/standalone/build.gradle": BUILD_GRADLE,
        },
    )
    [project] = find_projects(tmp_path, [GradleVerifier()])
    assert project.directory == tmp_path
    assert project_dirs(tmp_path) == [
        tmp_path,
        tmp_path / "app",
        tmp_path / "lib",
        tmp_path / "tools" / "standalone",
    ]


def test_the_wrapper_is_preferred_to_gradle_on_path(tmp_path: Path) -> None:
    assert gradle_command(tmp_path) == ["gradle"]
    wrapper = tmp_path / "gradlew"
    wrapper.write_text("#!/bin/sh\n")
    wrapper.chmod(0o644)
    assert gradle_command(tmp_path) == ["sh", str(wrapper)]  # executable bit lost
    wrapper.chmod(0o755)
    assert gradle_command(tmp_path) == [str(wrapper)]


def test_check_builds_offline_with_the_repository_arguments(tmp_path: Path) -> None:
    (tmp_path / "gradlew").write_text("#!/bin/sh\n")
    (tmp_path / "gradlew").chmod(0o755)
    argv = check_argv(context_at(tmp_path, args=("-PskipSlow", "--tests", "x")))
    assert argv[0] == str(tmp_path / "gradlew")
    assert argv[1:] == [
        "--offline",
        "--console=plain",
        "--no-daemon",
        "--continue",
        "build",
        "-PskipSlow",
        "--tests",
        "x",
    ]


def test_prepare_resolves_every_configuration_online(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    argv = prepare_argv(context_at(tmp_path, cache))
    assert "--offline" not in argv
    script = Path(argv[argv.index("--init-script") + 1])
    assert script.is_relative_to(cache_env(cache)["GRADLE_USER_HOME"])
    assert "corralResolveDependencies" in script.read_text()
    assert argv[argv.index(str(script)) + 1 :] == [
        "corralResolveDependencies",
        "build",
        "-x",
        "test",
    ]


# --- parsers on Gradle's formats ----------------------------------------------------------


def test_javac_errors_with_their_source_line_and_caret() -> None:
    findings = parse_compile_errors(sample("compile_java.log"), context_at(WRITTEN_AT))
    assert [where(f) for f in findings] == [
        (FindingKind.COMPILE, CALC, 5),
        (FindingKind.COMPILE, CALC, 9),
    ]
    assert findings[0].message == "cannot find symbol"
    assert findings[0].context == (
        "        return a + c;\n"
        "                   ^\n"
        "  symbol:   variable c\n"
        "  location: class com.example.calc.Calculator"
    )
    assert findings[1].message.startswith("incompatible types: possible lossy conversion")


@pytest.mark.parametrize("log", ["compile_kotlin.log", "compile_kotlin_legacy.log"])
def test_kotlinc_errors_old_and_new_format_warnings_ignored(log: str) -> None:
    [finding] = parse_compile_errors(sample(log), context_at(WRITTEN_AT))
    kotlin = "src/main/kotlin/com/example/calc/Calculator.kt"
    assert where(finding) == (FindingKind.COMPILE, kotlin, 4)
    assert finding.message.startswith("Unresolved reference")


@pytest.fixture
def multi_project(tmp_path: Path) -> Path:
    """A two-project build as `gradle build --continue` left it: one test report in :app."""
    root = tmp_path / "shop"
    write_files(
        root,
        {
            "settings.gradle": "include 'app'\n",
            "app/build.gradle": BUILD_GRADLE,
            f"app/{CALC}": "",
            f"app/{CALC_TEST}": "",
        },
    )
    reports = root / "app/build/test-results/test"
    reports.mkdir(parents=True)
    shutil.copy(DATA / "TEST-com.example.calc.CalculatorTest.xml", reports)
    return root


def test_failed_build_with_format_and_test_failures(multi_project: Path) -> None:
    ctx = context_at(multi_project)
    outcome = read_outcome(
        ctx, failed(sample("spotless_and_test_failures.log")), project_dirs(multi_project)
    )
    by_kind = {f.test_id or f.kind.value: f for f in outcome.findings}
    assert set(by_kind) == {
        "format",
        "com.example.calc.CalculatorTest.multipliesTwoNumbers()",
        "com.example.calc.CalculatorTest.dividesByZero()",
    }
    fmt = by_kind["format"]
    assert where(fmt) == (
        FindingKind.FORMAT,
        "app/src/main/java/com/example/app/Calculator.java",
        9,
    )
    assert fmt.context == "-\\treturn·a·*·b;···\n+····return·a·*·b;"
    assertion = by_kind["com.example.calc.CalculatorTest.multipliesTwoNumbers()"]
    assert where(assertion) == (FindingKind.TEST, f"app/{CALC_TEST}", 17)
    assert assertion.message == "2 * 3 ==> expected: <7> but was: <6>"  # type prefix dropped
    error = by_kind["com.example.calc.CalculatorTest.dividesByZero()"]
    assert where(error) == (FindingKind.TEST, f"app/{CALC_TEST}", 23)  # not Calculator.java:10
    assert error.message == "IllegalStateException: cannot divide 1 by zero"
    assert outcome.tests is not None
    assert counts_json(outcome.tests) == {"run": 3, "failed": 2, "skipped": 1}


def test_checkstyle_report_warnings_only_when_they_failed_the_build(tmp_path: Path) -> None:
    report = tmp_path / "build/reports/checkstyle/main.xml"
    report.parent.mkdir(parents=True)
    report.write_text(sample("checkstyle_main.xml").replace(str(WRITTEN_AT), str(tmp_path)))
    ctx = context_at(tmp_path)
    passed = read_outcome(ctx, failed("BUILD SUCCESSFUL in 3s\n", 0), [tmp_path])
    assert [(*where(f), f.message) for f in passed.findings] == [
        (FindingKind.LINT, CALC, 3, "Unused import - java.util.List. (UnusedImports)")
    ]
    failing = (
        "Execution failed for task ':checkstyleMain'.\n> Checkstyle rule violations were found."
    )
    strict = read_outcome(ctx, failed(failing), [tmp_path])
    assert [where(f) for f in strict.findings] == [
        (FindingKind.LINT, CALC, 3),
        (FindingKind.LINT, CALC, 9),
    ]


def test_unexplained_failure_is_an_error_saying_what_went_wrong(tmp_path: Path) -> None:
    outcome = read_outcome(
        context_at(tmp_path), failed(sample("offline_missing_dependency.log")), [tmp_path]
    )
    [finding] = outcome.findings
    assert finding.kind is FindingKind.ERROR
    assert finding.message == (
        "dependencies are missing from the local cache; "
        "gradle failed: Execution failed for task ':compileJava'."
    )
    assert "No cached version of com.google.guava:guava:33.0.0-jre" in (finding.context or "")
    assert outcome.tests is None  # no test ran: unknown, not zero


def test_a_clean_build_without_tests_counts_zero(tmp_path: Path) -> None:
    outcome = read_outcome(context_at(tmp_path), failed("BUILD SUCCESSFUL\n", 0), [tmp_path])
    assert outcome.findings == []
    assert outcome.tests is not None and counts_json(outcome.tests) == {
        "run": 0,
        "failed": 0,
        "skipped": 0,
    }


# --- real runs: the tool is missing -------------------------------------------------------


def test_missing_gradle_is_an_error_finding(make_repo: MakeRepo, cache_dir: Path) -> None:
    repo = make_repo({"build.gradle": BUILD_GRADLE, CALC: ""})
    runner = LocalRunner(cache_dir, base_env={**os.environ, "PATH": "/nonexistent"})
    report = verify(repo, runner, ONLY_GRADLE)
    [result] = report.results
    [finding] = result.findings
    assert (result.name, finding.kind) == ("gradle", FindingKind.ERROR)
    assert "`gradle` is not installed" in finding.message
    assert not report.ok


def test_cli_reports_missing_gradle_as_a_failure(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo({"settings.gradle.kts": "", "build.gradle.kts": BUILD_GRADLE})
    env = {**os.environ, "PATH": "/nonexistent"}
    corral = str(Path(sys.executable).with_name("corral"))
    proc = subprocess.run(
        [corral, "verify", str(repo), "--json", "--sandbox", "local", "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] is False
    [gradle] = out["verifiers"]
    assert gradle["name"] == "gradle" and gradle["ok"] is False
    [finding] = gradle["findings"]
    assert finding["kind"] == "error" and finding["file"] is None
    assert "`gradle` is not installed" in finding["message"]
    assert "gradle" in out["message"]
