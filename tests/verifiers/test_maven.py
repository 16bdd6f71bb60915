"""The Maven verifier: its parsers on recorded real output, then real `mvn` on the sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from verifier_helpers import only

from corral.sandbox.local import LocalRunner
from corral.testing.repos import MakeRepo, git, write_files
from corral.testing.samples import maven as sample
from corral.verifiers import Finding, FindingKind, VerifyReport, verify
from corral.verifiers.base import ProjectContext, counts_json
from corral.verifiers.junit import failure_finding, parse_junit_xml, read_checkstyle_reports
from corral.verifiers.maven import (
    MavenBuild,
    error_lines,
    explain_failure,
    parse_compile_errors,
    parse_format_output,
)

DATA = Path(__file__).parent / "data" / "maven"
# The recorded output was produced by the sample's variants in /tmp/mvnrec/<variant>.
RECORDED = Path("/tmp/mvnrec")
ONLY_MAVEN = only("maven")
CALC = sample.MAIN
CALC_TEST = sample.TEST
CLI_VERIFY = [str(Path(sys.executable).with_name("corral")), "verify"]


def recorded(name: str) -> str:
    return (DATA / name).read_text()


def context_at(root: Path) -> ProjectContext:
    return ProjectContext(root, root, LocalRunner(Path("/nonexistent")))


def where(f: Finding) -> tuple[FindingKind, str | None, int | None]:
    return f.kind, f.file, f.line


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- parsers, on real output ------------------------------------------------------------


def test_javac_error_is_read_once_with_its_symbol_details() -> None:
    ctx = context_at(RECORDED / "compile_error")
    [finding] = parse_compile_errors(recorded("compile_error.log"), ctx)
    assert where(finding) == (FindingKind.COMPILE, CALC, 5)
    assert finding.message == "cannot find symbol"
    assert finding.context == "symbol:   variable c\nlocation: class com.example.calc.Calculator"


def test_checkstyle_report_gives_rule_file_and_line() -> None:
    ctx = context_at(RECORDED / "lint_violation")
    [finding] = read_checkstyle_reports(ctx, [DATA / "checkstyle-result.xml"])
    assert where(finding) == (FindingKind.LINT, CALC, 3)
    assert finding.message == "Unused import - java.util.List. (UnusedImports)"


def test_surefire_report_counts_and_points_into_the_test_source(tmp_path: Path) -> None:
    write_files(tmp_path, {CALC: "", CALC_TEST: ""})
    report = parse_junit_xml(recorded("TEST-failing.xml"))
    assert counts_json(report.counts) == {"run": 2, "failed": 1, "skipped": 0}
    [failure] = report.failures
    finding = failure_finding(context_at(tmp_path), tmp_path, failure)
    assert where(finding) == (FindingKind.TEST, CALC_TEST, 17)
    assert finding.test_id == "com.example.calc.CalculatorTest.multipliesTwoNumbers"
    assert finding.message == "2 * 3 ==> expected: <7> but was: <6>"


def test_testng_report_with_no_test_frame_and_run_specific_message() -> None:
    """TestNG via Surefire (recorded at /tmp/hard/mvn-testng, its test source in data/maven/testng):
    a data-provider case fails an assertion; an expectedExceptions test throws nothing, so no
    frame names the test, and TestNG's message carries the instance's identity hash."""
    module = DATA / "testng"
    report = parse_junit_xml(recorded("TEST-testng.xml"))
    assert counts_json(report.counts) == {"run": 4, "failed": 2, "skipped": 0}
    findings = {f.test_id: failure_finding(context_at(module), module, f) for f in report.failures}
    source = "src/test/java/org/shop/DiscountTest.java"
    case = findings["org.shop.DiscountTest.applies[999, 50, 499](2)"]
    assert (*where(case), case.message) == (
        FindingKind.TEST,
        source,
        16,
        "expected [499] but found [500]",
    )
    # The line declaring the test method, and a message the same on every run.
    silent = findings["org.shop.DiscountTest.rejectsNegative"]
    assert (*where(silent), silent.message) == (
        FindingKind.TEST,
        source,
        20,
        "TestException: Method DiscountTest.rejectsNegative() should have thrown an exception "
        "of type class java.lang.IllegalArgumentException",
    )


def test_surefire_errors_skips_and_nested_classes(tmp_path: Path) -> None:
    # dividesByZero threw inside Calculator.java:10; the finding must point at the test's call.
    write_files(tmp_path, {CALC: "", CALC_TEST: ""})
    ctx = context_at(tmp_path)
    report = parse_junit_xml(recorded("TEST-mixed.xml"))
    assert counts_json(report.counts) == {"run": 3, "failed": 2, "skipped": 1}
    findings = {f.test_id: failure_finding(ctx, tmp_path, f) for f in report.failures}
    error = findings["com.example.calc.CalculatorTest.dividesByZero"]
    assert where(error) == (FindingKind.TEST, CALC_TEST, 19)
    assert error.message == "IllegalStateException: cannot divide 1 by zero"
    nested = findings["com.example.calc.CalculatorTest$Negative.addsNegatives"]
    assert where(nested) == (FindingKind.TEST, CALC_TEST, 32)
    assert counts_json(parse_junit_xml(recorded("TEST-empty.xml")).counts) == {
        "run": 0,
        "failed": 0,
        "skipped": 0,
    }


def test_spotless_listing_gives_first_changed_line_and_the_expected_form() -> None:
    root = RECORDED / "spotless"
    build = MavenBuild(modules={"calc": root})
    [finding] = parse_format_output(recorded("spotless_check.log"), build, context_at(root))
    assert where(finding) == (FindingKind.FORMAT, CALC, 9)
    assert "Spotless" in finding.message
    assert finding.context == "-\\treturn·a·*·b;···\n+····return·a·*·b;"


def test_fmt_plugin_names_each_non_complying_file() -> None:
    root = RECORDED / "fmt"
    build = MavenBuild(modules={"calc": root})
    findings = parse_format_output(recorded("fmt_check.log"), build, context_at(root))
    assert [where(f) for f in findings] == [
        (FindingKind.FORMAT, CALC, None),
        (FindingKind.FORMAT, CALC_TEST, None),
    ]


def test_error_lines_drop_maven_boilerplate() -> None:
    assert error_lines(recorded("offline_missing_plugin.log")) == [
        "Plugin org.apache.maven.plugins:maven-checkstyle-plugin:3.3.1 or one of its dependencies"
        " could not be resolved: Cannot access central (https://repo.maven.apache.org/maven2) in"
        " offline mode and the artifact org.apache.maven.plugins:maven-checkstyle-plugin:jar:3.3.1"
        " has not been downloaded from it before."
    ]


def test_a_failed_goal_is_explained_once_with_its_cause() -> None:
    """maven-compiler-plugin 3.1 (the default) refusing `maven.compiler.release` 17: Maven
    says `Compilation failure: Compilation failure:` with the causes above and below."""
    message, context = explain_failure(recorded("compiler_source_option.log"), 1)
    assert message == (
        "mvn failed in org.apache.maven.plugins:maven-compiler-plugin:3.1:compile: "
        "Compilation failure: Source option 5 is no longer supported. Use 7 or later."
    )
    assert context == "Target option 5 is no longer supported. Use 7 or later."


def test_a_test_jvm_that_exits_is_explained_without_the_resume_hint() -> None:
    """A test calling System.exit in module acme-core of /tmp/hard/mvn multi (Surefire 2.12)."""
    message, context = explain_failure(recorded("forked_vm_exit.log"), 1)
    assert message == (
        "mvn failed in org.apache.maven.plugins:maven-surefire-plugin:2.12.4:test: Execution "
        "default-test of goal org.apache.maven.plugins:maven-surefire-plugin:2.12.4:test failed: "
        "The forked VM terminated without saying properly goodbye. VM crash or System.exit called ?"
    )
    assert context is None


@pytest.mark.parametrize("log", ["clean.log", "checkstyle_violation.log", "failing_test.log"])
def test_logs_without_javac_errors_give_no_compile_findings(log: str) -> None:
    # Checkstyle's console lines look like javac's: they must not pass for compile errors.
    assert parse_compile_errors(recorded(log), context_at(RECORDED / "clean")) == []


# --- real mvn on the sample ------------------------------------------------------------


def make_repo_at(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    write_files(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def multi_module() -> dict[str, str]:
    """An aggregator whose one module is the sample with its failing test; `.corral.yaml`
    passes Maven an argument that runs only that test."""
    aggregator = (
        sample.clean()["pom.xml"]
        .split("<properties>")[0]
        .replace("<artifactId>calc</artifactId>", "<artifactId>parent</artifactId>")
    )
    aggregator += "  <packaging>pom</packaging>\n  <modules><module>calc</module></modules>\n"
    aggregator += "</project>\n"
    module = {f"calc/{p}": c for p, c in sample.failing_test().items()}
    return {"pom.xml": aggregator, **module, **ONLY_FAILING}


ONLY_FAILING = {
    ".corral.yaml": "verifiers:\n  args:\n"
    "    maven: ['-Dtest=CalculatorTest#multipliesTwoNumbers']\n"
}


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("maven")
    variants = {
        "clean": sample.clean(),
        "compile_error": sample.compile_error(),
        "failing_test": sample.failing_test(),
        "lint_violation": sample.lint_violation(),
        "multi_module": multi_module(),
    }
    return {name: make_repo_at(base / name, files) for name, files in variants.items()}


@pytest.fixture(scope="module")
def reports(repos: dict[str, Path], cache_dir: Path) -> dict[str, VerifyReport]:
    """Through the library; lint_violation goes through the CLI instead (see `cli_lint`)."""
    runner = LocalRunner(cache_dir)
    api = {name: repo for name, repo in repos.items() if name != "lint_violation"}
    return {name: verify(repo, runner, ONLY_MAVEN) for name, repo in api.items()}


def only_result(report: VerifyReport) -> tuple[list[Finding], dict[str, int] | None]:
    [result] = report.results
    assert result.name == "maven"
    return result.findings, None if result.tests is None else counts_json(result.tests)


def test_clean_project_passes_in_one_line(reports: dict[str, VerifyReport]) -> None:
    findings, tests = only_result(reports["clean"])
    assert findings == []
    assert tests == {"run": 2, "failed": 0, "skipped": 0}
    assert reports["clean"].message == "All checks passed (maven; 2 tests passed)."


def test_compile_error_names_file_line_and_symbol(reports: dict[str, VerifyReport]) -> None:
    findings, tests = only_result(reports["compile_error"])
    [finding] = findings
    assert where(finding) == (FindingKind.COMPILE, CALC, 5)
    assert finding.message == "cannot find symbol"
    assert "variable c" in (finding.context or "")
    assert tests is None  # the tests never ran: unknown, not zero
    assert not reports["compile_error"].ok


def test_failing_test_names_test_assertion_and_test_line(reports: dict[str, VerifyReport]) -> None:
    findings, tests = only_result(reports["failing_test"])
    [finding] = findings
    line = line_of(sample.failing_test()[CALC_TEST], "assertEquals(7")
    assert where(finding) == (FindingKind.TEST, CALC_TEST, line)
    assert finding.test_id == "com.example.calc.CalculatorTest.multipliesTwoNumbers"
    assert "expected: <7> but was: <6>" in finding.message
    assert tests == {"run": 2, "failed": 1, "skipped": 0}
    assert f"{CALC_TEST}:{line}" in reports["failing_test"].message


def test_module_findings_are_relative_to_the_repository_and_extra_args_apply(
    reports: dict[str, VerifyReport],
) -> None:
    [result] = reports["multi_module"].results  # calc/pom.xml is built by the root pom
    assert result.project == "."
    [finding] = result.findings
    line = line_of(sample.failing_test()[CALC_TEST], "assertEquals(7")
    assert where(finding) == (FindingKind.TEST, f"calc/{CALC_TEST}", line)
    # `-Dtest=CalculatorTest#multipliesTwoNumbers` from .corral.yaml: one test of two ran.
    assert result.tests is not None
    assert counts_json(result.tests) == {"run": 1, "failed": 1, "skipped": 0}


@pytest.fixture(scope="module")
def cli_lint(repos: dict[str, Path], cache_dir: Path) -> subprocess.CompletedProcess[str]:
    argv = [*CLI_VERIFY, str(repos["lint_violation"]), "--json", "--sandbox", "local"]
    return subprocess.run(
        [*argv, "--cache-dir", str(cache_dir)], capture_output=True, text=True, check=False
    )


def test_checkstyle_violation_through_the_cli(
    cli_lint: subprocess.CompletedProcess[str],
) -> None:
    assert cli_lint.returncode == 1, cli_lint.stderr
    out = json.loads(cli_lint.stdout)
    assert out["ok"] is False
    [maven] = out["verifiers"]
    assert (maven["name"], maven["ok"]) == ("maven", False)
    assert isinstance(maven["duration_s"], float)
    [finding] = maven["findings"]
    line = line_of(sample.lint_violation()[CALC], "import java.util.List;")
    assert (finding["file"], finding["line"], finding["kind"]) == (CALC, line, "lint")
    assert "Unused import - java.util.List" in finding["message"]
    assert out["message"] == (
        "Verification failed: maven (1 problem)\n"
        f"- {CALC}:{line}: [lint] Unused import - java.util.List. (UnusedImports)"
    )


def test_missing_mvn_is_an_error_finding(make_repo: MakeRepo, cache_dir: Path) -> None:
    repo = make_repo(sample.clean())
    runner = LocalRunner(cache_dir, base_env={**os.environ, "PATH": "/nonexistent"})
    report = verify(repo, runner, ONLY_MAVEN)
    findings, _ = only_result(report)
    [finding] = findings
    assert finding.kind is FindingKind.ERROR
    assert "`mvn` is not installed" in finding.message
    assert not report.ok


def test_unprepared_offline_check_fails_closed(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo(sample.clean())
    empty_cache = tmp_path / "empty-cache"
    report = verify(repo, LocalRunner(empty_cache), ONLY_MAVEN, prepare=False)
    findings, tests = only_result(report)
    [finding] = findings
    assert finding.kind is FindingKind.ERROR
    assert finding.message.startswith("dependencies are missing from the local cache; mvn failed")
    assert "offline mode" in finding.message
    assert tests is None
    assert not report.ok


def test_the_wrappers_maven_fetches_through_the_sandboxs_proxy(
    tmp_path: Path, cache_dir: Path
) -> None:
    """mvnw's Maven 3.9 in the sandbox: its default transport ignored the proxy properties
    (the sandbox's only way out) and every plugin 'could not be resolved'."""
    from corral.sandbox import BwrapRunner

    wrapper = {
        ".mvn/wrapper/maven-wrapper.properties": "distributionUrl=https://repo.maven.apache.org"
        "/maven2/org/apache/maven/apache-maven/3.9.11/apache-maven-3.9.11-bin.zip\n"
    }
    repo = make_repo_at(tmp_path / "wrapped", {**sample.failing_test(), **wrapper})
    runner = BwrapRunner(repo, cache_dir, home_root=tmp_path / "homes")
    report = verify(repo, runner, ONLY_MAVEN)
    [result] = report.results
    assert result.notes == [], result.notes  # the wrapper's Maven was had, and used
    assert [f.kind.value for f in result.findings] == ["test"], report.message


def test_a_resolution_failure_is_told_by_mavens_error_not_a_warning_before_it() -> None:
    from corral.sandbox.base import CommandResult
    from corral.verifiers.base import VerifierError
    from corral.verifiers.maven import _raise_on_resolution_failure

    output = (
        "[WARNING] Could not transfer metadata a:parent:1-SNAPSHOT/maven-metadata.xml from/to "
        "snapshots (https://snapshots.example/): status: 403 Forbidden\n"
        "[ERROR] Non-resolvable parent POM for a:b:1: Could not find artifact a:parent:pom:1\n"
    )
    with pytest.raises(VerifierError) as raised:
        _raise_on_resolution_failure(CommandResult(("mvn",), 1, output, "", 1.0))
    assert str(raised.value) == (
        "mvn could not fetch dependencies: Non-resolvable parent POM for a:b:1: "
        "Could not find artifact a:parent:pom:1"
    )
