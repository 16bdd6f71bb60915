"""Gradle: `build` offline through the project's own wrapper, read through its reports.

Test results come from build/test-results/*/TEST-*.xml and Checkstyle from
build/reports/checkstyle/*.xml in every project folder; compile errors (javac, kotlinc) and
Spotless's format violations from the console, which is all Gradle offers for those.
`prepare` runs online: an init script resolves every resolvable configuration of every
project (test runtimes included), then `build -x test` fetches what tasks load on their own
(plugins' tools, formatters).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from corral.ecosystems import BY_NAME
from corral.sandbox.base import CommandResult
from corral.verifiers.base import (
    CheckOutcome,
    Finding,
    FindingKind,
    ProjectContext,
    Rel,
    Verifier,
    VerifierError,
    cache_env,
    run_tool,
)
from corral.verifiers.junit import (
    SPOTLESS_HEADER,
    jvm_test_stage,
    read_checkstyle_reports,
    read_junit_reports,
    spotless_findings,
)
from corral.verifiers.patterns import JAVAC as _JAVAC
from corral.verifiers.patterns import KOTLINC as _KOTLINC

# No daemon: it would outlive the command, and the sandbox leaves no survivors.
_COMMON = ("--console=plain", "--no-daemon")
_RESOLVE_TASK = "corralResolveDependencies"
_INIT_SCRIPT = f"""\
// Written by corral: resolves every configuration so that a later --offline build has it all.
allprojects {{
    tasks.register("{_RESOLVE_TASK}") {{
        doLast {{
            def configs = project.configurations + project.buildscript.configurations
            configs.findAll {{ it.canBeResolved }}.each {{ config ->
                config.incoming.artifactView {{ lenient(true) }}.files.files
            }}
        }}
    }}
}}
"""

_COMPILER_END = re.compile(r"^(?:\d+ errors?|\d+ warnings?|> Task |FAILURE: |e: |w: )")
_FAILED_TASK = re.compile(r"^Execution failed for task '(?P<task>[^']+)'\.")
_RESOLUTION = re.compile(
    r"Could not resolve|Could not download|No cached version|Could not find \S+:\S+"
    r"|Could not GET|Could not install Gradle distribution|available for offline mode"
)
_WHAT_WENT_WRONG = "* What went wrong:"
_PRUNED = frozenset({"build", "src", "node_modules", "gradle", "buildSrc"})


class GradleVerifier(Verifier):
    name = "gradle"
    markers = BY_NAME["gradle"].markers
    nested = False  # the root build includes its subprojects

    def prepare(self, ctx: ProjectContext) -> None:
        result = run_tool(ctx, prepare_argv(ctx), "gradle (fetching dependencies)")
        if result.exit_code != 0 and _RESOLUTION.search(result.output):
            reason = next(line for line in result.output.splitlines() if _RESOLUTION.search(line))
            raise VerifierError(f"gradle could not fetch dependencies: {reason.strip()[:400]}")

    def check(self, ctx: ProjectContext) -> CheckOutcome:
        projects = project_dirs(ctx.project_dir)
        _clear_reports(projects)
        return read_outcome(ctx, run_tool(ctx, check_argv(ctx), "gradle build"), projects)


def read_outcome(ctx: ProjectContext, result: CommandResult, projects: list[Path]) -> CheckOutcome:
    """Findings and test counts of one `gradle build`: its console and the reports it left."""
    findings = [
        *parse_compile_errors(result.output, ctx),
        *parse_format_output(result.output, ctx),
        *read_checkstyle_reports(ctx, _checkstyle_reports(projects), _severities(result)),
    ]
    reports = [(p, r) for p in projects for r in _test_reports(p)]
    tests, counts = read_junit_reports(ctx, reports)
    findings += tests
    if not result.ok and not findings:
        findings = [unexplained_failure(result)]
    unknown = not reports and not result.ok  # tests never ran: unknown, not zero
    stage = jvm_test_stage(result.ok, [(p, bool(_test_reports(p))) for p in projects], ctx)
    return CheckOutcome(findings, None if unknown else counts, stages={"test": stage})


def gradle_command(project_dir: Path) -> list[str]:
    """The project's wrapper when it has one (the Gradle version it was written for)."""
    wrapper = project_dir / "gradlew"
    if not wrapper.is_file():
        return ["gradle"]
    if not os.access(wrapper, os.X_OK):  # the executable bit lost in a checkout
        return ["sh", str(wrapper)]
    return [str(wrapper)]


def check_argv(ctx: ProjectContext) -> list[str]:
    # --continue: a failure in one task does not hide the findings of independent ones.
    command = gradle_command(ctx.project_dir)
    return [*command, "--offline", *_COMMON, "--continue", "build", *ctx.extra_args]


def prepare_argv(ctx: ProjectContext) -> list[str]:
    script = _init_script(ctx.cache_dir)
    return [
        *gradle_command(ctx.project_dir),
        *_COMMON,
        "--continue",
        "--no-configuration-cache",  # the init script's task resolves at execution time
        "--init-script",
        str(script),
        _RESOLVE_TASK,
        "build",
        "-x",
        "test",
    ]


