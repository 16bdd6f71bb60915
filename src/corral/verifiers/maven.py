"""Maven: `mvn verify` offline, as CI would run it, read through its structured reports.

Compile errors come from javac's lines in Maven's log (Maven offers nothing structured for
them); test results from Surefire's and Failsafe's TEST-*.xml; Checkstyle from its XML report;
formatting from `spotless:check` or fmt-maven-plugin's `check`, run only when the pom declares
them. `prepare` runs the same lifecycle online with every test filtered out, which fetches
what `check` needs (plugins, Surefire's JUnit provider) without running a test; it is skipped
while the poms are unchanged since the last complete one.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from corral.ecosystems import BY_NAME
from corral.sandbox.base import CommandResult
from corral.verifiers.base import (
    CheckOutcome,
    Finding,
    FindingKind,
    ProjectContext,
    Rel,
    TestCounts,
    Verifier,
    VerifierError,
    cache_env,
    run_tool,
)
from corral.verifiers.ci_parity import maven_goals
from corral.verifiers.junit import (
    SPOTLESS_HEADER,
    jvm_test_stage,
    read_checkstyle_reports,
    read_junit_reports,
    spotless_findings,
)
from corral.verifiers.patterns import JAVAC_MAVEN as _JAVAC
from corral.verifiers.tool_versions import fetch_maven, maven_executable, wrapper_maven_version

_BATCH = ("-B", "--no-transfer-progress")
# Every test class matches, no method does: Surefire still resolves its JUnit provider.
_RESOLVE_ONLY = (
    "-Dtest=*#corralResolveOnly",
    "-Dit.test=*#corralResolveOnly",
    "-Dsurefire.failIfNoSpecifiedTests=false",
    "-Dfailsafe.failIfNoSpecifiedTests=false",
)
# Failing tests must not stop the other modules: their reports say what failed.
_CHECK_FLAGS = ("-o", "--fail-at-end", "-Dmaven.test.failure.ignore=true")
_SKIP_FORMAT = ("-Dspotless.check.skip=true", "-Dfmt.skip=true")
_CHECKSTYLE = "org.apache.maven.plugins:maven-checkstyle-plugin"
_REPORT_DIRS = ("surefire-reports", "failsafe-reports")
_STAMP_VERSION = "1"

_ERROR = "[ERROR] "
_FAILED_GOAL = re.compile(r"^Failed to execute goal (?P<goal>\S+)(?: \([^)]*\))?(?P<rest>.*)$")
_ON_PROJECT = re.compile(r" on project (?P<project>[^:\s]+): (?P<reason>.*)$")
_HELP = re.compile(r"\s*-> \[Help \d+\]$")
# Checkstyle's console lines look like javac's (older plugins print absolute paths too).
_CHECKSTYLE_LINE = re.compile(r"^\(\w+\) \w+: ")
_NON_COMPLYING = re.compile(r"^\[ERROR\] Non complying file: (?P<file>.+)$")
_RESOLUTION = re.compile(
    r"Could not (?:resolve|transfer|find artifact)|Non-resolvable|Failure to find"
    r"|could not be resolved|Unresolveable|Cannot access \S+ in offline mode"
)
_BOILERPLATE = (
    "To see the full stack trace",
    "Re-run Maven",
    "For more information",
    "[Help ",
    "COMPILATION ERROR :",
    "After correcting the problems, you can resume",
    "mvn <args> -rf ",
)


@dataclass(frozen=True)
class MavenBuild:
    """What the poms declare, as far as choosing goals and finding reports needs."""

    modules: dict[str, Path]
    """artifactId -> folder, for the root pom and every module it aggregates."""
    format_goals: tuple[str, ...] = ()
    lint_goals: tuple[str, ...] = ()
    """Checkstyle's `check` when the pom declares the plugin without binding it to a phase."""
    build_files: tuple[Path, ...] = ()


