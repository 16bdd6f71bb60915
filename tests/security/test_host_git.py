"""corral's git on the host against a repository whose git directory hostile code wrote.

Each attack is run twice: once as plain git (as corral ran it before `corral.git`), where it
must succeed (the marker file appears, or the secret is dumped), and once through
`corral.git.run_git`, where it must not. So each test fails when its defence is taken away.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from corral.git import GitConfigRefused, command, run_git
from corral.git.command import git_text, is_inert
from corral.git.worktree import working_tree
from corral.testing.cli import run_corral
from corral.testing.repos import GIT_ENV, init_repo, notes_repo

SRC = Path(__file__).resolve().parents[2] / "src" / "corral"
FAKE_SECRETS = {
    "GITHUB_TOKEN": "ghp_FAKE_forge_token_0001",
    "ANTHROPIC_API_KEY": "sk-ant-FAKE-model-key-0002",
    "CORRAL_DASHBOARD_TOKEN": "FAKE-dashboard-token-0003",
}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in FAKE_SECRETS.items():
        monkeypatch.setenv(name, value)
    return FAKE_SECRETS


@pytest.fixture
def repo(tmp_path: Path, secrets: dict[str, str]) -> Path:
    return init_repo(tmp_path / "repo", {"a.txt": "one\n", "b.txt": "two\n"})


def plain_git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """git as corral ran it before: the caller's whole environment, nothing pinned."""
    import os

    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
    )


def config(repo: Path, key: str, value: str) -> None:
    subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)


def dump_command(marker: Path) -> str:
    """A shell command that records it ran, with the environment it saw."""
    return f"env > {marker}; cat"


Attack = Callable[[Path, Path], None]


def fsmonitor(repo: Path, marker: Path) -> None:
    config(repo, "core.fsmonitor", f"env > {marker}; false")


def clean_filter(repo: Path, marker: Path) -> None:
    config(repo, "filter.evil.clean", dump_command(marker))
    (repo / ".gitattributes").write_text("* filter=evil\n")
    (repo / "a.txt").write_text("changed\n")


def textconv(repo: Path, marker: Path) -> None:
    config(repo, "diff.evil.textconv", f"env > {marker}; cat")
    (repo / ".gitattributes").write_text("*.txt diff=evil\n")
    (repo / "a.txt").write_text("changed\n")


def included_filter(repo: Path, marker: Path) -> None:
    extra = repo / ".git" / "extra.conf"
    extra.write_text(f'[filter "evil"]\n\tclean = {dump_command(marker)}\n')
    config(repo, "include.path", str(extra))
    (repo / ".gitattributes").write_text("* filter=evil\n")
    (repo / "a.txt").write_text("changed\n")


def worktree_config(repo: Path, marker: Path) -> None:
    config(repo, "extensions.worktreeConfig", "true")
    (repo / ".git" / "config.worktree").write_text(
        f'[filter "evil"]\n\tclean = {dump_command(marker)}\n'
    )
    (repo / ".gitattributes").write_text("* filter=evil\n")
    (repo / "a.txt").write_text("changed\n")


def nested_repository(repo: Path, marker: Path) -> None:
    """A change creates sub/.git (a folder the sandbox may write) with a filter of its own;
    once sub is in the index, git runs `git status` inside it."""
    sub = repo / "sub"
    sub.mkdir()
    subprocess.run(["git", "-C", str(sub), "init", "-q"], check=True)
    (sub / "f.txt").write_text("x\n")
    subprocess.run(["git", "-C", str(sub), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(sub), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "i"],
        check=True,
    )
    config(sub, "filter.evil.clean", dump_command(marker))
    (sub / ".gitattributes").write_text("* filter=evil\n")
    subprocess.run(["git", "-C", str(repo), "add", "sub"], check=True, capture_output=True)
    (sub / "f.txt").write_text("y\n")


REFUSED_ATTACKS: dict[str, tuple[Attack, tuple[str, ...]]] = {
    "fsmonitor command": (fsmonitor, ("status",)),
    "filter.clean": (clean_filter, ("add", "-A")),
    "diff textconv": (textconv, ("diff", "HEAD")),
    "include.path": (included_filter, ("add", "-A")),
    "worktree config": (worktree_config, ("add", "-A")),
    "nested repository": (nested_repository, ("status",)),
}


