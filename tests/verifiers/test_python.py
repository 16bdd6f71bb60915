"""The Python verifier: parsers on recorded output, then real venvs, pip, ruff, mypy, pytest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.sandbox.base import CommandResult
from corral.sandbox.local import LocalRunner
from corral.testing.cli import CORRAL
from corral.testing.repos import MakeRepo, git, write_files
from corral.testing.samples import python as sample
from corral.verifiers import verify, verify_path
from corral.verifiers.base import (
    RAN,
    Finding,
    FindingKind,
    ProjectContext,
    StageStatus,
    TestCounts,
)
from corral.verifiers.python import (
    READY,
    ProjectConfig,
    describe_pip_failure,
    env_key,
    install_argv,
    install_argv_for_tests,
    mypy_lacks_json,
    parse_mypy_json,
    parse_mypy_text,
    parse_pytest_junit,
    parse_ruff,
    parse_ruff_format_text,
    pytest_outcome,
    ruff_format_lacks_json,
)

DATA = Path(__file__).parent / "data" / "python"
RECORDED_IN = Path("/tmp/corral-python-sample")
"""Where the recorded outputs were captured (ruff prints absolute paths)."""
SETUPTOOLS_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "unresolvable"
version = "0.1.0"
"""


def recorded(name: str) -> str:
    return (DATA / name).read_text()


def rel(path: str) -> str:
    return ProjectContext(RECORDED_IN, RECORDED_IN, LocalRunner(RECORDED_IN)).rel(path)


def refused(stderr: str) -> CommandResult:
    return CommandResult(("tool",), 2, "", stderr, 0.1)


# --- parsers on recorded real output ----------------------------------------------------


def test_ruff_lint_json() -> None:
    assert parse_ruff(recorded("ruff_check_lint.json"), rel) == [
        Finding(FindingKind.LINT, "src/calc/__init__.py", 3, "F401 `os` imported but unused")
    ]


def test_ruff_syntax_error_is_a_compile_finding() -> None:
    [finding] = parse_ruff(recorded("ruff_check_syntax.json"), rel)
    assert (finding.kind, finding.file, finding.line) == (
        FindingKind.COMPILE,
        "src/calc/__init__.py",
        5,
    )
    assert "Expected an expression" in finding.message


def test_ruff_format_json_points_at_the_first_unformatted_line() -> None:
    [finding] = parse_ruff(recorded("ruff_format.json"), rel)
    assert (finding.kind, finding.file, finding.line) == (
        FindingKind.FORMAT,
        "src/calc/__init__.py",
        5,
    )
    assert "ruff format" in finding.message


def test_older_ruff_format_falls_back_to_file_names() -> None:
    assert ruff_format_lacks_json(refused(recorded("ruff_0.5_format_json_refused.txt")))
    [finding] = parse_ruff_format_text(recorded("ruff_0.5_format_text.txt"), rel)
    assert (finding.kind, finding.file, finding.line) == (
        FindingKind.FORMAT,
        "src/calc/__init__.py",
        None,
    )


def test_mypy_json_and_older_mypy_text_agree() -> None:
    findings = parse_mypy_json(recorded("mypy.jsonl"), rel)
    assert findings == [
        Finding(
            FindingKind.COMPILE,
            "tests/test_calc.py",
            5,
            'type error: Argument 2 to "add" has incompatible type "str"; expected "int" '
            "[arg-type]",
        )
    ]
    assert mypy_lacks_json(refused(recorded("mypy_1.10_json_refused.txt")))
    assert parse_mypy_text(recorded("mypy_1.10.txt"), rel) == findings


def test_junit_failures_name_the_test_source_line_and_count() -> None:
    findings, counts = parse_pytest_junit(recorded("junit_failures.xml"), rel)
    assert counts == TestCounts(run=4, failed=2, skipped=1)
    mean, plus = findings
    assert (mean.file, mean.line, mean.test_id, mean.message) == (
        "tests/test_calc.py",
        11,
        "tests/test_calc.py::test_mean",
        "assert 2.0 == 2.5",
    )
    assert mean.context == " +  where 2.0 = mean([1.0, 2.0, 3.0])"
    # The assertion fails in a helper of the test module: its line, not the test's call.
    assert (plus.file, plus.line, plus.test_id) == (
        "tests/test_calc.py",
        20,
        "tests/test_calc.py::TestAdd::test_plus[1]",
    )
    assert plus.message == "AssertionError: 1 + 1 should be 3"


