"""A small Go repository and task suites over it, for the eval runner's tests.

The task: `Clamp(x, lo, hi)` returns `lo` when x is above the range; make it return `hi`.
Visible tests check only the low side, so a change that drops the upper bound is green but
wrong: the hidden tests (`TestClampHigh`) tell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GO_MOD = "module example.com/calc\n\ngo 1.21\n"

CALC = """\
// Package calc holds small arithmetic helpers.
package calc

// Add returns the sum of a and b.
func Add(a, b int) int {
\treturn a + b
}

// Clamp returns x bounded to the range [lo, hi].
func Clamp(x, lo, hi int) int {
\tif x < lo {
\t\treturn lo
\t}
\tif x > hi {
\t\treturn lo
\t}
\treturn x
}
"""

CALC_TEST = """\
package calc

import "testing"

func TestAdd(t *testing.T) {
\tif got := Add(2, 3); got != 5 {
\t\tt.Fatalf("Add(2, 3) = %d, want 5", got)
\t}
}

func TestClampLow(t *testing.T) {
\tif got := Clamp(-1, 0, 10); got != 0 {
\t\tt.Fatalf("Clamp(-1, 0, 10) = %d, want 0", got)
\t}
}

func TestClampInside(t *testing.T) {
\tif got := Clamp(4, 0, 10); got != 4 {
\t\tt.Fatalf("Clamp(4, 0, 10) = %d, want 4", got)
\t}
}
"""

MORE_TEST = """\
package calc

import "testing"

func TestAddZero(t *testing.T) {
\tif got := Add(7, 0); got != 7 {
\t\tt.Fatalf("Add(7, 0) = %d, want 7", got)
\t}
}
"""

HIDDEN_TEST = """\
package calc

import "testing"

func TestClampHigh(t *testing.T) {
\tif got := Clamp(11, 0, 10); got != 10 {
\t\tt.Fatalf("Clamp(11, 0, 10) = %d, want 10", got)
\t}
}
"""

KNOWN_BROKEN_TEST = """\
package calc

import "testing"

func TestKnownBroken(t *testing.T) {
\tif Add(1, 1) != 3 {
\t\tt.Fatal("this test has failed on main for a while")
\t}
}
"""

OLD = "\tif x > hi {\n\t\treturn lo\n\t}"
NEW = "\tif x > hi {\n\t\treturn hi\n\t}"

PROMPT = f"""\
Clamp(x, lo, hi) returns lo when x is above the range; it must return hi. Change only that.

```edit calc.go
<<<
{OLD}
===
{NEW}
>>>
```
"""

FIX = "sed -i '15s/return lo/return hi/' calc.go"
"""The reference change: line 15 is the `return lo` of the upper bound."""


def write_repo(folder: Path, *, known_broken: bool = False) -> Path:
    files = {
        "go.mod": GO_MOD,
        "calc.go": CALC,
        "calc_test.go": CALC_TEST,
        "more_test.go": MORE_TEST,
    }
    if known_broken:
        files["broken_test.go"] = KNOWN_BROKEN_TEST
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def write_suite(root: Path, tasks: list[dict[str, Any]], **settings: Any) -> Path:
    """A suite folder: the repositories, the hidden test, and suite.yaml with `tasks`."""
    write_repo(root / "repos" / "calc")
    write_repo(root / "repos" / "calc-broken", known_broken=True)
    hidden = root / "hidden" / "clamp"
    hidden.mkdir(parents=True)
    (hidden / "hidden_test.go").write_text(HIDDEN_TEST)
    defaults = {
        "repo": "repos/calc",
        "prompt": PROMPT,
        "hidden_tests": "hidden/clamp",
        "fail_to_pass": ["TestClampHigh"],
        "pass_to_pass": ["TestClampLow", "TestClampInside", "TestAdd"],
        "scope": ["*.go"],
    }
    suite = {"name": "failure-modes", **settings, "tasks": [defaults | t for t in tasks]}
    (root / "suite.yaml").write_text(json.dumps(suite, indent=2))  # JSON is YAML too
    return root
