"""What the tray app remembers between runs, under XDG config, and start-at-login.

`repos.json` lists the repositories (user data); `settings.json` holds the app's preferences.
Both carry a version number; a file from a newer version is read for the keys we know and never
rewritten with fewer keys (unknown keys are kept). Secrets never go here: see `secrets.py`.
Start at login is the presence of an XDG autostart entry, made from the packaged one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

APP_ID = "io.github.syncassistant.SyncAssistant"
VERSION = 1
SETTINGS_DEFAULTS: dict[str, Any] = {"version": VERSION, "notifications": True}


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "syncassistant"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("%s: unreadable (%s); starting from defaults", path, e)
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


class AppConfig:
    """The repository list and app preferences; every change is written at once (atomically)."""

    def __init__(self, directory: Path | None = None):
        self.dir = directory or config_dir()
        self.repos_file = self.dir / "repos.json"
        self.settings_file = self.dir / "settings.json"
        self._repos = _read(self.repos_file)
        self._settings = {**SETTINGS_DEFAULTS, **_read(self.settings_file)}

    # -- repositories -----------------------------------------------------------------------
    @property
    def repositories(self) -> list[str]:
        items = self._repos.get("repositories", [])
        return [str(p) for p in items if isinstance(p, str)]

    def add_repository(self, path: str | Path) -> bool:
        """Remember a repository (absolute path); False if it was known already."""
        p = str(Path(path).expanduser().absolute())
        repos = self.repositories
        if p in repos:
            return False
        self._repos = {**self._repos, "version": max(VERSION, self._repos.get("version", 0)),
                       "repositories": [*repos, p]}
        _write(self.repos_file, self._repos)
        return True

    def remove_repository(self, path: str | Path) -> bool:
        p = str(Path(path).expanduser().absolute())
        repos = self.repositories
        if p not in repos:
            return False
        self._repos = {**self._repos, "repositories": [r for r in repos if r != p]}
        _write(self.repos_file, self._repos)
        return True

    # -- preferences ------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        return self._settings.get(key, SETTINGS_DEFAULTS.get(key))

    def set(self, key: str, value: Any) -> None:
        self._settings = {**self._settings, key: value}
        _write(self.settings_file, self._settings)

    @property
    def notifications(self) -> bool:
        return bool(self.get("notifications"))


# -- start at login (XDG autostart) ----------------------------------------------------------
def autostart_file() -> Path:
    return config_dir().parent / "autostart" / f"{APP_ID}.desktop"


def start_at_login_enabled() -> bool:
    return autostart_file().exists()


def _launcher() -> str | None:
    """An absolute `syncassistant` to run at login when it is not on a login session's PATH
    (a virtual environment's bin/ is on PATH only when activated)."""
    found = shutil.which("syncassistant")
    if found and os.path.dirname(found) in ("/usr/bin", "/usr/local/bin", "/app/bin"):
        return None
    candidate = Path(sys.executable).parent / "syncassistant"
    if not candidate.exists():
        return None
    return str(candidate)


def _exec_quote(arg: str) -> str:
    """Quote one Exec argument the way the Desktop Entry spec asks for reserved characters."""
    if not any(c in arg for c in ' \t"\'\\><~|&;$*?#()`'):
        return arg
    return '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'


def set_start_at_login(enabled: bool) -> Path:
    """Write or remove the autostart entry; return its path."""
    target = autostart_file()
    if not enabled:
        target.unlink(missing_ok=True)
        return target
    text = (resources.files("syncassistant.resources") / "autostart.desktop").read_text()
    exe = _launcher()
    if exe:
        lines = []
        for line in text.splitlines():
            if line.startswith("Exec=syncassistant"):
                line = "Exec=" + _exec_quote(exe) + line[len("Exec=syncassistant"):]
            elif line.startswith("TryExec="):
                line = "TryExec=" + exe
            lines.append(line)
        text = "\n".join(lines) + "\n"
    _write_text(target, text)
    return target


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
