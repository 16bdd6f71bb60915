"""The Node verifier: its parsers on recorded real output, then real npm, ESLint, tsc and node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from verifier_helpers import only

from corral.ci.condense import condense
from corral.sandbox.local import LocalRunner
from corral.testing.repos import MakeRepo, git, write_files
from corral.testing.samples import node as sample
from corral.verifiers import Finding, FindingKind, VerifyReport, verify, verify_path
from corral.verifiers.base import ProjectContext, StageStatus, TestCounts, cache_env, counts_json
from corral.verifiers.discovery import find_projects
from corral.verifiers.node import (
    NodeVerifier,
    check_mode,
    detect_test_runner,
    first_difference,
    first_error_lines,
    package_manager,
    parse_eslint_json,
    parse_eslint_stylish,
    parse_jest_json,
    parse_mocha_json,
    parse_node_junit,
    parse_prettier_check,
    parse_tap,
    parse_tsc,
    parse_uvu,
    resolve_script,
    script_parts,
    tap_locator,
    tap_results,
    tsc_inputs,
    writes_files,
)
from corral.verifiers.tool_versions import node_satisfies, node_version_pin
from corral.verifiers.tsc_build_info import SEEDS, Rebase, build_info_path, keep_seed, rebase

DATA = Path(__file__).parent / "data" / "node"
ONLY_NODE = only("node")


def recorded(name: str) -> str:
    return (DATA / name).read_text()


def rel_to(root: str) -> Callable[[str], str]:
    """ctx.rel for the folder where the recorded output was produced (see data/node/README.md)."""
    return ProjectContext(Path(root), Path(root), LocalRunner(Path("/nonexistent"))).rel


def summary(f: Finding) -> tuple[FindingKind, str | None, int | None, str]:
    return f.kind, f.file, f.line, f.message


# --- parsers, on real output ------------------------------------------------------------


def test_node_junit_names_each_failure_at_its_line_in_the_test_source() -> None:
    findings, counts = parse_node_junit(
        recorded("node-test-junit.xml"),
        rel_to("/tmp/nodescratch/rich"),
        recorded("node-test-spec.txt"),
    )
    by_id = {f.test_id: f for f in findings}
    assert summary(by_id["async value"]) == (
        FindingKind.TEST,
        "test/async.test.js",
        10,
        "AssertionError: value should exceed one",
    )
    # Not the JSON.parse frame (<anonymous>) nor node internals: the test's own line.
    assert by_id["throws plain error"].line == 14
    deep = by_id["parser > reads words"]
    assert (deep.file, deep.line) == ("test/suite.test.js", 10)
    assert deep.message == "AssertionError: Expected values to be strictly deep-equal:"
    assert deep.context is not None and "+   word: 'a'" in deep.context
    # A file that throws while loading: located through node's own printed stack.
    assert summary(by_id["test/broken.test.js"]) == (
        FindingKind.TEST,
        "test/broken.test.js",
        2,
        "Error: cannot load fixtures",
    )
    # reads numbers passed; skip and todo are skipped; the broken file counts as one failure.
    assert counts_json(counts) == {"run": 5, "failed": 4, "skipped": 2}


def test_a_module_that_does_not_parse_is_a_compile_finding_at_its_line() -> None:
    """A test file's import fails to parse: node prints `file:///...:LINE` and no project frame."""
    [finding], counts = parse_node_junit(
        recorded("node-test-junit-module-syntax.xml"),
        rel_to("/tmp/pj"),
        recorded("node-test-spec-module-syntax.txt"),
    )
    assert summary(finding) == (
        FindingKind.COMPILE,
        "bin/fee.js",
        2,
        "SyntaxError: Invalid or unexpected token",
    )
    assert finding.context == "#!/usr/bin/env node"
    assert counts_json(counts) == {"run": 1, "failed": 1, "skipped": 0}


def test_stack_frames_in_folders_with_spaces() -> None:
    """node --test in `/tmp/hard/sp ace/web ui`: the frame's path holds spaces."""
    findings, counts = parse_node_junit(
        recorded("node-test-junit-spaces.xml"), rel_to("/tmp/hard/sp ace")
    )
    [failure] = findings
    assert summary(failure) == (
        FindingKind.TEST,
        "web ui/test/clamp.test.js",
        10,
        "AssertionError: Expected values to be strictly equal:",
    )
    assert counts_json(counts) == {"run": 2, "failed": 1, "skipped": 0}


@pytest.mark.parametrize(("report", "assert_line"), [("jest.json", 9), ("vitest.json", 10)])
def test_jest_and_vitest_json_reports(report: str, assert_line: int) -> None:
    runner = report.removesuffix(".json")
    findings, counts = parse_jest_json(
        recorded(report), rel_to(f"/tmp/nodescratch/runners/{runner}")
    )
    by_id = {f.test_id: f for f in findings}
    assert set(by_id) == {"add > sums wrongly", "throws"}
    wrong = by_id["add > sums wrongly"]
    assert (wrong.file, wrong.line) == ("test/math.test.js", assert_line)
    assert "toBe" in wrong.message or "expected 4 to be 5" in wrong.message
    assert by_id["throws"].message.startswith("SyntaxError: Expected property name")
    assert by_id["throws"].line == assert_line + 7
    assert counts_json(counts) == {"run": 3, "failed": 2, "skipped": 1}


def test_vitest_1_report_locates_failures_by_its_location_field() -> None:
    """vitest 1.x: no stack in failureMessages, an empty file-level title, a `location`."""
    findings, counts = parse_jest_json(recorded("vitest1.json"), rel_to("/tmp/hard/node-vitest"))
    [failure] = findings
    assert summary(failure) == (
        FindingKind.TEST,
        "src/slug.test.js",
        13,
        "expected 'a-b' to be 'a-c' // Object.is equality",
    )
    assert failure.test_id == "slugify > slugifies   a--b  "
    assert counts_json(counts) == {"run": 3, "failed": 1, "skipped": 1}


