"""corral verify on real open-source projects: untouched, then with faults injected at known lines.

The bench keeps only the list below (name, source, commit): the code is never in this
repository. Bring each project onto the machine first (a bare git mirror per project, e.g.
what the session's `fetch` tool leaves under /work/.mirror/<owner>+<name>/repo), then run:

    python bench/real_world.py --mirrors /work/.mirror --work /work/scratch/real-world
    python bench/real_world.py --ecosystem go --only google+uuid     # a subset

For each project the bench clones the mirror into <work>/<name> at the listed commit, runs
`corral verify --json` untouched, then once per fault it injects in the working tree
(a failing assertion in a test, a type or syntax error in source, a lint or format
violation where the project's CI checks one), both plain and with `--baseline HEAD`, and
finally the project's own CI command run by hand in a second clone (<work>/<name>.ci, set
up untimed, the check timed). It prints, per ecosystem: the untouched pass rate, the
file:line hit rate, the largest message, false greens (plain and --baseline), whether the
tracked files were left as they were, and corral's time against the CI command's.

A project whose mirror is absent is skipped with one line saying so. Nothing is written
outside --work and corral's cache folder.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MARK = "corral-injected"
ROOT = Path(__file__).resolve().parent.parent
CORRAL = [sys.executable, "-m", "corral"]


@dataclass(frozen=True)
class Repo:
    name: str
    """<owner>+<name>, the mirror's folder name."""
    ecosystem: str
    commit: str
    test_file: str
    src_file: str
    lint: str | None
    """The lint/format fault the project's CI would catch, or None when its CI checks none
    (a rule it only warns about is not one: eslint exits 0 on warnings)."""
    setup: str
    """Untimed: what CI does before its checks (installing dependencies)."""
    ci: str
    """Timed: the project's CI checks, as its workflow runs them on the default toolchain."""

    @property
    def source(self) -> str:
        return "github:" + self.name.replace("+", "/", 1)


_PY_SETUP = "python3 -m venv .ci && .ci/bin/pip install -q -e '.{extras}' pytest {tools}"
_PNPM = "corepack pnpm"

