"""How long a run takes to train, from the measured speed of finished runs in the store.

Estimates use images per second of finished runs with the same model, width, batch size,
augmentation and kind of distillation, else :data:`DEFAULT_SPEED` (the 2-core machine of
``bench/README.md``). Prediction and evaluation are not counted.
"""

from __future__ import annotations

import json
import statistics

import numpy as np

from .config import RunConfig
from .store import Store

TRAIN_IMAGES = {("mnist", "full"): 60000, ("cifar10", "full"): 50000,
                ("mnist", "sample"): 500, ("cifar10", "sample"): 500}
# images/s when the store has no comparable run: measured on the 2-core AMD machine, the
# conv family (batch 64) with the teacher training beside it, so on the slow side
DEFAULT_SPEED = {"resnet18": 124.0, "cifar_student": 450.0, "mnist_teacher": 4000.0,
                 "mnist_student": 6000.0, "conv2": 3247.0, "conv4": 745.0, "conv6": 732.0,
                 "conv8": 706.0, "conv10": 372.0}


def train_images(config: RunConfig) -> int:
    """Training images one epoch of ``config`` visits."""
    total = TRAIN_IMAGES[(config.dataset, config.data)]
    return round(total * (1 - config.val_fraction) * config.fraction)


def _speed_key(config: RunConfig) -> tuple:
    kind = "feature" if config.feature != "none" else "plain"
    return (config.model, config.width, config.batch_size, config.augment, kind, config.data)


def measured_speeds(store: Store) -> dict[tuple, tuple[float, float]]:
    """Per :func:`_speed_key`: ``(a, b)`` such that one epoch of ``n`` training images takes
    ``a * n + b`` seconds on this store's finished runs.

    ``b`` is what an epoch costs whatever its size (evaluating the validation split, which is
    the same 10 % for every fraction, and starting the epoch): a rate in images/s alone made
    the 6,750-image epochs of the ``cpu`` profile, a fifth of whose time is validation, read
    as a slow training speed and overestimated the whole-pool runs by half. Each run counts
    by its median epoch (an epoch slowed by a paused or busy machine does not move it), each
    training size by its median run; through two or more sizes a least-squares line gives
    ``a`` and ``b``, with one size ``b`` is 0.
    """
    by_size: dict[tuple, dict[int, list[float]]] = {}
    for history_path in store.root.glob("*/history.json"):
        try:
            history = json.loads(history_path.read_text())
            metrics = json.loads((history_path.parent / "metrics.json").read_text())
            config = RunConfig.from_dict(
                json.loads((history_path.parent / "config.json").read_text())["config"])
            seconds = statistics.median(row["seconds"] for row in history)
        except (OSError, ValueError, KeyError, TypeError, statistics.StatisticsError):
            continue  # an unreadable run is reported when it is loaded, not here
        if seconds > 0 and metrics.get("n_train"):
            by_size.setdefault(_speed_key(config), {}).setdefault(
                int(metrics["n_train"]), []).append(seconds)
    costs = {}
    for key, sizes in by_size.items():
        points = sorted((n, statistics.median(values)) for n, values in sizes.items())
        n, seconds = points[-1]
        a, b = seconds / n, 0.0
        if len(points) > 1:
            slope, intercept = np.polyfit([p[0] for p in points], [p[1] for p in points], 1)
            if slope > 0 and intercept >= 0:
                a, b = float(slope), float(intercept)
        costs[key] = (a, b)
    return costs


def estimate_seconds(config: RunConfig, speeds: dict[tuple, tuple[float, float]],
                     store: Store | None = None) -> float:
    """Training seconds ``config`` still needs: its epochs not yet checkpointed in ``store``,
    at the epoch cost :func:`measured_speeds` fitted (else :data:`DEFAULT_SPEED`)."""
    a, b = speeds.get(_speed_key(config)) or (1 / DEFAULT_SPEED.get(config.model, 500.0), 0.0)
    done = 0
    if store is not None:
        from .workfiles import HISTORY_LOG, read_epoch_log

        done = min(len(read_epoch_log(store.partial_path(config.run_id) / HISTORY_LOG)),
                   config.epochs)
    return (a * train_images(config) + b) * (config.epochs - done)