def test_ts_jest_type_errors_in_a_test_file_are_compile_findings_at_their_line() -> None:
    findings, counts = parse_jest_json(
        recorded("jest-ts-type-error.json"), rel_to("/tmp/hard/node-jest-ts")
    )
    [error] = findings
    assert summary(error) == (
        FindingKind.COMPILE,
        "test/cart.test.ts",
        11,
        "TS2345: Argument of type '{ name: string; }' is not assignable to parameter of type "
        "'Item'.",
    )
    assert error.context == (
        "Property 'cents' is missing in type '{ name: string; }' but required in type 'Item'."
    )
    assert counts_json(counts) == {"run": 1, "failed": 1, "skipped": 0}


def test_babel_syntax_error_in_a_test_file_is_a_compile_finding_at_its_line() -> None:
    """babel-jest's SyntaxError; its stack is source-mapped into node_modules (relative)."""
    findings, counts = parse_jest_json(
        recorded("jest-babel-syntax-error.json"), rel_to("/tmp/hard/node-yarn")
    )
    [error] = findings
    assert summary(error) == (
        FindingKind.COMPILE,
        "__tests__/queue.test.js",
        6,
        'SyntaxError: Unexpected token, expected ","',
    )
    assert error.context is not None
    assert error.context.splitlines()[2:4] == ["> 6 |   q.push(2;", "    |           ^"]
    assert counts_json(counts) == {"run": 1, "failed": 1, "skipped": 0}


def test_jest_context_carries_expected_and_received() -> None:
    findings, _ = parse_jest_json(recorded("jest.json"), rel_to("/tmp/nodescratch/runners/jest"))
    wrong = next(f for f in findings if f.test_id == "add > sums wrongly")
    assert wrong.context == "Expected: 5\nReceived: 4"


def test_mocha_json_report_with_relative_stack_paths() -> None:
    findings, counts = parse_mocha_json(
        recorded("mocha.json"), rel_to("/tmp/nodescratch/runners/mocha")
    )
    by_id = {f.test_id: f for f in findings}
    assert summary(by_id["add sums wrongly"]) == (
        FindingKind.TEST,
        "test/math.test.js",
        10,
        "AssertionError: Expected values to be strictly equal:",
    )
    assert by_id["add sums wrongly"].context == "4 !== 5"
    assert (by_id["throws"].file, by_id["throws"].line) == ("test/math.test.js", 17)
    assert counts_json(counts) == {"run": 3, "failed": 2, "skipped": 1}


def test_eslint_json_and_stylish_agree_and_drop_warnings() -> None:
    rel = rel_to("/tmp/nodescratch/lint_violation")
    from_json = parse_eslint_json(recorded("eslint.json"), rel)
    from_text = parse_eslint_stylish(recorded("eslint-stylish.txt"), rel)
    for findings in (from_json, from_text):
        assert [(f.kind, f.file, f.line) for f in findings] == [
            (FindingKind.COMPILE, "src/broken.js", 4),  # a parsing error
            (FindingKind.LINT, "src/math.js", 7),
        ]
        assert findings[1].message.startswith("'unused' is assigned a value but never used")
        assert findings[1].message.endswith("(no-unused-vars)")


def test_tsc_errors_with_continuation_lines_as_context() -> None:
    findings = parse_tsc(recorded("tsc.txt"), rel_to("/tmp/nodescratch/compile_error"))
    assert [(f.file, f.line, f.message.split(":")[0]) for f in findings] == [
        ("src/math.js", 19, "TS2322"),
        ("src/more.js", 2, "TS2322"),
        ("src/more.js", 5, "TS2304"),
        ("src/more.js", 10, "TS2322"),
    ]
    assert findings[2].message == "TS2304: Cannot find name 'missingName'."
    assert findings[3].context == (
        "The types of 'a.b' are incompatible between these types.\n"
        "  Type 'string' is not assignable to type 'number'."
    )


def test_tsc_pretty_format_is_read_too() -> None:
    line = "src/a.ts:3:7 - error TS2322: Type 'string' is not assignable to type 'number'."
    (finding,) = parse_tsc(line, rel_to("/r"))
    assert summary(finding)[1:] == ("src/a.ts", 3, f"TS2322: {line.split('TS2322: ')[1]}")


def test_prettier_check_lists_files_not_the_summary() -> None:
    findings = parse_prettier_check(
        recorded("prettier-check.txt"), rel_to("/tmp/nodescratch/clean")
    )
    assert [f.file for f in findings] == ["src/ugly.js", "test/ugly2.js", "tsconfig.json"]
    assert {f.kind for f in findings} == {FindingKind.FORMAT}


def test_first_difference_points_at_the_first_unformatted_line() -> None:
    line, context = first_difference("a;\nconst x = {b:1}\nc;\n", "a;\nconst x = { b: 1 };\nc;\n")
    assert line == 2
    assert context == "- const x = {b:1}\n+ const x = { b: 1 };"


@pytest.mark.parametrize(
    ("script", "runner"),
    [
        ("node --test", "node"),
        ("tsc && node --experimental-strip-types --test test/", "node"),
        ("jest --coverage", "jest"),
        ("vitest run", "vitest"),
        ("mocha 'test/**/*.spec.js'", "mocha"),
        ("uvu -r esm test", "uvu"),
        ("node scripts/check.js", "other"),
    ],
)
def test_detect_test_runner(script: str, runner: str) -> None:
    assert detect_test_runner(script) == runner


# --- detection and package managers ------------------------------------------------------