REPOS: list[Repo] = [
    # --- Python -----------------------------------------------------------------------
    Repo(
        "pallets+itsdangerous",
        "python",
        "672971d66a2ef9f85151e53283113f33d642dabd",
        "tests/test_itsdangerous/test_signer.py",
        "src/itsdangerous/encoding.py",
        "ruff",
        _PY_SETUP.format(extras="", tools="freezegun ruff==0.11.11"),
        ".ci/bin/ruff check . && .ci/bin/pytest -q -p no:cacheprovider",
    ),
    Repo(
        "python-humanize+humanize",
        "python",
        "c3a124cdeb272d7f63bc0aa66f79c6fbafd2fc6d",
        "tests/test_lists.py",
        "src/humanize/lists.py",
        "ruff",
        _PY_SETUP.format(extras="[tests]", tools="ruff==0.15.20"),
        ".ci/bin/ruff check . && .ci/bin/pytest -q -p no:cacheprovider",
    ),
    Repo(
        "tkem+cachetools",
        "python",
        "28d4506f2a49d781ffbcecb095fa7aba5bb80aff",
        "tests/test_keys.py",
        "src/cachetools/keys.py",
        None,
        _PY_SETUP.format(extras="", tools=""),
        ".ci/bin/pytest -q -p no:cacheprovider",
    ),
    Repo(
        "hukkin+tomli",
        "python",
        "920e20b1cf495b63f6d4a6aa3cd5e4ff25f5f5a7",
        "tests/test_misc.py",
        "src/tomli/_re.py",
        None,
        _PY_SETUP.format(extras="", tools=""),
        ".ci/bin/python -m unittest -q",
    ),
    Repo(
        "jazzband+prettytable",
        "python",
        "190af197c7b3f1c12e9bb266093610d559229ec3",
        "tests/test_colortable.py",
        "src/prettytable/colortable.py",
        "ruff",
        _PY_SETUP.format(extras="[tests]", tools="ruff==0.6.9"),
        ".ci/bin/ruff check . && .ci/bin/pytest -q -p no:cacheprovider",
    ),
    # --- Go ---------------------------------------------------------------------------
    Repo(
        "google+uuid",
        "go",
        "2d3c2a9cc518326daf99a383f07c4d3c44317e4d",
        "uuid_test.go",
        "hash.go",
        None,
        "go mod download",
        "go test ./...",
    ),
    Repo(
        "google+go-cmp",
        "go",
        "b133f1f1932e48f466f597a3346ce6f5a49a0dc1",
        "cmp/options_test.go",
        "cmp/path.go",
        "gofmt",
        "go mod download",
        'test -z "$(gofmt -d .)" && go test ./...',
    ),
    Repo(
        "cespare+xxhash",
        "go",
        "ab37246c889f9db16b606fda1c232d659df9271d",
        "xxhash_test.go",
        "xxhash.go",
        None,
        "go mod download",
        "go test -count 1 -bench . -benchtime 1x ./...",
    ),
    Repo(
        "fatih+color",
        "go",
        "53d4ce9d5df3891799a447e772308c76e70bad50",
        "color_test.go",
        "color.go",
        None,
        "go mod download",
        "go vet ./... && go build ./... && go test ./...",
    ),
    Repo(
        "spf13+cast",
        "go",
        "715c728a3579ae1de12628b259f1198f214e9ccb",
        "alias_test.go",
        "alias.go",
        None,
        "go mod download",
        "go test ./...",
    ),
    # --- Cargo ------------------------------------------------------------------------
    Repo(
        "dtolnay+itoa",
        "cargo",
        "1577ed901354d0d7448ac162328f9dbf5183124c",
        "tests/test.rs",
        "src/lib.rs",
        None,
        "cargo fetch",
        "cargo build && cargo test",
    ),
    Repo(
        "dtolnay+semver",
        "cargo",
        "8591f2344b52b31d85b538de58b76a676fe9ff90",
        "tests/test_version.rs",
        "src/display.rs",
        None,
        "cargo fetch",
        "cargo test",
    ),
    Repo(
        "dtolnay+ryu",
        "cargo",
        "3131fd6b2405a1fa921797b00b5a4fba4fa0ef87",
        "tests/d2s_test.rs",
        "src/common.rs",
        None,
        "cargo fetch",
        "cargo build && cargo test",
    ),
    Repo(
        "bitflags+bitflags",
        "cargo",
        "c3f8d31d59f3ba8c05833fb322ecab8a2cb88060",
        "src/tests/all.rs",
        "src/traits.rs",
        None,
        "cargo fetch",
        "cargo test --features serde,arbitrary,bytemuck",
    ),
    # --- Maven ------------------------------------------------------------------------
    Repo(
        "stleary+JSON-java",
        "maven",
        "1795e8cf26229229e7ab6fe4aeab0f51ffecda5a",
        "src/test/java/org/json/junit/CookieTest.java",
        "src/main/java/org/json/Cookie.java",
        None,
        "mvn -B -q dependency:go-offline || true",
        "mvn -B -q test",
    ),
    Repo(
        "FasterXML+java-classmate",
        "maven",
        "741f63d36dad585901f58835186f633b848ca8c7",
        "src/test/java/com/fasterxml/classmate/AnnotationsTest.java",
        "src/main/java/com/fasterxml/classmate/Annotations.java",
        None,
        "./mvnw -B -q dependency:go-offline || true",
        "./mvnw -B -q test",
    ),
    Repo(
        "FasterXML+jackson-annotations",
        "maven",
        "56ea9a97dc1af4119c51a15dfb6a0826935cc279",
        "src/test/java/com/fasterxml/jackson/annotation/FormatTest.java",
        "src/main/java/com/fasterxml/jackson/annotation/JsonFormat.java",
        None,
        "./mvnw -B -q dependency:go-offline || true",
        "./mvnw -B -q verify",
    ),
    Repo(
        "apache+commons-cli",
        "maven",
        "0a68ae0e826bb08eb59bda9bae7ec5d84008b62a",
        "src/test/java/org/apache/commons/cli/OptionTest.java",
        "src/main/java/org/apache/commons/cli/Option.java",
        None,
        "mvn -B -q dependency:go-offline || true",
        "mvn -B -q test",
    ),
    # --- npm --------------------------------------------------------------------------
    Repo(
        "sindresorhus+camelcase",
        "npm",
        "8596a65fcbfedd474cdedf16f48b7d9381eb7953",
        "test.js",
        "index.js",
        "eslint",
        "npm install --no-audit --no-fund -s",
        "npm test",
    ),
    Repo(
        "lukeed+dequal",
        "npm",
        "37c21f675c1f538f2d4b63ebf19a161411e7a5fd",
        "test/index.js",
        "src/index.js",
        None,
        "npm install --no-audit --no-fund -s",
        "npm test",
    ),
    Repo(
        "lukeed+clsx",
        "npm",
        "684509c3860a71e9e301b8c33f67e98ad5990c62",
        "test/index.js",
        "src/index.js",
        None,
        "npm install --no-audit --no-fund -s",
        "npm run build && npm test",
    ),
    Repo(
        "developit+mitt",
        "npm",
        "6b41670516ed8e8b738612f60491995470aa63b3",
        "test/index_test.ts",
        "src/index.ts",
        "eslint",
        "npm install --no-audit --no-fund -s",
        "npm run build --if-present && npm test",
    ),
    Repo(
        "jonschlinkert+is-number",
        "npm",
        "98e8ff1da1a89f93d1397a24d7413ed15421c139",
        "test.js",
        "index.js",
        None,
        "npm install --no-audit --no-fund -s",
        "npm test",
    ),
    # --- pnpm -------------------------------------------------------------------------
    Repo(
        "ai+nanoid",
        "pnpm",
        "07a39d62d84c21af5046fe6b2ef7b3e36ee557db",
        "test/index.test.js",
        "index.js",
        None,
        f"{_PNPM} install --ignore-scripts",
        f"{_PNPM} test",
    ),
    Repo(
        "unjs+defu",
        "pnpm",
        "80c0146afb11ebd86183a579ec469f3abd976695",
        "test/utils.test.ts",
        "src/_utils.ts",
        None,
        f"{_PNPM} install",
        f"{_PNPM} lint && {_PNPM} vitest run",
    ),
    Repo(
        "unjs+destr",
        "pnpm",
        "541b6f9aeada9fc30de9c5a7e086dbfc1c6fcdc7",
        "test/index.test.ts",
        "src/index.ts",
        "prettier",
        f"{_PNPM} install",
        f"{_PNPM} lint && {_PNPM} vitest run",
    ),
    Repo(
        "unjs+pathe",
        "pnpm",
        "2a558aee716f6820a199cdf5b075ef4aafb69399",
        "test/utils.spec.ts",
        "src/utils.ts",
        "prettier",
        f"{_PNPM} install",
        f"{_PNPM} lint && {_PNPM} vitest run",
    ),
]
# Gradle: no Gradle distribution can be downloaded on this machine (services.gradle.org is
# out of reach), so no Gradle project is in the list.


