"""Go (build, vet, test, gofmt) and Rust (rustc, clippy, libtest, rustfmt) console output."""

from __future__ import annotations

import re

from corral.ci.logtext import LogText
from corral.ci.paths import is_outside
from corral.verifiers.base import Finding, FindingKind, Rel
from corral.verifiers.cargo import parse_libtest, parse_rustfmt_check
from corral.verifiers.go import parse_compile_lines, parse_gofmt_diff
from corral.verifiers.patterns import GO_TEST_LOG

_MAX_MESSAGE = 300
_CONTEXT_LINES = 3
# `=== RUN   TestX`, `--- FAIL: TestX (0.00s)`, gotestsum's `=== FAIL: pkg TestX (0.00s)`.
_GO_EVENT = re.compile(
    r"^\s*(?:=== (?P<state>RUN|CONT|NAME|PAUSE)\s+|--- (?P<action>FAIL|PASS|SKIP): "
    r"|=== (?P<gotestsum>FAIL): \S+ )(?P<test>\S+)"
)
_GO_PACKAGE_RESULT = re.compile(r"^(?:FAIL|ok|---)\s+(?P<package>[\w.~/-]+\.?[\w/.-]*)\s")
_GO_PANIC_FRAME = re.compile(r"^\t(?P<file>\S+?\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$")
_GO_BUILD_OR_VET = re.compile(r"^(?:vet: )?(?:\./)?[^\s:][^:]*\.go:\d+(?::\d+)?: ")
# Import-path prefixes of hosted repositories: `github.com/org/repo/pkg/x` -> `pkg/x`.
_HOSTED_MODULE = re.compile(
    r"^(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)/[^/]+/[^/]+(?:/v\d+)?/?"
    r"|^(?:golang\.org/x|k8s\.io|sigs\.k8s\.io|go\.etcd\.io|gopkg\.in)/[^/]+/?"
)

_RUSTC = re.compile(r"^error(?:\[(?P<code>[\w:]+)\])?: (?P<message>.+)$")
_RUST_ARROW = re.compile(r"^\s*--> (?P<file>.+?):(?P<line>\d+):\d+$")
_RUSTC_NOISE = re.compile(
    r"^(?:aborting due to|could not compile|Could not compile|build failed|test failed|"
    r"could not document|\d+ previous errors?|linking with)"
)
# Rust before 1.73: `thread 'x' panicked at 'message', src/lib.rs:4:5`, rewritten to today's
# two-line form that the verifier's libtest parser reads.
_OLD_PANIC = re.compile(
    r"^(?P<head>thread '[^']*') panicked at '(?P<message>.*)', (?P<where>\S+:\d+:\d+)$"
)


def go_build(log: LogText, rel: Rel) -> list[Finding]:
    """Compiler and vet errors, `file.go:line:col: message`; gofmt's diff."""
    lines: list[str] = []
    for line in log.lines:
        if _GO_BUILD_OR_VET.match(line) or (
            lines and line[:1] == "\t" and _GO_BUILD_OR_VET.match(lines[-1])
        ):
            lines.append(line)
    findings = parse_compile_lines([line.removeprefix("./") for line in lines], rel)
    gofmt = [f for f in parse_gofmt_diff(log.text, rel) if (f.file or "").endswith(".go")]
    return [*findings, *gofmt]


def go_test(log: LogText, rel: Rel) -> list[Finding]:
    """Failed tests with their `file_test.go:12: message` lines, before (`-v`) or after the
    `--- FAIL: TestX` line; each package's `FAIL\tpkg` names the folder. Panics' frames too."""
    findings: list[Finding] = []
    output: dict[str, list[str]] = {}
    failed: list[str] = []
    current: str | None = None
    for line in log.lines:
        if (event := _GO_EVENT.match(line)) is not None:
            current = event["test"]
            if event["action"] == "FAIL" or event["gotestsum"]:
                failed.append(current)
            elif event["action"] in ("PASS", "SKIP"):
                current = None
            continue
        result = _GO_PACKAGE_RESULT.match(line)
        if result and line.startswith(("FAIL", "ok")):
            findings += _go_failures(failed, output, result["package"], rel)
            failed, output, current = [], {}, None
        elif current is not None and line[:1] in (" ", "\t"):
            output.setdefault(current, []).append(line)
    findings += _go_failures(failed, output, "", rel)
    return [*findings, *_go_panics(log, rel)]


