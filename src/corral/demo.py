"""`corral demo`: a campaign over a few small repositories on the local forge, end to end.

The campaign adds an SPDX license header to every source file and removes stray backup
files. Its change command is right for most repositories, and wrong in two in ways real
codemods are: it writes the header above a Node script's shebang (the build breaks: the
gate stops it, no PR) and it takes a live test file for a backup (the guard vetoes it).
The other repositories get a pull request on the local forge.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from corral.config import ConfigError
from corral.engine.base import OnChange
from corral.engine.campaign import run_campaign
from corral.git.command import run_git
from corral.pipeline.context import CampaignContext, Runtime
from corral.pipeline.summary import CampaignSummary, JobLine
from corral.sandbox import BACKENDS, Backend, default_cache_dir, make_runner, warn_local_once
from corral.spec import load_spec
from corral.states import Outcome, Reason
from corral.store import Store, default_store_url
from corral.testing.samples import sample

CAMPAIGN = "demo"
HEADER = "SPDX-License-Identifier: Apache-2.0"

CODEMOD = f'''\
import os, pathlib
HEADER = "{HEADER}"
COMMENT = {{".py": "#", ".go": "//", ".rs": "//", ".js": "//", ".ts": "//"}}
BACKUPS = ("*.orig", "*.bak", "*_old.*")
for root, dirs, files in os.walk("."):
    dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("node_modules", "target")]
    for name in files:
        path = pathlib.Path(root, name)
        if any(path.match(pattern) for pattern in BACKUPS):
            path.unlink()
            continue
        comment = COMMENT.get(path.suffix)
        text = path.read_text()
        if comment and HEADER not in text:
            path.write_text(f"{{comment}} {{HEADER}}\\n\\n{{text}}")
'''
"""The change command's script: naive on purpose about shebangs and about what a backup is."""

PROMPT = f"""\
Add the license header `{HEADER}` as a comment on the first line of every source file
(Python, Go, Rust, JavaScript, TypeScript) that lacks it, keeping any shebang line first.
Delete stray backup files (*.orig, *.bak) if there are any. Change nothing else.
"""


@dataclass(frozen=True)
class DemoRepo:
    name: str
    files: dict[str, str]
    expect: Outcome
    story: str


def demo_repos() -> list[DemoRepo]:
    python, go, cargo = sample("python"), sample("go"), sample("cargo")
    return [
        DemoRepo("inventory-go", go.clean(), Outcome.PR_OPEN, "headers added: PR opened"),
        DemoRepo("billing-py", python.clean(), Outcome.PR_OPEN, "headers added: PR opened"),
        DemoRepo(
            "ledger-rs",
            {**cargo.clean(), ".gitignore": "/target\nCargo.lock\n"},
            Outcome.PR_OPEN,
            "headers added: PR opened",
        ),
        DemoRepo(
            "payments-js",
            _node_cli_package(),
            Outcome.NO_PR,
            "the header went above the shebang of bin/fee.js, so the build broke: "
            "the gate's verifiers stopped it",
        ),
        DemoRepo(
            "reports-py",
            {**python.clean(), "tests/test_calc_old.py": _LEGACY_TEST},
            Outcome.NO_PR,
            "the codemod took tests/test_calc_old.py for a backup and deleted it: "
            "the guard vetoed the lost test",
        ),
    ]


_LEGACY_TEST = """\
from calc import add


def test_add_negative() -> None:
    assert add(-2, -3) == -5
"""


def _node_cli_package() -> dict[str, str]:
    package = {
        "name": "payments",
        "version": "1.0.0",
        "private": True,
        "type": "module",
        "bin": {"fee": "bin/fee.js"},
        "scripts": {"test": "node --test"},
    }
    fee = textwrap.dedent(
        """\
        #!/usr/bin/env node
        /** The card fee in cents for an amount in cents. */
        export function fee(amount) {
          return Math.round(amount * 0.029) + 30;
        }

        if (import.meta.url === `file://${process.argv[1]}`) {
          console.log(fee(Number(process.argv[2])));
        }
        """
    )
    test = textwrap.dedent(
        """\
        import { test } from "node:test";
        import assert from "node:assert/strict";
        import { fee } from "../bin/fee.js";

        test("fee on ten euros", () => {
          assert.equal(fee(1000), 59);
        });
        """
    )
    return {
        "package.json": json.dumps(package, indent=2) + "\n",
        ".gitignore": "node_modules/\n",
        "bin/fee.js": fee,
        "test/fee.test.js": test,
    }


def build_forge(directory: Path, repos: list[DemoRepo]) -> dict[str, Path]:
    """Bare repositories in directory/forge, each with one commit on main."""
    forge = directory / "forge"
    shutil.rmtree(forge, ignore_errors=True)
    forge.mkdir(parents=True)
    remotes = {}
    for repo in repos:
        remote = forge / f"{repo.name}.git"
        _git("init", "-q", "--bare", "-b", "main", str(remote))
        with tempfile.TemporaryDirectory(prefix="corral-demo-") as tmp:
            tree = Path(tmp)
            for rel, content in repo.files.items():
                (tree / rel).parent.mkdir(parents=True, exist_ok=True)
                (tree / rel).write_text(content)
            _git("init", "-q", "-b", "main", str(tree))
            _git("add", "-A", repo=tree)
            _git("commit", "-q", "-m", f"{repo.name}: initial commit", repo=tree)
            _git("push", "-q", str(remote), "main", repo=tree)
        remotes[repo.name] = remote
    return remotes


