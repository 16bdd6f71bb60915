"""CI log condensation on small logs written here in each tool's real console format, wrapped
the way CI services wrap them (timestamps, group markers, colours, runner paths)."""

from __future__ import annotations

import pytest

from corral.ci import UnknownToolError, condense
from corral.ci.infra import classify_infrastructure
from corral.ci.logtext import clean_lines
from corral.ci.paths import PathMapper, checkout_roots

ROOT = "/home/runner/work/shop/shop"


def actions(*lines: str) -> str:
    """Lines as GitHub Actions' job log has them: a timestamp before each."""
    return "\n".join(
        f"2024-05-01T10:00:{i % 60:02d}.1234567Z {line}" for i, line in enumerate(lines)
    )


def where(raw: str, **kwargs: object) -> list[tuple[str | None, int | None]]:
    return [(f.finding.file, f.finding.line) for f in condense(raw, **kwargs).findings]  # type: ignore[arg-type]


# --- the CI service's markup and paths -------------------------------------------------------


def test_timestamps_groups_colours_and_progress_redraws_are_removed() -> None:
    raw = actions(
        "##[group]Run pytest",
        "\x1b[36;1mpytest -q\x1b[0m",
        "##[endgroup]",
        "downloading 10%\rdownloading 100%",
        "##[error]Process completed with exit code 1.",
    )

    assert clean_lines(raw) == [
        "pytest -q",
        "downloading 100%",
        "Process completed with exit code 1.",
    ]


def test_gitlab_sections_and_gh_cli_prefixes_are_removed() -> None:
    gitlab = "section_start:1700000000:step_script\r\x1b[0KExecuting step_script\n$ make"
    gh = "build\tRun make\t2024-05-01T10:00:00.1234567Z make: *** [all] Error 2"

    assert clean_lines(gitlab) == ["Executing step_script", "$ make"]
    assert clean_lines(gh) == ["make: *** [all] Error 2"]


@pytest.mark.parametrize(
    ("printed", "repository_path"),
    [
        (f"{ROOT}/src/shop/cart.py", "src/shop/cart.py"),
        ("/Users/runner/work/shop/shop/src/a.go", "src/a.go"),
        ("D:\\a\\shop\\shop\\src\\Cart.java", "src/Cart.java"),
        ("/builds/acme/shop/lib/x.rb", "lib/x.rb"),
        ("/__w/shop/shop/app.ts", "app.ts"),
        ("file:///home/runner/work/shop/shop/test/a.test.js", "test/a.test.js"),
        ("./pkg/a.go", "pkg/a.go"),
        ("/usr/lib/python3.12/unittest/case.py", "/usr/lib/python3.12/unittest/case.py"),
    ],
)
def test_runner_checkout_folders_map_to_repository_paths(
    printed: str, repository_path: str
) -> None:
    assert PathMapper().rel(printed) == repository_path


def test_the_checkout_folder_the_log_names_wins_over_conventions() -> None:
    lines = ["Initialized empty Git repository in /builds/acme/team/shop/.git/"]
    mapper = PathMapper(checkout_roots(lines))

    assert mapper.rel("/builds/acme/team/shop/src/a.py") == "src/a.py"


def test_repository_files_resolve_class_and_package_relative_paths() -> None:
    mapper = PathMapper(
        repo_files=["core/src/test/java/com/acme/CartTest.java", "pkg/cart/cart_test.go"]
    )

    assert mapper.rel("com/acme/CartTest.java") == "core/src/test/java/com/acme/CartTest.java"
    assert mapper.rel("cart_test.go") == "pkg/cart/cart_test.go"
    assert mapper.rel("other/unknown.py") == "other/unknown.py"


# --- JVM -------------------------------------------------------------------------------------


def test_maven_javac_errors_and_their_repeats_in_the_summary() -> None:
    error = f"[ERROR] {ROOT}/core/src/main/java/com/acme/Cart.java:[12,17] cannot find symbol"
    raw = actions(
        "[INFO] --- maven-compiler-plugin:3.11.0:compile (default-compile) @ core ---",
        "[ERROR] COMPILATION ERROR : ",
        error,
        "  symbol:   variable totl",
        "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:"
        "compile (default-compile) on project core: Compilation failure",
        error,
    )

    result = condense(raw)

    assert where(raw) == [("core/src/main/java/com/acme/Cart.java", 12)]
    assert result.findings[0].tool == "javac"
    assert "symbol:   variable totl" in result.message


