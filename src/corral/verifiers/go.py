"""Go modules: gofmt, go vet and go test (and go build where CI runs it), read from their
structured output. `go test` compiles every package, those without tests too, so compile
errors come from its build events; a separate `go build` only adds the link of main packages.

Each `go.mod` is its own project (`nested`). `prepare` downloads the module graph into
GOMODCACHE; `check` then runs with GOPROXY=off, so a module missing from the cache is an
error rather than a silent download. `verifiers.args.go` goes to `go test` (`-tags=x`,
`-race`, `-run Pattern`), before the package pattern.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corral.ecosystems import BY_NAME
from corral.sandbox.base import CommandResult, write_inside
from corral.verifiers import go_listing
from corral.verifiers.base import (
    RAN,
    CheckOutcome,
    Finding,
    FindingKind,
    ProjectContext,
    Rel,
    SideBySide,
    StageReport,
    StageStatus,
    TestCounts,
    TestStatus,
    Verifier,
    VerifierError,
    cache_env,
    output_tail,
    run_tool,
    unique_findings,
)
from corral.verifiers.ci_parity import Checks, golangci_enables
from corral.verifiers.patterns import GO_POSITION as _POSITION
from corral.verifiers.patterns import GO_TEST_LOG as _TEST_LOG
from corral.verifiers.tool_versions import gofmt_comment_rules_differ, without_comment_only_hunks

# No -mod=mod: a verifier must never rewrite go.mod or go.sum in the checkout.
OFFLINE_ENV = {"GOPROXY": "off", "GOTOOLCHAIN": "local"}
_FILE_FIELDS = ("GoFiles", "CgoFiles", "TestGoFiles", "XTestGoFiles", "IgnoredGoFiles")
_CONTEXT_LINES = 4

# A goroutine stack frame: `\t/abs/path/calc_test.go:12 +0x1d`.
_FRAME = re.compile(r"^\t(?P<file>/.+?\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$")
_TEST_FUNC = re.compile(r"^func (?P<name>\w+)\(")
_DIFF_FILE = re.compile(r"^\+\+\+ (?P<file>.+?)(?:\t.*)?$")
# The `log` package's default prefix, which would make every run's message a new one.
_LOG_TIME = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? ")
_HUNK = re.compile(r"^@@ -(?P<line>\d+)")


@dataclass(frozen=True)
class GoPackage:
    import_path: str
    dir: Path
    files: tuple[str, ...]
    """Every .go file of the package (tests and build-tag-excluded ones too), absolute."""


class GoVerifier(Verifier):
    name = "go"
    markers = BY_NAME["go"].markers
    nested = True

    def prepare(self, ctx: ProjectContext) -> None:
        work = _workspace_file(ctx)
        stamp = _download_stamp(ctx) if work is None else None
        if stamp is not None and stamp.is_file():
            return  # these exact go.mod and go.sum were downloaded into this cache before
        if work is not None:
            # `go mod download` fetches the modules go.mod requires, including the go.work
            # modules themselves (often at v0.0.0), which no proxy has: fetch what the
            # packages and their tests import instead; check reports what is still missing.
            argv, what = ["go", "list", "-e", "-deps", "-test", "./..."], "go list -deps"
        else:
            argv, what = ["go", "mod", "download"], "go mod download"
        # `go mod download` adds the checksums it fetched to go.sum: a missing entry is the
        # project's to fix (check reports it), never the verifier's.
        sums = [ctx.project_dir / "go.mod", ctx.project_dir / "go.sum"]
        if work is not None:
            sums.append(work.with_name("go.work.sum"))
        with _left_as_they_were(sums):
            result = run_tool(ctx, argv, what)
        if not result.ok:
            raise VerifierError(f"{what} failed: {output_tail(result)}", file=ctx.rel("go.mod"))
        if stamp is not None:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            write_inside(ctx.cache_dir, stamp, "")  # the cache is the sandbox's: no links

    def check(self, ctx: ProjectContext) -> CheckOutcome:
        packages = _list_packages(ctx)
        if not packages:
            # A go.mod with no code (tool requirements only): nothing to build; vet and test
            # would fail on "matched no packages". Lost tests still show in the counts.
            return CheckOutcome(tests=TestCounts())
        checks = Checks(ctx, "go")
        notes: list[str] = []
        stages: dict[str, StageReport] = {}
        findings: list[Finding] = []
        gofmt = _runs_gofmt(ctx, checks)
        build_runs = _build_runs(checks)
        # Without a full `go vet` in CI, `go test` runs its own subset of vet, as in CI; the
        # lint stage is then absent (CI does not have it), not a stage that did not run.
        vet_runs = checks.run("vet", r"\bgo vet\b|golangci-lint", convention=True)
        # vet ran in full: -vet=off keeps its findings from coming back as build errors.
        vet_flags = ["-vet=off"] if vet_runs else []
        test_args = ["test", "-json", *vet_flags, *ctx.extra_args, "./..."]
        # gofmt, build, vet and test do not depend on each other (vet and test run even when
        # a package does not build: the others' tests still run, so a failure there excused
        # at the base cannot hide them): side by side, their results read in this order.
        with SideBySide() as side:
            formatted = side.start(lambda: _gofmt(ctx, packages, notes)) if gofmt else None
            build = side.start(lambda: _build(ctx)) if build_runs else None
            vet = (
                side.start(lambda: _go(ctx, ["vet", "-json", "./..."], "go vet"))
                if vet_runs
                else None
            )
            test = side.start(lambda: _go(ctx, test_args, "go test"))
            if formatted is not None:
                findings = formatted.result()
                stages["format"] = RAN
            compile_errors = build.result() if build is not None else []
            # `go test` compiles every package `./...` matches, those without tests too, and
            # reports their compile errors: the build stage runs there even without `go build`.
            stages["build"] = RAN
            unexplained: list[str] = []
            lint: list[Finding] = []  # shared errors count once
            if vet is not None:
                vet_result = vet.result()
                lint = parse_vet_json(vet_result.stdout, ctx.rel)
                if not vet_result.ok and not lint and not compile_errors:
                    unexplained.append(f"go vet failed: {output_tail(vet_result)}")
                stages["lint"] = RAN
            test_result = test.result()
        dirs = {p.import_path: p.dir for p in packages}
        report = parse_test_events(test_result.stdout, dirs, ctx.rel)
        test_compile = parse_build_events(test_result.stdout, ctx.rel)
        if not test_result.ok and not report.findings and not test_compile:
            unexplained.append(f"go test failed: {output_tail(test_result)}")
        if not test_compile:
            findings += [Finding(FindingKind.ERROR, None, None, m) for m in unexplained]
        findings += [*compile_errors, *test_compile, *lint, *report.findings]
        stages["test"] = _test_stage(test_compile)
        return CheckOutcome(
            unique_findings(findings),
            tests=report.counts,
            sources=checks.sources,
            notes=notes,
            stages=stages,
        )


def _build_runs(checks: Checks) -> bool:
    """`go build` where CI runs it: it links main packages, which `go test` does not (a link
    error). Elsewhere it repeats what `go test` does (compile every package) and is left out.
    """
    if checks.run("build", r"\bgo build\b", convention=False):
        return True
    checks.sources["build"] = f"{checks.sources['build']}; go test compiles every package"
    return False


def _build(ctx: ProjectContext) -> list[Finding]:
    # -o /dev/null: a module whose ./... is one main package would get its binary written.
    build = _go(ctx, ["build", "-json", "-o", os.devnull, "./..."], "go build")
    compile_errors = parse_build_events(build.stdout, ctx.rel)
    if not build.ok and not compile_errors:
        raise VerifierError(f"go build failed: {output_tail(build)}")
    return compile_errors


def _download_stamp(ctx: ProjectContext) -> Path:
    """Marks a go.mod/go.sum pair as downloaded. Kept inside GOMODCACHE, so a cleaned module
    cache forgets it too; a `go mod download` on every verify cost a sandbox with the egress
    proxy and go's own graph walk."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        path = ctx.project_dir / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
    modcache = Path(cache_env(ctx.cache_dir)["GOMODCACHE"])
    return modcache / "cache" / "corral-downloaded" / digest.hexdigest()[:32]


