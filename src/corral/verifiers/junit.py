"""Reports that JVM builds (Maven, Gradle) write, turned into findings and test counts.

JUnit XML (Surefire's and Gradle's TEST-*.xml), Checkstyle's XML report, and Spotless's
"files had format violations" listing, which both build tools print the same way.
Parsed with the standard library's ElementTree: its expat refuses entity expansion bombs and
resolves no external entities.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corral.verifiers.base import (
    RAN,
    Finding,
    FindingKind,
    ProjectContext,
    StageReport,
    StageStatus,
    TestCounts,
    VerifierError,
)
from corral.verifiers.patterns import JAVA_FRAME as _FRAME

_MAX_MESSAGE = 300
_MAX_CONTEXT_LINES = 4
_MAX_FRAMES = 40
_SOURCE_SUFFIXES = (".java", ".kt", ".groovy", ".scala")
# Assertion failures speak for themselves; any other exception is named with its message.
_ASSERTION_TYPE = re.compile(r"Assert|ComparisonFailure|MultipleFailures")
_BUILD_DIRS = frozenset({"target", "build", "out", ".gradle", "node_modules"})
# What differs from run to run in a message (`Foo@1b6d3586` identity hashes, TestNG's
# `[pri:0, instance:...]`) would make a failure already there at the baseline look new.
_RUN_SPECIFIC = re.compile(r"\[pri:\d+, instance:[^\]]*\]|(?<=[\w$])@[0-9a-f]{5,8}\b")
# The method name in a test case's name: `applies[1, 2](2)`, `placesMany(int)[3]`.
_METHOD_NAME = re.compile(r"^[^\[(]+")


@dataclass(frozen=True)
class StackFrame:
    cls: str
    file_name: str
    line: int


@dataclass(frozen=True)
class TestFailure:
    __test__ = False  # not a pytest class

    classname: str
    name: str
    message: str
    detail: str | None
    frames: tuple[StackFrame, ...]

    @property
    def test_id(self) -> str:
        return f"{self.classname}.{self.name}" if self.name else self.classname


@dataclass
class JUnitReport:
    counts: TestCounts = field(default_factory=TestCounts)
    failures: list[TestFailure] = field(default_factory=list)


def parse_junit_xml(text: str) -> JUnitReport:
    """One TEST-*.xml (a <testsuite>, or <testsuites> around several). Raises ET.ParseError."""
    report = JUnitReport()
    for case in ET.fromstring(text).iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        case_id = _case_id(case)
        if case.find("skipped") is not None:
            report.counts.skipped += 1
            report.counts.cases[case_id] = "skipped"
            continue
        report.counts.run += 1
        report.counts.cases[case_id] = "passed" if problem is None else "failed"
        if problem is not None:
            report.counts.failed += 1
            report.failures.append(_failure(case, problem))
    return report


def _case_id(case: ET.Element) -> str:
    """`class.method`, as TestFailure.test_id names it."""
    classname, name = case.get("classname") or "", case.get("name") or ""
    return f"{classname}.{name}" if name else classname


def _failure(case: ET.Element, problem: ET.Element) -> TestFailure:
    exc_type = problem.get("type") or ""
    trace = problem.text or ""
    raw = _RUN_SPECIFIC.sub("", problem.get("message") or _first_line(trace))
    if exc_type and raw.startswith(f"{exc_type}: "):  # Gradle repeats the type in the message
        raw = raw[len(exc_type) + 2 :]
    lines = [line.rstrip() for line in raw.strip().splitlines() if line.strip()]
    short_type = exc_type.rsplit(".", 1)[-1]
    message = lines[0] if lines else short_type or "failed"
    if short_type and lines and not _ASSERTION_TYPE.search(short_type):
        message = f"{short_type}: {message}"
    detail = "\n".join(lines[1 : 1 + _MAX_CONTEXT_LINES]) or None
    return TestFailure(
        classname=case.get("classname") or "",
        name=case.get("name") or "",
        message=message[:_MAX_MESSAGE],
        detail=detail,
        frames=tuple(_frames(trace)),
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _frames(trace: str) -> Iterable[StackFrame]:
    for i, match in enumerate(_FRAME.finditer(trace)):
        if i >= _MAX_FRAMES:
            return
        yield StackFrame(match["cls"], match["file"], int(match["line"]))


def read_junit_reports(
    ctx: ProjectContext, reports: Iterable[tuple[Path, Path]]
) -> tuple[list[Finding], TestCounts]:
    """Findings and counts from (module folder, TEST-*.xml) pairs; an unreadable report stops."""
    findings: list[Finding] = []
    counts = TestCounts()
    for module_dir, path in reports:
        try:
            report = parse_junit_xml(path.read_text(encoding="utf-8", errors="replace"))
        except ET.ParseError as exc:
            raise VerifierError(f"unreadable test report: {exc}", file=ctx.rel(path)) from exc
        counts = counts.add(report.counts)
        findings.extend(failure_finding(ctx, module_dir, f) for f in report.failures)
    return findings, counts


def failure_finding(ctx: ProjectContext, module_dir: Path, failure: TestFailure) -> Finding:
    """Where it failed: the innermost frame in the test class, else the first in our sources."""
    source, line = _failure_location(module_dir, failure)
    return Finding(
        kind=FindingKind.TEST,
        file=ctx.rel(source) if source else None,
        line=line,
        message=failure.message,
        test_id=failure.test_id,
        context=failure.detail,
    )


def _failure_location(module_dir: Path, failure: TestFailure) -> tuple[Path | None, int | None]:
    outer = failure.classname.split("$", 1)[0]
    in_test = [f for f in failure.frames if f.cls.split("$", 1)[0] == outer]
    for frame in [*in_test, *failure.frames]:
        source = find_source(module_dir, frame.cls, frame.file_name)
        if source is not None:
            return source, frame.line
    for suffix in _SOURCE_SUFFIXES:
        source = find_source(module_dir, outer, outer.rsplit(".", 1)[-1] + suffix)
        if source is not None:
            return source, _declaration_line(source, failure.name)
    return None, None


def _declaration_line(source: Path, test_name: str) -> int | None:
    """The line declaring the test method (no frame of the test in the trace: a TestNG
    expectedExceptions that was never thrown, a timeout)."""
    method = _METHOD_NAME.match(test_name)
    if method is None:
        return None
    name = re.escape(method[0].strip())
    declaration = re.compile(rf"\b(?:void|fun|def)\s+(`?){name}\1\s*\(")
    try:
        lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((i for i, line in enumerate(lines, 1) if declaration.search(line)), None)


def find_source(module_dir: Path, cls: str, file_name: str) -> Path | None:
    """The source file of a class in a module, test folders first, never build output."""
    package = cls.rsplit(".", 1)[0].replace(".", "/") if "." in cls else ""
    relative = f"{package}/{file_name}" if package else file_name
    candidates = sorted(
        (p for p in module_dir.glob(f"src/*/*/{relative}") if p.is_file()),
        key=lambda p: "test" not in p.relative_to(module_dir).parts[1].lower(),
    )
    if candidates:
        return candidates[0]
    for path in module_dir.rglob(relative):
        if path.is_file() and not _BUILD_DIRS & set(path.relative_to(module_dir).parts):
            return path
    return None


def read_checkstyle_reports(
    ctx: ProjectContext, paths: Iterable[Path], severities: Sequence[str] = ("error",)
) -> list[Finding]:
    """Lint findings from Checkstyle XML reports (Maven's checkstyle-result.xml, Gradle's)."""
    findings: list[Finding] = []
    for path in paths:
        try:
            root = ET.fromstring(path.read_text(encoding="utf-8", errors="replace"))
        except ET.ParseError as exc:
            raise VerifierError(f"unreadable Checkstyle report: {exc}", file=ctx.rel(path)) from exc
        for file_elem in root.iter("file"):
            for error in file_elem.iter("error"):
                if error.get("severity", "error") in severities:
                    findings.append(_checkstyle_finding(ctx, file_elem.get("name", ""), error))
    return findings


def _checkstyle_finding(ctx: ProjectContext, file_name: str, error: ET.Element) -> Finding:
    rule = (error.get("source") or "").rsplit(".", 1)[-1].removesuffix("Check")
    message = error.get("message") or "Checkstyle violation"
    line = error.get("line")
    return Finding(
        kind=FindingKind.LINT,
        file=ctx.rel(file_name) if file_name else None,
        line=int(line) if line and line.isdigit() else None,
        message=f"{message} ({rule})" if rule else message,
    )


SPOTLESS_HEADER = "The following files had format violations:"
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


@dataclass(frozen=True)
class FormatViolation:
    path: str
    """As Spotless prints it: relative to the (sub-)project's folder."""
    line: int | None
    """The first line the formatter would change."""
    excerpt: str | None
    """The first changed lines of Spotless's diff (`-` as written, `+` as expected)."""