# --- faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    kind: str
    """test, compile, lint."""
    file: str
    line: int
    """1-based line of the injected text in the faulted file."""


_TEST_START = {
    "python": re.compile(r"^(?P<indent>\s*)def test\w*\("),
    "go": re.compile(r"^func Test\w+\(t \*testing\.T\) \{$"),
    "cargo": re.compile(r"^(?P<indent>\s*)fn \w+\(\) \{$"),
    "maven": re.compile(
        r"^(?P<indent>\s*)(public )?void test\w*\(\)( throws [\w, .]+)? \{$"
        r"|^(?P<indent2>\s*)@Test"
    ),
}
_JS_TEST = re.compile(r"^(?P<indent>\s*)(?:test|it)(?:\.\w+)?\(.*(?:=>|function\s*\(\w*\))\s*\{$")
# uvu's named suites: `Foo('name', () => {`
_JS_SUITE_TEST = re.compile(r"^\s*[A-Z]\w*\(\s*['\"`].*(?:=>|function\s*\(\w*\))\s*\{$")


def inject(repo: Repo, checkout: Path, kind: str) -> Fault | None:
    """Edit the working tree; return where the fault is, or None when it does not apply."""
    if kind == "test":
        return _inject_test(repo, checkout)
    if kind == "compile":
        return _inject_compile(repo, checkout)
    return _inject_lint(repo, checkout) if repo.lint else None


def _lines(checkout: Path, file: str) -> list[str]:
    return (checkout / file).read_text().splitlines(keepends=True)


def _write(checkout: Path, file: str, lines: list[str]) -> None:
    (checkout / file).write_text("".join(lines))