def _test_stage(test_compile: list[Finding]) -> StageReport:
    """Stopped when a package or its tests did not build: its tests did not run."""
    if not test_compile:
        return RAN
    first = test_compile[0]
    where = f"{first.file}:{first.line}: " if first.file else ""
    return StageReport(
        StageStatus.STOPPED,
        f"a package did not build, so its tests did not run ({where}{first.message})",
    )


@contextmanager
def _left_as_they_were(paths: list[Path]) -> Iterator[None]:
    """Put the files back as they were (or absent) once the block is done."""
    saved = {path: path.read_bytes() if path.is_file() else None for path in paths}
    try:
        yield
    finally:
        for path, data in saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            elif not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)


def _workspace_file(ctx: ProjectContext) -> Path | None:
    """The go.work file the module is built in (GOWORK, else one found above it), if any."""
    result = run_tool(ctx, ["go", "env", "GOWORK"], "go env")
    path = Path(result.stdout.strip()) if result.ok else None
    return path if path is not None and path.is_absolute() else None  # not "", not "off"


def _go(ctx: ProjectContext, args: list[str], what: str) -> CommandResult:
    return run_tool(ctx, ["go", *args], what, env=OFFLINE_ENV)


def _list_packages(ctx: ProjectContext) -> list[GoPackage]:
    """`go list`, or its answer kept for exactly these files and this toolchain (go_listing)."""
    fields = ",".join(("ImportPath", "Dir", *_FILE_FIELDS))
    env = _go_env(ctx)
    key = go_listing.listing_key(ctx, fields, env)
    if key is not None and (kept := go_listing.load(ctx, key, _FILE_FIELDS)) is not None:
        return [_package(obj) for obj in kept]
    result = _go(ctx, ["list", "-e", f"-json={fields}", "./..."], "go list")
    if not result.ok:
        raise VerifierError(f"go list failed: {output_tail(result)}", file=ctx.rel("go.mod"))
    objects = list(json_objects(result.stdout))
    if key is not None and go_listing.listing_key(ctx, fields, env) == key:  # unchanged meanwhile
        go_listing.store(ctx, key, objects)
    return [_package(obj) for obj in objects]