def parse_spotless_violations(lines: Sequence[str]) -> list[FormatViolation]:
    """One violation per file, from the lines that follow SPOTLESS_HEADER.

    Spotless lists each file one indent deeper than the header and the file's diff four
    columns deeper still; the listing ends at the first line indented less than the files
    (its "Run '... spotlessApply' to fix" hint).
    """
    listed: list[tuple[str, list[str]]] = []
    base = None
    for raw in lines:
        if not raw.strip():
            if listed:  # an empty line of the file, inside a diff
                listed[-1][1].append(" ")
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        base = indent if base is None else base
        if indent < base:
            break
        if indent == base:
            listed.append((raw.strip(), []))
        elif listed:
            listed[-1][1].append(raw[base + 4 :])
    return [FormatViolation(path, *_first_change(diff)) for path, diff in listed]


def spotless_findings(ctx: ProjectContext, project: Path, lines: Sequence[str]) -> list[Finding]:
    """Format findings from the lines after SPOTLESS_HEADER; paths are relative to `project`."""
    return [
        Finding(
            FindingKind.FORMAT,
            ctx.rel(project / v.path),
            v.line,
            "not formatted as Spotless expects (- as written, + as expected)",
            context=v.excerpt,
        )
        for v in parse_spotless_violations(lines)
    ]


def _first_change(diff: Sequence[str]) -> tuple[int | None, str | None]:
    line = None
    for i, text in enumerate(diff):
        hunk = _HUNK.match(text)
        if hunk:
            line = int(hunk[1])
        elif line is not None:
            if text[:1] in ("-", "+"):
                changed = [t for t in diff[i : i + _MAX_CONTEXT_LINES] if t[:1] in ("-", "+")]
                return line, "\n".join(changed)
            line += 1
    return None, None


def jvm_test_stage(
    build_ok: bool, reported: Iterable[tuple[Path, bool]], ctx: ProjectContext
) -> StageReport:
    """Whether every module with tests (`src/test`) reported them. A failed build stops at
    the first module that does not compile, so the tests of the ones after it never ran."""
    if build_ok:
        return RAN
    missing = [
        d for d, has_reports in reported if (d / "src" / "test").is_dir() and not has_reports
    ]
    if not missing:
        return RAN
    where = ctx.rel(missing[0])
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    return StageReport(
        StageStatus.NOT_RUN,
        f"the build failed before the tests of {where}{more} ran",
    )
