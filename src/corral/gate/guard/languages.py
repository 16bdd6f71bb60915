"""What the guard knows of each ecosystem's tests: where they live, how they are defined,
skipped and asserted. Adding an ecosystem is adding one `Language` to `LANGUAGES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from corral.gate.diff import FileChange

CommentStyle = Literal["c", "hash", "xml", "none"]
SkipKind = Literal["skipped", "focused"]


@dataclass(frozen=True)
class Marker:
    pattern: re.Pattern[str]
    label: str
    """What the agent is told it added, e.g. "@Disabled"."""
    kind: SkipKind = "skipped"
    in_comments: bool = False
    """Whether the marker is itself a comment (a Go build constraint), so comments stay."""


@dataclass(frozen=True)
class Language:
    name: str
    extensions: tuple[str, ...]
    test_path: re.Pattern[str]
    """Paths that are test files (tests, helpers, fixtures) whatever their content."""
    collected: re.Pattern[str]
    """Paths the test runner collects by default (Surefire's `*Test.java`, `test_*.py`...)."""
    test_definition: re.Pattern[str]
    """One match per test case (function, method or annotation)."""
    skip_markers: tuple[Marker, ...]
    assertion: re.Pattern[str]
    weak_assertion: re.Pattern[str]
    """Assertions that check next to nothing (not-null, truthiness, `true`)."""
    trivialiser: re.Pattern[str]
    """Constructs that make assertions vacuous: catching AssertionError, `or True`..."""
    comments: CommentStyle = "c"
    tests_inline: bool = False
    """Whether tests may live in ordinary source files (Rust's `#[cfg(test)]` modules)."""

    def handles(self, path: str) -> bool:
        return path.endswith(self.extensions)

    def is_test_file(self, path: str | None, text: str | None) -> bool:
        if path is None or not self.handles(path):
            return False
        if self.test_path.search(path):
            return True
        return self.tests_inline and text is not None and bool(self.test_definition.search(text))

    def is_collected(self, path: str | None, text: str | None) -> bool:
        """Whether the runner finds tests in this file by default."""
        if path is None or not self.handles(path):
            return False
        if self.collected.search(path):
            return True
        return self.tests_inline and text is not None and bool(self.test_definition.search(text))


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


def _markers(kind: SkipKind, *pairs: tuple[str, str]) -> tuple[Marker, ...]:
    return tuple(Marker(_re(pattern), label, kind) for pattern, label in pairs)


def _comment_marker(pattern: str, label: str) -> Marker:
    return Marker(_re(pattern), label, "skipped", in_comments=True)


JVM = Language(
    name="java",
    extensions=(".java", ".kt", ".kts", ".groovy", ".scala"),
    test_path=_re(r"(^|/)src/test/|(Test|Tests|IT|TestCase|Spec)\.\w+$|(^|/)Test\w*\.\w+$"),
    collected=_re(r"(^|/)(Test\w*|\w*(Test|Tests|TestCase|IT|Spec))\.\w+$"),
    test_definition=_re(
        r"@([\w.]+\.)?(Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)\b"
    ),
    skip_markers=_markers(
        "skipped",
        (r"@([\w.]+\.)?Disabled\w*", "@Disabled"),
        (r"@([\w.]+\.)?Ignore\b", "@Ignore"),
        (r"@([\w.]+\.)?Test\s*\([^)]*\benabled\s*=\s*false", "@Test(enabled = false)"),
        (r"@([\w.]+\.)?Enabled(If|On)\w*", "a conditional @Enabled… annotation"),
        (r"\bassume(True|False|That|NotNull)\s*\(", "an assumption that skips the test"),
    ),
    assertion=_re(r"\b(assert\w*|fail|verify)\s*\(|^\s*assert\s"),
    weak_assertion=_re(
        r"\bassertNotNull\s*\(|\bassertTrue\s*\(\s*true\s*\)|\bassertFalse\s*\(\s*false\s*\)"
        r"|\.isNotNull\s*\(\s*\)|\bassertThat\s*\(\s*true\s*\)"
    ),
    trivialiser=_re(
        r"catch\s*\(\s*(final\s+)?(AssertionError|AssertionFailedError|Throwable|Error)\b"
        r"|\|\|\s*true\b"
    ),
)

PYTHON = Language(
    name="python",
    extensions=(".py",),
    test_path=_re(r"(^|/)(test_[^/]*|[^/]*_test|conftest)\.py$|(^|/)tests?/"),
    collected=_re(r"(^|/)(test_[^/]*|[^/]*_test)\.py$"),
    test_definition=_re(r"^\s*(async\s+)?def\s+test\w*\s*\("),
    skip_markers=_markers(
        "skipped",
        (r"\bmark\.(skip|skipif|xfail)\b", "a pytest skip/xfail mark"),
        (r"\bpytest\.(skip|xfail|importorskip)\s*\(", "a pytest.skip()/xfail() call"),
        (r"\bunittest\.(skip|skipIf|skipUnless|expectedFailure)\b", "a unittest skip"),
        (r"^\s*@(skip|skipIf|skipUnless|expectedFailure)\b", "a unittest skip decorator"),
        (r"\.skipTest\s*\(|\bSkipTest\b", "a unittest skipTest"),
        (r"\b__test__\s*=\s*False", "__test__ = False"),
        (r"\bcollect_ignore(_glob)?\b", "collect_ignore"),
    ),
    assertion=_re(r"^\s*assert\b|\.assert\w*\s*\(|\bpytest\.(raises|fail|warns)\s*\("),
    weak_assertion=_re(
        # a bare truthiness check (no comparison at all), or `is not None`
        r"^\s*assert\s+((?![^#\n]*(==|!=|<|>|\bin\b|\bis\b|isinstance\())[^#\n]*"
        r"|[^#\n]*\bis\s+not\s+None\s*)(#.*)?$"
        r"|\.assertIsNotNone\s*\(|\.assertTrue\s*\(\s*True\s*\)"
    ),
    trivialiser=_re(r"except\s+\(?\s*AssertionError\b|^\s*except\s*:|\bor\s+True\b"),
    comments="hash",
)

GO = Language(
    name="go",
    extensions=(".go",),
    test_path=_re(r"_test\.go$"),
    collected=_re(r"_test\.go$"),
    test_definition=_re(r"^func\s+(\([^)]*\)\s*)?(Test|Benchmark|Fuzz|Example)\w*\s*\("),
    skip_markers=(
        *_markers("skipped", (r"\.(Skip|Skipf|SkipNow)\s*\(", "t.Skip")),
        _comment_marker(
            r"^//\s*(go:build|\+build)\s.*\bignore\b", "a build constraint that ignores the file"
        ),
    ),
    assertion=_re(
        r"\.(Error|Errorf|Fatal|Fatalf|Fail|FailNow)\s*\(|\b(assert|require)\.[A-Z]\w*\s*\("
    ),
    weak_assertion=_re(
        r"\b(assert|require)\.(NotNil|NotEmpty)\s*\(|\b(assert|require)\.True\s*\(\s*\w+\s*,\s*true"
    ),
    trivialiser=_re(r"\|\|\s*true\b"),
)

RUST = Language(
    name="rust",
    extensions=(".rs",),
    test_path=_re(r"(^|/)tests/"),
    collected=_re(r"(^|/)tests/[^/]+\.rs$"),
    test_definition=_re(r"#\[(\w+::)*test\b"),
    skip_markers=_markers(
        "skipped",
        (r"#\[ignore\b", "#[ignore]"),
        (r"#\[cfg\(\s*(any\(\s*\)|FALSE|ignore)\s*\)\]", "a cfg that never compiles the tests"),
    ),
    assertion=_re(r"\b(debug_)?assert(_eq|_ne|_matches)?!|#\[should_panic|\bpanic!"),
    weak_assertion=_re(r"\bassert!\s*\(\s*(true|[^;\n]*\.is_(ok|some)\(\))\s*\)"),
    trivialiser=_re(r"\|\|\s*true\b|catch_unwind"),
    tests_inline=True,
)

JS = Language(
    name="js",
    extensions=(".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts"),
    test_path=_re(r"\.(test|spec)\.[cm]?[jt]sx?$|(^|/)(__tests__|tests?)/"),
    collected=_re(r"\.(test|spec)\.[cm]?[jt]sx?$|(^|/)__tests__/|(^|/)test/[^/]+$"),
    test_definition=_re(r"(?<![\w.$])[xf]?(it|test)\b(\.\w+)*\s*\("),
    skip_markers=(
        *_markers(
            "skipped",
            (
                r"(?<![\w.$])(describe|it|test|context|suite|specify)(\.\w+)*\.(skip|skipIf|todo)\b",
                ".skip",
            ),
            (r"(?<![\w.$])x(it|describe|test|context|specify)\s*\(", "xit/xdescribe"),
            (r"\bthis\.skip\s*\(", "this.skip()"),
        ),
        *_markers(
            "focused",
            (r"(?<![\w.$])(describe|it|test|context|suite|specify)(\.\w+)*\.only\b", ".only"),
            (r"(?<![\w.$])f(it|describe|test)\s*\(", "fit/fdescribe"),
        ),
    ),
    assertion=_re(r"(?<![\w.$])(expect|assert)\b\s*[.(]|\.should\b|\bt\.(is|not|deepEqual|true)\b"),
    weak_assertion=_re(
        r"\.(toBeDefined|toBeTruthy)\s*\(\s*\)|\.not\.(toBeNull|toBeUndefined)\s*\(\s*\)"
        r"|\bexpect\s*\(\s*true\s*\)|\bassert(\.ok)?\s*\(\s*true\s*\)"
    ),
    trivialiser=_re(r"\|\|\s*true\b"),
)

LANGUAGES: tuple[Language, ...] = (JVM, PYTHON, GO, RUST, JS)


def language_of(path: str) -> Language | None:
    return next((lang for lang in LANGUAGES if lang.handles(path)), None)


_BLOCK_COMMENT = {
    "c": re.compile(r"/\*.*?\*/", re.DOTALL),
    "xml": re.compile(r"<!--.*?-->", re.DOTALL),
}
_C_LINE_COMMENT = re.compile(r"(^|\s)//.*$", re.MULTILINE)
# Hash comments only from line start, so `#[ignore]` and "#" inside strings survive.
_HASH_LINE_COMMENT = re.compile(r"^\s*#.*$", re.MULTILINE)


def strip_comments(text: str, style: CommentStyle) -> str:
    """The text with comments blanked out, line numbers kept (a commented-out test is gone)."""
    block = _BLOCK_COMMENT.get(style)
    if block is not None:
        text = block.sub(lambda m: "\n" * m.group().count("\n"), text)
    if style == "c":
        return _C_LINE_COMMENT.sub(lambda m: m.group(1), text)
    if style == "hash":
        return _HASH_LINE_COMMENT.sub("", text)
    return text


def count(pattern: re.Pattern[str], text: str | None) -> int:
    return 0 if text is None else sum(1 for _ in pattern.finditer(text))


def added_lines_matching(
    change: FileChange, pattern: re.Pattern[str], style: CommentStyle
) -> list[tuple[int, str]]:
    """The added lines (line number, stripped text) in which `pattern` matches, comments out."""
    return [
        (number, text.strip())
        for number, text in change.added
        if pattern.search(strip_comments(text, style))
    ]


def removed_lines_matching(
    change: FileChange, pattern: re.Pattern[str], style: CommentStyle
) -> list[tuple[int, str]]:
    return [
        (number, text.strip())
        for number, text in change.removed
        if pattern.search(strip_comments(text, style))
    ]
