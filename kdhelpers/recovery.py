"""Training-set logits for a finished run that has lost its weights (weights are not
committed): re-train it elsewhere and keep the logits only if the re-train is the same run."""

from __future__ import annotations

import numpy as np

from . import provenance, runner
from .store import Run, Store


def recover_train_logits(run_id: str, store: Store, scratch: Store) -> Run:
    """Store the training-set logits of a finished run of ``store`` that has neither them
    nor its weights (weights are not committed), so that it can teach.

    Its config is re-trained in ``scratch`` (a finished run there is reused) and, only if
    the re-trained run's test logits equal the stored ones exactly (the same protocol on the
    same kind of CPU gives the same run, see ``train.fit``), the re-trained model predicts
    the training set. Otherwise ``ValueError``, and ``store`` is left as it was: the
    re-trained model would be another run, and its logits not this run's.
    """
    original = store.load(run_id)
    if not scratch.exists(run_id):  # refuse before, not after, half an hour of training
        wanted, here = trained_threads(original.metrics), provenance.compute_threads()
        if wanted != here:
            raise ValueError(f"run {run_id} was trained with {wanted} compute thread(s) and this "
                             f"process has {here}, so its re-train could not reproduce it: start "
                             f"Python with OMP_NUM_THREADS={wanted} TF_NUM_INTRAOP_THREADS={wanted}")
    retrained = runner.run(original.config, scratch)
    ours, stored = retrained.logits("test"), original.logits("test")
    if not np.array_equal(ours, stored):
        differ = float(np.mean(ours.argmax(-1) != stored.argmax(-1)))
        raise ValueError(f"run {run_id} re-trained in {scratch.root} does not reproduce its stored "
                         f"test logits (predictions differ on {differ:.1%} of the test images; "
                         f"another kind of CPU?): nothing stored")
    return store.add_train_logits(original, runner.train_logits(retrained, scratch))


def trained_threads(metrics: dict) -> int:
    """The compute threads a finished run trained with: its stretches' record, else (runs
    finished before stretches recorded it) the settings its ``metrics.json`` names."""
    from .workfiles import recorded_threads

    recorded = recorded_threads(metrics.get("segments", []))
    if len(recorded) == 1:
        return recorded.pop()
    machine = metrics.get("machine", {})
    return provenance.compute_threads(machine.get("environment", {}), machine.get("cpu_count"))
