"""Node.js packages (npm, yarn, pnpm): the package's own scripts, read through structured output.

`check` runs the scripts that exist, in CI order: a format check, `lint`, `typecheck` (or
`tsc --noEmit` when there is a tsconfig.json and TypeScript is installed), `build`, `test`.
ESLint, mocha, jest and vitest write JSON reports and node's test runner a JUnit report to a
scratch folder below the cache; tsc, ESLint's stylish and Prettier's output are read as text
where nothing better exists. A workspace root covers its packages: when the root lacks a
script, the packages' own scripts of that name run instead.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import itertools
import json
import os
import re
import shlex
import shutil
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from corral.ecosystems import BY_NAME
from corral.sandbox.base import CommandResult, ToolMissingError, write_inside
from corral.verifiers import installed, tsc_build_info
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
    run_tool,
)
from corral.verifiers.ci_parity import Checks
from corral.verifiers.discovery import SKIPPED_DIRS
from corral.verifiers.patterns import ANSI as _ANSI
from corral.verifiers.tool_versions import node_version_note

"""A path as a tool printed it, made relative to the repository root."""
PmName = Literal["npm", "yarn", "pnpm"]
Runner = Literal["node", "jest", "vitest", "mocha", "ava", "uvu", "other"]

FORMAT_SCRIPTS = ("format:check", "prettier:check", "fmt:check")
# What in a CI command means the project type-checks (a script or tsc itself).
_TYPECHECK_IN_CI = r"\btsc\b|\btsgo\b|\bvue-tsc\b|typecheck|type-check|test:types|\btsd\b"
TYPECHECK_SCRIPTS = ("typecheck", "type-check")
NPM_PLACEHOLDER_TEST = "no test specified"
# Offline, deterministic and colourless: the sandbox cuts the network for check anyway.
CHECK_ENV = {
    "npm_config_offline": "true",
    "COREPACK_ENABLE_NETWORK": "0",
    "CI": "true",
    "FORCE_COLOR": "0",
    "NO_COLOR": "1",
}
_TAIL_LINES = 5
_MAX_FORMAT_LOOKUPS = 5


class NodeVerifier(Verifier):
    name = "node"
    markers = BY_NAME["node"].markers
    # A package below a root that declares no workspaces is its own project; detect() skips
    # the packages a workspace root covers.
    nested = True

    def detect(self, directory: Path) -> bool:
        return (
            (directory / "package.json").is_file()
            and not _covered_by_workspace(directory)
            and not _test_fixture(directory)
        )

    def prepare(self, ctx: ProjectContext) -> None:
        root = read_package_json(ctx, ctx.project_dir)
        pm = package_manager(ctx.project_dir, root)
        stamp = ctx.project_dir / "node_modules" / _STAMP_NAME
        fingerprint = install_fingerprint(ctx, root, pm)
        if stamp.is_file() and stamp.read_text() == fingerprint:
            return  # installed from these exact manifests already: a reinstall takes minutes
        stamp.unlink(missing_ok=True)
        key = fingerprint[:32]
        restored = installed.restore(ctx.cache_dir, key, ctx.project_dir)
        if restored and stamp.is_file() and stamp.read_text() == fingerprint:
            return  # another checkout of the repository installed these manifests
        tools = _Tools(ctx, pm)
        result = tools.run_pm(pm.install_args(), "installing dependencies")
        if not result.ok:
            raise VerifierError(
                f"`{pm.name} {' '.join(pm.install_args())}` failed (exit {result.exit_code}):\n"
                + "\n".join(_install_errors(result.output)),
                file=ctx.rel("package.json"),
            )
        if stamp.parent.is_dir():  # not with Yarn's Plug'n'Play, which has no node_modules
            write_inside(ctx.project_dir, stamp, fingerprint)  # npm ran repository code
            folders = [site.directory for site in _script_sites(ctx, root)]
            installed.keep(ctx.cache_dir, key, ctx.project_dir, folders)

    def check(self, ctx: ProjectContext) -> CheckOutcome:
        root = read_package_json(ctx, ctx.project_dir)
        pm = package_manager(ctx.project_dir, root)
        _require_installed(ctx, root)
        sites = _script_sites(ctx, root)
        notes = [note] if (note := node_version_note(ctx)) else []
        if not _checks_anything(ctx, sites):
            return CheckOutcome(syntax_check(ctx), notes=notes)
        ci = Checks(ctx, "node")
        defined = {name for site in sites for name in site.scripts}
        typecheck = ci.run("typecheck", _TYPECHECK_IN_CI, convention=True)
        with _Tools(ctx, pm, env=CHECK_ENV).scratch() as tools:
            findings = [
                *_run_named(
                    tools, sites, ci.scripts_allowed(FORMAT_SCRIPTS, defined), stage="format"
                ),
                *_run_named(
                    tools, sites, ci.scripts_allowed(("lint",), defined), stage="lint", lint=True
                ),
            ]
            # A script CI does not run is not run here: its stage is absent, not a gap.
            build = ci.scripts_allowed(("build",), defined)
            findings += [
                *(_typecheck(tools, sites) if typecheck else []),
                *_run_named(tools, sites, build, stage="build", main=not _has(sites, "test")),
            ]
            # The tests run even when the build failed: an excused build failure (there at
            # the base too) must not keep them from running; the cause leads the message.
            test_findings, tests = _run_tests(tools, sites)
            findings += test_findings
            stages = dict(tools.stages)
        if findings and not any(f.line for f in findings):
            # Failed without saying where (a bundler or runner that crashed on a syntax error
            # in the project's own code): a syntax error found directly leads the message.
            findings = [*syntax_check(ctx), *findings]
        return CheckOutcome(
            _unique(findings), tests, sources=ci.sources, stages=stages, notes=notes
        )


# --- package.json, workspaces and package managers ------------------------------------------


def read_package_json(ctx: ProjectContext, directory: Path) -> dict[str, Any]:
    path = directory / "package.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise VerifierError(f"package.json cannot be read: {exc}", file=ctx.rel(path)) from exc
    if not isinstance(data, dict):
        raise VerifierError("package.json is not a JSON object", file=ctx.rel(path))
    return data


def workspace_patterns(directory: Path) -> list[str]:
    """The workspace globs of pnpm-workspace.yaml, else of package.json (npm, yarn)."""
    patterns = _yaml_field(directory / "pnpm-workspace.yaml", "packages")
    if patterns is None:
        patterns = _json_field(directory / "package.json", "workspaces")
        if isinstance(patterns, dict):  # yarn's {"packages": [...], "nohoist": [...]}
            patterns = patterns.get("packages")
    if not isinstance(patterns, list):
        return []
    return [p.strip().removeprefix("./").rstrip("/") for p in patterns if isinstance(p, str)]


def _json_field(path: Path, key: str) -> object:
    try:
        data = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None
    return data.get(key) if isinstance(data, dict) else None


def _yaml_field(path: Path, key: str) -> object:
    try:
        data = YAML(typ="safe").load(path.read_text()) if path.is_file() else None
    except (OSError, YAMLError):
        return None
    return data.get(key) if isinstance(data, dict) else None


def _in_workspace(rel: str, patterns: Sequence[str]) -> bool:
    included = any(fnmatch.fnmatch(rel, p) for p in patterns if not p.startswith("!"))
    excluded = any(fnmatch.fnmatch(rel, p[1:].removeprefix("./")) for p in patterns if p[:1] == "!")
    return included and not excluded


FIXTURE_DIRS = frozenset({"fixtures", "__fixtures__", "__mocks__", "test-fixtures"})
"""Folders whose package.json files are a package's test data (often invalid on purpose)."""


