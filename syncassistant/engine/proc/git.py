"""Running git: the only place (with annex.py) that starts git processes.

Every call has a timeout; a process that outlives it is killed with its whole process group, so a
hung ssh or credential helper can never pin a worker thread. User text reaches git only as argv
entries after `--` or through NUL-separated stdin, never through a shell.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..network import sshmux
from . import reaper
from .lockfiles import remove_if_stale

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
INDEX_LOCK_WAIT = 10.0
# an index.lock nobody holds that stays this long was left by a killed process (recovery.py)
STALE_LOCK_AGE = 10.0
_LOCK_PATH = re.compile(r"Unable to create '(.+?\.lock)': File exists")


def git_dir_of(directory: Path) -> Path | None:
    """The git directory of a work tree or bare repository at ``directory``, or None."""
    dotgit = directory / ".git"
    try:
        if dotgit.is_dir():
            return dotgit if (dotgit / "config").is_file() else None
        if dotgit.is_file():  # "gitdir: <path>" (worktrees, submodules)
            first = dotgit.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
            if first and first[0].startswith("gitdir:"):
                target = (directory / first[0][len("gitdir:"):].strip()).resolve()
                if (target / "commondir").is_file():  # a linked worktree: config lives in the main dir
                    common = (target / (target / "commondir").read_text().strip()).resolve()
                    return common if (common / "config").is_file() else None
                return target if (target / "config").is_file() else None
            return None
        if (directory / "config").is_file() and (directory / "annex").is_dir():  # bare annex repo
            return directory
    except OSError:
        return None
    return None


class GitError(RuntimeError):
    """A git (or git-annex) command failed; `stderr` holds its own words."""

    def __init__(self, args: Sequence[str], returncode: int, stdout: str, stderr: str):
        self.args_ = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        first = (stderr.strip() or stdout.strip()).splitlines()
        reason = first[-1] if first else f"exit status {returncode}"
        super().__init__(f"{' '.join(args[:3])}: {reason}")


class GitTimeout(GitError):
    """The command was killed after its deadline."""


def tool_dir() -> str:
    """The directory of the running interpreter's scripts, where pip puts git-annex."""
    return os.path.dirname(sys.executable)


def wheel_annex_binary() -> str | None:
    """The real git-annex binary inside the PyPI wheel, if that is what we have.

    The wheel's `git-annex` script is a Python program that execs this binary: calling the
    binary directly saves a Python start-up (~100 ms measured here) on every git-annex call,
    which adds up on every commit, merge and push.
    """
    try:
        import git_annex  # the PyPI wheel's package
    except ImportError:
        return None
    exe = os.path.join(os.path.dirname(git_annex.__file__), "git-annex")
    return exe if os.access(exe, os.X_OK) else None


def fast_bin_dir() -> str | None:
    """A directory of symlinks named git-annex and git-annex-shell to the wheel's binary (it
    picks its mode by the name it is called by), put first on PATH so git's filters and hooks
    use it too."""
    exe = wheel_annex_binary()
    if exe is None:
        return None
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(cache, "syncassistant", "bin-" + str(hashlib.sha1(exe.encode()).hexdigest()[:10]))
    try:
        os.makedirs(d, exist_ok=True)
        for name in ("git-annex", "git-annex-shell"):
            link = os.path.join(d, name)
            if os.path.realpath(link) != os.path.realpath(exe):
                tmp = link + ".tmp"
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                os.symlink(exe, tmp)
                os.replace(tmp, link)
    except OSError as e:
        log.debug("no fast git-annex bin dir: %s", e)
        return None
    return d


_lock = threading.Lock()
_base_env: dict[str, str] | None = None
_base_env_pid: int | None = None  # a forked daemon computes its own (its ssh sockets are its own)
_user_ssh: dict[str, str] = {}  # GIT_SSH_COMMAND / GIT_SSH as the user set them (base_env adds ours)


