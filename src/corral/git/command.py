"""The one way corral runs git on the host, hardened against the repository it runs in.

A checkout's git directory is data a repository's code may have written (a change command,
a test, an agent tool through a symlink). git would run what it says: hooks, `core.fsmonitor`,
`filter.*` drivers, `diff.*.textconv`, an `include.path` to more of the same. So every call:

- pins the keys that run programs or change where git works (`-c core.hooksPath=/dev/null`,
  `core.fsmonitor=false`, no submodule recursion, no replace objects);
- reads the repository's own config (local and worktree scopes, includes followed) first,
  and refuses to run at all when it sets anything outside a list of inert keys
  (`GitConfigRefused` names the key): a filter, a textconv, an include, a worktree
  elsewhere, a credential helper, a URL rewrite...;
- keeps git's own ownership check (`safe.directory` is never widened, so a repository
  another user planted above a folder is not picked up);
- runs with a minimal environment: no forge token, model key or dashboard token. A forge's
  credential reaches git only through `auth` (as `GIT_CONFIG_*` entries), and only for
  network commands in a repository with no working tree.

System and global git config are the operator's and stay trusted.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from corral.git.build_output import BUILD_OUTPUT_DIRS, is_build_output

PINNED_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("core.quotePath", "false"),
    ("core.pager", "cat"),
    ("submodule.recurse", "false"),
    ("commit.gpgSign", "false"),
)
"""Always on the command line, so they win over every config file."""

_PASSED_ENV = ("PATH", "HOME", "TMPDIR", "LANG", "TZ", "USER", "LOGNAME")
_NETWORK_ENV = (
    "SSH_AUTH_SOCK",
    "GIT_SSH_COMMAND",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
)
"""What a push or fetch may need of the operator's environment, and nothing else."""

CALLER_ENV = frozenset(
    {
        "GIT_INDEX_FILE",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
    }
)
"""The only variables a caller may add to one call's environment."""

NETWORK_COMMANDS = frozenset({"clone", "fetch", "push", "ls-remote"})

WORKTREE_COMMANDS = frozenset(
    {"add", "status", "diff", "commit", "stash", "checkout", "reset", "rm", "restore", "switch"}
)
"""Commands that may start git in a repository nested in the working tree (a submodule, or
one a change created): git reads that repository's config too, so it is checked first."""

_INERT_KEYS = re.compile(
    r"""(
      core\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase
            |precomposeunicode|symlinks|autocrlf|eol|safecrlf|sparsecheckout
            |sparsecheckoutcone|splitindex|untrackedcache|checkstat|trustctime
            |preloadindex|commentchar|abbrev|quotepath|whitespace|compression
            |loosecompression|multipackindex|commitgraph|longpaths|protectntfs
            |protecthfs|hookspath|fsmonitor|pager|fscache|packedrefstimeout
            |deltabasecachelimit|bigfilethreshold|warnambiguousrefs|notesref)
    | remote\.[^\n]+\.(url|fetch|pushurl|tagopt|prune|prunetags|mirror|promisor
            |partialclonefilter|skipdefaultupdate|skipfetchall)
    | branch\.[^\n]+\.(remote|merge|rebase|pushremote|description)
    | submodule\.[^\n]+\.(url|active|branch|shallow)
    | (user|author|committer|color|advice|i18n|init|extensions|gc|pack|pull|rerere
        |log|format|status|column|lfs|maintenance|index|feature|checkout|fetch|push
        |commit|tag|help|blame|grep|am|apply|rebase|clean|reset|stash|notes|versionsort
        |transfer|receive|uploadarchive|repack|splitindex|fastimport|sparse
        |bundle)\.[^\n]+
    | submodule\.(recurse|active|fetchjobs)
    | diff\.(algorithm|renames|renamelimit|indentheuristic)
    | merge\.(conflictstyle|renamelimit|ff|log)
    )""",
    re.VERBOSE,
)
"""Keys a repository's own config may set: none of them runs a program, reads a file
outside the repository, redirects a URL or moves the working tree."""

_COMMAND_KEYS = re.compile(
    r"(commit|tag)\.template|(gpg|sequence|commit)\..*program|"
    r"(pull|push|fetch|receive|rebase)\..*(hook|program|command|exec)|"
    r"maintenance\..*|(gc|pack)\..*(hook|command)|format\.(signaturefile|headers)|"
    r"lfs\..*(url|access|standalonetransferagent|customtransfer.*)|"
    r"init\.templatedir|log\.showsignature"
)
"""Keys inside those sections that still run a program, read a host file or redirect."""


