"""Several processes on one store (issue #14): never two trainings of one run, never a run
trained twice; grids on worker processes and on Ray."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from kdhelpers import executors
from kdhelpers.config import RunConfig
from kdhelpers.runner import run_grid
from kdhelpers.store import Store

ROOT = Path(__file__).resolve().parents[1]
# trains (or loads) the runs [model, seed, epochs] given as JSON, one after another, and
# prints one JSON line per run: its id and whether this process trained it. With a third
# argument it first waits (imports done) until that many runs are published and a
# checkpoint exists: a process ready to step in the moment another one is mid-run.
GRID = textwrap.dedent("""
    import json, sys, time
    from kdhelpers.config import RunConfig
    from kdhelpers.runner import run
    from kdhelpers.store import Store
    store = Store(sys.argv[1])
    if len(sys.argv) > 3:
        while not (len([p for p in store.root.glob("*-*") if p.is_dir()]) >= int(sys.argv[3])
                   and list(store.root.glob(".partial/*/checkpoint.npz"))):
            time.sleep(0.02)
    for model, seed, epochs in json.loads(sys.argv[2]):
        result = run(RunConfig(model, epochs=epochs, data="sample", seed=seed), store)
        print(json.dumps({"run": result.run_id, "trained": result.trained}), flush=True)
