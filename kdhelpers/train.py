"""Training one :class:`RunConfig`: model, optimiser, schedule, callbacks, ``fit``."""

from __future__ import annotations

import glob
import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from .config import RunConfig
from .data import Dataset
from .distill import DistillationModel
from .models import build_model
from .schedules import step_schedule_callback


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


class EpochLog(keras.callbacks.Callback):
    """Appends one JSON line per finished epoch (metrics, learning rate, seconds).

    ``keras.callbacks.CSVLogger`` has no epoch time or learning rate, and ``History`` is lost
    when a run is killed; this log survives a kill and is read back on resume.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, "seconds": time.perf_counter() - self._started,
               "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))}
        row.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
        with self.path.open("a") as log:
            log.write(json.dumps(row) + "\n")


class KillSafeBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose backup survives ``kill -9`` at any moment.

    Keras writes ``latest.weights.h5`` in place and the epoch counter in a second file, so a
    kill during the write leaves an unreadable HDF5 file (measured: ``OSError: bad object
    header``) or weights and counter out of step. Here each epoch's weights (optimizer state
    included) go to a temporary file renamed to ``epoch-NNNNN.weights.h5``: the one file name
    carries the epoch, and a rename is atomic.
    """

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        writing = os.path.join(self.backup_dir, "writing.weights.h5")
        self.model.save_weights(writing, overwrite=True)
        final = os.path.join(self.backup_dir, f"epoch-{self._current_epoch:05d}.weights.h5")
        os.replace(writing, final)
        for old in glob.glob(os.path.join(self.backup_dir, "epoch-*.weights.h5")):
            if old != final:
                os.remove(old)

    def _load_model(self):
        backups = sorted(glob.glob(os.path.join(self.backup_dir, "epoch-*.weights.h5")))
        if not backups:
            return
        if not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(backups[-1])
        self.model._initial_epoch = int(os.path.basename(backups[-1])[6:11])


def read_epoch_log(path: Path) -> list[dict]:
    """Rows of an :class:`EpochLog`, one per epoch: an epoch logged twice (killed after the
    log line but before the backup, then re-run) keeps its last row."""
    if not Path(path).is_file():
        return []
    rows = {}
    for line in Path(path).read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        rows[row["epoch"]] = row
    return [rows[e] for e in sorted(rows)]


def _optimizer(config: RunConfig):
    if config.optimizer == "adam":
        return keras.optimizers.Adam(config.learning_rate)
    return keras.optimizers.SGD(config.learning_rate, momentum=config.momentum)


def build_trainable(config: RunConfig, teacher_model=None,
                    feature_layers=None) -> tuple[keras.Model, keras.Model]:
    """``(training_model, student)``: the student itself, or wrapped for KD / augmentation."""
    student = build_model(config.model, width=config.width)
    if config.feature != "none":
        from .feature_kd import FeatureDistillationModel

        s_layers, t_layers = feature_layers
        model = FeatureDistillationModel(
            student, teacher_model, student_layers=s_layers, teacher_layers=t_layers,
            feature=config.feature, beta=config.feature_weight, alpha=config.alpha,
            temperature=config.temperature)
        loss = None
    elif config.teacher is not None or teacher_model is not None or config.virtual_teacher:
        model = DistillationModel(student, None if config.virtual_teacher else teacher_model,
                                  alpha=config.alpha,
                                  temperature=config.temperature)
        loss = None
    elif config.augment:
        # Random shifts of up to 3 px (nearest fill) and horizontal flips, as for the
        # paper's ResNet-18 teacher; both layers are identities at inference.
        shift = 3 / student.input_shape[1]
        inputs = keras.Input(student.input_shape[1:], name="images")
        x = keras.layers.RandomTranslation(shift, shift, fill_mode="nearest",
                                           interpolation="nearest")(inputs)
        x = keras.layers.RandomFlip("horizontal")(x)
        model = keras.Model(inputs, student(x), name=f"augmented_{student.name}")
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        model = student
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=_optimizer(config), loss=loss,
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model, student


def fit(config: RunConfig, dataset: Dataset, *, work_dir: Path, teacher_train_logits=None,
        teacher_model=None, feature_layers=None, verbose: int = 0) -> tuple[keras.Model, list[dict]]:
    """Train ``config`` on ``dataset``, resuming from ``work_dir``'s epoch backup if any.

    ``teacher_train_logits`` are the teacher's logits for the rows of ``dataset.x_train``;
    ``teacher_model`` runs the teacher on the fly instead. Returns the student and the
    per-epoch history. Raises :class:`NonFiniteLossError` on a NaN/inf loss.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        model, student = build_trainable(config, teacher_model, feature_layers)
    finally:  # the policy is global: only this run's layers take it
        keras.mixed_precision.set_global_policy(previous_policy)
    x_train = dataset.x_train
    if config.feature != "none":
        # once per run, not once per epoch: see FeatureDistillationModel
        x_train = {"images": dataset.x_train, **model.teacher_targets(dataset.x_train)}
    elif teacher_train_logits is not None:
        x_train = {"images": dataset.x_train,
                   "teacher_logits": np.asarray(teacher_train_logits, dtype="float32")}
    callbacks = [
        EpochLog(work_dir / "history.jsonl"),  # before the backup: see read_epoch_log
        KillSafeBackup(str(work_dir / "backup")),
        keras.callbacks.TerminateOnNaN(raise_error=True),
    ]
    if config.schedule == "step":
        callbacks.append(step_schedule_callback(config.learning_rate, every=config.lr_drop_every))
    validation = (dataset.x_val, dataset.y_val) if len(dataset.y_val) else None
    try:
        model.fit(x_train, dataset.y_train, batch_size=config.batch_size, epochs=config.epochs,
                  validation_data=validation, callbacks=callbacks, shuffle=True, verbose=verbose)
    except RuntimeError as error:
        if "nan" in str(error).lower():  # TerminateOnNaN(raise_error=True)
            raise NonFiniteLossError(f"run {config.run_id}: {error}") from error
        raise
    history = read_epoch_log(work_dir / "history.jsonl")
    bad = [row for row in history if not math.isfinite(row.get("loss", 0.0))]
    if bad:
        raise NonFiniteLossError(f"run {config.run_id}: loss {bad[0]['loss']} at epoch "
                                 f"{bad[0]['epoch']}")
    return student, history
