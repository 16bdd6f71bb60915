"""JavaScript and TypeScript tools' console output: tsc, ESLint, Prettier, and the test
runners jest, vitest, mocha, node:test (spec and TAP reporters) and ava.

tsc, ESLint's stylish format, Prettier, stack frames and error summaries are read by the node
verifier's own parsers; the runners' console reports (the verifier reads their JSON and JUnit
reports instead) are read here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from corral.ci.logtext import LogText
from corral.ci.paths import is_outside
from corral.verifiers.base import Finding, FindingKind, Rel
from corral.verifiers.node import (
    error_summary,
    parse_eslint_stylish,
    parse_prettier_check,
    parse_tsc,
    source_frame,
    tap_results,
)

_MAX_MESSAGE = 300
_SCRIPT = r"[^\s:()'\"]+\.(?:[cm]?[jt]sx?|vue|svelte)"
_JEST_FILE = re.compile(rf"^\s*FAIL\s+(?P<file>{_SCRIPT})(?:\s|$)")
_JEST_CASE = re.compile(r"^\s+● (?P<name>.+)$")
_JEST_END = re.compile(r"^(?:\s*(?:PASS|FAIL)\s|Test Suites:|Summary of all failing tests)")
_VITEST_CASE = re.compile(rf"^\s*FAIL\s+(?P<file>{_SCRIPT}) > (?P<name>.+?)\s*$")
_VITEST_FRAME = re.compile(
    rf"^\s*(?:\u276f|\u2192|at)\s+(?:\S+ )?\(?(?P<file>{_SCRIPT}):(?P<line>\d+)(?::\d+)?\)?$"
)
_VITEST_END = re.compile(r"^(?:⎯{3,}|\s*Test Files\s)")
_MOCHA_FAILING = re.compile(r"^\s+\d+ failing$")
_MOCHA_CASE = re.compile(r"^\s{2}(?P<number>\d+)\) (?P<name>.+)$")
_TAP_LOCATION = re.compile(r"^\s+location: '(?P<file>[^']+?):(?P<line>\d+):\d+'$")
_TAP_KEY = re.compile(r"^\s+(?P<key>\w+): (?P<value>.*)$")
_NODE_SPEC_CASE = re.compile(r"^(?P<indent>\s*)✖ (?P<name>.+?)(?: \([\d.]+m?s\))?$")
_NODE_TEST_AT = re.compile(rf"^\s*test at (?P<file>{_SCRIPT}):(?P<line>\d+):\d+$")
_AVA_FAIL = re.compile(r"^\s+✘ (?:\[fail\]: )?(?P<name>.+?)(?:\s{2,}|$)")
_AVA_LOCATION = re.compile(rf"^\s+(?P<file>{_SCRIPT}):(?P<line>\d+)$")


def tsc(log: LogText, rel: Rel) -> list[Finding]:
    return parse_tsc(log.text, rel)


def eslint(log: LogText, rel: Rel) -> list[Finding]:
    """ESLint's stylish format (its default) and Prettier's `--check` listing."""
    return [*parse_eslint_stylish(log.text, rel), *parse_prettier_check(log.text, rel)]


def _blocks(
    lines: tuple[str, ...], start: Callable[[str], re.Match[str] | None], end: re.Pattern[str]
) -> Iterator[tuple[re.Match[str], list[str]]]:
    """Each line `start` matches, with the lines after it up to the next start or `end`."""
    current: tuple[re.Match[str], list[str]] | None = None
    for line in lines:
        match = start(line)
        if match is not None or end.match(line):
            if current is not None:
                yield current
            current = (match, []) if match is not None else None
        elif current is not None:
            current[1].append(line)
    if current is not None:
        yield current


def _failure(name: str, body: list[str], rel: Rel, file: str | None = None) -> Finding | None:
    text = "\n".join(body)
    where = source_frame(text, rel)
    if where is None and file is None:
        return None
    message, context = error_summary(text)
    path, line = where if where else (rel(file or ""), None)
    return Finding(
        FindingKind.TEST,
        path,
        line,
        message[:_MAX_MESSAGE] or "failed",
        test_id=name,
        context=context,
    )


def jest(log: LogText, rel: Rel) -> list[Finding]:
    """`FAIL src/a.test.js` then a bulleted `suite > test` block per failed test."""
    findings: list[Finding] = []
    for case, body in _blocks(log.lines, _JEST_CASE.match, _JEST_END):
        owner = _jest_file_before(log.lines, case)
        finding = _failure(case["name"].strip(), _without_code_frame(body), rel, owner)
        if finding is not None and finding.test_id not in {f.test_id for f in findings}:
            findings.append(finding)
    return findings


def _jest_file_before(lines: tuple[str, ...], case: re.Match[str]) -> str | None:
    """The `FAIL <file>` line above a `●` block."""
    index = next((i for i, line in enumerate(lines) if line == case.string), None)
    for line in reversed(lines[:index] if index is not None else ()):
        match = _JEST_FILE.match(line)
        if match:
            return match["file"]
    return None


def _without_code_frame(body: list[str]) -> list[str]:
    """jest's code frame (`> 12 |   expect(x)`) would pass for the message."""
    return [
        line for line in body if not re.match(r"^\s*>?\s*\d+ \|", line) and line.strip()[:1] != "|"
    ]