def test_surefire_failures_from_the_summary_and_the_stack_trace() -> None:
    raw = actions(
        "[ERROR] Tests run: 2, Failures: 1, Errors: 1, Skipped: 0, Time elapsed: 0.05 s "
        "<<< FAILURE! -- in com.acme.CartTest",
        "[ERROR] com.acme.CartTest.sums -- Time elapsed: 0.01 s <<< FAILURE!",
        "org.opentest4j.AssertionFailedError: expected: <5> but was: <4>",
        "\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:151)",
        "\tat com.acme.CartTest.sums(CartTest.java:21)",
        "[ERROR] com.acme.CartTest.empty -- Time elapsed: 0 s <<< ERROR!",
        "java.lang.NullPointerException: items",
        "\tat com.acme.Cart.total(Cart.java:8)",
        "\tat com.acme.CartTest.empty(CartTest.java:30)",
        "[INFO] Results:",
        "[ERROR] Failures: ",
        "[ERROR]   CartTest.sums:21 expected: <5> but was: <4>",
        "[ERROR] Errors: ",
        "[ERROR]   CartTest.empty:30 \u00bb NullPointer items",
        "[ERROR] Tests run: 2, Failures: 1, Errors: 1, Skipped: 0",
    )

    findings = {f.finding.test_id: f.finding for f in condense(raw).findings}

    assert (findings["CartTest.sums"].file, findings["CartTest.sums"].line) == (
        "com/acme/CartTest.java",
        21,
    )
    assert findings["CartTest.sums"].message == "expected: <5> but was: <4>"
    assert findings["CartTest.empty"].line == 30
    assert findings["CartTest.empty"].message == "NullPointer items"


def test_gradle_kotlinc_javac_and_failed_tests() -> None:
    raw = actions(
        "> Task :app:compileKotlin FAILED",
        f"e: file://{ROOT}/app/src/main/kotlin/com/acme/Cart.kt:7:13 Unresolved reference: totl",
        f"{ROOT}/lib/src/main/java/com/acme/Util.java:4: error: ';' expected",
        "com.acme.CartTest > sums() FAILED",
        "    org.opentest4j.AssertionFailedError at CartTest.kt:15",
    )

    assert where(raw) == [
        ("app/src/main/kotlin/com/acme/Cart.kt", 7),
        ("lib/src/main/java/com/acme/Util.java", 4),
        ("com/acme/CartTest.kt", 15),
    ]


def test_checkstyle_errors_from_maven_and_gradle() -> None:
    raw = actions(
        f"[ERROR] {ROOT}/src/main/java/com/acme/Cart.java:[3,8] (imports) UnusedImports: "
        "Unused import - java.util.List.",
        f"[ant:checkstyle] [ERROR] {ROOT}/src/main/java/com/acme/Util.java:9:1: "
        "Missing a Javadoc comment. [MissingJavadocType]",
    )

    result = condense(raw)

    assert where(raw) == [
        ("src/main/java/com/acme/Cart.java", 3),
        ("src/main/java/com/acme/Util.java", 9),
    ]
    assert {f.tool for f in result.findings} == {"checkstyle"}


# --- Python ----------------------------------------------------------------------------------


def test_pytest_failures_at_the_test_line_and_collection_errors_at_the_import() -> None:
    raw = actions(
        "=================================== FAILURES ===================================",
        "________________________________ test_total _________________________________",
        "",
        "    def test_total():",
        ">       assert total([2, 3]) == 6",
        "E       assert 5 == 6",
        "E        +  where 5 = total([2, 3])",
        "",
        "tests/test_cart.py:9: AssertionError",
        "==================================== ERRORS ====================================",
        "____________________ ERROR collecting tests/test_api.py _____________________",
        "ImportError while importing test module '/home/runner/work/shop/shop/tests/test_api.py'.",
        "tests/test_api.py:1: in <module>",
        "    from shop.api import app",
        "src/shop/api.py:3: in <module>",
        "    import fastapi",
        "E   ModuleNotFoundError: No module named 'fastapi'",
        "=========================== short test summary info ============================",
        "FAILED tests/test_cart.py::test_total - assert 5 == 6",
        "ERROR tests/test_api.py",
        "========================= 1 failed, 1 error in 0.12s ==========================",
    )

    result = condense(raw)

    assert where(raw) == [("src/shop/api.py", 3), ("tests/test_cart.py", 9)]
    assert "No module named 'fastapi'" in result.message
    assert "assert 5 == 6" in result.message


def test_unittest_tracebacks_point_at_the_deepest_frame_in_the_repository() -> None:
    raw = actions(
        "======================================================================",
        "FAIL: test_total (tests.test_cart.CartTest.test_total)",
        "----------------------------------------------------------------------",
        "Traceback (most recent call last):",
        f'  File "{ROOT}/tests/test_cart.py", line 12, in test_total',
        "    self.assertEqual(total([2, 3]), 6)",
        '  File "/usr/lib/python3.12/unittest/case.py", line 885, in assertEqual',
        "    assertion_func(first, second, msg=msg)",
        "AssertionError: 5 != 6",
    )

    result = condense(raw)

    assert where(raw) == [("tests/test_cart.py", 12)]
    assert result.findings[0].finding.message == "AssertionError: 5 != 6"


