"""The Go verifier: its parsers on recorded real output, then real `go` on the sample module."""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from verifier_helpers import RecordingRunner, assert_same_report, only, verify_json_via_cli

from corral.sandbox.base import CommandResult
from corral.sandbox.local import LocalRunner
from corral.testing.repos import MakeRepo, git, write_files
from corral.testing.samples import go as sample
from corral.verifiers import Finding, FindingKind, VerifyReport, verify, verify_path
from corral.verifiers import base as verifiers_base
from corral.verifiers.base import (
    ProjectContext,
    StageStatus,
    VerifierResult,
    answers_dir,
    counts_json,
)
from corral.verifiers.discovery import find_projects
from corral.verifiers.go import (
    GoVerifier,
    parse_build_events,
    parse_gofmt_diff,
    parse_packages,
    parse_test_events,
    parse_vet_json,
)

DATA = Path(__file__).parent / "data" / "go"
# Where the recorded output was produced (see data/go/README.md).
RECORDED_ROOT = Path("/tmp/gx/repo")
ONLY_GO = only("go")


def recorded(name: str) -> str:
    return (DATA / name).read_text()


def rel(path: str) -> str:
    ctx = ProjectContext(RECORDED_ROOT, RECORDED_ROOT, LocalRunner(Path("/nonexistent")))
    return ctx.rel(path)


def where(f: Finding) -> tuple[str | None, int | None]:
    return f.file, f.line


# --- parsers, on real output ------------------------------------------------------------


def test_test_events_name_each_failing_leaf_test_at_its_line_in_the_test_source() -> None:
    dirs = {p.import_path: p.dir for p in parse_packages(recorded("list.json"))}
    report = parse_test_events(recorded("test_events.jsonl"), dirs, rel)
    by_id = {f.test_id: f for f in report.findings}
    assert set(by_id) == {"example.com/sample/calc.TestTable/2+2", "example.com/sample/boom.TestAt"}
    table = by_id["example.com/sample/calc.TestTable/2+2"]
    assert (table.kind, *where(table), table.message) == (
        FindingKind.TEST,
        "calc/calc_test.go",
        24,
        "got 4, want 5",
    )
    # A panic: the message is the panic, the place the deepest frame in the test file.
    panic = by_id["example.com/sample/boom.TestAt"]
    assert where(panic) == ("boom/boom_test.go", 6)
    assert panic.message.startswith("panic: runtime error: index out of range [5]")
    # Leaves only: TestAdd, TestTable/1+1, TestTable/2+2, TestAt ran; TestSkipped skipped.
    assert counts_json(report.counts) == {"run": 4, "failed": 2, "skipped": 1}


def test_build_events_give_every_compile_error_with_its_place() -> None:
    findings = parse_build_events(recorded("build_fail.jsonl"), rel)
    assert [(f.kind, *where(f), f.message) for f in findings] == [
        (FindingKind.COMPILE, "boom/boom.go", 6, "declared and not used: unused"),
        (FindingKind.COMPILE, "boom/boom.go", 7, "undefined: missing"),
    ]


def test_a_test_file_that_does_not_compile_is_a_compile_finding() -> None:
    text = recorded("test_build_fail.jsonl")
    findings = parse_build_events(text, rel)
    assert [(*where(f), f.kind) for f in findings] == [("calc/calc_test.go", 11, "compile")]
    assert 'cannot use "3" (untyped string constant) as int value' in findings[0].message
    # The package whose build failed is not also reported as a failing test package.
    dirs = {p.import_path: p.dir for p in parse_packages(recorded("list.json"))}
    report = parse_test_events(text, dirs, rel)
    assert {f.test_id for f in report.findings} == {"example.com/sample/boom.TestAt"}


def test_vet_json_findings_name_file_line_and_analyzer() -> None:
    findings = parse_vet_json(recorded("vet.json"), rel)
    assert [(f.kind, *where(f)) for f in findings] == [(FindingKind.LINT, "cmd/tool/main.go", 10)]
    assert findings[0].message == (
        'fmt.Printf format %d has arg "sum" of wrong type string (printf)'
    )


