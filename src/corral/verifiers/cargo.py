"""Rust (cargo): rustfmt, clippy (or a plain build), and cargo test, offline once fetched.

Compiler and clippy diagnostics come from `--message-format json`. Test results do not:
stable libtest has no machine-readable output, so its human report is read with regexes.
`verifiers.args.cargo` goes to `cargo test` (`--all-features`, `-- --test-threads=1`).

Choices:
- Only diagnostics at level `error` are findings. Clippy and rustc warnings fail nothing
  unless the project denies them (`[lints]`, `#![deny(...)]`), which turns them into errors:
  the project, not corral, decides what blocks.
- The target folder is in the repository's cache (`CARGO_TARGET_DIR`, one per checkout path),
  never in the checkout: nothing is left behind and a re-verify after an edit is
  incremental. Never shared between checkouts: cargo names a path package's artifacts
  without its location and judges them fresh by mtimes, so a second checkout whose files are
  older than the first one's build would be checked against the first one's code. The
  target folder of a checkout that no longer exists (a removed job or baseline worktree), or
  unused for a week, is removed when another one is made.
- The Cargo.lock cargo generates for a crate that commits none is kept per project folder of
  the repository, so a new checkout reuses it offline when it still fits the manifest.
- Without rustfmt (a minimal toolchain), formatting is skipped unless the project configures
  rustfmt (`rustfmt.toml`), in which case the missing tool is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
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
from corral.verifiers.ci_parity import Checks
from corral.verifiers.discovery import SKIPPED_DIRS
from corral.verifiers.tool_versions import pinned_rust_toolchain, rust_toolchain_installed

OFFLINE_ENV = {"CARGO_NET_OFFLINE": "true", "CARGO_TERM_COLOR": "never"}
RUSTFMT_CONFIGS = ("rustfmt.toml", ".rustfmt.toml")
_CONTEXT_LINES = 4
_ERROR_CODE = re.compile(r"E\d{4}")

# rustfmt --check: `Diff in /abs/src/lib.rs:3:` (older releases: `... at line 3:`).
_FMT_DIFF = re.compile(r"^Diff in (?P<file>.+?)(?::| at line )(?P<line>\d+):$")
# libtest's human report.
_TEST_FAILED = re.compile(r"^test (?P<name>.+?)(?: - should panic)? \.\.\. FAILED$")
_TEST_LINE = re.compile(
    r"^test (?P<name>.+?)(?: - should panic)? \.\.\. (?P<status>ok|FAILED|ignored)"
)
_LIBTEST_STATUS: dict[str, TestStatus] = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}
_SECTION = re.compile(r"^---- (?P<name>.+) stdout ----$")
_RESULT = re.compile(
    r"^test result: \w+\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored;"
)
_PANIC = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at (?P<file>.+?):(?P<line>\d+):\d+:$")
# A backtrace frame: `  4: sample::tests::indexes` (RUST_BACKTRACE=1), or with =full
# `  21:     0x5556... - shop::tests::sums::ha2312f464adf226b`.
_FRAME_FUNCTION = re.compile(
    r"^\s+\d+:\s+(?:0x[0-9a-f]+ - )?(?P<function>.+?)(?:::h[0-9a-f]{16})?$"
)
_FRAME_PLACE = re.compile(r"^\s+at (?P<file>.+?):(?P<line>\d+):\d+$")
# Rust 1.80+ names the test's own line: `note: test did not panic as expected at src/lib.rs:29:8`.
_NO_PANIC = re.compile(
    r"^note: (?P<message>test did not panic as expected)"
    r"(?: at (?P<file>.+?):(?P<line>\d+):\d+)?$"
)


class CargoVerifier(Verifier):
    name = "cargo"
    markers = BY_NAME["cargo"].markers
    # Every Cargo.toml is offered to detect(), which leaves out workspace members (their
    # workspace root builds them) and crates cargo would not build alone (builds_on_its_own).
    # A crate below a plain (non-workspace) crate is its own.
    nested = True

    def detect(self, directory: Path) -> bool:
        return super().detect(directory) and builds_on_its_own(directory)

    def prepare(self, ctx: ProjectContext) -> None:
        lock = ctx.project_dir / "Cargo.lock"
        had_lock = lock.is_file()
        if not had_lock and _reusestored_lock(ctx):
            return
        stamp = _fetch_stamp(ctx) if had_lock else None
        if stamp is not None and stamp.is_file():
            return  # this Cargo.lock and these manifests were fetched into the cache before
        result = run_tool(ctx, ["cargo", "fetch"], "cargo fetch", env=_toolchain_env(ctx))
        if stamp is not None and result.ok and _fetch_stamp(ctx) == stamp:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            write_inside(ctx.cache_dir, stamp, "")  # the cache is the sandbox's: no links
        if not had_lock and lock.is_file():
            _lock_marker(ctx).parent.mkdir(parents=True, exist_ok=True)
            _lock_marker(ctx).write_text(_digest(lock))
        if not result.ok:
            raise VerifierError(
                f"cargo fetch failed: {output_tail(result)}", file=ctx.rel("Cargo.toml")
            )

    def check(self, ctx: ProjectContext) -> CheckOutcome:
        # A crate that commits no Cargo.lock (libraries often do not) gets one from cargo. It
        # leaves the checkout after the check, kept in the cache for the next prepare: resolving
        # again would need the network on every verify.
        lock, marker = ctx.project_dir / "Cargo.lock", _lock_marker(ctx)
        generated = not lock.is_file() or (marker.is_file() and marker.read_text() == _digest(lock))
        try:
            return _check(ctx)
        finally:
            if generated:
                if lock.is_file():
                    stored_lock(ctx).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(lock, stored_lock(ctx))
                lock.unlink(missing_ok=True)
            marker.unlink(missing_ok=True)


def _reusestored_lock(ctx: ProjectContext) -> bool:
    """Put back the lock generated for this crate before, if everything it names is cached."""
    stored, lock = stored_lock(ctx), ctx.project_dir / "Cargo.lock"
    if not stored.is_file():
        return False
    shutil.copyfile(stored, lock)
    env = {**OFFLINE_ENV, **_toolchain_env(ctx)}
    if run_tool(ctx, ["cargo", "fetch", "--offline"], "cargo fetch", env=env).ok:
        _lock_marker(ctx).parent.mkdir(parents=True, exist_ok=True)
        _lock_marker(ctx).write_text(_digest(lock))
        return True
    lock.unlink(missing_ok=True)  # the manifest asks for more than is cached: resolve again
    return False


def _fetch_stamp(ctx: ProjectContext) -> Path:
    """Marks a committed Cargo.lock and the manifests beside it as fetched, inside CARGO_HOME
    (a cleaned cache forgets it): a `cargo fetch` on every verify cost a sandbox with the
    egress proxy and cargo's own resolution."""
    digest = hashlib.sha256()
    for folder, subdirs, files in os.walk(ctx.project_dir):
        subdirs[:] = sorted(
            d for d in subdirs if d not in SKIPPED_DIRS and d != "target" and not d.startswith(".")
        )
        for name in sorted({"Cargo.toml", "Cargo.lock"} & set(files)):
            path = Path(folder, name)
            rel = path.relative_to(ctx.project_dir).as_posix()
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    home = Path(cache_env(ctx.cache_dir)["CARGO_HOME"])
    return home / "corral-fetched" / digest.hexdigest()[:32]


