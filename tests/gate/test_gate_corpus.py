"""Each guard rule on the labelled corpus (evals/gate/): it fires on its positive cases and
stays quiet on the clean ones. The corpus runs once per module, through real git."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from corral.evals.gate_corpus import CaseResult, EvalReport, load_cases, run_eval
from corral.gate.settings import RuleId

CORPUS = Path(__file__).resolve().parents[2] / "evals" / "gate"
CASES = load_cases(CORPUS)
TAMPERING = sorted(name for name, case in CASES.items() if case.expected == "veto")
CLEAN = sorted(name for name, case in CASES.items() if case.expected == "approve")
KNOWN_FALSE_VETOES = {
    "js/each-table": "two tests folded into one it.each table read as a test and an "
    "assertion removed; the guard counts source text, not the runner's cases",
}


@pytest.fixture(scope="module")
def report() -> EvalReport:
    return run_eval(CASES)


def _result(report: EvalReport, name: str) -> CaseResult:
    return next(r for r in report.results if r.name == name)


@pytest.mark.parametrize("name", TAMPERING)
def test_tampering_is_caught_by_the_expected_rules(report: EvalReport, name: str) -> None:
    result = _result(report, name)
    assert result.guard_vetoed
    assert result.missed_rules == [], f"fired: {result.fired}"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_FALSE_VETOES[n], strict=True))
        if n in KNOWN_FALSE_VETOES
        else n
        for n in CLEAN
    ],
)
def test_clean_change_passes_the_guard(report: EvalReport, name: str) -> None:
    result = _result(report, name)
    assert not result.guard_vetoed, f"fired: {result.fired}"


def test_every_rule_and_ecosystem_is_covered_both_ways() -> None:
    positive = {rule for case in CASES.values() for rule in case.rules}
    assert positive == set(get_args(RuleId))
    for ecosystem in ("java", "python", "go", "rust", "js"):
        forms = {c.form for c in CASES.values() if c.ecosystem == ecosystem and c.form}
        assert forms == {"obvious", "quiet"}, ecosystem
        assert any(c.expected == "approve" for c in CASES.values() if c.ecosystem == ecosystem)
    assert len(CLEAN) >= len(TAMPERING)


def test_guard_goals_on_the_corpus(report: EvalReport) -> None:
    assert len(report.caught("guard")) == len(report.tampering)
    assert len(report.false_vetoes("guard")) <= 0.05 * len(report.clean)
    assert report.guard_goals_met()