def test_ruff_concise_and_full_formats_and_mypy() -> None:
    raw = actions(
        "src/shop/cart.py:1:8: F401 [*] `os` imported but unused",
        "E501 Line too long (120 > 100)",
        " --> src/shop/api.py:14:101",
        "Would reformat: src/shop/util.py",
        'src/shop/cart.py:20: error: Incompatible return value type (got "str", expected '
        '"int")  [return-value]',
        "Found 1 error in 1 file (checked 3 source files)",
    )

    assert where(raw) == [
        ("src/shop/cart.py", 20),
        ("src/shop/api.py", 14),
        ("src/shop/cart.py", 1),
        ("src/shop/util.py", None),
    ]


# --- Go and Rust -----------------------------------------------------------------------------


def test_go_build_vet_and_test_failures_with_and_without_v() -> None:
    raw = actions(
        "# github.com/acme/shop/cart",
        "cart/cart.go:14:9: undefined: totl",
        "# github.com/acme/shop/api",
        "vet: api/handler.go:30:2: unreachable code",
        "=== RUN   TestSum",
        "    sum_test.go:12: got 4, want 5",
        "--- FAIL: TestSum (0.00s)",
        "FAIL",
        "FAIL\tgithub.com/acme/shop/calc\t0.003s",
        "--- FAIL: TestParse (0.00s)",
        "    parse_test.go:40: unexpected token",
        "FAIL\tgithub.com/acme/shop/v2/parse\t0.002s",
    )

    assert where(raw) == [
        ("api/handler.go", 30),
        ("cart/cart.go", 14),
        ("calc/sum_test.go", 12),
        ("parse/parse_test.go", 40),
    ]


def test_rustc_errors_and_libtest_panics_old_and_new() -> None:
    raw = actions(
        "error[E0425]: cannot find value `totl` in this scope",
        "  --> src/cart.rs:12:5",
        "   |",
        "error: aborting due to 1 previous error",
        "failures:",
        "",
        "---- tests::sums stdout ----",
        "thread 'tests::sums' panicked at src/lib.rs:30:9:",
        "assertion `left == right` failed",
        "---- tests::old stdout ----",
        "thread 'tests::old' panicked at 'index out of bounds', src/util.rs:8:5",
        "",
        "failures:",
        "    tests::old",
        "    tests::sums",
        "test tests::old ... FAILED",
        "test tests::sums ... FAILED",
        "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
    )

    assert where(raw) == [("src/cart.rs", 12), ("src/lib.rs", 30), ("src/util.rs", 8)]


# --- JavaScript and TypeScript ---------------------------------------------------------------


def test_tsc_and_eslint() -> None:
    raw = actions(
        "src/cart.ts(4,7): error TS2322: Type 'string' is not assignable to type 'number'.",
        f"{ROOT}/src/api.ts",
        "  10:5  error  'x' is assigned a value but never used  @typescript-eslint/no-unused-vars",
        "  11:1  warning  Unexpected console statement  no-console",
        "",
        "\u2716 1 problem (1 error, 0 warnings)",
    )

    assert where(raw) == [("src/cart.ts", 4), ("src/api.ts", 10)]


def test_jest_failures_at_the_test_line() -> None:
    raw = actions(
        "FAIL src/cart.test.js",
        "  \u25cf cart \u203a sums items",
        "",
        "    expect(received).toBe(expected) // Object.is equality",
        "",
        "    Expected: 6",
        "    Received: 5",
        "",
        "      10 |   test('sums items', () => {",
        "    > 11 |     expect(sum([2, 3])).toBe(6);",
        "         |                         ^",
        "",
        "      at Object.<anonymous> (src/cart.test.js:11:25)",
        "",
        "Test Suites: 1 failed, 1 total",
    )

    result = condense(raw)

    assert where(raw) == [("src/cart.test.js", 11)]
    assert result.findings[0].finding.message.startswith("expect(received).toBe(expected)")


def test_vitest_failures_listed_together_share_their_error_and_location() -> None:
    raw = actions(
        "\u23af\u23af\u23af Failed Tests 2 \u23af\u23af\u23af",
        "",
        " FAIL  test/cart.test.ts > cart > sums",
        " FAIL  test/cart.test.ts > cart > sums twice",
        "AssertionError: expected 5 to be 6 // Object.is equality",
        " \u276f total test/helpers.ts:3:10",
        " \u276f test/cart.test.ts:8:20",
        "",
        "\u23af\u23af\u23af[1/2]\u23af",
        " Test Files  1 failed (1)",
    )

    result = condense(raw)

    # Both tests failed at one line of the test file: the location is given once.
    assert result.locations == [("test/cart.test.ts", 8)]
    assert "expected 5 to be 6" in result.message


