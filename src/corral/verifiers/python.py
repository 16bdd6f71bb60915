"""Python projects: ruff and mypy where the project configures them, then pytest.

`prepare` builds one virtualenv per project under `<cache>/venvs/<key>` with `python3 -m venv`
and installs the project's requirements files, the project itself (editable, with its test or
dev extras) and the tools. The key hashes the interpreter, the tool pins and the project's
dependency declarations (their contents and repository-relative names), not the checkout's
path: every checkout and job of the repository with the same declarations shares one
environment (the cache is per repository, so never another repository's install scripts).
After the install, the editable hook pointing into the first checkout (a `.pth` line or
setuptools' finder) is taken out of the environment and its source roots recorded; `check`
puts the current checkout's roots on `PYTHONPATH` (and `MYPYPATH` where a `.pth` line put
them on mypy's path too). A new checkout thus costs nothing to prepare when its declarations
are unchanged. Projects whose install depends on the checkout beyond pure Python source
(compiled extensions, a build backend corral does not know, a `setup.py` building extensions,
local path requirements, a hook it cannot read) keep an environment keyed by the path too.
Environments unused for a week are removed when a new one is built. The venv has no pip of its
own: the interpreter's pip installs into it (`pip --python`), which saves ensurepip's time.
Tool caches and reports live in a per-checkout folder, `<cache>/venv-work/<path key>`: the
bwrap sandbox mounts `venvs/` read-only for every command but prepare's.

`check` runs offline from that environment and writes nothing into the checkout: no bytecode,
no tool caches, the JUnit report kept next to the environment.
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.ecosystems import BY_NAME
from corral.sandbox.base import CommandResult, write_inside
from corral.verifiers.base import (
    RAN,
    CheckOutcome,
    Finding,
    FindingKind,
    ProjectContext,
    Rel,
    StageReport,
    StageStatus,
    TestCounts,
    Verifier,
    VerifierError,
    output_tail,
    run_tool,
)
from corral.verifiers.ci_parity import pre_commit_hooks, python_checks
from corral.verifiers.discovery import SKIPPED_DIRS
from corral.verifiers.patterns import PYTEST_E_LINE as _E_LINE
from corral.verifiers.patterns import PYTEST_FRAME as _FRAME
from corral.verifiers.patterns import PYTEST_SYNTAX_AT as _SYNTAX_AT
from corral.verifiers.tool_versions import python_tool_pins

"""A path as a tool printed it (absolute, or relative to the project) -> repository-relative."""

DECLARATIONS = BY_NAME["python"].markers
TEST_EXTRAS = frozenset({"test", "tests", "testing", "dev"})
READY = "corral-ready"
UNPINNED = "corral-unpinned"
SOURCES = "corral-sources"
"""In a shared venv: `<kind> <root>` per line, the project's source roots relative to it."""
PATH_BOUND = ".path-bound"
"""Beside a shared key whose install turned out to depend on the checkout's path."""
PURE_BACKENDS = frozenset(
    {
        "setuptools.build_meta",
        "setuptools.build_meta:__legacy__",
        "hatchling.build",
        "flit_core.buildapi",
        "poetry.core.masonry.api",
        "pdm.backend",
        "pdm.pep517.api",
    }
)
"""Build backends whose editable install of pure Python source is a path hook, nothing built."""
_COMPILED_SUFFIXES = frozenset({".pyx", ".pxd", ".c", ".cc", ".cpp", ".rs", ".f90", ".cu"})
_LOCAL_REQUIREMENT = re.compile(r"^\s*(-e|--editable)\b|file:|^\s*\.{1,2}[/\\]|^\s*/", re.M)
_LOCAL_DEPENDENCY = re.compile(r"file://|\{[^}\n]*\bpath\s*=|\bdevelop\s*=\s*true")
"""A requirements line or a pyproject/setup.cfg dependency that points into the checkout."""
UNUSED_FOR_S = 7 * 24 * 3600
_INTERPRETER_ID = "import platform, sys; print(platform.python_version(), sys.executable)"


class PythonVerifier(Verifier):
    name = "python"
    markers = DECLARATIONS

    def prepare(self, ctx: ProjectContext) -> None:
        config = ProjectConfig.read(ctx)
        python = Interpreter.find(ctx)
        env = environment(ctx, config, python)
        env.venv.parent.mkdir(parents=True, exist_ok=True)
        with _locked(env.venv.with_name(env.venv.name + ".lock")):
            if (env.venv / READY).is_file():
                (env.venv / READY).touch()
                return
            prune_unused(env.venv.parent)
            if env.work.parent.is_dir():
                prune_unused(env.work.parent)
            shutil.rmtree(env.venv, ignore_errors=True)
            try:
                _install(ctx, config, python, env.venv)
                roots = _detach_project(env.venv, ctx.project_dir) if env.shared else []
                if roots == [] and env.shared and config.installable:
                    roots = None  # installed, yet no hook found: another kind of install
            except BaseException:
                shutil.rmtree(env.venv, ignore_errors=True)
                raise
            if roots is None:  # the install depends on this checkout: keep it path-keyed
                shutil.rmtree(env.venv, ignore_errors=True)
                env.venv.with_name(env.venv.name + PATH_BOUND).touch()
            else:
                # pip ran repository code in the venv: never through a link it planted
                write_inside(env.venv, env.venv / SOURCES, "".join(f"{r}\n" for r in roots))
                write_inside(env.venv, env.venv / READY, f"{ctx.project_dir}\n")
                return
        self.prepare(ctx)

    def check(self, ctx: ProjectContext) -> CheckOutcome:
        config = ProjectConfig.read(ctx)
        env = environment(ctx, config, Interpreter.find(ctx))
        if not (env.venv / READY).is_file():
            raise VerifierError(
                "no prepared Python environment for this project: run verify with prepare "
                "(its dependency declarations changed, or it was never prepared)"
            )
        (env.venv / READY).touch()
        with _generated_files_in_place(ctx, env.venv):
            return _check(ctx, config, env)