def _test_fixture(directory: Path) -> bool:
    """Whether `directory` lies in a fixtures folder of a package above it."""
    directory = directory.resolve()
    for ancestor in directory.parents:
        if (ancestor / "package.json").is_file():
            between = directory.relative_to(ancestor).parts
            return any(part in FIXTURE_DIRS for part in between)
        if (ancestor / ".git").exists():
            return False
    return False


def _covered_by_workspace(directory: Path) -> bool:
    """Whether a package.json above `directory` (up to the repository root) includes it."""
    directory = directory.resolve()
    if (directory / ".git").exists():
        return False
    for ancestor in directory.parents:
        patterns = workspace_patterns(ancestor)
        if patterns and _in_workspace(directory.relative_to(ancestor).as_posix(), patterns):
            return True
        if (ancestor / ".git").exists():
            return False
    return False


@dataclass(frozen=True)
class PackageManager:
    name: PmName
    lockfile: str | None
    """The lockfile present, if any."""
    yarn_berry: bool = False

    def install_args(self) -> list[str]:
        if self.name == "npm":
            return ["ci"] if self.lockfile else ["install", "--no-package-lock"]
        if self.name == "pnpm":
            return ["install", "--frozen-lockfile" if self.lockfile else "--config.lockfile=false"]
        if self.yarn_berry:
            return ["install", "--immutable"] if self.lockfile else ["install"]
        lock_flag = "--frozen-lockfile" if self.lockfile else "--no-lockfile"
        return ["install", lock_flag, "--non-interactive"]

    def run_args(self, script: str, args: Sequence[str]) -> list[str]:
        if self.name == "npm":
            return ["run", "--silent", script, *(["--", *args] if args else [])]
        return ["run", script, *args]

    def exec_args(self, tool: str, args: Sequence[str]) -> list[str]:
        if self.name == "npm":
            return ["exec", "--no", "--", tool, *args]
        if self.name == "pnpm":
            return ["exec", tool, *args]
        return [tool, *args]


_LOCKFILES: tuple[tuple[str, PmName], ...] = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)


def package_manager(directory: Path, package: Mapping[str, Any]) -> PackageManager:
    """Chosen by the `packageManager` field, else by lockfile, else npm."""
    declared = package.get("packageManager")
    name: PmName | None = None
    version = ""
    if isinstance(declared, str) and declared:
        tool, _, version = declared.partition("@")
        if tool not in ("npm", "yarn", "pnpm"):
            raise VerifierError(
                f"package.json: unsupported packageManager {declared!r} (npm, yarn or pnpm)"
            )
        name = tool  # type: ignore[assignment]
    lockfile = None
    for candidate, owner in _LOCKFILES:
        if (directory / candidate).is_file() and name in (None, owner):
            name, lockfile = owner, candidate
            break
    name = name or "npm"
    berry = name == "yarn" and (
        (version[:1].isdigit() and not version.startswith("1."))
        or (directory / ".yarnrc.yml").is_file()
        or (lockfile == "yarn.lock" and "__metadata:" in (directory / lockfile).read_text())
    )
    return PackageManager(name, lockfile, berry)


_STAMP_NAME = ".corral-prepared"
"""In node_modules (build output, never tracked): which manifests it was installed from."""
_INSTALL_INPUTS = (
    *(name for name, _ in _LOCKFILES),
    "pnpm-workspace.yaml",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
)


