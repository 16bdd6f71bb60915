"""A tiny Rust library crate with unit tests, and clippy's lints denied by the crate itself.

No dependencies, so it builds in a second or two; `[lints.clippy]` makes clippy's findings
errors the way a real project opts in to them.
"""

from __future__ import annotations

NAME = "cargo"
RAW_COMMANDS: list[list[str]] = [
    ["cargo", "fmt", "--check"],
    ["cargo", "clippy", "--offline", "--all-targets"],
    ["cargo", "test", "--offline"],
]

_CARGO_TOML = """\
[package]
name = "sample"
version = "0.1.0"
edition = "2021"

[lints.clippy]
all = "deny"
"""

_LIB = """\
//! Arithmetic on slices.

/// The total of `xs`.
pub fn sum(xs: &[i64]) -> i64 {
    xs.iter().sum()
}

/// Each of `xs` times two.
pub fn doubled(xs: &[i64]) -> Vec<i64> {
    xs.iter().map(|x| 2 * x).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums() {
        assert_eq!(sum(&[1, 2, 3]), 6);
    }

    #[test]
    fn doubles() {
        assert_eq!(doubled(&[1, 2, 3]), vec![2, 4, 6]);
    }
}
"""

LIB_PATH = "src/lib.rs"


def clean() -> dict[str, str]:
    return {"Cargo.toml": _CARGO_TOML, ".gitignore": "/target\n", LIB_PATH: _LIB}


def compile_error() -> dict[str, str]:
    """lib.rs:5 returns a usize where an i64 is due."""
    return {**clean(), LIB_PATH: _LIB.replace("xs.iter().sum()", "xs.len()")}


def failing_test() -> dict[str, str]:
    """sum skips the first element, so `sums` fails at lib.rs:19."""
    return {**clean(), LIB_PATH: _LIB.replace("xs.iter().sum()", "xs.iter().skip(1).sum()")}


def lint_violation() -> dict[str, str]:
    """clippy::needless_return at lib.rs:5, denied by the crate's `[lints.clippy]`."""
    return {**clean(), LIB_PATH: _LIB.replace("    xs.iter().sum()", "    return xs.iter().sum();")}
