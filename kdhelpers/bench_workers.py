"""What parallel workers buy on this machine: ``python -m kdhelpers.bench_workers``.

Trains the same real runs (the CIFAR student under the ``cpu`` profile's protocol, full
data from ``KDHELPERS_DATA``, a throw-away store) two ways and prints the total images per
second of each:

* one process with TensorFlow's default threads, the runs one after another;
* N processes with cores/N threads each (:func:`kdhelpers.executors.limit_threads`), the
  runs at the same time.

Run it on a quiet machine: anything else running skews both numbers. Results go to
``bench/workers.json`` (``--json``) and ``book/performance_workers.md`` (``--markdown``, the
Performance page's table); ``bench/README.md`` discusses them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import provenance

CHILD = """
import sys
from kdhelpers.config import RunConfig
from kdhelpers.runner import run
from kdhelpers.store import Store
for seed in map(int, sys.argv[3].split(",")):
    run(RunConfig("cifar_student", epochs=int(sys.argv[2]), seed=1000 + seed, fraction=0.15,
                  batch_size=32, optimizer="adam", learning_rate=1e-3, data="full"), Store(sys.argv[1]))
"""


def _start(store: Path, epochs: int, seeds: list[int], threads: int | None):
    env = dict(os.environ)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
                   TF_NUM_INTEROP_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", CHILD, str(store), str(epochs),
                             ",".join(map(str, seeds))], env=env)


def _epoch_seconds(store: Path) -> float:
    """Seconds spent in training epochs by the runs of one process's store (no loading,
    model building or prediction)."""
    total = 0.0
    for history in store.glob("*/history.json"):
        total += sum(row["seconds"] for row in json.loads(history.read_text()))
    return total


def measure(runs: int = 2, epochs: int = 2, workers: int = 2) -> dict:
    images = 6750 * epochs * runs  # 15 % of the 45,000-image pool per epoch
    results, training = {}, {}
    threads = max(1, (os.cpu_count() or 1) // workers)
    parallel = f"{workers} processes, {threads} thread(s) each"
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        _start(Path(tmp, "one"), epochs, list(range(runs)), None).wait()
        results["one process, default threads"] = images / (time.perf_counter() - started)
        training["one process, default threads"] = images / _epoch_seconds(Path(tmp, "one"))
        started = time.perf_counter()
        procs = [_start(Path(tmp, f"w{w}"), epochs, list(range(w, runs, workers)), threads)
                 for w in range(workers)]
        for proc in procs:
            proc.wait()
        results[parallel] = images / (time.perf_counter() - started)
        # the workers train at the same time: their slowest one bounds the total
        training[parallel] = images / max(_epoch_seconds(Path(tmp, f"w{w}")) for w in range(workers))
    values, inner = list(results.values()), list(training.values())
    return {"images_per_s": results, "ratio": values[1] / values[0],
            "training_images_per_s": training, "training_ratio": inner[1] / inner[0],
            "runs": runs, "epochs": epochs, "workers": workers, "cpu": provenance.cpu_model(),
            "cores": os.cpu_count(), "created": provenance.record()["created"],
            "note": "images_per_s: wall time of whole runs (data loading, model building, "
                    "prediction included); training_images_per_s: epochs only"}


def markdown(result: dict) -> str:
    """The Performance page's table of a ``measure`` result: images per second of one process
    and of the workers, during training epochs and over whole runs, and their ratios."""
    one, parallel = result["images_per_s"]
    rows = [["images/s during training epochs", *(f"{result['training_images_per_s'][k]:.0f}" for k in (one, parallel)),
             f"{result['training_ratio']:.2f}×"],
            [f"images/s over whole {result['epochs']}-epoch runs", *(f"{result['images_per_s'][k]:.0f}" for k in (one, parallel)),
             f"{result['ratio']:.2f}×"]]
    from .report import markdown_lines

    return "\n".join([f"{result['runs']} runs on {result['cpu']}, {result['cores']} cores; {result['created']}.", "",
                      *markdown_lines(["", one, parallel, "ratio"], rows)]) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdhelpers.bench_workers",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path("bench/workers.json"))
    parser.add_argument("--markdown", type=Path, default=Path("book/performance_workers.md"))
    parser.add_argument("--render", type=Path, metavar="WORKERS_JSON",
                        help="measure nothing: write --markdown from a results file written before")
    args = parser.parse_args(argv)
    if args.render:
        args.markdown.write_text(markdown(json.loads(args.render.read_text())))
        return 0
    if args.runs < args.workers or args.workers < 1:
        parser.error(f"--runs {args.runs} must be at least --workers {args.workers} (>= 1)")
    result = measure(args.runs, args.epochs, args.workers)
    for label, value in result["images_per_s"].items():
        print(f"{label}: {value:.0f} images/s whole runs, "
              f"{result['training_images_per_s'][label]:.0f} images/s in training epochs")
    print(f"ratio: {result['ratio']:.2f}x whole runs, {result['training_ratio']:.2f}x epochs")
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    args.markdown.write_text(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