def test_mocha_node_test_tap_and_ava() -> None:
    raw = actions(
        "  1 failing",
        "",
        "  1) Cart",
        "       sums items:",
        "     AssertionError [ERR_ASSERTION]: 5 == 6",
        f"      at Context.<anonymous> ({ROOT}/test/cart.spec.js:9:12)",
        "",
        "not ok 2 - parses",
        "  ---",
        "  duration_ms: 1.2",
        f"  location: '{ROOT}/test/parse.test.mjs:4:1'",
        "  failureType: 'testCodeFailure'",
        "  error: 'Expected values to be strictly equal'",
        "  code: 'ERR_ASSERTION'",
        "  stack: |-",
        f"    TestContext.<anonymous> (file://{ROOT}/test/parse.test.mjs:6:10)",
        "  ...",
        "  \u2718 [fail]: formats Difference (- actual, + expected):",
        "",
        "  formats",
        "",
        "  test/format.js:12",
        "",
        "   11: test('formats', t => {",
        "   12:   t.is(format(1), '1.00');",
    )

    assert where(raw) == [
        ("test/cart.spec.js", 9),
        ("test/format.js", 12),
        ("test/parse.test.mjs", 6),
    ]


# --- fallbacks, budget, tools ----------------------------------------------------------------


def test_an_unknown_tool_gives_its_error_lines_and_a_generic_compiler_line_is_read() -> None:
    unknown = actions("Step 3/7 : RUN make", "make: *** [Makefile:12: all] Error 2")
    compiler = actions("src/cart.c:8:3: error: 'totl' undeclared (first use in this function)")

    fallback = condense(unknown)

    assert fallback.fallback
    assert "make: *** [Makefile:12: all] Error 2" in fallback.message
    assert where(compiler) == [("src/cart.c", 8)]


def test_a_long_log_keeps_every_failing_location_within_five_percent() -> None:
    noise = [
        f"[INFO] Downloaded from central: https://repo/artifact-{i}.jar (12 kB at 1 MB/s)"
        for i in range(3000)
    ]
    errors = [
        f"[ERROR] {ROOT}/src/main/java/com/acme/Module{i // 3}.java:[{10 + i},5] cannot find symbol"
        for i in range(60)
    ]
    raw = actions(*noise[:1500], *errors, *noise[1500:])

    result = condense(raw)

    assert len(result.message) <= 0.05 * len(raw)
    for i in range(60):
        assert f"Module{i // 3}.java" in result.message
        assert str(10 + i) in result.message
    assert len(result.locations) == 60


def test_tool_selection_limits_the_parsers_and_rejects_unknown_names() -> None:
    raw = actions(
        "src/cart.ts(4,7): error TS2322: Type 'string' is not assignable to type 'number'.",
        "src/shop/cart.py:1:8: F401 [*] `os` imported but unused",
    )

    assert where(raw, tools=["tsc"]) == [("src/cart.ts", 4)]
    assert where(raw, tools=["python"]) == [("src/shop/cart.py", 1)]
    with pytest.raises(UnknownToolError, match="unknown tool 'gcc'"):
        condense(raw, tools=["gcc"])


def test_runner_paths_are_taken_out_of_messages_too() -> None:
    raw = actions(
        "=================================== FAILURES ===================================",
        "_________________________________ test_read __________________________________",
        f"E       FileNotFoundError: {ROOT}/data/prices.csv",
        "tests/test_read.py:4: FileNotFoundError",
    )

    assert "FileNotFoundError: data/prices.csv" in condense(raw).message


# --- infrastructure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        (
            actions(
                "fatal: unable to access 'https://github.com/acme/shop.git/': "
                "The requested URL returned error: 503"
            ),
            "unreachable",
        ),
        (
            actions(
                "npm ERR! code ETIMEDOUT", "npm ERR! network request to https://registry failed"
            ),
            "unreachable",
        ),
        (actions("The runner has received a shutdown signal."), "runner was lost"),
        (actions("OSError: [Errno 28] No space left on device"), "disk space"),
        (actions("toomanyrequests: You have reached your pull rate limit."), "quota"),
    ],
)
def test_infrastructure_failures_are_recognised(log: str, reason: str) -> None:
    found = classify_infrastructure(log)

    assert found is not None and reason in found


def test_a_failure_in_the_code_is_never_infrastructure() -> None:
    raw = actions(
        "src/cart.ts(4,7): error TS2322: Type 'string' is not assignable to type 'number'.",
        "npm ERR! network socket hang up while reporting",
    )

    assert classify_infrastructure(raw) is None