@pytest.mark.parametrize("name", REFUSED_ATTACKS)
def test_config_that_runs_code_works_on_plain_git_and_is_refused(
    name: str, repo: Path, tmp_path: Path, secrets: dict[str, str]
) -> None:
    attack, args = REFUSED_ATTACKS[name]
    marker = tmp_path / "marker"
    attack(repo, marker)

    plain_git(repo, *args)
    assert marker.is_file(), f"{name}: the attack does not work on plain git"
    assert secrets["GITHUB_TOKEN"] in marker.read_text(), "plain git passes the environment"
    marker.unlink()

    with pytest.raises(GitConfigRefused, match="could run a program"):
        run_git(args, repo=repo)
    with pytest.raises(GitConfigRefused):
        working_tree(repo)
    assert not marker.exists()


def test_hooks_run_under_plain_git_and_never_under_run_git(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text(f"#!/bin/sh\nenv > {marker}\n")
    hook.chmod(0o755)
    plain_git(repo, "commit", "-q", "--allow-empty", "-m", "plain")
    assert marker.is_file()
    marker.unlink()

    run_git(["commit", "-q", "--allow-empty", "-m", "hardened"], repo=repo, env=GIT_ENV)
    run_git(["update-ref", "refs/heads/other", "HEAD"], repo=repo)
    assert not marker.exists()


def test_a_hooks_path_in_the_tree_is_pinned_off(repo: Path, tmp_path: Path) -> None:
    """husky sets core.hooksPath in the repository's config: allowed, and never run."""
    marker = tmp_path / "marker"
    hooks = repo / ".husky"
    hooks.mkdir()
    (hooks / "pre-commit").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (hooks / "pre-commit").chmod(0o755)
    config(repo, "core.hooksPath", ".husky")
    plain_git(repo, "commit", "-q", "--allow-empty", "-m", "plain")
    assert marker.is_file()
    marker.unlink()

    run_git(["commit", "-q", "--allow-empty", "-m", "hardened"], repo=repo, env=GIT_ENV)
    assert not marker.exists()


def test_builtin_fsmonitor_setting_is_allowed_and_pinned_off(repo: Path) -> None:
    config(repo, "core.fsmonitor", "true")
    assert git_text(["status", "--porcelain"], repo=repo) == ""


def test_git_gets_no_secret_even_from_a_filter_the_operator_trusts(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secrets: dict[str, str]
) -> None:
    """A filter in the operator's global config (git-lfs, say) runs; it sees no secret."""
    home = tmp_path / "home"
    home.mkdir()
    marker = tmp_path / "marker"
    (home / ".gitconfig").write_text(f'[filter "dump"]\n\tclean = {dump_command(marker)}\n')
    monkeypatch.setenv("HOME", str(home))
    (repo / ".gitattributes").write_text("* filter=dump\n")
    (repo / "a.txt").write_text("changed\n")

    plain_git(repo, "add", "-A")
    assert secrets["ANTHROPIC_API_KEY"] in marker.read_text()
    plain_git(repo, "reset", "-q")
    marker.unlink()

    working_tree(repo)
    seen = marker.read_text()
    assert not [name for name, value in secrets.items() if value in seen]


def test_a_credential_never_reaches_a_working_tree_command(repo: Path) -> None:
    auth = {"http.https://forge.invalid/.extraHeader": "Authorization: Basic FAKE"}
    with pytest.raises(ValueError, match="never passed to `git status`"):
        run_git(["status"], repo=repo, auth=auth)
    with pytest.raises(ValueError, match="working tree"):
        run_git(["fetch", "origin"], repo=repo, auth=auth)


def test_only_corral_git_starts_git() -> None:
    """No module outside corral/git/ spawns git: a new call cannot forget the defences."""
    spawn = re.compile(r"""[\[(]\s*["']git["']\s*,|which\(\s*["']git["']""")
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        if "git" not in path.relative_to(SRC).parts[:1]
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if spawn.search(line)
    ]
    assert offenders == []


# Hostile change commands and repositories, through corral's own commands.

