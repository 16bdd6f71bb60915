from __future__ import annotations

from pathlib import Path

from corral.verifiers.base import Finding, FindingKind, TestCounts, VerifierResult
from corral.verifiers.baseline import apply_baseline
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