def test_a_test_script_that_only_forwards_resolves_to_the_runners_script() -> None:
    scripts = {
        "test": "npm run test:unit",
        "test:unit": "yarn run -s test:jest",
        "test:jest": "jest --coverage",
        "loop": "pnpm loop",
        "both": "npm run lint && npm run test:unit",
    }
    assert resolve_script(scripts, "test") == "test:jest"
    assert resolve_script(scripts, "loop") == "loop"
    assert resolve_script(scripts, "both") == "both"  # not only a forward: runs as it is
    assert resolve_script({"test": "npm run missing"}, "test") == "test"


def test_workspace_root_covers_its_packages_but_a_plain_root_does_not(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": json.dumps({"workspaces": ["packages/*"]}),
            "packages/a/package.json": "{}",
            "tools/gen/package.json": "{}",
            "tools/gen/sub/package.json": "{}",
        },
    )
    (tmp_path / ".git").mkdir()
    found = [p.relative(tmp_path) for p in find_projects(tmp_path, [NodeVerifier()])]
    # tools/gen is outside the workspaces and declares none itself: each is its own project.
    assert found == [".", "tools/gen", "tools/gen/sub"]


def test_package_json_files_in_a_packages_fixtures_are_not_projects(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": '{"name": "plugin"}',
            "tests/fixtures/broken/package.json": "{ not json",
            "src/__fixtures__/app/package.json": '{"name": "app"}',
            "examples/demo/package.json": '{"name": "demo"}',
        },
    )
    projects = find_projects(tmp_path, [NodeVerifier()])
    assert [p.relative(tmp_path) for p in projects] == [".", "examples/demo"]


def test_package_manager_by_field_then_lockfile(tmp_path: Path) -> None:
    assert package_manager(tmp_path, {}).install_args() == ["install", "--no-package-lock"]
    (tmp_path / "package-lock.json").write_text("{}")
    assert package_manager(tmp_path, {}).install_args() == ["ci"]
    (tmp_path / "package-lock.json").unlink()
    (tmp_path / "yarn.lock").write_text("# yarn lockfile v1\n")
    classic = package_manager(tmp_path, {})
    assert (classic.name, classic.install_args()[1]) == ("yarn", "--frozen-lockfile")
    berry = package_manager(tmp_path, {"packageManager": "yarn@4.5.0"})
    assert (berry.yarn_berry, berry.install_args()) == (True, ["install", "--immutable"])
    pnpm = package_manager(tmp_path, {"packageManager": "pnpm@9.1.0"})
    assert (pnpm.name, pnpm.lockfile) == ("pnpm", None)


# --- real npm, ESLint, tsc and node -------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[Path, VerifyReport]:
    """The clean sample, installed and verified once; its node_modules seed the variants."""
    root = tmp_path_factory.mktemp("node") / "clean"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_files(root, sample.clean())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "clean")
    return root, verify(root, LocalRunner(cache_dir), ONLY_NODE)


def variant(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], files: dict[str, str]
) -> Path:
    """A repository of `files` with the clean sample's installed node_modules (hard links)."""
    root = make_repo(files)
    shutil.copytree(prepared[0] / "node_modules", root / "node_modules", copy_function=os.link)
    return root


def test_clean_sample_passes_in_one_line_and_leaves_the_tree_untouched(
    prepared: tuple[Path, VerifyReport],
) -> None:
    root, report = prepared
    assert report.ok, report.message
    assert report.message == "All checks passed (node; 2 tests passed)."
    (result,) = report.results
    assert result.tests is not None
    assert counts_json(result.tests) == {"run": 2, "failed": 0, "skipped": 0}
    # No lockfile written, no report left behind.
    assert git(root, "status", "--porcelain") == ""


def test_compile_error_from_tsc_fallback(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], local_runner: LocalRunner
) -> None:
    root = variant(make_repo, prepared, sample.compile_error())
    report = verify(root, local_runner, ONLY_NODE, prepare=False)
    (result,) = report.results
    # The tests still run (an excused build failure must not hide them); they pass here.
    assert [summary(f) for f in result.findings] == [
        (
            FindingKind.COMPILE,
            "src/math.js",
            19,
            "TS2322: Type 'string' is not assignable to type 'number'.",
        )
    ]
    assert result.tests is not None and result.tests.run == 2
    assert result.stages["test"].status == StageStatus.RAN


def test_tsc_keeps_its_build_info_in_the_cache_and_still_reports_unchanged_errors(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], local_runner: LocalRunner
) -> None:
    """tsc --incremental: the second check of an unchanged error reports it again (from the
    build info), an edit that fixes it passes, one that breaks it again fails; the build
    info lives in the cache, keyed by the checkout folder, never in the checkout."""
    root = variant(make_repo, prepared, sample.compile_error())

    def compile_findings() -> list[tuple[str | None, int | None]]:
        [result] = verify(root, local_runner, ONLY_NODE, prepare=False).results
        return [(f.file, f.line) for f in result.findings if f.kind == FindingKind.COMPILE]

    assert compile_findings() == [("src/math.js", 19)]
    info = list((local_runner.cache_dir / "tsc-build-info").glob("*.tsbuildinfo"))
    assert any(str(root.resolve()) in p.read_text() or "math.js" in p.read_text() for p in info)
    assert compile_findings() == [("src/math.js", 19)]
    write_files(root, {"src/math.js": sample.clean()["src/math.js"]})
    assert compile_findings() == []
    write_files(root, {"src/math.js": sample.compile_error()["src/math.js"]})
    assert compile_findings() == [("src/math.js", 19)]
    assert not list(root.rglob("*.tsbuildinfo"))


def test_failing_test_points_at_the_assertion(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], local_runner: LocalRunner
) -> None:
    root = variant(make_repo, prepared, sample.failing_test())
    (result,) = verify(root, local_runner, ONLY_NODE, prepare=False).results
    (finding,) = result.findings
    assert summary(finding) == (
        FindingKind.TEST,
        "test/math.test.js",
        10,
        "AssertionError: Expected values to be strictly equal:",
    )
    assert (finding.test_id, finding.context) == ("total sums a list", "6 !== 7")
    assert result.tests is not None
    assert counts_json(result.tests) == {"run": 2, "failed": 1, "skipped": 0}


def test_lint_violation_from_eslint_json(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], local_runner: LocalRunner
) -> None:
    root = variant(make_repo, prepared, sample.lint_violation())
    (result,) = verify(root, local_runner, ONLY_NODE, prepare=False).results
    assert [summary(f) for f in result.findings] == [
        (
            FindingKind.LINT,
            "src/math.js",
            7,
            "'unused' is assigned a value but never used. (no-unused-vars)",
        )
    ]
    assert result.tests is not None and result.tests.run == 2  # lint does not stop the tests


def test_unparseable_failures_become_findings_with_the_output_tail(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    crash = "console.error('lint crashed: bad config'); process.exit(2)"
    root = make_repo(
        {
            "package.json": json.dumps(
                {"name": "x", "scripts": {"lint": f'node -e "{crash}"', "test": "node check.js"}}
            ),
            "check.js": "console.log('3 checks, 1 failed: totals differ');\nprocess.exit(1);\n",
        }
    )
    (result,) = verify(root, local_runner, ONLY_NODE).results
    lint, test = result.findings
    assert summary(lint) == (
        FindingKind.ERROR,
        "package.json",
        None,
        "script `lint` failed (exit 2): lint crashed: bad config",
    )
    assert summary(test) == (
        FindingKind.TEST,
        "package.json",
        None,
        "script `test` failed (exit 1): 3 checks, 1 failed: totals differ",
    )


def test_workspace_packages_run_their_own_tests_from_the_root(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    failing = (
        'import { test } from "node:test";\nimport assert from "node:assert/strict";\n\n'
        'test("one", () => {\n  assert.equal(1 + 1, 3);\n});\n'
    )
    root = make_repo(
        {
            "package.json": json.dumps(
                {"name": "mono", "private": True, "workspaces": ["packages/*"]}
            ),
            "packages/a/package.json": json.dumps(
                {"name": "a", "type": "module", "scripts": {"test": "node --test"}}
            ),
            "packages/a/test/a.test.js": failing,
            ".gitignore": "node_modules/\n",
        }
    )
    report = verify(root, local_runner, ONLY_NODE)
    assert [r.project for r in report.results] == ["."]
    (finding,) = report.results[0].findings
    assert (finding.file, finding.line, finding.test_id) == ("packages/a/test/a.test.js", 5, "one")
    assert git(root, "status", "--porcelain") == ""


def test_unresolvable_dependency_is_an_error_finding_saying_why(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    package = {"name": "x", "devDependencies": {"typescript": "0.0.0-no-such-version"}}
    root = make_repo({"package.json": json.dumps(package)})
    (result,) = verify(root, local_runner, ONLY_NODE).results
    (finding,) = result.findings
    assert (finding.kind, finding.file) == (FindingKind.ERROR, "package.json")
    first, *why = finding.message.splitlines()
    assert first == "`npm install --no-package-lock` failed (exit 1):"
    assert any("No matching version found for typescript@0.0.0-no-such-version" in w for w in why)


def test_missing_npm_is_an_error_finding(
    make_repo: MakeRepo, cache_dir: Path, tmp_path: Path
) -> None:
    root = make_repo(sample.clean())
    (tmp_path / "empty").mkdir()
    runner = LocalRunner(cache_dir, base_env={**os.environ, "PATH": str(tmp_path / "empty")})
    (result,) = verify(root, runner, ONLY_NODE).results
    (finding,) = result.findings
    assert finding.kind == FindingKind.ERROR
    assert finding.message.startswith("npm is not installed where verifiers run")


def test_yarn_project_without_yarn_or_corepack_says_what_to_install(
    make_repo: MakeRepo, cache_dir: Path, tmp_path: Path
) -> None:
    root = make_repo({"package.json": json.dumps({"name": "y", "packageManager": "yarn@1.22.22"})})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("node", "npm"):  # node and npm, but neither yarn nor corepack
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    runner = LocalRunner(cache_dir, base_env={**os.environ, "PATH": str(bin_dir)})
    (result,) = verify(root, runner, ONLY_NODE).results
    (finding,) = result.findings
    assert finding.kind == FindingKind.ERROR
    assert "yarn is not installed and neither is corepack" in finding.message
    assert "npm install -g yarn" in finding.message


def test_prepare_installs_again_only_when_the_manifests_change(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    """npm ci wipes node_modules: a file it did not write survives only a skipped install."""
    lock = {
        "name": "p",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "p", "version": "1.0.0", "dependencies": {"dep": "file:dep"}},
            "dep": {"version": "1.0.0"},
            "node_modules/dep": {"resolved": "dep", "link": True},
        },
    }
    manifest = {"name": "p", "version": "1.0.0", "dependencies": {"dep": "file:dep"}}
    root = make_repo(
        {
            "package.json": json.dumps(manifest),
            "package-lock.json": json.dumps(lock),
            "dep/package.json": '{"name": "dep", "version": "1.0.0"}',
            ".gitignore": "node_modules/\n",
        }
    )
    ctx = ProjectContext(root, root, local_runner)
    marker = root / "node_modules" / "marker"
    NodeVerifier().prepare(ctx)
    marker.write_text("left by a test")
    NodeVerifier().prepare(ctx)
    assert marker.is_file()  # same manifests: not installed again
    (root / "package.json").write_text(json.dumps({**manifest, "description": "changed"}))
    NodeVerifier().prepare(ctx)
    assert not marker.exists()
    assert (root / "node_modules" / "dep").is_symlink()


def test_cli_verify_json_with_a_lockfile_runs_npm_ci(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], cache_dir: Path
) -> None:
    files = {
        **sample.failing_test(),
        ".corral.yaml": "verifiers:\n  disable: [" + ", ".join(ONLY_NODE.disable) + "]\n",
    }
    root = make_repo(files, commit=False)
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--prefer-offline"],
        cwd=root,
        env={**os.environ, **cache_env(cache_dir)},
        check=True,
        capture_output=True,
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "with lockfile")
    corral = Path(sys.executable).with_name("corral")
    proc = subprocess.run(
        [
            str(corral),
            "verify",
            str(root),
            "--json",
            "--sandbox",
            "local",
            "--cache-dir",
            str(cache_dir),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] is False
    (node,) = out["verifiers"]
    assert (node["name"], node["ok"], node["tests"]) == (
        "node",
        False,
        {"run": 2, "failed": 1, "skipped": 0},
    )
    (finding,) = node["findings"]
    assert (finding["file"], finding["line"], finding["kind"]) == ("test/math.test.js", 10, "test")
    assert "strictly equal" in finding["message"]
    assert "- test/math.test.js:10: [test] total sums a list:" in out["message"]
    # npm ci installed from the lockfile and left it as it was.
    assert (root / "node_modules" / "eslint").is_dir()
    assert git(root, "status", "--porcelain") == ""


def test_a_package_without_check_scripts_is_syntax_checked(make_repo: MakeRepo) -> None:
    """No lint, build or test script: node --check still runs, so a syntax error cannot pass."""
    package = json.dumps({"name": "tool", "version": "1.0.0", "bin": {"tool": "bin/tool.js"}})
    files = {
        "package.json": package,
        "bin/tool.js": "#!/usr/bin/env node\nconsole.log(require('../lib/add.js')(1, 2));\n",
        "lib/add.js": "module.exports = (a, b) => a + b;\n",
    }
    runner = LocalRunner(Path("/nonexistent-cache"))
    clean = verify(make_repo(files, name="clean"), runner, ONLY_NODE, prepare=False)
    assert clean.ok, clean.message
    broken = {**files, "lib/add.js": "module.exports = (a, b) => a + ;\n"}
    report = verify(make_repo(broken, name="broken"), runner, ONLY_NODE, prepare=False)
    [finding] = report.results[0].findings
    assert summary(finding) == (
        FindingKind.COMPILE,
        "lib/add.js",
        1,
        "SyntaxError: Unexpected token ';'",
    )


# --- chained scripts, stages and TAP ----------------------------------------------------


def test_chained_scripts_split_into_their_commands() -> None:
    assert script_parts("xo && ava && tsd") == ["xo", "ava", "tsd"]
    assert script_parts("eslint 'src/**/*.js' && node --test") == [
        "eslint 'src/**/*.js'",
        "node --test",
    ]
    # A `cd` is carried into the commands after it, as the shell would have it.
    assert script_parts("cd web && tsc && jest") == ["cd web && tsc", "cd web && jest"]
    # One command, `&&` inside quotes, or shell syntax that cannot be split: run whole.
    assert script_parts("jest --ci") is None
    assert script_parts('node -e "a && b"') is None
    assert script_parts("lint || true && jest") is None
    assert script_parts("(cd a && jest) && tsd") is None


