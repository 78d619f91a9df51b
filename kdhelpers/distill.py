"""Distillation losses and the one model that trains a student with them.

Shaped like ``keras.distillation``: a loss is a small :class:`DistillationLoss` with
``compute_loss``; :class:`Distiller` takes a list of ``(loss, weight)`` and adds them to the
label loss. Logit distillation (Hinton et al., 2015) is :class:`LogitDistillation`; the
feature losses are in :mod:`kdhelpers.feature_kd`; :mod:`kdhelpers.losses` maps the config's
names to classes.

Logit distillation with the paper's α convention:

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

    The functional form of what :class:`DistillationModel` trains with: the same
    :class:`LogitDistillation` term and the same weights (``tests/test_training_path.py``
    pins both against a float64 NumPy computation). ``y_true`` holds integer labels. The KL
    term is summed over classes. Log-probabilities
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
    hard = ops.mean(keras.losses.sparse_categorical_crossentropy(y_true, student_logits,
                                                                 from_logits=True))
    soft = LogitDistillation(temperature).compute_loss(student_logits, [], teacher_logits, [])
    return (1.0 - alpha) * hard + alpha * soft


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


class DistillationLoss:
    """One distillation term. A subclass names the layers it compares and defines:

    * ``teacher_targets(teacher_logits, teacher_features)``: what the student is compared
      with, from the teacher's logits and the outputs of ``teacher_layers`` (a list of
      tensors). Computed once per run when the images are not augmented
      (:meth:`Distiller.teacher_targets`), else on every step; the teacher is frozen and
      in inference mode either way;
    * ``compute_loss(student_logits, student_features, teacher_logits, targets)``: a scalar;
    * optionally ``build(student_shapes, target_shapes)``: create trainable parts (an
      adapter), which then train with the student.

    ``layers_for(student_model, teacher_model)`` (a classmethod) gives the layer names a
    model pair uses; a loss on logits alone needs none.
    """

    student_layers: tuple = ()
    teacher_layers: tuple = ()

    @classmethod
    def layers_for(cls, student_model: str, teacher_model: str) -> tuple[list, list]:
        return [], []

    def build(self, student_shapes, target_shapes) -> None:
        pass

    def trainable_layers(self) -> list:
        return []

    def teacher_targets(self, teacher_logits, teacher_features) -> list:
        return []

    def compute_loss(self, student_logits, student_features, teacher_logits, targets):
        raise NotImplementedError


class LogitDistillation(DistillationLoss):
    """``T²·KL(softmax(t/T) ‖ softmax(s/T))``, summed over classes, averaged over the batch."""

    def __init__(self, temperature: float):
        self.temperature = check_temperature(temperature)

    def compute_loss(self, student_logits, student_features, teacher_logits, targets):
        t = self.temperature
        log_p_student = ops.log_softmax(ops.cast(student_logits, "float32") / t, axis=-1)
        log_p_teacher = ops.log_softmax(ops.cast(teacher_logits, "float32") / t, axis=-1)
        kl = ops.sum(ops.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=-1)
        return t**2 * ops.mean(kl)


def virtual_teacher_logits(labels, num_classes: int = 10, correct_prob: float = 0.9) -> np.ndarray:
    """Tf-KD's hand-made teacher (Yuan et al., 2020), (N, K): ``correct_prob`` on the label,
    the rest uniform. Tf-KD softens it with ``softmax(p / T)``, i.e. uses it *as logits*, so
    :class:`LogitDistillation` against these targets is Tf-KD's regulariser, no teacher model."""
    from ._checks import check_number, check_positive_int

    check_positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise ValueError(f"num_classes={num_classes!r} must be at least 2")
    correct_prob = check_number("correct_prob", correct_prob)
    if not 1.0 / num_classes < correct_prob <= 1.0:
        raise ValueError(f"correct_prob={correct_prob!r} must be in (1/num_classes, 1] "
                         f"= ({1 / num_classes:.3g}, 1]")
    labels = np.asarray(labels).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}); got {labels.min()}..{labels.max()}")
    out = np.full((labels.size, num_classes), (1.0 - correct_prob) / (num_classes - 1), "float32")
    out[np.arange(labels.size), labels] = correct_prob
    return out


def feature_extractor(model: keras.Model, layer_names) -> keras.Model:
    """A model returning ``[logits, *outputs of layer_names]`` for a functional ``model``."""
    try:
        outputs = [model.get_layer(name).output for name in layer_names]
    except ValueError as error:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"{error}; layers of {model.name!r}: {names}") from error
    # one input tensor, not a one-element list: calling with a plain tensor then matches
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, [model.outputs[0], *outputs], name=f"{model.name}_features")


