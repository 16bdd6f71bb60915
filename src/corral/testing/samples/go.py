"""A tiny Go module: one library package tested with go-cmp, and a command that uses it.

go-cmp is a real dependency, so `prepare` has something to download and `check` proves it
works from the module cache alone.
"""

from __future__ import annotations

NAME = "go"
RAW_COMMANDS: list[list[str]] = [
    ["gofmt", "-l", "."],
    ["go", "vet", "./..."],
    ["go", "test", "./..."],
]

_GO_MOD = """\
module example.com/sample

go 1.22

require github.com/google/go-cmp v0.6.0
"""

_GO_SUM = """\
github.com/google/go-cmp v0.6.0 h1:ofyhxvXcZhMsU5ulbFiLKl/XBFqE1GSq7atu8tAmTRI=
github.com/google/go-cmp v0.6.0/go.mod h1:17dUlkBOakJ0+DkrSSNjCkIjxS6bF9zb3elmeNGIjoY=
"""

_CALC = """\
// Package calc does arithmetic on slices.
package calc

// Sum returns the total of xs.
func Sum(xs []int) int {
	total := 0
	for _, x := range xs {
		total += x
	}
	return total
}

// Doubled returns each of xs times two.
func Doubled(xs []int) []int {
	out := make([]int, 0, len(xs))
	for _, x := range xs {
		out = append(out, 2*x)
	}
	return out
}
"""

_CALC_TEST = """\
package calc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSum(t *testing.T) {
	if got := Sum([]int{1, 2, 3}); got != 6 {
		t.Errorf("Sum([1 2 3]) = %d, want 6", got)
	}
}

func TestDoubled(t *testing.T) {
	want := []int{2, 4, 6}
	if diff := cmp.Diff(want, Doubled([]int{1, 2, 3})); diff != "" {
		t.Errorf("Doubled mismatch (-want +got):\\n%s", diff)
	}
}
"""

_MAIN = """\
// Command total prints the sum of a few numbers.
package main

import (
	"fmt"

	"example.com/sample/calc"
)

func main() {
	fmt.Printf("total: %d\\n", calc.Sum([]int{1, 2, 3}))
}
"""

CALC_PATH = "calc/calc.go"
CALC_TEST_PATH = "calc/calc_test.go"
MAIN_PATH = "cmd/total/main.go"


def clean() -> dict[str, str]:
    return {
        "go.mod": _GO_MOD,
        "go.sum": _GO_SUM,
        CALC_PATH: _CALC,
        CALC_TEST_PATH: _CALC_TEST,
        MAIN_PATH: _MAIN,
    }


def compile_error() -> dict[str, str]:
    """calc.go:8 adds a string to an int."""
    return {**clean(), CALC_PATH: _CALC.replace("total += x", 'total += x + "1"')}


def failing_test() -> dict[str, str]:
    """Sum skips the first element, so TestSum fails at calc_test.go:11."""
    return {
        **clean(),
        CALC_PATH: _CALC.replace("range xs {\n\t\ttotal", "range xs[1:] {\n\t\ttotal"),
    }


def lint_violation() -> dict[str, str]:
    """go vet's printf check: main.go:11 formats an int with %s."""
    return {**clean(), MAIN_PATH: _MAIN.replace("total: %d", "total: %s")}
