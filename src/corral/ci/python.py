"""Python tools' console output: pytest, unittest (and any traceback), ruff, flake8, mypy."""

from __future__ import annotations

import re

from corral.ci.logtext import LogText
from corral.ci.paths import is_outside
from corral.verifiers.base import Finding, FindingKind, Rel
from corral.verifiers.patterns import PYTEST_E_LINE, PYTEST_FRAME, PYTEST_SYNTAX_AT
from corral.verifiers.python import parse_mypy_text, parse_ruff_format_text

_MAX_MESSAGE = 300
_SECTION = re.compile(r"^={5,} (?P<name>FAILURES|ERRORS|short test summary info|warnings summary)")
_SECTION_END = re.compile(r"^={5,}")
_CASE = re.compile(r"^_{3,} (?P<name>.+?) _{3,}$")
_SUMMARY = re.compile(
    r"^(?P<status>FAILED|ERROR) (?P<node>[^\s:]+\.py)(?:::(?P<test>\S+))?(?: - (?P<message>.*))?$"
)
_TRACEBACK = "Traceback (most recent call last):"
_PY_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_UNITTEST_HEADER = re.compile(r"^(?P<status>FAIL|ERROR): (?P<test>\S+) \((?P<where>[^)]+)\)")
_EXCEPTION = re.compile(r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Failure|Exit|Interrupt)\b.*")
# ruff's concise format and flake8's/pylint's: `src/a.py:1:8: F401 message`.
_LINT = re.compile(
    r"^(?P<file>[^\s:][^:]*\.pyi?):(?P<line>\d+):(?:\d+:)? (?P<code>[A-Z]+\d+|SyntaxError|E\d+):? "
    r"(?P<message>.+)$"
)
# ruff's full format: `F401 [*] message` then ` --> src/a.py:1:8` (or `  --> `).
_RUFF_FULL = re.compile(
    r"^(?P<code>[A-Z]+\d+|invalid-syntax|SyntaxError)(?: \[\*\])?:? (?P<message>.+)$"
)
_ARROW = re.compile(r"^\s*-->\s*(?P<file>\S+?\.pyi?):(?P<line>\d+):\d+$")
# pyright: `  /abs/src/a.py:12:5 - error: message (reportX)`.
_PYRIGHT = re.compile(r"^\s+(?P<file>\S.*?\.pyi?):(?P<line>\d+):\d+ - error: (?P<message>.+)$")


def pytest(log: LogText, rel: Rel) -> list[Finding]:
    """The FAILURES and ERRORS sections, and the short test summary where sections are cut."""
    findings: dict[str, Finding] = {}
    for name, body, collecting in _cases(log.lines):
        finding = _case_finding(name, body, collecting, rel)
        if finding is not None:
            findings.setdefault(finding.test_id or name, finding)
    for line in log.lines:
        match = _SUMMARY.match(line)
        if match is None:
            continue
        test_id = f"{match['node']}::{match['test']}" if match["test"] else match["node"]
        short = match["test"] or match["node"]
        if any(key.endswith(short) or short.endswith(key) for key in findings):
            continue
        kind = FindingKind.TEST if match["test"] else FindingKind.COMPILE
        message = (match["message"] or match["status"].lower())[:_MAX_MESSAGE]
        findings[test_id] = Finding(kind, rel(match["node"]), None, message, test_id=test_id)
    return list(findings.values())


def _cases(lines: tuple[str, ...]) -> list[tuple[str, list[str], bool]]:
    """(test name, its report lines, whether it is a collection error) per failed case."""
    cases: list[tuple[str, list[str], bool]] = []
    section = None
    for line in lines:
        header = _SECTION.match(line)
        if header or _SECTION_END.match(line):
            section = header["name"] if header else None
            continue
        case = _CASE.match(line)
        if case and section in ("FAILURES", "ERRORS", None):
            name = case["name"]
            cases.append((name, [], name.startswith("ERROR collecting ")))
            section = "FAILURES"  # an excerpt may start below the section header
        elif cases and section in ("FAILURES", "ERRORS"):
            cases[-1][1].append(line)
    return cases