def install_fingerprint(ctx: ProjectContext, root: Mapping[str, Any], pm: PackageManager) -> str:
    """A digest of everything an install reads: the manifests of the root and its workspaces."""
    node = shutil.which("node")
    node_id = f"{os.path.realpath(node)} {os.stat(node).st_mtime_ns}" if node else ""
    digest = hashlib.sha256(f"{pm}\0{pm.install_args()}\0{node_id}\0".encode())
    files = [ctx.project_dir / name for name in _INSTALL_INPUTS]
    files += [site.directory / "package.json" for site in _script_sites(ctx, root)]
    for path in files:
        if path.is_file():
            digest.update(f"{ctx.rel(path)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _require_installed(ctx: ProjectContext, package: Mapping[str, Any]) -> None:
    declares = any(package.get(k) for k in ("dependencies", "devDependencies"))
    installed = any((ctx.project_dir / p).exists() for p in ("node_modules", ".pnp.cjs"))
    if declares and not installed:
        raise VerifierError(
            "dependencies are not installed (no node_modules): prepare did not run",
            file=ctx.rel("package.json"),
        )


def _install_errors(output: str) -> list[str]:
    lines = [line.strip() for line in _ANSI.sub("", output).splitlines() if line.strip()]
    errors = [
        line
        for line in lines
        if re.match(r"(npm (error|ERR!)|error|ERR_PNPM|YN\d+)", line, re.I)
        and "complete log" not in line
        and not line.endswith("npm error")
    ]
    return errors[:_TAIL_LINES] if errors else lines[-_TAIL_LINES:]


# --- running commands ----------------------------------------------------------------------


@dataclass
class _Tools:
    """Runs the package manager (directly or through corepack) and installed binaries."""

    ctx: ProjectContext
    pm: PackageManager
    env: Mapping[str, str] = field(default_factory=dict)
    reports: Path | None = None
    stages: dict[str, StageReport] = field(default_factory=dict)
    _launcher: list[str] | None = None

    def mark(self, stage: str, report: StageReport) -> None:
        """Record a stage's outcome; the worst of its scripts' (one per workspace) wins."""
        current = self.stages.get(stage)
        if current is None or current.complete:
            self.stages[stage] = report

    def run_pm(
        self,
        args: Sequence[str],
        what: str,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        env = {**self.env, **(env or {})}
        if self._launcher is not None:
            return run_tool(self.ctx, [*self._launcher, *args], what, cwd=cwd, env=env)
        name: str = self.pm.name
        launchers = [[name], ["corepack", name]] if name != "npm" else [[name]]
        for launcher in launchers:
            try:
                result = run_tool(self.ctx, [*launcher, *args], what, cwd=cwd, env=env)
            except VerifierError as exc:
                if isinstance(exc.__cause__, ToolMissingError):
                    continue
                raise
            if (
                launcher[0] == "corepack"
                and not result.ok
                and _COREPACK_UNSIGNED.search(result.output)
            ):
                # The registry's metadata carries no signature corepack knows (a mirror, or
                # keys newer than this corepack): take the manager from the registry, as every
                # dependency is, checked against the lockfile-like hash it names if any.
                self.env = {**self.env, **_COREPACK_UNVERIFIED}
                env = {**env, **_COREPACK_UNVERIFIED}
                result = run_tool(self.ctx, [*launcher, *args], what, cwd=cwd, env=env)
            self._launcher = launcher
            return result
        raise VerifierError(_missing_pm_message(self.pm.name), file=self.ctx.rel("package.json"))

    def exec(self, tool: str, args: Sequence[str], what: str) -> CommandResult:
        """An installed package's binary: from node_modules/.bin, else through the manager."""
        binary = self.ctx.project_dir / "node_modules" / ".bin" / tool
        if binary.is_file():
            return run_tool(self.ctx, [str(binary), *args], what, env=self.env)
        return self.run_pm(self.pm.exec_args(tool, args), what)

    def report_path(self, name: str) -> Path:
        assert self.reports is not None, "report_path outside scratch()"
        path = self.reports / name
        path.unlink(missing_ok=True)
        return path

    @contextmanager
    def scratch(self) -> Iterator[_Tools]:
        """A folder below the cache for report files: never inside the repository."""
        base = self.ctx.cache_dir / "node-reports"
        base.mkdir(parents=True, exist_ok=True)
        self.reports = Path(tempfile.mkdtemp(dir=base))
        try:
            yield self
        finally:
            shutil.rmtree(self.reports, ignore_errors=True)
            self.reports = None


_COREPACK_UNSIGNED = re.compile(
    r"No compatible signature found|not signed by any trusted keys|disable signature verification"
)
"""Corepack's error when it cannot verify the manager it downloads (`No compatible
signature found in package metadata`, `not signed by any trusted keys`)."""
_COREPACK_UNVERIFIED = {"COREPACK_INTEGRITY_KEYS": "0"}
"""What switches that check off (corepack's message names another variable, which it ignores)."""


def _missing_pm_message(name: str) -> str:
    return (
        f"{name} is not installed and neither is corepack: install {name} "
        f"(npm install -g {name}) or enable Node's corepack where verifiers run"
        if name != "npm"
        else "npm is not installed where verifiers run: install Node.js with npm"
    )


# --- the steps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Site:
    """A folder whose package.json scripts run: the project, or one of its workspaces."""

    directory: Path
    scripts: dict[str, str]


def _script_sites(ctx: ProjectContext, root: Mapping[str, Any]) -> list[_Site]:
    sites = [_Site(ctx.project_dir, _scripts(root))]
    patterns = workspace_patterns(ctx.project_dir)
    seen: set[Path] = {ctx.project_dir}
    for pattern in (p for p in patterns if not p.startswith("!")):
        for directory in sorted(ctx.project_dir.glob(pattern)):
            rel = directory.relative_to(ctx.project_dir).as_posix()
            if (
                directory in seen
                or "node_modules" in directory.parts
                or not (directory / "package.json").is_file()
                or not _in_workspace(rel, patterns)
            ):
                continue
            seen.add(directory)
            sites.append(_Site(directory, _scripts(read_package_json(ctx, directory))))
    return sites


def _scripts(package: Mapping[str, Any]) -> dict[str, str]:
    scripts = package.get("scripts")
    if not isinstance(scripts, dict):
        return {}
    return {k: v for k, v in scripts.items() if isinstance(v, str)}


def _checks_anything(ctx: ProjectContext, sites: Sequence[_Site]) -> bool:
    scripts = (*FORMAT_SCRIPTS, *TYPECHECK_SCRIPTS, "lint", "build", "test")
    has_tsconfig = (ctx.project_dir / "tsconfig.json").is_file()
    return has_tsconfig or any(_has(sites, script) for script in scripts)


MAX_SYNTAX_CHECKED = 300


def syntax_check(ctx: ProjectContext) -> list[Finding]:
    """`node --check` on the package's own scripts, when it declares no check of its own.

    Without it a package with no lint, build or test script would pass with nothing run.
    """
    findings = []
    for path in _own_scripts(ctx.project_dir)[:MAX_SYNTAX_CHECKED]:
        result = run_tool(ctx, ["node", "--check", str(path)], "node --check")
        if (
            result.exit_code == 0
            and path.suffix == ".js"
            and _ESM_SYNTAX.search(path.read_text(errors="replace"))
        ):
            # Node 20 passes any file it detects as an ES module without checking it.
            module = ["node", "--experimental-default-type=module", "--check", str(path)]
            result = run_tool(ctx, module, "node --check")
            if "bad option" in result.stderr:  # a Node without the option
                continue
        if result.exit_code != 0:
            lines = result.stderr.splitlines()
            finding = _module_syntax_error(lines, ctx.rel)
            findings.append(finding or _unparsed_syntax_failure(ctx.rel(path), lines))
    return findings


_ESM_SYNTAX = re.compile(r"^\s*(import\s*[\w{*'\"]|export\s)", re.MULTILINE)


def _own_scripts(directory: Path) -> list[Path]:
    found = []
    for folder, subdirs, files in os.walk(directory):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        found += [Path(folder) / f for f in sorted(files) if f.endswith((".js", ".mjs", ".cjs"))]
    return found


def _unparsed_syntax_failure(file: str, lines: list[str]) -> Finding:
    return Finding(
        FindingKind.COMPILE,
        file,
        None,
        "node --check failed",
        context="\n".join(lines[-4:]) or None,
    )


def _has(sites: Sequence[_Site], script: str) -> bool:
    return any(script in site.scripts for site in sites)


def _sites_for(sites: Sequence[_Site], script: str) -> list[_Site]:
    """The root when it has the script (it orchestrates its workspaces), else each workspace."""
    if script in sites[0].scripts:
        return [sites[0]]
    return [site for site in sites[1:] if script in site.scripts]


def _run_named(
    tools: _Tools,
    sites: Sequence[_Site],
    names: Sequence[str],
    *,
    stage: str,
    lint: bool = False,
    main: bool = False,
) -> list[Finding]:
    """Run the first of `names` that exists (per site); findings from its output."""
    findings: list[Finding] = []
    for name in names:
        chosen = _sites_for(sites, name)
        if not chosen:
            continue
        for site in chosen:
            extra = list(tools.ctx.extra_args) if main else []
            text = site.scripts[name]
            parts = script_parts(text) or ([text] if writes_files(text) else None)
            if parts is not None:
                findings += _run_chain(tools, site, name, parts, extra, stage)[0]
            elif lint and _is_plain_eslint(site.scripts[name]):
                findings += _run_eslint_json(tools, site, name, extra)
                tools.mark(stage, RAN)
            else:
                result = _run_script(tools, site, name, extra)
                findings += _text_findings(tools, site, result) or _failed(
                    tools.ctx, site, name, result, FindingKind.ERROR
                )
                tools.mark(stage, RAN)
        break
    return findings


def _run_script(
    tools: _Tools,
    site: _Site,
    script: str,
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    return tools.run_pm(
        tools.pm.run_args(script, args),
        f"`{tools.pm.name} run {script}`",
        cwd=site.directory,
        env=env,
    )


def _failed(
    ctx: ProjectContext, site: _Site, script: str, result: CommandResult, kind: FindingKind
) -> list[Finding]:
    """A failed script whose output named nothing we can parse: its first error line and the
    lines after it (else its tail), never only the exit code."""
    if result.ok:
        return []
    what = script if script.startswith(("`", "script ")) else f"script `{script}`"
    cause, context = first_error_lines(result.output)
    message = f"{what} failed (exit {result.exit_code})" + (f": {cause}" if cause else "")
    return [Finding(kind, ctx.rel(site.directory / "package.json"), None, message, context=context)]


_FAILURE_LINE = re.compile(
    r"\b(\w*Error|ERR!|FAIL(ED)?|Failed|failed|not ok|Expected|expected|Assertion)\b"
    r"|[\u2716\u2718\u00d7]|^error\b"
)


def first_error_lines(output: str) -> tuple[str | None, str | None]:
    """The first line that reads as a failure (an assertion, an error) and up to five after
    it; without one, the output's last line and the few before it."""
    lines = [ln.rstrip() for ln in _ANSI.sub("", output).splitlines() if ln.strip()]
    if not lines:
        return None, None
    at = next((i for i, ln in enumerate(lines) if _FAILURE_LINE.search(ln)), None)
    if at is None:
        tail = lines[-_TAIL_LINES:]
        return tail[-1].strip()[:300], "\n".join(tail[:-1]) or None
    after = textwrap.dedent("\n".join(lines[at + 1 : at + 1 + _TAIL_LINES]))
    return lines[at].strip()[:300], after or None


def _text_findings(tools: _Tools, site: _Site, result: CommandResult) -> list[Finding]:
    """tsc, ESLint (stylish) and Prettier problems anywhere in a script's output."""
    if result.ok:
        return []
    output = _ANSI.sub("", result.output)
    rel = _site_rel(tools.ctx, site)
    return [
        *parse_tsc(output, rel),
        *parse_eslint_stylish(output, rel),
        *_locate_unformatted(tools, site, parse_prettier_check(output, rel)),
    ]


def _site_rel(ctx: ProjectContext, site: _Site) -> Rel:
    return lambda path: ctx.rel(site.directory / path)


def _typecheck(tools: _Tools, sites: Sequence[_Site]) -> list[Finding]:
    if any(_sites_for(sites, name) for name in TYPECHECK_SCRIPTS):
        return _run_named(tools, sites, TYPECHECK_SCRIPTS, stage="build")
    ctx = tools.ctx
    has_typescript = (ctx.project_dir / "node_modules" / "typescript" / "package.json").is_file()
    build = sites[0].scripts.get("build", "")
    if not (ctx.project_dir / "tsconfig.json").is_file() or not has_typescript:
        return []
    if re.search(r"\btsc\b", build):  # the build step type-checks already
        return []
    args = ["--noEmit", "--pretty", "false"]
    inputs = tsc_inputs(ctx)
    # tsc keeps what it checked (file hashes, options, diagnostics) in a build-info file in
    # the cache: a re-verify, or a new checkout of the repository, checks only what changed
    # and still reports every error (tsc_build_info.py)
    info = tsc_build_info.build_info_path(ctx, inputs) if inputs is not None else None
    if info is not None:
        args += ["--incremental", "--tsBuildInfoFile", str(info)]
    result = tools.exec("tsc", args, "`tsc --noEmit`")
    if info is not None and inputs is not None:
        tsc_build_info.keep_seed(ctx, info, inputs)
    tools.mark("build", RAN)
    return parse_tsc(_ANSI.sub("", result.output), ctx.rel) or _failed(
        ctx, sites[0], "tsc --noEmit", result, FindingKind.ERROR
    )


def tsc_inputs(ctx: ProjectContext) -> list[str] | None:
    """What a seed of tsc's build info is kept for besides the repository: the TypeScript
    version, tsconfig.json and the installed dependencies (the install's stamp). None before
    TypeScript 4.0, which refuses --incremental with --noEmit: it checks everything."""
    manifest = ctx.project_dir / "node_modules" / "typescript" / "package.json"
    try:
        version = json.loads(manifest.read_text()).get("version", "")
    except (OSError, ValueError, AttributeError):
        return None
    major = re.match(r"(\d+)\.", version) if isinstance(version, str) else None
    if major is None or int(major[1]) < 4:
        return None
    texts = []
    for path in (ctx.project_dir / "tsconfig.json", ctx.project_dir / "node_modules" / _STAMP_NAME):
        try:
            texts.append(path.read_text(errors="replace"))
        except OSError:
            texts.append("")
    return [version, *texts]


def _unique(findings: Sequence[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


# --- chained scripts -----------------------------------------------------------------------

_STATEFUL_PART = re.compile(r"^(cd|export|source|\.|set|unset|umask)\s")
_MAX_ALIAS_DEPTH = 5


def script_parts(script: str) -> list[str] | None:
    """The commands of `a && b && c`, or None for one command or shell syntax that cannot be
    split safely (`||`, `;`, subshells). A `cd dir` or `export X=1` part is carried into every
    part after it, as the chain would have it."""
    parts = _split_and(script)
    if parts is None or len(parts) < 2:
        return None
    commands: list[str] = []
    prefix: list[str] = []
    for part in parts:
        if _STATEFUL_PART.match(part):
            prefix.append(part)
        else:
            commands.append(" && ".join([*prefix, part]))
    return commands if len(commands) >= 2 else None


def _split_and(script: str) -> list[str] | None:
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(script):
        c = script[i]
        if quote is not None:
            if c == "\\" and quote == '"':
                current.append(script[i : i + 2])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "\\":
            current.append(script[i : i + 2])
            i += 2
            continue
        elif script.startswith("&&", i):
            parts.append("".join(current).strip())
            current = []
            i += 2
            continue
        elif script.startswith("||", i) or c in ";()`{}":
            return None
        current.append(c)
        i += 1
    parts.append("".join(current).strip())
    return None if quote is not None or not all(parts) else parts


def _expand_aliases(site: _Site, parts: list[str], depth: int = 0) -> list[str]:
    """`npm run lint` parts replaced by the lint script's own commands, so each is localised."""
    expanded: list[str] = []
    for part in parts:
        alias = _SCRIPT_ALIAS.match(part)
        target = site.scripts.get(alias["name"]) if alias else None
        if target is None or depth >= _MAX_ALIAS_DEPTH:
            expanded.append(part)
            continue
        expanded += _expand_aliases(site, script_parts(target) or [target], depth + 1)
    return expanded


def _run_chain(
    tools: _Tools,
    site: _Site,
    script: str,
    parts: list[str],
    extra: Sequence[str],
    stage: str,
    kind: FindingKind = FindingKind.ERROR,
) -> tuple[list[Finding], TestCounts | None]:
    """Each part of `a && b && c` on its own and to the end, with the reporter its tool has.

    Run whole, a failing `a` (excused because it failed at the base too) would keep `b` and
    `c` from running at all; and the chain's exit code alone names no file.
    """
    findings: list[Finding] = []
    counts: TestCounts | None = None
    if f"pre{script}" in site.scripts:  # what `npm run` would have run first
        result = _run_script(tools, site, f"pre{script}", [])
        findings += _text_findings(tools, site, result) or _failed(
            tools.ctx, site, f"pre{script}", result, kind
        )
    commands = _expand_aliases(site, parts)
    for i, command in enumerate(commands):
        args = list(extra) if i == len(commands) - 1 else []
        part_findings, part_counts = _run_part(tools, site, script, command, args, stage, kind)
        findings += part_findings
        if part_counts is not None:
            counts = part_counts if counts is None else counts.add(part_counts)
    return findings, counts


_WRITE_FLAG = re.compile(r"(?<=\s)(--fix|--write|-w)(?=\s|$)")
_CHECK_FLAG = {"--fix": "", "--write": "--check", "-w": "--check"}


def writes_files(command: str) -> bool:
    """Whether a lint or format command would rewrite files (`eslint --fix`, `prettier -w`)."""
    return _tool_name(command) in ("eslint", "xo", "prettier") and bool(_WRITE_FLAG.search(command))


def check_mode(command: str) -> str:
    """The command without its fixing flag: a check never writes to the checkout."""
    if _tool_name(command) not in ("eslint", "xo", "prettier"):
        return command
    return _WRITE_FLAG.sub(lambda m: _CHECK_FLAG[m[1]], command)


def _run_part(
    tools: _Tools,
    site: _Site,
    script: str,
    command: str,
    args: list[str],
    stage: str,
    kind: FindingKind,
) -> tuple[list[Finding], TestCounts | None]:
    what = f"`{command}` (script `{script}`)"
    command = check_mode(_without_launcher(tools, site, command))
    runner = detect_test_runner(command)
    if runner != "other":
        report = tools.report_path(f"{runner}-report")
        options, env = _report_options(runner, report)
        result = _run_shell(tools, site, command, [*options, *args], env)
        return _runner_outcome(tools, site, runner, report, result, what)
    tool = _tool_name(command)
    rel = _site_rel(tools.ctx, site)
    if tool in ("eslint", "xo") and _no_output_options(command):
        options = ["--reporter=json"] if tool == "xo" else ["--format", "json"]
        result = _run_shell(tools, site, command, [*options, *args])
        tools.mark("lint", RAN)
        try:
            return parse_eslint_json(_json_array(result.stdout), rel), None
        except ValueError:
            pass
    else:
        result = _run_shell(tools, site, command, args)
        tools.mark(_PART_STAGES.get(tool or "", stage), RAN)
    return _text_findings(tools, site, result) or _failed(tools.ctx, site, what, result, kind), None


_LAUNCHER = re.compile(
    r"^(?:pnpm(?: exec)?|yarn(?: exec)?|npx(?: --no)?|npm exec(?: --no)?)(?: --)? "
)


def _without_launcher(tools: _Tools, site: _Site, command: str) -> str:
    """`pnpm vitest run` -> `vitest run` when `vitest` is an installed binary: the part runs
    under `sh` where the manager may not be on the PATH (it runs through corepack), and the
    runner's name must lead for its structured reporter to be added."""
    match = _LAUNCHER.match(command)
    if match is None:
        return command
    rest = command[match.end() :].lstrip()
    binary = rest.split(" ", 1)[0]
    if binary in site.scripts or not binary or binary.startswith("-"):
        return command
    bins = (
        site.directory / "node_modules" / ".bin",
        tools.ctx.project_dir / "node_modules" / ".bin",
    )
    return rest if any((b / binary).is_file() for b in bins) else command


_PART_STAGES = {"tsc": "build", "prettier": "format", "eslint": "lint", "xo": "lint"}


def _tool_name(command: str) -> str | None:
    """The program a part runs, past `VAR=value` assignments and `npx`/`pnpm exec`."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    words = [w for w in words if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
    while words and words[0] in ("npx", "exec", "pnpm", "yarn", "--no", "--"):
        words = words[1:]
    return Path(words[0]).name if words else None


def _no_output_options(command: str) -> bool:
    return not re.search(r"(^|\s)(-f|--format|-o|--output-file|--reporter)(=|\s|$)", command)


def _json_array(text: str) -> str:
    """The JSON report in a tool's stdout, past anything printed before it."""
    start = text.find("[")
    if start < 0:
        raise ValueError("no JSON report")
    return text[start:]


def _run_shell(
    tools: _Tools,
    site: _Site,
    command: str,
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """One part of a script, as the package manager would run it: `sh -c` with the
    installed binaries on the PATH."""
    bins = [
        site.directory / "node_modules" / ".bin",
        tools.ctx.project_dir / "node_modules" / ".bin",
    ]
    path = os.pathsep.join(
        [*dict.fromkeys(str(b) for b in bins), os.environ.get("PATH", os.defpath)]
    )
    full = f"{command} {shlex.join(args)}" if args else command
    return run_tool(
        tools.ctx,
        ["sh", "-c", full],
        f"`{command}`",
        cwd=site.directory,
        env={**tools.env, **(env or {}), "PATH": path},
    )


# --- TAP (ava --tap, tap, node:test) --------------------------------------------------------

_TAP_RESULT = re.compile(
    r"^(?P<indent>\s*)(?P<ok>not ok|ok)\b(?: \d+)?(?: - (?P<name>.*?))?"
    r"(?: # (?P<directive>SKIP|TODO)\b.*| # .*)?$",
    re.IGNORECASE,
)
_TAP_TITLE_SEP = " \u203a "  # ava's separator between file and test title
_TEST_EXTENSIONS = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx")

Locator = Callable[[str, str | None], tuple[str, int] | None]


@dataclass(frozen=True)
class TapResult:
    """One `ok`/`not ok` line of a TAP stream and the YAML diagnostics block below it."""

    ok: bool
    name: str | None
    directive: str | None
    """SKIP or TODO: the test did not count."""
    indent: int
    """Subtests (node:test, node-tap) are indented below their parent."""
    block: list[str]
    """The diagnostics' lines between `---` and `...`, as written (indented)."""

    def diagnostics(self) -> dict[str, Any]:
        """The block as YAML; {} when it is not a mapping YAML can read."""
        try:
            data = YAML(typ="safe").load(textwrap.dedent("\n".join(self.block)))
        except YAMLError:
            return {}
        return data if isinstance(data, dict) else {}


def tap_results(lines: Sequence[str]) -> Iterator[TapResult]:
    """Every result line of a TAP stream, with its diagnostics block: the one reader of TAP
    that the node verifier (`parse_tap`) and CI log condensation (`corral.ci.node`) share."""
    for i, line in enumerate(lines):
        match = _TAP_RESULT.match(line)
        if match is None:
            continue
        indent = len(match["indent"])
        yield TapResult(
            ok=match["ok"].lower() == "ok",
            name=match["name"],
            directive=(match["directive"] or "").upper() or None,
            indent=indent,
            block=_tap_block(lines[i + 1 : i + 200], indent),
        )


def _tap_block(lines: Sequence[str], indent: int) -> list[str]:
    """The `---` ... `...` block right below a result line (a subtest's `...` is deeper)."""
    if not lines or lines[0].strip() != "---":
        return []
    block: list[str] = []
    for line in lines[1:]:
        if line.strip() == "..." and len(line) - len(line.lstrip()) <= indent + 2:
            break
        block.append(line)
    return block


def parse_tap(
    text: str, rel: Rel, locate: Locator | None = None
) -> tuple[list[Finding], TestCounts]:
    """TAP 13 (`ava --tap`, tap, node-tap): each failing test with its YAML diagnostics.

    ava's `at` is often a frame in ava itself; then `locate` finds the test by its title.
    Only top-level results count: an indented one is a subtest its parent reports too.
    """
    results = [r for r in tap_results(text.splitlines()) if r.indent == 0]
    if not results and "TAP version" not in text:
        raise ValueError("not a TAP report")
    findings: list[Finding] = []
    counts = TestCounts()
    for result in results:
        if result.directive:
            counts.skipped += 1
            continue
        counts.run += 1
        if result.ok:
            continue
        counts.failed += 1
        findings.append(_tap_finding(result.name or "?", result.diagnostics(), rel, locate))
    return findings, counts


def _tap_finding(name: str, diag: dict[str, Any], rel: Rel, locate: Locator | None) -> Finding:
    assertion = str(diag.get("assertion") or "")
    text = str(diag.get("message") or "").strip()
    error = str(diag.get("name") or "failed")
    message = (
        f"{error}: {text}" if text else (f"{error}: {assertion} failed" if assertion else error)
    )
    details = diag.get("details") or diag.get("values") or {}
    context_lines: list[str] = []
    if isinstance(details, dict):
        for key, value in details.items():
            context_lines += [str(key).rstrip(":") + ":", *str(value).splitlines()]
    where = source_frame("at " + str(diag.get("at") or "").replace("\n", " "), rel)
    if where is None and locate is not None:
        where = locate(name, assertion or None)
    file, line = where if where else (None, None)
    return Finding(
        FindingKind.TEST,
        file,
        line,
        message.splitlines()[0][:300],
        test_id=name,
        context="\n".join(context_lines[:_TAIL_LINES]) or None,
    )


def tap_locator(directory: Path, rel: Rel) -> Locator:
    """Finds an ava test by its title (and file prefix) in the test sources below `directory`,
    at its failing assertion's line when the assertion is named."""

    def locate(name: str, assertion: str | None) -> tuple[str, int] | None:
        *prefix, title = name.split(_TAP_TITLE_SEP)
        declared = re.compile(r"\btest(?:\.\w+)*\(\s*(['\"`])" + re.escape(title) + r"\1")
        for path in _test_sources(directory):
            if prefix and _ava_stem(path) != prefix[-1]:
                continue
            lines = path.read_text(errors="replace").splitlines()
            start = next((i for i, ln in enumerate(lines) if declared.search(ln)), None)
            if start is not None:
                return rel(str(path)), _assertion_line(lines, start, assertion) + 1
        return None

    return locate


def _assertion_line(lines: list[str], start: int, assertion: str | None) -> int:
    """The 0-based line of `assertion` (`t.is()`) in the test declared at `start`, else start."""
    if not assertion:
        return start
    call = assertion.removesuffix(")").removesuffix("(") + "("
    for j in range(start + 1, len(lines)):
        if re.search(r"\btest(?:\.\w+)*\(", lines[j]):
            break
        if call in lines[j]:
            return j
    return start


def _ava_stem(path: Path) -> str:
    stem = path.name
    for ext in _TEST_EXTENSIONS:
        stem = stem.removesuffix(ext)
    return stem.removesuffix(".test").removesuffix(".spec")


_MAX_TEST_SOURCES = 3000


def _test_sources(directory: Path) -> list[Path]:
    found: list[Path] = []
    for folder, subdirs, files in os.walk(directory):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        found += [Path(folder) / f for f in sorted(files) if f.endswith(_TEST_EXTENSIONS)]
        if len(found) > _MAX_TEST_SOURCES:
            break
    return found


# --- ESLint ----------------------------------------------------------------------------------


def _is_plain_eslint(script: str) -> bool:
    """`eslint <args>` alone, with no output options of its own: safe to add a JSON report."""
    try:
        argv = shlex.split(script)
    except ValueError:
        return False
    shell_syntax = any(t in ("&&", "||", "|", ";", ">", "<") for t in argv)
    own_output = any(
        t in ("-f", "--format", "-o", "--output-file")
        or t.startswith(("--format=", "--output-file="))
        for t in argv
    )
    return bool(argv) and argv[0] == "eslint" and not shell_syntax and not own_output


def _run_eslint_json(
    tools: _Tools, site: _Site, script: str, extra: Sequence[str]
) -> list[Finding]:
    report = tools.report_path("eslint.json")
    result = _run_script(
        tools, site, script, ["--format", "json", "--output-file", str(report), *extra]
    )
    try:
        return parse_eslint_json(report.read_text(), _site_rel(tools.ctx, site))
    except (OSError, ValueError):
        return _text_findings(tools, site, result) or _failed(
            tools.ctx, site, script, result, FindingKind.ERROR
        )


def parse_eslint_json(text: str, rel: Rel) -> list[Finding]:
    """ESLint's `--format json`: errors only (warnings do not fail ESLint either)."""
    findings = []
    for result in json.loads(text):
        for message in result.get("messages", []):
            if message.get("severity") != 2:
                continue
            rule = message.get("ruleId")
            findings.append(
                Finding(
                    FindingKind.COMPILE if message.get("fatal") else FindingKind.LINT,
                    rel(result["filePath"]),
                    message.get("line"),
                    message["message"] + (f" ({rule})" if rule else ""),
                )
            )
    return findings


_STYLISH_FILE = re.compile(r"^(/|[A-Za-z]:\\)\S.*$")
_STYLISH_PROBLEM = re.compile(
    r"^\s+(?P<line>\d+):(?P<col>\d+)\s+(?P<severity>error|warning)\s+(?P<message>.+?)"
    r"(?:\s{2,}(?P<rule>[\w@/-]+))?\s*$"
)


def parse_eslint_stylish(output: str, rel: Rel) -> list[Finding]:
    """ESLint's default text output: a file path line, then indented `line:col error ...`."""
    findings = []
    current: str | None = None
    for line in output.splitlines():
        if _STYLISH_FILE.match(line):
            current = line.strip()
            continue
        match = _STYLISH_PROBLEM.match(line)
        if current is None or match is None or match["severity"] != "error":
            continue
        message, rule = match["message"], match["rule"]
        fatal = rule is None and message.startswith("Parsing error")
        findings.append(
            Finding(
                FindingKind.COMPILE if fatal else FindingKind.LINT,
                rel(current),
                int(match["line"]),
                message + (f" ({rule})" if rule else ""),
            )
        )
    return findings


# --- tsc and Prettier ----------------------------------------------------------------------

_TSC = re.compile(
    r"^(?P<file>[^\s(][^()]*?)"
    r"(?:\((?P<line>\d+),\d+\): |:(?P<pretty_line>\d+):\d+ - )"  # plain or --pretty
    r"error (?P<code>TS\d+): (?P<message>.*)$"
)


def parse_tsc(output: str, rel: Rel) -> list[Finding]:
    """`file(line,col): error TSxxxx: message`, continuation lines as context."""
    findings: list[Finding] = []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        match = _TSC.match(line)
        if match is None:
            continue
        more = []
        for follow in lines[i + 1 :]:
            if not follow.startswith("  ") or _TSC.match(follow):
                break
            more.append(follow)
        findings.append(
            Finding(
                FindingKind.COMPILE,
                rel(match["file"].strip()),
                int(match["line"] or match["pretty_line"]),
                f"{match['code']}: {match['message'].strip()}",
                context=textwrap.dedent("\n".join(more[:_TAIL_LINES])) or None,
            )
        )
    return findings


_PRETTIER_WARN = re.compile(r"^\[warn\] (?P<file>.+)$")


def parse_prettier_check(output: str, rel: Rel) -> list[Finding]:
    """`prettier --check`: one `[warn] <file>` per unformatted file, then a summary."""
    return [
        Finding(
            FindingKind.FORMAT, rel(m["file"].strip()), None, "not formatted as Prettier expects"
        )
        for m in map(_PRETTIER_WARN.match, output.splitlines())
        if m and not m["file"].startswith("Code style issues")
    ]


def _locate_unformatted(tools: _Tools, site: _Site, findings: list[Finding]) -> list[Finding]:
    """Point the first few Prettier findings at their first differing line, with the diff."""
    located = []
    for i, finding in enumerate(findings):
        path = tools.ctx.repo_root / (finding.file or "")
        if i < _MAX_FORMAT_LOOKUPS and path.is_file():
            result = tools.exec("prettier", [str(path)], "`prettier`")
            if result.ok:
                line, context = first_difference(path.read_text(), result.stdout)
                finding = Finding(
                    finding.kind, finding.file, line, finding.message, context=context
                )
        located.append(finding)
    return located


def first_difference(actual: str, expected: str) -> tuple[int | None, str | None]:
    """The 1-based line where `actual` first differs from `expected`, and a short diff."""
    matcher = difflib.SequenceMatcher(None, actual.splitlines(), expected.splitlines())
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed = [f"- {line}" for line in actual.splitlines()[a1:a2][:2]]
        added = [f"+ {line}" for line in expected.splitlines()[b1:b2][:2]]
        return a1 + 1, "\n".join(removed + added)
    return None, None


# --- tests ---------------------------------------------------------------------------------


def detect_test_runner(script: str) -> Runner:
    """Which runner a test script calls, by its command words."""
    words = re.findall(r"[\w:.-]+", script)
    if re.search(r"\bnode\b[^&|;]*\s--test\b", script):
        return "node"
    runners: tuple[Runner, ...] = ("jest", "vitest", "mocha", "ava", "uvu")
    return next((runner for runner in runners if runner in words), "other")


_SCRIPT_ALIAS = re.compile(
    r"^\s*(?:npm run(?:-script)?|yarn(?: run)?|pnpm(?: run)?)(?: --silent| -s)?"
    r" (?P<name>[\w:.@/-]+)\s*$"
)


def resolve_script(scripts: Mapping[str, str], name: str) -> str:
    """The script that `name` only forwards to (`"test": "npm run test:unit"`), if any: the
    runner's own flags (report files) reach the runner only when that script runs itself."""
    seen = {name}
    while (alias := _SCRIPT_ALIAS.match(scripts.get(name, ""))) and alias["name"] in scripts:
        if alias["name"] in seen:
            break
        name = alias["name"]
        seen.add(name)
    return name


def _run_tests(tools: _Tools, sites: Sequence[_Site]) -> tuple[list[Finding], TestCounts | None]:
    findings: list[Finding] = []
    counts: TestCounts | None = None
    for site in _sites_for(sites, "test"):
        name = resolve_script(site.scripts, "test")
        script = site.scripts[name]
        if NPM_PLACEHOLDER_TEST in script:
            continue
        parts = script_parts(script)
        if parts is not None:
            site_findings, site_counts = _run_chain(
                tools, site, name, parts, list(tools.ctx.extra_args), "test", FindingKind.TEST
            )
        else:
            runner = detect_test_runner(script)
            site_findings, site_counts = _run_test_site(tools, site, runner, name)
        findings += site_findings
        if site_counts is not None:
            counts = site_counts if counts is None else counts.add(site_counts)
    return findings, counts


def _run_test_site(
    tools: _Tools, site: _Site, runner: Runner, script: str
) -> tuple[list[Finding], TestCounts | None]:
    report = tools.report_path(f"{runner}-report")
    args, env = _report_options(runner, report)
    result = _run_script(tools, site, script, [*args, *tools.ctx.extra_args], env)
    return _runner_outcome(tools, site, runner, report, result, f"script `{script}`")


def _runner_outcome(
    tools: _Tools, site: _Site, runner: Runner, report: Path, result: CommandResult, what: str
) -> tuple[list[Finding], TestCounts | None]:
    """Findings and counts from a runner's report; the test stage stopped when it wrote none."""
    parsed = _parse_runner_report(
        runner, report, result, site.directory, _site_rel(tools.ctx, site)
    )
    failed = _failed(tools.ctx, site, what, result, FindingKind.TEST)
    if parsed is None:
        if runner != "other" and not result.ok:
            why = failed[0].message if failed else f"{what} failed"
            tools.mark("test", StageReport(StageStatus.STOPPED, f"{why} before reporting tests"))
        else:
            tools.mark("test", RAN)
        return failed, None
    tools.mark("test", RAN)
    # A non-zero exit with every test passing (a hook, a coverage threshold) still fails.
    return parsed[0] or failed, parsed[1]


def _parse_runner_report(
    runner: Runner, report: Path, result: CommandResult, directory: Path, rel: Rel
) -> tuple[list[Finding], TestCounts] | None:
    try:
        if runner == "node":
            return parse_node_junit(report.read_text(), rel, _ANSI.sub("", result.output))
        if runner in ("jest", "vitest"):
            return parse_jest_json(report.read_text(), rel)
        if runner == "mocha":
            text = report.read_text() if report.is_file() else result.stdout  # mocha < 10.2
            return parse_mocha_json(text, rel)
        if runner == "ava":
            return parse_tap(_ANSI.sub("", result.stdout), rel, tap_locator(directory, rel))
        if runner == "uvu":  # no structured reporter: its console report
            return parse_uvu(_ANSI.sub("", result.output), rel)
    except (OSError, ValueError, ET.ParseError, KeyError, TypeError):
        return None
    return None


def _report_options(runner: Runner, report: Path) -> tuple[list[str], dict[str, str]]:
    """Extra arguments and environment that make `runner` write a report to `report`."""
    if runner == "node":
        # NODE_OPTIONS reaches `node --test` wherever it sits in the script, without
        # touching the arguments (which node would take for test files).
        options = (
            f"--test-reporter=spec --test-reporter-destination=stdout "
            f"--test-reporter=junit --test-reporter-destination={report}"
        )
        return [], {"NODE_OPTIONS": options}
    if runner == "jest":
        return ["--ci", "--json", f"--outputFile={report}"], {}
    if runner == "vitest":
        return ["--reporter=default", "--reporter=json", f"--outputFile.json={report}"], {}
    if runner == "mocha":
        # `--reporter-options`: mocha < 6 knows only the plural (6+ take both); before 10.2
        # the json reporter ignores `output` and prints to stdout, which is read instead.
        return ["--reporter", "json", "--reporter-options", f"output={report}"], {}
    if runner == "ava":
        return ["--tap"], {}
    return [], {}


_UVU_FAIL = re.compile(r'^\s*FAIL\s+(?P<suite>.*?)\s*"(?P<name>.*)"\s*$')
_UVU_TOTAL = re.compile(r"^\s*(?P<key>Total|Passed|Skipped):\s+(?P<n>\d+)\s*$")


def parse_uvu(text: str, rel: Rel) -> tuple[list[Finding], TestCounts]:
    """uvu's console report (it has no other): `FAIL suite "test"`, the error, its stack; then
    `Total:`, `Passed:` and `Skipped:` per run (one per test file with `uvu dir`, summed)."""
    lines = text.splitlines()
    totals = {"Total": 0, "Passed": 0, "Skipped": 0}
    seen = False
    findings: list[Finding] = []
    for i, line in enumerate(lines):
        if total := _UVU_TOTAL.match(line):
            totals[total["key"]] += int(total["n"])
            seen = True
        if (fail := _UVU_FAIL.match(line)) is None:
            continue
        body = list(itertools.takewhile(lambda ln: not _UVU_FAIL.match(ln), lines[i + 1 : i + 60]))
        message, context = error_summary("\n".join(body))
        where = source_frame("\n".join(body), rel)
        name = f"{fail['suite']} {fail['name']}".strip()
        file, line_no = where if where else (None, None)
        findings.append(Finding(FindingKind.TEST, file, line_no, message[:300], name, context))
    if not seen:
        raise ValueError("not a uvu report")
    run = totals["Total"] - totals["Skipped"]
    return findings, TestCounts(run, run - totals["Passed"], totals["Skipped"])


# `at fn (/path/a b.js:10:5)` or `at /path/a b.js:10:5`: paths may hold spaces.
_FRAME = re.compile(r"^\s*at (?:.*? \()?(?P<loc>[^()]+?):(?P<line>\d+)(?::\d+)?\)?\s*$")


_STACK_LINE = re.compile(r"^\s*at \S")
_ERROR_LINE = re.compile(r"^\s*([A-Z]\w*)?(Error|Exception)\b")
_ERROR_CODE = re.compile(r"^(\w*Error) \[\w+\]:")  # "AssertionError [ERR_ASSERTION]:"


def _frame_path(location: str) -> str:
    return unquote(location.removeprefix("file://")) if location.startswith("file://") else location


def source_frame(stack: str, rel: Rel) -> tuple[str, int] | None:
    """The first stack frame in the repository's own code (not node_modules, not node:)."""
    for line in stack.splitlines():
        match = _FRAME.match(line)
        if match is None:
            continue
        location = _frame_path(match["loc"])
        # Source-mapped frames of dependencies are relative: `node_modules/@babel/...`.
        dependency = "node_modules" in location.split("/")
        if dependency or location.startswith(("node:", "internal/", "<")):
            continue
        path = rel(location)
        if path.startswith(("/", "..")):  # outside the repository
            continue
        return path, int(match["line"])
    return None


def error_summary(text: str) -> tuple[str, str | None]:
    """An error's first line (the message) and the few lines after it, before the stack."""
    first, *rest = _ANSI.sub("", text).strip().splitlines() or [""]
    before_stack = []
    for line in rest:
        if _STACK_LINE.match(line):
            break
        before_stack.append(line)
    body = [ln for ln in textwrap.dedent("\n".join(before_stack)).splitlines() if ln.strip()]
    message = _ERROR_CODE.sub(r"\1:", first.strip()) or "failed"
    return message, "\n".join(body[:_TAIL_LINES]) or None


def _test_finding(
    name: str,
    failure_text: str,
    rel: Rel,
    fallback_file: str | None = None,
    fallback_line: int | None = None,
) -> Finding:
    message, context = error_summary(failure_text)
    where = source_frame(failure_text, rel)
    file, line = where if where else (fallback_file, fallback_line)
    return Finding(FindingKind.TEST, file, line, message, test_id=name, context=context)


def parse_node_junit(xml: str, rel: Rel, output: str = "") -> tuple[list[Finding], TestCounts]:
    """Node's `--test-reporter=junit`. The failing line comes from the cause's stack trace.

    A test file that failed to load appears as a test named by its absolute path, with no
    stack: its error is then looked up in the run's own (spec reporter) output.
    """
    findings: list[Finding] = []
    counts = TestCounts()
    for path, case in _junit_cases(ET.fromstring(xml), ()):
        case_id = " > ".join((*path, case.get("name", "?")))
        if case.find("skipped") is not None:
            counts.skipped += 1
            counts.cases[case_id] = "skipped"
            continue
        counts.run += 1
        failure = case.find("failure")
        counts.cases[case_id] = "passed" if failure is None else "failed"
        if failure is None:
            continue
        counts.failed += 1
        name = case.get("name", "?")
        if name.startswith("/") and not path:
            findings.append(_load_failure(name, output, rel))
            continue
        text = failure.text or ""
        cause = text.split("cause: ", 1)[1] if "cause: " in text else failure.get("message", "")
        findings.append(_test_finding(" > ".join((*path, name)), cause, rel))
    return findings, counts


def _junit_cases(
    element: ET.Element, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], ET.Element]]:
    for child in element:
        if child.tag == "testcase":
            yield path, child
        elif child.tag == "testsuite":
            yield from _junit_cases(child, (*path, child.get("name", "?")))


def _load_failure(path: str, output: str, rel: Rel) -> Finding:
    """A test file that crashed outside any test, located by node's printed stack frame."""
    file = rel(path)
    lines = output.splitlines()
    for i, line in enumerate(lines):
        match = _FRAME.match(line)
        if match is None or _frame_path(match["loc"]) != path:
            continue
        error = next((ln.strip() for ln in reversed(lines[:i]) if _ERROR_LINE.match(ln)), None)
        message = _ERROR_CODE.sub(r"\1:", error) if error else "the test file failed to load"
        return Finding(FindingKind.TEST, file, int(match["line"]), message, test_id=file)
    syntax_error = _module_syntax_error(lines, rel)
    if syntax_error is not None:
        return syntax_error
    return Finding(FindingKind.TEST, file, None, "the test file failed to run", test_id=file)


# Node prints a module it cannot parse as `file:///abs/path.js:LINE`, the source line, a
# caret, then `SyntaxError: ...`, with no stack frame in the project.
_MODULE_HEADER = re.compile(r"^(?:file://)?(?P<path>/[^:]+):(?P<line>\d+)$")


def _module_syntax_error(lines: list[str], rel: Rel) -> Finding | None:
    """The source file and line of a SyntaxError that stopped a test file from loading."""
    for i, line in enumerate(lines):
        header = _MODULE_HEADER.match(line.strip())
        if header is None:
            continue
        error = next((ln.strip() for ln in lines[i + 1 : i + 6] if _ERROR_LINE.match(ln)), None)
        if error is None:
            continue
        source = lines[i + 1].rstrip() if i + 1 < len(lines) else ""
        path = rel(header["path"])
        return Finding(
            FindingKind.COMPILE, path, int(header["line"]), error, context=source or None
        )
    return None


def parse_jest_json(text: str, rel: Rel) -> tuple[list[Finding], TestCounts]:
    """jest's `--json` report; vitest's `--reporter=json` writes the same shape."""
    findings: list[Finding] = []
    counts = TestCounts()
    for suite in json.loads(text)["testResults"]:
        file = rel(suite["name"])
        failed_here = 0
        for case in suite.get("assertionResults", []):
            status = case.get("status")
            if status in ("pending", "skipped", "todo", "disabled"):
                counts.skipped += 1
                continue
            counts.run += 1
            if status != "failed":
                continue
            counts.failed += 1
            failed_here += 1
            # vitest 1 puts an empty title for the file first, and no stack in the message.
            titles = [*case.get("ancestorTitles", []), case.get("title", "?")]
            location = case.get("location") or {}
            findings.append(
                _test_finding(
                    " > ".join(t for t in titles if t),
                    "\n".join(case.get("failureMessages", [])),
                    rel,
                    file,
                    location.get("line"),
                )
            )
        if suite.get("status") == "failed" and not failed_here:
            # The file itself failed (syntax error, failing import): not one test.
            counts.run += 1
            counts.failed += 1
            findings += _suite_failure(file, suite.get("message", ""), rel)
    return findings, counts


_BABEL_SYNTAX = re.compile(
    r"^\s*SyntaxError: (?P<file>.+?): (?P<message>.+) \((?P<line>\d+):\d+\)$", re.MULTILINE
)


def _suite_failure(file: str, message: str, rel: Rel) -> list[Finding]:
    """A test file that did not run: ts-jest's type errors or Babel's syntax error in it (at
    their line), else the error itself."""
    text = _suite_message(message)
    rest = text.partition("\n")[2]
    type_errors = parse_tsc(textwrap.dedent(rest), rel)
    if type_errors:
        return type_errors
    syntax = _BABEL_SYNTAX.search(rest)
    if syntax is not None:
        _, code_frame = error_summary(rest[syntax.start() :])
        return [
            Finding(
                FindingKind.COMPILE,
                rel(syntax["file"]),
                int(syntax["line"]),
                f"SyntaxError: {syntax['message']}",
                context=code_frame,
            )
        ]
    return [_test_finding(file, text, rel, file)]


def _suite_message(message: str) -> str:
    lines = [ln for ln in _ANSI.sub("", message).splitlines() if ln.strip()]
    return "\n".join(ln.replace("●", "").strip() if i == 0 else ln for i, ln in enumerate(lines))


def parse_mocha_json(text: str, rel: Rel) -> tuple[list[Finding], TestCounts]:
    """mocha's `--reporter json`."""
    report = json.loads(text)
    stats = report["stats"]
    findings = [
        _test_finding(
            failure.get("fullTitle", "?"),
            failure.get("err", {}).get("stack") or failure.get("err", {}).get("message", ""),
            rel,
            rel(failure["file"]) if failure.get("file") else None,
        )
        for failure in report.get("failures", [])
    ]
    counts = TestCounts(
        run=stats["passes"] + stats["failures"],
        failed=stats["failures"],
        skipped=stats.get("pending", 0),
    )
    return findings, counts