def test_tap_from_ava_names_each_failure_counts_and_skips(tmp_path: Path) -> None:
    for name in ("add.test.js", "b.test.js"):
        (tmp_path / "test").mkdir(exist_ok=True)
        (tmp_path / "test" / name).write_text(
            "import test from 'ava';\n\ntest('adds', t => {\n\tconst x = 1;\n"
            "\tt.is(add(2, 2), 4);\n});\n"
        )
    rel = rel_to(str(tmp_path))
    findings, counts = parse_tap(recorded("ava-tap.txt"), rel, tap_locator(tmp_path, rel))
    assert counts == TestCounts(run=4, failed=2, skipped=2)
    assert [summary(f) for f in findings] == [
        (FindingKind.TEST, "test/add.test.js", 5, "AssertionError: t.is() failed"),
        (FindingKind.TEST, "test/b.test.js", 5, "AssertionError: t.is() failed"),
    ]
    assert findings[0].test_id == "add \u203a adds"
    assert findings[0].context == "Difference (- actual, + expected):\n- 0\n+ 4"


_UVU = """index.js
 exports  ✘   (0 / 2)

  FAIL  exports  "is a function"
    Expected values to be strictly equal:  (is)

        ++true    (Expected)
        --false   (Actual)

    at assert (/r/node_modules/uvu/assert/index.js:31:8)
    at Object.handler (/r/test/index.js:16:9)
    at Number.runner (/r/node_modules/uvu/dist/index.js:92:16)

  FAIL  exports  "throws"
    boom

    at Object.handler (/r/test/index.js:20:29)


  Total:     2
  Passed:    0
  Skipped:   0
  Duration:  1.02ms

lite.js
 exports  •   (1 / 1)

  Total:     1
  Passed:    1
  Skipped:   0
"""