class MavenVerifier(Verifier):
    name = "maven"
    markers = BY_NAME["maven"].markers
    nested = False  # the root pom builds its modules

    def prepare(self, ctx: ProjectContext) -> None:
        build = read_build(ctx.project_dir)
        stamp = _stamp(ctx, build)
        _fetch_wrapper_maven(ctx)
        if stamp.is_file():
            return
        if build.format_goals:
            result = run_tool(ctx, [*_mvn(ctx), *build.format_goals], "mvn (fetching formatters)")
            _raise_on_resolution_failure(result)
        # The repository's arguments first (profiles change dependencies), so that the
        # test filter that keeps every test from running wins over theirs.
        argv = [*_mvn(ctx), *ctx.extra_args, "--fail-at-end", *_RESOLVE_ONLY]
        goals = maven_goals(ctx)[0]  # CI's phase, and `clean` where CI cleans first
        argv += [*goals[:-1], *build.lint_goals, goals[-1]]
        result = run_tool(ctx, argv, "mvn (fetching dependencies)")
        _raise_on_resolution_failure(result)
        # Any other failure is the build's own (a compile error, say): `check` reports it, and
        # as the phases after it fetched nothing, the next prepare runs again.
        if result.exit_code == 0:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.touch()

    def check(self, ctx: ProjectContext) -> CheckOutcome:
        build = read_build(ctx.project_dir)
        _clear_reports(build)
        findings: list[Finding] = []
        skip: tuple[str, ...] = ()
        if build.format_goals:
            findings += _format_check(ctx, build)
            skip = _SKIP_FORMAT
        goals, source = maven_goals(ctx)
        phase = goals[-1]
        argv = [*_mvn(ctx), *_CHECK_FLAGS, *skip, *goals[:-1], *build.lint_goals, phase]
        result = run_tool(ctx, [*argv, *ctx.extra_args], f"mvn {phase}")
        built, counts = _build_findings(ctx, build, result)
        if not result.ok and not built:
            built = [_unexplained(ctx, build, result)]
        note = maven_executable(ctx)[1]
        modules = [(d, bool(_test_reports(d))) for d in build.modules.values()]
        # CI's phase is always `test` or later (`maven_phase`): the test stage is always had.
        stages = {"test": jvm_test_stage(result.ok, modules, ctx)}
        return CheckOutcome(
            findings + built,
            counts,
            sources={phase: source},
            notes=[note] if note else [],
            stages=stages,
        )


def _fetch_wrapper_maven(ctx: ProjectContext) -> None:
    """The Maven the project's mvnw names, when it is not the one installed (prepare only)."""
    wanted = wrapper_maven_version(ctx.project_dir)
    if wanted is not None and maven_executable(ctx)[1] is not None:
        fetch_maven(ctx, wanted, cache_env(ctx.cache_dir)["MAVEN_REPO_LOCAL"])


def _mvn(ctx: ProjectContext) -> list[str]:
    """The project's Maven (its wrapper's version, fetched in prepare) or the installed one."""
    mvn = maven_executable(ctx)[0]
    repo_local = f"-Dmaven.repo.local={cache_env(ctx.cache_dir)['MAVEN_REPO_LOCAL']}"
    # Maven 3.9's default transport ignores the JVM's proxy properties (MAVEN_OPTS), the
    # sandbox's only way out: Wagon, Maven 3.8's transport, honours them (3.8 ignores this).
    wagon = ["-Dmaven.resolver.transport=wagon"] if ctx.network == "open" else []
    return [mvn, *_BATCH, repo_local, *wagon]


def _format_check(ctx: ProjectContext, build: MavenBuild) -> list[Finding]:
    result = run_tool(ctx, [*_mvn(ctx), "-o", "--fail-at-end", *build.format_goals], "mvn (format)")
    findings = parse_format_output(result.output, build, ctx)
    if not result.ok and not findings:
        findings = [_unexplained(ctx, build, result)]
    return findings


def _build_findings(
    ctx: ProjectContext, build: MavenBuild, result: CommandResult
) -> tuple[list[Finding], TestCounts | None]:
    findings = parse_compile_errors(result.output, ctx)
    checkstyle_failed = f"Failed to execute goal {_CHECKSTYLE}" in result.output
    severities = ("error", "warning") if checkstyle_failed else ("error",)
    lint = read_checkstyle_reports(ctx, _existing(_checkstyle_reports(build)), severities)
    reports = [(d, p) for d in build.modules.values() for p in _test_reports(d)]
    tests, counts = read_junit_reports(ctx, reports)
    if not reports and not result.ok:
        return findings + lint, None  # tests never ran: their count is unknown, not zero
    return _unique(findings + lint + tests), counts


def parse_compile_errors(output: str, ctx: ProjectContext) -> list[Finding]:
    """javac's errors as Maven logs them, with paths relative to the repository root."""
    return parse_javac_log(output, ctx.rel)


def parse_javac_log(output: str, rel: Rel) -> list[Finding]:
    """javac's errors as Maven logs them: `[ERROR] /abs/File.java:[line,col] message`.

    Maven prints each error twice (as it happens and in the closing summary); the lines
    indented below an error (`symbol:`, `location:`) become its context.
    """
    findings: list[Finding] = []
    lines = output.splitlines()
    for i, raw in enumerate(lines):
        match = _JAVAC.match(raw)
        if match is None or _CHECKSTYLE_LINE.match(match["message"]):
            continue
        context = list(_continuation(lines[i + 1 : i + 6]))
        findings.append(
            Finding(
                kind=FindingKind.COMPILE,
                file=rel(match["file"]),
                line=int(match["line"]),
                message=match["message"].strip(),
                context="\n".join(context) or None,
            )
        )
    return _unique(findings)