def _check(ctx: ProjectContext, config: ProjectConfig, env: Environment) -> CheckOutcome:
    tools = _Tools(ctx, env)
    venv = env.venv
    findings: list[Finding] = []
    # A check CI does not run, or a pinned tool that could not be installed, is not run:
    # its stage is absent (the project does not have it here), never a stage that stopped.
    stages: dict[str, StageReport] = {}
    unpinned = _unpinned_tools(venv)
    if config.ruff and "ruff" not in unpinned:
        findings += _staged(stages, "lint", tools.ruff_check())
    if config.ruff_format and "ruff" not in unpinned:
        findings += _staged(stages, "format", tools.ruff_format())
    if config.mypy and "mypy" not in unpinned:
        findings += _staged(
            stages, "build", tools.mypy((*config.mypy_options, *config.mypy_targets))
        )
    test_findings, counts, stages["test"] = tools.pytest()
    return CheckOutcome(
        without_repeated_compile_errors(findings + test_findings),
        counts,
        sources=dict(config.sources),
        notes=[
            f"the project pins {tool} {version}, which could not be installed: {tool} was not run"
            for tool, version in config.tool_pins
            if tool in unpinned
        ],
        stages=stages,
    )


def _staged(stages: dict[str, StageReport], stage: str, findings: list[Finding]) -> list[Finding]:
    """Record a checker's stage: stopped when the tool itself failed (an `error` finding)."""
    error = next((f for f in findings if f.kind == FindingKind.ERROR), None)
    stages[stage] = RAN if error is None else StageReport(StageStatus.STOPPED, error.message)
    return findings


def _install(ctx: ProjectContext, config: ProjectConfig, python: Interpreter, venv: Path) -> None:
    argv = [python.executable, "-m", "venv", "--without-pip", str(venv)]
    _succeed(run_tool(ctx, argv, "python3 -m venv"))
    pip = _pip(ctx, python, venv)
    with _removing_new_build_files(ctx.project_dir), _keeping_generated_files(ctx, venv):
        result = run_tool(ctx, [*pip, *install_argv(config)], "pip install")
        pinned = {tool for tool, _ in config.tool_pins}
        if not result.ok and pinned & {
            _normal_name(w) for w in re.findall(r"[\w.-]+", result.output)
        }:
            # A pinned tool that cannot be had: install the rest, and never run that tool.
            result = run_tool(ctx, [*pip, *install_argv(config, pinned=False)], "pip install")
            (venv / UNPINNED).write_text("\n".join(sorted(pinned)))
        if not result.ok:
            reason = describe_pip_failure(result.output)
            raise VerifierError(reason, file=_declaring_file(ctx, reason))
        extra = install_argv_for_tests(config)
        if extra:
            # What the tests need besides the package, as CI installs it. A group that cannot
            # install here (a docs tool that needs a compiler) must not stop the verifier: a
            # test that then cannot import says what is missing.
            run_tool(ctx, [*pip, *extra], "pip install (test dependencies)")


def _pip(ctx: ProjectContext, python: Interpreter, venv: Path) -> list[str]:
    """The interpreter's own pip driving the venv: no ensurepip, ~10 s less per environment.

    Without it (no pip, or one older than 22.3), the venv gets its own pip.
    """
    venv_python = str(venv / "bin" / "python")
    host = [python.executable, "-m", "pip", "--python", venv_python]
    if run_tool(ctx, [*host, "--version"], "pip").ok:
        return host
    _succeed(run_tool(ctx, [venv_python, "-m", "ensurepip"], "ensurepip"))
    return [venv_python, "-m", "pip"]


@dataclass(frozen=True)
class ProjectConfig:
    """What the project's own files declare: how to install it, which checkers it configures."""

    installable: bool
    extras: tuple[str, ...]
    requirement_files: tuple[str, ...]
    test_requirements: tuple[str, ...] = ()
    """Requirements the project's tests need beyond the package: its dev and test groups
    (PEP 735, Poetry, uv, PDM, Hatch), as PEP 508 strings."""
    test_requirement_files: tuple[str, ...] = ()
    """Requirements files its tox, nox or CI configuration installs (`-r requirements/x.txt`)."""
    ruff: bool = False
    ruff_format: bool = False
    mypy: bool = False
    mypy_targets: tuple[str, ...] = (".",)
    """Empty when the mypy configuration names its own files, packages or modules."""
    mypy_options: tuple[str, ...] = ()
    """CI's own mypy options; `--no-warn-unused-ignores` where CI runs it as a bare pre-commit
    hook: its environment lacks the project's dependencies, so an ignore of their missing
    imports is used there and unused here (the venv has them)."""
    sources: tuple[tuple[str, str], ...] = ()
    """check -> why it runs or not (`ci_parity`)."""
    tool_pins: tuple[tuple[str, str], ...] = ()
    """(tool, version) the project pins for ruff and mypy (`tool_versions`)."""

    @classmethod
    def read(cls, ctx: ProjectContext) -> ProjectConfig:
        d = ctx.project_dir
        pyproject = _read_toml(ctx, d / "pyproject.toml")
        setup_cfg = _read_ini(ctx, d / "setup.cfg")
        tool = pyproject.get("tool", {})
        ruff_toml = next(
            (_read_toml(ctx, d / n) for n in ("ruff.toml", ".ruff.toml") if (d / n).is_file()),
            None,
        )
        ruff_settings = ruff_toml if ruff_toml is not None else tool.get("ruff")
        mypy_options = _mypy_options(ctx, tool, setup_cfg)
        extras = {
            *pyproject.get("project", {}).get("optional-dependencies", {}),
            *_setup_cfg_extras(setup_cfg),
        }
        parity = python_checks(
            ctx,
            ruff=ruff_settings is not None,
            ruff_format=isinstance(ruff_settings, dict) and "format" in ruff_settings,
            mypy=mypy_options is not None,
        )
        return cls(
            installable="project" in pyproject
            or "build-system" in pyproject
            or (d / "setup.py").is_file(),
            extras=tuple(sorted(e for e in extras if _normal_name(e) in TEST_EXTRAS)),
            requirement_files=tuple(sorted(p.name for p in d.glob("requirements*.txt"))),
            test_requirements=tuple(
                [*dev_requirements(pyproject), *(mypy_stubs(d) if parity.mypy else [])]
            ),
            test_requirement_files=tuple(referenced_requirement_files(d)),
            ruff=parity.ruff,
            ruff_format=parity.ruff_format,
            mypy=parity.mypy,
            mypy_targets=parity.mypy_targets
            or (
                ()
                if mypy_options and {"files", "packages", "modules"} & set(mypy_options)
                else (".",)
            ),
            mypy_options=(
                *parity.mypy_options,
                *(["--no-warn-unused-ignores"] if parity.mypy_isolated else []),
            ),
            sources=parity.sources,
            tool_pins=tuple(sorted(python_tool_pins(d).items())),
        )