def _go_env(ctx: ProjectContext) -> dict[str, Any] | None:
    result = _go(ctx, ["env", "-json"], "go env")
    try:
        values = json.loads(result.stdout) if result.ok else None
    except ValueError:
        return None
    return values if isinstance(values, dict) else None


def _runs_gofmt(ctx: ProjectContext, checks: Checks) -> bool:
    """gofmt where CI runs it, directly or as a golangci-lint formatter, or by convention."""
    golangci = checks.command(r"golangci-lint")
    if golangci is not None and golangci_enables(ctx.repo_root, ("gofmt", "gofumpt", "goimports")):
        checks.sources["gofmt"] = f"{golangci.source}: golangci-lint (gofmt enabled)"
        return True
    return checks.run("gofmt", r"\bgofmt\b|\bgofumpt\b|\bgoimports\b", convention=True)


def _gofmt(ctx: ProjectContext, packages: list[GoPackage], notes: list[str]) -> list[Finding]:
    files = [os.path.relpath(f, ctx.project_dir) for p in packages for f in p.files]
    if not files:
        return []
    # gofmt exits 1 when files differ and 2 on syntax errors, which `go build` reports.
    result = run_tool(ctx, ["gofmt", "-d", *files], "gofmt")
    diff = result.stdout
    declared = gofmt_comment_rules_differ(ctx) if diff else None
    if declared is not None:
        diff, dropped = without_comment_only_hunks(diff)
        if dropped:
            notes.append(
                f"gofmt: {dropped} comment-only difference(s) not reported: the module "
                f"declares go {declared[0]}.{declared[1]}, whose gofmt formats doc comments "
                "unlike this Go's"
            )
    return parse_gofmt_diff(diff, ctx.rel)