def _project_key(ctx: ProjectContext) -> str:
    return hashlib.sha256(str(ctx.project_dir.resolve()).encode()).hexdigest()[:32]


def _folder_key(ctx: ProjectContext) -> str:
    """The project's folder in its repository: the same in every checkout of it."""
    return hashlib.sha256(ctx.rel(ctx.project_dir).encode()).hexdigest()[:32]


TARGET_OWNER = "corral-checkout"
"""In a target folder: the checkout it builds."""


def target_dir(ctx: ProjectContext) -> Path:
    target = ctx.cache_dir / "cargo-target" / _project_key(ctx)
    if target.is_symlink():  # the cache is the sandbox's to write: never follow its links
        target.unlink()
    if not (target / TARGET_OWNER).is_file():
        _prune_targets(target.parent)
        target.mkdir(parents=True, exist_ok=True)
    write_inside(target, target / TARGET_OWNER, str(ctx.project_dir.resolve()))
    return target


def _prune_targets(root: Path) -> None:
    cutoff = time.time() - 7 * 24 * 3600
    for target in root.iterdir() if root.is_dir() else ():
        owner = target / TARGET_OWNER
        try:
            gone = not Path(owner.read_text()).is_dir() or owner.stat().st_mtime < cutoff
        except OSError:  # no owner yet: one being made right now, or an abandoned one
            gone = target.lstat().st_mtime < time.time() - 3600
        if gone and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)