def test_junit_syntax_error_in_the_package_is_a_compile_finding() -> None:
    findings, counts = parse_pytest_junit(recorded("junit_syntax_error.xml"), rel)
    assert counts == TestCounts()
    [finding] = findings
    assert (finding.kind, finding.file, finding.line) == (
        FindingKind.COMPILE,
        "src/calc/__init__.py",
        5,
    )
    assert "SyntaxError" in finding.message


def test_junit_import_error_points_at_the_import() -> None:
    [finding], _ = parse_pytest_junit(recorded("junit_import_error.xml"), rel)
    assert (finding.kind, finding.file, finding.line) == (
        FindingKind.COMPILE,
        "tests/test_calc.py",
        1,
    )
    assert "cannot import name 'median' from 'calc'" in finding.message


def test_pytest_exits_without_failures_are_errors_but_no_tests_is_not() -> None:
    usage = CommandResult(("pytest",), 4, "", recorded("pytest_usage_error.txt"), 0.1)
    [finding], counts, stage = pytest_outcome(usage, None, rel)
    assert finding.kind == FindingKind.ERROR and counts == TestCounts()
    assert stage.status == StageStatus.STOPPED
    assert finding.message == "pytest exited 4 but wrote no report"
    assert finding.context and "unrecognized arguments: --no-such-flag" in finding.context
    no_tests = CommandResult(("pytest",), 5, "no tests ran", "", 0.1)
    assert pytest_outcome(no_tests, None, rel) == ([], TestCounts(), RAN)
    broken = CommandResult(("pytest",), 1, "", "", 0.1)
    [finding], _, _ = pytest_outcome(broken, recorded("junit_failures.xml")[:400], rel)
    assert finding.kind == FindingKind.ERROR and "broken report" in finding.message


def test_pip_failures_name_the_requirement_and_the_reason() -> None:
    assert describe_pip_failure(recorded("pip_no_match.txt")) == (
        "pip cannot install corral-no-such-package-xyz==1.0: no matching distribution found"
    )
    conflict = describe_pip_failure(recorded("pip_conflict.txt")).splitlines()
    assert conflict[0].endswith("and pluggy==1.0.0: conflicting dependencies")
    assert "pytest 8.0.0 depends on pluggy<2.0 and >=1.3.0" in conflict
    assert describe_pip_failure(recorded("pip_build_failure.txt")).splitlines() == [
        "pip install failed: Getting requirements to build editable did not run successfully",
        "RuntimeError: the build needs CORRAL_FLAG",
    ]


# --- reading the project ----------------------------------------------------------------


def _config(root: Path, files: dict[str, str]) -> ProjectConfig:
    write_files(root, files)
    return ProjectConfig.read(ProjectContext(root, root, LocalRunner(root)))


def test_config_from_pyproject_installs_test_extras_and_configured_tools(tmp_path: Path) -> None:
    config = _config(tmp_path, sample.clean())
    assert (config.ruff, config.ruff_format, config.mypy, config.mypy_targets) == (
        True,
        True,
        True,
        (),
    )
    assert install_argv(config)[-5:] == ["-e", ".[test]", "pytest", "ruff", "mypy"]


def test_config_from_requirements_setup_cfg_and_ruff_toml(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {
            "requirements.txt": "attrs\n",
            "requirements-dev.txt": "pytest\n",
            "setup.cfg": "[mypy]\nstrict = True\n",
            "ruff.toml": "line-length = 90\n",
        },
    )
    assert (config.installable, config.ruff, config.ruff_format, config.mypy) == (
        False,
        True,
        False,
        True,
    )
    assert config.mypy_targets == (".",)
    assert install_argv(config)[-7:] == [
        "-r",
        "requirements-dev.txt",
        "-r",
        "requirements.txt",
        "pytest",
        "ruff",
        "mypy",
    ]


