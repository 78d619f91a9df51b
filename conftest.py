"""Session-wide settings for pytest, including nbval's runs of the book's notebooks.

nbval re-executes every committed notebook (``book/*.ipynb``) at the ``smoke`` profile, on
the bundled sample, in a throw-away artifact store: CI thereby trains every chapter's runs
for real, and nothing in the repository's ``artifacts/`` is touched.
"""

import os
import shutil
import sys
import tempfile

import pytest

os.environ["KDHELPERS_PROFILE"] = "smoke"
# One throw-away store for the whole session, shared by pytest-xdist's workers (they inherit
# the controller's environment): a chapter reuses the runs another worker's chapter trained
# (e.g. chapter 5 reads chapter 2's), and the store's per-run claims keep two workers from
# training the same run.
_MADE_HERE = not os.environ.get("KDHELPERS_TEST_ARTIFACTS")
if _MADE_HERE:
    os.environ["KDHELPERS_TEST_ARTIFACTS"] = tempfile.mkdtemp(prefix="kdhelpers-test-artifacts-")
os.environ["KDHELPERS_ARTIFACTS"] = os.environ["KDHELPERS_TEST_ARTIFACTS"]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The README's install passes pip --no-compile: each module is byte-compiled when first
# imported and its .pyc reused by every later process. A host that sets
# PYTHONDONTWRITEBYTECODE (this project's machines do) would instead make every process the
# run starts (each notebook's kernel, each xdist worker, the tests' subprocesses) compile
# TensorFlow, Keras and JAX from source again. Measured on the 2-core machine with training
# beside it: importing them took 10.9 s of CPU from source, 4.5 s from bytecode; the whole
# CI run, 17 min 36 s of user CPU before, 14 min 34 s after.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def pytest_configure(config):
    """With N test processes (``-n N``), give each process, and every notebook kernel and
    subprocess it starts, cores/N compute threads, as ``book train --workers N`` does
    (``kdhelpers.executors.limit_threads``): two 2-thread TensorFlows on 2 cores spend part of
    their CPU waiting on each other's threads. Runs within one test session share the
    setting, so what a test compares trained at one thread count. Settings made outside pytest win."""
    workers = getattr(config.option, "numprocesses", None) or 0
    if isinstance(workers, int) and workers > 1 and not any(
            os.environ.get(name) for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")):
        # limit_threads' settings, written out: importing kdhelpers imports Keras (about 5 s
        # in pytest's controller, which trains nothing)
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        os.environ.update(OMP_NUM_THREADS=threads, TF_NUM_INTRAOP_THREADS=threads,
                          TF_NUM_INTEROP_THREADS="1")


def pytest_sessionfinish(session):
    """Remove the throw-away store (about 200 MB of smoke runs) when this process made it:
    the controller, or a run without xdist; never a store named from outside, and never
    from an xdist worker (the workers inherit the variable, so for them it is not theirs)."""
    if _MADE_HERE:
        shutil.rmtree(os.environ["KDHELPERS_TEST_ARTIFACTS"], ignore_errors=True)


# Files in the order the two xdist workers take them (``--no-loadscope-reorder``): the longest
# first, so that the last files handed out are short and both workers finish together.
# Seconds: per-file totals of a ``--durations=0`` CI run on the AMD host, 6 December 2026
# (an order, not a measurement to quote). Chapter 2 leads because chapters 3, 4, 5 and 7
# read its teacher, and the summaries close: they summarise the chapters before them. Files
# not listed keep their place after these.
LONGEST_FIRST = (
    "book/exp2_alpha_temperature.ipynb",  # ~100 s
    "tests/test_resume.py",  # ~95 s
    "tests/test_runner.py",  # ~80 s
    "tests/test_concurrency.py",  # ~75 s
    "book/exp7_beyond_logits.ipynb",  # ~70 s (one evaluation seed at smoke)
    "tests/test_backends.py",  # ~65 s
    "book/exp4_teacher_free.ipynb",  # ~65 s
    "book/exp6_teacher_assistants.ipynb",  # ~65 s
    "book/exp5_student_as_teacher.ipynb",  # ~65 s
    "tests/test_install.py",  # ~55 s
    "book/exp3_training_data.ipynb",  # ~50 s
    "tests/test_toy_chapter.py",  # ~25 s
    "tests/test_program.py",  # ~20 s
    "tests/test_feature_kd.py",  # ~20 s
    "book/exp1_mnist.ipynb",  # ~15 s
    "tests/test_book.py",
    "tests/test_losses.py",
)
LAST = ("book/summary.ipynb", "book/reproducibility.ipynb")
# The quick lane, `pytest -m "not slow"`, leaves out the notebooks and these files: they train
# runs end to end (processes killed and resumed, a fresh install, the JAX backend).
SLOW_FILES = ("tests/test_concurrency.py", "tests/test_resume.py", "tests/test_runner.py",
              "tests/test_install.py", "tests/test_backends.py")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.relative_to(config.rootpath).as_posix()
        if name in LONGEST_FIRST:
            return LONGEST_FIRST.index(name)
        if name in LAST:
            return len(LONGEST_FIRST) + 1 + LAST.index(name)
        return len(LONGEST_FIRST)  # unlisted files: between the two lists, in collection order

    items.sort(key=rank)  # stable: a file's items (a notebook's cells) keep their order
    for item in items:
        name = item.path.relative_to(config.rootpath).as_posix()
        if name.startswith("book/") or name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
