"""Dependency environments shared between checkouts of one repository (issue 17): keyed by
what the install reads, never by the checkout's path, and each checkout tested on its own code."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from corral.sandbox.local import LocalRunner
from corral.testing.repos import git, write_files
from corral.testing.samples import cargo as cargo_sample
from corral.testing.samples import node as node_sample
from corral.testing.samples import python as sample
from corral.verifiers import verify
from corral.verifiers.python import ProjectConfig, shareable

FLAT_SETUPTOOLS = {
    "pyproject.toml": """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "corral-flat-calc"
version = "0.1.0"

[tool.setuptools]
packages = ["flatcalc"]
""",
    "flatcalc/__init__.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "tests/test_flat.py": "from flatcalc import add\n\n\ndef test_add() -> None:\n"
    "    assert add(2, 3) == 5\n",
}


def clones(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path]:
    """Two checkouts of one origin at different paths, as two campaign jobs get them."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    write_files(origin, files)
    git(origin, "add", "-A")
    git(origin, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "sample")
    for name in ("a", "b"):
        subprocess.run(["git", "clone", "-q", str(origin), str(tmp_path / name)], check=True)
    return tmp_path / "a", tmp_path / "b"


def environments(cache_dir: Path) -> set[Path]:
    return {p for p in (cache_dir / "venvs").glob("*") if p.is_dir() and p.suffix != ".work"}


@pytest.mark.parametrize(
    ("files", "module", "broken"),
    [
        (sample.clean(), "src/calc/__init__.py", "return a + b"),  # hatchling, src layout: .pth
        (FLAT_SETUPTOOLS, "flatcalc/__init__.py", "return a + b"),  # setuptools' finder, flat
    ],
    ids=["hatchling-src", "setuptools-flat"],
)
def test_a_second_checkout_shares_the_venv_and_tests_its_own_code(
    tmp_path: Path, cache_dir: Path, files: dict[str, str], module: str, broken: str
) -> None:
    a, b = clones(tmp_path, files)
    first = verify(a, LocalRunner(cache_dir))
    assert first.ok, first.message
    before = environments(cache_dir)
    source = b / module
    source.write_text(source.read_text().replace(broken, "return a - b"))
    second = verify(b, LocalRunner(cache_dir))
    # b's own (broken) code was tested, not a's, from the same environment: no new venv.
    assert not second.ok
    assert any(f.test_id and "test_add" in f.test_id for f in second.results[0].findings)
    assert environments(cache_dir) == before
    assert verify(a, LocalRunner(cache_dir)).ok  # and a still tests a's code
    hooks = [
        p
        for venv in before
        for p in venv.glob("lib/python*/site-packages/*.pth")
        if str(a) in p.read_text() or str(b) in p.read_text()
    ]
    assert hooks == []


@pytest.mark.parametrize(
    ("extra", "shared"),
    [
        ({}, True),
        ({"src/calc/_speed.c": "int x;\n"}, False),  # compiled parts: the path-keyed venv
        ({"requirements.txt": "-e ./vendored/lib\n"}, False),  # a requirement in the checkout
        ({"requirements-dev.txt": "pytest>=7\n"}, True),
    ],
)
def test_only_pure_python_installs_are_shared(
    tmp_path: Path, extra: dict[str, str], shared: bool
) -> None:
    write_files(tmp_path, {**sample.clean(), **extra})
    from corral.verifiers.base import ProjectContext

    ctx = ProjectContext(tmp_path, tmp_path, LocalRunner(tmp_path / "cache"))
    assert shareable(tmp_path, ProjectConfig.read(ctx)) is shared


def test_maturin_and_setup_py_extensions_are_not_shared(tmp_path: Path) -> None:
    from corral.verifiers.base import ProjectContext

    ctx = ProjectContext(tmp_path, tmp_path, LocalRunner(tmp_path / "cache"))
    write_files(tmp_path, {"pyproject.toml": '[build-system]\nbuild-backend = "maturin"\n'})
    assert not shareable(tmp_path, ProjectConfig.read(ctx))
    write_files(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\nversion = '1'\n",
            "setup.py": "from setuptools import Extension, setup\nsetup(ext_modules=[])\n",
        },
    )
    assert not shareable(tmp_path, ProjectConfig.read(ctx))