def test_gofmt_diff_points_at_the_first_changed_line_of_each_file() -> None:
    findings = parse_gofmt_diff(recorded("gofmt.diff"), rel)
    assert [(f.kind, *where(f)) for f in findings] == [
        (FindingKind.FORMAT, "boom/fmt.go", 2),
        (FindingKind.FORMAT, "calc/calc.go", 6),
    ]
    assert findings[1].context == "-\treturn a+b\n+\treturn a + b"


def test_packages_list_every_go_file_including_tests() -> None:
    packages = parse_packages(recorded("list.json"))
    boom = next(p for p in packages if p.import_path == "example.com/sample/boom")
    assert [Path(f).name for f in boom.files] == ["boom.go", "fmt.go", "boom_test.go"]
    assert boom.dir == RECORDED_ROOT / "boom"


def test_failures_that_print_no_position_point_at_the_test_function() -> None:
    """An example whose output differs, and a test that ends the binary (log.Fatal).

    Recorded at /tmp/hard/go1 (see data/go/README.md); the test files are in data/go/unlocated.
    """
    module = DATA / "unlocated"
    dirs = {
        "example.com/shop/internal/price": module / "internal/price",
        "example.com/shop/internal/cart": module / "internal/cart",
    }
    report = parse_test_events(recorded("unlocated.jsonl"), dirs, lambda p: Path(p).name)
    by_id = {f.test_id: f for f in report.findings}
    example = by_id["example.com/shop/internal/price.ExampleParse"]
    assert (*where(example), example.message) == (
        "example_test.go",
        9,
        "output differs from the example's // Output: comment",
    )
    assert example.context == "got:\n125\nwant:\n126"
    exited = by_id["example.com/shop/internal/cart.TestExits"]
    assert (*where(exited), exited.message) == (
        "exit_test.go",
        8,
        "the test binary exited during this test: config file missing",
    )
    # The helper's t.Fatal is reported at the caller's line (t.Helper), no lookup needed.
    subtest = by_id["example.com/shop/internal/price.TestParse/spaces"]
    assert (*where(subtest), subtest.message) == (
        "price_test.go",
        33,
        "got -15695 cents, want 305",
    )
    assert set(by_id) == {example.test_id, exited.test_id, subtest.test_id}
    # The test that never finished counts as run and failed.
    assert counts_json(report.counts) == {"run": 7, "failed": 3, "skipped": 1}


def test_a_chatty_test_is_reported_at_its_failure_not_its_first_log_line() -> None:
    """200 t.Logf lines before t.Fatal; a t.Log before a panic (recorded at /tmp/hard/poly)."""
    root = Path("/tmp/hard/poly/service")
    report = parse_test_events(recorded("chatty.jsonl"), {"example.com/service": root}, rel)
    by_id = {f.test_id: (f.file, f.line, f.message) for f in report.findings}
    assert by_id == {
        "example.com/service.TestDouble": (str(root / "lib_test.go"), 10, "bad"),
        "example.com/service.TestLogsThenPanics": (
            str(root / "panic_test.go"),
            8,
            "panic: assignment to entry in nil map [recovered, repanicked]",
        ),
    }


def test_a_panic_in_a_folder_with_spaces_points_at_the_test_line() -> None:
    root = Path("/tmp/hard/sp ace")  # where it was recorded
    ctx = ProjectContext(root, root, LocalRunner(Path("/nonexistent")))
    dirs = {"example.com/shop/internal/cart": root / "internal/cart"}
    report = parse_test_events(recorded("panic_in_spaced_folder.jsonl"), dirs, ctx.rel)
    failure = next(f for f in report.findings if f.test_id and f.test_id.endswith("TestPanics"))
    assert where(failure) == ("internal/cart/panic_test.go", 11)
    assert failure.message.startswith("panic: runtime error: invalid memory address")


# --- the real toolchain on the sample module ----------------------------------------------