def _inject_test(repo: Repo, checkout: Path) -> Fault:
    lines = _lines(checkout, repo.test_file)
    eco = "npm" if repo.ecosystem == "pnpm" else repo.ecosystem
    at = _body_start(eco, lines)
    indent = re.match(r"\s*", lines[at] if at < len(lines) else "")[0]  # type: ignore[index]
    statement = {
        "python": f'assert 1 == 2, "{MARK}"',
        "go": f't.Fatal("{MARK}")',
        "cargo": f'assert_eq!(1, 2, "{MARK}");',
        "maven": f'if (System.nanoTime() > 0) throw new AssertionError("{MARK}");',
        "npm": f'if (Date.now() > 0) throw new Error("{MARK}");',
    }[eco]
    if not indent.strip("\n") and eco != "python":
        indent = "\t" if eco == "go" else "    "
    lines.insert(at, f"{indent}{statement}\n")
    _write(checkout, repo.test_file, lines)
    return Fault("test", repo.test_file, at + 1)


def _body_start(eco: str, lines: list[str]) -> int:
    """The 0-based index of the first statement of the file's first test."""
    if eco == "npm":
        for pattern in (_JS_TEST, _JS_SUITE_TEST):
            for i, raw in enumerate(lines):
                if pattern.match(raw.rstrip()):
                    return i + 1
        raise ValueError("no test found")
    pattern = _TEST_START[eco]
    seen_attribute = eco != "cargo"
    for i, raw in enumerate(lines):
        text = raw.rstrip()
        if eco == "cargo" and text.strip() == "#[test]":
            seen_attribute = True
            continue
        if not (seen_attribute and pattern.match(text)):
            continue
        j = i
        if eco == "python" or (eco == "maven" and text.strip().startswith("@Test")):
            opener = ":" if eco == "python" else "{"
            while not lines[j].rstrip().endswith(opener):
                j += 1
        body = j + 1
        while body < len(lines) and (
            not lines[body].strip()
            or (eco == "python" and lines[body].strip().startswith(('"""', "'''", "#")))
        ):
            if eco == "python" and lines[body].strip().startswith(('"""', "'''")):
                body = _after_docstring(lines, body)
                continue
            body += 1
        return body
    raise ValueError("no test found")


def _after_docstring(lines: list[str], start: int) -> int:
    quote = lines[start].strip()[:3]
    rest = lines[start].strip()[3:]
    if quote in rest:
        return start + 1
    i = start + 1
    while quote not in lines[i]:
        i += 1
    return i + 1


def _inject_compile(repo: Repo, checkout: Path) -> Fault:
    lines = _lines(checkout, repo.src_file)
    eco = "npm" if repo.ecosystem == "pnpm" else repo.ecosystem
    if eco == "maven":
        declaration = re.compile(r"^public .*\b(class|@?interface|enum)\b")
        at = next(i for i, raw in enumerate(lines) if declaration.match(raw))
        while not lines[at].rstrip().endswith("{"):
            at += 1
        at += 1
        text = f'    int corralInjected = "{MARK}";\n'
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        at = len(lines)
        text = {
            "python": "def corral_injected(:\n",
            "go": f'func corralInjected() int {{ return "{MARK}" }}\n',
            "cargo": f'pub fn corral_injected() -> u32 {{ "{MARK}" }}\n',
            "npm": "export const corralInjected = ;\n",
        }[eco]
    lines.insert(at, text)
    _write(checkout, repo.src_file, lines)
    return Fault("compile", repo.src_file, at + 1)


def _inject_lint(repo: Repo, checkout: Path) -> Fault:
    lines = _lines(checkout, repo.src_file)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if repo.lint == "ruff":  # F401 after the last top-level import
        at = max(i for i, raw in enumerate(lines) if raw.startswith(("import ", "from "))) + 1
        while lines[at - 1].rstrip().endswith(("(", ",")) or lines[at - 1].startswith(" "):
            at += 1
        text = "import os\n"
    elif repo.lint == "gofmt":
        at, text = len(lines), "var  corralInjected   = 1\n"
    elif repo.lint == "rustfmt":
        at, text = len(lines), "pub fn corral_injected( ) {}\n"
    elif repo.lint == "prettier":  # exported: an unused variable is only a warning there
        at, text = len(lines), "export const corralUnformatted   =   [1,2];\n"
    else:  # eslint: an unused variable
        at, text = len(lines), "const corralUnused = 1;\n"
    lines.insert(at, text)
    _write(checkout, repo.src_file, lines)
    return Fault("lint", repo.src_file, at + 1)


# --- running -----------------------------------------------------------------------------