def test_a_second_checkout_gets_node_modules_from_the_first_without_installing(
    tmp_path: Path, cache_dir: Path
) -> None:
    a, b = clones(tmp_path, node_sample.clean())
    assert verify(a, LocalRunner(cache_dir)).ok
    second = verify(b, LocalRunner(cache_dir))
    assert second.ok, second.message
    # b's tree is a hard-link copy of the one kept from a's install (an install writes its
    # own files), stamped with the same manifests' fingerprint.
    stamps = [c / "node_modules" / ".corral-prepared" for c in (a, b)]
    assert stamps[0].stat().st_ino == stamps[1].stat().st_ino
    assert git(b, "status", "--porcelain") == ""


def test_cargo_builds_outside_the_checkout_and_per_checkout(
    tmp_path: Path, cache_dir: Path
) -> None:
    a, b = clones(tmp_path, cargo_sample.clean())
    # b is at another commit, its files written before a's build: cargo, judging freshness
    # by mtime, would take a's artifacts for b's in a target dir shared between them.
    lib = b / cargo_sample.LIB_PATH
    lib.write_text(lib.read_text().replace("2 * x", "3 * x"))
    git(b, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "triple")
    assert verify(a, LocalRunner(cache_dir)).ok
    second = verify(b, LocalRunner(cache_dir))
    assert not second.ok, second.message
    assert not (a / "target").exists() and not (b / "target").exists()


def test_a_command_ending_in_an_exception_imports_no_store() -> None:
    """`corral verify`'s start-up: matching usage errors must not load the store stack."""
    code = (
        "import sys\n"
        "from corral.cli.app import usage_errors\n"
        "errors = usage_errors()\n"
        "print(ValueError in errors, 'corral.store' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "False"]


def test_a_node_modules_linking_into_the_checkout_is_never_kept_or_restored(
    tmp_path: Path,
) -> None:
    """A `file:` dependency is a relative link out of node_modules into the checkout: a kept
    copy would lead into the next checkout's files, which its install never prepared."""
    from corral.verifiers import installed

    cache, first, second = tmp_path / "cache", tmp_path / "a", tmp_path / "b"
    for checkout in (first, second):
        (checkout / "vendor" / "checker").mkdir(parents=True)
    (first / "node_modules").mkdir()
    (first / "node_modules" / "checker").symlink_to("../vendor/checker")
    installed.keep(cache, "key", first, [first])
    assert not installed.restore(cache, "key", second)
    assert not (second / "node_modules").exists()

    planted = installed.store_root(cache) / "key"  # as an older corral kept it
    (planted / "node_modules").mkdir(parents=True)
    (planted / "node_modules" / "checker").symlink_to("../vendor/checker")
    (planted / installed.DIRS).write_text('["."]')
    assert not installed.restore(cache, "key", second)
    assert not (second / "node_modules").exists()


def test_two_checkouts_keeping_the_same_tree_at_once_keep_it_whole(tmp_path: Path) -> None:
    """A worker's two jobs on one repository prepare at the same moment: each builds its copy
    under a name of its own, so neither removes the other's half-made copy from under it."""
    from corral.verifiers import installed

    cache = tmp_path / "cache"
    checkouts = [tmp_path / "a", tmp_path / "b"]
    for checkout in checkouts:
        for package in range(40):
            folder = checkout / "node_modules" / f"p{package}"
            folder.mkdir(parents=True)
            for index in range(25):
                (folder / f"f{index}.js").write_text("x")
    start = threading.Barrier(2)

    def keep(checkout: Path) -> None:
        start.wait()
        installed.keep(cache, "samekey", checkout, [checkout])

    threads = [threading.Thread(target=keep, args=(c,)) for c in checkouts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    kept = installed.store_root(cache) / "samekey" / "node_modules"
    assert len([p for p in kept.rglob("*.js")]) == 40 * 25
    assert not [p.name for p in installed.store_root(cache).iterdir() if p.name.startswith(".")]
