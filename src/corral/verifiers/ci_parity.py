"""What the project's own CI runs, so verifiers check what CI checks and nothing it never sees.

Sources, read in this order by `decide`: the repository's `.corral.yaml` (opt-in checks),
its CI configuration (GitHub Actions workflows, GitLab CI, Travis, pre-commit hooks, and the
task runners those call: Makefile, justfile, tox, nox, package.json scripts), then the
ecosystem's conventions. Steps for another toolchain than the default one (nightly, beta, a
`cargo +toolchain` call), and deploy, release, publish, docs and benchmark jobs are left out:
a check they run is not one the change's default build is held to.

Everything is parsed structurally (ruamel.yaml, configparser, tomllib, ast); only the command
lines themselves are matched with patterns.
"""

from __future__ import annotations

import ast
import configparser
import functools
import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.verifiers.base import ProjectContext

# Jobs and steps whose checks are not the default build's.
_SKIPPED_JOB = re.compile(
    r"deploy|release|publish|docs?\b|documentation|pages|bench|codeql|scorecard|label|"
    r"dependency[-_ ]review|stale|lock|fuzz|miri|msrv|coverage|codspeed|apidiff",
    re.I,
)
_OTHER_TOOLCHAIN = re.compile(r"""\b(nightly|beta)\b""")
_TOOLCHAIN_CALL = re.compile(r"\b(cargo|rustup run|rustc) \+\S+|\brustup run \S+")
_COMMAND_SPLIT = re.compile(r"\s*(?:&&|\|\||;)\s*")
_ACTION_COMMANDS = {
    "golangci/golangci-lint-action": "golangci-lint run",
    "actions-rs/clippy-check": "cargo clippy",
    "giraffate/clippy-action": "cargo clippy",
    "pre-commit/action": "pre-commit run --all-files",
    "astral-sh/ruff-action": "ruff check",
    "chartboost/ruff-action": "ruff check",
    "jpetrucciani/ruff-check": "ruff check",
    "jpetrucciani/mypy-check": "mypy",
    "actions-rust-lang/rustfmt": "cargo fmt --check",
}
# pre-commit hook ids -> the command they stand for.
_HOOK_COMMANDS = {
    "ruff": "ruff check",
    "ruff-check": "ruff check",
    "ruff-format": "ruff format --check",
    "mypy": "mypy",
    "black": "black --check",
    "flake8": "flake8",
    "isort": "isort --check",
    "eslint": "eslint",
    "prettier": "prettier --check",
    "gofmt": "gofmt -l",
    "go-fmt": "gofmt -l",
    "golangci-lint": "golangci-lint run",
    "go-vet": "go vet",
    "fmt": "cargo fmt --check",
    "cargo-check": "cargo check",
    "clippy": "cargo clippy",
}
_PACKAGE_MANAGER_RUN = re.compile(
    r"^(?:npm|pnpm|yarn|corepack (?:pnpm|yarn)|bun)\s+(?:run(?:-script)?\s+|-s\s+|--silent\s+)*"
    r"(?P<script>[\w:.-]+)"
)
_PM_BUILTINS = frozenset(
    {
        "install",
        "i",
        "ci",
        "add",
        "exec",
        "dlx",
        "npx",
        "x",
        "publish",
        "pack",
        "version",
        "config",
        "set",
        "cache",
        "audit",
        "outdated",
        "update",
        "up",
        "link",
        "prune",
        "why",
    }
)
_MAX_DEPTH = 3

ECOSYSTEM_TOOLS: dict[str, re.Pattern[str]] = {
    "cargo": re.compile(r"\bcargo\b|clippy|rustfmt"),
    "go": re.compile(r"\bgo (test|vet|build)\b|golangci-lint|\bgofmt\b"),
    "python": re.compile(r"\b(pytest|ruff|mypy|tox|nox|unittest|flake8|black|hatch|pre-commit)\b"),
    "node": re.compile(r"\b(npm|pnpm|yarn|npx|node|bun)\b"),
    "maven": re.compile(r"\bmvnw?\b"),
    "gradle": re.compile(r"\bgradlew?\b"),
}


@dataclass(frozen=True)
class CiCommand:
    text: str
    """One simple command (chains are split at &&, || and ;)."""
    source: str
    """Where it came from: `.github/workflows/ci.yml (job test)`, `tox.ini [testenv:lint]`."""


