"""An interrupted run's work files, in ``artifacts/.partial/<run id>/``: the epoch
checkpoint, the epoch log, the epochs it resumed at and the stretches of training (which
machine, code and threads ran each). :func:`kdhelpers.train.fit` writes them and resumes
from them; the plan reads them to count what is left."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import keras
import numpy as np

CHECKPOINT = "checkpoint.npz"
HISTORY_LOG = "history.jsonl"
RESUMES = "resumed_at.json"
SEGMENTS = "segments.jsonl"
# The work files of an interrupted run: committed with the repository, so that a session on
# a fresh machine (or a fresh clone) resumes it; ``.gitignore`` lists what is not.
WORK_FILES = (CHECKPOINT, HISTORY_LOG, RESUMES, SEGMENTS)


class EpochLog(keras.callbacks.Callback):
    """Appends one JSON line per finished epoch (metrics, learning rate, seconds).

    ``keras.callbacks.CSVLogger`` has no epoch time or learning rate, and ``History`` is lost
    when a run is killed; this log survives a kill and is read back on resume.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)

    def keep_epochs_before(self, epoch: int) -> None:
        """On resume: keep the rows of epochs ``< epoch`` (the checkpoint's), drop the rest
        and any line a kill cut short, so the next row starts on a line of its own."""
        rows = [row for row in read_epoch_log(self.path) if row["epoch"] < epoch]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(row) + "\n" for row in rows))
        os.replace(tmp, self.path)

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, "seconds": time.perf_counter() - self.started,
               "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))}
        row.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
        with self.path.open("a") as log:
            log.write(json.dumps(row) + "\n")


class CheckpointError(RuntimeError):
    """An epoch checkpoint cannot be read back into the run's model."""


class AtomicCheckpoint(keras.callbacks.Callback):
    """After every epoch, the whole training state in one file, replaced by one rename.

    The state is every variable of the model (``model.variables``: weights, batch-norm
    statistics and the states of its random-seed generators, i.e. dropout masks and
    augmentation draws to come), every variable of the optimizer (moments, iteration
    count) and the epoch. Keras' ``BackupAndRestore`` keeps weights and optimizer but not
    the seed-generator states, so a resumed run would replay epoch 0's dropout masks; and
    it deletes its backup when ``fit`` returns, before this package has published the run.
    Saved as ``.npz`` (no HDF5: a full disk during an HDF5 write crashed the process at exit).
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        save_checkpoint(self.path, self.model, epoch)


def _state(model) -> list:
    return list(model.variables) + list(model.optimizer.variables)


def save_checkpoint(path: Path, model, epoch: int) -> None:
    arrays = {f"v{i:05d}": keras.ops.convert_to_numpy(v) for i, v in enumerate(_state(model))}
    tmp = Path(path).with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, epoch=np.int64(epoch), **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def restore_checkpoint(path: Path, model) -> int | None:
    """Load :func:`save_checkpoint`'s state into ``model``; the finished epoch, or ``None``
    when there is no checkpoint."""
    path = Path(path)
    if not path.is_file():
        return None
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    variables = _state(model)
    try:
        with np.load(path) as archive:
            epoch = int(archive["epoch"])
            values = [archive[f"v{i:05d}"] for i in range(len(variables))]
            extra = len(archive.files) - 1 - len(variables)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint {path} is unreadable ({type(error).__name__}: "
                              f"{error}); delete its folder {path.parent} to restart the run "
                              f"from epoch 0") from error
    if extra:
        raise CheckpointError(f"checkpoint {path} holds {extra} more arrays than the model and "
                              f"optimizer have variables: it belongs to another model")
    for variable, value in zip(variables, values):
        if tuple(variable.shape) != value.shape:
            raise CheckpointError(f"checkpoint {path}: variable {variable.path} has shape "
                                  f"{tuple(variable.shape)}, the checkpoint {value.shape}")
        variable.assign(value)
    return epoch


def read_epoch_log(path: Path) -> list[dict]:
    """Rows of an :class:`EpochLog`, one per epoch: an epoch logged twice (killed after the
    log line but before the checkpoint, then re-run) keeps its last row; a line cut short by
    a kill is skipped."""
    if not Path(path).is_file():
        return []
    rows = {}
    for line in Path(path).read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("epoch"), int):
            rows[row["epoch"]] = row
    return [rows[e] for e in sorted(rows)]


def unlogged_epochs(work_dir: Path, epochs_done: int) -> list[int]:
    """The epochs below ``epochs_done`` (those a checkpoint holds) missing from the log."""
    logged = {row["epoch"] for row in read_epoch_log(Path(work_dir) / HISTORY_LOG)}
    return sorted(set(range(epochs_done)) - logged)


def record_segment(path: Path, epoch: int) -> None:
    """One line per stretch of training (the first and each resume): where it started and
    what ran it, since a run carried across sessions may go on on another machine or at
    another code revision than the one its final ``metrics.json`` names, and with how many
    compute threads (``train.fit`` refuses a resume with another count)."""
    from . import provenance

    record = provenance.record()
    row = {"from_epoch": epoch, "started": record["created"], "code": record["code"],
           "cpu": record["machine"]["cpu"], "backend": record["versions"]["backend"],
           "threads": provenance.compute_threads()}
    # a stretch stopped before it finished an epoch trained nothing: this one replaces it
    rows = [r for r in segments(path.parent) if r.get("from_epoch") != epoch] + [row]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    os.replace(tmp, path)


def segments(work_dir: Path) -> list[dict]:
    """The rows :func:`record_segment` wrote for a run (a line cut short by a kill skipped);
    runs started before segments were recorded list only their later stretches."""
    path = Path(work_dir) / SEGMENTS
    rows = []
    for line in (path.read_text().splitlines() if path.is_file() else []):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def recorded_threads(stretches: list[dict]) -> set[int]:
    """The compute threads a run's stretches (:func:`segments`' rows, or ``metrics.json``'s
    ``segments``) recorded; empty for stretches from before they recorded it."""
    return {s["threads"] for s in stretches if "threads" in s}


def checkpoint_epoch(path: Path) -> int | None:
    """The last finished epoch an :class:`AtomicCheckpoint` file holds (its arrays are not
    read), or ``None`` when there is none; :class:`CheckpointError` when it is unreadable."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as archive:
            return int(archive["epoch"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint {path} is unreadable ({type(error).__name__}: "
                              f"{error})") from error


def record_resume(path: Path, epoch: int) -> None:
    epochs = json.loads(path.read_text()) if path.is_file() else []
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(epochs + [epoch]))
    os.replace(tmp, path)


def resumed_at(work_dir: Path) -> list[int]:
    """The epochs at which a run's training resumed after an interruption (empty: never)."""
    path = Path(work_dir) / RESUMES
    return json.loads(path.read_text()) if path.is_file() else []