def test_uvu_console_report_names_each_failure_at_its_line_in_the_test() -> None:
    """uvu has no structured reporter: its FAIL blocks and totals are read (one per file)."""
    findings, counts = parse_uvu(_UVU, rel_to("/r"))
    assert [(f.file, f.line, f.message, f.test_id) for f in findings] == [
        (
            "test/index.js",
            16,
            "Expected values to be strictly equal:  (is)",
            "exports is a function",
        ),
        ("test/index.js", 20, "boom", "exports throws"),
    ]
    assert counts == TestCounts(run=3, failed=2)


_NESTED_TAP = """TAP version 13
# Subtest: suite
    not ok 1 - inner
      ---
      location: '/home/runner/work/p/p/test/a.test.js:3:3'
      error: 'boom'
      ...
    1..1
not ok 1 - suite
  ---
  failureType: 'subtestsFailed'
  ...
ok 2 - other # SKIP not here
1..2
"""


def test_one_tap_reader_for_the_verifier_and_ci_logs() -> None:
    """Subtests (indented) and their diagnostics, each block ending at its own `...`."""
    inner, suite, other = tap_results(_NESTED_TAP.splitlines())
    assert (inner.ok, inner.name, inner.indent) == (False, "inner", 4)
    assert inner.diagnostics()["error"] == "boom"
    assert suite.diagnostics() == {"failureType": "subtestsFailed"}
    assert (other.ok, other.directive, other.block) == (True, "SKIP", [])
    # The verifier counts top-level results; CI condensation names the failing subtest.
    _, counts = parse_tap(_NESTED_TAP, rel_to("/r"))
    assert counts == TestCounts(run=1, failed=1, skipped=1)
    assert condense(_NESTED_TAP).locations == [("test/a.test.js", 3)]


