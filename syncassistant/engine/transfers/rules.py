"""Per-directory content rules, compiled to git-annex preferred content for this clone.

Rules live in git config (`syncassistant.rule = "exclude Videos"`, several allowed); the
compiled expression is set with `git annex wanted here`, which records it on the git-annex
branch, so every other clone (ours, `git annex sync --content`, the assistant) respects it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..proc.annex import Annex
from ..proc.git import Git

ACTIONS = ("include", "exclude")


class RuleError(ValueError):
    pass


def _norm_dir(directory: str) -> str:
    d = str(PurePosixPath(directory.strip().strip("/")))
    if not d or d == "." or d.startswith("..") or "/../" in f"/{d}/":
        raise RuleError(f"{directory!r}: give a folder inside the repository")
    if any(c in d for c in "*?[]\n\"'") or d.startswith("-"):
        raise RuleError(f"{directory!r}: folder names with *, ?, [, ], quotes or a leading '-' "
                        "cannot be used in a rule")
    if " " in d:
        raise RuleError(f"{directory!r}: git-annex preferred content cannot match folder names with spaces")
    return d


def list_rules(repo: str | Path) -> list[dict[str, str]]:
    r = Git(repo).run("config", "--get-all", "syncassistant.rule", check=False)
    out = []
    for line in r.stdout.splitlines():
        action, _, d = line.partition(" ")
        if action in ACTIONS and d:
            out.append({"dir": d, "action": action})
    return out


def compile_rules(rules: list[dict[str, str]]) -> str:
    """A preferred-content expression: any include limits to those folders; excludes remove."""
    includes = [f"include={r['dir']}/*" for r in rules if r["action"] == "include"]
    excludes = [f"exclude={r['dir']}/*" for r in rules if r["action"] == "exclude"]
    parts = []
    if includes:
        parts.append("(" + " or ".join(includes) + ")" if len(includes) > 1 else includes[0])
    parts += excludes
    return " and ".join(parts)


def _apply(repo: str | Path) -> str:
    expr = compile_rules(list_rules(repo))
    # "anything" is git-annex's expression for wanting everything (the default without rules).
    Annex(repo).run("wanted", "here", expr or "anything")
    return expr


def add_rule(repo: str | Path, directory: str, action: str) -> str:
    if action not in ACTIONS:
        raise RuleError(f"{action!r}: a rule is 'include' or 'exclude'")
    d = _norm_dir(directory)
    remove_rule(repo, d, apply=False)
    Git(repo).run("config", "--add", "syncassistant.rule", f"{action} {d}")
    return _apply(repo)


def remove_rule(repo: str | Path, directory: str, apply: bool = True) -> str:
    d = _norm_dir(directory)
    kept = [r for r in list_rules(repo) if r["dir"] != d]
    git = Git(repo)
    git.run("config", "--unset-all", "syncassistant.rule", check=False)
    for r in kept:
        git.run("config", "--add", "syncassistant.rule", f"{r['action']} {r['dir']}")
    return _apply(repo) if apply else ""
