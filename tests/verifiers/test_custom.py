"""Custom verifiers (`.corral.yaml`'s command + regex) report the stage they check."""

from __future__ import annotations

from corral.config import CustomVerifierSpec, VerifierSettings
from corral.sandbox.base import CommandRunner
from corral.testing.repos import MakeRepo
from corral.verifiers.base import StageStatus
from corral.verifiers.registry import BUILTIN
from corral.verifiers.run import verify

_PATTERN = r"^(?P<file>[^:]+):(?P<line>\d+): (?P<message>.*)$"


def _settings(script: str) -> VerifierSettings:
    return VerifierSettings(
        disable=sorted(BUILTIN),
        custom=[
            CustomVerifierSpec(
                name="checker",
                activate="*.txt",
                command=["sh", "-c", script],
                pattern=_PATTERN,
                kind="test",
            )
        ],
    )


def test_a_custom_verifier_that_ran_reports_its_stage(
    make_repo: MakeRepo, local_runner: CommandRunner
) -> None:
    repo = make_repo({"a.txt": "fine\n"})
    report = verify(repo, local_runner, _settings("echo 'a.txt:1: broken'; exit 1"))
    [result] = report.results
    assert result.stages["test"].status == StageStatus.RAN
    assert [(f.file, f.line) for f in result.findings] == [("a.txt", 1)]


def test_a_failure_it_cannot_place_is_a_stopped_stage_the_baseline_never_excuses(
    make_repo: MakeRepo, local_runner: CommandRunner
) -> None:
    """The same unplaceable failure at the base: the gate must still fail (its tests may
    not have run at all), not excuse it as pre-existing."""
    repo = make_repo({"a.txt": "fine\n"})
    settings = _settings("echo 'Segmentation fault'; exit 139")
    base = verify(repo, local_runner, settings)
    report = verify(repo, local_runner, settings, baseline=base.results)
    [result] = report.results
    assert result.stages["test"].status == StageStatus.STOPPED
    assert not report.ok
    assert any(f.new for f in result.findings)
