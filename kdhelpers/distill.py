"""Logit distillation (Hinton et al., 2015) with the paper's α convention.

.. math::

    L = (1-\\alpha)\\,\\mathrm{CE}\\big(y, \\mathrm{softmax}(s)\\big)
        + \\alpha\\,T^2\\,\\mathrm{KL}\\big(\\mathrm{softmax}(t/T)\\,\\|\\,\\mathrm{softmax}(s/T)\\big)

α weights the *distillation* term (the paper's Eq. 2); ``keras.distillation.Distiller`` weights
the other way round (``student_loss_weight`` = 1 − α). With that mapping the two losses agree,
which ``tests/test_distill.py`` checks (with ``LogitsDistillation(loss=KLDivergence())``:
in Keras 3.15 its default ``loss="kl_divergence"`` resolves to a bare function that bypasses
the softmax and the T² factor, which the tests also pin down).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ._checks import check_alpha, check_temperature


def kd_loss(y_true, student_logits, teacher_logits, *, alpha, temperature):
    """Batch mean of ``(1-α)·CE(y, softmax(s)) + α·T²·KL(softmax(t/T) ‖ softmax(s/T))``.

    ``y_true`` holds integer labels. The KL term is summed over classes. Log-probabilities
    come from ``log_softmax``, so there is no probability clipping (Keras' ``KLDivergence``
    clips at 1e-7, which flattens the gradient for confidently wrong students at low T).
    """
    alpha = check_alpha(alpha)
    temperature = check_temperature(temperature)
    y_true = _check_labels(y_true, student_logits)
    student_logits = ops.convert_to_tensor(student_logits, "float32")
    teacher_logits = ops.convert_to_tensor(teacher_logits, "float32")
    if student_logits.shape[-1] != teacher_logits.shape[-1]:
        raise ValueError(
            f"teacher has {teacher_logits.shape[-1]} classes but student has "
            f"{student_logits.shape[-1]}; they must be equal")
    rows = {"y_true": y_true.shape[0], "student_logits": student_logits.shape[0],
            "teacher_logits": teacher_logits.shape[0]}
    if len({n for n in rows.values() if n is not None}) > 1:  # no silent broadcasting
        raise ValueError(f"kd_loss: the batch sizes differ: {rows}")
    hard = keras.losses.sparse_categorical_crossentropy(y_true, student_logits, from_logits=True)
    log_p_student = ops.log_softmax(student_logits / temperature, axis=-1)
    log_p_teacher = ops.log_softmax(teacher_logits / temperature, axis=-1)
    kl = ops.sum(ops.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=-1)
    return ops.mean((1.0 - alpha) * hard + alpha * temperature**2 * kl)


def _check_labels(y_true, student_logits):
    """Integer class labels of shape (batch,) in [0, classes): anything else (floats, which
    would be truncated; one-hot rows; strings) is refused with the value's description."""
    classes = student_logits.shape[-1]
    if isinstance(y_true, (list, tuple)) or hasattr(y_true, "__array__") and not ops.is_tensor(y_true):
        array = np.asarray(y_true)
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"kd_loss: y_true must hold integer class labels, got dtype "
                             f"{array.dtype} (one-hot or soft labels are not supported)")
        if array.size and (array.min() < 0 or classes is not None and array.max() >= classes):
            raise ValueError(f"kd_loss: labels must lie in [0, {classes}); got "
                             f"{array.min()}..{array.max()}")
        y_true = array
    y_true = ops.convert_to_tensor(y_true)
    if "int" not in str(y_true.dtype):
        raise ValueError(f"kd_loss: y_true must hold integer class labels, got dtype "
                         f"{y_true.dtype} (one-hot or soft labels are not supported)")
    if len(y_true.shape) == 2 and y_true.shape[-1] == 1:
        y_true = ops.reshape(y_true, (-1,))
    if len(y_true.shape) != 1:
        raise ValueError(f"kd_loss: y_true must have shape (batch,), got {tuple(y_true.shape)}; "
                         f"one-hot labels are not supported")
    return y_true


class DistillationModel(keras.Model):
    """Trains ``student`` with :func:`kd_loss` through ``compile``/``fit``/``evaluate``.

    The teacher is either a Keras model run on the fly in inference mode, or absent, in
    which case every training input must be a dict ``{"images": x, "teacher_logits": t}``
    with the teacher's precomputed logits (the runner's teacher-logit cache). Inputs that
    are plain image arrays (e.g. the test set) are scored with the hard-label loss only.

    Why not ``keras.distillation.Distiller``: it needs a teacher model on every step (no
    precomputed logits), and its ``compute_loss`` drops the student's regularisation losses
    (the paper's conv-family students carry activity regularisers). Its loss formula is the
    same, so ``tests/test_distill.py`` checks equality with it.
    """

    def __init__(self, student, teacher=None, *, alpha, temperature, **kwargs):
        super().__init__(name=kwargs.pop("name", f"kd_{student.name}"), **kwargs)
        self.alpha = check_alpha(alpha)
        self.temperature = check_temperature(temperature)
        if teacher is not None:
            t_classes, s_classes = teacher.output_shape[-1], student.output_shape[-1]
            if t_classes != s_classes:
                raise ValueError(f"teacher has {t_classes} classes but student has "
                                 f"{s_classes}; they must be equal")
            teacher.trainable = False
        self.student = student
        self.teacher = teacher
        self.built = True  # both sub-models are built; BackupAndRestore needs a built model

    def call(self, inputs, training=False):
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        return self.student(images, training=training)

    def teacher_logits(self, inputs):
        """The teacher's logits for a batch: precomputed if given, else run on the fly."""
        if isinstance(inputs, dict) and "teacher_logits" in inputs:
            return ops.cast(inputs["teacher_logits"], "float32")
        if self.teacher is not None:
            images = inputs["images"] if isinstance(inputs, dict) else inputs
            return self.teacher(images, training=False)
        return None

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None:
            y_pred = self(x, training=training)
        teacher_logits = self.teacher_logits(x)
        if teacher_logits is None:
            if training:
                raise ValueError("training inputs carry no 'teacher_logits' and no teacher "
                                 "model was given")
            loss = ops.mean(keras.losses.sparse_categorical_crossentropy(
                y, y_pred, from_logits=True))
        else:
            loss = kd_loss(y, y_pred, teacher_logits, alpha=self.alpha,
                           temperature=self.temperature)
        # Only the student's regularisers: the frozen teacher's are constants.
        for extra in self.student.losses:
            loss = loss + ops.cast(extra, loss.dtype)
        return loss