@dataclass
class Case:
    repo: str
    ecosystem: str
    label: str
    """untouched, or <kind>[+baseline]."""
    ok: bool | None
    seconds: float
    message_chars: int
    fault: Fault | None = None
    hit: bool | None = None
    tracked_unchanged: bool = True
    leftovers: list[str] = field(default_factory=list)
    note: str = ""


def git(checkout: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True
    ).stdout


def clone(mirror: Path, into: Path, commit: str) -> None:
    if not (into / ".git").exists():
        subprocess.run(["git", "clone", "-q", str(mirror), str(into)], check=True)
    git(into, "checkout", "-q", "--force", commit)
    git(into, "clean", "-qfdx")


def tree_state(checkout: Path) -> tuple[str, list[str]]:
    """(a digest of every tracked file's content, untracked files git does not ignore)."""
    diff = git(checkout, "diff", "HEAD")
    untracked = git(checkout, "ls-files", "--others", "--exclude-standard").split()
    return diff, untracked


def run_verify(
    checkout: Path, cache: Path | None, baseline: bool, timeout: float
) -> tuple[dict[str, object] | None, float, str]:
    argv = [*CORRAL, "verify", str(checkout), "--json"]
    if baseline:
        argv += ["--baseline", "HEAD"]
    if cache:
        argv += ["--cache-dir", str(cache)]
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started, "timed out"
    elapsed = time.monotonic() - started
    try:
        return json.loads(done.stdout), elapsed, ""
    except json.JSONDecodeError:
        return None, elapsed, (done.stderr.strip().splitlines() or ["no output"])[-1][:200]


def found_at(report: dict[str, object], fault: Fault) -> bool:
    for verifier in report.get("verifiers", []):  # type: ignore[union-attr]
        for finding in verifier["findings"]:
            if not finding["new"] or finding["file"] != fault.file:
                continue
            if finding["line"] is not None and abs(finding["line"] - fault.line) <= 1:
                return True
    return False


def bench_repo(repo: Repo, args: argparse.Namespace, log: Callable[[str], None]) -> list[Case]:
    mirror = args.mirrors / repo.name / "repo"
    if not mirror.is_dir():
        log(f"skip {repo.name}: no mirror at {mirror}")
        return []
    if args.ci_only:
        cases = [_ci_case(repo, mirror, args)]
        log(_line(cases[-1]))
        return cases
    checkout = args.work / repo.name
    clone(mirror, checkout, repo.commit)
    cases = [_case(repo, checkout, "untouched", None, False, args)]
    log(_line(cases[-1]))
    for kind in ("test", "compile", "lint"):
        for baseline in (False, True):
            git(checkout, "checkout", "-q", "--force", repo.commit)
            try:
                fault = inject(repo, checkout, kind)
            except (ValueError, StopIteration, OSError) as exc:
                log(f"  {repo.name}: cannot inject {kind}: {exc}")
                break
            if fault is None:
                break
            label = kind + ("+baseline" if baseline else "")
            cases.append(_case(repo, checkout, label, fault, baseline, args))
            log(_line(cases[-1]))
    git(checkout, "checkout", "-q", "--force", repo.commit)
    if not args.no_ci:
        cases.append(_ci_case(repo, mirror, args))
        log(_line(cases[-1]))
    return cases


def _case(
    repo: Repo,
    checkout: Path,
    label: str,
    fault: Fault | None,
    baseline: bool,
    args: argparse.Namespace,
) -> Case:
    before = tree_state(checkout)
    report, seconds, error = run_verify(checkout, args.cache_dir, baseline, args.timeout)
    after = tree_state(checkout)
    case = Case(repo.name, repo.ecosystem, label, None, seconds, 0, fault)
    case.tracked_unchanged = before[0] == after[0]
    case.leftovers = sorted(set(after[1]) - set(before[1]))
    if report is None:
        case.note = error
        return case
    case.ok = bool(report["ok"])
    case.message_chars = len(str(report["message"]))
    if fault is not None:
        case.hit = found_at(report, fault)
    if not case.ok:
        case.note = str(report["message"]).splitlines()[0][:160]
    return case