def base_env() -> dict[str, str]:
    """Environment for git children: git-annex from our venv findable, no prompts, no pager.

    Its ssh command knows no repository (``$GIT_SSH_COMMAND`` or our default): processes of a
    repository get :func:`repo_env` (:func:`run` does that itself for its `cwd`)."""
    global _base_env, _base_env_pid, _user_ssh
    with _lock:
        if _base_env is None or _base_env_pid != os.getpid():
            env = dict(os.environ)
            path = env.get("PATH", "/usr/bin:/bin")
            scripts = tool_dir()
            if scripts not in path.split(os.pathsep):
                path = scripts + os.pathsep + path
            fast = fast_bin_dir()
            if fast:
                path = fast + os.pathsep + path
                magic = os.path.join(os.path.dirname(wheel_annex_binary() or ""), "magic.mgc")
                if os.path.exists(magic):
                    env.setdefault("MAGIC", magic)  # what the wheel's wrapper would have set
            env["PATH"] = path
            env["GIT_TERMINAL_PROMPT"] = "0"
            env["GIT_PAGER"] = "cat"
            env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
            # Never let a remote URL pick a command-running transport (ext::, fd::) even if the
            # user's config allows it: git honours this allow-list for every transport it uses.
            env["GIT_ALLOW_PROTOCOL"] = "file:ssh:git:http:https"
            # every child carries our mark: ended with us even if we are killed (see reaper)
            env[reaper.OWNER_VAR] = reaper.owner_mark()
            # ssh with no prompts and one shared connection per host (sshmux says how and why)
            _user_ssh = {k: env[k] for k in ("GIT_SSH_COMMAND", "GIT_SSH") if env.get(k)}
            env.update(sshmux.ssh_env(env))
            _base_env, _base_env_pid = env, os.getpid()
        return dict(_base_env)


def reset_env_cache() -> None:
    """Forget the cached environment (tests change os.environ between repositories)."""
    global _base_env
    with _lock:
        _base_env = None
        _ssh_config.clear()


# -- the ssh command of one repository ----------------------------------------------------------
#
# git reads core.sshCommand per repository (global or in the repository's own config) and lets
# $GIT_SSH_COMMAND override it; a GIT_SSH_COMMAND of ours in every environment overrode it too,
# so a user's `ssh -F my_config` never ran and a Host alias of theirs did not resolve. So each
# repository's command is built from its own config (cached until a config file changes).

@dataclass(frozen=True)
class RepoSsh:
    """What a repository's git config says about ssh."""

    core_command: str | None = None  # core.sshCommand
    annex_options: dict[str, str] = field(default_factory=dict)  # remote name -> annex-ssh-options


_ssh_config: dict[str, tuple[tuple[object, ...], RepoSsh]] = {}
_SSH_KEYS = r"^(core\.sshcommand|remote\..+\.annex-ssh-options)$"