def vitest(log: LogText, rel: Rel) -> list[Finding]:
    """` FAIL  src/a.test.ts > suite > test`, the error, then a frame `src/a.test.ts:5:22`."""
    findings: list[Finding] = []
    blocks = list(_blocks(log.lines, _VITEST_CASE.match, _VITEST_END))
    for i, (case, own_body) in enumerate(blocks):
        # Tests that failed alike are listed together, the shared error after the last one.
        body = next((b for _, b in blocks[i:] if any(line.strip() for line in b)), own_body)
        frames = [m for m in map(_VITEST_FRAME.match, body) if m]
        own = [(rel(m["file"]), int(m["line"])) for m in frames]
        own = [f for f in own if not is_outside(f[0])]
        in_test = [f for f in own if f[0] == rel(case["file"])]
        message, context = error_summary("\n".join(b for b in body if not _VITEST_FRAME.match(b)))
        located: list[tuple[str, int | None]] = [*in_test, *own, (rel(case["file"]), None)]
        file, line = located[0] if not in_test else in_test[-1]  # the test's own line
        name = f"{case['file']} > {case['name']}"
        if name not in {f.test_id for f in findings}:
            findings.append(
                Finding(
                    FindingKind.TEST,
                    file,
                    line,
                    message[:_MAX_MESSAGE],
                    test_id=name,
                    context=context,
                )
            )
    return findings


def mocha(log: LogText, rel: Rel) -> list[Finding]:
    """The numbered failures after mocha's `N failing` line."""
    start = next((i for i, line in enumerate(log.lines) if _MOCHA_FAILING.match(line)), None)
    if start is None:
        return []
    findings = []
    never = re.compile(r"(?!)")
    for case, body in _blocks(log.lines[start + 1 :], _MOCHA_CASE.match, never):
        title = [case["name"].strip()]
        rest = list(body)
        while rest and rest[0].strip() and not re.match(r"^\s*\w*(Error|Exception)\b", rest[0]):
            title.append(rest.pop(0).strip().rstrip(":"))
        finding = _failure(" ".join(title), rest, rel)
        if finding is not None:
            findings.append(finding)
    return findings


def node_test(log: LogText, rel: Rel) -> list[Finding]:
    """node:test's TAP reporter (`not ok` with a YAML block) and spec reporter (`✖ name`)."""
    findings = _node_tap(log.lines, rel)
    seen = {f.test_id for f in findings}
    for finding in _node_spec(log.lines, rel):
        if finding.test_id not in seen:
            seen.add(finding.test_id)
            findings.append(finding)
    return findings


def _node_tap(lines: tuple[str, ...], rel: Rel) -> list[Finding]:
    findings = []
    for result in tap_results(lines):
        block = result.block
        if result.ok or not result.name or "subtestsFailed" in "\n".join(block):
            continue  # a suite's failed tests are reported on their own
        location = next((m for m in map(_TAP_LOCATION.match, block) if m), None)
        stack = "\n".join(f"at {b.strip()}" for b in block if "(" in b and ":" in b)
        where = source_frame(stack, rel)
        if where is None and location is not None:
            where = (rel(location["file"]), int(location["line"]))
        if where is None:
            continue
        error = next(
            (m["value"] for m in map(_TAP_KEY.match, block) if m and m["key"] == "error"), ""
        )
        message = error.strip("'|-> ") or next(
            (b.strip() for b in block if b.strip() and not _TAP_KEY.match(b)), "failed"
        )
        findings.append(
            Finding(
                FindingKind.TEST, where[0], where[1], message[:_MAX_MESSAGE], test_id=result.name
            )
        )
    return findings


def _node_spec(lines: tuple[str, ...], rel: Rel) -> list[Finding]:
    findings = []
    for i, line in enumerate(lines):
        match = _NODE_SPEC_CASE.match(line)
        if match is None or match["name"].startswith("failing tests"):
            continue
        body = []
        for follow in lines[i + 1 : i + 80]:
            if follow.strip() and len(follow) - len(follow.lstrip()) <= len(match["indent"]):
                break
            body.append(follow)
        at = _NODE_TEST_AT.match(lines[i - 1]) if i else None
        text = "\n".join(body)
        where = source_frame(text, rel) or ((rel(at["file"]), int(at["line"])) if at else None)
        if where is None:
            continue
        message, context = error_summary(text)
        findings.append(
            Finding(
                FindingKind.TEST,
                where[0],
                where[1],
                message[:_MAX_MESSAGE] or "failed",
                test_id=match["name"],
                context=context,
            )
        )
    return findings


def ava(log: LogText, rel: Rel) -> list[Finding]:
    """ava: `✘ [fail]: title message`, then per failure its title and a `file.js:12` line."""
    failed = [m["name"].strip() for m in map(_AVA_FAIL.match, log.lines) if m]
    findings = []
    lines = log.lines
    for i, line in enumerate(lines):
        location = _AVA_LOCATION.match(line)
        if location is None:
            continue
        title = next((t.strip() for t in reversed(lines[max(0, i - 3) : i]) if t.strip()), "")
        if failed and not any(title == f or f.startswith(title) for f in failed):
            continue
        detail = [
            d.strip() for d in lines[i + 1 : i + 30] if d.strip() and not re.match(r"^\s*\d+:", d)
        ]
        findings.append(
            Finding(
                FindingKind.TEST,
                rel(location["file"]),
                int(location["line"]),
                (detail[0] if detail else "failed")[:_MAX_MESSAGE],
                test_id=title or None,
            )
        )
    return findings
