"""A CI log condensed into findings (file, line, message) and the short message an agent gets.

Every tool's parser runs over the whole cleaned log (a job often runs several tools); the
findings are put together without repeats (one location reported by two parsers once) and
rendered into a message that keeps every failing file:line: first with messages and context,
then shorter, then locations alone, within a budget of 5% of the raw log's size (at most
4,000 characters) for logs of 1,000 lines or more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from corral.ci import generic, jvm, native, node, python
from corral.ci.logtext import LogText
from corral.ci.paths import PathMapper, checkout_roots
from corral.verifiers.base import Finding, FindingKind, Rel

Parser = Callable[[LogText, Rel], list[Finding]]

# Most specific first: when two parsers report one location, the first one's words win.
PARSERS: dict[str, Parser] = {
    "javac": jvm.javac,
    "checkstyle": jvm.checkstyle,
    "surefire": jvm.surefire,
    "gradle-test": jvm.gradle_tests,
    "pytest": python.pytest,
    "mypy": python.mypy,
    "ruff": python.lint,
    "traceback": python.tracebacks,
    "go-build": native.go_build,
    "go-test": native.go_test,
    "rustc": native.rustc,
    "libtest": native.libtest,
    "tsc": node.tsc,
    "eslint": node.eslint,
    "jest": node.jest,
    "vitest": node.vitest,
    "mocha": node.mocha,
    "node-test": node.node_test,
    "ava": node.ava,
    "compiler": generic.compiler_errors,
    "annotations": generic.workflow_commands,
}
FALLBACK = "errors"
"""The parser that runs only when no other one found anything."""

TOOL_NAMES: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in PARSERS},
    FALLBACK: (FALLBACK,),
    "maven": ("javac", "checkstyle", "surefire"),
    "gradle": ("javac", "checkstyle", "gradle-test"),
    "kotlinc": ("javac",),
    "python": ("pytest", "mypy", "ruff", "traceback"),
    "unittest": ("traceback",),
    "flake8": ("ruff",),
    "pylint": ("ruff",),
    "pyright": ("ruff",),
    "go": ("go-build", "go-test"),
    "go-vet": ("go-build",),
    "gofmt": ("go-build",),
    "cargo": ("rustc", "libtest"),
    "clippy": ("rustc",),
    "rustfmt": ("rustc",),
    "npm": ("tsc", "eslint", "jest", "vitest", "mocha", "node-test", "ava"),
    "prettier": ("eslint",),
    "generic": ("compiler", "annotations", FALLBACK),
}
"""What `--tool NAME` accepts: a parser's name, or a build tool or ecosystem's."""

LONG_LOG_LINES = 1000
SHARE_OF_LONG_LOG = 0.05
MAX_CHARS = 4000
SHORT_LOG_CHARS = 2000
_CONTEXT_LINES = 3
_KIND_ORDER = {
    FindingKind.ERROR: 0,
    FindingKind.COMPILE: 1,
    FindingKind.TEST: 2,
    FindingKind.LINT: 3,
    FindingKind.FORMAT: 4,
}


class UnknownToolError(ValueError):
    """`--tool` named no parser."""


@dataclass(frozen=True)
class LogFinding:
    tool: str
    finding: Finding

    def to_json(self) -> dict[str, Any]:
        f = self.finding
        return {
            "file": f.file,
            "line": f.line,
            "message": f.message,
            "kind": f.kind.value,
            "tool": self.tool,
            "test_id": f.test_id,
            "context": f.context,
        }


@dataclass(frozen=True)
class CondensedLog:
    findings: tuple[LogFinding, ...]
    message: str
    raw_chars: int
    raw_lines: int
    fallback: bool
    """True when no tool's parser recognised a failure (the findings are bare error lines)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "findings": [f.to_json() for f in self.findings],
            "raw_chars": self.raw_chars,
            "raw_lines": self.raw_lines,
            "fallback": self.fallback,
        }

    def lines(self) -> list[str]:
        """One line a finding, as compilers print them: `file:line: [kind] tool: message`."""
        if not self.findings:
            return [self.message]
        return [
            f"{_where(f.finding)}: [{f.finding.kind.value}] {f.tool}: "
            f"{f.finding.message.strip().splitlines()[0]}"
            for f in self.findings
        ]

    @property
    def locations(self) -> list[tuple[str, int]]:
        return [
            (f.finding.file, f.finding.line)
            for f in self.findings
            if f.finding.file and f.finding.line
        ]


def resolve_tools(names: Sequence[str]) -> tuple[str, ...]:
    """Parser names for `--tool` values; UnknownToolError names the choices."""
    chosen: list[str] = []
    for name in names:
        key = name.strip().lower()
        if key not in TOOL_NAMES:
            choices = ", ".join(sorted(TOOL_NAMES))
            raise UnknownToolError(f"unknown tool {name!r}: choose from {choices}")
        chosen += [t for t in TOOL_NAMES[key] if t not in chosen]
    return tuple(chosen)


def condense(
    raw: str,
    *,
    tools: Sequence[str] = (),
    repo_files: Sequence[str] | None = None,
    max_chars: int | None = None,
) -> CondensedLog:
    """Findings and the agent's message for one CI log (`tools` limits the parsers used)."""
    log = LogText.parse(raw)
    mapper = PathMapper(checkout_roots(log.lines), repo_files)
    selected = resolve_tools(tools) if tools else (*PARSERS, FALLBACK)
    findings = _run(log, mapper, [t for t in selected if t != FALLBACK])
    fallback = not findings and FALLBACK in selected
    if fallback:
        findings = [LogFinding(FALLBACK, f) for f in generic.error_lines(log, mapper.rel)]
    findings = [_tidy(f, mapper) for f in findings]
    budget = max_chars or message_budget(log.raw_chars, log.raw_lines)
    message = render(findings, log, fallback, budget)
    return CondensedLog(tuple(findings), message, log.raw_chars, log.raw_lines, fallback)