@dataclass(frozen=True)
class CiPlan:
    commands: tuple[CiCommand, ...]
    files: tuple[str, ...]
    """The CI files read, for messages."""

    def covers(self, ecosystem: str) -> bool:
        """Whether CI runs anything of this ecosystem: otherwise conventions decide."""
        pattern = ECOSYSTEM_TOOLS.get(ecosystem)
        return pattern is not None and any(pattern.search(c.text) for c in self.commands)

    def find(self, pattern: re.Pattern[str]) -> CiCommand | None:
        return next((c for c in self.commands if pattern.search(c.text)), None)

    def scripts_run(self) -> dict[str, str]:
        """package.json script names CI runs (directly or through a task runner) -> source."""
        found: dict[str, str] = {}
        for command in self.commands:
            name = script_name(command.text)
            if name is not None:
                found.setdefault(name, command.source)
        return found


@dataclass(frozen=True)
class Decision:
    run: bool
    source: str
    """Why: `.corral.yaml`, a CI file and job, or `convention`."""


def decide(
    repo_root: Path,
    ecosystem: str,
    check: str,
    pattern: re.Pattern[str],
    *,
    convention: bool,
    enabled: tuple[str, ...] = (),
) -> Decision:
    """Whether `check` runs, and on whose word: .corral.yaml, then CI, then conventions."""
    return decide_with_plan(
        ci_plan(repo_root), ecosystem, check, pattern, convention=convention, enabled=enabled
    )


def decide_with_plan(
    plan: CiPlan | None,
    ecosystem: str,
    check: str,
    pattern: re.Pattern[str],
    *,
    convention: bool,
    enabled: tuple[str, ...] = (),
) -> Decision:
    if check in enabled or f"{ecosystem}.{check}" in enabled:
        return Decision(True, ".corral.yaml (verifiers.checks)")
    if plan is not None and plan.covers(ecosystem):
        command = plan.find(pattern)
        if command is not None:
            return Decision(True, f"{command.source}: {command.text[:80]}")
        return Decision(False, f"not run by the project's CI ({', '.join(plan.files)})")
    return Decision(convention, "convention")


# --- reading the CI configuration ----------------------------------------------------------


