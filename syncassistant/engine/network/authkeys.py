"""Keys made for one pairing, and the authorized_keys lines that let them do git-annex on one
folder and nothing else.

A pairing (engine/network/invite.py) gives each device a key of its own for reaching the other:
ed25519, no passphrase, in a 0700 folder of the app's data dir (0600 private key), one folder
per pairing so that disconnecting removes exactly it. The device that runs an ssh server adds
the other's public key to its authorized_keys as::

    restrict,command="PATH='<bin>':\"$PATH\" GIT_ANNEX_SHELL_DIRECTORY='<folder>' exec '<bin>/git-annex-shell' -c \"$SSH_ORIGINAL_COMMAND\"" ssh-ed25519 AAAA... syncassistant-pairing:<id>

- ``restrict``: no pty, no port, agent or X11 forwarding, no ~/.ssh/rc;
- the forced command: whatever the client asks for runs as ``git-annex-shell -c "<that>"``, which
  runs git-annex-shell's own commands and hands git's (git-upload-pack, git-receive-pack) to
  git-shell, refusing everything else (``echo hi`` fails);
- ``GIT_ANNEX_SHELL_DIRECTORY``: git-annex-shell refuses any command whose directory is not this
  folder (it compares canonical paths), so the key reaches no other repository. Not
  ``GIT_ANNEX_SHELL_LIMITED``: that also stops the hand-over to git-shell, and with it git's
  pushes and fetches;
- ``PATH``: an ssh session's PATH is the system's, and git-annex from PyPI lives in our venv;
- ``touch <seen file>`` first (optional): the file's time is when the device last reached this
  one, which the Devices page shows for a device we have no remote for (the laptop without an
  ssh server that pushes to us). The path is ours, fixed when the line is written; nothing the
  client sends reaches a shell.

The last field, the key's comment, is the marker (``syncassistant-pairing:<id>``) by which the
line is found and removed again. The file is rewritten whole (a temporary file renamed over
it), keeping its mode (0600 for a new one, in a 0700 ~/.ssh).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..proc.git import base_env, tool_dir

MARKER_PREFIX = "syncassistant-pairing:"
PUBLIC_KEY = re.compile(r"^ssh-ed25519 [A-Za-z0-9+/]{60,100}={0,2}$")
HOST_KEY = re.compile(r"^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) "
                      r"[A-Za-z0-9+/]{40,1000}={0,2}$")
PAIRING_ID = re.compile(r"^[0-9a-f]{16}$")


class AuthKeysError(RuntimeError):
    """A key could not be made, or authorized_keys could not be changed (one line why)."""


def marker(pairing: str) -> str:
    if not PAIRING_ID.match(pairing):
        raise ValueError(f"not a pairing id: {pairing!r}")
    return MARKER_PREFIX + pairing


def make_key(directory: Path, comment: str) -> str:
    """A new ed25519 key pair in `directory` (made 0700; id_ed25519 is 0600): its public key
    line ("ssh-ed25519 AAAA...", without the comment)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=False)
    key = directory / "id_ed25519"
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
                       check=True, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        shutil.rmtree(directory, ignore_errors=True)
        raise AuthKeysError("ssh-keygen is not installed (install openssh-client)") from None
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        shutil.rmtree(directory, ignore_errors=True)
        raise AuthKeysError(f"ssh-keygen failed: {getattr(e, 'stderr', '') or e}") from None
    os.chmod(key, 0o600)
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def annex_shell() -> str:
    """The git-annex-shell to force: the one beside our interpreter (PyPI's git-annex), else the
    one on our PATH."""
    here = os.path.join(tool_dir(), "git-annex-shell")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("git-annex-shell", path=base_env().get("PATH"))
    if not found:
        raise AuthKeysError("git-annex-shell is not installed here: the other device could not reach this folder")
    return found


def restricted_line(public_key: str, folder: Path, pairing: str, shell: str | None = None,
                    seen: Path | None = None) -> str:
    """The authorized_keys line for `public_key`: git-annex on `folder` only (see the module doc);
    each login touches `seen` first, if given."""
    if not PUBLIC_KEY.match(public_key):
        raise ValueError("not an ed25519 public key")
    shell = shell or annex_shell()
    for text in (str(folder), shell, *([str(seen)] if seen else [])):
        # the command sits inside "..." in authorized_keys, where only \" is an escape
        if any(c in text for c in '"\\\n\r\0'):
            raise AuthKeysError(f"{text}: a path with quotes, backslashes or line breaks cannot go into "
                            "authorized_keys")
    command = (f"touch {shlex.quote(str(seen))} 2>/dev/null; " if seen else "") + (
               f"PATH={shlex.quote(os.path.dirname(shell))}:\"$PATH\" "
               f"GIT_ANNEX_SHELL_DIRECTORY={shlex.quote(str(folder))} "
               f"exec {shlex.quote(shell)} -c \"$SSH_ORIGINAL_COMMAND\"")
    return f'restrict,command="{command.replace(chr(34), chr(92) + chr(34))}" {public_key} {marker(pairing)}'


def default_authorized_keys() -> Path:
    return Path.home() / ".ssh" / "authorized_keys"


def authorize(path: Path, line: str) -> None:
    """Append `line` to the authorized_keys file at `path` (made, with its folder, if missing)."""
    if path.parent.name == ".ssh" and not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    try:
        old = path.read_text()
    except FileNotFoundError:
        old = ""
    except OSError as e:
        raise AuthKeysError(f"cannot read {path}: {e.strerror}") from None
    if old and not old.endswith("\n"):
        old += "\n"
    _write(path, old + line + "\n")


def unauthorize(path: Path, pairing: str) -> bool:
    """Remove the line of this pairing from `path`; True if there was one."""
    mark = marker(pairing)
    try:
        old = path.read_text()
    except FileNotFoundError:
        return False
    except OSError as e:
        raise AuthKeysError(f"cannot read {path}: {e.strerror}") from None
    lines = old.splitlines(keepends=True)
    kept = [ln for ln in lines if not (ln.split() and ln.split()[-1] == mark)]
    if len(kept) == len(lines):
        return False
    _write(path, "".join(kept))
    return True


def authorized(path: Path, pairing: str) -> bool:
    """The line of this pairing is in `path`."""
    mark = marker(pairing)
    try:
        return any(ln.split() and ln.split()[-1] == mark for ln in path.read_text().splitlines())
    except OSError:
        return False


def _write(path: Path, text: str) -> None:
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".authorized_keys.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        raise AuthKeysError(f"cannot write {path}: {e.strerror}") from None