def message_budget(raw_chars: int, raw_lines: int) -> int:
    """5% of a long log (1,000 lines or more), capped; a short log gets a usable minimum."""
    share = int(raw_chars * SHARE_OF_LONG_LOG)
    if raw_lines >= LONG_LOG_LINES:
        return max(200, min(MAX_CHARS, share))
    return min(MAX_CHARS, max(SHORT_LOG_CHARS, share))


def _run(log: LogText, mapper: PathMapper, tools: Sequence[str]) -> list[LogFinding]:
    found: list[LogFinding] = []
    seen: set[tuple[str | None, int | None, str]] = set()
    for tool in tools:
        for finding in PARSERS[tool](log, mapper.rel):
            key = _key(finding)
            if key not in seen:
                seen.add(key)
                found.append(LogFinding(tool, finding))
    return sorted(
        found,
        key=lambda f: (_KIND_ORDER[f.finding.kind], f.finding.file or "~", f.finding.line or 0),
    )


def _key(f: Finding) -> tuple[str | None, int | None, str]:
    """One location once, whichever parser saw it; unlocated findings by their message."""
    if f.file and f.line:
        return f.file, f.line, ""
    return f.file, None, " ".join(f.message.split()).lower()


def _tidy(f: LogFinding, mapper: PathMapper) -> LogFinding:
    finding = f.finding
    context = mapper.strip_roots(finding.context) if finding.context else None
    return replace(
        f, finding=replace(finding, message=mapper.strip_roots(finding.message), context=context)
    )


# --- the message ---------------------------------------------------------------------------


def render(findings: Sequence[LogFinding], log: LogText, fallback: bool, budget: int) -> str:
    """The agent's message: the most detailed rendering that fits the budget."""
    if not findings:
        tail = [line for line in log.lines if line.strip()][-8:]
        text = "CI failed, and its log names no failure that corral recognises. Its last lines:\n"
        return _cut(text + "\n".join(f"  {line[:200]}" for line in tail), budget)
    header = _header(findings, fallback)
    detailed = "\n".join([header, *(_detailed(f) for f in findings)])
    if len(detailed) <= budget:
        return detailed
    # One line a finding, its message as long as the budget allows; else locations alone.
    for width in (200, 120, 80, 60, 40, 25):
        text = "\n".join([header, *(_one_line(f, width) for f in findings)])
        if len(text) <= budget:
            return text
    # The same message at several lines of a file, said once.
    for width in (120, 80, 50, 30):
        text = "\n".join([header, *_grouped(findings, width)])
        if len(text) <= budget:
            return text
    return _cut("\n".join([header, *_locations_only(findings)]), budget)


def _header(findings: Sequence[LogFinding], fallback: bool) -> str:
    if fallback:
        return "CI failed; no tool's report was recognised. The log's error lines:"
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.tool] = counts.get(f.tool, 0) + 1
    tools = ", ".join(f"{tool} {n}" for tool, n in counts.items())
    noun = "problem" if len(findings) == 1 else "problems"
    return f"CI failed: {len(findings)} {noun} in its log ({tools})."


def _where(f: Finding) -> str:
    if f.file and f.line:
        return f"{f.file}:{f.line}"
    return f.file or "(no file)"


def _detailed(lf: LogFinding) -> str:
    f = lf.finding
    subject = f" {f.test_id}:" if f.test_id else ""
    first = f"- {_where(f)}: [{f.kind.value}]{subject} {f.message.strip().splitlines()[0][:300]}"
    extra = (f.context or "").strip().splitlines()[:_CONTEXT_LINES]
    return "\n".join([first, *(f"    {line[:200]}" for line in extra)])


def _one_line(lf: LogFinding, width: int) -> str:
    f = lf.finding
    message = f.message.strip().splitlines()[0]
    if len(message) > width:
        message = message[: width - 1] + "\u2026"
    return f"- {_where(f)}: {message}"


def _grouped(findings: Sequence[LogFinding], width: int) -> list[str]:
    """`- path:3,17,40: message` per file and message."""
    groups: dict[tuple[str, str], list[str]] = {}
    for lf in findings:
        f = lf.finding
        message = f.message.strip().splitlines()[0]
        message = message if len(message) <= width else message[: width - 1] + "\u2026"
        lines = groups.setdefault((f.file or "(no file)", message), [])
        if f.line and str(f.line) not in lines:
            lines.append(str(f.line))
    return [
        f"- {file}:{','.join(lines)}: {message}" if lines else f"- {file}: {message}"
        for (file, message), lines in groups.items()
    ]


def _locations_only(findings: Sequence[LogFinding]) -> list[str]:
    """`- path:3,17,40` per file: every location, no message."""
    by_file: dict[str, list[str]] = {}
    for lf in findings:
        f = lf.finding
        lines = by_file.setdefault(f.file or "(no file)", [])
        if f.line and str(f.line) not in lines:
            lines.append(str(f.line))
    return [
        f"- {file}:{','.join(lines)}" if lines else f"- {file}" for file, lines in by_file.items()
    ]


def _cut(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    kept = text[: budget - 40].rsplit("\n", 1)[0]
    more = text[len(kept) :].count("\n- ")
    return f"{kept}\n... and {more} more (message cut to fit)"