def ci_plan(repo_root: Path) -> CiPlan | None:
    """Every command the project's CI runs on its default toolchain, or None without CI files."""
    reader = _Reader(repo_root)
    reader.read_github_actions()
    reader.read_yaml_scripts(".gitlab-ci.yml", ("before_script", "script"))
    reader.read_yaml_scripts(".travis.yml", ("install", "before_script", "script"))
    if (repo_root / ".pre-commit-config.yaml").is_file():
        reader.add("pre-commit run --all-files", ".pre-commit-config.yaml", 0)
        reader.files.append(".pre-commit-config.yaml")
    if not reader.files:
        return None
    return CiPlan(tuple(reader.commands), tuple(dict.fromkeys(reader.files)))


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.commands: list[CiCommand] = []
        self.files: list[str] = []
        self._seen: set[tuple[str, str]] = set()

    def read_github_actions(self) -> None:
        folder = self.root / ".github" / "workflows"
        if not folder.is_dir():
            return
        for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
            workflow = _load_yaml(path)
            if not isinstance(workflow, dict) or not isinstance(workflow.get("jobs"), dict):
                continue
            rel = path.relative_to(self.root).as_posix()
            if _SKIPPED_JOB.search(path.stem) or _SKIPPED_JOB.search(str(workflow.get("name", ""))):
                continue
            self.files.append(rel)
            for job_id, job in workflow["jobs"].items():
                if isinstance(job, dict) and _default_toolchain_job(str(job_id), job):
                    self._read_job(rel, str(job_id), job)

    def _read_job(self, rel: str, job_id: str, job: Mapping[str, Any]) -> None:
        source = f"{rel} (job {job_id})"
        for step in job.get("steps") or []:
            if not isinstance(step, dict) or _other_toolchain_condition(step.get("if")):
                continue
            if _SKIPPED_JOB.search(str(step.get("name", ""))):
                continue
            uses = str(step.get("uses", "")).split("@")[0]
            if uses in _ACTION_COMMANDS:
                self.add(_ACTION_COMMANDS[uses], source, 0)
            if isinstance(step.get("run"), str):
                for line in _shell_lines(step["run"]):
                    self.add(line, source, 0)

    def read_yaml_scripts(self, name: str, keys: tuple[str, ...]) -> None:
        path = self.root / name
        if not path.is_file():
            return
        data = _load_yaml(path)
        if not isinstance(data, dict):
            return
        self.files.append(name)
        jobs = [("", data), *((str(k), v) for k, v in data.items() if isinstance(v, dict))]
        for job_id, job in jobs:
            if job_id and (
                _SKIPPED_JOB.search(job_id) or _SKIPPED_JOB.search(str(job.get("stage", "")))
            ):
                continue
            for key in keys:
                lines = job.get(key)
                for entry in lines if isinstance(lines, list) else [lines] if lines else []:
                    for line in _shell_lines(str(entry)):
                        self.add(line, f"{name} ({job_id or key})", 0)
        if name == ".travis.yml" and data.get("language") == "node_js" and "script" not in data:
            self.add("npm test", name, 0)

    def add(self, line: str, source: str, depth: int) -> None:
        for part in _COMMAND_SPLIT.split(line.strip()):
            command = " ".join(part.split())
            if not command or _TOOLCHAIN_CALL.search(command) or (command, source) in self._seen:
                continue
            self._seen.add((command, source))
            self.commands.append(CiCommand(command, source))
            if depth < _MAX_DEPTH:
                for expanded, where in self._expand(command):
                    self.add(expanded, where, depth + 1)

    def _expand(self, command: str) -> Iterator[tuple[str, str]]:
        """The commands a task-runner call stands for."""
        words = _words(command)
        if not words:
            return
        tool = Path(words[0]).name
        if tool == "hatch":
            yield from self._hatch(words)
            return
        if tool in ("uv", "uvx", "pipx", "poetry", "pdm") and len(words) > 1:
            words = _after_runner(words)
            tool = Path(words[0]).name if words else ""
        if tool == "make":
            yield from self._make(words[1:])
        elif tool == "just":
            yield from self._just(words[1:])
        elif tool == "tox":
            yield from self._tox(words[1:])
        elif tool == "nox":
            yield from self._nox()
        elif tool in ("pre-commit", "prek"):
            yield from self._pre_commit()
        elif (name := script_name(command)) is not None:
            yield from self._package_script(name)
        else:
            yield from self._shell_script(words)

    def _shell_script(self, words: list[str]) -> Iterator[tuple[str, str]]:
        """The lines of a repository script CI calls (`./ci/test.sh`, `bash scripts/lint`)."""
        if words[0] in ("bash", "sh") and len(words) > 1:
            words = words[1:]
        path = (self.root / words[0]).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return
        if path.suffix not in ("", ".sh", ".bash") or path.stat().st_size > 100_000:
            return
        rel = path.relative_to(self.root.resolve()).as_posix()
        for line in _shell_lines(path.read_text(errors="replace")):
            yield line, rel

    def _hatch(self, words: list[str]) -> Iterator[tuple[str, str]]:
        """`hatch run [env:]script` -> the script's commands from [tool.hatch.envs]."""
        if len(words) < 3 or words[1] != "run":
            return
        env, _, script = words[2].rpartition(":")
        try:
            pyproject = tomllib.loads((self.root / "pyproject.toml").read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            return
        envs = pyproject.get("tool", {}).get("hatch", {}).get("envs", {})
        lines = envs.get(env or "default", {}).get("scripts", {}).get(script)
        for line in [lines] if isinstance(lines, str) else lines or []:
            yield str(line), f"pyproject.toml (tool.hatch.envs.{env or 'default'}.scripts)"

    def _make(self, args: list[str]) -> Iterator[tuple[str, str]]:
        path = self.root / "Makefile"
        if not path.is_file():
            return
        targets = [a for a in args if not a.startswith("-") and "=" not in a]
        recipes = _make_recipes(path.read_text(errors="replace"))
        for target in targets or list(recipes)[:1]:
            for line in recipes.get(target, []):
                yield line.lstrip("@-"), f"Makefile ({target})"

    def _just(self, args: list[str]) -> Iterator[tuple[str, str]]:
        path = next(
            (
                self.root / n
                for n in ("justfile", "Justfile", ".justfile")
                if (self.root / n).is_file()
            ),
            None,
        )
        if path is None:
            return
        recipes = _just_recipes(path.read_text(errors="replace"))
        for target in [a for a in args if not a.startswith("-")] or list(recipes)[:1]:
            for line in recipes.get(target, []):
                yield line.lstrip("@-"), f"{path.name} ({target})"

    def _tox(self, args: list[str]) -> Iterator[tuple[str, str]]:
        envs = _tox_envs(self.root)
        if not envs:
            return
        wanted: list[str] = []
        for i, arg in enumerate(args):
            if arg in ("-e", "--env") and i + 1 < len(args):
                wanted += args[i + 1].split(",")
            elif arg.startswith("-e") and len(arg) > 2:
                wanted += arg[2:].split(",")
        for env in wanted or [e for e in envs if e != "testenv"]:
            section = envs.get(env) if env in envs else envs.get("testenv")
            for line in section or []:
                yield line, f"tox ({env})"

    def _nox(self) -> Iterator[tuple[str, str]]:
        path = self.root / "noxfile.py"
        if not path.is_file():
            return
        try:
            tree = ast.parse(path.read_text(errors="replace"))
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "run"
            ):
                words = [a.value for a in node.args if isinstance(a, ast.Constant)]
                if words and all(isinstance(w, str) for w in words):
                    yield shlex.join(str(w) for w in words), "noxfile.py"

    def _pre_commit(self) -> Iterator[tuple[str, str]]:
        for hook in pre_commit_hooks(self.root):
            command = _HOOK_COMMANDS.get(hook.id)
            if command is not None:
                yield command, PRE_COMMIT_CONFIG

    def _package_script(self, name: str) -> Iterator[tuple[str, str]]:
        package = _read_json(self.root / "package.json")
        scripts = package.get("scripts") if isinstance(package, dict) else None
        if not isinstance(scripts, dict):
            return
        for hook in (f"pre{name}", name, f"post{name}"):
            if isinstance(scripts.get(hook), str):
                source = f"package.json (scripts.{hook})"
                yield scripts[hook], source
                # npm-run-all / run-s / run-p name the scripts they run
                words = _words(scripts[hook])
                if words and words[0] in ("npm-run-all", "run-s", "run-p"):
                    for word in words[1:]:
                        if not word.startswith("-") and word in scripts:
                            yield f"npm run {word}", source


