"""A tiny JavaScript package: JSDoc types checked by tsc, ESLint, and node's own test runner.

No lockfile (the verifier installs without writing one); exact versions keep it reproducible.
"""

from __future__ import annotations

import json

NAME = "node"
RAW_COMMANDS: list[list[str]] = [
    ["npm", "run", "lint"],
    ["npx", "tsc", "--noEmit"],
    ["npm", "test"],
]

_PACKAGE_JSON = {
    "name": "corral-sample-node",
    "version": "1.0.0",
    "private": True,
    "type": "module",
    "scripts": {"lint": "eslint .", "test": "node --test"},
    "devDependencies": {"eslint": "9.39.5", "typescript": "5.9.3"},
}

_TSCONFIG = {
    "compilerOptions": {
        "allowJs": True,
        "checkJs": True,
        "noEmit": True,
        "strict": True,
        "target": "es2022",
        "module": "nodenext",
    },
    "include": ["src"],
}

_ESLINT_CONFIG = """\
export default [
  {
    rules: {
      "no-unused-vars": "error",
      "prefer-const": "error",
    },
  },
];
"""

_MATH = """\
/**
 * @param {number} a
 * @param {number} b
 * @returns {number}
 */
export function add(a, b) {
  return a + b;
}

/**
 * @param {number[]} values
 * @returns {number}
 */
export function total(values) {
  return values.reduce(add, 0);
}
"""

_MATH_TEST = """\
import { test } from "node:test";
import assert from "node:assert/strict";
import { add, total } from "../src/math.js";

test("add sums two numbers", () => {
  assert.equal(add(2, 3), 5);
});

test("total sums a list", () => {
  assert.equal(total([1, 2, 3]), 6);
});
"""


def clean() -> dict[str, str]:
    return {
        "package.json": json.dumps(_PACKAGE_JSON, indent=2) + "\n",
        "tsconfig.json": json.dumps(_TSCONFIG, indent=2) + "\n",
        "eslint.config.js": _ESLINT_CONFIG,
        ".gitignore": "node_modules/\n",
        "src/math.js": _MATH,
        "test/math.test.js": _MATH_TEST,
    }


def compile_error() -> dict[str, str]:
    """src/math.js:19: a string where the JSDoc type says number (TS2322)."""
    files = clean()
    files["src/math.js"] = _MATH + '\n/** @type {number} */\nexport const LIMIT = "ten";\n'
    return files


def failing_test() -> dict[str, str]:
    """test/math.test.js:10: total([1, 2, 3]) is 6, not 7."""
    files = clean()
    files["test/math.test.js"] = _MATH_TEST.replace("total([1, 2, 3]), 6", "total([1, 2, 3]), 7")
    return files


def lint_violation() -> dict[str, str]:
    """src/math.js:7: an unused variable (ESLint no-unused-vars)."""
    files = clean()
    files["src/math.js"] = _MATH.replace(
        "export function add(a, b) {\n", "export function add(a, b) {\n  const unused = 1;\n"
    )
    return files
