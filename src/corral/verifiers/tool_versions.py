"""The tool versions a project pins, so a verifier reports that version's opinions, not another's.

- Python: the ruff and mypy versions of the project's lock file (uv.lock, poetry.lock,
  pdm.lock), else its pre-commit hooks' revisions, else an exact pin in its declarations
  (dependency groups, extras, requirements files).
- Go: the `go` directive. The Go here builds older modules, but gofmt reformats doc comments
  since Go 1.19: for a module that declares an older Go, hunks that change only comments are
  another gofmt's opinion and are left out (said once in the message); code hunks still count.
- Maven: the wrapper's Maven (`.mvn/wrapper/maven-wrapper.properties`) is fetched in prepare as
  `org.apache.maven:apache-maven:<version>:zip:bin` through the installed Maven, i.e. from the
  repository manager its settings name (Maven Central by default), and unpacked in the cache.
- Rust: `rust-toolchain(.toml)`: when that toolchain is not installed, cargo runs on the default
  one and the lints and formatting of another toolchain (clippy, rustfmt) are not reported.
- Node: `.nvmrc`, `.node-version`, `.tool-versions`, else `engines.node`. Only one Node is
  installed and none is downloaded: when it does not meet the pin, the checks run with it and
  the message says so.

When a pinned version cannot be had, the verifier says so once (`CheckOutcome.notes`).
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import tomllib
import zipfile
from pathlib import Path

from corral.verifiers.base import ProjectContext, run_tool
from corral.verifiers.ci_parity import pre_commit_hooks

PINNABLE_PYTHON_TOOLS = ("ruff", "mypy")
_HOOK_REPOS = {"ruff-pre-commit": "ruff", "mirrors-mypy": "mypy"}
_EXACT_PIN = re.compile(r"^\s*['\"]?(?P<name>[A-Za-z0-9_.-]+)\s*===?\s*(?P<version>[\w.+!-]+)")

# --- Python --------------------------------------------------------------------------------


def python_tool_pins(project_dir: Path) -> dict[str, str]:
    """tool -> version the project pins, for ruff and mypy."""
    pins: dict[str, str] = {}
    for source in (_declared_pins, _pre_commit_pins, _locked_pins):  # later sources win
        pins.update(source(project_dir))
    return pins


def _locked_pins(project_dir: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for name in ("uv.lock", "poetry.lock", "pdm.lock"):
        path = project_dir / name
        if not path.is_file():
            continue
        try:
            lock = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        for package in lock.get("package", []):
            if isinstance(package, dict) and package.get("name") in PINNABLE_PYTHON_TOOLS:
                pins[str(package["name"])] = str(package.get("version", ""))
    return {k: v for k, v in pins.items() if v}


def _pre_commit_pins(project_dir: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for hook in pre_commit_hooks(project_dir):
        tool = _HOOK_REPOS.get(hook.repo.rstrip("/").rsplit("/", 1)[-1])
        version = hook.rev.removeprefix("v")
        if tool and re.fullmatch(r"\d+(\.\d+)*", version):
            pins[tool] = version
    return pins


def _declared_pins(project_dir: Path) -> dict[str, str]:
    """`ruff==0.4.1` in requirements files, extras or dependency groups."""
    lines: list[str] = []
    for path in sorted(project_dir.glob("requirements*.txt")) + sorted(
        project_dir.glob("requirements/*.txt")
    ):
        lines += path.read_text(errors="replace").splitlines()
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        groups = [
            *data.get("project", {}).get("optional-dependencies", {}).values(),
            *data.get("dependency-groups", {}).values(),
        ]
        lines += [str(req) for group in groups if isinstance(group, list) for req in group]
    pins: dict[str, str] = {}
    for line in lines:
        match = _EXACT_PIN.match(line)
        if match and match["name"].lower() in PINNABLE_PYTHON_TOOLS:
            pins[match["name"].lower()] = match["version"]
    return pins


# --- Go ------------------------------------------------------------------------------------

GOFMT_DOC_COMMENTS = (1, 19)
"""The Go release whose gofmt started reformatting doc comments."""


def go_directive(project_dir: Path) -> tuple[int, int] | None:
    """(major, minor) of go.mod's `go` line."""
    path = project_dir / "go.mod"
    if not path.is_file():
        return None
    match = re.search(r"^go\s+(\d+)\.(\d+)", path.read_text(errors="replace"), re.M)
    return (int(match[1]), int(match[2])) if match else None


def installed_go(ctx: ProjectContext) -> tuple[int, int] | None:
    result = run_tool(ctx, ["go", "env", "GOVERSION"], "go env")
    match = re.match(r"go(\d+)\.(\d+)", result.stdout.strip())
    return (int(match[1]), int(match[2])) if result.ok and match else None


