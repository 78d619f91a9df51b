"""What made an artifact: library versions, machine, code revision."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# book/figures: the summary writes there the forest plot that heads the intro and the
# reproducibility page
OUTPUT_PATHS = ("book/*.ipynb", "book/status.*", "book/figures", "artifacts")


def in_checkout() -> bool:
    """Whether the package runs from a repository checkout (not from an installed copy)."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "book").is_dir()


def code_revision() -> dict:
    """The git commit of the code and whether tracked code differs from it: from the
    checkout, or, for an installed package, from the install record (pip's
    ``direct_url.json``: the commit of a ``git+`` install, or the checkout it was built from)."""
    if in_checkout():
        return _git_revision(REPO_ROOT)
    return installed_revision()


def _git_revision(root: Path) -> dict:
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        # Executing the book rewrites notebooks, the status page and artifacts in place:
        # those are outputs, not code, so they do not make the revision "dirty".
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".",
                         *(f":(exclude){p}" for p in OUTPUT_PATHS)))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def installed_revision() -> dict:
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    try:
        direct = json.loads(metadata.distribution("kdhelpers").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        direct = {}
    vcs = direct.get("vcs_info", {})
    if vcs.get("commit_id"):
        return {"commit": vcs["commit_id"], "dirty": False, "installed_from": direct.get("url")}
    url = direct.get("url", "")
    if url.startswith("file://"):  # built from a local folder: ask its git, if it has one
        found = _git_revision(Path(unquote(urlparse(url).path)))
        return {**found, "installed_from": url}
    return {"commit": None, "dirty": None, "installed_from": url or None}


@functools.cache
def loaded_code_revision() -> dict:
    """The revision when this process first asked: the code it imported, even if commits
    land while a long run trains (``code_revision()`` reads the checkout as it is now)."""
    return code_revision()


def versions() -> dict:
    import keras
    import numpy

    found = {"python": platform.python_version(), "keras": keras.__version__,
             "numpy": numpy.__version__, "backend": keras.backend.backend()}
    for module in ("tensorflow", "jax", "torch"):
        if module in sys.modules:
            found[module] = getattr(sys.modules[module], "__version__", "unknown")
    return found


_SPEED_SETTINGS = ("TF_ENABLE_ONEDNN_OPTS", "KERAS_BACKEND", "OMP_NUM_THREADS",
                   "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "XLA_FLAGS")


def compute_threads(environment=None, cpu_count: int | None = None) -> int:
    """The compute (intra-op) threads a process trains with, from the settings the backend
    reads once at import (``environment``: ``os.environ``, or a run's recorded
    ``machine.environment``); unset, every core (``cpu_count``, default this machine's).

    The count decides how oneDNN splits each sum, so it is part of what makes a run the run
    it is: the same run at 1 and at 2 threads ends with other weights (``train.fit``)."""
    environment = os.environ if environment is None else environment
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        if environment.get(name):
            return int(environment[name])
    return cpu_count or os.cpu_count() or 1


def short_cpu(model: str) -> str:
    """``"Intel Xeon"`` for ``"Intel(R) Xeon(R) Processor"``: a CPU's model name without the
    trademark signs and the words every name has, to fit a table's column."""
    import re

    words = re.sub(r"\((R|TM|tm)\)", "", model).replace("CPU", " ").replace("Processor", " ")
    return " ".join(words.split()) or model


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    import keras

    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu": cpu_model(), "cpu_count": os.cpu_count()}
    try:
        devices = keras.distribution.list_devices()
    except Exception:  # older backends without device listing
        devices = []
    info["devices"] = [str(d) for d in devices]
    # Settings read once, when the backend is imported, that change CPU speed (and, for
    # oneDNN, the order of floating-point sums): recorded so timings can be compared.
    info["environment"] = {name: os.environ[name] for name in _SPEED_SETTINGS if name in os.environ}
    return info


def record() -> dict:
    """Everything above plus a UTC time stamp, for ``metrics.json`` and notebook status cells."""
    return {"versions": versions(), "machine": machine(), "code": loaded_code_revision(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