def script_name(command: str) -> str | None:
    """The package.json script a package-manager call runs (`npm test`, `pnpm run lint`)."""
    command = command.strip()
    if command in ("npm t", "npm test", "npm it"):
        return "test"
    match = _PACKAGE_MANAGER_RUN.match(command)
    if match is None or match["script"] in _PM_BUILTINS:
        return None
    script = match["script"]
    if command.startswith(("pnpm", "yarn", "corepack")) and script in ("vitest", "jest", "tsc"):
        return None  # `pnpm vitest`: a binary, not a script
    return script


@dataclass(frozen=True)
class Hook:
    id: str
    repo: str
    rev: str
    """The pinned revision, or the version in a `# frozen: v1.2.3` comment."""
    additional_dependencies: tuple[str, ...] = ()


PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"


def pre_commit_hooks(repo_root: Path) -> list[Hook]:
    path = repo_root / PRE_COMMIT_CONFIG
    if not path.is_file():
        return []
    text = path.read_text(errors="replace")
    data = _load_yaml(path)
    hooks: list[Hook] = []
    for repo in (data or {}).get("repos", []) if isinstance(data, dict) else []:
        if not isinstance(repo, dict):
            continue
        rev = str(repo.get("rev", ""))
        if frozen := re.search(re.escape(rev) + r"\s*#\s*frozen:\s*(\S+)", text):
            rev = frozen[1]
        for hook in repo.get("hooks") or []:
            if isinstance(hook, dict) and "id" in hook:
                extra = tuple(str(d) for d in hook.get("additional_dependencies") or [])
                hooks.append(Hook(str(hook["id"]), str(repo.get("repo", "")), rev, extra))
    return hooks


# --- helpers -------------------------------------------------------------------------------


_CACHED_YAML_CHARS = 256 * 1024