def _setup_cfg_extras(setup_cfg: configparser.ConfigParser | None) -> list[str]:
    if setup_cfg is None or not setup_cfg.has_section("options.extras_require"):
        return []
    return setup_cfg.options("options.extras_require")


def dev_requirements(pyproject: dict[str, Any]) -> list[str]:
    """The test and dev groups a project declares for its tools, as requirement strings.

    PEP 735 `[dependency-groups]` (with `include-group`), Poetry's groups and old
    `dev-dependencies`, uv's `dev-dependencies`, PDM's dev groups, and the Hatch environments
    its tests run in. Poetry's version syntax (`^1.2`) is not PEP 440: names only there.
    """
    tool = pyproject.get("tool", {})
    found: list[str] = []
    groups = pyproject.get("dependency-groups", {})
    if isinstance(groups, dict):
        for name in groups:
            if _normal_name(name) in TEST_EXTRAS:
                found += _pep735_group(groups, name, set())
    poetry = tool.get("poetry", {})
    poetry_groups = {
        name: group.get("dependencies", {})
        for name, group in poetry.get("group", {}).items()
        if isinstance(group, dict)
    }
    poetry_groups["dev"] = {**poetry_groups.get("dev", {}), **poetry.get("dev-dependencies", {})}
    for name, deps in poetry_groups.items():
        if _normal_name(name) in TEST_EXTRAS and isinstance(deps, dict):
            found += [d for d in deps if d.lower() != "python"]
    found += [r for r in tool.get("uv", {}).get("dev-dependencies", []) if isinstance(r, str)]
    pdm = tool.get("pdm", {}).get("dev-dependencies", {})
    for name, deps in pdm.items() if isinstance(pdm, dict) else ():
        if _normal_name(name) in TEST_EXTRAS and isinstance(deps, list):
            found += [r for r in deps if isinstance(r, str) and not r.startswith("-")]
    envs = tool.get("hatch", {}).get("envs", {})
    for name in ("default", "test", "tests", "hatch-test"):
        env = envs.get(name, {}) if isinstance(envs, dict) else {}
        for key in ("dependencies", "extra-dependencies"):
            found += [r for r in env.get(key, []) if isinstance(r, str)]
    return list(dict.fromkeys(found))


def _pep735_group(groups: dict[str, Any], name: str, seen: set[str]) -> list[str]:
    if name in seen or not isinstance(groups.get(name), list):
        return []
    seen.add(name)
    found: list[str] = []
    for entry in groups[name]:
        if isinstance(entry, str):
            found.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            found += _pep735_group(groups, entry["include-group"], seen)
    return found


_REQUIREMENTS_REF = re.compile(
    r"""(?:-r\s*|--requirement[=\s]\s*|["']-r["'],\s*["'])(?:\{toxinidir\}/)?"""
    r"""(?P<path>[\w./-]+\.(?:txt|in))"""
)
_REFERRING_FILES = ("tox.ini", "noxfile.py", ".github/workflows/*.yml", ".github/workflows/*.yaml")


def referenced_requirement_files(project_dir: Path) -> list[str]:
    """Requirements files the project's tox, nox or GitHub workflows install, that exist in it."""
    root = project_dir.resolve()
    found: list[str] = []
    for pattern in _REFERRING_FILES:
        for config in sorted(project_dir.glob(pattern)):
            try:
                text = config.read_text(errors="replace")
            except OSError:
                continue
            for match in _REQUIREMENTS_REF.finditer(text):
                path = match["path"].removeprefix("./")
                target = (project_dir / path).resolve()
                if target.is_file() and target.is_relative_to(root):
                    found.append(path)
    return list(dict.fromkeys(found))


_STUB_PACKAGE = re.compile(r"^(types-[A-Za-z0-9_.-]+|[A-Za-z0-9_.-]+-stubs)\s*([=<>!~][^;#\s]*)?$")


def mypy_stubs(project_dir: Path) -> list[str]:
    """Type stub packages CI installs for mypy (tox environments' `deps`, pre-commit hooks'
    `additional_dependencies`): without them mypy reports `Library stubs not installed`,
    which CI never sees. Stub packages only (`types-*`, `*-stubs`): they contain no code."""
    declared = [d for hook in pre_commit_hooks(project_dir) for d in hook.additional_dependencies]
    tox = configparser.ConfigParser(interpolation=None, strict=False)
    with contextlib.suppress(configparser.Error, UnicodeDecodeError):
        tox.read(project_dir / "tox.ini")
    for section in tox.sections():
        if section.startswith("testenv"):
            declared += tox[section].get("deps", "").splitlines()
    stubs = [m[0].replace(" ", "") for d in declared if (m := _STUB_PACKAGE.match(d.strip()))]
    return list(dict.fromkeys(stubs))