def test_env_key_follows_declarations_interpreter_and_path(tmp_path: Path) -> None:
    write_files(tmp_path, sample.clean())
    key = env_key(tmp_path, "3.11.7 /usr")
    (tmp_path / "src" / "calc" / "__init__.py").write_text("# edited\n")
    assert env_key(tmp_path, "3.11.7 /usr") == key
    assert env_key(tmp_path, "3.12.1 /usr") != key
    (tmp_path / "requirements-dev.txt").write_text("attrs\n")
    with_requirements = env_key(tmp_path, "3.11.7 /usr")
    assert with_requirements != key
    write_files(tmp_path / "elsewhere", {**sample.clean(), "requirements-dev.txt": "attrs\n"})
    assert env_key(tmp_path / "elsewhere", "3.11.7 /usr") != with_requirements


# --- real projects ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[Path]:
    """One committed clean sample; each test writes its variant, so one venv serves them all."""
    root = tmp_path_factory.mktemp("python") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_files(root, sample.clean())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "clean sample")
    before = set((cache_dir / "venvs").glob("*"))
    yield root
    _remove_venvs(set((cache_dir / "venvs").glob("*")) - before, tmp_path_factory.getbasetemp())


def _remove_venvs(new: set[Path], below: Path) -> None:
    """Environments this module made: of its checkouts, and of baseline worktrees now gone."""
    for ready in (venv / READY for venv in new):
        if not ready.is_file():  # a lock file, or another run's environment still building
            continue
        project = Path(ready.read_text().strip())
        if project.is_relative_to(below) or not project.exists():
            shutil.rmtree(ready.parent, ignore_errors=True)
            ready.parent.with_name(ready.parent.name + ".lock").unlink(missing_ok=True)


def use(repo: Path, files: dict[str, str]) -> Path:
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "clean", "-fdq")
    write_files(repo, files)
    return repo


def leftovers(repo: Path) -> list[str]:
    """Files the verifier left in the checkout (untracked or ignored)."""
    status = git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all")
    return [line for line in status.splitlines() if line[:2] in ("??", "!!")]


def test_clean_passes_in_one_line_and_leaves_nothing(repo: Path, cache_dir: Path) -> None:
    report = verify(use(repo, sample.clean()), LocalRunner(cache_dir))
    assert report.message == "All checks passed (python; 2 tests passed)."
    assert report.results[0].tests == TestCounts(run=2)
    assert leftovers(repo) == []


def test_compile_error_reported_once(repo: Path, cache_dir: Path) -> None:
    report = verify(use(repo, sample.compile_error()), LocalRunner(cache_dir))
    [finding] = report.results[0].findings  # ruff, mypy and pytest all saw it
    assert (finding.kind, finding.file, finding.line) == (
        FindingKind.COMPILE,
        "src/calc/__init__.py",
        5,
    )
    assert "Expected an expression" in finding.message
    assert not report.ok


def test_failing_test_names_test_assertion_and_line(repo: Path, cache_dir: Path) -> None:
    report = verify(use(repo, sample.failing_test()), LocalRunner(cache_dir))
    [finding] = report.results[0].findings
    assert (finding.kind, finding.file, finding.line, finding.test_id) == (
        FindingKind.TEST,
        "tests/test_calc.py",
        9,
        "tests/test_calc.py::test_mean",
    )
    assert finding.message == "assert 2.0 == 2.5"
    assert report.results[0].tests == TestCounts(run=2, failed=1)
    assert leftovers(repo) == []


def test_lint_violation(repo: Path, cache_dir: Path) -> None:
    report = verify(use(repo, sample.lint_violation()), LocalRunner(cache_dir))
    assert report.results[0].findings == [
        Finding(FindingKind.LINT, "src/calc/__init__.py", 3, "F401 `os` imported but unused")
    ]


def test_format_violation(repo: Path, cache_dir: Path) -> None:
    calc = sample.clean()["src/calc/__init__.py"].replace("a + b", "a+b")
    report = verify(use(repo, {"src/calc/__init__.py": calc}), LocalRunner(cache_dir))
    assert [(f.kind, f.file, f.line) for f in report.results[0].findings] == [
        (FindingKind.FORMAT, "src/calc/__init__.py", 5)
    ]