HOSTILE = """\
#!/bin/sh
# Writes the checkout's git metadata the way a hostile codemod, test or postinstall would:
# every entry runs `env` into a marker folder if corral's git on the host ever obeys it.
M={markers}
G={git_dir}
cat >> "$G/config" <<CONFIG || true
[core]
\tfsmonitor = "env > $M/fsmonitor; false"
[filter "evil"]
\tclean = "env > $M/filter-clean; cat"
\tsmudge = "env > $M/filter-smudge; cat"
[diff "evil"]
\ttextconv = "env > $M/textconv; cat"
CONFIG
for hook in pre-commit post-commit post-checkout reference-transaction post-index-change \\
    pre-push; do
  printf '#!/bin/sh\\nenv > %s/hook-%s\\n' "$M" "$hook" > "$G/hooks/$hook" 2>/dev/null &&
    chmod +x "$G/hooks/$hook"
done
printf '* filter=evil diff=evil\\n' > .gitattributes
printf 'Changed by the command.\\n' >> NOTES.md
"""


def hostile_script(tmp_path: Path, git_dir: str) -> Path:
    markers = tmp_path / "markers"
    markers.mkdir(exist_ok=True)
    script = tmp_path / f"hostile-{len(list(tmp_path.glob('hostile-*')))}.sh"
    script.write_text(HOSTILE.format(markers=markers, git_dir=git_dir))
    script.chmod(0o755)
    return script


def markers_left(tmp_path: Path) -> list[str]:
    folder = tmp_path / "markers"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def corral_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_corral(*args)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert not [name for name, value in FAKE_SECRETS.items() if value in text], text


def notes_checkout(tmp_path: Path, *, gitlink: bool) -> Path:
    root = init_repo(tmp_path / "checkout", notes_repo())
    if gitlink:
        (root / "gitlink").symlink_to(".git")
        plain_git(root, "add", "gitlink")
        plain_git(root, "commit", "-qm", "a committed symlink to .git")
    return root


GIT_DIRS = {"direct": ".git", "through a committed symlink": "gitlink"}


@pytest.mark.parametrize("way", GIT_DIRS)
def test_corral_change_command_cannot_make_host_git_run_code(
    way: str, tmp_path: Path, secrets: dict[str, str]
) -> None:
    root = notes_checkout(tmp_path, gitlink=way != "direct")
    script = hostile_script(tmp_path, GIT_DIRS[way])
    done = corral_cli("change", str(root), "--command", f"sh {script}", "--sandbox", "local")
    assert (root / ".git" / "hooks" / "post-commit").is_file(), "the command did not run"
    assert markers_left(tmp_path) == []
    assert done.returncode == 1, done.stdout + done.stderr
    assert "could run a program" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr
    assert_no_secret(done.stdout, done.stderr)

    # The same checkout under plain git, as corral read it before: the attack fires.
    plain_git(root, "status", "--porcelain", "--untracked-files=all")
    assert "fsmonitor" in markers_left(tmp_path)
    assert secrets["GITHUB_TOKEN"] in (tmp_path / "markers" / "fsmonitor").read_text()


def test_corral_verify_baseline_on_a_repository_whose_check_writes_git_config(
    tmp_path: Path, secrets: dict[str, str]
) -> None:
    """The repository's own check (a custom verifier) is the attacker; the baseline's
    `git worktree add` is what used to run its filter and post-checkout hook on the host."""
    script = hostile_script(tmp_path, "$(git rev-parse --git-common-dir)")
    config = notes_repo()[".corral.yaml"].replace(
        'command: ["sh", "-c", "', f'command: ["sh", "-c", "sh {script} >/dev/null; '
    )
    root = init_repo(tmp_path / "checkout", {**notes_repo(), ".corral.yaml": config})
    (root / "NOTES.md").write_text("Release notes, edited.\n")
    first = corral_cli("verify", str(root), "--baseline", "HEAD", "--sandbox", "local")
    assert (root / ".git" / "hooks" / "post-checkout").is_file(), first.stdout + first.stderr
    # The next run's baseline checkout is where git would obey what the check wrote.
    done = corral_cli("verify", str(root), "--baseline", "HEAD", "--sandbox", "local")
    assert markers_left(tmp_path) == []
    assert done.returncode == 2, done.stdout + done.stderr
    assert "could run a program" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert_no_secret(first.stdout, first.stderr, done.stdout, done.stderr)

    plain_git(root, "worktree", "add", "--detach", str(tmp_path / "plain-baseline"), "HEAD")
    assert "hook-post-checkout" in markers_left(tmp_path)


