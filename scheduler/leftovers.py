"""Temporary files a killed newsmon process left behind: found by the owner's pid in their names,
removed by the next daemon or worker to start.

OWNS: temp_prefix() and temp_folder() (how a process names its temporary files and folders) and
sweep(). A daemon or a worker killed with SIGKILL (the OOM killer, `kill -9`) cannot clean up:
its seeds snapshot (3.5 MB for 20,000 sources), its children's result files and its jobs' seeds
folders would pile up in the temporary folder over months of restarts. Each such name carries its
owner's pid, and a file whose owner is no longer running is removed. A pid that is running (even a
reused one) keeps its files: a leftover kept is cheaper than a live file removed. Names carry the
owner's PID namespace too: containers that share a temporary folder (a pod's volume) but not their
pids must not take each other's live files for a dead process's.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

KINDS = ("seeds", "child", "job")
# Names written before the namespace was added have none: swept as before.
_OWNED = re.compile(r"^newsmon-(?:" + "|".join(KINDS) + r")-(\d+)-(?:ns(\d+)-)?")


def _pid_namespace() -> str:
    # The inode of /proc/self/ns/pid names the namespace; none where there is no /proc (not Linux).
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


_NAMESPACE = _pid_namespace()


def temp_prefix(kind: str) -> str:
    """Return the prefix this process gives a temporary file or folder of `kind` (one of KINDS)."""
    return f"newsmon-{kind}-{os.getpid()}-" + (f"ns{_NAMESPACE}-" if _NAMESPACE else "")


def temp_folder(kind: str) -> Path:
    """Make a temporary folder of `kind` named for this process (temp_prefix)."""
    return Path(tempfile.mkdtemp(prefix=temp_prefix(kind)))


def sweep(folder: Path | None = None) -> int:
    """Remove what dead newsmon processes left in `folder` (the temporary folder); return how many."""
    folder = folder or Path(tempfile.gettempdir())
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    for path in entries:
        match = _OWNED.match(path.name)
        if match is None or match.group(2) not in (None, _NAMESPACE) or _running(int(match.group(1))):
            continue  # not ours, another namespace's (its pid means nothing here), or alive
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except OSError as exc:  # another user's, or gone meanwhile
            log.debug("could not remove %s: %s", path, exc)
    if removed:
        log.info("removed %d temporary file%s left by stopped newsmon processes in %s", removed,
                 "" if removed == 1 else "s", folder)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
