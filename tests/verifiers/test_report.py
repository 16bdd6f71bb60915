from __future__ import annotations

from pathlib import Path

from corral.sandbox.local import LocalRunner
from corral.verifiers.base import (
    RAN,
    Finding,
    FindingKind,
    ProjectContext,
    StageReport,
    StageStatus,
    TestCounts,
    VerifierResult,
)
from corral.verifiers.baseline import apply_baseline
from corral.verifiers.junit import jvm_test_stage
from corral.verifiers.maven import environment_hint
from corral.verifiers.report import format_message


def _result(findings: list[Finding], name: str = "go", project: str = ".") -> VerifierResult:
    return VerifierResult(name, project, not findings, 1.0, findings)


def test_success_is_one_line_with_test_count() -> None:
    ok = VerifierResult("go", ".", True, 1.0, [], TestCounts(run=12))
    message = format_message([ok, _result([], "cargo", "tools")])
    assert message == "All checks passed (go, cargo in tools; 12 tests passed)."


def test_failure_orders_by_relevance_and_caps_with_more() -> None:
    findings = [
        Finding(FindingKind.FORMAT, f"f{i}.go", i, "not gofmt-formatted") for i in range(200)
    ]
    findings.append(Finding(FindingKind.COMPILE, "main.go", 3, "undefined: foo"))
    message = format_message([_result(findings)], max_chars=500)
    assert len(message) <= 500
    lines = message.splitlines()
    assert lines[0] == "Verification failed: go (201 problems)"
    assert lines[1] == "- main.go:3: [compile] undefined: foo"
    assert lines[-1].startswith("... and ") and lines[-1].endswith(" more")


def test_baseline_excuses_same_finding_on_another_line_but_not_errors() -> None:
    before = [
        _result(
            [
                Finding(FindingKind.TEST, "a_test.go", 10, "want 2, got 3", test_id="TestA"),
                Finding(FindingKind.ERROR, None, None, "go is not installed"),
            ]
        )
    ]
    after = [
        _result(
            [
                Finding(FindingKind.TEST, "a_test.go", 14, "want 2,  got 3", test_id="TestA"),
                Finding(FindingKind.TEST, "b_test.go", 5, "boom", test_id="TestB"),
                Finding(FindingKind.ERROR, None, None, "go is not installed"),
            ]
        )
    ]
    [marked] = apply_baseline(after, before)
    assert [f.new for f in marked.findings] == [False, True, True]
    assert not marked.ok
    [only_old] = apply_baseline([_result(after[0].findings[:1])], before)
    assert only_old.ok


def test_nothing_found_says_so(tmp_path: Path) -> None:
    assert format_message([]).startswith("Nothing to verify")


def _staged(
    findings: list[Finding], test: StageReport, tests: TestCounts | None = None
) -> VerifierResult:
    return VerifierResult(
        "cargo", ".", not findings, 1.0, findings, tests, stages={"build": RAN, "test": test}
    )


def test_an_excused_finding_never_hides_a_stage_that_stopped() -> None:
    """The bench that needs nightly fails the build at both commits; the tests never ran."""
    broken_bench = Finding(FindingKind.COMPILE, "benches/b.rs", 1, "feature is unstable")
    stopped = StageReport(StageStatus.NOT_RUN, "the test build failed")
    [result] = apply_baseline(
        [_staged([broken_bench], stopped)], [_staged([broken_bench], stopped)]
    )
    assert not result.ok
    assert [f.new for f in result.findings] == [False, True]
    gap = result.findings[1]
    assert gap.kind == FindingKind.ERROR
    assert gap.message == (
        "cargo test stage did not run: the test build failed (at the base commit too); "
        "nothing can pass until it runs to the end"
    )
    assert format_message([result]).splitlines()[1].startswith("- cargo: [error] cargo test stage")


def test_a_stage_that_stopped_only_at_the_change_fails_even_when_the_base_ran_it() -> None:
    stopped = StageReport(StageStatus.STOPPED, "pytest exited 2 (interrupted)")
    [result] = apply_baseline([_staged([], stopped)], [_staged([], RAN, TestCounts(run=3))])
    assert not result.ok
    [gap] = result.findings
    assert "stopped early: pytest exited 2" in gap.message and "base" not in gap.message


def test_new_findings_speak_for_themselves_without_a_stage_error() -> None:
    failing = Finding(FindingKind.COMPILE, "src/lib.rs", 3, "mismatched types")
    stopped = StageReport(StageStatus.NOT_RUN, "the test build failed")
    [result] = apply_baseline([_staged([failing], stopped)], [_staged([], RAN)])
    assert result.findings == [failing]


def test_a_pass_with_zero_tests_says_so() -> None:
    zero = VerifierResult("python", ".", True, 1.0, [], TestCounts(), stages={"test": RAN})
    assert format_message([zero]) == "All checks passed (python; no tests ran)."
    unknown = VerifierResult("custom", ".", True, 1.0, [])
    assert format_message([unknown]) == "All checks passed (custom; no test results reported)."


def test_only_errors_say_could_not_verify_not_that_the_change_failed() -> None:
    error = Finding(FindingKind.ERROR, None, None, "`mvn` is not installed where verifiers run")
    message = format_message([_result([error], "maven")])
    assert message.splitlines()[0].startswith("Could not verify: maven (1 problem). No fault")
    compile_error = Finding(FindingKind.COMPILE, "A.java", 3, "cannot find symbol")
    mixed = format_message([_result([error, compile_error], "maven")])
    assert mixed.startswith("Verification failed: maven (2 problems)")


def test_an_enforcer_rule_about_the_machine_gets_a_hint() -> None:
    output = (
        "[WARNING] Rule 0: org.apache.maven.enforcer.rules.version.RequireMavenVersion failed "
        "with message:\n[WARNING] Detected Maven Version: 3.8.7 is not in the allowed range "
        "[3.9.6,).\n[ERROR] Failed to execute goal org.apache.maven.plugins:"
        "maven-enforcer-plugin:3.5.0:enforce (enforce-maven) on project demo: Rules violated"
    )
    assert (environment_hint(output) or "").startswith("hint: the project's enforcer rule")
    assert environment_hint("[ERROR] COMPILATION ERROR") is None


def test_jvm_modules_whose_tests_never_reported_after_a_failed_build(tmp_path: Path) -> None:
    """Maven stops at the first module that does not compile: the later modules' tests never
    ran, whatever finding (excused or not) explains the failure."""
    for module in ("core", "app", "docs"):
        (tmp_path / module / "src" / ("test" if module != "docs" else "main")).mkdir(parents=True)
    ctx = ProjectContext(tmp_path, tmp_path, LocalRunner(tmp_path))
    modules = [(tmp_path / "core", True), (tmp_path / "app", False), (tmp_path / "docs", False)]
    assert jvm_test_stage(True, modules, ctx) == RAN
    stopped = jvm_test_stage(False, modules, ctx)
    assert stopped == StageReport(
        StageStatus.NOT_RUN, "the build failed before the tests of app ran"
    )
    assert jvm_test_stage(False, modules[:1], ctx) == RAN
