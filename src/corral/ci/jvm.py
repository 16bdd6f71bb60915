"""Maven and Gradle logs: javac, kotlinc, Checkstyle, Surefire's and Gradle's test reports.

javac and kotlinc are read by the verifiers' own parsers; Surefire and Gradle print test
failures on the console in a form the verifiers never see (they read the XML reports), so
those are read here, from the summary each prints and the stack traces around it.
"""

from __future__ import annotations

import re

from corral.ci.logtext import LogText
from corral.verifiers.base import Finding, FindingKind, Rel
from corral.verifiers.gradle import parse_compiler_log
from corral.verifiers.maven import parse_javac_log
from corral.verifiers.patterns import JAVA_FRAME

_SOURCE = r"[^\s:\[\]]+\.(?:java|kt|kts|groovy|scala)"
# Maven's Checkstyle plugin `[ERROR] src/Foo.java:[12,5] (imports) UnusedImports: msg`;
# Checkstyle's own `[ERROR] /abs/Foo.java:12:5: msg [Rule]`, also via Gradle's `[ant:checkstyle]`.
_CHECKSTYLE = re.compile(
    rf"^(?:\[ant:checkstyle\] )?\[(?P<severity>ERROR|WARN|WARNING)\] (?P<file>{_SOURCE})"
    r"(?::\[(?P<bracket_line>\d+)(?:,\d+)?\]|:(?P<line>\d+)(?::\d+)?:) (?P<message>.+)$"
)
_CHECKSTYLE_RULE = re.compile(r"^\(\w+\) \w+: |\[\w+\]$")
_CHECKSTYLE_FAILED = re.compile(r"checkstyle", re.I)

# Surefire's closing summary: `[ERROR] Failures:` then `[ERROR]   FooTest.bar:12 message`.
_SUMMARY_HEADER = re.compile(r"^\[ERROR\] (?:Failures|Errors|Flakes): ?$")
_SUMMARY_ENTRY = re.compile(
    r"^\[(?:ERROR|WARNING)\]   (?:Run \d+: )?(?P<cls>[\w$.]+)\.(?P<method>[^\s:.(]+(?:\([^)]*\))?"
    r"(?:\[[^\]]*\])?)(?::(?P<line>\d+))?(?:->\S+)*\s*(?P<message>.*)$"
)
# Surefire's line for one failed test: 2.x `[ERROR] bar(com.x.FooTest)  Time elapsed: ...
# <<< FAILURE!`; 3.x `[ERROR] com.x.FooTest.bar -- Time elapsed: ... <<< FAILURE!`.
_SUREFIRE_TEST = re.compile(
    r"^(?:\[ERROR\] )?(?:(?P<method2>[^\s(]+)\((?P<cls2>[\w$.]+)\)|(?P<cls3>[\w$.]+)\.(?P<method3>"
    r"[^\s.]+))\s+(?:--\s+)?Time elapsed: .*<<< (?:FAILURE|ERROR)!$"
)
# Gradle: `com.x.FooTest > bar() FAILED`, then `    AssertionFailedError at FooTest.java:12`.
_GRADLE_TEST = re.compile(r"^(?P<cls>[\w$.]+) > (?P<test>.+) FAILED$")
_GRADLE_CAUSE = re.compile(rf"^\s+(?P<exception>\S.*?)(?: at (?P<file>{_SOURCE}):(?P<line>\d+))?$")
_MAX_MESSAGE = 300
# Other Maven plugins that name a source line the javac way (animal-sniffer, errorprone).
_MAVEN_SOURCE_LINE = re.compile(
    rf"^\[ERROR\] (?P<file>{_SOURCE}):(?P<line>\d+)(?::\d+)?: (?P<message>.+)$"
)


def javac(log: LogText, rel: Rel) -> list[Finding]:
    """javac as Maven logs it, and javac's and kotlinc's own format (Gradle, Ant)."""
    others = [
        Finding(FindingKind.COMPILE, rel(m["file"]), int(m["line"]), m["message"].strip())
        for m in map(_MAVEN_SOURCE_LINE.match, log.lines)
        if m and not _CHECKSTYLE_RULE.search(m["message"])
    ]
    return [*parse_javac_log(log.text, rel), *parse_compiler_log(log.text, rel), *others]


def checkstyle(log: LogText, rel: Rel) -> list[Finding]:
    """Checkstyle violations; warnings only when no error is listed (they failed the build)."""
    found: dict[str, list[Finding]] = {"error": [], "warning": []}
    for line in log.lines:
        match = _CHECKSTYLE.match(line)
        if match is None or not _is_checkstyle(match, line):
            continue
        severity = "error" if match["severity"] == "ERROR" else "warning"
        number = match["bracket_line"] or match["line"]
        found[severity].append(
            Finding(FindingKind.LINT, rel(match["file"]), int(number), match["message"].strip())
        )
    if found["error"]:
        return found["error"]
    return found["warning"] if _CHECKSTYLE_FAILED.search(log.text) else []


def _is_checkstyle(match: re.Match[str], line: str) -> bool:
    """Checkstyle's lines look like javac's: its rule names tell them apart."""
    return line.startswith("[ant:checkstyle]") or bool(_CHECKSTYLE_RULE.search(match["message"]))