def _init_script(cache_dir: Path) -> Path:
    path = Path(cache_env(cache_dir)["GRADLE_USER_HOME"]) / "corral" / "resolve-dependencies.gradle"
    if not path.is_file() or path.read_text() != _INIT_SCRIPT:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_INIT_SCRIPT)
    return path


def parse_compile_errors(output: str, ctx: ProjectContext) -> list[Finding]:
    """javac's and kotlinc's errors, with paths relative to the repository root."""
    return parse_compiler_log(output, ctx.rel)


def parse_compiler_log(output: str, rel: Rel) -> list[Finding]:
    """javac's `/abs/A.java:5: error: msg` (then source line, caret, details) and kotlinc's."""
    lines = output.splitlines()
    findings = (_compile_error(lines, i, rel) for i in range(len(lines)))
    return list(dict.fromkeys(f for f in findings if f is not None))


def _compile_error(lines: list[str], i: int, rel: Rel) -> Finding | None:
    javac = _JAVAC.match(lines[i])
    if javac:
        context = _javac_context(lines[i + 1 : i + 6])
        return Finding(
            FindingKind.COMPILE,
            rel(javac["file"]),
            int(javac["line"]),
            javac["message"].strip(),
            context=context,
        )
    kotlinc = _KOTLINC.match(lines[i])
    if kotlinc:
        line = kotlinc["line"] or kotlinc["old_line"]
        return Finding(
            FindingKind.COMPILE, rel(kotlinc["file"]), int(line), kotlinc["message"].strip()
        )
    return None


def _javac_context(lines: Iterable[str]) -> str | None:
    context = []
    for raw in lines:
        if not raw.strip() or _JAVAC.match(raw) or _COMPILER_END.match(raw):
            break
        context.append(raw.rstrip())
    return "\n".join(context) or None


def parse_format_output(output: str, ctx: ProjectContext) -> list[Finding]:
    """Spotless's listing, in the project of the failed task (`:a:spotlessJavaCheck`) above it."""
    lines = output.splitlines()
    findings: list[Finding] = []
    project = ctx.project_dir
    for i, raw in enumerate(lines):
        task = _FAILED_TASK.match(raw)
        if task:
            project = _task_project_dir(ctx.project_dir, task["task"])
        elif raw.rstrip().endswith(SPOTLESS_HEADER):
            findings += spotless_findings(ctx, project, lines[i + 1 :])
    return findings


def _task_project_dir(root: Path, task_path: str) -> Path:
    """`:a:b:spotlessJavaCheck` -> root/a/b, Gradle's default layout for project `:a:b`."""
    return root.joinpath(*task_path.strip(":").split(":")[:-1])


def unexplained_failure(result: CommandResult) -> Finding:
    """A failed build none of the parsers explains: Gradle's own `What went wrong`."""
    lines = result.output.splitlines()
    reasons = [
        _what_went_wrong(lines[i + 1 :])
        for i, raw in enumerate(lines)
        if raw.strip() == _WHAT_WENT_WRONG
    ]
    if reasons:
        message = f"gradle failed: {reasons[0][0]}"
        context = [*reasons[0][1:], *(line for reason in reasons[1:] for line in reason)]
    else:
        tail = lines[-1:] or ["no output"]
        message, context = f"gradle exited {result.exit_code}: {tail[0]}", []
    if _RESOLUTION.search(result.output):
        message = f"dependencies are missing from the local cache; {message}"
    return Finding(
        FindingKind.ERROR, None, None, message[:400], context="\n".join(context)[:600] or None
    )


def _what_went_wrong(lines: Iterable[str]) -> list[str]:
    reason = []
    for raw in lines:
        if not raw.strip() or raw.startswith("* "):
            break
        reason.append(raw.strip().removeprefix("> ").strip())
    return reason or ["(no reason given)"]


def _severities(result: CommandResult) -> tuple[str, ...]:
    """Warnings too when Checkstyle failed the build over them (maxWarnings)."""
    failed = re.search(r"Execution failed for task '[^']*checkstyle\w*'", result.output)
    return ("error", "warning") if failed else ("error",)


def project_dirs(root: Path) -> list[Path]:
    """The root and every folder below it that holds a Gradle build script."""
    found = [root]
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _PRUNED and not d.startswith("."))
        here = Path(directory)
        if here != root and any(f in GradleVerifier.markers for f in files):
            found.append(here)
    return found


def _test_reports(project: Path) -> list[Path]:
    return sorted((project / "build" / "test-results").glob("*/TEST-*.xml"))


def _checkstyle_reports(projects: Iterable[Path]) -> list[Path]:
    return [p for d in projects for p in sorted((d / "build/reports/checkstyle").glob("*.xml"))]


def _clear_reports(projects: Iterable[Path]) -> None:
    """Stale reports would pass for this run where a task does not get as far."""
    for project in projects:
        for path in [*_test_reports(project), *_checkstyle_reports([project])]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
