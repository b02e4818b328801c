"""Running git-annex: the only place (with git.py) that starts git-annex processes.

Commands that can speak JSON are run with `--json --json-error-messages` and parsed line by
line; a JSON command that printed no JSON for an input it was given counts as an error.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from .git import DEFAULT_TIMEOUT, GitError, Result, run, tool_dir, wheel_annex_binary

log = logging.getLogger(__name__)

# Stay well under ARG_MAX while keeping one process per batch of paths.
_ARGV_BUDGET = 96 * 1024


class AnnexError(GitError):
    """git-annex reported a failure."""


def annex_binary() -> str:
    """Path of git-annex: the pip wheel's binary, its wrapper next to our interpreter, else PATH."""
    real = wheel_annex_binary()
    if real:
        return real
    candidate = Path(tool_dir()) / "git-annex"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("git-annex")
    if not found:
        raise AnnexError(["git-annex"], 127, "", "git-annex is not installed (pip install git-annex)")
    return found


def chunk_paths(paths: Sequence[str], budget: int = _ARGV_BUDGET) -> Iterator[list[str]]:
    """Split paths into argv-sized chunks."""
    chunk: list[str] = []
    size = 0
    for p in paths:
        n = len(p.encode(errors="surrogateescape")) + 1
        if chunk and size + n > budget:
            yield chunk
            chunk, size = [], 0
        chunk.append(p)
        size += n
    if chunk:
        yield chunk


def parse_json_lines(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("unparsable git-annex output: %.200s", line)
    return records


class Annex:
    """git-annex commands on one repository."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def run(self, *args: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True,
            input: str | None = None) -> Result:
        try:
            return run([annex_binary(), *args], cwd=self.path, timeout=timeout, check=check, input=input)
        except GitError as e:
            raise AnnexError(e.args_, e.returncode, e.stdout, e.stderr) from None

    def json(self, *args: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True) -> list[dict]:
        # options go right after the subcommand: anything after "--" would be taken as a path
        res = self.run(args[0], "--json", "--json-error-messages", *args[1:], timeout=timeout, check=False)
        records = parse_json_lines(res.stdout)
        if check and res.returncode != 0 and not records:
            raise AnnexError(list(args), res.returncode, res.stdout, res.stderr)
        return records

    # -- repository ---------------------------------------------------------------------------
    def init(self, description: str | None = None) -> None:
        args = ["init", "--quiet"]
        if description:
            args.append(description)
        self.run(*args, timeout=300)

    def uuid(self) -> str | None:
        r = run(["git", "config", "--get", "annex.uuid"], cwd=self.path, check=False)
        return r.stdout.strip() or None

    # -- adding and merging --------------------------------------------------------------------
    def add(self, paths: Sequence[str], timeout: float = 3600) -> list[dict]:
        """`git annex add` the given existing paths (files or folders); returns per-file records."""
        records: list[dict] = []
        for chunk in chunk_paths(paths):
            records += self.json("add", "--", *chunk, timeout=timeout, check=False)
        return records

    def update_branch(self, timeout: float = 600) -> None:
        """Union-merge every synced/ and remote git-annex branch into ours.

        git-annex does this itself whenever it reads its branch, so a cheap read-only command is
        enough. `git annex merge` is not used: it also merges synced/<branch> into the work tree,
        which is the Merger's job (it resolves conflicts and records them).
        """
        self.run("wanted", "here", timeout=timeout)

    def resolvemerge(self, timeout: float = 600) -> Result:
        """Resolve a conflicted merge by keeping both versions as name.variant-XXXX files."""
        return self.run("resolvemerge", timeout=timeout, check=False)
