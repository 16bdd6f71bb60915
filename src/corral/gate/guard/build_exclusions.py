"""build-test-exclusion: tests switched off in build, test-runner or CI configuration rather
than in the tests: Surefire excludes, -DskipTests, testFailureIgnore, pytest --deselect or -k
in config, continue-on-error in CI, `|| true` after a test command..."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pathspec import GitIgnoreSpec

from corral import ecosystems
from corral.gate.diff import FileChange
from corral.gate.guard.base import GuardContext, GuardFinding, Rule, quote
from corral.gate.guard.languages import CommentStyle, added_lines_matching, count, strip_comments
from corral.gate.settings import RuleId

ID: RuleId = "build-test-exclusion"

Check = tuple[str, str]
"""(regex, what the agent is told it added)."""

_ANYWHERE: tuple[Check, ...] = (
    (r"-DskipTests\b|\bmaven\.test\.skip\b", "a Maven test skip (-DskipTests / maven.test.skip)"),
    (
        r"\btestFailureIgnore\b|\bmaven\.test\.failure\.ignore\b",
        "testFailureIgnore, which ignores failing tests",
    ),
    (r"--deselect\b", "a pytest --deselect"),
    (r"\|\|\s*(true|exit\s+0|:)(\s|$|[\"';)])", "`|| true`, which hides a failing command"),
)
_CI_AND_SCRIPTS: tuple[Check, ...] = (
    (r"\bcontinue-on-error\s*:\s*(true|\$\{\{)", "continue-on-error"),
    (r"\ballow_failure\s*:\s*true\b", "allow_failure"),
    (r"\s-x\s+:?\w*[tT]est\b", "a Gradle -x test exclusion"),
    (r"\s-skip[\s=]", "a go test -skip"),
    (r"\s-k[\s=]", "a pytest -k selection"),
)


@dataclass(frozen=True)
class _FileGroup:
    spec: GitIgnoreSpec
    style: CommentStyle
    checks: tuple[tuple[re.Pattern[str], str], ...]


def _group(globs: list[str], style: CommentStyle, *checks: Check) -> _FileGroup:
    compiled = tuple((re.compile(regex, re.MULTILINE), label) for regex, label in checks)
    anywhere = tuple((re.compile(regex, re.MULTILINE), label) for regex, label in _ANYWHERE)
    return _FileGroup(GitIgnoreSpec.from_lines(globs), style, (*anywhere, *compiled))


_GROUPS = (
    _group(
        ["pom.xml"],
        "xml",
        (r"<(skipTests|skip|skipITs|skipExec)>\s*true", "a Maven skip switch"),
        (r"<exclude>", "a Surefire/Failsafe <exclude>"),
        (r"<excludedGroups>", "excluded test groups"),
        (r"<failIfNoTests>\s*false", "failIfNoTests=false"),
    ),
    _group(
        ["*.gradle", "*.gradle.kts", "gradle.properties"],
        "c",
        (r"\bexclude\s*[('\"]|excludeTestsMatching|excludeTags", "a Gradle test exclusion"),
        (r"\benabled\s*=\s*false", "a disabled Gradle task"),
        (r"\bignoreFailures\s*=\s*true", "ignoreFailures"),
    ),
    _group(
        ["pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini", "noxfile.py", "conftest.py"],
        "hash",
        (r"(^|[\s\"'\[,])-k[\s=\"']", "a pytest -k selection"),
        (r"--ignore(-glob)?\b|\bnorecursedirs\b|\bcollect_ignore", "a pytest ignore"),
        (r"(^|[\s\"'\[,])-p\s*no:", "a disabled pytest plugin"),
    ),
    _group(
        [
            ".github/workflows/*",
            ".github/actions/**",
            ".gitlab-ci.yml",
            ".gitlab-ci/**",
            ".circleci/**",
            "Jenkinsfile",
            "azure-pipelines.yml",
            ".travis.yml",
            "bitbucket-pipelines.yml",
            ".buildkite/**",
            "Makefile",
            "*.mk",
            "*.sh",
            "justfile",
            "Justfile",
            "Taskfile.yml",
        ],
        "hash",
        *_CI_AND_SCRIPTS,
    ),
    _group(
        ["package.json", "jest.config.*", "vitest.config.*", ".mocharc*", "karma.conf.*"],
        "c",
        (r"--passWithNoTests|passWithNoTests\s*:\s*true", "passWithNoTests"),
        (r"(testPath|modulePath)IgnorePatterns", "a Jest ignore pattern"),
        (r"\"test\"\s*:\s*\"\s*(echo\b|exit\s+0|true\b|:)", "a test script that runs no tests"),
    ),
    _group(
        ["Cargo.toml"],
        "hash",
        (r"^\s*(test|autotests|doctest)\s*=\s*false", "test = false in Cargo.toml"),
    ),
    _group(
        [".corral.yaml"],
        "hash",
        (rf"^\s*disable\s*:|^\s*-\s*({'|'.join(ecosystems.names())})\s*$", "a disabled verifier"),
    ),
)


def check(ctx: GuardContext) -> list[GuardFinding]:
    findings: list[GuardFinding] = []
    for change in ctx.diff.files:
        if change.new_text is None or change.new_path is None:
            continue
        for group in _GROUPS:
            if group.spec.match_file(change.new_path):
                findings.extend(_check_group(change, group))
    return findings


def _check_group(change: FileChange, group: _FileGroup) -> list[GuardFinding]:
    findings: list[GuardFinding] = []
    old = strip_comments(change.old_text or "", group.style)
    new = strip_comments(change.new_text or "", group.style)
    for pattern, label in group.checks:
        extra = count(pattern, new) - count(pattern, old)
        if extra <= 0:
            continue
        lines: list[tuple[int | None, str]] = [
            *added_lines_matching(change, pattern, group.style)[:extra]
        ] or [(None, "")]
        findings.extend(
            GuardFinding(
                ID,
                f"You added {label} in {change.path}{f':{n}' if n else ''}"
                f"{f' ({quote(text)})' if text else ''}, which stops tests from running or "
                "failing; remove it and fix the code instead.",
                file=change.path,
                line=n,
            )
            for n, text in lines
        )
    return findings


RULE = Rule(ID, "tests excluded or failures ignored in build, runner or CI configuration", check)
