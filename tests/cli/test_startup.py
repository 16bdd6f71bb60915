"""What a `corral` call loads: the app alone none of the heavy stacks, a command call only its
own command module, and the table that says which module registers each command matches
what the modules register."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from corral.cli import commands

HEAVY = ("sqlalchemy", "temporalio", "anthropic", "openai", "fastapi", "uvicorn", "alembic")


def loaded_after(code: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `code` in a fresh interpreter; the modules it had loaded at the end."""
    script = (
        "import json, sys\n"
        f"{code}\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    marker = done.stderr.rfind("MODULES ")
    assert marker >= 0, done.stderr
    return done, set(json.loads(done.stderr[marker + len("MODULES ") :]))


def top_modules(loaded: set[str]) -> set[str]:
    return {name.split(".")[0] for name in loaded}


def test_importing_the_app_loads_no_store_engine_sdk_web_or_rich() -> None:
    _, loaded = loaded_after("import corral.cli.app")

    assert not top_modules(loaded) & {*HEAVY, "rich", "pydantic"}
    assert not {m for m in loaded if m.startswith("corral.cli.")} - {
        "corral.cli.app",
        "corral.cli.exit_codes",
    }


def call(*argv: str) -> str:
    return (
        f"sys.argv = ['corral', *{list(argv)!r}]\n"
        "from corral.cli.app import run\n"
        "try:\n    run()\nexcept SystemExit as exc:\n    print('EXIT', exc.code)\n"
    )


def test_a_command_call_loads_its_own_command_module_only() -> None:
    done, loaded = loaded_after(call("verify", "--help"))

    assert "Usage: corral verify" in done.stdout and "EXIT 0" in done.stdout, done.stdout
    assert {m for m in loaded if m.startswith("corral.cli.")} == {
        "corral.cli.app",
        "corral.cli.commands",
        "corral.cli.exit_codes",
        "corral.cli.verify",
    }
    assert not top_modules(loaded) & set(HEAVY)


def test_a_command_call_parses_its_options_without_pydantic(tmp_path: Path) -> None:
    """The CLI layer's option parsing stays off pydantic (Typer 0.29 coerces each option
    through it, +0.12 s per call); the command body itself may load it when it needs it."""
    done, loaded = loaded_after(call("verify", "--json", str(tmp_path / "missing")))

    assert "EXIT 2" in done.stdout, done.stdout + done.stderr
    assert "pydantic" not in top_modules(loaded)


def test_help_and_unknown_names_load_every_command() -> None:
    for argv in (("--help",), ("no-such-command",)):
        _, loaded = loaded_after(call(*argv))

        assert {f"corral.cli.{module}" for module in commands.MODULES} <= loaded, argv


def test_status_as_json_loads_no_table_rendering(tmp_path: Path) -> None:
    done, loaded = loaded_after(call("status", "--store", str(tmp_path / "c.db"), "--json"))

    assert "EXIT 0" in done.stdout, done.stdout + done.stderr
    assert "corral.cli.render" not in loaded
    assert "corral.sandbox" not in loaded  # the store no longer drags the verifiers in
    assert "rich.table" not in loaded


def test_status_as_a_table_loads_no_sandbox(tmp_path: Path) -> None:
    done, loaded = loaded_after(call("status", "--store", str(tmp_path / "c.db")))

    assert "campaigns" in done.stdout and "EXIT 0" in done.stdout, done.stdout + done.stderr
    assert "corral.cli.render" in loaded
    assert "corral.sandbox" not in loaded  # kill_running loads with a run's Ctrl-C handler


def _registered() -> dict[str, set[str]]:
    """Top-level command or group name -> the modules whose functions it runs."""
    from typer.main import get_command_name

    from corral.cli.app import app

    commands.load()
    names: dict[str, set[str]] = {}
    for info in app.registered_commands:
        assert info.callback is not None
        name = info.name or get_command_name(info.callback.__name__)
        names.setdefault(name, set()).add(info.callback.__module__)
    for group in app.registered_groups:
        sub = group.typer_instance
        assert group.name is not None and sub is not None
        modules = {c.callback.__module__ for c in sub.registered_commands if c.callback}
        names.setdefault(group.name, set()).update(modules)
    return names


def test_the_command_table_matches_what_the_modules_register() -> None:
    registered = _registered()

    assert set(commands.COMMANDS) == set(registered)
    for name, modules in registered.items():
        assert modules <= {f"corral.cli.{m}" for m in commands.COMMANDS[name]}, name
    assert {m for ms in commands.COMMANDS.values() for m in ms} == set(commands.MODULES)