def _lock_marker(ctx: ProjectContext) -> Path:
    """Records (outside the checkout) the Cargo.lock that prepare had cargo generate."""
    return ctx.cache_dir / "cargo-generated-locks" / _project_key(ctx)


def stored_lock(ctx: ProjectContext) -> Path:
    """The generated Cargo.lock of a crate that commits none, between verifies and checkouts."""
    return ctx.cache_dir / "cargo-generated-locks" / f"{_folder_key(ctx)}.lock"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(ctx: ProjectContext) -> CheckOutcome:
    checks = Checks(ctx, "cargo")
    findings: list[Finding] = []
    unexplained: list[str] = []
    stages: dict[str, StageReport] = {}
    notes = _missing_toolchain_notes(ctx)
    fmt_runs = not notes and checks.run("fmt", r"\bcargo fmt\b|\brustfmt\b", convention=True)
    # rustfmt reads the sources only: beside the builds, which wait for each other anyway
    # (one lock on the target folder). Results read in the order the checks always ran.
    with SideBySide() as side:
        formatted = side.start(lambda: _rustfmt(ctx)) if fmt_runs else None
        built = side.start(lambda: _build_and_test(ctx, checks, lints=not notes))
        if formatted is not None:
            findings, unexplained = formatted.result()
            stages["format"] = RAN
        build_findings, linted, test = built.result()
    findings += build_findings
    if linted:
        stages["lint"] = RAN
    # Without a build of its own, `cargo test` builds the same targets and reports their
    # errors: the build stage runs there.
    stages["build"] = RAN
    test_build = parse_compiler_messages(test.stdout, ctx.rel)
    report = parse_libtest(_text_lines(test.stdout), ctx.rel)
    if not test.ok and not test_build and not report.findings:
        unexplained.append(f"cargo test failed: {output_tail(test)}")
    if not any(f.kind == FindingKind.COMPILE for f in test_build):
        findings += [Finding(FindingKind.ERROR, None, None, m) for m in unexplained]
    findings += [*test_build, *report.findings]
    stages["test"] = _test_stage(test, test_build, report)
    return CheckOutcome(
        unique_findings(findings),
        tests=report.counts,
        sources=checks.sources,
        notes=notes,
        stages=stages,
    )


def _build_and_test(
    ctx: ProjectContext, checks: Checks, *, lints: bool
) -> tuple[list[Finding], bool, CommandResult]:
    """clippy or a build where one runs (its findings, whether clippy ran), then cargo test."""
    build = _build(ctx, checks, lints=lints)
    diagnostics: list[Finding] = []
    if build is not None:
        diagnostics = parse_compiler_messages(build.stdout, ctx.rel)
        if not build.ok and not diagnostics:
            raise VerifierError(f"{build.argv[1]} failed: {output_tail(build)}")
    # Run even when the build above failed: `--all-targets` builds benches and examples the
    # tests do not need (a bench that needs nightly), and an excused failure there must not
    # keep the tests from running. Errors the two builds share are reported once.
    test = _cargo(
        ctx,
        ["test", "--workspace", "--no-fail-fast", *ctx.extra_args],
        "cargo test",
        # Full backtraces print absolute paths; short ones print them relative to the
        # test binary's package, which in a workspace is not the project folder.
        env={"RUST_BACKTRACE": "full"},
    )
    linted = build is not None and build.argv[1] == "clippy"
    return diagnostics, linted, test