class GitCommandError(RuntimeError):
    """git failed, could not start, or timed out; the message is git's own last lines."""


class GitConfigRefused(GitCommandError):
    """The repository's own config asks git for something corral will not run on the host."""


def run_git(
    args: Sequence[str],
    *,
    repo: Path | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    auth: Mapping[str, str] | None = None,
    timeout_s: float = 600.0,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` (in `repo` when given) the hardened way; bytes in and out.

    `env` may only hold CALLER_ENV variables. `auth` is config (key -> value) that carries
    a credential: allowed only for NETWORK_COMMANDS in a repository without a working tree
    (or a clone), and never written on the command line. Raises GitConfigRefused when the
    repository's config is not inert, GitCommandError when git fails (with check)."""
    extra = _caller_env(env)
    if auth:
        _check_auth_use(args, repo)
    if repo is not None:
        _check_before(repo, [args])
    network = _subcommand(args) in NETWORK_COMMANDS
    env = _environment(repo, extra, auth, network=network)
    return _spawn(_argv(args, repo), env, stdin, timeout_s, check)


Plan = Callable[[Sequence[str]], Sequence[Sequence[str]]]
"""Commands chosen from the paths the checkout's index tracks, as the check listed them."""


def run_git_sequence(
    commands: Sequence[Sequence[str]] | Plan,
    *,
    repo: Path,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 600.0,
) -> list[subprocess.CompletedProcess[bytes]]:
    """Several local git commands run back to back in `repo`, each as run_git would with
    check: the repository (and, once, the repositories nested in its working tree) is
    checked before the first. Only for commands between which nothing but git runs in the
    checkout (no sandboxed command, no agent): what the check saw is still what git reads.
    `commands` may be a plan: then the working tree is checked, and the plan is given the
    tracked paths that check listed (a command needed only for some paths is left out
    without a listing of its own)."""
    extra = _caller_env(env)
    if callable(commands):
        commands = commands(_check_working_tree(repo))
    else:
        _check_before(repo, commands)
    if any(_subcommand(args) in NETWORK_COMMANDS for args in commands):
        raise ValueError("run_git_sequence runs local commands only")
    environment = _environment(repo, extra, None)
    return [_spawn(_argv(args, repo), environment, None, timeout_s, True) for args in commands]


def _caller_env(env: Mapping[str, str] | None) -> dict[str, str]:
    extra = dict(env or {})
    if stray := sorted(set(extra) - CALLER_ENV):
        raise ValueError(f"run_git passes no {', '.join(stray)}")
    return extra


def _check_before(repo: Path, commands: Sequence[Sequence[str]]) -> None:
    """GitConfigRefused unless the repository's config, and that of every repository nested
    in its working tree when a command looks at the working tree, is inert."""
    if any(_subcommand(args) in WORKTREE_COMMANDS for args in commands):
        _check_working_tree(repo)
    else:
        check_repository_config(repo)


def _check_working_tree(repo: Path) -> list[str]:
    """The repository's and its nested repositories' config checked; the tracked paths."""
    check_repository_config(repo)
    nested, tracked = _working_tree_listing(repo)
    for path in nested:
        # its .git is in the working tree, which sandboxed commands write: never
        # taken as checked before
        check_repository_config(path, remember=False)
    return tracked


def git_text(
    args: Sequence[str],
    *,
    repo: Path | None = None,
    env: Mapping[str, str] | None = None,
    auth: Mapping[str, str] | None = None,
    timeout_s: float = 600.0,
) -> str:
    """run_git's stdout as text (UTF-8, undecodable bytes replaced)."""
    done = run_git(args, repo=repo, env=env, auth=auth, timeout_s=timeout_s)
    return done.stdout.decode("utf-8", errors="replace")


def check_repository_config(repo: Path, *, remember: bool = True) -> None:
    """GitConfigRefused unless every key the repository's own config sets is inert."""
    stamp = _config_stamp(repo) if remember else None
    if stamp is not None and _INERT_CONFIGS.get(repo) == stamp:
        return
    for scope, key, value in repository_config_entries(repo):
        if not is_inert(key, value):
            raise GitConfigRefused(
                f"the repository's git config ({scope}) sets {key}, which could run a program "
                f"or change what git sees on the host; corral runs no git in {repo} "
                "(a setting of your own belongs in your global git config)"
            )
    if stamp is not None and stamp == _config_stamp(repo):
        _INERT_CONFIGS[repo] = stamp


_INERT_CONFIGS: dict[Path, tuple[object, ...]] = {}
"""Repositories whose config was found inert, with the stat of the files it was read from:
a git process per check was a third of a campaign's git time. An accepted config includes no
other file (`include.*` is not inert), so those files are all git reads for these scopes."""


def git_dir_of(repo: Path) -> Path | None:
    """The git dir of the working tree at `repo` (its `.git` folder, or where a `.git` file
    points), read without starting git; None when git would have to tell (no `.git` here: a
    subfolder, a bare repository; or a symlink)."""
    dot_git = repo / ".git"
    try:
        if dot_git.is_dir() and not dot_git.is_symlink():
            return dot_git
        if dot_git.is_file() and not dot_git.is_symlink():
            text = dot_git.read_text().strip()
            if text.startswith("gitdir: "):
                return (repo / text.removeprefix("gitdir: ")).resolve()
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _bare_git_dir(repo: Path) -> Path | None:
    """`repo` itself when git takes it for a git dir (a bare repository: no `.git` in it, a
    `HEAD` file, `objects/` and `refs/` folders, none a symlink), as git's discovery does."""
    parts = (repo / ".git", repo / "HEAD", repo / "objects", repo / "refs")
    if os.path.lexists(parts[0]) or any(p.is_symlink() for p in parts[1:]):
        return None
    if not (parts[1].is_file() and parts[2].is_dir() and parts[3].is_dir()):
        return None
    try:
        head = parts[1].read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    # a HEAD git would not accept sends it on to a parent folder, whose config is another
    return repo if head.startswith("ref: refs/") or _SHA.fullmatch(head) else None


_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _config_stamp(repo: Path) -> tuple[object, ...] | None:
    """(path, inode, size, mtime, ctime) of the repository's config and config.worktree;
    None when its git dir cannot be told without git (then nothing is remembered)."""
    git_dir = git_dir_of(repo) or _bare_git_dir(repo)
    if git_dir is None:
        return None
    try:
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
        stamp: list[object] = [str(git_dir), str(common)]
        for path in (common / "config", git_dir / "config.worktree"):
            if path.is_symlink():
                return None
            try:
                st = path.stat()
            except FileNotFoundError:
                stamp.append((str(path), None))
                continue
            stamp.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        return tuple(stamp)
    except OSError:
        return None


def nested_repositories(root: Path) -> list[Path]:
    """Repositories below root whose config git may read while it works in root: tracked
    submodules, and repositories in untracked folders that are not ignored and not build
    output (`git add -A` would record them as submodules). Symlinks are not followed."""
    return _working_tree_listing(root)[0]


def _working_tree_listing(root: Path) -> tuple[list[Path], list[str]]:
    """The nested repositories (see nested_repositories) and the paths the index tracks."""
    # One listing for both: staged entries come as `<mode> <sha> <stage>\t<path>`, untracked
    # folders as `<path>/` (a staged entry is never a folder, so a folder named like a staged
    # entry is still searched).
    args = ["ls-files", "-z", "--stage", "--others", "--exclude-standard", "--directory"]
    found: set[Path] = set()
    tracked: list[str] = []
    for record in _listing(root, args):
        if record.endswith("/"):
            if not is_build_output(record + "_"):
                found.update(_repositories_in(root / record))
        elif "\t" in record and _STAGED.match(record):
            path = record.split("\t", 1)[1]
            tracked.append(path)
            if record.startswith("160000 "):
                found.add(root / path)
    return sorted(found), tracked


_STAGED = re.compile(r"[0-7]{6} [0-9a-f]+ [0-3]\t")


def _listing(root: Path, args: list[str]) -> list[str]:
    """The NUL-separated records a listing command prints; none where it cannot run (a bare
    repository has no working tree to list)."""
    done = _spawn(_argv(args, root), _environment(root, {}, None), None, 600.0, check=False)
    if done.returncode != 0:
        return []
    return [r for r in done.stdout.decode("utf-8", "replace").split("\0") if r]


def _repositories_in(folder: Path) -> list[Path]:
    """Folders at or below `folder` that hold a `.git`, build output and symlinks skipped."""
    found: list[Path] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.name == ".git":
                found.append(current)
            elif entry.is_dir(follow_symlinks=False) and entry.name not in BUILD_OUTPUT_DIRS:
                pending.append(Path(entry.path))
    return found


def repository_config_entries(repo: Path) -> list[tuple[str, str, str]]:
    """(scope, key, value) of every entry in the repository's local and worktree config, with
    the files they include."""
    argv = [*_argv(["config", "--list", "--show-scope", "--includes", "-z"], repo)]
    done = _spawn(argv, _environment(repo, {}, None), None, 60.0, check=False)
    if done.returncode != 0:
        # Not a repository (or one git cannot read): the command itself will say so.
        return []
    entries = []
    scope = ""
    for record in done.stdout.decode("utf-8", errors="replace").split("\0"):
        if scope in ("local", "worktree"):
            key, _, value = record.partition("\n")
            entries.append((scope, key, value))
        scope = record if record in _SCOPES else ""
    return entries


_SCOPES = frozenset({"system", "global", "local", "worktree", "command"})


def is_inert(key: str, value: str = "") -> bool:
    """Whether a repository may set this config key (git's lower-cased spelling or not)."""
    folded = _fold(key)
    if folded == "core.fsmonitor" and value.lower() not in _BOOLEANS:
        return False  # a hook command, not the built-in daemon (pinned off all the same)
    return bool(_INERT_KEYS.fullmatch(folded)) and not _COMMAND_KEYS.fullmatch(folded)


_BOOLEANS = frozenset({"", "true", "false", "yes", "no", "on", "off", "1", "0"})


def _fold(key: str) -> str:
    """Section and name lower-cased, as git compares them; the subsection as written."""
    section, _, rest = key.partition(".")
    middle, _, name = rest.rpartition(".")
    if not middle:
        return f"{section.lower()}.{rest.lower()}"
    return f"{section.lower()}.{middle}.{name.lower()}"


def _check_auth_use(args: Sequence[str], repo: Path | None) -> None:
    command = _subcommand(args)
    if command not in NETWORK_COMMANDS:
        raise ValueError(f"a credential is never passed to `git {command}`")
    if repo is not None and (repo / ".git").exists():
        raise ValueError(f"a credential is never passed to git in a working tree ({repo})")


PATCH_COMMANDS = frozenset({"diff", "log", "show"})
"""Porcelain that prints patches: never through an external diff or a textconv command
(`diff.external` cannot be pinned off on the command line: an empty value is run)."""


def _argv(args: Sequence[str], repo: Path | None) -> list[str]:
    pinned = [part for key, value in PINNED_CONFIG for part in ("-c", f"{key}={value}")]
    where = ["-C", str(repo)] if repo is not None else []
    args = list(args)
    if _subcommand(args) in PATCH_COMMANDS:
        at = _subcommand_at(args) + 1  # after leading options such as --no-optional-locks
        args[at:at] = ["--no-ext-diff", "--no-textconv"]
    return ["git", *pinned, *where, *args]


def _environment(
    repo: Path | None,
    extra: Mapping[str, str],
    auth: Mapping[str, str] | None,
    *,
    network: bool = False,
) -> dict[str, str]:
    names = _PASSED_ENV + (_NETWORK_ENV if network else ())
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="true",
        GIT_NO_REPLACE_OBJECTS="1",
        LC_ALL="C",
    )
    for index, (key, value) in enumerate((auth or {}).items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if auth:
        env["GIT_CONFIG_COUNT"] = str(len(auth))
    env.update(extra)
    return env


def _spawn(
    argv: list[str], env: dict[str, str], stdin: bytes | None, timeout_s: float, check: bool
) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, env=env, timeout=timeout_s, check=False
        )
    except FileNotFoundError as exc:
        raise GitCommandError("git is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitCommandError(f"git {_command(argv)} timed out after {timeout_s:.0f}s") from exc
    if check and done.returncode != 0:
        text = (done.stderr or done.stdout).decode("utf-8", errors="replace").strip()
        lines = text.splitlines()
        raise GitCommandError(f"git {_command(argv)} failed: {' '.join(lines[-3:])}")
    return done


def _subcommand(args: Sequence[str]) -> str:
    """The subcommand in git's arguments, after any `-c KEY=VALUE` pairs and options."""
    at = _subcommand_at(args)
    return args[at] if at < len(args) else ""


def _subcommand_at(args: Sequence[str]) -> int:
    at = 0
    while at < len(args) and args[at].startswith("-"):
        at += 2 if args[at] in ("-c", "-C") else 1
    return at


def _command(argv: Sequence[str]) -> str:
    """The git subcommand in a full argv (after the pinned `-c` pairs, `-C DIR` and options)."""
    return _subcommand(argv[1:]) or "git"