def _continuation(lines: Iterable[str]) -> Iterable[str]:
    for raw in lines:
        text = raw.removeprefix(_ERROR)
        if not text.startswith(" ") or not text.strip():
            return
        yield text.strip()


def parse_format_output(output: str, build: MavenBuild, ctx: ProjectContext) -> list[Finding]:
    """Spotless's listing of badly formatted files, or fmt-maven-plugin's `Non complying file`."""
    lines = [raw.removeprefix(_ERROR) for raw in output.splitlines()]
    findings: list[Finding] = []
    for i, text in enumerate(lines):
        if text.rstrip().endswith(SPOTLESS_HEADER):
            project = _module_named(build, text, ctx.project_dir)
            findings += spotless_findings(ctx, project, lines[i + 1 :])
    for raw in output.splitlines():
        match = _NON_COMPLYING.match(raw)
        if match:
            findings.append(
                Finding(
                    FindingKind.FORMAT,
                    ctx.rel(match["file"].strip()),
                    None,
                    "not formatted as google-java-format expects (fmt-maven-plugin)",
                )
            )
    return findings


def _module_named(build: MavenBuild, text: str, default: Path) -> Path:
    match = _ON_PROJECT.search(text)
    return build.modules.get(match["project"], default) if match else default


def _unexplained(ctx: ProjectContext, build: MavenBuild, result: CommandResult) -> Finding:
    """A failed run none of the parsers explains: say which goal failed and why."""
    message, context = explain_failure(result.output, result.exit_code)
    if _RESOLUTION.search(result.output):
        _stamp(ctx, build).unlink(missing_ok=True)  # so that the next prepare fetches again
        message = f"dependencies are missing from the local cache; {message}"
    elif hint := environment_hint(result.output):
        message = f"{message}\n{hint}"
    return Finding(FindingKind.ERROR, None, None, message[:400], context=context)


_ENVIRONMENT_RULE = re.compile(r"\b(RequireMavenVersion|RequireJavaVersion|RequireOS)\b")


def environment_hint(output: str) -> str | None:
    """A hint when the build failed on a rule about the machine, not on the code."""
    if not _ENVIRONMENT_RULE.search(output):
        return None
    return (
        "hint: the project's enforcer rule is about this machine (its Maven or Java version), "
        "not the change: use the project's mvnw, or the version the rule names"
    )


def explain_failure(output: str, exit_code: int) -> tuple[str, str | None]:
    """The failed goal and its reason (a message, then other error lines as context)."""
    errors = error_lines(output)
    at = next((i for i, e in enumerate(errors) if e.startswith("Failed to execute goal")), None)
    goal = _FAILED_GOAL.match(errors[at]) if at is not None else None
    if at is not None and goal:
        before, after = errors[:at], errors[at + 1 :]
        on_project = _ON_PROJECT.search(goal["rest"])
        reason = _collapse(on_project["reason"] if on_project else goal["rest"].strip(" :"))
        causes = after or before  # below the headline, unless printed (once) above it
        if reason.endswith(":") and causes:  # "Compilation failure:" then its cause
            reason = f"{reason} {causes.pop(0)}"
        message, rest = f"mvn failed in {goal['goal']}: {reason}", [*before, *after]
    elif errors:
        message, rest = f"mvn failed: {errors[0]}", errors[1:]
    else:
        tail = output.strip().splitlines()[-1:] or ["no output"]
        message, rest = f"mvn exited {exit_code}: {tail[0]}", []
    return message, "\n".join(e for e in rest if e not in message)[:600] or None


def _collapse(reason: str) -> str:
    """`Compilation failure: Compilation failure:` (Maven repeats it) said once."""
    kept: list[str] = []
    for part in reason.strip().split(": "):
        if kept and kept[-1].rstrip(":") == part.rstrip(":"):
            kept[-1] = part
        else:
            kept.append(part)
    return ": ".join(kept)


def error_lines(output: str) -> list[str]:
    """Maven's `[ERROR]` lines, without the prefix, the help links, boilerplate and repeats."""
    lines = (
        _HELP.sub("", raw.removeprefix(_ERROR)).rstrip()
        for raw in output.splitlines()
        if raw.startswith(_ERROR)
    )
    kept = (line for line in lines if line and not line.lstrip().startswith(_BOILERPLATE))
    return list(dict.fromkeys(kept))