def _config_files(env: dict[str, str], git_dir: Path | None) -> list[str]:
    """The config files git reads for a repository (not their include.path files)."""
    files = [str(git_dir / "config")] if git_dir else []
    if "GIT_CONFIG_GLOBAL" in env:
        files.append(env["GIT_CONFIG_GLOBAL"])
    else:
        home = env.get("HOME") or os.path.expanduser("~")
        files += [os.path.join(home, ".gitconfig"),
                  os.path.join(env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "git", "config")]
    if not env.get("GIT_CONFIG_NOSYSTEM"):
        files.append(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    return files


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def repo_ssh(cwd: str | Path) -> RepoSsh:
    """core.sshCommand and the remotes' annex-ssh-options of the repository at `cwd`, as git
    reads them there; read again only when one of its config files changed (a stat each)."""
    env = base_env()
    git_dir = git_dir_of(Path(cwd))
    if git_dir is None and os.path.isfile(os.path.join(cwd, "HEAD")):  # a bare repository without annex
        git_dir = Path(cwd)
    key = str(git_dir or os.path.abspath(cwd))
    stamp = tuple(_stamp(f) for f in _config_files(env, git_dir))
    with _lock:
        hit = _ssh_config.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        r = subprocess.run(["git", "config", "-z", "--get-regexp", _SSH_KEYS], cwd=cwd, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.debug("%s: cannot read its ssh config: %s", cwd, e)
        return RepoSsh()
    if r.returncode not in (0, 1):  # 1: none of those keys is set
        log.debug("%s: git config: %s", cwd, r.stderr.decode(errors="replace").strip())
        return RepoSsh()
    core, options = None, {}
    for item in r.stdout.decode(errors="surrogateescape").split("\0"):
        name, _, value = item.partition("\n")
        if name == "core.sshcommand":
            core = value  # the last one wins, as in git
        elif name.startswith("remote.") and name.endswith(".annex-ssh-options"):
            options[name[len("remote."):-len(".annex-ssh-options")]] = value
    conf = RepoSsh(core, options)
    with _lock:
        _ssh_config[key] = (stamp, conf)
    return conf


def user_ssh_env() -> dict[str, str]:
    """``GIT_SSH_COMMAND`` and ``GIT_SSH`` as the user set them (not the command we build)."""
    base_env()
    with _lock:
        return dict(_user_ssh)


def ssh_command(cwd: str | Path, remote: str | None = None) -> sshmux.SshCommand:
    """The ssh git runs for the repository at `cwd` (and for `remote`: its annex-ssh-options too),
    with our connection sharing on top (:func:`sshmux.choose`)."""
    conf = repo_ssh(cwd)
    return sshmux.choose(user_ssh_env(), conf.core_command,
                         conf.annex_options.get(remote) if remote else None)


def ssh_env(cwd: str | Path, remote: str | None = None) -> dict[str, str]:
    """What to put into the environment of a git or git-annex process of the repository at
    `cwd` (that talks to `remote`) so that it runs :func:`ssh_command`."""
    return ssh_command(cwd, remote).env


def repo_env(cwd: str | Path, remote: str | None = None) -> dict[str, str]:
    """:func:`base_env` with the ssh command of the repository at `cwd` (and of `remote`)."""
    env = base_env()
    env.update(ssh_env(cwd, remote))
    env.update(cloud_env(cwd, remote, env))
    return env


def cloud_env(cwd: str | Path, remote: str | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The credentials of the repository's cloud remotes and `annex` as an allowed transport
    where a remote's URL is `annex::` (engine/network/cloud.py says how); usually empty."""
    from ..network.cloud import cloud_env as env_of  # (cloud.py uses this module)

    try:
        return env_of(cwd, remote, base)
    except Exception:  # a broken keyring must not stop git: the cloud remote fails on its own
        log.warning("%s: no environment for its cloud remotes", cwd, exc_info=True)
        return {}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(
    args: Sequence[str],
    cwd: str | Path | None = None,
    *,
    input: str | bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> Result:
    """Run a command (git or git-annex) to completion with a deadline; kill its group on timeout.

    A command run in a repository (`cwd`) gets that repository's ssh command unless `env` names
    one (a caller talking to one remote passes :func:`ssh_env` of that remote)."""
    full_env = base_env()
    if cwd is not None and not (env and "GIT_SSH_COMMAND" in env):
        full_env.update(ssh_env(cwd))
    if cwd is not None:
        full_env.update(cloud_env(cwd, None, full_env))
    if env:
        full_env.update(env)
    binary = isinstance(input, bytes)
    proc = subprocess.Popen(
        list(args),
        cwd=cwd,
        env=full_env,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(input.encode() if input is not None and not binary else input,
                                    timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        raise GitTimeout(args, -9, out.decode(errors="replace"),
                         f"timed out after {timeout:.0f} s") from None
    except BaseException:
        kill_group(proc)
        proc.wait()
        raise
    res = Result(proc.returncode, out.decode(errors="surrogateescape"), err.decode(errors="replace"))
    if check and res.returncode != 0:
        raise GitError(args, res.returncode, res.stdout, res.stderr)
    return res


def kill_group(proc: subprocess.Popen, grace: float = 2.0) -> None:
    """SIGTERM the process group, then SIGKILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Git:
    """git commands on one repository's work tree."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- plumbing ---------------------------------------------------------------------------
    def run(self, *args: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True,
            input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
        # git-annex updates the index on its own (after a download it refreshes the stat info of
        # the file it filled in), so our commit or merge can find index.lock (or a ref's lock)
        # taken for a moment: wait for it briefly instead of failing the round. One that stays
        # was left by a killed process, and would stop every later round: removed once stale.
        deadline = time.monotonic() + INDEX_LOCK_WAIT
        removed = False
        while True:
            res = run(["git", *args], cwd=self.path, timeout=timeout, check=False, input=input, env=env)
            lock = self._own_lock(res) if res.returncode != 0 else None
            if lock is None:
                break
            if time.monotonic() > deadline:
                if removed or not remove_if_stale(lock, STALE_LOCK_AGE):
                    break
                removed = True
                continue
            time.sleep(0.05)
        if check and res.returncode != 0:
            raise GitError(["git", *args], res.returncode, res.stdout, res.stderr)
        return res

    def _own_lock(self, res: Result) -> Path | None:
        """The lock file of this repository that stopped a git command ("Unable to create
        '.../index.lock': File exists"); a remote's (a push) is not ours to wait for."""
        m = _LOCK_PATH.search(res.stderr)
        if m is None:
            return None
        lock = Path(m.group(1))
        try:
            return lock if lock.resolve().is_relative_to(self.git_dir.resolve()) else None
        except (OSError, GitError):
            return None

    def out(self, *args: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        return self.run(*args, timeout=timeout).stdout.strip()

    @property
    def git_dir(self) -> Path:
        gd = self.path / ".git"
        if gd.is_dir():
            return gd
        return Path(self.out("rev-parse", "--absolute-git-dir"))

    def rev(self, ref: str) -> str | None:
        r = self.run("rev-parse", "--verify", "-q", ref + "^{commit}", check=False)
        return r.stdout.strip() or None if r.returncode == 0 else None

    def ref_sha(self, ref: str) -> str | None:
        r = self.run("rev-parse", "--verify", "-q", ref, check=False)
        return r.stdout.strip() or None if r.returncode == 0 else None

    def refs(self, *patterns: str) -> dict[str, str]:
        """refname -> sha for refs matching the for-each-ref patterns."""
        r = self.run("for-each-ref", "--format=%(objectname) %(refname)", *patterns)
        out: dict[str, str] = {}
        for line in r.stdout.splitlines():
            sha, _, name = line.partition(" ")
            out[name] = sha
        return out

    def is_ancestor(self, a: str, b: str) -> bool:
        return self.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0

    def current_branch(self) -> str | None:
        r = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return r.stdout.strip() or None

    def ssh(self, remote: str | None = None) -> sshmux.SshCommand:
        """The ssh command of this repository (and of `remote`), see :func:`ssh_command`."""
        return ssh_command(self.path, remote)

    def ssh_env(self, remote: str | None = None) -> dict[str, str]:
        """Environment entries for a git or git-annex process talking to `remote` over ssh."""
        return ssh_env(self.path, remote)

    def config_get(self, key: str, default: str | None = None) -> str | None:
        r = self.run("config", "--get", key, check=False)
        return r.stdout.strip() if r.returncode == 0 else default

    def config_get_regexp(self, pattern: str) -> dict[str, str]:
        r = self.run("config", "-z", "--get-regexp", pattern, check=False)
        out: dict[str, str] = {}
        for item in r.stdout.split("\0"):
            if item:
                k, _, v = item.partition("\n")
                out[k] = v
        return out

    def config_set(self, key: str, value: str) -> None:
        self.run("config", key, value)

    def config_unset(self, key: str) -> None:
        self.run("config", "--unset-all", key, check=False)

    def remotes(self) -> list[str]:
        return [r for r in self.out("remote").splitlines() if r]

    def remote_url(self, name: str) -> str | None:
        return self.config_get(f"remote.{name}.url")

    def status_paths(self, under: list[str] | None = None) -> list[str]:
        """Paths with uncommitted changes (modified, deleted, untracked; not ignored), in the
        whole tree or `under` these folders."""
        spec = ["--", *under] if under is not None else []
        r = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", *spec,
                     env={"GIT_LITERAL_PATHSPECS": "1"} if under is not None else None)
        paths = []
        for entry in r.stdout.split("\0"):
            if len(entry) > 3:
                paths.append(entry[3:])
        return paths

    def unmerged_paths(self) -> list[str]:
        r = self.run("diff", "--name-only", "-z", "--diff-filter=U")
        return sorted({p for p in r.stdout.split("\0") if p})

    def changed_paths(self, old: str, new: str) -> list[str]:
        r = self.run("diff", "--name-only", "-z", "--no-renames", old, new, "--")
        return [p for p in r.stdout.split("\0") if p]

    def check_ignore(self, paths: Iterable[str]) -> set[str]:
        data = "\0".join(paths)
        if not data:
            return set()
        r = self.run("check-ignore", "-z", "--stdin", "--no-index", input=data + "\0", check=False)
        return {p for p in r.stdout.split("\0") if p}