def gofmt_comment_rules_differ(ctx: ProjectContext) -> tuple[int, int] | None:
    """The module's declared Go when its gofmt formats doc comments unlike the one here."""
    declared = go_directive(ctx.project_dir)
    here = installed_go(ctx)
    if declared and here and declared < GOFMT_DOC_COMMENTS <= here:
        return declared
    return None


def without_comment_only_hunks(diff: str) -> tuple[str, int]:
    """A unified diff without the hunks whose changed lines are all comments; how many went."""
    out: list[str] = []
    header: list[str] = []
    hunk: list[str] = []
    dropped = 0

    def flush() -> None:
        nonlocal dropped
        if not hunk:
            return
        changed = [ln for ln in hunk[1:] if ln[:1] in "-+"]
        if changed and all(_is_comment(ln) for ln in changed):
            dropped += 1
        else:
            out.extend(header)
            header.clear()
            # In a hunk that also changes code, the comment changes become context, so the
            # finding points at the first code change.
            out.append(hunk[0])
            for ln in hunk[1:]:
                if _is_comment(ln) and ln[:1] == "+":
                    continue
                out.append(" " + ln[1:] if _is_comment(ln) else ln)
        hunk.clear()

    for line in diff.splitlines():
        if line.startswith("@@"):
            flush()
            hunk.append(line)
        elif line.startswith(("diff ", "--- ", "+++ ")):
            flush()
            if line.startswith("diff "):
                header.clear()
            header.append(line)
        elif hunk:
            hunk.append(line)
    flush()
    return "\n".join(out) + ("\n" if out else ""), dropped


def _is_comment(diff_line: str) -> bool:
    text = diff_line[1:].strip()
    return diff_line[:1] in "-+" and (not text or text.startswith("//"))


# --- Maven ---------------------------------------------------------------------------------

_DISTRIBUTION = re.compile(r"apache-maven-(?P<version>\d[\w.-]*?)-bin\.(?:zip|tar\.gz)")


def wrapper_maven_version(project_dir: Path) -> str | None:
    """The Maven version the project's `mvnw` would use."""
    props = project_dir / ".mvn" / "wrapper" / "maven-wrapper.properties"
    if not props.is_file():
        return None
    match = _DISTRIBUTION.search(props.read_text(errors="replace"))
    return match["version"] if match else None


def maven_home(ctx: ProjectContext, version: str) -> Path:
    return ctx.cache_dir / "maven-dists" / version / f"apache-maven-{version}"


def installed_maven(ctx: ProjectContext) -> str | None:
    result = run_tool(ctx, ["mvn", "-v", "-B"], "mvn -v")
    match = re.search(r"Apache Maven (\S+)", result.stdout)
    return match[1] if match else None


def fetch_maven(ctx: ProjectContext, version: str, repo_local: str) -> str | None:
    """Fetch and unpack Maven `version` into the cache; None on success, else why not."""
    home = maven_home(ctx, version)
    if (home / "bin" / "mvn").is_file():
        return None
    download = home.parent / "download"
    shutil.rmtree(download, ignore_errors=True)
    artifact = f"org.apache.maven:apache-maven:{version}:zip:bin"
    result = run_tool(
        ctx,
        [
            "mvn",
            "-B",
            "-q",
            f"-Dmaven.repo.local={repo_local}",
            "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
            f"-Dartifact={artifact}",
            f"-DoutputDirectory={download}",
        ],
        "mvn (fetching the wrapper's Maven)",
    )
    archive = next(download.glob("*.zip"), None) if download.is_dir() else None
    if not result.ok or archive is None:
        return f"{artifact} could not be fetched"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(home.parent)
    for script in (home / "bin").iterdir():
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    shutil.rmtree(download, ignore_errors=True)
    return None


def maven_executable(ctx: ProjectContext) -> tuple[str, str | None]:
    """The `mvn` to run (the wrapper's when fetched) and a note when it could not be had."""
    wanted = wrapper_maven_version(ctx.project_dir)
    if wanted is None:
        return "mvn", None
    home = maven_home(ctx, wanted)
    if (home / "bin" / "mvn").is_file():
        return str(home / "bin" / "mvn"), None
    have = installed_maven(ctx)
    if have == wanted:
        return "mvn", None
    return "mvn", (
        f"mvnw asks for Maven {wanted}, which could not be fetched: checked with Maven {have}"
    )


# --- Rust ----------------------------------------------------------------------------------


def pinned_rust_toolchain(project_dir: Path) -> str | None:
    """The channel rust-toolchain.toml (or the legacy rust-toolchain file) names."""
    toml = project_dir / "rust-toolchain.toml"
    legacy = project_dir / "rust-toolchain"
    if toml.is_file():
        try:
            channel = tomllib.loads(toml.read_text()).get("toolchain", {}).get("channel")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return None
        return str(channel) if channel else None
    if legacy.is_file():
        text = legacy.read_text(errors="replace").strip()
        return text if text and "\n" not in text and "[" not in text else None
    return None