def parse_packages(text: str) -> list[GoPackage]:
    """`go list -json=...` output: concatenated JSON objects, one per package."""
    return [_package(obj) for obj in json_objects(text)]


def _package(obj: dict[str, Any]) -> GoPackage:
    directory = Path(obj["Dir"])
    files = tuple(str(directory / name) for key in _FILE_FIELDS for name in obj.get(key, []))
    return GoPackage(obj["ImportPath"], directory, files)


def parse_gofmt_diff(text: str, rel: Rel) -> list[Finding]:
    """One format finding per file in `gofmt -d` output, at its first changed line."""
    findings = []
    for file, hunk in _diff_hunks(text):
        line, changes = _first_change(hunk)
        findings.append(
            Finding(
                FindingKind.FORMAT,
                rel(file),
                line,
                "not gofmt-formatted (run gofmt -w)",
                context="\n".join(changes[:_CONTEXT_LINES]) or None,
            )
        )
    return findings


def _diff_hunks(text: str) -> Iterator[tuple[str, list[str]]]:
    """(file, lines of its first hunk, header included) for each file of a unified diff."""
    file: str | None = None
    hunk: list[str] = []
    for raw in text.splitlines():
        match = _DIFF_FILE.match(raw)
        if match:
            if file is not None:
                yield file, hunk
            file, hunk = match["file"], []
        elif file is not None and (hunk or raw.startswith("@@")):
            hunk.append(raw)
    if file is not None:
        yield file, hunk


def _first_change(hunk: list[str]) -> tuple[int | None, list[str]]:
    if not hunk or not (header := _HUNK.match(hunk[0])):
        return None, []
    line = int(header["line"])
    body = hunk[1:]
    leading_context = next((i for i, raw in enumerate(body) if raw[:1] in "-+"), 0)
    changes = [raw for raw in body[leading_context:] if raw[:1] in "-+"]
    return line + leading_context, changes


def parse_build_events(text: str, rel: Rel) -> list[Finding]:
    """Compile errors from the `build-output` events of `go build -json` or `go test -json`."""
    output: dict[str, list[str]] = {}
    failed: list[str] = []
    for event in json_objects(text):
        action, path = event.get("Action"), event.get("ImportPath", "")
        if action == "build-output":
            output.setdefault(path, []).extend(event.get("Output", "").splitlines())
        elif action == "build-fail":
            failed.append(path)
    findings = []
    for path in failed:
        package_findings = parse_compile_lines(output.get(path, []), rel)
        if not package_findings:
            lines = [ln for ln in output.get(path, []) if not ln.startswith("#")]
            package_findings = [
                Finding(
                    FindingKind.COMPILE,
                    None,
                    None,
                    f"package {path} failed to build",
                    context="\n".join(lines[-_CONTEXT_LINES:]) or None,
                )
            ]
        findings += package_findings
    return findings


def parse_compile_lines(lines: list[str], rel: Rel) -> list[Finding]:
    """`file.go:line:col: message` lines, indented continuation lines as context."""
    findings: list[Finding] = []
    context: list[str] = []
    for raw in lines:
        match = _POSITION.match(raw.removeprefix("vet: "))
        if match:
            _flush_context(findings, context)
            findings.append(
                _compile_finding(rel(match["file"]), int(match["line"]), match["message"])
            )
        elif raw[:1].isspace() and findings:
            context.append(raw.strip())
    _flush_context(findings, context)
    return findings


def _compile_finding(file: str, line: int, message: str) -> Finding:
    if "GOPROXY=off" in message:
        # A required module is not in the cache: the environment's fault, not the code's.
        return Finding(
            FindingKind.ERROR,
            file,
            line,
            f"not in the module cache (prepare downloads what go.mod requires): {message}",
        )
    return Finding(FindingKind.COMPILE, file, line, message)


