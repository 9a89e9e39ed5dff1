"""The launcher's hands on one crawl child process: stopping it, and talking to a reused one.

OWNS: stop_child() (graceful SIGTERM, a second SIGTERM, then SIGKILL) and, for a child that serves
batch after batch (scheduler/child_serve.py), what was read of it (Served), reading its next reply
line by a deadline, and closing it. scheduler.jobs decides when; this module only does it.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from store.records import Outcome

# After a graceful stop's grace, a second SIGTERM, which Scrapy obeys in well under a second (this
# covers a slow machine), then SIGKILL.
HARD_STOP_SECONDS = 3.0


@dataclass
class Served:
    """A child that crawls batch after batch (scheduler/child_serve.py), and what it said so far."""

    popen: subprocess.Popen[bytes]
    idle_since: float = 0.0
    buffer: bytes = b""


def stop_child(child: subprocess.Popen[bytes], grace: float, over_time: bool = False) -> str:
    """SIGTERM (Scrapy's graceful close), then SIGTERM again, then SIGKILL; return the outcome."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGTERM, HARD_STOP_SECONDS)):
        _signal(child, sig)
        try:
            child.wait(timeout=wait)
            return Outcome.TIMED_OUT if over_time else Outcome.STOPPED
        except subprocess.TimeoutExpired:
            continue
    # A callback stuck on the CPU ignores SIGTERM: only SIGKILL ends it.
    _signal(child, signal.SIGKILL)
    child.wait()
    return Outcome.KILLED


def read_reply(served: Served, deadline: float) -> dict[str, Any] | None:
    """Read the served child's next reply line by `deadline`; None if it exited first."""
    stdout = served.popen.stdout
    assert stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while b"\n" not in served.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise subprocess.TimeoutExpired(served.popen.args, deadline)
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                return None
            served.buffer += chunk
    line, served.buffer = served.buffer.split(b"\n", 1)
    try:
        answer = json.loads(line)
    except ValueError:
        answer = None
    return answer if isinstance(answer, dict) else {}


def close_served(served: Served, grace: float) -> None:
    """End a reused child that has no batch: close its stdin (it exits), then stop it if it lingers."""
    with contextlib.suppress(OSError):
        if served.popen.stdin is not None:
            served.popen.stdin.close()
    try:
        served.popen.wait(timeout=max(grace, 1.0))
    except subprocess.TimeoutExpired:
        stop_child(served.popen, grace)
    if served.popen.stdout is not None:
        served.popen.stdout.close()


def _signal(child: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.kill(child.pid, sig)