def make_module_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    write_files(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("go")
    badly_formatted = {
        **sample.clean(),
        sample.CALC_PATH: sample.clean()[sample.CALC_PATH].replace("total := 0", "total:=0"),
    }
    variants = {
        "clean": sample.clean(),
        "compile_error": sample.compile_error(),
        "failing_test": sample.failing_test(),
        "lint_violation": sample.lint_violation(),
        "format": badly_formatted,
    }
    return {name: make_module_repo(base / name, files) for name, files in variants.items()}


@pytest.fixture(scope="module")
def reports(repos: dict[str, Path], cache_dir: Path) -> dict[str, VerifyReport]:
    runner = LocalRunner(cache_dir)
    return {name: verify(repo, runner, ONLY_GO) for name, repo in repos.items()}


def only_result(report: VerifyReport) -> tuple[list[Finding], dict[str, int] | None]:
    """The findings and test counts of the one Go project verified."""
    [result] = report.results
    assert result.name == "go"
    return result.findings, None if result.tests is None else counts_json(result.tests)


def test_clean_module_passes_in_one_line(reports: dict[str, VerifyReport]) -> None:
    report = reports["clean"]
    findings, tests = only_result(report)
    assert report.ok, report.message
    assert findings == []
    assert tests == {"run": 2, "failed": 0, "skipped": 0}
    assert report.message == "All checks passed (go; 2 tests passed)."


def test_compile_error_names_file_line_and_cause(reports: dict[str, VerifyReport]) -> None:
    findings, _ = only_result(reports["compile_error"])
    assert [(f.kind, *where(f)) for f in findings] == [(FindingKind.COMPILE, "calc/calc.go", 8)]
    assert "mismatched types int and untyped string" in findings[0].message
    assert not reports["compile_error"].ok


def test_failing_test_names_the_test_its_assertion_and_line(
    reports: dict[str, VerifyReport],
) -> None:
    findings, tests = only_result(reports["failing_test"])
    [finding] = findings
    assert (finding.kind, *where(finding)) == (FindingKind.TEST, "calc/calc_test.go", 11)
    assert finding.test_id == "example.com/sample/calc.TestSum"
    assert finding.message == "Sum([1 2 3]) = 5, want 6"
    assert tests == {"run": 2, "failed": 1, "skipped": 0}
    assert "calc/calc_test.go:11" in reports["failing_test"].message


def test_vet_violation_is_a_lint_finding(reports: dict[str, VerifyReport]) -> None:
    findings, _ = only_result(reports["lint_violation"])
    assert [(f.kind, *where(f)) for f in findings] == [(FindingKind.LINT, "cmd/total/main.go", 11)]
    assert "fmt.Printf format %s has arg" in findings[0].message
    assert "wrong type int" in findings[0].message


def test_unformatted_file_is_a_format_finding(reports: dict[str, VerifyReport]) -> None:
    findings, tests = only_result(reports["format"])
    assert [(f.kind, *where(f)) for f in findings] == [(FindingKind.FORMAT, "calc/calc.go", 6)]
    assert "gofmt" in findings[0].message
    assert tests == {"run": 2, "failed": 0, "skipped": 0}


def test_extra_args_reach_go_test(repos: dict[str, Path], cache_dir: Path) -> None:
    settings = ONLY_GO.model_copy(update={"args": {"go": ["-run", "TestDoubled"]}})
    report = verify(repos["failing_test"], LocalRunner(cache_dir), settings, prepare=False)
    assert report.ok, report.message
    assert counts_json(report.results[0].tests) == {"run": 1, "failed": 0, "skipped": 0}


def test_check_does_not_download_what_prepare_did_not(make_repo: MakeRepo, cache_dir: Path) -> None:
    """A module that prepare never fetched: check fails instead of fetching or rewriting go.sum."""
    files = sample.clean()
    files["go.mod"] = files["go.mod"].replace("go-cmp v0.6.0", "go-cmp v0.5.8")
    del files["go.sum"]
    repo = make_repo(files)
    report = verify(repo, LocalRunner(cache_dir), ONLY_GO, prepare=False)
    [finding] = report.results[0].findings
    assert (finding.file, finding.line) == ("calc/calc_test.go", 6)
    assert "missing go.sum entry" in finding.message
    assert not (repo / "go.sum").exists()
    assert not (cache_dir / "go" / "mod" / "github.com" / "google" / "go-cmp@v0.5.8").exists()


def test_missing_go_is_an_error_finding(repos: dict[str, Path], cache_dir: Path) -> None:
    runner = LocalRunner(cache_dir, base_env={**os.environ, "PATH": "/usr/bin:/bin"})
    report = verify(repos["clean"], runner, ONLY_GO)
    [finding] = report.results[0].findings
    assert finding.kind == FindingKind.ERROR
    assert "`go` is not installed" in finding.message
    assert not report.ok


def test_each_go_module_is_its_own_project(tmp_path: Path) -> None:
    write_files(tmp_path, {"go.mod": "module a\n", "tools/go.mod": "module b\n"})
    projects = find_projects(tmp_path, [GoVerifier()])
    assert [p.relative(tmp_path) for p in projects] == [".", "tools"]


def test_cli_json_contract_on_a_failing_test(repos: dict[str, Path], cache_dir: Path) -> None:
    repo = repos["failing_test"]
    proc = verify_json_via_cli(repo, "go", cache_dir)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] is False
    [verifier] = out["verifiers"]
    assert (verifier["name"], verifier["ok"]) == ("go", False)
    assert isinstance(verifier["duration_s"], float)
    [finding] = verifier["findings"]
    assert (finding["file"], finding["line"]) == ("calc/calc_test.go", 11)
    assert "Sum([1 2 3]) = 5, want 6" in finding["message"]
    assert "calc/calc_test.go:11" in out["message"]


