"""Beyond logits: FitNets hints, attention transfer, and Tf-KD's virtual teacher.

* **Attention transfer** (Zagoruyko & Komodakis, 2017). For a feature map F (B, H, W, C),
  the attention map is :math:`Q = \\mathrm{vec}(\\sum_c |F_c|^p)` and the loss for a set of
  layer pairs is

  .. math:: L_{AT} = \\sum_j \\frac{1}{B}\\sum_b
            \\Big\\| \\frac{Q_S^{j,b}}{\\|Q_S^{j,b}\\|_2} - \\frac{Q_T^{j,b}}{\\|Q_T^{j,b}\\|_2} \\Big\\|_2

  (the paper's β/2 factor is left to the caller's weight). Channel counts may differ; spatial
  sizes must match.
* **FitNets hint** (Romero et al., 2015): a learned 1×1 convolution (the adapter) maps the
  student's feature map to the teacher's channel count, and the loss is the mean squared
  error between the two. ``keras.distillation.FeatureDistillation`` compares features
  directly and has no learned adapter, hence this module.
* **Virtual teacher** (Yuan et al., 2020, Tf-KD): a hand-made distribution with probability
  ``correct_prob`` on the true class and the rest spread uniformly. Tf-KD softens it with
  ``softmax(p / T)``, i.e. uses it *as logits*; :func:`virtual_teacher_logits` returns it in
  that role, so ``kd_loss(y, s, virtual_teacher_logits(y, K), alpha=..., temperature=...)``
  is Tf-KD's regulariser with no teacher model at all.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ._checks import check_number, check_positive_int


def attention_map(features, p: float = 2.0):
    """Flattened, L2-normalised spatial attention map of a (B, H, W, C) feature map."""
    if check_number("p", p) <= 0:
        raise ValueError(f"p={p!r} must be > 0")
    features = ops.convert_to_tensor(features, "float32")
    if len(features.shape) != 4:
        raise ValueError(f"features must have shape (batch, height, width, channels), got "
                         f"{tuple(features.shape)}")
    energy = ops.sum(ops.power(ops.abs(features), p), axis=-1)
    flat = ops.reshape(energy, (ops.shape(energy)[0], -1))
    return flat / (ops.norm(flat, axis=-1, keepdims=True) + 1e-12)


def attention_transfer_loss(student_features, teacher_features, p: float = 2.0):
    """Sum over layer pairs of the batch-mean L2 distance between normalised attention maps."""
    if len(student_features) != len(teacher_features) or not student_features:
        raise ValueError(f"need equally many student and teacher feature maps (at least one), "
                         f"got {len(student_features)} and {len(teacher_features)}")
    total = 0.0
    for index, (s, t) in enumerate(zip(student_features, teacher_features)):
        if tuple(s.shape[1:3]) != tuple(t.shape[1:3]):
            raise ValueError(f"pair {index}: student spatial size {tuple(s.shape[1:3])} differs "
                             f"from teacher's {tuple(t.shape[1:3])}")
        diff = attention_map(s, p) - attention_map(t, p)
        total = total + ops.mean(ops.norm(diff, axis=-1))
    return total


class HintAdapter(keras.layers.Layer):
    """FitNets regressor: a 1×1 convolution from the student's to the teacher's channels."""

    def __init__(self, teacher_channels: int, **kwargs):
        super().__init__(**kwargs)
        self.teacher_channels = check_positive_int("teacher_channels", teacher_channels)
        self.project = keras.layers.Conv2D(teacher_channels, 1, name="hint_projection")

    def call(self, student_features):
        return self.project(student_features)

    def get_config(self):
        return {**super().get_config(), "teacher_channels": self.teacher_channels}


def hint_loss(adapted_student_features, teacher_features):
    """FitNets hint loss: mean squared error between adapted student and teacher features."""
    s = ops.convert_to_tensor(adapted_student_features, "float32")
    t = ops.convert_to_tensor(teacher_features, "float32")
    if tuple(s.shape[1:]) != tuple(t.shape[1:]):
        raise ValueError(f"adapted student features {tuple(s.shape[1:])} and teacher features "
                         f"{tuple(t.shape[1:])} must have the same shape")
    return ops.mean(ops.square(s - t))


def virtual_teacher_logits(labels, num_classes: int = 10, correct_prob: float = 0.9) -> np.ndarray:
    """Tf-KD's hand-made teacher, (N, K): ``correct_prob`` on the label, the rest uniform."""
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