_LINT_JS = "console.error('lint: src/a.js:1 uses var');\nprocess.exit(1);\n"
_NODE_TEST = (
    'import { test } from "node:test";\nimport assert from "node:assert/strict";\n'
    'import { add } from "../src/a.js";\n\n'
    'test("adds", () => {\n  assert.equal(add(1, 2), 3);\n});\n'
)


def test_a_failing_first_command_does_not_keep_the_tests_from_running(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    """`lint && node --test`: the lint part fails at both commits; run whole, the chain never
    reached the tests and the excused failure passed a change that breaks one."""
    package = {
        "name": "chained",
        "type": "module",
        "scripts": {"test": "node lint.js && node --test"},
    }
    root = make_repo(
        {
            "package.json": json.dumps(package),
            "lint.js": _LINT_JS,
            "src/a.js": "export const add = (a, b) => a + b;\n",
            "test/a.test.js": _NODE_TEST,
        }
    )
    report = verify_path(root, local_runner, ONLY_NODE, baseline_ref="HEAD")
    assert report.ok, report.message  # untouched: the lint failure is excused, the test ran
    assert report.message.endswith("1 test passed).")
    write_files(root, {"src/a.js": "export const add = (a, b) => a - b;\n"})
    report = verify_path(root, local_runner, ONLY_NODE, baseline_ref="HEAD")
    [result] = report.results
    lint, test = result.findings
    assert (lint.new, lint.message) == (
        False,
        "`node lint.js` (script `test`) failed (exit 1): lint: src/a.js:1 uses var",
    )
    assert (test.new, test.file, test.line, test.test_id) == (True, "test/a.test.js", 6, "adds")
    assert result.tests == TestCounts(run=1, failed=1)
    assert not report.ok


def test_a_part_launched_through_the_package_manager_runs_its_binary(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    """`lint && pnpm checker`: each part runs under `sh`, where pnpm (run through corepack)
    is not on the PATH; the part is the installed binary `checker` itself."""
    package = {
        "name": "launched",
        "scripts": {"test": "node ok.js && pnpm checker src"},
        "devDependencies": {"checker": "file:./vendor/checker"},
    }
    checker = {"name": "checker", "version": "1.0.0", "bin": {"checker": "bin.js"}}
    root = make_repo(
        {
            "package.json": json.dumps(package),
            "ok.js": "process.exit(0);\n",
            "src/a.js": "var a = 1;\n",
            "vendor/checker/package.json": json.dumps(checker),
            "vendor/checker/bin.js": "#!/usr/bin/env node\n"
            "console.error('checker: src/a.js:1 uses var');\nprocess.exit(1);\n",
        }
    )
    report = verify(root, local_runner, ONLY_NODE)
    assert len(report.results) == 1
    assert "not found" not in report.message
    assert "failed (exit 1): checker: src/a.js:1 uses var" in report.message, report.message


def test_a_runner_that_stops_before_reporting_is_a_stage_that_did_not_run(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    """node --test whose reporter cannot load writes no report: no pass, even when excused."""
    package = {"name": "stops", "type": "module", "scripts": {"test": "node --test"}}
    root = make_repo(
        {
            "package.json": json.dumps(package),
            "test/a.test.js": _NODE_TEST,
            "src/a.js": "export const add = (a, b) => a + b;\n",
            ".npmrc": "node-options=--require ./missing-preload.cjs\n",
        }
    )
    report = verify_path(root, local_runner, ONLY_NODE, baseline_ref="HEAD")
    [result] = report.results
    assert result.stages["test"].status == StageStatus.STOPPED
    assert not report.ok
    assert any(f.new and f.kind == FindingKind.ERROR for f in result.findings)


def test_fixing_flags_are_dropped_so_a_check_never_writes() -> None:
    assert writes_files("eslint --fix .") and check_mode("eslint --fix .") == "eslint  ."
    assert check_mode("prettier --write src") == "prettier --check src"
    assert check_mode("prettier -w .") == "prettier --check ."
    assert not writes_files("eslint .") and check_mode("node fix.js --fix") == "node fix.js --fix"


# --- the Node version the project asks for -------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "meets"),
    [
        ("^22 || ^24 || >=26", False),
        (">=20", True),
        ("20.x", True),
        ("18", False),
        ("v20.5.1", True),
        (">=14 <20", False),
        ("14 - 20", True),
        ("~20.4", False),
        ("lts/*", None),
    ],
)
def test_node_version_ranges(wanted: str, meets: bool | None) -> None:
    assert node_satisfies((20, 5, 1), wanted) is meets


def test_a_node_version_file_wins_over_engines_and_aliases_name_none(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"engines": {"node": ">=18"}}))
    assert node_version_pin(tmp_path, tmp_path) == (">=18", "package.json engines.node")
    (tmp_path / ".nvmrc").write_text("v22.3.0\n")
    assert node_version_pin(tmp_path, tmp_path) == ("v22.3.0", ".nvmrc")
    (tmp_path / ".nvmrc").write_text("lts/*\n")
    assert node_version_pin(tmp_path, tmp_path) is None