def _mypy_options(
    ctx: ProjectContext, tool: dict[str, Any], setup_cfg: configparser.ConfigParser | None
) -> dict[str, Any] | None:
    """The project's mypy settings, or None when it does not configure mypy."""
    if "mypy" in tool:
        return dict(tool["mypy"])
    for name in ("mypy.ini", ".mypy.ini"):
        ini = _read_ini(ctx, ctx.project_dir / name)
        if ini is not None and ini.has_section("mypy"):
            return dict(ini["mypy"])
    if setup_cfg is not None and setup_cfg.has_section("mypy"):
        return dict(setup_cfg["mypy"])
    return None


def _read_toml(ctx: ProjectContext, path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise VerifierError(f"{path.name} is not valid TOML: {exc}", file=ctx.rel(path)) from exc


def _read_ini(ctx: ProjectContext, path: Path) -> configparser.ConfigParser | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text())
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise VerifierError(f"{path.name} cannot be read: {exc}", file=ctx.rel(path)) from exc
    return parser


def _normal_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the environment ---------------------------------------------------------------------


@dataclass(frozen=True)
class Interpreter:
    version: str
    executable: str
    """Its real path: through a pyenv shim, `python3 -m pip` fails on a read-only shims folder."""

    @classmethod
    def find(cls, ctx: ProjectContext) -> Interpreter:
        """`python3` as found on the PATH where the commands run."""
        result = _succeed(run_tool(ctx, ["python3", "-c", _INTERPRETER_ID], "python3"))
        version, _, executable = result.stdout.strip().partition(" ")
        return cls(version, executable)


def venv_dir(ctx: ProjectContext, python: Interpreter, pins: object = ()) -> Path:
    """The project's environment (see `environment`)."""
    return environment(ctx, ProjectConfig.read(ctx), python).venv


@dataclass(frozen=True)
class Environment:
    venv: Path
    work: Path
    """This checkout's tool caches and reports (never shared: two checkouts' mypy caches)."""
    shared: bool
    """Keyed by the dependency declarations only; the project is on PYTHONPATH, not installed."""

    def source_roots(self, project_dir: Path, kind: str | None = None) -> list[str]:
        path = self.venv / SOURCES
        lines = path.read_text().splitlines() if self.shared and path.is_file() else []
        return [
            str(project_dir / root)
            for line_kind, _, root in (line.partition(" ") for line in lines)
            if kind is None or line_kind == kind
        ]


def environment(ctx: ProjectContext, config: ProjectConfig, python: Interpreter) -> Environment:
    """Where the project's venv is: shared by declarations when the install allows it."""
    interpreter = f"{python.version} {python.executable} {config.tool_pins}"
    venvs = ctx.cache_dir / "venvs"
    path_key = env_key(ctx.project_dir, interpreter)
    # outside venvs/, which only prepare steps may write (the sandbox mounts it read-only)
    work = ctx.cache_dir / "venv-work" / path_key
    if shareable(ctx.project_dir, config):
        key = "s" + shared_env_key(ctx.project_dir, ctx.rel(ctx.project_dir), interpreter)[1:]
        if not (venvs / (key + PATH_BOUND)).exists():
            return Environment(venvs / key, work, shared=True)
    return Environment(venvs / path_key, work, shared=False)