def hostile_campaign(tmp_path: Path, way: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`corral run` of the hostile command over one repository on the local forge."""
    forge = tmp_path / "forge"
    seed = notes_checkout(tmp_path, gitlink=way != "direct")
    remote = forge / "notes.git"
    remote.mkdir(parents=True)
    plain_git(remote, "init", "-q", "--bare", "-b", "main")
    plain_git(seed, "push", "-q", str(remote), "main")
    script = hostile_script(tmp_path, GIT_DIRS[way])
    spec = tmp_path / "spec.yaml"
    targets = {"repos": [str(remote)]}
    spec.write_text(json.dumps({"name": "hostile", "command": f"sh {script}", "targets": targets}))
    runtime = ["--store", str(tmp_path / "corral.db"), "--work-dir", str(tmp_path / "work")]
    runtime += ["--cache-dir", str(tmp_path / "cache"), "--sandbox", "local"]
    return corral_cli("run", str(spec), "--json", *runtime), remote


@pytest.mark.parametrize("way", GIT_DIRS)
def test_a_campaign_with_a_hostile_command_ends_failed_with_no_pr(
    way: str, tmp_path: Path, secrets: dict[str, str]
) -> None:
    done, remote = hostile_campaign(tmp_path, way)
    jobs = json.loads(done.stdout)["jobs"]
    assert [job["state"] for job in jobs] == ["failed"], done.stdout
    assert "could run a program" in jobs[0]["reason"]
    assert plain_git(remote, "branch", "--list", "corral/*").stdout.strip() == ""
    assert markers_left(tmp_path) == []
    assert_no_secret(done.stdout, done.stderr)


REFUSED_KEYS = [
    ("core.fsmonitor", "touch /tmp/x"),
    ("filter.lfs.process", "x"),
    ("diff.md.textconv", "x"),
    ("diff.md.command", "x"),
    ("merge.ours.driver", "x"),
    ("include.path", "x"),
    ("includeIf.gitdir:/.path", "x"),
    ("core.worktree", "/"),
    ("core.sshCommand", "x"),
    ("core.editor", "x"),
    ("core.askPass", "x"),
    ("url.https://evil/.insteadOf", "https://forge/"),
    ("credential.helper", "x"),
    ("remote.origin.uploadpack", "x"),
    ("http.sslVerify", "false"),
    ("gpg.program", "x"),
    ("alias.status", "!x"),
]
ALLOWED_KEYS = [
    ("core.fsmonitor", "true"),
    ("core.hooksPath", ".husky"),
    ("commit.gpgSign", "true"),
    ("remote.origin.url", "https://forge/r.git"),
    ("branch.main.merge", "refs/heads/main"),
    ("user.email", "a@b"),
    ("extensions.objectFormat", "sha1"),
]


@pytest.mark.parametrize(("key", "value"), REFUSED_KEYS)
def test_keys_that_run_programs_or_redirect_are_refused(key: str, value: str) -> None:
    assert not is_inert(key, value)


@pytest.mark.parametrize(("key", "value"), ALLOWED_KEYS)
def test_everyday_repository_settings_are_allowed(key: str, value: str) -> None:
    assert is_inert(key, value)


def test_a_config_checked_before_is_checked_again_once_it_changes(tmp_path: Path) -> None:
    """corral remembers a repository whose config it found inert (by the config file's
    stat): a key added afterwards is still refused, in a worktree's config too."""
    repo = init_repo(tmp_path / "repo", notes_repo())
    run_git(["status"], repo=repo)
    run_git(["status"], repo=repo)  # remembered
    with (repo / ".git" / "config").open("a") as config:
        config.write("[core]\n\tsshCommand = touch /tmp/corral-pwned\n")
    with pytest.raises(GitConfigRefused, match=r"core\.sshcommand"):
        run_git(["status"], repo=repo)


NO_EXT = ["--no-ext-diff", "--no-textconv"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["diff", "HEAD"], ["diff", *NO_EXT, "HEAD"]),
        (["--no-optional-locks", "diff", "HEAD"], ["--no-optional-locks", "diff", *NO_EXT, "HEAD"]),
        (
            ["-c", "core.quotepath=off", "log", "-p"],
            ["-c", "core.quotepath=off", "log", *NO_EXT, "-p"],
        ),
        (["-C", "diff", "show", "HEAD"], ["-C", "diff", "show", *NO_EXT, "HEAD"]),
        (["-C", "diff", "status"], ["-C", "diff", "status"]),
    ],
)
def test_patch_commands_never_run_an_external_diff_whatever_options_lead(
    args: list[str], expected: list[str]
) -> None:
    """The guard and the gate call git with options before the command (a folder named like
    a command is not one)."""
    assert command._argv(args, None)[-len(expected) :] == expected