def _ci_case(repo: Repo, mirror: Path, args: argparse.Namespace) -> Case:
    checkout = args.work / f"{repo.name}.ci"
    clone(mirror, checkout, repo.commit)
    env = {
        **os.environ,
        "CI": "true",
        "COREPACK_ENABLE_DOWNLOAD_PROMPT": "0",
        # As corral's verifier does where the registry's metadata has no signature corepack
        # knows, and a project names no pnpm version (the newest needs a newer Node).
        "COREPACK_INTEGRITY_KEYS": "0",
        "COREPACK_DEFAULT_TO_LATEST": "0",
    }
    shell = ["bash", "-c"]
    setup = subprocess.run(
        [*shell, repo.setup],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=args.timeout,
    )
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*shell, repo.ci],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=args.timeout,
        )
        ok, out = done.returncode == 0, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        ok, out = False, "timed out"
    case = Case(repo.name, repo.ecosystem, "ci-by-hand", ok, time.monotonic() - started, 0)
    if not ok:
        tail = (out.strip().splitlines() or ["no output"])[-1][:160]
        case.note = f"setup exit {setup.returncode}; {tail}"
    return case


def _line(c: Case) -> str:
    state = {True: "green", False: "red", None: "error"}[c.ok]
    hit = "" if c.hit is None else (" hit" if c.hit else " MISS")
    where = f" @{c.fault.file}:{c.fault.line}" if c.fault else ""
    tracked = "" if c.tracked_unchanged else " TRACKED-CHANGED"
    left = f" leftovers={len(c.leftovers)}" if c.leftovers else ""
    return (
        f"  {c.repo:32} {c.label:18} {state:5}{hit}{where} {c.seconds:6.1f}s "
        f"msg={c.message_chars}{tracked}{left} {c.note}"
    )


# --- the table ---------------------------------------------------------------------------