def test_a_node_the_machine_lacks_is_said_once_in_the_message(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    """Its tests may fail for that Node's reasons: the agent is told which Node checked."""
    package = {"name": "p", "version": "1.0.0", "engines": {"node": ">=999"}}
    package["scripts"] = {"test": "node test.js"}  # type: ignore[assignment]
    root = make_repo({"package.json": json.dumps(package), "test.js": "process.exit(0)\n"})
    report = verify(root, local_runner, ONLY_NODE)
    [result] = report.results
    [note] = result.notes
    assert "asks for Node >=999 (package.json engines.node)" in note
    assert report.message.count(">=999") == 1


def test_an_old_mocha_reports_its_failures_at_their_line(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    """mocha 3 knows `--reporter-options` only: `--reporter-option` stopped it before a test."""
    package = {
        "name": "old-mocha",
        "scripts": {"test": "mocha"},
        "devDependencies": {"mocha": "3.5.3"},
    }
    test = (
        "const assert = require('assert');\n\n"
        "describe('add', function () {\n"
        "  it('adds', function () {\n"
        "    assert.strictEqual(1 + 1, 3);\n"
        "  });\n"
        "});\n"
    )
    root = make_repo({"package.json": json.dumps(package), "test/add.js": test})
    report = verify(root, local_runner, ONLY_NODE)
    [result] = report.results
    assert result.tests == TestCounts(run=1, failed=1)
    assert [(f.file, f.line) for f in result.findings] == [("test/add.js", 5)]


def test_a_script_that_fails_without_a_location_is_explained_by_a_syntax_error(
    make_repo: MakeRepo, local_runner: LocalRunner
) -> None:
    """A bundler or runner that crashes on a syntax error says nowhere where it is; the
    package's own ES module is checked directly (`node --check` alone passes it on Node 20)."""
    runner = "import('./src/index.js').catch(() => { console.log('crashed'); process.exit(1); });\n"
    root = make_repo(
        {
            "package.json": json.dumps({"name": "p", "scripts": {"test": "node run.js"}}),
            "run.js": runner,
            "src/index.js": "export const one = 1;\nexport const two = ;\n",
        }
    )
    report = verify(root, local_runner, ONLY_NODE)
    [result] = report.results
    located = [(f.file, f.line, f.kind) for f in result.findings if f.line]
    assert located == [("src/index.js", 2, FindingKind.COMPILE)], report.message


def test_the_first_error_line_of_a_crash_names_the_error_not_nodes_version() -> None:
    crash = (
        "node:internal/modules/cjs/loader:1\n  throw err;\n  ^\n\n"
        'TypeError [ERR_INVALID_ARG_TYPE]: The "path" argument must be of type string\n'
        "    at Module._load (node:internal/modules/cjs/loader:1091:12)\n\nNode.js v20.20.2\n"
    )
    cause, _ = first_error_lines(crash)
    assert cause == 'TypeError [ERR_INVALID_ARG_TYPE]: The "path" argument must be of type string'


_FAKE_COREPACK = """#!/bin/sh
# corepack as on a registry whose metadata carries no signature it knows
if [ "$COREPACK_INTEGRITY_KEYS" != "0" ]; then
  echo "Error: No compatible signature found in package metadata" >&2; exit 1
fi
shift  # the manager's name
case "$1" in
  install) mkdir -p node_modules; exit 0 ;;
  run) shift; exec sh -c "$(node -p "require('./package.json').scripts['$1']")" ;;
esac
exit 2
"""


def test_pnpm_through_a_corepack_that_cannot_verify_signatures(
    make_repo: MakeRepo, cache_dir: Path, tmp_path: Path
) -> None:
    """Corepack refused every pnpm on a registry without signatures it knows: the install
    failed and nothing was checked. The manager is then fetched unverified, as dependencies are."""
    if shutil.which("pnpm"):
        pytest.skip("pnpm is installed: corepack is not used")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "corepack").write_text(_FAKE_COREPACK)
    (bin_dir / "corepack").chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    local_runner = LocalRunner(cache_dir, base_env={**os.environ, "PATH": path})
    package = {"name": "p", "packageManager": "pnpm@9.0.0", "scripts": {"test": "node --test"}}
    root = make_repo({"package.json": json.dumps(package), "test/a.test.js": _NODE_TEST_OK})
    report = verify(root, local_runner, ONLY_NODE)
    assert report.ok, report.message
    assert report.message.endswith("1 test passed).")


_NODE_TEST_OK = 'import { test } from "node:test";\ntest("ok", () => {});\n'


def test_tsc_build_info_of_a_checkout_that_is_gone_is_removed_when_another_is_made(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    gone, kept, new = tmp_path / "gone", tmp_path / "kept", tmp_path / "new"
    infos = {}
    for folder in (gone, kept):
        folder.mkdir()
        ctx = ProjectContext(folder, folder, LocalRunner(cache))
        infos[folder] = build_info_path(ctx, [])
        infos[folder].write_text("{}")
    shutil.rmtree(gone)
    new.mkdir()
    build_info_path(ProjectContext(new, new, LocalRunner(cache)), [])
    assert not infos[gone].exists() and not infos[gone].with_suffix(".owner").exists()
    assert infos[kept].read_text() == "{}"


_HALF = (
    "/**\n * @param {number} n\n * @returns {number}\n */\n"
    "export function half(n) {\n  return n / 2;\n}\n"
)
_USE = 'import { half } from "./half.js";\n\n/** @type {number} */\nexport const ONE = half(2);\n'


def _checkouts(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], files: dict[str, str], *names: str
) -> list[Path]:
    """Checkouts of one new repository (clones of its origin), each with installed node_modules."""
    origin = make_repo(files, name=f"origin-{names[0]}")
    clones = []
    for name in names:
        clone = origin.parent / name
        git(origin.parent, "clone", "-q", str(origin), str(clone))
        shutil.copytree(prepared[0] / "node_modules", clone / "node_modules", copy_function=os.link)
        clones.append(clone)
    return clones


def _compile_findings(root: Path, runner: LocalRunner) -> list[tuple[str | None, int | None]]:
    [result] = verify(root, runner, ONLY_NODE, prepare=False).results
    return sorted((f.file, f.line) for f in result.findings if f.kind == FindingKind.COMPILE)


def _seeded(root: Path, runner: LocalRunner) -> Path | None:
    """The checkout's build info as a new checkout starts with it (None when not seeded)."""
    ctx = ProjectContext(root, root, runner)
    inputs = tsc_inputs(ctx)
    assert inputs is not None
    path = build_info_path(ctx, inputs)
    return path if path.is_file() else None


def test_a_new_checkout_starts_from_the_build_info_of_its_own_repository_only(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], tmp_path: Path
) -> None:
    """tsc trusts a build info for unchanged files: the seed a checkout kept reaches the next
    checkout of the same repository (paths rebased onto it, its error still reported), never a
    checkout of another repository with the same content, and never the checkout itself."""
    runner = LocalRunner(tmp_path / "shared-cache")  # shared by both repositories
    first, second = _checkouts(make_repo, prepared, sample.compile_error(), "first", "second")
    [other] = _checkouts(make_repo, prepared, sample.compile_error(), "other")
    assert _compile_findings(first, runner) == [("src/math.js", 19)]

    seeded = _seeded(second, runner)
    assert seeded is not None
    text = seeded.read_text()
    assert "/second/src/math.js" in text and "/first/" not in text
    assert _seeded(other, runner) is None
    assert _compile_findings(second, runner) == [("src/math.js", 19)]
    assert _compile_findings(other, runner) == [("src/math.js", 19)]
    for root in (first, second, other):
        assert git(root, "status", "--porcelain", "--ignored") == "!! node_modules/\n"