def _case_finding(name: str, body: list[str], collecting: bool, rel: Rel) -> Finding | None:
    text = "\n".join(body)
    e_lines = [m["text"] for m in PYTEST_E_LINE.finditer(text)]
    frames = [(m["path"], int(m["line"])) for m in PYTEST_FRAME.finditer(text)]
    syntax = list(PYTEST_SYNTAX_AT.finditer(text))
    if collecting:
        module = name.removeprefix("ERROR collecting ").strip()
        where = (
            (syntax[-1]["path"], int(syntax[-1]["line"]))
            if syntax
            else _deepest_own(frames, rel) or _last(frames, module)
        )
        message = f"cannot import: {e_lines[-1] if e_lines else 'collection failed'}"
        file, number = (where[0], where[1]) if where else (module, None)
        return Finding(
            FindingKind.COMPILE, rel(file), number, message[:_MAX_MESSAGE], test_id=module
        )
    test = name.split(" ", 1)[0].replace(".", "::")
    where = _test_frame(frames, rel)
    if where is None:
        return None
    file, line = where
    explained = next((e for e in e_lines if not e.startswith(("+", "-", "?"))), None)
    message = explained or next((b.strip() for b in reversed(body) if b.strip()), "failed")
    context = "\n".join(e_lines[1:4]) or None
    return Finding(
        FindingKind.TEST, file, line, message[:_MAX_MESSAGE], test_id=test, context=context
    )


def _test_frame(frames: list[tuple[str, int]], rel: Rel) -> tuple[str, int] | None:
    """The last frame in a test file, else the last one in the repository's own code."""
    own = [(rel(f), n) for f, n in frames if not is_outside(rel(f))]
    tests = [f for f in own if "test" in f[0].rsplit("/", 1)[-1]]
    chosen = tests or own
    return chosen[-1] if chosen else None


def _deepest_own(frames: list[tuple[str, int]], rel: Rel) -> tuple[str, int] | None:
    """Where an import failed: the last frame in the repository's own code."""
    own = [(f, n) for f, n in frames if not is_outside(rel(f))]
    return own[-1] if own else None


def _last(frames: list[tuple[str, int]], module: str) -> tuple[str, int] | None:
    in_module = [f for f in frames if f[0] == module]
    return in_module[-1] if in_module else None


def tracebacks(log: LogText, rel: Rel) -> list[Finding]:
    """unittest's FAIL/ERROR blocks and any Python traceback: the deepest frame of ours."""
    findings = []
    lines = log.lines
    for i, line in enumerate(lines):
        if line.strip() != _TRACEBACK:
            continue
        frames: list[tuple[str, int]] = []
        message = None
        for follow in lines[i + 1 : i + 200]:
            frame = _PY_FRAME.match(follow)
            if frame:
                frames.append((rel(frame["file"]), int(frame["line"])))
            elif follow and not follow[0].isspace():
                message = follow.strip()
                break
        own = [f for f in frames if not is_outside(f[0])]
        if not own or message is None:
            continue
        test = _unittest_name(lines[max(0, i - 4) : i])
        file, number = own[-1]
        findings.append(
            Finding(FindingKind.TEST, file, number, message[:_MAX_MESSAGE], test_id=test)
        )
    return findings


def _unittest_name(before: tuple[str, ...]) -> str | None:
    for line in reversed(before):
        match = _UNITTEST_HEADER.match(line)
        if match:
            return f"{match['where']}.{match['test']}".replace(" ", "")
    return None


def lint(log: LogText, rel: Rel) -> list[Finding]:
    """ruff (concise and full formats, format check), flake8, pylint and pyright lines."""
    findings = []
    lines = log.lines
    for i, line in enumerate(lines):
        match = _LINT.match(line)
        if match:
            kind = FindingKind.COMPILE if "Syntax" in match["code"] else FindingKind.LINT
            message = f"{match['code']} {match['message'].strip()}"
            findings.append(Finding(kind, rel(match["file"]), int(match["line"]), message))
            continue
        full = _RUFF_FULL.match(line)
        arrow = _ARROW.match(lines[i + 1]) if full and i + 1 < len(lines) else None
        if full and arrow:
            message = f"{full['code']} {full['message'].strip()}"
            findings.append(
                Finding(FindingKind.LINT, rel(arrow["file"]), int(arrow["line"]), message)
            )
            continue
        pyright = _PYRIGHT.match(line)
        if pyright:
            findings.append(
                Finding(
                    FindingKind.COMPILE,
                    rel(pyright["file"]),
                    int(pyright["line"]),
                    pyright["message"],
                )
            )
    return [*findings, *parse_ruff_format_text(log.text, rel)]


def mypy(log: LogText, rel: Rel) -> list[Finding]:
    """mypy's `file:line: error: message  [code]` lines."""
    return parse_mypy_text(log.text, rel)
