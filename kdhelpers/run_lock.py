"""The claim that keeps two processes from training the same run: a POSIX record lock on
``.partial/<run id>.lock`` in the store, naming its holder for whoever waits."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path


@contextlib.contextmanager
def claim(path: Path, *, poll: float = 2.0, on_wait=None):
    """Hold the exclusive right to train the run whose lock file is ``path``; waits while
    another process holds it.

    The claim is a POSIX record lock (``fcntl.lockf``) on ``.partial/<run id>.lock``:
    the kernel releases it when its holder exits, however it dies, so a waiter takes
    over a dead holder's claim at once and resumes from its checkpoint; no timeout is
    needed. The file also names the holder (host, pid, start) for the waiting message.
    Needs a file system with POSIX locks (local disks, NFSv4, Lustre, GPFS, CephFS).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            if on_wait is not None and not told:
                on_wait(holder(path))
                told = True
            time.sleep(poll)
            continue
        # the holder we waited for may have removed the file after publishing: a lock on
        # an unlinked file guards nothing, so start again on the file that is there now
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        break
    try:
        holding = {"host": socket.gethostname(), "pid": os.getpid(),
                  "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holding).encode(), 0)
        yield holding
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # before the unlock, so a waiter sees a new file next
        os.close(fd)  # releases the lock

def is_claimed(path: Path) -> bool:
    """Whether another process holds the claim on ``path`` right now."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock this check took
    return False

def holder(path: Path) -> dict:
    """Who holds the claim on ``path`` (as the lock file says), or ``{}``."""
    try:
        return json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return {}