def test_type_error_from_mypy(repo: Path, cache_dir: Path) -> None:
    tests = sample.clean()["tests/test_calc.py"].replace("add(2, 3)", "add(2, 3.0)")
    report = verify(use(repo, {"tests/test_calc.py": tests}), LocalRunner(cache_dir))
    [finding] = report.results[0].findings
    assert (finding.file, finding.line) == ("tests/test_calc.py", 5)
    assert "incompatible type" in finding.message and "[arg-type]" in finding.message


def test_no_tests_collected_passes_with_zero_tests(repo: Path, cache_dir: Path) -> None:
    no_tests = {"tests/test_calc.py": "from calc import add\n\nTHREE = add(1, 2)\n"}
    report = verify(use(repo, no_tests), LocalRunner(cache_dir))
    assert report.ok, report.message
    assert report.results[0].tests == TestCounts()


def test_tests_run_as_if_the_environment_were_activated(repo: Path, cache_dir: Path) -> None:
    """Tests that start `python` or a console script get the project's environment."""
    shells_out = {
        "tests/test_calc.py": (
            "import subprocess\n\n\n"
            "def test_python_on_path_has_the_project() -> None:\n"
            '    subprocess.run(["python", "-c", "import calc"], check=True)\n'
        )
    }
    report = verify(use(repo, shells_out), LocalRunner(cache_dir))
    assert report.ok, report.message
    assert report.results[0].tests == TestCounts(run=1)


def test_baseline_checkout_tests_its_own_code(repo: Path, cache_dir: Path) -> None:
    """The baseline worktree gets its own environment: an editable install shared with the
    main checkout would test the working tree's code there and excuse this new failure."""
    broken = sample.clean()["src/calc/__init__.py"].replace("/ len(values)", "/ 2")
    use(repo, {"src/calc/__init__.py": broken})
    # Twice: the second time reuses the kept base checkout, and the checkout comparison must
    # never take the committed file for the agent's edit (that once passed this change).
    for _ in range(2):
        report = verify_path(repo, LocalRunner(cache_dir), baseline_ref="HEAD")
        [finding] = report.results[0].findings
        assert (finding.test_id, finding.new) == ("tests/test_calc.py::test_mean", True)
        assert not report.ok


