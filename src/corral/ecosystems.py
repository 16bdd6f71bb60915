"""Every ecosystem corral knows, one entry each: where each part finds what it needs.

Adding an ecosystem is a verifier module (verifiers/<name>.py), a sample project
(testing/samples/<name>.py) when its toolchain runs here, the guard's rules for a new
language (gate/guard/languages.py) when it brings one, and one entry below. Everything else
(the verifier registry, the guard's protected build and lock files and its "disabled
verifier" rule, the sandbox's toolchain variables, the list of samples) reads it from here.

A leaf module: it imports nothing from corral, so every part may read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ecosystem:
    name: str
    """The verifier's name, as `.corral.yaml` and `--json` name it."""
    verifier: str
    """"module:Class" of its verifier, imported only when used."""
    build_files: tuple[str, ...]
    """Gitignore-style globs of its build configuration (guarded as `build`)."""
    lock_files: tuple[str, ...]
    """Globs of its lock files (guarded as `lock`; left out of diff size counts)."""
    markers: tuple[str, ...]
    """Globs of the files that make a folder its project (its verifier's module is imported
    only where one is)."""
    toolchain_dirs: tuple[str, ...] = ()
    """Variables that name its toolchain's folders (bound read-only into the sandbox)."""
    toolchain_env: tuple[str, ...] = ()
    """Variables that configure its toolchain (passed into the sandbox; never secrets)."""
    sample: str | None = None
    """Its sample project under corral.testing.samples, when its toolchain runs here."""


ECOSYSTEMS: tuple[Ecosystem, ...] = (
    Ecosystem(
        "maven",
        "corral.verifiers.maven:MavenVerifier",
        markers=("pom.xml",),
        build_files=("pom.xml", "mvnw", "mvnw.cmd", ".mvn/"),
        lock_files=(),
        toolchain_dirs=("JAVA_HOME", "MAVEN_HOME", "M2_HOME", "SDKMAN_DIR"),
        toolchain_env=("MAVEN_OPTS",),
        sample="maven",
    ),
    Ecosystem(
        "gradle",
        "corral.verifiers.gradle:GradleVerifier",
        markers=("build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"),
        build_files=(
            "*.gradle",
            "*.gradle.kts",
            "gradle.properties",
            "gradle/wrapper/",
            "gradlew",
        ),
        lock_files=("gradle.lockfile", "*.lockfile"),
        toolchain_dirs=("JAVA_HOME", "GRADLE_HOME", "SDKMAN_DIR"),
    ),
    Ecosystem(
        "node",
        "corral.verifiers.node:NodeVerifier",
        markers=("package.json",),
        build_files=(
            "package.json",
            ".npmrc",
            "tsconfig*.json",
            "jest.config.*",
            "vitest.config.*",
            ".mocharc*",
            "karma.conf.*",
            ".eslintrc*",
            "eslint.config.*",
            ".prettierrc*",
        ),
        lock_files=(
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "bun.lockb",
        ),
        toolchain_dirs=("NVM_DIR", "VOLTA_HOME"),
        toolchain_env=(
            "NODE_OPTIONS",
            "npm_config_registry",
            "NPM_CONFIG_REGISTRY",
            "YARN_REGISTRY",
            "YARN_NPM_REGISTRY_SERVER",
            "COREPACK_NPM_REGISTRY",
            "COREPACK_INTEGRITY_KEYS",
        ),
        sample="node",
    ),
    Ecosystem(
        "python",
        "corral.verifiers.python:PythonVerifier",
        markers=("pyproject.toml", "setup.cfg", "setup.py", "requirements*.txt"),
        build_files=(
            "pyproject.toml",
            "setup.py",
            "setup.cfg",
            "requirements*.txt",
            "Pipfile",
            "tox.ini",
            "pytest.ini",
            "noxfile.py",
            "ruff.toml",
            ".ruff.toml",
            "mypy.ini",
            ".flake8",
        ),
        lock_files=("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock"),
        toolchain_dirs=("PYENV_ROOT",),
        toolchain_env=(
            "PYENV_VERSION",
            "PYTHONDONTWRITEBYTECODE",
            "PYTHONUNBUFFERED",
            "PIP_FIND_LINKS",
            "PIP_INDEX_URL",
            "PIP_EXTRA_INDEX_URL",
            "PIP_DEFAULT_TIMEOUT",
            "PIP_DISABLE_PIP_VERSION_CHECK",
        ),
        sample="python",
    ),
    Ecosystem(
        "go",
        "corral.verifiers.go:GoVerifier",
        markers=("go.mod",),
        build_files=("go.mod", "go.work", ".golangci.*"),
        lock_files=("go.sum",),
        toolchain_dirs=("GOROOT",),
        toolchain_env=("GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GOFLAGS", "GOTOOLCHAIN"),
        sample="go",
    ),
    Ecosystem(
        "cargo",
        "corral.verifiers.cargo:CargoVerifier",
        markers=("Cargo.toml",),
        build_files=(
            "Cargo.toml",
            "rust-toolchain*",
            "rustfmt.toml",
            ".rustfmt.toml",
            "clippy.toml",
        ),
        lock_files=("Cargo.lock",),
        toolchain_dirs=("RUSTUP_HOME", "CARGO_HOME"),
        toolchain_env=("RUSTUP_TOOLCHAIN", "RUSTUP_AUTO_INSTALL", "RUST_BACKTRACE"),
        sample="cargo",
    ),
)

BY_NAME = {ecosystem.name: ecosystem for ecosystem in ECOSYSTEMS}


def names() -> tuple[str, ...]:
    return tuple(BY_NAME)


def toolchain_dirs() -> tuple[str, ...]:
    """Every toolchain-folder variable, each once, in registry order."""
    return tuple(dict.fromkeys(v for e in ECOSYSTEMS for v in e.toolchain_dirs))


def toolchain_env() -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for e in ECOSYSTEMS for v in e.toolchain_env))