def test_module_without_packages_has_nothing_to_fail(make_repo: MakeRepo, cache_dir: Path) -> None:
    repo = make_repo({"go.mod": "module example.com/empty\n\ngo 1.22\n"})
    report = verify(repo, LocalRunner(cache_dir), ONLY_GO)
    assert report.ok, report.message
    assert counts_json(report.results[0].tests) == {"run": 0, "failed": 0, "skipped": 0}


def test_go_work_modules_prepare_and_leave_no_binary_behind(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    """A go.work repo: `api` (one main package) requires the workspace module `lib` at
    v0.0.0, which no proxy serves; building it must not write an `api` binary either."""
    repo = make_repo(
        {
            "go.work": "go 1.22\n\nuse (\n\t./api\n\t./lib\n)\n",
            "lib/go.mod": "module example.com/lib\n\ngo 1.22\n",
            "lib/lib.go": "package lib\n\nfunc Double(n int) int { return n * 2 }\n",
            "api/go.mod": "module example.com/api\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n",
            "api/main.go": (
                'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/lib"\n)\n\n'
                "func main() { fmt.Println(lib.Double(21)) }\n"
            ),
            "api/main_test.go": (
                'package main\n\nimport (\n\t"testing"\n\n\t"example.com/lib"\n)\n\n'
                "func TestDouble(t *testing.T) {\n\tif lib.Double(2) != 5 {\n"
                '\t\tt.Error("Double(2) != 5")\n\t}\n}\n'
            ),
        }
    )
    report = verify(repo, LocalRunner(cache_dir), ONLY_GO)
    by_project = {r.project: r for r in report.results}
    assert by_project["lib"].ok, report.message
    [finding] = by_project["api"].findings
    assert (finding.kind, *where(finding), finding.message) == (
        FindingKind.TEST,
        "api/main_test.go",
        11,
        "Double(2) != 5",
    )
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    assert status == ""


def test_prepare_leaves_a_missing_go_sum_missing(make_repo: MakeRepo, cache_dir: Path) -> None:
    """`go mod download` writes the checksums it fetched: prepare puts go.sum back as it was."""
    files = sample.clean()
    del files["go.sum"]
    repo = make_repo(files)
    report = verify(repo, LocalRunner(cache_dir), ONLY_GO)
    [finding] = report.results[0].findings
    assert (finding.kind, finding.file, finding.line) == (
        FindingKind.COMPILE,
        "calc/calc_test.go",
        6,
    )
    assert "missing go.sum entry" in finding.message
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


# --- the gate never passes tests that did not run ----------------------------------------

_BROKEN_PACKAGE = {
    "legacy/legacy.go": "package legacy\n\nfunc Old() int { return undefinedThing }\n"
}


def test_a_package_that_does_not_build_does_not_keep_the_others_tests_from_running(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    """A package that fails to build at both commits: the build error is excused, but the
    other packages' tests still run and the one the change broke fails the gate; untouched,
    the tests of the broken package never ran, so it is no pass either."""
    repo = make_repo({**sample.clean(), **_BROKEN_PACKAGE})
    write_files(repo, sample.failing_test())
    report = verify_path(repo, LocalRunner(cache_dir), ONLY_GO, baseline_ref="HEAD")
    [result] = report.results
    new = [(f.kind.value, f.file) for f in result.findings if f.new]
    assert new == [("test", sample.CALC_TEST_PATH)]
    assert result.tests is not None and result.tests.failed == 1
    assert not report.ok
    write_files(repo, sample.clean())
    report = verify_path(repo, LocalRunner(cache_dir), ONLY_GO, baseline_ref="HEAD")
    [result] = report.results
    assert result.stages["test"].status == StageStatus.STOPPED
    [gap] = [f for f in result.findings if f.new]
    assert gap.kind == FindingKind.ERROR
    assert gap.message.startswith("go test stage stopped early: a package did not build")
    assert report.message.startswith("Could not verify: go (1 problem).")


_CI_TESTS_ONLY = {
    ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: go test ./...\n"
}


def test_vet_and_gofmt_ci_does_not_run_are_absent_stages_not_gaps(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    """CI parity leaves out vet and gofmt: no lint or format stage, so no stage-gap error;
    the build error is excused at the base and the other packages' tests still run."""
    repo = make_repo({**sample.clean(), **_BROKEN_PACKAGE, **_CI_TESTS_ONLY})
    report = verify(repo, LocalRunner(cache_dir), ONLY_GO)
    [result] = report.results
    assert "lint" not in result.stages and "format" not in result.stages
    assert result.stages["build"].status == StageStatus.RAN
    assert result.sources["vet"].startswith("not run by the project's CI")
    assert result.tests is not None and result.tests.run == 2
    assert not [f for f in result.findings if f.message.startswith("go lint stage")]
    clean = make_repo({**sample.clean(), **_CI_TESTS_ONLY}, name="clean")
    [ok] = verify(clean, LocalRunner(cache_dir), ONLY_GO).results
    assert ok.ok, ok.findings
    assert set(ok.stages) == {"build", "test"}


_CI_BUILDS = {
    ".github/workflows/ci.yml": (
        "jobs:\n  t:\n    steps:\n      - run: go build ./... && go test ./...\n"
    )
}
_MAIN_BROKEN = {"cmd/total/main.go": "package main\n\nfunc main() {\n\tunused := 1\n}\n"}


def test_go_build_runs_only_where_ci_runs_it_and_go_test_finds_compile_errors_without_it(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    """`go test` compiles every package, those without tests too (cmd/total has none): a
    separate `go build` repeated that work, so it runs only where CI runs it (it also links
    main packages, which `go test` does not)."""
    repo = make_repo({**sample.clean(), **_MAIN_BROKEN})
    runner = RecordingRunner(cache_dir)
    [result] = verify(repo, runner, ONLY_GO).results
    assert runner.ran("go", "build") == 0
    assert [(f.kind, *where(f)) for f in result.findings] == [
        (FindingKind.COMPILE, "cmd/total/main.go", 4)
    ]
    assert "declared and not used: unused" in result.findings[0].message
    assert result.stages["build"].status == StageStatus.RAN
    assert result.tests is not None and result.tests.run == 2  # calc's tests still ran
    ci = make_repo({**sample.clean(), **_MAIN_BROKEN, **_CI_BUILDS}, name="ci-builds")
    runner = RecordingRunner(cache_dir)
    [result] = verify(ci, runner, ONLY_GO).results
    assert runner.ran("go", "build") == 1
    assert result.sources["build"].startswith(".github/workflows/ci.yml")
    assert [(f.kind, *where(f)) for f in result.findings] == [
        (FindingKind.COMPILE, "cmd/total/main.go", 4)
    ]


# --- checks side by side ------------------------------------------------------------------

_CI_ALL = {
    ".github/workflows/ci.yml": (
        'jobs:\n  t:\n    steps:\n      - run: test -z "$(gofmt -l .)"\n'
        "      - run: go vet ./... && go build ./... && go test ./...\n"
    )
}


def _every_fault() -> dict[str, str]:
    """A format difference and a failing test in calc, a vet finding in main."""
    calc = sample.failing_test()[sample.CALC_PATH].replace("total := 0", "total:=0")
    return {**sample.lint_violation(), sample.CALC_PATH: calc, **_CI_ALL}


class _TestFirstRunner(RecordingRunner):
    """gofmt, go build and go vet wait until `go test` has started: they see it start only
    when they run beside it (one after another, they would wait out WAIT_S first)."""

    WAIT_S = 60.0

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir)
        self.test_started = threading.Event()
        self.saw_test_running: dict[str, bool] = {}

    def run(self, argv: Sequence[str], **kwargs: Any) -> CommandResult:
        name = " ".join(argv[:2]) if argv[0] == "go" else argv[0]
        if name == "go test":
            self.test_started.set()
        elif name in ("gofmt", "go build", "go vet"):
            self.saw_test_running[name] = self.test_started.wait(self.WAIT_S)
        return super().run(argv, **kwargs)


def test_gofmt_build_and_vet_run_beside_go_test_and_report_as_one_after_another(
    make_repo: MakeRepo, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(_every_fault())
    monkeypatch.setattr(verifiers_base, "SIDE_BY_SIDE", False)
    serial_runner = RecordingRunner(cache_dir)
    serial = verify(repo, serial_runner, ONLY_GO)
    # On one core: the order they always ran in (after prepare's commands).
    listed = next(i for i, c in enumerate(serial_runner.commands) if c[:2] == ["go", "list"])
    checked = serial_runner.commands[listed:]
    assert [c[:2] for c in checked] == [
        ["go", "list"],
        ["gofmt", "-d"],
        ["go", "env"],  # the installed Go, for the diff's comment rules: part of gofmt's step
        ["go", "build"],
        ["go", "vet"],
        ["go", "test"],
    ]
    monkeypatch.setattr(verifiers_base, "SIDE_BY_SIDE", True)
    runner = _TestFirstRunner(cache_dir)
    side = verify(repo, runner, ONLY_GO)
    assert runner.saw_test_running == {"gofmt": True, "go build": True, "go vet": True}
    [result] = side.results
    assert {f.kind for f in result.findings} == {
        FindingKind.FORMAT,
        FindingKind.LINT,
        FindingKind.TEST,
    }
    assert not side.ok
    assert_same_report(side, serial)


def test_a_check_that_cannot_start_beside_the_others_is_still_an_error(
    make_repo: MakeRepo, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """gofmt missing while go test runs beside it: the verifier reports it, as it did."""
    go_only = tmp_path / "bin"
    go_only.mkdir()
    (go_only / "go").symlink_to(shutil.which("go") or "go")
    repo = make_repo({**sample.clean(), **_CI_ALL})
    monkeypatch.setattr(verifiers_base, "SIDE_BY_SIDE", True)
    runner = RecordingRunner(cache_dir)
    monkeypatch.setitem(runner._base_env, "PATH", f"{go_only}:/usr/bin:/bin")
    report = verify(repo, runner, ONLY_GO, prepare=False)
    [result] = report.results
    assert not report.ok
    assert [(f.kind, f.message) for f in result.findings] == [
        (FindingKind.ERROR, "gofmt: `gofmt` is not installed")
    ]
    assert runner.ran("go", "test") == 1  # it ran beside gofmt, and was waited for


# --- go list's answer kept between checks ---------------------------------------------------

_EXTRA_TEST = """\
package extra

import "testing"

func TestExtra(t *testing.T) {
	t.Errorf("extra failed")
}
"""


def _check_listing(
    repo: Path, cache_dir: Path, env: dict[str, str] | None = None
) -> tuple[int, VerifierResult]:
    """(how many `go list` ran, the result) of a check of repo."""
    runner = RecordingRunner(cache_dir)
    runner._base_env.update(env or {})
    [result] = verify(repo, runner, ONLY_GO, prepare=False).results
    return runner.ran("go", "list"), result


def test_go_list_is_reused_only_for_the_same_files_and_go_environment(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    unique = {"calc/unique.go": f"package calc\n\n// {uuid.uuid4()}\n"}
    repo = make_repo({**sample.clean(), **unique})
    first = RecordingRunner(cache_dir)
    verify(repo, first, ONLY_GO)  # prepared, and listed
    assert first.ran("go", "list") == 1
    listed, result = _check_listing(repo, cache_dir)
    assert listed == 0 and result.ok and result.tests is not None and result.tests.run == 2
    # A new package: listed again, and its failing test found.
    extra = {"extra/extra.go": "package extra\n", "extra/extra_test.go": _EXTRA_TEST}
    write_files(repo, extra)
    listed, result = _check_listing(repo, cache_dir)
    assert listed == 1
    assert [(f.test_id, f.file) for f in result.findings] == [
        ("example.com/sample/extra.TestExtra", "extra/extra_test.go")
    ]
    # A build constraint changes which files count: listed again, the test no longer runs.
    extra["extra/extra_test.go"] = "//go:build never\n\n" + _EXTRA_TEST
    write_files(repo, extra)
    listed, result = _check_listing(repo, cache_dir)
    assert listed == 1 and result.ok
    # The environment's build tags reach go list's answer: listed again, once.
    assert _check_listing(repo, cache_dir, {"GOFLAGS": "-tags=never"})[0] == 1
    listed, result = _check_listing(repo, cache_dir, {"GOFLAGS": "-tags=never"})
    assert listed == 0 and [f.test_id for f in result.findings] == [
        "example.com/sample/extra.TestExtra"
    ]
    # Another checkout of the same files reuses it, with its own folders.
    other = make_repo({**sample.clean(), **unique, **extra}, name="other")
    listed, result = _check_listing(other, cache_dir, {"GOFLAGS": "-tags=never"})
    assert listed == 0
    [failure] = result.findings
    assert failure.file == "extra/extra_test.go"  # relative to the other checkout


def test_go_list_is_not_reused_through_links_nor_from_a_damaged_answer(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    unique = {"calc/unique.go": f"package calc\n\n// {uuid.uuid4()}\n"}
    repo = make_repo({**sample.clean(), **unique})
    verify(repo, LocalRunner(cache_dir), ONLY_GO)
    kept = list((answers_dir(cache_dir) / "go-list").glob("*.json"))
    assert kept, "the answer is kept next to the cache"
    assert not answers_dir(cache_dir).is_relative_to(cache_dir)  # where commands cannot write
    for answer in kept:
        answer.write_text('{"not": "a listing"}')
    assert _check_listing(repo, cache_dir)[0] == 1  # damaged: go list again, and kept anew
    assert _check_listing(repo, cache_dir)[0] == 0
    # go reads through a link to a file (and a link could point anywhere): never kept.
    (repo / "calc" / "linked.txt").symlink_to(repo / "go.mod")
    assert _check_listing(repo, cache_dir)[0] == 1
    assert _check_listing(repo, cache_dir)[0] == 1


def test_an_answer_that_cannot_be_kept_leaves_the_check_as_it_was(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    answers_dir(cache_dir).parent.mkdir(parents=True, exist_ok=True)
    answers_dir(cache_dir).write_text("a file where the answers' folder would be")
    repo = make_repo(sample.clean())

    prepared = RecordingRunner(cache_dir)
    [result] = verify(repo, prepared, ONLY_GO).results
    assert prepared.ran("go", "list") == 1 and result.ok, result.findings
    assert _check_listing(repo, cache_dir)[0] == 1  # not kept: listed again