def surefire(log: LogText, rel: Rel) -> list[Finding]:
    """Failed tests from Surefire's (and Failsafe's) console output."""
    packages = _class_packages(log.text)
    files = _class_files(log.text)
    findings: dict[str, Finding] = {}
    for test_id, cls, line, message in _summary_entries(log.lines):
        file = _class_file(cls, packages, files)
        findings.setdefault(test_id, _test(rel(file), line, message, test_id))
    for test_id, cls, where, message in _failed_test_blocks(log.lines):
        if test_id in findings:
            continue
        file, line = where if where else (_class_file(cls, packages, files), None)
        findings[test_id] = _test(rel(file), line, message, test_id)
    return list(findings.values())


def _test(file: str, line: int | None, message: str, test_id: str) -> Finding:
    return Finding(FindingKind.TEST, file, line, message[:_MAX_MESSAGE] or "failed", test_id)


def _summary_entries(lines: tuple[str, ...]) -> list[tuple[str, str, int | None, str]]:
    entries: list[tuple[str, str, int | None, str]] = []
    in_summary = False
    for line in lines:
        if _SUMMARY_HEADER.match(line):
            in_summary = True
            continue
        if not in_summary:
            continue
        match = _SUMMARY_ENTRY.match(line)
        if match is None:
            if entries and not entries[-1][3] and line.strip() and not line.startswith("["):
                entries[-1] = (*entries[-1][:3], line.strip())  # a message on its own line
                continue
            in_summary = line.startswith(("[ERROR]    ", "[WARNING]    ", "[INFO]    "))
            continue
        cls, method = match["cls"], match["method"]
        line_number = int(match["line"]) if match["line"] else None
        message = match["message"].lstrip("\u00bb ").strip()
        entries.append((f"{cls}.{method}", cls, line_number, message))
    return entries


def _failed_test_blocks(
    lines: tuple[str, ...],
) -> list[tuple[str, str, tuple[str, int] | None, str]]:
    """Each `<<< FAILURE!` test line, its exception, and the frame in the test class."""
    blocks = []
    for i, line in enumerate(lines):
        match = _SUREFIRE_TEST.match(line)
        if match is None:
            continue
        cls = match["cls2"] or match["cls3"]
        method = match["method2"] or match["method3"]
        body = lines[i + 1 : i + 60]
        message = next((b.strip() for b in body if b.strip()), "failed")
        blocks.append((f"{cls.rsplit('.', 1)[-1]}.{method}", cls, _test_frame(cls, body), message))
    return blocks


def _test_frame(cls: str, body: tuple[str, ...]) -> tuple[str, int] | None:
    """The frame in the test class (named with or without its package) and its source path."""
    outer = cls.split("$", 1)[0]
    for raw in body:
        frame = JAVA_FRAME.match(raw.strip())
        framed = frame["cls"].split("$", 1)[0] if frame else ""
        if frame and (framed == outer or framed.endswith("." + outer)):
            package = framed.rsplit(".", 1)[0].replace(".", "/") if "." in framed else ""
            return (f"{package}/{frame['file']}" if package else frame["file"]), int(frame["line"])
    return None


def _class_packages(text: str) -> dict[str, str]:
    """Simple class name -> package, from the stack frames and test lines in the log."""
    packages: dict[str, str] = {}
    for match in JAVA_FRAME.finditer(text):
        outer = match["cls"].split("$", 1)[0]
        if "." in outer:
            package, name = outer.rsplit(".", 1)
            packages.setdefault(name, package)
    return packages


def _class_files(text: str) -> dict[str, str]:
    """Simple class name -> its source file's name (`FooTest.kt`), from the stack frames."""
    files: dict[str, str] = {}
    for match in JAVA_FRAME.finditer(text):
        name = match["cls"].split("$", 1)[0].rsplit(".", 1)[-1]
        if match["file"].split(".", 1)[0] == name:
            files.setdefault(name, match["file"])
    return files


def _class_file(cls: str, packages: dict[str, str], files: dict[str, str]) -> str:
    outer = cls.split("$", 1)[0]
    package, _, name = outer.rpartition(".")
    package = package or packages.get(name, "")
    file = files.get(name, f"{name}.java")
    return f"{package.replace('.', '/')}/{file}" if package else file


def gradle_tests(log: LogText, rel: Rel) -> list[Finding]:
    """Gradle's console lines for failed tests: `Cls > test() FAILED` and the cause below."""
    findings = []
    lines = log.lines
    for i, line in enumerate(lines):
        match = _GRADLE_TEST.match(line)
        if match is None:
            continue
        cls = match["cls"]
        test_id = f"{cls.rsplit('.', 1)[-1]}.{match['test']}"
        causes = [c for c in map(_GRADLE_CAUSE.match, lines[i + 1 : i + 6]) if c]
        cause = next((c for c in causes if c["file"]), causes[0] if causes else None)
        frame = _test_frame(cls, lines[i + 1 : i + 40])
        file, line_number = frame if frame else (None, None)
        if file is None and cause and cause["file"]:
            package = cls.rsplit(".", 1)[0].replace(".", "/") if "." in cls else ""
            file = f"{package}/{cause['file']}" if package else cause["file"]
            line_number = int(cause["line"])
        if file is None:
            file = _class_file(cls, {}, {})
        message = cause["exception"] if cause else "failed"
        findings.append(_test(rel(file), line_number, message, test_id))
    return findings