def summarise(cases: list[Case]) -> str:
    rows = [
        "| ecosystem | projects | untouched green | CI green by hand | untouched green where CI "
        "green | faults at file:line | same, where CI green "
        "| false greens plain / --baseline | max message | tracked unchanged | leftovers "
        "| corral s / CI s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for eco in [*dict.fromkeys(c.ecosystem for c in cases), "all"]:
        mine = [c for c in cases if eco in ("all", c.ecosystem)]
        rows.append(_row(eco, mine))
    return "\n".join(rows)


def _row(eco: str, cases: list[Case]) -> str:
    untouched = [c for c in cases if c.label == "untouched"]
    ci = [c for c in cases if c.label == "ci-by-hand"]
    faulted = [c for c in cases if c.fault is not None]
    plain = [c for c in faulted if "+baseline" not in c.label]
    gated = [c for c in faulted if "+baseline" in c.label]
    verifies = [c for c in cases if c.label != "ci-by-hand"]
    green = {c.repo for c in ci if c.ok}
    untouched_green = [c for c in untouched if c.repo in green]
    faulted_green = [c for c in faulted if c.repo in green]
    timed = {c.repo for c in ci}  # both sides measured on the same projects
    corral_s = sum(c.seconds for c in untouched if c.repo in timed)
    ci_s = sum(c.seconds for c in ci)
    return (
        f"| {eco} | {len(untouched)} "
        f"| {_ratio(sum(c.ok is True for c in untouched), len(untouched))} "
        f"| {_ratio(sum(c.ok is True for c in ci), len(ci))} "
        f"| {_ratio(sum(c.ok is True for c in untouched_green), len(untouched_green))} "
        f"| {_ratio(sum(bool(c.hit) for c in faulted), len(faulted))} "
        f"| {_ratio(sum(bool(c.hit) for c in faulted_green), len(faulted_green))} "
        f"| {sum(c.ok is True for c in plain)} / {sum(c.ok is True for c in gated)} "
        f"| {max((c.message_chars for c in verifies), default=0)} "
        f"| {_ratio(sum(c.tracked_unchanged for c in verifies), len(verifies))} "
        f"| {sum(bool(c.leftovers) for c in verifies)} "
        f"| {corral_s:.0f} / {ci_s:.0f} |"
    )


def _ratio(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mirrors",
        type=Path,
        default=Path("/work/.mirror"),
        help="folder with <owner>+<name>/repo bare mirrors",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/work/scratch/real-world"),
        help="where the clones go (never inside this repository)",
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="corral's cache folder")
    parser.add_argument("--only", action="append", default=[], help="project name (repeatable)")
    parser.add_argument(
        "--ecosystem",
        action="append",
        default=[],
        help="python, go, cargo, maven, npm, pnpm (repeatable)",
    )
    parser.add_argument("--no-ci", action="store_true", help="skip the CI-by-hand timing")
    parser.add_argument(
        "--ci-only",
        action="store_true",
        help="only the CI-by-hand timing (merge with a --no-ci run's --json via --summarise)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="per command, seconds")
    parser.add_argument("--json", type=Path, default=None, help="also write every case here")
    parser.add_argument(
        "--resume", action="store_true", help="keep the projects already in --json; run the rest"
    )
    parser.add_argument(
        "--summarise",
        type=Path,
        nargs="+",
        default=None,
        help="print the table of earlier runs' --json files (e.g. one per ecosystem) and stop",
    )
    parser.add_argument(
        "--against",
        type=Path,
        nargs="+",
        default=None,
        help="with --summarise: a later run's --json files; both tables on the common projects",
    )
    args = parser.parse_args()
    if args.summarise:
        before = _load_cases(args.summarise)
        if not args.against:
            print(summarise(before))
            return 0
        after = _load_cases(args.against)
        common = _complete(before) & _complete(after)
        print(f"{len(common)} projects measured in both runs\n\nbefore:\n")
        print(summarise([c for c in before if c.repo in common]))
        print("\nafter:\n")
        print(summarise([c for c in after if c.repo in common]))
        return 0
    args.work = args.work.resolve()
    if args.work.is_relative_to(ROOT):
        parser.error("--work must be outside this repository")
    args.work.mkdir(parents=True, exist_ok=True)
    repos = interleaved(
        [
            r
            for r in REPOS
            if (not args.only or r.name in args.only)
            and (not args.ecosystem or r.ecosystem in args.ecosystem)
        ]
    )
    cases: list[Case] = []
    if args.resume and args.json and args.json.is_file():
        cases = [_case_from_json(c) for c in json.loads(args.json.read_text())]
    done = {c.repo for c in cases if c.label == ("ci-by-hand" if not args.no_ci else "untouched")}
    started = time.monotonic()
    for repo in repos:
        if repo.name in done:
            print(f"{repo.name}: done in {args.json}, skipped (--resume)", flush=True)
            continue
        print(f"{repo.name} ({repo.ecosystem}) at {repo.commit[:10]}", flush=True)
        cases = [c for c in cases if c.repo != repo.name]
        cases += bench_repo(repo, args, lambda text: print(text, flush=True))
        if args.json:  # after every project, so an interrupted run keeps what it measured
            args.json.write_text(json.dumps([_case_json(c) for c in cases], indent=1))
    print(
        f"\n{len(repos)} projects in {time.monotonic() - started:.0f}s "
        f"(corral {shlex.join(CORRAL[1:])}, mirrors {args.mirrors})\n"
    )
    print(summarise(cases))
    return 0


def interleaved(repos: list[Repo]) -> list[Repo]:
    """One project of each ecosystem in turn, so a partial run covers every ecosystem."""
    by_ecosystem: dict[str, list[Repo]] = {}
    for repo in repos:
        by_ecosystem.setdefault(repo.ecosystem, []).append(repo)
    ordered: list[Repo] = []
    for i in range(max((len(v) for v in by_ecosystem.values()), default=0)):
        ordered += [group[i] for group in by_ecosystem.values() if i < len(group)]
    return ordered


def _load_cases(files: list[Path]) -> list[Case]:
    """Every file's cases; a project measured again in a later file keeps only the later run's
    cases of that kind (the CI-by-hand timing and the verifies are replaced separately)."""
    cases: list[Case] = []
    for f in files:
        later = [_case_from_json(c) for c in json.loads(f.read_text())]
        replaced = {(c.repo, c.label == "ci-by-hand") for c in later}
        cases = [c for c in cases if (c.repo, c.label == "ci-by-hand") not in replaced] + later
    return cases


def _complete(cases: list[Case]) -> set[str]:
    """Projects whose every case ran (the CI-by-hand timing comes last)."""
    return {c.repo for c in cases if c.label == "ci-by-hand"}


def _case_from_json(data: dict[str, object]) -> Case:
    fault = data.pop("fault")
    case = Case(**data)  # type: ignore[arg-type]
    case.fault = Fault(**fault) if isinstance(fault, dict) else None
    return case


def _case_json(c: Case) -> dict[str, object]:
    data = dict(vars(c))
    data["fault"] = vars(c.fault) if c.fault else None
    return data


if __name__ == "__main__":
    raise SystemExit(main())
