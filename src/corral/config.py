"""A repository's own `.corral.yaml`: custom verifiers and overrides of the built-in ones.

The same `VerifierSettings` block appears in a campaign spec, which takes precedence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from corral.paths import PathEscapeError, resolve_inside

REPO_CONFIG_FILE = ".corral.yaml"
M = TypeVar("M", bound=BaseModel)


class CustomVerifierSpec(BaseModel):
    """A verifier a repository or campaign defines: run a command, parse its output."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, defer_build=True)

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
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, defer_build=True)

    disable: list[str] = Field(default_factory=list)
    """Built-in verifiers switched off by name (e.g. `node`)."""
    args: dict[str, list[str]] = Field(default_factory=dict)
    """Extra arguments per built-in verifier, passed to its main build/test command."""
    custom: list[CustomVerifierSpec] = Field(default_factory=list)
    checks: dict[str, list[str]] = Field(default_factory=dict)
    """Checks to run per built-in verifier although the project's CI does not (e.g.
    `cargo: [clippy]`); by default a verifier runs what the project's CI runs."""
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
            checks={
                name: sorted({*self.checks.get(name, ()), *override.checks.get(name, ())})
                for name in {*self.checks, *override.checks}
            },
            timeout_s=override.timeout_s,
            max_message_chars=override.max_message_chars,
        )


class CISettings(BaseModel):
    """What the local forge's CI runs besides the verifiers: a repository's own CI script,
    as a hosted CI would run it (the gate does not). Its output is CI's log."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, defer_build=True)

    command: list[str] = Field(min_length=1)
    timeout_s: float = 1800.0


class RepoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, defer_build=True)

    verifiers: VerifierSettings = Field(default_factory=VerifierSettings)
    ci: CISettings | None = None
    """The local forge's CI command (hosted forges run the repository's own CI)."""


class ConfigError(ValueError):
    """A configuration or spec file is invalid; the message names file, line and field."""


def read_utf8(path: Path) -> str:
    """A text file's content; ConfigError, in one line, when it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        ) from exc


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Load YAML into a pydantic model; errors name `file:line field: reason`."""
    try:
        text = read_utf8(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return _parse_yaml_model(path, text, model)


def _parse_yaml_model(path: Path, text: str, model: type[M]) -> M:
    from ruamel.yaml import YAML  # imported here: it costs 0.1 s at every CLI start
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        raise ConfigError(_yaml_problem(path, exc)) from exc
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(_describe(path, data, exc)) from exc


def _yaml_problem(path: Path, exc: Any) -> str:
    """`file:line:column: not valid YAML: problem` (ruamel's marks are 0-based)."""
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    return f"{where}: not valid YAML: {exc.problem or exc.context}"


_SCALAR_TYPES = frozenset({"str", "int", "float", "bool"})


def _describe(path: Path, data: object, exc: ValidationError) -> str:
    lines = []
    for loc, message in _errors(data, exc):
        where = f"{path}:{_line_of(data, loc)}" if data is not None else str(path)
        lines.append(f"{where} {'.'.join(map(str, loc)) or '(top)'}: {message}")
    return "\n".join(lines)


def _errors(data: object, exc: ValidationError) -> list[tuple[tuple[int | str, ...], str]]:
    """(location in the file, message) per error. A field that may be one of several types
    (a repository as a URL or as a mapping) gets pydantic's error for each: only those for
    the kind of value written are kept, and the type names are left out of the location."""
    kept: list[tuple[tuple[int | str, ...], str]] = []
    dropped: list[tuple[tuple[int | str, ...], str]] = []
    for error in exc.errors():
        loc, fits = _data_location(data, error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        (kept if fits else dropped).append((loc, message))
    return kept or dropped


def _data_location(data: object, loc: tuple[int | str, ...]) -> tuple[tuple[int | str, ...], bool]:
    """`loc` without the union members' type names, and whether the member named fits the
    value written there (a mapping for a model, a scalar for `str`...)."""
    node, path, fits = data, [], True
    for part in loc:
        if _has(node, part):
            path.append(part)
            node = node[part]  # type: ignore[index]
        elif isinstance(part, str) and (part in _SCALAR_TYPES or part[:1].isupper()):
            fits = fits and (part in _SCALAR_TYPES) != isinstance(node, dict | list)
        else:
            path.append(part)
            node = None
    return tuple(path), fits


def _has(node: object, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


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
    """The repository's `.corral.yaml`; ConfigError when it is a symlink leading out."""
    path = repo_root / REPO_CONFIG_FILE
    if path.is_symlink():
        try:
            path = resolve_inside(repo_root, REPO_CONFIG_FILE, REPO_CONFIG_FILE)
        except PathEscapeError as exc:
            raise ConfigError(str(exc)) from exc
    if not path.is_file():
        return RepoConfig()
    return load_repo_config_file(path)


def load_repo_config_file(path: Path) -> RepoConfig:
    """load_yaml_model(path, RepoConfig), remembered by the text parsed (a pure function of
    it): a job's steps and its CI read the same `.corral.yaml` several times, and a fleet's
    repositories often share one (a parse takes some 20 ms). A copy each time."""
    try:
        text = read_utf8(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    parsed = _REPO_CONFIGS.get(text)
    if parsed is None:
        parsed = _parse_yaml_model(path, text, RepoConfig)
        if len(_REPO_CONFIGS) >= 256:
            _REPO_CONFIGS.clear()
        _REPO_CONFIGS[text] = parsed
    return parsed.model_copy(deep=True)


_REPO_CONFIGS: dict[str, RepoConfig] = {}


def read_prompt(prompt_file: Path) -> str:
    """A prompt file's text; ConfigError when it cannot be read or is empty."""
    try:
        text = prompt_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read the prompt {prompt_file}: {why}") from exc
    if not text.strip():
        raise ConfigError(f"the prompt {prompt_file} is empty")
    return text
