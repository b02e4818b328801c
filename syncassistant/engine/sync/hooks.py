"""Running the user's hook program after each commit and each merge.

`syncassistant.hook` in git config is an argv list (split with shlex, never run by a shell);
the environment names the repository, the event and the commit. A hook gets a deadline and its
failure is logged, never fatal.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import threading

from ..context import RepoContext
from ..proc.git import kill_group, repo_env

log = logging.getLogger(__name__)

HOOK_TIMEOUT = 60.0


class HookRunner:
    def __init__(self, ctx: RepoContext):
        self.ctx = ctx
        self._lock = threading.Lock()  # one hook at a time, in order

    def argv(self) -> list[str] | None:
        raw = self.ctx.git.config_get("syncassistant.hook")
        if not raw:
            return None
        try:
            argv = shlex.split(raw)
        except ValueError as e:
            log.error("%s: syncassistant.hook is malformed: %s", self.ctx.root, e)
            return None
        return argv or None

    def run(self, event: str, commit: str | None, paths: list[str]) -> int | None:
        argv = self.argv()
        if not argv:
            return None
        env = repo_env(self.ctx.root)  # a hook that pushes reaches remotes the way we do
        env.update({
            "SYNCASSISTANT_REPO": str(self.ctx.root),
            "SYNCASSISTANT_EVENT": event,
            "SYNCASSISTANT_COMMIT": commit or "",
            "SYNCASSISTANT_COUNT": str(len(paths)),
        })
        with self._lock:
            try:
                proc = subprocess.Popen(argv, cwd=self.ctx.root, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)
            except OSError as e:
                log.error("%s: cannot run hook %r: %s", self.ctx.root, argv[0], e)
                return None
            try:
                # the changed paths, NUL-separated, on stdin
                _, err = proc.communicate("\0".join(paths).encode(errors="surrogateescape"),
                                          timeout=HOOK_TIMEOUT)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                proc.wait()
                log.error("%s: hook %s killed after %.0f s", self.ctx.root, argv[0], HOOK_TIMEOUT)
                return None
        if proc.returncode != 0:
            log.warning("%s: hook %s exited %d: %s", self.ctx.root, argv[0], proc.returncode,
                        err.decode(errors="replace").strip()[:300])
        self.ctx.emit("hook", event=event, returncode=proc.returncode, argv0=os.path.basename(argv[0]))
        return proc.returncode