def _missing_toolchain_notes(ctx: ProjectContext) -> list[str]:
    """Why clippy and rustfmt are not run: the project pins a toolchain that is not here."""
    channel = pinned_rust_toolchain(ctx.project_dir)
    if channel is None or rust_toolchain_installed(ctx, channel):
        return []
    return [
        f"rust-toolchain pins {channel}, which is not installed: built and tested with the "
        "default toolchain; its clippy and rustfmt were not run"
    ]


def _toolchain_env(ctx: ProjectContext) -> dict[str, str]:
    """Without the pinned toolchain, the default one (rustup would try to download it)."""
    channel = pinned_rust_toolchain(ctx.project_dir)
    if channel is None or rust_toolchain_installed(ctx, channel):
        return {}
    return {"RUSTUP_TOOLCHAIN": "stable"}


def _test_stage(test: CommandResult, test_build: list[Finding], report: TestReport) -> StageReport:
    """Whether every test binary was built and ran: a failed test build runs none."""
    errors = [f for f in test_build if f.kind == FindingKind.COMPILE]
    if errors:
        first = errors[0]
        where = f"{first.file}:{first.line}: " if first.file else ""
        return StageReport(StageStatus.NOT_RUN, f"the tests did not build ({where}{first.message})")
    if not test.ok and not report.findings:
        return StageReport(StageStatus.STOPPED, f"cargo test failed: {output_tail(test, 1)}")
    return RAN


def _cargo(
    ctx: ProjectContext, args: list[str], what: str, env: dict[str, str] | None = None
) -> CommandResult:
    """cargo with the offline flag; structured messages for the commands that take them."""
    argv = ["cargo", args[0], "--offline", "--message-format", "json", *args[1:]]
    target = {"CARGO_TARGET_DIR": str(target_dir(ctx))}
    return run_tool(
        ctx, argv, what, env={**OFFLINE_ENV, **_toolchain_env(ctx), **target, **(env or {})}
    )


def _has_subcommand(ctx: ProjectContext, subcommand: str) -> bool:
    """Whether `cargo <subcommand>` (fmt, clippy: rustup components) is installed."""
    return run_tool(ctx, ["cargo", subcommand, "--version"], f"cargo {subcommand}").ok


def _rustfmt(ctx: ProjectContext) -> tuple[list[Finding], list[str]]:
    """Format findings, and the failure to explain if nothing else does (a syntax error)."""
    result = run_tool(
        ctx,
        ["cargo", "fmt", "--all", "--check", "--", "--color", "never"],
        "cargo fmt",
        env=OFFLINE_ENV,
    )
    findings = parse_rustfmt_check(result.stdout, ctx.rel)
    if result.ok or findings:
        return findings, []
    # Asked only on failure, so a check with rustfmt installed costs no extra process.
    if _has_subcommand(ctx, "fmt"):
        return [], [f"cargo fmt failed: {output_tail(result)}"]
    config = next((n for n in RUSTFMT_CONFIGS if (ctx.project_dir / n).is_file()), None)
    if config is None:
        return [], []  # a minimal toolchain, and a project that asks for no formatting
    message = f"{config} asks for rustfmt, but `cargo fmt` is not installed"
    return [Finding(FindingKind.ERROR, ctx.rel(config), None, message)], []


def _build(ctx: ProjectContext, checks: Checks, *, lints: bool = True) -> CommandResult | None:
    """clippy where the project's CI runs it, else (or where it is not installed) a build;
    None when that build would be `cargo test`'s own (its lib, bins, tests and examples).

    Benches are built only where CI builds them on the default toolchain: many need nightly.
    """
    benches = checks.run("benches", r"--all-targets|--benches|\bcargo bench\b", convention=True)
    targets = ["--all-targets"] if benches else ["--tests", "--examples"]
    if lints and checks.run("clippy", r"\bclippy\b", convention=True):
        command = checks.command(r"\bcargo clippy\b")
        denied = command.text.partition(" -- ")[2].split() if command else []
        argv = ["clippy", "--workspace", *targets, *(["--", *denied] if denied else [])]
        clippy = _cargo(ctx, argv, "cargo clippy")
        ran = next(cargo_messages(clippy.stdout), None) is not None  # even a failed build
        if clippy.ok or ran or _has_subcommand(ctx, "clippy"):
            return clippy
    if not benches and not _selects_targets(ctx.extra_args):
        return None  # `cargo test` builds these targets (examples too) and reports their errors
    return _cargo(ctx, ["build", "--workspace", *targets], "cargo build")