def shared_env_key(project_dir: Path, rel_dir: str, interpreter: str) -> str:
    """Changes with the interpreter, the project's folder in the repository or a declaration."""
    digest = hashlib.sha256(f"shared\0{interpreter}\0{rel_dir}\0".encode())
    for path in declaration_files(project_dir):
        name = path.relative_to(project_dir).as_posix()
        digest.update(f"{name}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def shareable(project_dir: Path, config: ProjectConfig) -> bool:
    """Whether an environment built in one checkout serves another: pure Python source found
    through a path hook, no local path requirements, nothing compiled."""
    for path in declaration_files(project_dir):
        text = path.read_text(errors="replace")
        local = _LOCAL_REQUIREMENT if path.suffix in (".txt", ".in") else _LOCAL_DEPENDENCY
        if path.name != "setup.py" and local.search(text):
            return False
    if not config.installable:
        return True
    setup_py = project_dir / "setup.py"
    builds = r"ext_modules|Extension\(|cythonize|cmdclass|rust_extensions"
    if setup_py.is_file() and re.search(builds, setup_py.read_text(errors="replace")):
        return False
    try:
        pyproject = tomllib.loads((project_dir / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        pyproject = {}
    backend = pyproject.get("build-system", {}).get("build-backend", "setuptools.build_meta")
    hooks = pyproject.get("tool", {}).get("hatch", {}).get("build", {})
    if backend not in PURE_BACKENDS or "hooks" in json.dumps(hooks).replace('"vcs"', ""):
        return False
    return not _has_compiled_sources(project_dir)


def _has_compiled_sources(project_dir: Path) -> bool:
    for _folder, subdirs, files in os.walk(project_dir):
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        if any(Path(f).suffix in _COMPILED_SUFFIXES for f in files):
            return True
        if {"Cargo.toml", "meson.build", "CMakeLists.txt"} & set(files):
            return True
    return False


_FINDER_MAPPING = re.compile(r"^MAPPING\s*(?::[^=\n]*)?=\s*(\{.*?\})\s*$", re.M | re.S)


def _detach_project(venv: Path, project_dir: Path) -> list[str] | None:
    """Take the editable hook pointing into `project_dir` out of the venv.

    Returns the source roots it pointed at (`pth <root>` or `finder <root>`, relative to the
    project), or None when a hook is one corral cannot read: the venv is then path-bound.
    """
    here = [str(project_dir), str(project_dir.resolve())]
    roots: list[str] = []
    hooks: list[Path] = []
    for site in venv.glob("lib/python*/site-packages"):
        for entry in site.iterdir():
            if entry.is_symlink():
                return None
            if not entry.is_file() or entry.suffix not in (".pth", ".py", ".egg-link"):
                continue
            text = entry.read_text(errors="replace")
            if not any(h in text for h in here):
                continue
            found = _hook_roots(entry, text, project_dir)
            if found is None:
                return None
            roots += found
            hooks.append(entry)
    finders = {hook.stem for hook in hooks if hook.suffix == ".py"}
    for site in venv.glob("lib/python*/site-packages"):
        for pth in site.glob("*.pth"):  # the line importing a finder taken out goes too
            text = pth.read_text(errors="replace")
            if any(re.search(rf"\b{re.escape(f)}\b", text) for f in finders):
                hooks.append(pth)
    for hook in dict.fromkeys(hooks):
        hook.unlink()
    return list(dict.fromkeys(roots))


def _hook_roots(hook: Path, text: str, project_dir: Path) -> list[str] | None:
    base = project_dir.resolve()
    if hook.suffix == ".pth":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        paths = [line for line in lines if not line.startswith(("import ", "import\t", "#"))]
        found = [_relative_root(Path(p), base) if Path(p).is_absolute() else None for p in paths]
        return None if None in found else [f"pth {r}" for r in found if r is not None]
    if hook.suffix == ".py" and hook.name.startswith("__editable__"):
        match = _FINDER_MAPPING.search(text)
        try:
            mapping = ast.literal_eval(match[1]) if match else None
        except (ValueError, SyntaxError):
            return None
        if not isinstance(mapping, dict):
            return None
        roots: list[str] = []
        for name, location in mapping.items():
            path = Path(str(location))
            if path.name != name and path.stem != name:
                return None  # a package mapped under another name: PYTHONPATH cannot say it
            root = _relative_root(path.parent, base)
            if root is None:
                return None
            roots.append(f"finder {root}")
        return roots
    return None


LAST_WORK = "corral-last-work"
"""In a shared venv: the per-checkout folder of the checkout that used it last."""


def _seed_tool_caches(venv: Path, work: Path) -> None:
    """A new checkout's mypy cache starts as a copy of the last checkout's: mypy checks each
    entry against the source's hash, so only what differs is checked again (a cold mypy
    was most of a new checkout's extra time)."""
    try:
        name = (venv / LAST_WORK).read_text().strip()
    except OSError:
        return
    seed = work.parent / name / "mypy-cache"
    # The venv is the prepare sandbox's to write: only a sibling work folder, never a link.
    if "/" in name or name in ("", ".", "..") or seed.parent.is_symlink():
        return
    if seed.is_dir() and not seed.is_symlink():
        shutil.copytree(seed, work / "mypy-cache", symlinks=True, dirs_exist_ok=True)


def _relative_root(path: Path, base: Path) -> str | None:
    try:
        return path.resolve().relative_to(base).as_posix()
    except (ValueError, OSError):
        return None


def env_key(project_dir: Path, interpreter: str) -> str:
    """Changes with the interpreter, the project's path or any dependency declaration."""
    digest = hashlib.sha256(f"{interpreter}\0{project_dir.resolve()}\0".encode())
    for path in declaration_files(project_dir):
        digest.update(f"{path.name}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def declaration_files(project_dir: Path) -> list[Path]:
    declared = {p for pattern in DECLARATIONS for p in project_dir.glob(pattern) if p.is_file()}
    declared |= {project_dir / p for p in referenced_requirement_files(project_dir)}
    # They name mypy's stub packages (`mypy_stubs`), installed with the test dependencies.
    declared |= {
        p for n in ("tox.ini", ".pre-commit-config.yaml") if (p := project_dir / n).is_file()
    }
    return sorted(declared)


def _unpinned_tools(venv: Path) -> set[str]:
    """Pinned tools whose pinned version could not be installed (`_install`)."""
    path = venv / UNPINNED
    return set(path.read_text().split()) if path.is_file() else set()


def install_argv(config: ProjectConfig, *, pinned: bool = True) -> list[str]:
    """pip arguments installing everything `check` runs, in one resolution."""
    argv = ["install", "--progress-bar", "off"]
    for requirements in config.requirement_files:
        argv += ["-r", requirements]
    if config.installable:
        extras = f"[{','.join(config.extras)}]" if config.extras else ""
        argv += ["-e", f".{extras}"]
    argv.append("pytest")
    pins = dict(config.tool_pins) if pinned else {}
    for tool, wanted in (("ruff", config.ruff or config.ruff_format), ("mypy", config.mypy)):
        if wanted:
            argv.append(f"{tool}=={pins[tool]}" if tool in pins else tool)
    return argv


def install_argv_for_tests(config: ProjectConfig) -> list[str]:
    """pip arguments for the test and dev dependencies, or none when there are none."""
    argv: list[str] = []
    for requirements in config.test_requirement_files:
        if requirements not in config.requirement_files:
            argv += ["-r", requirements]
    argv += list(config.test_requirements)
    return ["install", "--progress-bar", "off", *argv] if argv else []


def prune_unused(venvs: Path) -> None:
    """Remove environments no prepare or check used for a week (old checkouts, baselines)."""
    cutoff = time.time() - UNUSED_FOR_S
    for entry in venvs.iterdir():
        stamp = entry / READY if (entry / READY).exists() else entry
        if stamp.stat().st_mtime >= cutoff:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:  # a lock file
            entry.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """One prepare per environment at a time, across processes."""
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


GENERATED = "generated-files"
"""In the venv: files the project's build wrote into the checkout (a hatch-vcs or
setuptools-scm `_version.py`) that its editable install imports from there."""
_MAX_GENERATED = 200


def _project_files(project_dir: Path) -> set[Path]:
    found: set[Path] = set()
    for folder, subdirs, files in os.walk(project_dir):
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        found |= {Path(folder, f) for f in files}
    return found


@contextlib.contextmanager
def _keeping_generated_files(ctx: ProjectContext, venv: Path) -> Iterator[None]:
    """Move what the install generated into the checkout over to the venv: the checkout is left
    as it was, and `check` puts the files back for as long as it runs."""
    before = _project_files(ctx.project_dir)
    try:
        yield
    finally:
        new = sorted(_project_files(ctx.project_dir) - before)[:_MAX_GENERATED]
        for path in new:
            if path.suffix in (".pyc",) or ".egg-info" in path.as_posix():
                continue
            kept = venv / GENERATED / path.relative_to(ctx.project_dir)
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, kept)


@contextlib.contextmanager
def _generated_files_in_place(ctx: ProjectContext, venv: Path) -> Iterator[None]:
    kept = venv / GENERATED
    placed = []
    for source in sorted(kept.rglob("*")) if kept.is_dir() else []:
        target = ctx.project_dir / source.relative_to(kept)
        if source.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            placed.append(target)
    try:
        yield
    finally:
        for target in placed:
            target.unlink(missing_ok=True)


@contextlib.contextmanager
def _removing_new_build_files(project_dir: Path) -> Iterator[None]:
    """Editable setuptools builds leave `*.egg-info` (and sometimes `build/`) in the checkout."""

    def build_files() -> set[Path]:
        found = {*project_dir.glob("*.egg-info"), *project_dir.glob("*/*.egg-info")}
        return found | ({project_dir / "build"} if (project_dir / "build").exists() else set())

    before = build_files()
    try:
        yield
    finally:
        for path in build_files() - before:
            shutil.rmtree(path, ignore_errors=True)


def _succeed(result: CommandResult) -> CommandResult:
    if not result.ok:
        raise VerifierError(
            f"`{' '.join(result.argv[:3])}` exited {result.exit_code}: {output_tail(result, 2)}"
        )
    return result


_NO_MATCH = re.compile(r"^ERROR: No matching distribution found for (?P<req>.+)$", re.M)
_CONFLICT = re.compile(
    r"^ERROR: Cannot install (?P<reqs>.+?) because these package versions have conflicting",
    re.M,
)
_CAUSE = re.compile(r"^The conflict is caused by:\n(?P<cause>(?:[ \t]+.+\n?)+)", re.M)
_ERROR = re.compile(r"^ERROR: (?P<text>.+)$", re.M)
_FAILED_STEP = re.compile(r"^\u00d7 (?P<step>.+?)\.?$", re.M)  # the step pip marks as failed
_SUBPROCESS_LAST_LINE = re.compile(r"^\s+(?P<line>\S.*)\n\s+\[end of output\]", re.M)


def describe_pip_failure(output: str) -> str:
    """pip's reason in a line or three; pip has no structured error output."""
    if match := _NO_MATCH.search(output):
        return f"pip cannot install {match['req']}: no matching distribution found"
    if match := _CONFLICT.search(output):
        message = f"pip cannot install {match['reqs']}: conflicting dependencies"
        if cause := _CAUSE.search(output):
            lines = [line.strip() for line in cause["cause"].splitlines()]
            message += "\n" + "\n".join(lines[:4])
        return message
    match = _ERROR.search(output) or _FAILED_STEP.search(output)
    if match is None:
        tail = output.strip().splitlines()[-3:]
        return "pip install failed: " + (" / ".join(tail) or "no output")
    message = f"pip install failed: {match[1].strip()[:300]}"
    if build_error := _SUBPROCESS_LAST_LINE.search(output):  # a build script's own error
        message += f"\n{build_error['line'].strip()[:300]}"
    return message


def _declaring_file(ctx: ProjectContext, reason: str) -> str | None:
    """The declaration file that names the requirement pip could not install, if one does."""
    match = re.match(r"pip cannot install (?:-r )?([A-Za-z0-9][A-Za-z0-9._-]*)", reason)
    if not match:
        return None
    name = _normal_name(match[1])
    for path in declaration_files(ctx.project_dir):
        if name == _normal_name(path.name) or name in _normal_name(path.read_text()):
            return ctx.rel(path)
    return None


# --- the checks --------------------------------------------------------------------------


class _Tools:
    """The checkers, run offline from the project's environment."""

    def __init__(self, ctx: ProjectContext, env: Environment) -> None:
        venv = env.venv
        self.ctx = ctx
        self.venv = venv
        self.work = env.work
        if env.shared and not self.work.is_dir():
            _seed_tool_caches(env.venv, self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.touch()  # kept while used (prune_unused)
        if env.shared:
            write_inside(env.venv, env.venv / LAST_WORK, self.work.name)
        self.env = {
            # as if activated: tests that run the project's console scripts or `python` find them
            "VIRTUAL_ENV": str(venv),
            "PATH": os.pathsep.join([str(venv / "bin"), os.environ.get("PATH", os.defpath)]),
            "PIP_NO_INDEX": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "RUFF_CACHE_DIR": str(self.work / "ruff-cache"),
            "MYPY_CACHE_DIR": str(self.work / "mypy-cache"),
            "COVERAGE_FILE": str(self.work / "coverage"),
        }
        if roots := env.source_roots(ctx.project_dir):
            # the shared venv holds no hook into any checkout: this one's source goes first
            self.env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(roots))
        if roots := env.source_roots(ctx.project_dir, "pth"):
            self.env["MYPYPATH"] = os.pathsep.join(dict.fromkeys(roots))

    def run(self, argv: list[str], what: str) -> CommandResult:
        return run_tool(self.ctx, argv, what, env=self.env)

    def ruff_check(self) -> list[Finding]:
        ruff = str(self.venv / "bin" / "ruff")
        # --no-fix: a project's `fix = true` must not make a check rewrite the checkout.
        argv = [ruff, "check", "--no-fix", "--output-format", "json", "."]
        result = self.run(argv, "ruff check")
        return _parsed_or_error(
            result, "ruff check", lambda: parse_ruff(result.stdout, self.ctx.rel)
        )

    def ruff_format(self) -> list[Finding]:
        ruff = str(self.venv / "bin" / "ruff")
        argv = [ruff, "format", "--check", "--output-format", "json", "."]
        result = self.run(argv, "ruff format")
        if ruff_format_lacks_json(result):
            result = self.run([*argv[:3], "."], "ruff format")
            return _parsed_or_error(
                result, "ruff format", lambda: parse_ruff_format_text(result.output, self.ctx.rel)
            )
        return _parsed_or_error(
            result, "ruff format", lambda: parse_ruff(result.stdout, self.ctx.rel)
        )

    def mypy(self, targets: tuple[str, ...]) -> list[Finding]:
        mypy = [str(self.venv / "bin" / "python"), "-m", "mypy", "--no-pretty"]
        result = self.run([*mypy, "-O", "json", *targets], "mypy")
        if mypy_lacks_json(result):
            result = self.run([*mypy, "--no-error-summary", *targets], "mypy")
            return _parsed_or_error(
                result, "mypy", lambda: parse_mypy_text(result.stdout, self.ctx.rel)
            )
        return _parsed_or_error(
            result, "mypy", lambda: parse_mypy_json(result.stdout, self.ctx.rel)
        )

    def pytest(self) -> tuple[list[Finding], TestCounts, StageReport]:
        (self.work / "reports").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work / "reports") as tmp:
            report = Path(tmp) / "junit.xml"
            argv = [
                str(self.venv / "bin" / "python"),
                *("-m", "pytest", "-p", "no:cacheprovider", "-o", "junit_family=xunit1"),
                *(f"--junitxml={report}", f"--rootdir={self.ctx.project_dir}", "--tb=short"),
                # A module that cannot be imported must not keep every other test from running.
                "--continue-on-collection-errors",
                *self.ctx.extra_args,
            ]
            result = self.run(argv, "pytest")
            xml = report.read_text() if report.is_file() else None
        return pytest_outcome(result, xml, self.ctx.rel)


def pytest_outcome(
    result: CommandResult, xml: str | None, rel: Rel
) -> tuple[list[Finding], TestCounts, StageReport]:
    """Findings, counts and whether every test could run.

    Exit 5 (no tests collected) ran, with none. A collection error (a module that cannot be
    imported), an interrupted session or a missing report stopped the stage: the tests it
    did not reach are unknown, so the gate cannot pass it even when the cause was there before.
    """
    if result.exit_code == 5:
        return [], TestCounts(), RAN
    if xml is None:
        error = _tool_error("pytest", result, "wrote no report")
        return [error], TestCounts(), StageReport(StageStatus.STOPPED, error.message)
    try:
        findings, counts = parse_pytest_junit(xml, rel)
    except ET.ParseError as exc:
        error = _tool_error("pytest", result, f"wrote a broken report: {exc}")
        return [error], TestCounts(), StageReport(StageStatus.STOPPED, error.message)
    if result.exit_code != 0 and not findings:
        findings = [_tool_error("pytest", result, "reported no failure")]
    uncollected = [f for f in findings if f.kind == FindingKind.COMPILE]
    if uncollected:
        first = uncollected[0]
        detail = (
            f"pytest could not collect {_plural(len(uncollected), 'test module')}, "
            f"so their tests did not run (first: {first.file}: {first.message})"
        )
        return findings, counts, StageReport(StageStatus.STOPPED, detail)
    if result.exit_code not in (0, 1):
        detail = f"pytest exited {result.exit_code} ({_PYTEST_EXITS.get(result.exit_code, '?')})"
        return findings, counts, StageReport(StageStatus.STOPPED, detail)
    return findings, counts, RAN


_PYTEST_EXITS = {2: "interrupted", 3: "internal error", 4: "usage error"}


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def ruff_format_lacks_json(result: CommandResult) -> bool:
    """Older ruff (0.5 here) has no JSON output for `ruff format --check`."""
    return result.exit_code == 2 and "unexpected argument '--output-format'" in result.stderr


def mypy_lacks_json(result: CommandResult) -> bool:
    """mypy before 1.11 has no `-O json`."""
    return result.exit_code == 2 and "unrecognized arguments: -O" in result.output


def _parsed_or_error(
    result: CommandResult, what: str, parse: Callable[[], list[Finding]]
) -> list[Finding]:
    """The parsed findings; an `error` finding when the tool failed and nothing parsed."""
    try:
        findings = parse()
    except ValueError:
        findings = []
    if result.exit_code != 0 and not findings:
        return [_tool_error(what, result, "reported nothing it found")]
    return findings


def _tool_error(what: str, result: CommandResult, problem: str) -> Finding:
    tail = "\n".join(result.output.strip().splitlines()[-5:])
    return Finding(
        FindingKind.ERROR,
        None,
        None,
        f"{what} exited {result.exit_code} but {problem}",
        context=tail or None,
    )


def without_repeated_compile_errors(findings: list[Finding]) -> list[Finding]:
    """ruff, mypy and pytest all report one syntax error; keep the first of each file:line."""
    seen: set[tuple[str | None, int | None]] = set()
    kept = []
    for f in findings:
        if f.kind == FindingKind.COMPILE:
            if (f.file, f.line) in seen:
                continue
            seen.add((f.file, f.line))
        kept.append(f)
    return kept


# --- parsers (each tested on recorded real output) --------------------------------------


_NOT_FORMATTED = "not formatted: run `ruff format`"


def parse_ruff(stdout: str, rel: Rel) -> list[Finding]:
    """`ruff check|format --output-format json`: one list of diagnostics.

    Only a file's first syntax error is kept: ruff's parser recovers and reports every
    follow-on error of one missing colon (39 for one in a real project), which buries the cause.
    """
    findings = []
    syntax_reported: set[str] = set()
    for d in json.loads(stdout or "[]"):
        code = d.get("code")
        file, line = rel(d["filename"]), d["location"]["row"]
        if code == "unformatted":
            findings.append(Finding(FindingKind.FORMAT, file, line, _NOT_FORMATTED))
        elif code in (None, "invalid-syntax"):
            if file not in syntax_reported:
                syntax_reported.add(file)
                message = f"syntax: {d['message']}"
                findings.append(Finding(FindingKind.COMPILE, file, line, message))
        else:
            findings.append(Finding(FindingKind.LINT, file, line, f"{code} {d['message']}"))
    return findings


_WOULD_REFORMAT = re.compile(r"^Would reformat: (?P<file>.+)$", re.M)


def parse_ruff_format_text(output: str, rel: Rel) -> list[Finding]:
    """`ruff format --check` of ruff versions without JSON output: file names only."""
    return [
        Finding(FindingKind.FORMAT, rel(m["file"].strip()), None, _NOT_FORMATTED)
        for m in _WOULD_REFORMAT.finditer(output)
    ]


def parse_mypy_json(stdout: str, rel: Rel) -> list[Finding]:
    """`mypy -O json`: one JSON object a line; notes are dropped."""
    findings = []
    for raw in stdout.splitlines():
        if not raw.startswith("{"):
            continue
        d = json.loads(raw)
        if d.get("severity") != "error":
            continue
        findings.append(_mypy_finding(rel(d["file"]), d["line"], d["message"], d.get("code")))
    return findings


_MYPY_LINE = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? error: "
    r"(?P<message>.+?)(?:  \[(?P<code>[\w-]+)\])?$",
    re.M,
)


def parse_mypy_text(stdout: str, rel: Rel) -> list[Finding]:
    """mypy's `file:line: error: message  [code]` lines, for versions without JSON output."""
    return [
        _mypy_finding(rel(m["file"]), int(m["line"]), m["message"], m["code"])
        for m in _MYPY_LINE.finditer(stdout)
    ]


def _mypy_finding(file: str, line: int, message: str, code: str | None) -> Finding:
    if code == "syntax":
        return Finding(FindingKind.COMPILE, file, line, f"syntax: {message}")
    suffix = f" [{code}]" if code else ""
    return Finding(FindingKind.COMPILE, file, line, f"type error: {message}{suffix}")


def parse_pytest_junit(xml: str, rel: Rel) -> tuple[list[Finding], TestCounts]:
    """pytest's xunit1 JUnit report: one finding a failed test or collection error, and counts.

    Collection errors (a syntax or import error) are compile findings and not tests.
    """
    findings: list[Finding] = []
    counts = TestCounts()
    for case in ET.fromstring(xml).iter("testcase"):
        problem = _first_child(case, "failure", "error")
        if problem is not None and not case.get("classname"):
            findings.append(_collection_finding(case, problem, rel))
        elif _first_child(case, "skipped") is not None:
            counts.skipped += 1
            counts.cases[_node_id(case)] = "skipped"
        else:
            counts.run += 1
            counts.cases[_node_id(case)] = "passed" if problem is None else "failed"
            if problem is not None:
                counts.failed += 1
                findings.append(_test_finding(case, problem, rel))
    return findings, counts


def _first_child(case: ET.Element, *tags: str) -> ET.Element | None:
    return next((child for child in case if child.tag in tags), None)


def _test_finding(case: ET.Element, problem: ET.Element, rel: Rel) -> Finding:
    test_file = case.get("file", "")
    fallback = (test_file, int(case.get("line", "-1")) + 1)
    path, line = _last_frame(problem.text or "", test_file) or fallback
    message_lines = (problem.get("message") or problem.tag).strip().splitlines() or [problem.tag]
    return Finding(
        FindingKind.TEST,
        rel(path) if path else None,
        line if line > 0 else None,
        message_lines[0][:300],
        test_id=_node_id(case),
        context="\n".join(message_lines[1:5]) or None,
    )


def _collection_finding(case: ET.Element, problem: ET.Element, rel: Rel) -> Finding:
    text = problem.text or ""
    syntax = list(_SYNTAX_AT.finditer(text))
    if syntax:
        where: tuple[str, int] | None = (syntax[-1]["path"], int(syntax[-1]["line"]))
    else:
        where = _last_frame(text, case.get("file", ""))
    e_lines = [m["text"] for m in _E_LINE.finditer(text)]
    message = e_lines[-1] if e_lines else problem.get("message") or "collection failed"
    file = where[0] if where else case.get("file")
    return Finding(
        FindingKind.COMPILE,
        rel(file) if file else None,
        where[1] if where else None,
        f"cannot import: {message[:300]}",
    )


def _last_frame(traceback: str, test_file: str) -> tuple[str, int] | None:
    """The failing line in the test file, else the last frame in the project's own sources."""
    frames = [(m["path"], int(m["line"])) for m in _FRAME.finditer(traceback)]
    in_test = [f for f in frames if f[0] == test_file]
    own = [f for f in frames if not f[0].startswith(("/", ".."))]
    candidates = in_test or own
    return candidates[-1] if candidates else None


def _node_id(case: ET.Element) -> str:
    """`tests/test_x.py::TestY::test_z[1]` from the xunit1 file, classname and name."""
    file, classname, name = case.get("file", ""), case.get("classname", ""), case.get("name", "")
    module = file.removesuffix(".py").replace("/", ".")
    classes = classname[len(module) + 1 :].split(".") if classname.startswith(module + ".") else []
    return "::".join([file, *[c for c in classes if c], name])
