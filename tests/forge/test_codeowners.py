"""CODEOWNERS as GitHub and GitLab read it: gitignore-like patterns, the last match wins,
read from a commit of a real repository; a hostile file costs bounded work."""

from __future__ import annotations

import pytest

from corral.forge.codeowners import CodeownersError, matches, owners_of, parse, read_rules
from corral.spec import PullRequestSpec, TargetsSpec, matches_file
from corral.testing.repos import MakeRepo, git

# (pattern, path, matches): the examples of GitHub's CODEOWNERS documentation
DOCUMENTED = [
    ("*", "any/file.txt", True),
    ("*.js", "src/app.js", True),
    ("*.js", "app.js", True),
    ("*.go", "app.js", False),
    ("/build/logs/", "build/logs/today.log", True),
    ("/build/logs/", "src/build/logs/today.log", False),
    ("docs/*", "docs/getting-started.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),
    ("apps/", "apps/a.js", True),
    ("apps/", "src/apps/deep/a.js", True),
    ("/docs/", "docs/a/b.md", True),
    ("/docs/", "x/docs/a.md", False),
    ("**/logs", "deep/down/logs/x.log", True),
    ("/scripts/", "scripts/deploy.sh", True),
    ("/apps/github", "apps/github/x/y.rb", True),
    ("/apps/github", "apps/githubber", False),
    ("src/**/test", "src/test/a.py", True),
    ("src/**/test", "src/a/b/test/c.py", True),
    ("a?c.txt", "abc.txt", True),
    ("a?c.txt", "a/c.txt", False),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), DOCUMENTED)
def test_patterns_match_as_documented(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


def test_the_last_matching_rule_wins_and_an_empty_one_unowns() -> None:
    rules = parse(
        "# owners\n"
        "*       @octo/everyone   # a comment\n"
        "*.js    @js-owner\n"
        "/docs/  docs@example.com\n"
        "/docs/generated/\n"
        "[Backend]\n"
        "\\#notes.md @hash\n"
    )
    assert owners_of(rules, ["src/app.js"]) == ["@js-owner"]
    assert owners_of(rules, ["README.md", "x.js"]) == ["@octo/everyone", "@js-owner"]
    assert owners_of(rules, ["docs/index.md"]) == ["docs@example.com"]
    assert owners_of(rules, ["docs/generated/api.md"]) == []
    assert owners_of(rules, ["#notes.md"]) == ["@hash"]


def test_the_file_is_read_from_the_commit_asked_for(make_repo: MakeRepo) -> None:
    repo = make_repo({"CODEOWNERS": "* @root-owner\n", "docs/CODEOWNERS": "* @docs-owner\n"})
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / ".github").mkdir()
    (repo / ".github" / "CODEOWNERS").write_text("* @mallory\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pick my own reviewer")

    assert owners_of(read_rules(repo, base), ["a.py"]) == ["@root-owner"]
    assert owners_of(read_rules(repo, "HEAD"), ["a.py"]) == ["@mallory"]  # .github/ first


def test_a_repository_without_codeowners_has_no_rules(make_repo: MakeRepo) -> None:
    repo = make_repo({"README.md": "hi\n", ".github/CODEOWNERS/x": "a folder, not a file\n"})
    assert read_rules(repo, "HEAD") == []


def test_a_hostile_file_costs_bounded_work() -> None:
    hostile = "*a" * 400 + "b"
    assert matches(hostile, "a" * 4000) is False  # atomic groups: no backtracking blow-up
    assert matches("**/" * 400 + "x", "a/" * 2000 + "y") is False
    rules = parse("\n".join(f"{'**/' * 300}x{n} @x" for n in range(2000)))
    with pytest.raises(CodeownersError, match="too large"):
        owners_of(rules, ["a/" * 100 + f"{n}" for n in range(1000)])


def test_a_large_real_file_is_matched_within_the_budget() -> None:
    folders = [f"/services/svc{n}/ @team{n}" for n in range(1000)]
    kinds = [f"*.{ext}{n} @x" for n, ext in enumerate(["py", "go", "java", "ts"] * 250)]
    rules = parse("\n".join([*folders, *kinds]))
    paths = [f"services/svc{n * 3}/src/main/java/com/acme/File{n}.java" for n in range(150)]
    assert owners_of(rules, paths) == [f"@team{n * 3}" for n in range(150)]


def test_has_file_globs() -> None:
    assert matches_file("services/api/pom.xml", "pom.xml")
    assert not matches_file("services/api/pom.xml", "/pom.xml")
    assert matches_file("pom.xml", "/pom.xml")
    assert matches_file("src/main.go", "src/*.go")
    targets = TargetsSpec(repos=["x"], has_file=["*.gradle*"], exclude_has_file=["LEGACY"])
    assert targets.file_filter_problem(["build.gradle.kts", "README"]) is None
    assert "has_file" in (targets.file_filter_problem(["pom.xml"]) or "")
    assert "LEGACY matches exclude_has_file" in (
        targets.file_filter_problem(["build.gradle", "LEGACY"]) or ""
    )


def test_reviewers_codeowners_is_short_for_the_owners() -> None:
    spec = PullRequestSpec.model_validate({"reviewers": "codeowners", "labels": ["fleet"]})
    assert (spec.reviewers, spec.codeowners) == ([], True)
    with pytest.raises(ValueError, match="not a label or reviewer name"):
        PullRequestSpec.model_validate({"labels": ["a,b"]})
