"""A tiny Python package (src layout, hatchling): ruff lint and format, mypy --strict, pytest.

Its tests import the package as installed (the verifier installs it editable, with its `test`
extra); RAW_COMMANDS, run with corral's own interpreter, put `src` on the path instead.
"""

from __future__ import annotations

import sys

NAME = "python"
_PY = sys.executable
RAW_COMMANDS: list[list[str]] = [
    [_PY, "-m", "ruff", "check", "."],
    [_PY, "-m", "ruff", "format", "--check", "."],
    [_PY, "-m", "mypy"],
    [_PY, "-m", "pytest", "-q", "-o", "pythonpath=src"],
]

_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "corral-sample-calc"
version = "0.1.0"
requires-python = ">=3.9"

[project.optional-dependencies]
test = ["pytest"]

[tool.hatch.build.targets.wheel]
packages = ["src/calc"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "I"]

[tool.ruff.format]
quote-style = "double"

[tool.mypy]
strict = true
files = ["src", "tests"]
"""

_CALC = '''\
"""A tiny calculator."""


def add(a: int, b: int) -> int:
    return a + b


def mean(values: list[float]) -> float:
    return sum(values) / len(values)
'''

_TESTS = """\
from calc import add, mean


def test_add() -> None:
    assert add(2, 3) == 5


def test_mean() -> None:
    assert mean([1.0, 2.0, 3.0]) == 2.0
"""


def clean() -> dict[str, str]:
    return {
        "pyproject.toml": _PYPROJECT,
        "src/calc/__init__.py": _CALC,
        "tests/test_calc.py": _TESTS,
    }


def compile_error() -> dict[str, str]:
    """src/calc/__init__.py:5: an expression cut short."""
    return {**clean(), "src/calc/__init__.py": _CALC.replace("return a + b", "return a +")}


def failing_test() -> dict[str, str]:
    """tests/test_calc.py:9: `assert 2.0 == 2.5` in test_mean."""
    return {**clean(), "tests/test_calc.py": _TESTS.replace("== 2.0", "== 2.5")}


def lint_violation() -> dict[str, str]:
    """src/calc/__init__.py:3: F401, `os` imported but unused."""
    calc = _CALC.replace('"""\n\n', '"""\n\nimport os\n\n', 1)
    return {**clean(), "src/calc/__init__.py": calc}
