"""git on the host: one hardened entry point (`command`) and the working tree as a tree
(`worktree`). Nothing else in corral starts a git process."""

from corral.git.command import GitCommandError, GitConfigRefused, git_text, run_git

__all__ = ["GitCommandError", "GitConfigRefused", "git_text", "run_git"]