def _raise_on_resolution_failure(result: CommandResult) -> None:
    if result.exit_code == 0 or not _RESOLUTION.search(result.output):
        return
    lines = [raw for raw in result.output.splitlines() if _RESOLUTION.search(raw)]
    # Maven's [ERROR] says what stopped it; a [WARNING] before it (a snapshot repository it
    # could not read) may be the cause or noise, so it comes second.
    errors = [line for line in lines if line.startswith(_ERROR)]
    reason = next((raw.removeprefix(_ERROR) for raw in [*errors, *lines]), "")
    raise VerifierError(f"mvn could not fetch dependencies: {reason.strip()[:400]}")


def read_build(project_dir: Path) -> MavenBuild:
    """Parse the root pom and the modules it aggregates (profiles' modules too)."""
    modules: dict[str, Path] = {}
    poms: list[ET.Element] = []
    files: list[Path] = []
    pending = [project_dir]
    while pending:
        folder = pending.pop()
        pom = folder / "pom.xml"
        if folder in modules.values() or not pom.is_file():
            continue
        root = _parse_pom(pom, project_dir)
        poms.append(root)
        files.append(pom)
        modules[_text(root, "artifactId") or folder.name] = folder
        pending += [_module_folder(folder, m.text or "") for m in _all(root, "modules/module")]
    return MavenBuild(
        modules=modules,
        format_goals=tuple(dict.fromkeys(g for r in poms for g in _format_goals(r))),
        lint_goals=(f"{_CHECKSTYLE}:check",) if _checkstyle_unbound(poms) else (),
        build_files=tuple(files),
    )


def _parse_pom(pom: Path, project_dir: Path) -> ET.Element:
    try:
        return ET.fromstring(pom.read_bytes())
    except ET.ParseError as exc:
        rel = pom.relative_to(project_dir).as_posix()
        raise VerifierError(f"pom.xml is not valid XML: {exc}", file=rel) from exc


def _module_folder(parent: Path, module: str) -> Path:
    path = (parent / module.strip()).resolve()
    return path.parent if path.suffix == ".xml" else path


def _all(root: ET.Element, path: str) -> list[ET.Element]:
    """Elements at `path` (namespace-agnostic) in the pom and in each of its profiles."""
    steps = "/".join(f"{{*}}{step}" for step in path.split("/"))
    return [*root.findall(steps), *root.findall(f"{{*}}profiles/{{*}}profile/{steps}")]


def _text(elem: ET.Element, tag: str) -> str | None:
    found = elem.find(f"{{*}}{tag}")
    return found.text.strip() if found is not None and found.text else None


def _plugins(root: ET.Element) -> list[ET.Element]:
    return _all(root, "build/plugins/plugin")


def _format_goals(root: ET.Element) -> Iterable[str]:
    for plugin in _plugins(root):
        artifact = _text(plugin, "artifactId")
        if artifact in ("spotless-maven-plugin", "fmt-maven-plugin"):
            yield f"{_text(plugin, 'groupId')}:{artifact}:check"


def _checkstyle_unbound(poms: Sequence[ET.Element]) -> bool:
    declared = [
        plugin
        for root in poms
        for plugin in _plugins(root)
        if _text(plugin, "artifactId") == "maven-checkstyle-plugin"
    ]
    goals = {
        (goal.text or "").strip()
        for plugin in declared
        for goal in plugin.findall("{*}executions/{*}execution/{*}goals/{*}goal")
    }
    return bool(declared) and "check" not in goals


def _test_reports(module: Path) -> list[Path]:
    return sorted(p for d in _REPORT_DIRS for p in (module / "target" / d).glob("TEST-*.xml"))


def _checkstyle_reports(build: MavenBuild) -> list[Path]:
    return [m / "target" / "checkstyle-result.xml" for m in build.modules.values()]


def _existing(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if p.is_file()]


def _clear_reports(build: MavenBuild) -> None:
    """Reports of an earlier run would pass for this one's where a module does not get as far."""
    for path in [
        *_checkstyle_reports(build),
        *(p for m in build.modules.values() for p in _test_reports(m)),
    ]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _stamp(ctx: ProjectContext, build: MavenBuild) -> Path:
    """Marks a complete prepare of these exact poms, inside the local repository it filled."""
    digest = hashlib.sha256(_STAMP_VERSION.encode())
    extras = sorted(p for p in (ctx.project_dir / ".mvn").glob("*") if p.is_file())
    for path in [*build.build_files, *extras]:
        digest.update(ctx.rel(path).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update("\0".join(ctx.extra_args).encode())
    digest.update(" ".join(maven_goals(ctx)[0]).encode())
    repo = Path(cache_env(ctx.cache_dir)["MAVEN_REPO_LOCAL"])
    return repo / ".corral-prepared" / digest.hexdigest()


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))
