"""Training one :class:`RunConfig`: model, optimiser, schedule, callbacks, ``fit``."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from .config import RunConfig
from .data import Dataset
from .distill import DistillationModel
from .models import build_model
from .schedules import step_schedule_callback
from .workfiles import (CHECKPOINT, HISTORY_LOG, RESUMES, SEGMENTS, AtomicCheckpoint,
                        CheckpointError, EpochLog, read_epoch_log, record_resume,
                        record_segment, recorded_threads, restore_checkpoint, segments,
                        unlogged_epochs)


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch ``epoch`` of a run with ``seed`` visits its ``n`` training
    rows: a fresh permutation per epoch, a function of (seed, epoch) alone, so that a run
    resumed in a new process sees the batches an uninterrupted one would have seen."""
    return np.random.default_rng([seed, epoch]).permutation(n)


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
    # The optimizer's slots are made now, as a resumed run's checkpoint restore makes them:
    # Keras on TensorFlow otherwise makes them inside the first trace of the training step,
    # and a trace that creates variables is traced again (a smoke run: 9.5 -> 7.5 s of CPU).
    model.optimizer.build(model.trainable_variables)
    return model, student


def fit(config: RunConfig, dataset: Dataset, *, work_dir: Path, teacher_train_logits=None,
        teacher_model=None, feature_layers=None, verbose: int = 0) -> tuple[keras.Model, list[dict]]:
    """Train ``config`` on ``dataset``, resuming from ``work_dir``'s checkpoint if any.

    ``teacher_train_logits`` are the teacher's logits for the rows of ``dataset.x_train``;
    ``teacher_model`` runs the teacher on the fly instead. Returns the student and the
    per-epoch history. Raises :class:`NonFiniteLossError` on a NaN/inf loss.

    With ``config.shuffle == "per_epoch"`` each epoch is one ``fit`` call on the rows in
    :func:`epoch_order`, so a run killed after any epoch and resumed from its
    :class:`AtomicCheckpoint` trains exactly as an uninterrupted one (``tests/test_resume.py``
    checks equal weights). ``"keras"`` is the behaviour runs recorded before that fix were
    trained with: one ``fit(shuffle=True)``, which under a global seed visits the rows in the
    same order every epoch.
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
    finished = restore_checkpoint(work_dir / CHECKPOINT, model)
    start = 0 if finished is None else finished + 1
    _check_log_covers(config, work_dir, start)
    if start:
        _check_same_threads(config, work_dir)
    log = EpochLog(work_dir / HISTORY_LOG)
    log.keep_epochs_before(start)
    if start:
        record_resume(work_dir / RESUMES, start)
    if start < config.epochs:
        record_segment(work_dir / SEGMENTS, start)
    stop = keras.callbacks.TerminateOnNaN()  # stops fit; the finiteness check below raises
    callbacks = [log, AtomicCheckpoint(work_dir / CHECKPOINT), stop]
    if config.schedule == "step":
        callbacks.append(step_schedule_callback(config.learning_rate, every=config.lr_drop_every))
    validation = (dataset.x_val, dataset.y_val) if len(dataset.y_val) else None
    common = dict(validation_data=validation, callbacks=callbacks, verbose=verbose,
                  validation_batch_size=config.batch_size)
    if config.shuffle == "per_epoch":
        for epoch in range(start, config.epochs):
            order = epoch_order(config.seed, epoch, len(dataset.y_train))
            if config.feature != "none":
                # shuffle=False: Keras would otherwise shuffle a PyDataset's batches
                model.fit(EpochBatches(x_train, dataset.y_train, order, config.batch_size),
                          epochs=epoch + 1, initial_epoch=epoch, shuffle=False, **common)
            else:  # the same batches; a PyDataset costs a smoke run ~40 % more CPU
                rows = _rows(x_train, order)
                model.fit(rows, dataset.y_train[order], epochs=epoch + 1, initial_epoch=epoch,
                          shuffle=False, batch_size=config.batch_size, **common)
                del rows  # before the next epoch's copy is made
            _check_finite(config, read_epoch_log(work_dir / HISTORY_LOG))
    elif start < config.epochs:
        model.fit(x_train, dataset.y_train, epochs=config.epochs, initial_epoch=start,
                  shuffle=True, batch_size=config.batch_size, **common)
    history = read_epoch_log(work_dir / HISTORY_LOG)
    _check_finite(config, history)
    epochs = [row["epoch"] for row in history]
    if epochs != list(range(config.epochs)):
        raise CheckpointError(f"run {config.run_id}: the epoch log {work_dir / HISTORY_LOG} "
                              f"holds epochs {epochs}, expected 0..{config.epochs - 1}; "
                              f"delete {work_dir} to restart the run")
    return student, history


class EpochBatches(keras.utils.PyDataset):
    """One epoch's batches, the rows of ``x`` (an array, or a dict of arrays) and ``y`` taken
    in ``order``, ``batch_size`` at a time: the batches ``fit(x[order], y[order],
    shuffle=False)`` trains on, without a copy of the training set per epoch.

    Feature-distillation runs train on it: their copies, and the tensor Keras makes of each,
    took a FitNets worker at ``converged`` (2.9 GB of teacher targets beside the 0.55 GB of
    images) to 17 GB, and two such workers out of the machine's 24 GB; batches made on demand
    hold one batch at a time (6.8 GB peak). Other runs keep the reordered arrays: their copies
    are small, and a PyDataset costs a 1-epoch smoke run about 4 s more CPU (10 → 14 s).
    """

    def __init__(self, x, y, order, batch_size: int):
        super().__init__()
        self.x, self.y, self.order, self.batch_size = x, y, np.asarray(order), int(batch_size)

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return _rows(self.x, rows), self.y[rows]


def _rows(x, index):
    """The rows ``index`` of ``x``: an array, or a dict of arrays (the images beside the
    teacher's logits or feature targets)."""
    return {k: v[index] for k, v in x.items()} if isinstance(x, dict) else x[index]


def _check_finite(config: RunConfig, history: list[dict]) -> None:
    bad = [row for row in history if not all(math.isfinite(v) for k, v in row.items()
                                             if "loss" in k)]
    if bad:
        raise NonFiniteLossError(f"run {config.run_id}: non-finite loss at epoch "
                                 f"{bad[0]['epoch']} ({ {k: v for k, v in bad[0].items() if 'loss' in k} })")


def _check_log_covers(config: RunConfig, work_dir: Path, start: int) -> None:
    """Before any training: every epoch the checkpoint holds must be in the epoch log, or
    the run would train to its end and then fail for want of those epochs' rows (a log
    older than its checkpoint: copied or committed apart from it)."""
    missing = unlogged_epochs(work_dir, start)
    if missing:
        raise CheckpointError(f"run {config.run_id}: the checkpoint in {work_dir} holds epochs "
                              f"0..{start - 1} but its epoch log {HISTORY_LOG} lacks epochs "
                              f"{missing}; restore the log that belongs to the checkpoint, or "
                              f"delete {work_dir} to restart the run from epoch 0")


def _check_same_threads(config: RunConfig, work_dir: Path) -> None:
    """Before a resume: the same compute threads as the stretches before it. Another count
    sums in another order, so the resumed run would be another run under this run's name
    (chapter 6's 8-conv teacher, started in a 1-thread worker and resumed in a 2-thread
    process, ended with predictions differing on 4.4 % of the test images)."""
    from .provenance import compute_threads

    before = recorded_threads(segments(work_dir))
    now = compute_threads()
    if before and before != {now}:
        raise CheckpointError(
            f"run {config.run_id} was trained with {sorted(before)} compute thread(s) per "
            f"process and this process has {now}: resumed here it would not be the same run. "
            f"Resume it with {sorted(before)[0]} thread(s): from a worker (`python -m "
            f"kdhelpers.book train --workers W`, W = cores / threads), or with OMP_NUM_THREADS"
            f" and TF_NUM_INTRAOP_THREADS set before Python starts; or delete {work_dir} to "
            f"restart it")