def write_spec(directory: Path, remotes: dict[str, Path], agent: str) -> Path:
    change = (
        f"prompt: |\n{textwrap.indent(PROMPT, '  ')}"
        if agent == "builtin"
        else f"command: |\n  python3 - <<'CODEMOD'\n{textwrap.indent(CODEMOD, '  ')}  CODEMOD\n"
    )
    repos = "\n".join(f"    - {path}" for path in remotes.values())
    spec = directory / "campaign.yaml"
    spec.write_text(
        f"name: {CAMPAIGN}\n"
        f"{change}"
        f"{_agent_block(agent)}"
        "targets:\n"
        f"  repos:\n{repos}\n"
        "pull_request:\n"
        '  title: "Add SPDX license headers"\n'
        "concurrency: 3\n"
    )
    return spec


DEMO_MODELS = {
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "claude-sonnet-4-5"),
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL", "gpt-4.1"),
}
"""Provider -> the key's variable, the endpoint's variable (the SDKs' own), the model."""


def _agent_block(agent: str) -> str:
    """The spec's agent: the first provider whose key is set, at its endpoint if one is set."""
    if agent != "builtin":
        return ""
    for provider, (key_env, url_env, model) in DEMO_MODELS.items():
        if os.environ.get(key_env):
            base_url = os.environ.get(url_env)
            endpoint = f"    base_url: {json.dumps(base_url)}\n" if base_url else ""
            return (
                "agent:\n  kind: builtin\n  model:\n"
                f"    provider: {provider}\n    model: {model}\n{endpoint}"
            )
    raise DemoError("--agent builtin needs ANTHROPIC_API_KEY or OPENAI_API_KEY set")


class DemoError(ConfigError):
    """The demo cannot run as asked (bad option, no model key)."""


def choose_sandbox(requested: str | None, cache_dir: Path, warn: Callable[[str], None]) -> Backend:
    """bwrap when it works on this machine; the local runner (with a warning) otherwise."""
    if requested in BACKENDS:
        return requested
    try:
        with tempfile.TemporaryDirectory(prefix="corral-probe-") as tmp:
            runner = make_runner("bwrap", workspace=Path(tmp), cache_dir=cache_dir)
            if runner.run(["true"], cwd=Path(tmp)).ok:
                return "bwrap"
    except Exception as exc:  # any failure to sandbox means: say so, and run unisolated
        warn(f"bubblewrap is not usable here ({exc})")
    warn_local_once(lambda text: warn(f"the demo runs with {text}"))
    return "local"


def run_demo(
    directory: Path,
    *,
    agent: str = "command",
    store_url: str | None = None,
    sandbox: str | None = None,
    warn: Callable[[str], None] = lambda _text: None,
    on_start: Callable[[CampaignContext], None] | None = None,
    on_change: OnChange | None = None,
) -> tuple[CampaignSummary, list[DemoRepo]]:
    """Build the demo's repositories in `directory` and run its campaign over them."""
    if agent not in ("command", "builtin"):
        raise DemoError(f"unknown agent {agent!r}: use command or builtin")
    directory.mkdir(parents=True, exist_ok=True)
    repos = demo_repos()
    remotes = build_forge(directory, repos)
    spec_path = write_spec(directory, remotes, agent)
    spec = load_spec(spec_path)
    store_url = store_url or default_store_url()
    _forget_previous_demo(store_url)
    shutil.rmtree(directory / "work", ignore_errors=True)
    cache_dir = default_cache_dir(CAMPAIGN)
    runtime = Runtime(
        store_url=store_url,
        work_dir=directory / "work",
        cache_dir=cache_dir,
        sandbox=choose_sandbox(sandbox, cache_dir, warn),
    )
    summary = run_campaign(spec, runtime, on_change=on_change, on_start=on_start)
    return summary, repos


def _forget_previous_demo(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        previous = store.campaign(CAMPAIGN)
        if previous is not None:
            store.delete_campaign(previous.id)
    finally:
        store.close()


def as_expected(line: JobLine, repo: DemoRepo) -> bool:
    """Whether a demo repository ended the way the demo means it to."""
    return line.outcome == repo.expect and (
        repo.expect != Outcome.NO_PR or line.job.reason_code == Reason.GATE_VETOED
    )


def _git(*args: str, repo: Path | None = None) -> None:
    run_git(args, repo=repo, env=_DEMO_IDENTITY)


_DEMO_IDENTITY = {
    "GIT_AUTHOR_NAME": "corral demo",
    "GIT_AUTHOR_EMAIL": "demo@corral.invalid",
    "GIT_COMMITTER_NAME": "corral demo",
    "GIT_COMMITTER_EMAIL": "demo@corral.invalid",
}