_TARGET_FLAGS = (
    "--lib",
    "--bin",
    "--bins",
    "--test",
    "--tests",
    "--example",
    "--examples",
    "--bench",
    "--benches",
    "--all-targets",
    "--doc",
    "-p",
    "--package",
    "--exclude",
)


def _selects_targets(args: tuple[str, ...]) -> bool:
    """Whether `verifiers.args.cargo` narrows what `cargo test` builds (then the build the
    tests would have done for the other targets still runs on its own)."""
    before = args[: args.index("--")] if "--" in args else args
    return any(a.split("=", 1)[0] in _TARGET_FLAGS for a in before)


def parse_rustfmt_check(text: str, rel: Rel) -> list[Finding]:
    """One format finding per file in `cargo fmt --check` output, at its first changed line."""
    findings: list[Finding] = []
    lines = text.splitlines()
    for i, raw in enumerate(lines):
        match = _FMT_DIFF.match(raw)
        if not match:
            continue
        file = rel(match["file"])
        if any(f.file == file for f in findings):
            continue
        rest = lines[i + 1 :]
        hunk = rest[: next((j for j, ln in enumerate(rest) if not _in_hunk(ln)), len(rest))]
        leading_context = next((j for j, ln in enumerate(hunk) if ln[:1] in "-+"), 0)
        changes = [ln for ln in hunk if ln[:1] in "-+"]
        findings.append(
            Finding(
                FindingKind.FORMAT,
                file,
                int(match["line"]) + leading_context,
                "not rustfmt-formatted (run cargo fmt)",
                context="\n".join(changes[:_CONTEXT_LINES]) or None,
            )
        )
    return findings


def _in_hunk(line: str) -> bool:
    return line[:1] in (" ", "-", "+") and not _FMT_DIFF.match(line)


def cargo_messages(text: str) -> Iterator[dict[str, Any]]:
    """The JSON messages cargo prints one a line (`reason`: compiler-message, ...)."""
    for raw in text.splitlines():
        if raw.startswith("{"):
            try:
                message = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(message, dict) and "reason" in message:
                yield message


def _text_lines(text: str) -> list[str]:
    """What is left of stdout once cargo's JSON messages are taken out: libtest's report."""
    return [raw for raw in text.splitlines() if not raw.startswith('{"reason":')]


def parse_compiler_messages(text: str, rel: Rel) -> list[Finding]:
    """Errors from rustc and clippy (`--message-format json`); denied lints are `lint`."""
    findings = []
    for message in cargo_messages(text):
        if message["reason"] != "compiler-message":
            continue
        diagnostic = message["message"]
        if not str(diagnostic.get("level", "")).startswith("error"):
            continue
        findings.append(_diagnostic_finding(diagnostic, rel))
    return unique_findings(findings)  # a crate's lib and its test build report the same error


def _diagnostic_finding(diagnostic: dict[str, Any], rel: Rel) -> Finding:
    code = (diagnostic.get("code") or {}).get("code") or ""
    is_lint = bool(code) and not _ERROR_CODE.fullmatch(code)
    span = next((s for s in diagnostic.get("spans", []) if s.get("is_primary")), None)
    context = [span["label"]] if span and span.get("label") else []
    context += [c["message"] for c in diagnostic.get("children", []) if c.get("spans")]
    return Finding(
        FindingKind.LINT if is_lint else FindingKind.COMPILE,
        rel(span["file_name"]) if span else None,
        span["line_start"] if span else None,
        f"{diagnostic['message']} ({code})" if is_lint else diagnostic["message"],
        context="\n".join(context[:_CONTEXT_LINES]) or None,
    )


@dataclass
class TestReport:
    __test__ = False  # not a pytest class

    findings: list[Finding] = field(default_factory=list)
    counts: TestCounts = field(default_factory=TestCounts)


