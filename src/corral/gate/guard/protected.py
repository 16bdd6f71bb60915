"""protected-file-changed: CI and check configuration, build files or lock files changed
when the campaign does not allow that kind."""

from __future__ import annotations

from pathspec import GitIgnoreSpec

from corral import ecosystems
from corral.gate.guard.base import GuardContext, GuardFinding, Rule
from corral.gate.settings import ProtectedKind, RuleId

ID: RuleId = "protected-file-changed"

KIND_GLOBS: dict[ProtectedKind, list[str]] = {
    "ci": [
        ".github/workflows/",
        ".github/actions/",
        ".gitlab-ci.yml",
        ".gitlab-ci/",
        ".circleci/",
        "Jenkinsfile",
        "azure-pipelines.yml",
        ".travis.yml",
        "bitbucket-pipelines.yml",
        ".buildkite/",
        ".pre-commit-config.yaml",
        ".corral.yaml",
    ],
    "lock": [
        *(glob for e in ecosystems.ECOSYSTEMS for glob in e.lock_files),
        "Gemfile.lock",
        "composer.lock",
    ],
    "build": [
        *(glob for e in ecosystems.ECOSYSTEMS for glob in e.build_files),
        "Makefile",
        "*.mk",
        "CMakeLists.txt",
        "Dockerfile",
        "justfile",
        "Justfile",
    ],
}
_SPECS = {kind: GitIgnoreSpec.from_lines(globs) for kind, globs in KIND_GLOBS.items()}
_WHAT = {"ci": "CI or check configuration", "build": "a build file", "lock": "a lock file"}


def kind_of(path: str) -> ProtectedKind | None:
    return next((kind for kind, spec in _SPECS.items() if spec.match_file(path)), None)


def is_lock_file(path: str) -> bool:
    return kind_of(path) == "lock"


def check(ctx: GuardContext) -> list[GuardFinding]:
    allowed = set(ctx.settings.allow_changes_to)
    findings = []
    for change in ctx.diff.files:
        for path in change.paths:
            kind = kind_of(path)
            if kind is None or kind in allowed:
                continue
            findings.append(
                GuardFinding(
                    ID,
                    f"You changed {path}, {_WHAT[kind]}, which this campaign does not allow; "
                    "revert it and make the change without touching it.",
                    file=path,
                )
            )
            break
    return findings


RULE = Rule(ID, "CI, build or lock files changed when the campaign does not allow it", check)