def _flush_context(findings: list[Finding], context: list[str]) -> None:
    """Attach indented continuation lines (`have (int)`, `want (string)`) to the last finding."""
    if findings and context:
        findings[-1] = replace(findings[-1], context="\n".join(context[:_CONTEXT_LINES]))
    context.clear()


def parse_vet_json(text: str, rel: Rel) -> list[Finding]:
    """`go vet -json`: {package: {analyzer: [{posn, message}]}} objects, one per package."""
    findings = []
    for obj in json_objects(text):
        for analyzers in obj.values():
            for analyzer, diagnostics in analyzers.items():
                if not isinstance(diagnostics, list):  # {"error": ...} when analysis failed
                    continue
                for diagnostic in diagnostics:
                    file, line = _split_position(diagnostic["posn"])
                    findings.append(
                        Finding(
                            FindingKind.LINT,
                            rel(file),
                            line,
                            f"{diagnostic['message']} ({analyzer})",
                        )
                    )
    return findings


def _split_position(posn: str) -> tuple[str, int | None]:
    """`/abs/file.go:10:14` -> (`/abs/file.go`, 10)."""
    parts = posn.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1])
    return posn, None


@dataclass
class _TestRun:
    action: str = "run"
    """run (started, never ended), pass, fail or skip."""
    output: list[str] = field(default_factory=list)


@dataclass
class TestReport:
    __test__ = False  # not a pytest class

    findings: list[Finding]
    counts: TestCounts


def parse_test_events(text: str, package_dirs: dict[str, Path], rel: Rel) -> TestReport:
    """Failing tests and counts from `go test -json`; subtests count, their parents do not."""
    tests: dict[tuple[str, str], _TestRun] = {}
    package_failed: dict[str, list[str]] = {}
    package_output: dict[str, list[str]] = {}
    for event in json_objects(text):
        package, test, action = event.get("Package"), event.get("Test"), event.get("Action")
        if package is None:
            continue
        if test is None:
            if action == "output":
                package_output.setdefault(package, []).append(event["Output"].rstrip("\n"))
            elif action == "fail" and "FailedBuild" not in event:
                package_failed[package] = package_output.get(package, [])
            continue
        run = tests.setdefault((package, test), _TestRun())
        if action == "output":
            run.output.append(event["Output"].rstrip("\n"))
        elif action in ("pass", "fail", "skip"):
            run.action = action
    for (package, _), run in tests.items():
        if run.action == "run" and package in package_failed:
            # The test binary ended inside this test (os.Exit, log.Fatal): it failed.
            run.action = "exit"
    parents = {(package, prefix) for package, test in tests for prefix in _parents(test)}
    leaves = {key: run for key, run in tests.items() if key not in parents}
    counts = TestCounts(
        run=sum(r.action in ("pass", "fail", "exit") for r in leaves.values()),
        failed=sum(r.action in ("fail", "exit") for r in leaves.values()),
        skipped=sum(r.action == "skip" for r in leaves.values()),
        cases={f"{pkg}.{test}": _GO_STATUS[run.action] for (pkg, test), run in leaves.items()},
    )
    findings = [
        _test_finding(package, test, run, package_dirs.get(package), rel)
        for (package, test), run in leaves.items()
        if run.action in ("fail", "exit")
    ]
    for package, output in package_failed.items():
        if not any(f.test_id and f.test_id.startswith(f"{package}.") for f in findings):
            findings.append(_package_failure(package, output))
    return TestReport(findings, counts)


_GO_STATUS: dict[str, TestStatus] = {
    "pass": "passed",
    "skip": "skipped",
    "fail": "failed",
    "exit": "failed",
    "run": "failed",
}
"""A leaf test's last `go test -json` action as a test status (one never ended failed)."""