""")


def start(tmp_path, runs, after_published=None, store="artifacts"):
    script = tmp_path / "grid.py"
    script.write_text(GRID)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wait = [] if after_published is None else [str(after_published)]
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / store),
                             json.dumps(runs), *wait], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def outcome(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_overlapping_grids_train_each_run_once(tmp_path):
    """Two processes, started together, whose grids share one config (seed 1): it is
    trained by one of them and loaded by the other, and no run is trained twice."""
    first = start(tmp_path, [["mnist_student", 1, 1], ["mnist_student", 0, 1]])
    second = start(tmp_path, [["mnist_student", 1, 1], ["mnist_student", 2, 1]])
    results = outcome(first) + outcome(second)
    shared = [r for r in results if r["run"] == results[0]["run"]]
    assert sorted(r["trained"] for r in shared) == [False, True]
    trained = [r["run"] for r in results if r["trained"]]
    assert len(trained) == len(set(trained)) == 3  # seeds 0-2, each trained by one process
    store = Store(tmp_path / "artifacts")
    for run_id in trained:
        assert store.load(run_id).metrics["epochs"] == 1
    assert not [p for p in (tmp_path / "artifacts" / ".partial").iterdir()]


def test_a_killed_grid_is_taken_over_exactly_by_a_waiting_process(tmp_path):
    """SIGKILL a grid after its first run is published and while its second is mid-way;
    a second process, already waiting for that run, takes it over: the published run is
    not redone, the killed one resumes from its checkpoint, and ends bit-identical to
    the same run trained without interruption."""
    # the second run: killed after its first checkpoint, it resumes mid-schedule and trains
    # several epochs after the resume; the MNIST student's epochs on the sample are short
    # (a fifth of a second), so 8 of them leave the kill a window on a loaded machine
    grid = [["mnist_student", 1, 1], ["mnist_student", 0, 8]]
    holder = start(tmp_path, grid)
    waiter = start(tmp_path, grid, after_published=1)
    root = tmp_path / "artifacts"
    first = json.loads(waiter.stdout.readline())  # the published run: loaded, not redone
    published = {p.name: (p / "metrics.json").stat().st_mtime_ns
                 for p in root.glob(f"{grid[0][0]}-*")}
    model, seed, epochs = grid[1]
    second = RunConfig(model, epochs=epochs, data="sample", seed=seed).run_id
    # kill only once the second run has a checkpoint of its own: a fixed sleep raced with a
    # loaded machine (CI, a training job beside it), and the waiter then trained from scratch
    deadline = time.monotonic() + 120
    while not (root / ".partial" / second / "checkpoint.npz").exists():
        assert holder.poll() is None, "the holder ended before its second run checkpointed"
        assert time.monotonic() < deadline, "the second run never checkpointed"
        time.sleep(0.02)
    assert holder.poll() is None, "the holder finished before it could be killed"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    # the same run without interruption, while the waiter resumes: in a fresh process like
    # the other two, not in pytest's, whose global state earlier tests may have changed (CI
    # once saw the resumed logits differ from an in-process reference)
    reference = start(tmp_path, [grid[1]], store="uninterrupted")
    results = [first, *outcome(waiter)]
    [uninterrupted] = outcome(reference)
    assert uninterrupted["trained"]
    whole = Store(tmp_path / "uninterrupted").load(uninterrupted["run"])
    assert [r["trained"] for r in results] == [False, True]
    assert published == {results[0]["run"]: (root / results[0]["run"] / "metrics.json").stat().st_mtime_ns}
    store = Store(root)
    killed = store.load(results[1]["run"])  # verifies every manifest
    assert killed.metrics["resumed_at_epochs"]  # went on from the holder's checkpoint
    assert [row["epoch"] for row in killed.history] == list(range(epochs))
    assert not list((root / ".partial").iterdir())
    assert not whole.metrics.get("resumed_at_epochs")
    np.testing.assert_array_equal(killed.logits("test"), whole.logits("test"))
    assert [r["loss"] for r in killed.history] == [r["loss"] for r in whole.history]


def test_grid_on_worker_processes_respects_teachers(store):
    teacher = RunConfig("mnist_teacher", epochs=1, data="sample")
    students = [RunConfig("mnist_student", epochs=1, data="sample", seed=k,
                          teacher=teacher.run_id, alpha=0.5, temperature=4.0) for k in (0, 1)]
    with executors.process_pool(2) as pool:
        results = run_grid(students + [teacher], store, executor=pool, progress=False)
    assert [r.run_id for r in results] == [c.run_id for c in students + [teacher]]
    assert all(store.exists(c.run_id) for c in students + [teacher])


@pytest.mark.ray
def test_grid_on_ray(store):
    ray = pytest.importorskip("ray")
    teacher = RunConfig("mnist_teacher", epochs=1, data="sample")
    student = RunConfig("mnist_student", epochs=1, data="sample", teacher=teacher.run_id,
                        alpha=0.5, temperature=4.0)
    executor = executors.RayExecutor(num_cpus=2, include_dashboard=False,
                                     runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        results = run_grid([student, teacher], store, executor=executor, progress=False)
    finally:
        ray.shutdown()
    assert [r.run_id for r in results] == [student.run_id, teacher.run_id]


@pytest.mark.parametrize("spec, message", [
    ("threads:2", "'threads:2' is not allowed"),
    ("processes:0", "positive integer"),
    ("processes:two", "positive integer"),
])
def test_bad_executor_settings(spec, message):
    with pytest.raises(ValueError, match=message):
        executors.from_spec(spec)


def test_store_under_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Store(tmp_path / "no" / "such" / "artifacts")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_do_not_outlive_the_process_that_started_them(keras_stub_env):
    """A killed ``book train`` leaves no worker training on (and holding a run's claim)."""

    script = ("import os, time\n"
              "from kdhelpers import executors\n"
              "pool = executors.process_pool(1)\n"
              "print(pool.submit(os.getpid).result(), flush=True)\n"
              "pool.submit(time.sleep, 120)\n"  # the worker is busy: it would not notice
              "time.sleep(120)\n")
    # what is tested is the pool's wiring, not training: a stand-in Keras spares the parent
    # and its worker Keras's import
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env=keras_stub_env)
    worker = int(parent.stdout.readline())
    time.sleep(0.5)  # the sleep task has reached the worker
    parent.kill()
    parent.wait()

    def alive(pid):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        return state not in ("Z", "X")

    deadline = time.monotonic() + 20
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(worker)