class Distiller(keras.Model):
    """Trains ``student`` with ``label_weight·CE + Σ weight·loss`` (plus the student's own
    regularisers) through ``compile``/``fit``/``evaluate``.

    ``losses`` is a list of ``(DistillationLoss, weight)``. The teacher is a Keras model run
    in inference mode, or absent when every training input is a dict ``{"images": x,
    "teacher_logits": t, "teacher_target_<i>": ...}`` of targets computed beforehand
    (:meth:`teacher_targets`; the runner's cached logits). Plain image arrays given without
    a teacher (e.g. the test set) are scored with the label loss only.

    Why not ``keras.distillation.Distiller``: it needs a teacher model on every step (no
    precomputed targets) and its ``compute_loss`` drops the student's regularisation losses
    (the paper's conv-family students carry activity regularisers); its logit loss is the
    same formula, which ``tests/test_distill.py`` checks.
    """

    def __init__(self, student, teacher=None, *, losses, label_weight: float = 1.0, **kwargs):
        super().__init__(name=kwargs.pop("name", f"distill_{student.name}"), **kwargs)
        self.label_weight = check_alpha(label_weight)  # a weight in [0, 1]
        self.terms = [(loss, float(weight)) for loss, weight in losses]
        if teacher is not None:
            t_classes, s_classes = teacher.output_shape[-1], student.output_shape[-1]
            if t_classes != s_classes:
                raise ValueError(f"teacher has {t_classes} classes but student has "
                                 f"{s_classes}; they must be equal")
            teacher.trainable = False
        self.student = student
        self.teacher = teacher
        # the outputs each loss needs: its slice of the student's and the teacher's layers
        s_layers = [name for loss, _ in self.terms for name in loss.student_layers]
        t_layers = [name for loss, _ in self.terms for name in loss.teacher_layers]
        self.student_features = feature_extractor(student, s_layers) if s_layers else None
        self.teacher_features = (feature_extractor(teacher, t_layers)
                                 if teacher is not None and t_layers else None)
        self._slices = []  # per loss: (student feature slice, target slice)
        s_at = t_at = 0
        for loss, _ in self.terms:
            n_s, n_t = len(loss.student_layers), len(loss.teacher_layers)
            self._slices.append((slice(s_at, s_at + n_s), slice(t_at, t_at + n_t)))
            s_at, t_at = s_at + n_s, t_at + n_t
        for (loss, _), (s_slice, t_slice) in zip(self.terms, self._slices):
            s_shapes = (self.student_features.outputs[1:][s_slice]
                        if self.student_features is not None else [])
            t_shapes = (self.teacher_features.outputs[1:][t_slice]
                        if self.teacher_features is not None else [])
            loss.build([t.shape for t in s_shapes], [t.shape for t in t_shapes])
        self.adapters = [layer for loss, _ in self.terms for layer in loss.trainable_layers()]
        self.built = True  # every part is built; the checkpoint reads model.variables

    def call(self, inputs, training=False):
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        return self.student(images, training=training)

    def _targets_from_teacher(self, images):
        """``(teacher logits, [targets of every loss])`` from the teacher model."""
        if self.teacher_features is not None:
            t_logits, *t_feats = self.teacher_features(images, training=False)
        else:
            t_logits, t_feats = self.teacher(images, training=False), []
        targets = []
        for (loss, _), (_, t_slice) in zip(self.terms, self._slices):
            targets.append(list(loss.teacher_targets(t_logits, t_feats[t_slice])))
        return t_logits, targets

    def teacher_targets(self, images, batch_size: int = 512) -> dict:
        """Every loss's targets for ``images`` as NumPy arrays, computed once: the dict a
        training input takes beside ``"images"`` (``teacher_logits``, ``teacher_target_<i>``)."""
        if self.teacher is None:
            raise ValueError("teacher_targets needs a teacher model")
        parts: dict = {}  # filled in place: chunks and their concatenation were two copies
        for start in range(0, len(images), batch_size):
            t_logits, targets = self._targets_from_teacher(images[start:start + batch_size])
            flat = [t for per_loss in targets for t in per_loss]
            for key, value in zip(["teacher_logits", *[f"teacher_target_{i}" for i in range(len(flat))]],
                                  [t_logits, *flat]):
                value = ops.convert_to_numpy(value).astype("float32")
                if key not in parts:
                    parts[key] = np.empty((len(images), *value.shape[1:]), dtype="float32")
                parts[key][start:start + len(value)] = value
        return parts

    def _targets_from_inputs(self, x):
        flat = [x[key] for key in sorted((k for k in x if k.startswith("teacher_target_")),
                                         key=lambda k: int(k.rsplit("_", 1)[1]))]
        return ops.cast(x["teacher_logits"], "float32"), [flat[t_slice] for _, t_slice in self._slices]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        images = x["images"] if isinstance(x, dict) else x
        if self.student_features is not None:
            s_logits, *s_feats = self.student_features(images, training=training)
        else:
            s_logits = y_pred if y_pred is not None else self(x, training=training)
            s_feats = []
        if isinstance(x, dict) and "teacher_logits" in x:
            t_logits, targets = self._targets_from_inputs(x)
        elif self.teacher is not None and training:
            t_logits, targets = self._targets_from_teacher(images)
        elif training:
            raise ValueError("training inputs carry no 'teacher_logits' and no teacher model "
                             "was given")
        else:
            t_logits = targets = None
        y = _check_labels(y, s_logits)
        hard = ops.mean(keras.losses.sparse_categorical_crossentropy(y, s_logits, from_logits=True))
        if t_logits is None:  # evaluation on plain images: the label loss
            loss = hard
        else:
            loss = self.label_weight * hard
            for (term, weight), (s_slice, _), target in zip(self.terms, self._slices, targets):
                if weight:
                    loss = loss + weight * term.compute_loss(s_logits, s_feats[s_slice],
                                                             t_logits, target)
        # Only the student's regularisers: the frozen teacher's are constants.
        for extra in self.student.losses:
            loss = loss + ops.cast(extra, loss.dtype)
        return loss


class DistillationModel(Distiller):
    """Logit KD with the paper's α: ``(1-α)·CE + α·T²·KL`` (:func:`kd_loss`)."""

    def __init__(self, student, teacher=None, *, alpha, temperature, **kwargs):
        self.alpha = check_alpha(alpha)
        self.temperature = check_temperature(temperature)
        super().__init__(student, teacher, losses=[(LogitDistillation(temperature), self.alpha)],
                         label_weight=1.0 - self.alpha,
                         name=kwargs.pop("name", f"kd_{student.name}"), **kwargs)
