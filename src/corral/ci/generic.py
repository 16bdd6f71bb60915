"""What any tool prints: `file:line: error: message`, CI annotations, and error lines.

`compiler_errors` and `workflow_commands` always run; `error_lines` only when no tool-specific
parser found anything, so that a log of an unknown tool still says what went wrong.
"""

from __future__ import annotations

import re

from corral.ci.logtext import LogText
from corral.ci.paths import is_outside
from corral.verifiers.base import Finding, FindingKind, Rel

_MAX_MESSAGE = 300
_MAX_ERROR_LINES = 12
_PATH = r"[^\s:()'\"<>=]+\.[A-Za-z][\w+]{0,9}"
# gcc, clang, swiftc, mypy, shellcheck -f gcc, ...: `src/a.c:12:5: error: message`;
# MSBuild and tsc-like `src/a.cs(12,5): error CS1002: message`.
_COMPILER = re.compile(
    rf"^(?:\S+: )?(?P<file>(?:[A-Za-z]:[\\/])?{_PATH}):(?P<line>\d+)(?::\d+)?:\s*"
    r"(?:fatal )?(?:error|Error|ERROR)(?:\[[\w-]+\])?:?\s+(?P<message>.+)$"
    rf"|^(?P<file2>(?:[A-Za-z]:[\\/])?{_PATH})\((?P<line2>\d+)(?:,\d+)*\): "
    r"(?:fatal )?error (?P<message2>.+)$"
)
# `::error file=src/a.py,line=3,col=1::message`, GitHub's workflow command, printed as given.
_WORKFLOW = re.compile(r"^::error (?P<props>[^:]*)::(?P<message>.*)$")
_PROPERTY = re.compile(r"(?P<key>\w+)=(?P<value>[^,]*)")
_ERROR_WORD = re.compile(
    r"\berror\b|\bERROR\b|\bFAILED\b|\bFAILURE\b|\bFailed\b|\bfatal\b|\bException\b|\bFAIL\b|"
    r"\bTraceback\b|\bpanic:"
)
_NOISE = re.compile(
    r"Process completed with exit code|exit code \d+$|exited with code|ERROR: Job failed"
    r"|A complete log of this run|npm ERR! (?:code|path|errno|command|A complete)"
    r"|continue-on-error|--fail-fast|0 errors?\b|errors?: 0\b|Failures: 0, Errors: 0"
    r"|warning: .* will be treated"
)
_LOCATION = re.compile(rf"(?P<file>{_PATH}):(?P<line>\d+)")


def compiler_errors(log: LogText, rel: Rel) -> list[Finding]:
    findings = []
    for line in log.lines:
        match = _COMPILER.match(line)
        if match is None:
            continue
        file = match["file"] or match["file2"]
        number = match["line"] or match["line2"]
        message = (match["message"] or match["message2"]).strip()
        findings.append(
            Finding(FindingKind.COMPILE, rel(file), int(number), message[:_MAX_MESSAGE])
        )
    return findings


def workflow_commands(log: LogText, rel: Rel) -> list[Finding]:
    findings = []
    for line in log.lines:
        match = _WORKFLOW.match(line)
        if match is None:
            continue
        props = {m["key"]: m["value"] for m in _PROPERTY.finditer(match["props"])}
        number = props.get("line", "")
        file = rel(props["file"]) if props.get("file") else None
        message = match["message"].replace("%0A", " ").strip()
        findings.append(
            Finding(
                FindingKind.ERROR,
                file,
                int(number) if number.isdigit() else None,
                (props.get("title", "") + ": " + message if props.get("title") else message)[
                    :_MAX_MESSAGE
                ],
            )
        )
    return findings


def error_lines(log: LogText, rel: Rel) -> list[Finding]:
    """The last distinct lines that say error or failure, located where they name a file."""
    seen: set[str] = set()
    found: list[Finding] = []
    for line in reversed(log.lines):
        text = line.strip()
        if not _ERROR_WORD.search(text) or _NOISE.search(text) or text in seen:
            continue
        seen.add(text)
        location = next(
            (m for m in _LOCATION.finditer(text) if not is_outside(rel(m["file"]))), None
        )
        file = rel(location["file"]) if location else None
        number = int(location["line"]) if location else None
        found.append(Finding(FindingKind.ERROR, file, number, text[:_MAX_MESSAGE]))
        if len(found) >= _MAX_ERROR_LINES:
            break
    return found[::-1]