def parse_libtest(lines: list[str], rel: Rel) -> TestReport:
    """Failing tests and counts from libtest's human report (every test binary, doc tests too)."""
    report = TestReport()
    failed: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in lines:
        if (result := _RESULT.match(raw)) is not None:
            passed, failures = int(result["passed"]), int(result["failed"])
            ignored = int(result["ignored"])
            report.counts = report.counts.add(TestCounts(passed + failures, failures, ignored))
        elif (test := _TEST_FAILED.match(raw)) is not None:
            failed.append(test["name"])
        if (line := _TEST_LINE.match(raw)) is not None:
            report.counts.cases[line["name"]] = _LIBTEST_STATUS[line["status"]]
        if (section := _SECTION.match(raw)) is not None:
            current = sections.setdefault(section["name"], [])
        elif raw == "failures:" or _RESULT.match(raw):
            current = None
        elif current is not None:
            current.append(raw)
    report.findings = [_test_finding(name, sections.get(name, []), rel) for name in failed]
    return report


def _test_finding(name: str, section: list[str], rel: Rel) -> Finding:
    panic_at = next((i for i, ln in enumerate(section) if _PANIC.match(ln)), None)
    if panic_at is None:
        lines = [ln for ln in section if ln.strip()]
        no_panic = next(filter(None, map(_NO_PANIC.match, lines)), None)
        if no_panic is not None:
            line = int(no_panic["line"]) if no_panic["line"] else None
            file = rel(no_panic["file"]) if no_panic["file"] else None
            return Finding(FindingKind.TEST, file, line, no_panic["message"], test_id=name)
        return Finding(
            FindingKind.TEST,
            None,
            None,
            lines[0] if lines else "failed",
            test_id=name,
            context="\n".join(lines[1 : 1 + _CONTEXT_LINES]) or None,
        )
    panic = _PANIC.match(section[panic_at])
    assert panic is not None
    message: list[str] = []
    for raw in section[panic_at + 1 :]:
        if not raw.strip() or raw.startswith(("stack backtrace:", "note: ")):
            break
        message.append(raw)
    file, line = _test_frame(name, section) or (panic["file"], int(panic["line"]))
    return Finding(
        FindingKind.TEST,
        rel(file),
        line,
        message[0] if message else "panicked",
        test_id=name,
        context="\n".join(m.strip() for m in message[1 : 1 + _CONTEXT_LINES]) or None,
    )


def _test_frame(name: str, section: list[str]) -> tuple[str, int] | None:
    """Where the test's own function was in the backtrace: the line in the test source.

    The panic location alone may be inside the code under test (an index out of bounds).
    """
    for i, raw in enumerate(section[:-1]):
        function = _FRAME_FUNCTION.match(raw)
        place = _FRAME_PLACE.match(section[i + 1])
        if function and place and function["function"].endswith(f"::{name}"):
            return place["file"].removeprefix("./"), int(place["line"])
    return None


def builds_on_its_own(directory: Path) -> bool:
    """Whether cargo builds the crate in `directory` by itself, as its own project.

    Yes for a workspace root, a crate in no workspace, and one its workspace excludes. No for
    a workspace member (its root builds it), nor for a crate below a workspace that neither
    lists nor excludes it: cargo refuses to build that one alone (test fixtures, templates).
    """
    manifest = _manifest(directory)
    if manifest is None or "workspace" in manifest:
        return True  # unreadable (cargo will say why), or a workspace root itself
    if isinstance(manifest.get("package", {}).get("workspace"), str):
        return False
    for parent in directory.parents:
        root = _manifest(parent)
        if root is not None and "workspace" in root:
            return _excluded(root["workspace"], directory.relative_to(parent))
    return True


def _excluded(workspace: dict[str, Any], rel: Path) -> bool:
    """cargo's `exclude`: paths below the root, each excluding everything beneath it."""
    excludes = [
        PurePosixPath(e.strip("/").removeprefix("./")) for e in workspace.get("exclude", [])
    ]
    return any(PurePosixPath(rel.as_posix()).is_relative_to(e) for e in excludes)


def _manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / "Cargo.toml"
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
