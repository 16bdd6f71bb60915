"""A repository's own `.corral.yaml`: custom verifiers and overrides of the built-in ones.

The same `VerifierSettings` block appears in a campaign spec, which takes precedence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

REPO_CONFIG_FILE = ".corral.yaml"
M = TypeVar("M", bound=BaseModel)


class CustomVerifierSpec(BaseModel):
    """A verifier a repository or campaign defines: run a command, parse its output."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    activate: str
    """A glob relative to the project folder (e.g. `**/*.sh`); the verifier runs when it matches."""
    command: list[str] = Field(min_length=1)
    pattern: str
    """A regex with named groups `file`, `line` (optional) and `message`, matched per line."""
    kind: Literal["format", "compile", "lint", "test"] = "lint"
    timeout_s: float = 600.0

    @field_validator("pattern")
    @classmethod
    def _pattern_has_groups(cls, value: str) -> str:
        compiled = re.compile(value)
        missing = {"file", "message"} - set(compiled.groupindex)
        if missing:
            raise ValueError(f"pattern needs the named groups {sorted(missing)}")
        return value


class VerifierSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disable: list[str] = Field(default_factory=list)
    """Built-in verifiers switched off by name (e.g. `node`)."""
    args: dict[str, list[str]] = Field(default_factory=dict)
    """Extra arguments per built-in verifier, passed to its main build/test command."""
    custom: list[CustomVerifierSpec] = Field(default_factory=list)
    timeout_s: float = 900.0
    """Wall-time limit of each verifier command."""
    max_message_chars: int = 2000

    def merged(self, override: VerifierSettings | None) -> VerifierSettings:
        """These settings with a campaign's on top (lists joined, scalars replaced)."""
        if override is None:
            return self
        return VerifierSettings(
            disable=sorted({*self.disable, *override.disable}),
            args={**self.args, **override.args},
            custom=[*self.custom, *override.custom],
            timeout_s=override.timeout_s,
            max_message_chars=override.max_message_chars,
        )


class RepoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verifiers: VerifierSettings = Field(default_factory=VerifierSettings)


class ConfigError(ValueError):
    """A configuration or spec file is invalid; the message names file, line and field."""


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Load YAML into a pydantic model; errors name `file:line field: reason`."""
    from ruamel.yaml import YAML  # imported here: it costs 0.1 s at every CLI start
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="rt").load(path.read_text())
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(_describe(path, data, exc)) from exc


def _describe(path: Path, data: object, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        where = f"{path}:{_line_of(data, error['loc'])}" if data is not None else str(path)
        lines.append(f"{where} {'.'.join(loc) or '(top)'}: {error['msg']}")
    return "\n".join(lines)


def _line_of(data: object, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the deepest node of `loc` that ruamel.yaml can place."""
    line = 1
    node = data
    for part in loc:
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            if isinstance(part, int):
                line = lc.item(part)[0] + 1
                node = node[part]  # type: ignore[index]
            else:
                line = lc.key(part)[0] + 1
                node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            break
    return line


def load_repo_config(repo_root: Path) -> RepoConfig:
    path = repo_root / REPO_CONFIG_FILE
    if not path.is_file():
        return RepoConfig()
    return load_yaml_model(path, RepoConfig)