def rust_toolchain_installed(ctx: ProjectContext, channel: str) -> bool:
    result = run_tool(ctx, ["rustup", "toolchain", "list"], "rustup toolchain list")
    if not result.ok:
        return True  # no rustup: cargo is what it is, nothing to switch
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    return any(n == channel or n.startswith(f"{channel}-") for n in names)


# --- Node ----------------------------------------------------------------------------------

_NODE_PIN_FILES = (".nvmrc", ".node-version")
_COMPARATOR = re.compile(r"(?P<op>>=|<=|>|<|=|\^|~)?v?(?P<version>[\dxX*]+(?:\.[\dxX*]+){0,2})")


def node_version_pin(project_dir: Path, repo_root: Path) -> tuple[str, str] | None:
    """(the Node version or range the project asks for, where it says so): `.nvmrc`,
    `.node-version`, `.tool-versions`'s nodejs line (here or at the repository root), else
    package.json's `engines.node`. Aliases (`lts/*`, `node`) name no version: None."""
    for directory in dict.fromkeys((project_dir, repo_root)):
        for name in _NODE_PIN_FILES:
            path = directory / name
            if path.is_file():
                first = (path.read_text(errors="replace").strip().splitlines() or [""])[0]
                return (first.strip(), name) if re.match(r"v?\d", first.strip()) else None
        tool_versions = directory / ".tool-versions"
        if tool_versions.is_file():
            for line in tool_versions.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] in ("nodejs", "node"):
                    return parts[1], ".tool-versions"
    engines = _engines_node(project_dir / "package.json")
    return (engines, "package.json engines.node") if engines else None


def _engines_node(package_json: Path) -> str | None:
    try:
        data = json.loads(package_json.read_text())
    except (OSError, ValueError):
        return None
    engines = data.get("engines") if isinstance(data, dict) else None
    node = engines.get("node") if isinstance(engines, dict) else None
    return node.strip() if isinstance(node, str) and node.strip() else None


def node_satisfies(installed: tuple[int, int, int], wanted: str) -> bool | None:
    """Whether the installed Node meets a pin: a version file's `18`/`v18.17.0` (that major, or
    that exact version), or an engines range (`>=18`, `^20 || >=22`, `18.x`, `>=14 <21`,
    `14 - 20`). None when the text is not one of these (a tag, a URL)."""
    alternatives = []
    for alternative in wanted.split("||"):
        text = re.sub(r"\s+-\s+", " - ", alternative.strip())
        if " - " in text:  # a hyphen range: low - high
            low, high = text.split(" - ", 1)
            text = f">={low.strip()} <={high.strip()}"
        terms = [t for t in re.split(r"\s+", re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", text)) if t]
        results = [_satisfies_term(installed, term) for term in terms or ["*"]]
        if any(r is None for r in results):
            return None
        alternatives.append(all(results))
    return any(alternatives)


def _satisfies_term(have: tuple[int, int, int], term: str) -> bool | None:
    if term in ("*", "x", "X"):
        return True
    match = _COMPARATOR.fullmatch(term)
    if match is None:
        return None
    parts = match["version"].split(".")
    fixed: list[int] = []
    for part in parts:
        if not part.isdigit():
            break
        fixed.append(int(part))
    n = len(fixed)
    if n == 0 or any(p.isdigit() for p in parts[n:]):
        return None if n else True
    low = tuple(fixed + [0] * (3 - n))
    op = match["op"] or "="
    if op in ("^", "~"):  # caret: same major (Node has no 0.x); tilde: same minor
        keep = 1 if op == "^" or n == 1 else 2
        return have >= low and have[:keep] == low[:keep]
    return {
        "=": have[:n] == low[:n],  # `18` or `18.x` is any 18
        ">=": have >= low,
        ">": have[:n] > low[:n],
        "<=": have[:n] <= low[:n],
        "<": have < low,
    }[op]


def installed_node(ctx: ProjectContext) -> tuple[int, int, int] | None:
    result = run_tool(ctx, ["node", "--version"], "node --version")
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", result.stdout.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if result.ok and match else None


def node_version_note(ctx: ProjectContext) -> str | None:
    """One line when the project asks for a Node this machine does not have, else None."""
    pin = node_version_pin(ctx.project_dir, ctx.repo_root)
    if pin is None:
        return None
    wanted, where = pin
    have = installed_node(ctx)
    if have is None or node_satisfies(have, wanted) is not False:
        return None
    version = ".".join(map(str, have))
    return (
        f"the project asks for Node {wanted} ({where}), which is not installed: checked with "
        f"Node {version}, so a failure may be that version's, not the change's"
    )
