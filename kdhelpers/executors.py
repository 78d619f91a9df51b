"""Where the runs of a grid train: this process, local worker processes, or Ray.

``KDHELPERS_EXECUTOR`` chooses for every chapter without editing a notebook:

* unset, ``""`` or ``"none"``: one run after another in this process (the default);
* ``"processes:N"``: N worker processes on this machine, each with cores/N compute threads
  (on the 2-core machine two single-threaded workers train 1.13-1.21x the images per
  second of one two-threaded process; ``bench/README.md``);
* ``"ray"`` or ``"ray:ADDRESS"``: one Ray task per run on a local Ray instance or the
  cluster at ADDRESS (``pip install -e ".[ray]"``), one GPU per task where the cluster has
  GPUs (``KDHELPERS_GPUS_PER_RUN`` sets a fraction, so several small students share one),
  retried when a worker dies. The artifact store must be on a file system every Ray node
  mounts, with atomic rename and POSIX locks (``Store.claim``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys

EXECUTOR_ENV = "KDHELPERS_EXECUTOR"
GPUS_ENV = "KDHELPERS_GPUS_PER_RUN"
KINDS = ("none", "processes:N", "ray", "ray:ADDRESS")


def from_spec(spec: str | None):
    """An executor for ``spec`` (see the module docstring), or ``None`` for this process."""
    spec = (spec or "").strip()
    if spec in ("", "none"):
        return None
    kind, _, arg = spec.partition(":")
    if kind == "processes":
        try:
            workers = int(arg)
        except ValueError:
            workers = 0
        if workers < 1:
            raise ValueError(f"{EXECUTOR_ENV}={spec!r}: the number of worker processes must be "
                             f"a positive integer, e.g. 'processes:2'")
        return process_pool(workers)
    if kind == "ray":
        return RayExecutor(address=arg or None)
    raise ValueError(f"{EXECUTOR_ENV}={spec!r} is not allowed; expected one of {list(KINDS)}")


_SHARED: dict = {}


def from_environment():
    """The executor ``KDHELPERS_EXECUTOR`` names, made once per process and reused."""
    spec = os.environ.get(EXECUTOR_ENV) or ""
    if spec not in _SHARED:
        _SHARED[spec] = from_spec(spec)
    return _SHARED[spec]


class WorkerProcesses(cf.ProcessPoolExecutor):
    """A process pool that says how many workers it has (``workers``): a scheduler that
    hands out one run per free worker (``program.train``) needs to know."""

    def __init__(self, workers: int, **kwargs):
        super().__init__(workers, **kwargs)
        self.workers = workers


def process_pool(workers: int) -> WorkerProcesses:
    """``workers`` spawned processes (TensorFlow does not survive ``fork``), each limited to
    its share of the cores so that they do not fight over them."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    return WorkerProcesses(workers, mp_context=multiprocessing.get_context("spawn"),
                           initializer=start_worker, initargs=(threads, os.getpid()))


def start_worker(threads: int, parent: int) -> None:
    """Each worker's start: its share of the cores, and an end tied to its parent's.

    Killing ``book train`` (``kill``, ``kill -9``, the end of a session) would otherwise
    leave its workers training on as orphans, holding their runs' claims, so that the next
    ``book train`` skips those runs and trains others beside them. On Linux the kernel
    kills a worker the moment its parent dies (``PR_SET_PDEATHSIG``); the run it was
    training resumes from its last checkpoint. The pool must be used from the thread that
    made it (the kernel watches the thread that started each worker).
    """
    limit_threads(threads)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1  # from <linux/prctl.h>
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the call above
            os._exit(1)


def limit_threads(threads: int) -> None:
    """Cap the compute threads of this (fresh) process; call before TensorFlow is imported."""
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"


class RayExecutor(cf.Executor):
    """A ``concurrent.futures.Executor`` over Ray tasks: ``submit`` returns the future of
    a Ray object reference (``ObjectRef.future()``)."""

    def __init__(self, address: str | None = None, *, gpus_per_run: float | None = None,
                 max_retries: int = 3, **init_kwargs):
        try:
            import ray
        except ImportError as error:
            raise ImportError("the 'ray' executor needs Ray: pip install -e \".[ray]\"") from error
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address, **init_kwargs)
        if gpus_per_run is None:
            gpus_per_run = float(os.environ.get(GPUS_ENV) or
                                 (1 if ray.cluster_resources().get("GPU", 0) else 0))
        if gpus_per_run < 0:
            raise ValueError(f"gpus_per_run={gpus_per_run!r} must be >= 0")
        self.options = dict(num_cpus=1, num_gpus=gpus_per_run, max_retries=max_retries,
                            retry_exceptions=False)

    def submit(self, fn, /, *args, **kwargs):
        task = self.ray.remote(fn).options(**self.options)
        return task.remote(*args, **kwargs).future()

    def shutdown(self, wait=True, *, cancel_futures=False):
        pass  # tasks belong to the Ray instance; ray.shutdown() is the caller's choice