def _go_failures(
    failed: list[str], output: dict[str, list[str]], package: str, rel: Rel
) -> list[Finding]:
    findings = []
    for test in dict.fromkeys(failed):
        body = output.get(test, [])
        logs = [m for m in map(GO_TEST_LOG.match, body) if m]
        if not logs:
            continue  # a parent test whose subtests failed: they carry the lines
        where = logs[-1]
        folder = _HOSTED_MODULE.sub("", package).strip("/")
        file = where["file"] if "/" in where["file"] or not folder else f"{folder}/{where['file']}"
        findings.append(
            Finding(
                FindingKind.TEST,
                rel(file),
                int(where["line"]),
                where["message"].strip()[:_MAX_MESSAGE] or "failed",
                test_id=f"{package}.{test}" if package else test,
                context=_go_context(body, where.string),
            )
        )
    return findings


def _go_context(body: list[str], failure_line: str) -> str | None:
    """The lines a failure printed below its `file_test.go:12:` line (t.Errorf's details)."""
    after = body[body.index(failure_line) + 1 :] if failure_line in body else []
    lines = [line.strip() for line in after if line.strip()]
    return "\n".join(lines[:_CONTEXT_LINES]) or None


def _go_panics(log: LogText, rel: Rel) -> list[Finding]:
    findings = []
    lines = log.lines
    for i, line in enumerate(lines):
        if not line.startswith("panic: ") or line.endswith("[recovered]"):
            continue
        frames = [m for m in map(_GO_PANIC_FRAME.match, lines[i + 1 : i + 80]) if m]
        own = [(rel(m["file"]), int(m["line"])) for m in frames]
        own = [f for f in own if not is_outside(f[0]) and not f[0].startswith("runtime/")]
        tests = [f for f in own if f[0].endswith("_test.go")]
        where = (tests or own)[:1]
        if where:
            findings.append(
                Finding(FindingKind.TEST, where[0][0], where[0][1], line[:_MAX_MESSAGE])
            )
    return findings


def rustc(log: LogText, rel: Rel) -> list[Finding]:
    """rustc's and clippy's errors: `error[E0425]: message` then ` --> src/main.rs:4:13`."""
    findings = []
    lines = log.lines
    for i, line in enumerate(lines):
        match = _RUSTC.match(line)
        if match is None or _RUSTC_NOISE.match(match["message"]):
            continue
        arrow = next(
            (a for a in map(_RUST_ARROW.match, lines[i + 1 : i + 4]) if a is not None), None
        )
        if arrow is None:
            continue
        code = match["code"] or ""
        lint = bool(code) and not re.fullmatch(r"E\d{4}", code)
        kind = FindingKind.LINT if lint else FindingKind.COMPILE
        message = f"{match['message']} ({code})" if code else match["message"]
        findings.append(Finding(kind, rel(arrow["file"]), int(arrow["line"]), message))
    return [*findings, *parse_rustfmt_check(log.text, rel)]


def libtest(log: LogText, rel: Rel) -> list[Finding]:
    """libtest's failing tests (every test binary, doc tests too), old panic format included."""
    lines: list[str] = []
    for line in log.lines:
        old = _OLD_PANIC.match(line)
        if old:
            lines += [f"{old['head']} panicked at {old['where']}:", old["message"]]
        else:
            lines.append(line)
    return [
        f for f in parse_libtest(lines, rel).findings if f.file is None or not is_outside(f.file)
    ]
