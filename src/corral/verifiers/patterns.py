"""Regexes for tools' text output that both the verifiers and CI log condensation read.

One place, so that a format a verifier learns (a new javac or kotlinc layout) is learnt by
`corral condense` too. Absolute paths may be POSIX or Windows (`D:\\a\\...` on CI runners).
"""

from __future__ import annotations

import re

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""Terminal colour and cursor sequences."""

_ABSOLUTE = r"(?:/|[A-Za-z]:[\\/])"

JAVAC_MAVEN = re.compile(
    rf"^\[ERROR\] (?P<file>{_ABSOLUTE}.+?):\[(?P<line>\d+),(?P<col>\d+)\] (?P<message>.+)$"
)
"""javac as Maven logs it: `[ERROR] /abs/File.java:[line,col] message`."""

JAVAC = re.compile(rf"^(?P<file>{_ABSOLUTE}.+?\.java):(?P<line>\d+): error: (?P<message>.+)$")
"""javac's own format (Gradle, Ant, plain javac): `/abs/A.java:5: error: message`."""

KOTLINC = re.compile(
    rf"^e: (?:file://)?(?P<file>{_ABSOLUTE}.+?\.kts?)"
    r"(?::(?P<line>\d+):\d+|: \((?P<old_line>\d+), \d+\):) (?P<message>.+)$"
)
"""kotlinc 1.8+ `e: file:///a/B.kt:4:39 msg`; before, `e: /a/B.kt: (4, 39): msg`."""

JAVA_FRAME = re.compile(
    r"^\s*at (?:\S*/)?(?P<cls>[\w$.]+)\.(?P<method>[^.(\s]+)\((?P<file>[^:()]+):(?P<line>\d+)\)",
    re.MULTILINE,
)
"""`at app//com.example.FooTest.bar(FooTest.java:12)`; the prefix before `//` or `/` is the
class loader or module (`app//`, `java.base/`, `java.base@17/`)."""

GO_POSITION = re.compile(r"^(?P<file>[^\s:][^:]*\.go):(?P<line>\d+)(?::\d+)?: (?P<message>.*)$")
"""`calc.go:6:9: message`: the Go compiler, and vet's type errors."""

GO_TEST_LOG = re.compile(r"^\s+(?P<file>[^\s:]+\.go):(?P<line>\d+): (?P<message>.*)$")
"""`    calc_test.go:11: message`: t.Errorf, t.Fatalf, t.Log in `go test` output."""

PYTEST_FRAME = re.compile(r"^(?P<path>[^\s<][^:\n]*):(?P<line>\d+): ", re.M)
"""A traceback entry pytest prints relative to the project: `tests/test_x.py:12: in test_y`
(--tb=short) or `tests/test_x.py:12: AssertionError` (long)."""

PYTEST_SYNTAX_AT = re.compile(r'^E\s+File "(?P<path>[^"]+)", line (?P<line>\d+)', re.M)
"""Where a syntax error is, in pytest's report of a module it could not import."""

PYTEST_E_LINE = re.compile(r"^E\s+(?P<text>\S.*)$", re.M)
"""pytest's explanation lines: `E       assert 2 == 3`."""