def test_a_seeded_checkout_rechecks_a_changed_file_and_its_dependents(
    make_repo: MakeRepo, prepared: tuple[Path, VerifyReport], tmp_path: Path
) -> None:
    """From the seed of a checkout where half() returns a number: a new checkout where it
    returns a string reports the unchanged use.js that now misuses it, and still reports the
    unchanged error in math.js."""
    runner = LocalRunner(tmp_path / "cache")
    files = {**sample.compile_error(), "src/half.js": _HALF, "src/use.js": _USE}
    first, second = _checkouts(make_repo, prepared, files, "first", "second")
    assert _compile_findings(first, runner) == [("src/math.js", 19)]
    write_files(
        second,
        {
            "src/half.js": _HALF.replace("{number}\n */", "{string}\n */").replace(
                "n / 2", "String(n / 2)"
            )
        },
    )
    assert _seeded(second, runner) is not None
    assert _compile_findings(second, runner) == [("src/math.js", 19), ("src/use.js", 4)]
    write_files(second, {"src/half.js": _HALF})
    assert _compile_findings(second, runner) == [("src/math.js", 19)]


def test_a_seed_planted_as_a_link_is_not_read(make_repo: MakeRepo, tmp_path: Path) -> None:
    """A sandboxed command can write the cache: a seed that is a link to a host file is not
    followed (its text would land in a build info the sandbox reads)."""
    origin = make_repo({"src/a.ts": "export {};\n"}, name="origin")
    runner = LocalRunner(tmp_path / "cache")
    contexts = []
    for name in ("first", "second"):
        git(tmp_path, "clone", "-q", str(origin), str(tmp_path / name))
        contexts.append(ProjectContext(tmp_path / name, tmp_path / name, runner))
    first = build_info_path(contexts[0], ["5.9.3"])
    prefix = os.path.relpath(contexts[0].repo_root.resolve(), first.parent)
    first.write_text(json.dumps({"fileNames": [f"{prefix}/src/a.ts"], "version": "5.9.3"}))
    keep_seed(contexts[0], first, ["5.9.3"])
    [seed] = (runner.cache_dir / SEEDS).iterdir()
    outside = tmp_path / "host-file"
    seed.rename(outside)
    seed.symlink_to(outside)
    assert not build_info_path(contexts[1], ["5.9.3"]).exists()
    seed.unlink()
    outside.rename(seed)
    assert "/second/src/a.ts" in build_info_path(contexts[1], ["5.9.3"]).read_text()


def test_rebase_rewrites_only_paths_into_the_old_checkout() -> None:
    old = Rebase("/w/a", "../../../w/a", "a.tsbuildinfo")
    new = Rebase("/w/b", "../../../w/b", "b.tsbuildinfo")
    info = {
        "fileNames": ["../../../w/a/src/x.ts", "../../../w/ab/y.ts", "../../../usr/lib/z.d.ts"],
        "options": {"tsBuildInfoFile": "./a.tsbuildinfo"},
        "semanticDiagnosticsPerFile": [[1, [{"messageText": "Type 'import(\"/w/a/src/x\")'"}]]],
    }
    assert rebase(info, old, new) == {
        "fileNames": ["../../../w/b/src/x.ts", "../../../w/ab/y.ts", "../../../usr/lib/z.d.ts"],
        "options": {"tsBuildInfoFile": "./b.tsbuildinfo"},
        "semanticDiagnosticsPerFile": [[1, [{"messageText": "Type 'import(\"/w/b/src/x\")'"}]]],
    }
    # nothing of the old checkout named: nothing to reuse
    assert rebase({"fileNames": ["../../../usr/lib/z.d.ts"]}, old, new) is None
    # a checkout that holds the build info's folder: paths out of it share its prefix
    assert rebase({"fileNames": ["../../src/x.ts"]}, Rebase("/w", "../..", "a"), new) is None