def test_cli_json_contract(repo: Path, cache_dir: Path) -> None:
    use(repo, sample.failing_test())
    proc = subprocess.run(
        [
            CORRAL,
            "verify",
            str(repo),
            "--json",
            "--sandbox",
            "local",
            "--cache-dir",
            str(cache_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] is False
    assert out["message"].startswith("Verification failed: python (1 problem)")
    [result] = out["verifiers"]
    assert (result["name"], result["ok"]) == ("python", False)
    assert isinstance(result["duration_s"], float)
    [finding] = result["findings"]
    assert (finding["file"], finding["line"]) == ("tests/test_calc.py", 9)
    assert finding["message"] == "assert 2.0 == 2.5"


def test_missing_python_is_an_error(repo: Path, cache_dir: Path) -> None:
    runner = LocalRunner(cache_dir, base_env={"PATH": "/nonexistent", "HOME": os.environ["HOME"]})
    report = verify(use(repo, sample.clean()), runner)
    [finding] = report.results[0].findings
    assert finding.kind == FindingKind.ERROR
    assert "python3" in finding.message and "not installed" in finding.message
    assert not report.ok


def test_unresolvable_requirement_is_an_error_naming_it(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    """A setuptools project: its editable build writes `src/*.egg-info`, which must not stay."""
    root = make_repo(
        {
            "pyproject.toml": SETUPTOOLS_PYPROJECT,
            "src/unresolvable/__init__.py": "",
            "requirements.txt": "corral-no-such-package-xyz==1.0\n",
        }
    )
    report = verify(root, LocalRunner(cache_dir))
    [finding] = report.results[0].findings
    assert (finding.kind, finding.file) == (FindingKind.ERROR, "requirements.txt")
    assert finding.message == (
        "pip cannot install corral-no-such-package-xyz==1.0: no matching distribution found"
    )
    assert leftovers(root) == []
    # The half-built environment is gone: checking without prepare refuses, never passes.
    [unprepared] = verify(root, LocalRunner(cache_dir), prepare=False).results[0].findings
    assert unprepared.kind == FindingKind.ERROR
    assert "no prepared Python environment" in unprepared.message


def test_extra_args_reach_pytest(repo: Path, cache_dir: Path) -> None:
    config = 'verifiers:\n  args:\n    python: ["-k", "test_add"]\n'
    use(repo, {**sample.failing_test(), ".corral.yaml": config})
    report = verify(repo, LocalRunner(cache_dir))
    assert report.ok, report.message
    assert report.results[0].tests == TestCounts(run=1)


# --- the gate never passes tests that did not run ----------------------------------------

_NEEDS_MISSING_MODULE = (
    "import corral_not_installed_anywhere  # type: ignore[import-not-found]\n\n\n"
    "def test_x() -> None:\n"
    "    assert corral_not_installed_anywhere\n"
)


def test_a_module_that_cannot_be_imported_does_not_stop_the_other_tests(
    repo: Path, cache_dir: Path
) -> None:
    """pytest aborts the session on a collection error; the other modules' tests still run,
    so a failure the change causes in them is new even when the import error is excused."""
    use(repo, {"tests/test_other.py": _NEEDS_MISSING_MODULE})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a test module whose dependency is not installed")
    try:
        use(repo, sample.failing_test())
        report = verify_path(repo, LocalRunner(cache_dir), baseline_ref="HEAD")
        result = report.results[0]
        new = [f for f in result.findings if f.new]
        assert [(f.kind, f.test_id) for f in new] == [
            (FindingKind.TEST, "tests/test_calc.py::test_mean")
        ]
        assert result.tests == TestCounts(run=2, failed=1)
        assert result.stages["test"].status == StageStatus.STOPPED
        assert not report.ok

        # Nothing new is visible, but the module's own tests never ran: no pass.
        changed = _NEEDS_MISSING_MODULE.replace("assert corral", "assert not corral")
        use(repo, {"tests/test_other.py": changed})
        report = verify_path(repo, LocalRunner(cache_dir), baseline_ref="HEAD")
        [excused, gap] = report.results[0].findings
        assert (excused.kind, excused.new) == (FindingKind.COMPILE, False)
        assert (gap.kind, gap.new) == (FindingKind.ERROR, True)
        assert gap.message.startswith(
            "python test stage stopped early: pytest could not collect 1 test module"
        )
        assert "(at the base commit too)" in gap.message
        assert not report.ok and "[error]" in report.message
    finally:
        git(repo, "reset", "-q", "--hard", "HEAD~1")


def test_ruff_never_fixes_the_checkout(repo: Path, cache_dir: Path) -> None:
    """A project's `fix = true` would make `ruff check` rewrite the file it reports."""
    ruff_toml = 'fix = true\nline-length = 100\n[lint]\nselect = ["E", "F", "I"]\n'
    use(repo, {**sample.lint_violation(), "ruff.toml": ruff_toml})
    before = (repo / "src/calc/__init__.py").read_text()
    report = verify(repo, LocalRunner(cache_dir))
    assert [(f.kind, f.file, f.line) for f in report.results[0].findings] == [
        (FindingKind.LINT, "src/calc/__init__.py", 3)
    ]
    assert (repo / "src/calc/__init__.py").read_text() == before


def test_a_pass_says_how_many_tests_ran_even_none(repo: Path, cache_dir: Path) -> None:
    no_tests = {"tests/test_calc.py": "from calc import add\n\nTHREE = add(1, 2)\n"}
    report = verify(use(repo, no_tests), LocalRunner(cache_dir))
    assert report.message == "All checks passed (python; no tests ran)."


# --- what the tests need besides the package --------------------------------------------

_TOOL_GROUPS = """\
[project]
name = "groups"
version = "0.1.0"

[dependency-groups]
lint = ["ruff"]
test = ["pytest-timeout", {include-group = "fixtures"}]
fixtures = ["freezegun"]

[tool.poetry.group.dev.dependencies]
python = "^3.9"
hypothesis = "^6"

[tool.uv]
dev-dependencies = ["pytest-mock>=3"]

[tool.pdm.dev-dependencies]
docs = ["sphinx"]
tests = ["-e file:///${PROJECT_ROOT}/sub#egg=sub", "respx"]

[tool.hatch.envs.default]
dependencies = ["coverage[toml]"]
"""


def test_test_dependencies_from_groups_and_from_tox_and_ci(tmp_path: Path) -> None:
    """A project's test requirements outside its extras: the tests fail to import without
    them, so the collection error hides every test (at the base too)."""
    config = _config(
        tmp_path,
        {
            "pyproject.toml": _TOOL_GROUPS,
            "requirements/test.txt": "pytest-xdist\n",
            "requirements/docs.txt": "sphinx\n",
            "tox.ini": "[testenv]\ndeps =\n    -r{toxinidir}/requirements/test.txt\n",
            ".github/workflows/ci.yml": "steps:\n  - run: pip install -r requirements/test.txt\n",
        },
    )
    assert config.test_requirements == (
        "pytest-timeout",
        "freezegun",
        "hypothesis",
        "pytest-mock>=3",
        "respx",
        "coverage[toml]",
    )
    assert config.test_requirement_files == ("requirements/test.txt",)
    assert install_argv_for_tests(config)[3:5] == ["-r", "requirements/test.txt"]
    # A change to a referenced file gets a fresh environment.
    key = env_key(tmp_path, "3.12 /usr")
    (tmp_path / "requirements/test.txt").write_text("pytest-xdist\nattrs\n")
    assert env_key(tmp_path, "3.12 /usr") != key
    assert install_argv_for_tests(_config(tmp_path / "none", {"pyproject.toml": ""})) == []


@pytest.mark.slow
def test_a_dependency_group_is_installed_for_the_tests(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    pyproject = (
        '[project]\nname = "grouped"\nversion = "0.1.0"\n\n[dependency-groups]\ntest = ["six"]\n'
    )
    repo = make_repo(
        {
            "pyproject.toml": pyproject,
            "tests/test_six.py": "import six\n\n\ndef test_six() -> None:\n    assert six.PY3\n",
        }
    )
    report = verify(repo, LocalRunner(cache_dir))
    assert report.ok, report.message
    assert report.results[0].tests == TestCounts(run=1)


_HATCH_VCS = """\
[build-system]
requires = ["hatchling", "hatch-vcs"]
build-backend = "hatchling.build"

[project]
name = "vcsversioned"
dynamic = ["version"]

[tool.hatch.version]
source = "vcs"

[tool.hatch.build.hooks.vcs]
version-file = "src/vcsversioned/_version.py"

[tool.hatch.build.targets.wheel]
packages = ["src/vcsversioned"]
"""


@pytest.mark.slow
def test_a_vcs_versioned_project_installs_at_the_base_and_leaves_no_version_file(
    make_repo: MakeRepo, cache_dir: Path
) -> None:
    """hatch-vcs asks git for the version while installing (the baseline checkout must carry
    its git data) and writes `_version.py` into the checkout, which the package imports: it
    is kept outside the checkout and put back only while the checks run."""
    repo = make_repo(
        {
            "pyproject.toml": _HATCH_VCS,
            ".gitignore": "_version.py\n",
            "src/vcsversioned/__init__.py": "from ._version import __version__\n",
            "tests/test_version.py": (
                "import vcsversioned\n\n\ndef test_version() -> None:\n"
                "    assert vcsversioned.__version__.startswith('1.2')\n"
            ),
        }
    )
    git(repo, "tag", "v1.2.0")
    report = verify_path(repo, LocalRunner(cache_dir), baseline_ref="HEAD")
    assert report.ok, report.message
    assert report.results[0].tests == TestCounts(run=1)
    assert leftovers(repo) == []
    again = verify(repo, LocalRunner(cache_dir))  # prepared already: nothing reinstalls
    assert again.ok, again.message
    assert leftovers(repo) == []