def _parents(test: str) -> Iterator[str]:
    """`TestA/b/c` -> `TestA`, `TestA/b`: the tests that have it as a subtest. A set of
    these, not a scan of every test per test: go-cmp's 700 tests cost 0.1-0.5 s that way."""
    parts = test.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


def _test_finding(
    package: str, test: str, run: _TestRun, package_dir: Path | None, rel: Rel
) -> Finding:
    test_id = f"{package}.{test}"
    lines = [ln for ln in run.output if not ln.startswith(("=== ", "--- ")) and ln.strip()]
    panic = next((ln for ln in lines if ln.startswith("panic: ")), None)
    if panic is not None:
        file, line = _test_frame(lines, package_dir)
        return Finding(FindingKind.TEST, rel(file) if file else None, line, panic, test_id=test_id)
    # t.Log and t.Error print alike; the failure is most often the last one (t.Fatal ends
    # the test), and chatty tests log a lot before it.
    positioned = [i for i, raw in enumerate(lines) if _TEST_LOG.match(raw)]
    if positioned:
        i = positioned[-1]
        match = _TEST_LOG.match(lines[i])
        assert match is not None
        file = str(package_dir / match["file"]) if package_dir else match["file"]
        context = [ln.strip() for ln in lines[i + 1 : i + 1 + _CONTEXT_LINES]]
        return Finding(
            FindingKind.TEST,
            rel(file),
            int(match["line"]),
            match["message"],
            test_id=test_id,
            context="\n".join(context) or None,
        )
    message, context = _unlocated_failure(test, run, lines)
    file, line = _test_declaration(package_dir, test)
    return Finding(
        FindingKind.TEST,
        rel(file) if file else None,
        line,
        message,
        test_id=test_id,
        context="\n".join(context[:_CONTEXT_LINES]) or None,
    )


def _unlocated_failure(test: str, run: _TestRun, lines: list[str]) -> tuple[str, list[str]]:
    """The message of a failure that names no file:line: an example, or an early exit."""
    if test.startswith("Example") and lines[:1] == ["got:"]:
        return "output differs from the example's // Output: comment", lines
    if run.action == "exit":
        last = _LOG_TIME.sub("", lines[-1]).strip() if lines else ""
        return f"the test binary exited during this test: {last or 'no output'}", lines[-3:-1]
    return "failed", lines[-_CONTEXT_LINES:]


def _test_declaration(package_dir: Path | None, test: str) -> tuple[str | None, int | None]:
    """Where the top-level test function is declared in the package's test files."""
    if package_dir is None:
        return None, None
    name = test.split("/", 1)[0]
    for path in sorted(package_dir.glob("*_test.go")):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for number, raw in enumerate(text.splitlines(), start=1):
            match = _TEST_FUNC.match(raw)
            if match and match["name"] == name:
                return str(path), number
    return None, None


def _test_frame(lines: list[str], package_dir: Path | None) -> tuple[str | None, int | None]:
    """The deepest stack frame in the package's test files, else in the package at all."""
    frames = [m for m in map(_FRAME.match, lines) if m]
    if package_dir is not None:
        inside = [m for m in frames if Path(m["file"]).parent == package_dir]
        frames = [m for m in inside if m["file"].endswith("_test.go")] or inside
    if not frames:
        return None, None
    return frames[0]["file"], int(frames[0]["line"])


def _package_failure(package: str, output: list[str]) -> Finding:
    lines = [ln for ln in output if ln.strip() and not ln.startswith(("FAIL", "ok "))]
    return Finding(
        FindingKind.TEST,
        None,
        None,
        f"package {package} failed outside any test",
        test_id=package,
        context="\n".join(lines[-_CONTEXT_LINES:]) or None,
    )


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    """Every JSON object in `text`, whether one a line or pretty-printed back to back.

    Text between objects (progress lines, `# package` headers) is skipped.
    """
    decoder = json.JSONDecoder()
    pos = 0
    while (start := text.find("{", pos)) != -1:
        try:
            obj, pos = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            pos = start + 1
            continue
        if isinstance(obj, dict):
            yield obj
