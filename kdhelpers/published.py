"""What a finished run publishes in its folder: test logits, epoch history, metrics (with
the stretches of training behind it) and the student's weights."""

from __future__ import annotations

import time

import numpy as np

from . import data, provenance
from .store import WEIGHTS, write_json


def write_artifacts(folder, student, history, dataset: data.Dataset, started: float,
                    resumed: list[int] = (), stretches: list[dict] = ()) -> None:
    """Test logits, history, metrics and weights into ``folder``.

    Training-set logits wait until the run teaches (:func:`store_train_logits`). The
    recorded test accuracy is computed from the float16 logits as stored, so the two agree.
    """
    test_logits = student.predict(dataset.x_test, batch_size=512, verbose=0).astype("float16")
    np.savez_compressed(folder / "logits.npz", test=test_logits)
    write_json(folder / "history.json", history)
    metrics = summarize(history, test_logits.astype("float32"), dataset,
                        time.perf_counter() - started)
    metrics["resumed_at_epochs"] = list(resumed)  # empty: trained without interruption
    # each stretch of training: its first epoch, code revision, CPU, backend (workfiles.segments)
    metrics["segments"] = list(stretches)
    write_json(folder / "metrics.json", metrics)
    student.save(folder / WEIGHTS)


def summarize(history: list[dict], test_logits: np.ndarray, dataset: data.Dataset,
              seconds_this_call: float) -> dict:
    """metrics.json: final test accuracy, validation-selected epoch, time, provenance."""
    test_accuracy = float(np.mean(np.argmax(test_logits, axis=-1) == dataset.y_test))
    val = [row.get("val_accuracy") for row in history]
    best = int(np.argmax(val)) if val and val[0] is not None else None
    return {
        "test_accuracy": test_accuracy,
        "final_val_accuracy": val[-1] if val else None,
        "best_val_epoch": best,  # 0-based, picked on the validation split, never on test
        "best_val_accuracy": val[best] if best is not None else None,
        "final_train_accuracy": history[-1].get("accuracy") if history else None,
        "epochs": len(history),
        "train_seconds": float(sum(row["seconds"] for row in history)),
        "wall_seconds_last_call": seconds_this_call,
        "n_train": int(len(dataset.y_train)), "n_val": int(len(dataset.y_val)),
        "n_test": int(len(dataset.y_test)),
        # "sample", "keras" or "directory": never a machine's absolute path
        "data_source": dataset.source if dataset.source in (data.SAMPLE, "keras") else "directory",
        **provenance.record(),
    }