def _load_yaml(path: Path) -> Any:
    """The parsed file, to read and never change: the same text's parse is shared."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    return _parse_yaml(text) if len(text) <= _CACHED_YAML_CHARS else _parse_yaml.__wrapped__(text)


@functools.lru_cache(maxsize=32)
def _parse_yaml(text: str) -> Any:
    """Keyed by the text itself, so never another file's or an older version's answer. The
    CI plan is read once per project and more (unused_by_ci, Checks, pre-commit hooks), and
    the pure-Python parser took 10-50 ms a workflow: 0.1-0.3 s per verify of a repository
    with two crates and a long workflow."""
    from ruamel.yaml import YAML  # 20 ms to import, and most checks read no YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except (YAMLError, ValueError):
        return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _default_toolchain_job(job_id: str, job: Mapping[str, Any]) -> bool:
    """Not a deploy/docs/bench job, and one that runs on the default toolchain."""
    if _SKIPPED_JOB.search(job_id) or _SKIPPED_JOB.search(str(job.get("name", ""))):
        return False
    if any(
        isinstance(step, dict)
        and re.search(r"rustup (default|override set) (nightly|beta)", str(step.get("run", "")))
        for step in job.get("steps") or []
    ):
        return False
    matrix = (
        (job.get("strategy") or {}).get("matrix") if isinstance(job.get("strategy"), dict) else None
    )
    for step in job.get("steps") or []:
        if not isinstance(step, dict):
            continue
        uses = str(step.get("uses", ""))
        toolchain = (
            str((step.get("with") or {}).get("toolchain", ""))
            if isinstance(step.get("with"), dict)
            else ""
        )
        pinned = uses.partition("@")[2] if "rust-toolchain" in uses else ""
        if pinned in ("nightly", "beta", "clippy", "miri") or re.fullmatch(
            r"1\.\d+(\.\d+)?", pinned
        ):
            return False  # dtolnay/rust-toolchain@clippy is nightly with clippy
        if toolchain and "${{" not in toolchain and toolchain not in ("stable", ""):
            return False
        if "${{" in toolchain and isinstance(matrix, dict):
            key = re.search(r"matrix\.([\w-]+)", toolchain)
            values = matrix.get(key[1]) if key else None
            if isinstance(values, list) and "stable" not in [str(v) for v in values]:
                return False
    return True


def _other_toolchain_condition(condition: object) -> bool:
    """A step guarded by `if: matrix.rust == 'nightly'` runs on another toolchain only."""
    if not isinstance(condition, str):
        return False
    return bool(re.search(r"==\s*['\"](nightly|beta)['\"]", condition))


def _shell_lines(script: str) -> list[str]:
    """A `run:` block as command lines: comments dropped, backslash continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", script)
    lines = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _after_runner(words: list[str]) -> list[str]:
    """`uv run --locked tox -e x` -> `tox -e x`; `uvx --with tox-uv tox` -> `tox`."""
    rest = words[1:]
    if rest and rest[0] in ("run", "exec", "tool"):
        rest = rest[1:]
        if rest and rest[0] == "run":
            rest = rest[1:]
    while rest and rest[0].startswith("-"):
        takes_value = rest[0] in ("--with", "--group", "--extra", "--python", "-p", "--from")
        rest = rest[2:] if takes_value and "=" not in rest[0] else rest[1:]
    return rest


def _make_recipes(text: str) -> dict[str, list[str]]:
    recipes: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        if raw.startswith("\t"):
            if current is not None and raw.strip() and not raw.strip().startswith("#"):
                current.append(raw.strip())
            continue
        match = re.match(r"^([\w./-]+(?:\s+[\w./-]+)*)\s*:(?!=)", raw)
        if match and not raw.startswith("."):
            current = []
            for target in match[1].split():
                recipes[target] = current
        elif raw.strip() and not raw.startswith("#"):
            current = None
    return recipes


def _just_recipes(text: str) -> dict[str, list[str]]:
    recipes: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        if raw.startswith((" ", "\t")):
            if current is not None and raw.strip() and not raw.strip().startswith("#"):
                current.append(raw.strip())
            continue
        match = re.match(r"^@?([\w-]+)(?:\s+[^:=]*)?:(?!=)", raw)
        current = recipes.setdefault(match[1], []) if match else None
    return recipes


