"""The built-in verifiers: found by their markers, their modules imported only when used."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from corral.verifiers.discovery import find_projects
from corral.verifiers.registry import BUILTIN, MARKERS, builtin_verifiers


def test_each_lazy_verifier_has_its_class_markers_and_nesting() -> None:
    for verifier in builtin_verifiers():
        module_name, class_name = BUILTIN[verifier.name].split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        assert MARKERS[verifier.name] == cls.markers, verifier.name
        assert verifier.loaded.nested == cls.nested


def test_a_go_repository_imports_only_the_go_verifier(tmp_path: Path) -> None:
    """Discovery on a Go module loads no other ecosystem's module; what it finds behaves as
    the class itself (nested modules are their own projects)."""
    (tmp_path / "tools").mkdir()
    for folder in (tmp_path, tmp_path / "tools"):
        (folder / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from corral.verifiers.discovery import find_projects\n"
        "from corral.verifiers.registry import builtin_verifiers\n"
        f"found = find_projects(Path({str(tmp_path)!r}), builtin_verifiers())\n"
        "print(json.dumps(sorted(p.verifier.name + ' ' + p.directory.name for p in found)))\n"
        "print(json.dumps([m for m in sys.modules if m.startswith('corral.verifiers.')]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert json.loads(out[0]) == sorted(["go " + tmp_path.name, "go tools"])
    loaded = set(json.loads(out[1]))
    assert "corral.verifiers.go" in loaded
    assert not loaded & {f"corral.verifiers.{n}" for n in ("node", "python", "maven", "cargo")}
    assert [p.verifier.name for p in find_projects(tmp_path, builtin_verifiers())] == ["go", "go"]
