"""A campaign's gate settings: which verifiers, which guard rules, which judge.

Embedded in the campaign spec as `gate:`; every field has a default, so `gate: {}` is the
strict default (every guard rule on, scope = the whole repository, judge when configured).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corral.config import ConfigError, VerifierSettings, load_yaml_model
from corral.llm.settings import ModelSettings

RuleId = Literal[
    "tests-deleted",
    "tests-disabled",
    "build-test-exclusion",
    "assertions-weakened",
    "fewer-tests-run",
    "out-of-scope",
    "protected-file-changed",
    "diff-too-large",
]
"""Every guard rule's id; see gate/README.md for what each one catches."""

ProtectedKind = Literal["ci", "build", "lock"]
JudgeMode = Literal["required", "when_configured", "off"]


class GuardSettings(BaseModel):
    """The deterministic guard: rules on the diff against the base commit."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    allow: list[RuleId] = Field(default_factory=list)
    """Rules whose hits this campaign accepts: they become notes for the judge, not vetoes."""
    scope: list[str] = Field(default_factory=lambda: ["**"])
    """Gitignore-style globs of the files the change may touch (default: everything)."""
    allow_changes_to: list[ProtectedKind] = Field(default_factory=list)
    """Kinds of protected files the change may edit: CI/check config, build files, lock files."""
    max_diff_lines: int = Field(default=1000, gt=0)
    """Most added plus removed lines in the whole diff, lock files not counted."""
    max_diff_bytes: int = Field(default=10_000_000, gt=0)
    """Most bytes in the files the change adds or rewrites, binary, lock and generated files
    included (a file's whole new content counts)."""

    @field_validator("scope")
    @classmethod
    def _scope_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("scope needs at least one glob (use ['**'] for everything)")
        return value


class JudgeSettings(BaseModel):
    """The LLM judge: does the diff do what the prompt asked, and nothing else?"""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    mode: JudgeMode = "when_configured"
    """required: no pass without an approving verdict; when_configured: used if a model is set."""
    model: ModelSettings | None = None
    """The judge's own model, apart from the agent's (a different model family is advised)."""
    max_diff_chars: int = Field(default=60_000, gt=0)
    """The diff shown to the judge is cut beyond this many characters (the judge is told)."""
    max_tokens: int = Field(default=2048, gt=0)
    """Most tokens the judge may write in its verdict."""


class GateSettings(BaseModel):
    """The whole gate: verifiers, then the guard, then the judge."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    verifiers: VerifierSettings = Field(default_factory=VerifierSettings)
    """Verifier settings merged over each repository's own `.corral.yaml`."""
    guard: GuardSettings = Field(default_factory=GuardSettings)
    """Deterministic scope and test-tampering rules."""
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    """The LLM judge's mode and model, set apart from the agent's model."""


def gate_settings_from_options(
    settings_file: Path | None,
    *,
    scope: list[str],
    allow: list[str],
    allow_changes_to: list[str],
    max_diff_lines: int | None,
    judge: ModelSettings | None,
) -> GateSettings:
    """A settings file (a campaign's `gate:` block) with the command-line options on top.

    The judge is off unless a model is given, on the command line or in the file.
    """
    base = load_yaml_model(settings_file, GateSettings) if settings_file else GateSettings()
    guard = base.guard.model_dump()
    options = {"scope": scope, "allow": allow, "allow_changes_to": allow_changes_to}
    guard.update({key: value for key, value in options.items() if value})
    if max_diff_lines is not None:
        guard["max_diff_lines"] = max_diff_lines
    judge_settings = base.judge
    if judge is not None:
        judge_settings = base.judge.model_copy(update={"model": judge, "mode": "required"})
    elif settings_file is None:
        judge_settings = JudgeSettings(mode="off")
    try:
        return GateSettings(
            verifiers=base.verifiers,
            guard=GuardSettings.model_validate(guard),
            judge=judge_settings,
        )
    except ValueError as exc:
        raise ConfigError(f"invalid gate options: {exc}") from exc