def _tox_envs(root: Path) -> dict[str, list[str]]:
    """tox environment -> command lines, from tox.ini, setup.cfg or pyproject's legacy_tox_ini."""
    text = None
    if (root / "tox.ini").is_file():
        text = (root / "tox.ini").read_text(errors="replace")
    elif (root / "pyproject.toml").is_file():
        try:
            pyproject = tomllib.loads((root / "pyproject.toml").read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return {}
        legacy = pyproject.get("tool", {}).get("tox", {}).get("legacy_tox_ini")
        text = legacy if isinstance(legacy, str) else None
    if text is None:
        return {}
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    envs: dict[str, list[str]] = {}
    for section in parser.sections():
        if section == "testenv" or section.startswith("testenv:"):
            commands = parser.get(section, "commands", fallback="")
            name = section.partition(":")[2] or "testenv"
            envs[name] = [
                ln.strip() for ln in re.sub(r"\\\n", " ", commands).splitlines() if ln.strip()
            ]
    return envs


# --- what the verifiers ask ----------------------------------------------------------------


class Checks:
    """One verifier's decisions for one project, with the sources recorded for `--json`."""

    def __init__(self, ctx: ProjectContext, ecosystem: str) -> None:
        self.repo_root = ctx.repo_root
        self.ecosystem = ecosystem
        self.enabled = ctx.checks
        self.sources: dict[str, str] = {}
        self._plan = ci_plan(ctx.repo_root)

    @property
    def ci_governs(self) -> bool:
        """Whether the project's CI runs this ecosystem's tools (else conventions decide)."""
        return self._plan is not None and self._plan.covers(self.ecosystem)

    def run(self, check: str, pattern: str, *, convention: bool) -> bool:
        decision = decide_with_plan(
            self._plan,
            self.ecosystem,
            check,
            re.compile(pattern),
            convention=convention,
            enabled=self.enabled,
        )
        self.sources[check] = decision.source
        return decision.run

    def command(self, pattern: str) -> CiCommand | None:
        """The CI command matching `pattern` (for its flags), if CI governs and runs one."""
        if not self.ci_governs or self._plan is None:
            return None
        return self._plan.find(re.compile(pattern))

    def scripts_allowed(self, names: tuple[str, ...], defined: set[str]) -> tuple[str, ...]:
        """Of package.json scripts `names`, those CI runs (all of them without CI to go by)."""
        run = self.scripts()
        if run is None:
            return names
        for name in names:
            if name in defined:
                self.sources[name] = run.get(name, self._not_run())
        return tuple(n for n in names if n in run)

    def _not_run(self) -> str:
        files = ", ".join(self._plan.files) if self._plan else ""
        return f"not run by the project's CI ({files})"

    def scripts(self) -> dict[str, str] | None:
        """package.json scripts CI runs, or None when CI does not govern Node here."""
        return self._plan.scripts_run() if self.ci_governs and self._plan else None


def golangci_enables(repo_root: Path, linters: tuple[str, ...]) -> bool:
    """Whether a golangci-lint configuration enables one of `linters` (formatters included)."""
    for name in (".golangci.yml", ".golangci.yaml", ".golangci.toml", ".golangci.json"):
        path = repo_root / name
        if path.is_file():
            text = path.read_text(errors="replace")
            return any(re.search(rf"^\s*-\s*{re.escape(n)}\s*$", text, re.M) for n in linters)
    return False


@dataclass(frozen=True)
class PythonChecks:
    ruff: bool
    ruff_format: bool
    mypy: bool
    mypy_targets: tuple[str, ...] | None
    """The paths CI gives mypy, or None to keep the verifier's own choice."""
    sources: tuple[tuple[str, str], ...]
    mypy_options: tuple[str, ...] = ()
    """CI's mypy options that decide what it checks (`--exclude tests`, `--strict`)."""
    mypy_isolated: bool = False
    """CI runs mypy only as a pre-commit hook without additional dependencies: in an
    environment of its own, where the project's dependencies are not installed."""


def python_checks(
    ctx: ProjectContext, *, ruff: bool, ruff_format: bool, mypy: bool
) -> PythonChecks:
    """ruff, ruff format and mypy as the project's CI runs them; the arguments are conventions."""
    checks = Checks(ctx, "python")
    run_ruff = checks.run("ruff", r"\bruff\b(?!\s+format)(?!-format)", convention=ruff)
    run_format = checks.run("ruff-format", r"\bruff\s+format\b", convention=ruff_format)
    run_mypy = checks.run("mypy", r"(^|[\s/])mypy\b", convention=mypy)
    # mypy the program, not a task runner's environment of that name (`tox -e mypy`), whose
    # expansion follows it in the plan.
    command = checks.command(r"(?<!-e )(?<!--env )(?:^|(?<=[\s/]))mypy\b")
    targets = None
    options: list[str] = []
    if command is not None:
        words = _words(command.text)
        after = words[next(i for i, w in enumerate(words) if w.endswith("mypy")) + 1 :]
        paths = _mypy_paths(after)
        targets = tuple(paths) if paths else None
        options = _mypy_kept_options(after)
    isolated = (
        command is not None
        and command.source == PRE_COMMIT_CONFIG
        and not any(
            h.additional_dependencies for h in pre_commit_hooks(ctx.repo_root) if h.id == "mypy"
        )
    )
    return PythonChecks(
        run_ruff,
        run_format,
        run_mypy,
        targets,
        tuple(checks.sources.items()),
        mypy_options=tuple(options),
        mypy_isolated=isolated,
    )


_MYPY_DROPPED = {"--pretty", "--install-types", "--non-interactive", "--no-error-summary"}
"""Options about output or installing: the verifier decides those."""
_MYPY_DROPPED_WITH_VALUE = {"-O", "--output", "--junit-xml", "--config-file", "--cache-dir"}


def _mypy_kept_options(args: list[str]) -> list[str]:
    """CI's mypy options, without paths, tox/nox placeholders and output options."""
    kept: list[str] = []
    takes_value = {"--exclude", "--python-version", "-p", "--package", "-m", "--module"}
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if name in _MYPY_DROPPED_WITH_VALUE or name.endswith("-report"):
            i += 1 if "=" in arg else 2
            continue
        if arg.startswith("-") and name not in _MYPY_DROPPED:
            kept.append(arg)
            if arg in takes_value and i + 1 < len(args):
                kept.append(args[i + 1])
                i += 1
        i += 1
    return kept


def _mypy_paths(args: list[str]) -> list[str]:
    """The positional paths of a mypy command line (options and their values dropped)."""
    takes_value = {"--exclude", "--config-file", "--python-version", "-p", "--package", "-m"}
    paths: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith(("-", "{")):
            paths.append(arg)
    return paths


# Builds of the same code by two tools: CI running one is proof it does not need the other.
_ALTERNATIVE_BUILDS = {"maven": "gradle", "gradle": "maven"}


def unused_by_ci(repo_root: Path, verifiers: list[str]) -> dict[str, str]:
    """Verifiers (of those found) whose build CI never runs while it runs the alternative one.

    A repository with both a pom.xml and a build.gradle whose CI only runs Maven is not held
    to Gradle's build. Other ecosystems are always verified: CI may reach them through a
    script this module cannot read. Opt back in with `verifiers.checks: {gradle: [build]}`.
    """
    plan = ci_plan(repo_root)
    if plan is None:
        return {}
    covered = {name for name in verifiers if plan.covers(name)}
    if not covered:
        return {}
    files = ", ".join(plan.files)
    return {
        name: f"not run by the project's CI ({files})"
        for name in verifiers
        if name not in covered and _ALTERNATIVE_BUILDS.get(name) in covered
    }


MAVEN_PHASES = ("validate", "compile", "test", "package", "verify", "install", "deploy")


def maven_goals(ctx: ProjectContext) -> tuple[list[str], str]:
    """`maven_phase`, preceded by `clean` when CI's command cleans first (a plugin such as
    moditect refuses to overwrite what an earlier build left in target/)."""
    phase, source = maven_phase(ctx)
    command = source.partition(": ")[2]
    return (["clean", phase] if " clean " in f" {command} " else [phase]), source


def maven_phase(ctx: ProjectContext) -> tuple[str, str]:
    """The lifecycle phase to check up to, and why: the furthest one CI's mvn runs, at most
    `verify` (install and deploy add nothing to check), `verify` by convention.

    A project whose CI stops at `test` or `package` is not held to what `verify` adds
    (signing, release checks) that its CI never runs.
    """
    checks = Checks(ctx, "maven")
    if not checks.ci_governs or checks._plan is None:
        return "verify", "convention"
    furthest = -1
    source = ""
    for command in checks._plan.commands:
        words = _words(command.text)
        if not words or Path(words[0]).name not in ("mvn", "mvnw"):
            continue
        for word in words[1:]:
            if word in MAVEN_PHASES and MAVEN_PHASES.index(word) > furthest:
                furthest, source = (
                    MAVEN_PHASES.index(word),
                    f"{command.source}: {command.text[:80]}",
                )
    if furthest < MAVEN_PHASES.index("test"):
        return "verify", "convention"  # CI names no phase that runs the tests (or only compiles)
    return MAVEN_PHASES[min(furthest, MAVEN_PHASES.index("verify"))], source
