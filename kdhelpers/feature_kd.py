"""Beyond logits: attention transfer and FitNets hints as :class:`~kdhelpers.distill.DistillationLoss`
classes (registered in :mod:`kdhelpers.losses` as ``"at"`` and ``"hint"``).

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
The weights tuned in chapter 7 (``feature_weight``) are on this implementation's scale: the
attention term is the mean over the batch of an L2 distance (no square, no β/2), and the hint
term a mean over every element of the feature map. The attention-transfer paper's equation
uses the (unsquared) L2 distance of normalised maps, as here; its authors' code squares and
averages it instead (``(at(x) - at(y)).pow(2).mean()``), so their β ≈ 1000 does not carry
over. Tf-KD's virtual teacher is :func:`kdhelpers.distill.virtual_teacher_logits`.
"""

from __future__ import annotations

import keras
from keras import ops

from . import losses
from ._checks import check_alpha, check_number, check_positive_int
from .distill import DistillationLoss, Distiller, LogitDistillation, feature_extractor


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
    for index, (s, t) in enumerate(zip(student_features, teacher_features)):
        if tuple(s.shape[1:3]) != tuple(t.shape[1:3]):
            raise ValueError(f"pair {index}: student spatial size {tuple(s.shape[1:3])} differs "
                             f"from teacher's {tuple(t.shape[1:3])}")
    return attention_distance(student_features, [attention_map(t, p) for t in teacher_features], p)


def attention_distance(student_features, teacher_maps, p: float = 2.0):
    """:func:`attention_transfer_loss` against precomputed teacher attention maps (B, H·W)."""
    total = 0.0
    for index, (s, t) in enumerate(zip(student_features, teacher_maps)):
        s_map = attention_map(s, p)
        s_size = s.shape[1] * s.shape[2] if None not in s.shape[1:3] else None
        if None not in (s_size, t.shape[-1]) and s_size != t.shape[-1]:
            raise ValueError(f"pair {index}: student attention map has {s_size} positions, "
                             f"the teacher's {t.shape[-1]}")
        total = total + ops.mean(ops.norm(s_map - ops.cast(t, s_map.dtype), axis=-1))
    return total


class HintAdapter(keras.layers.Layer):
    """FitNets regressor: a 1×1 convolution from the student's to the teacher's channels."""

    def __init__(self, teacher_channels: int, **kwargs):
        super().__init__(**kwargs)
        self.teacher_channels = check_positive_int("teacher_channels", teacher_channels)
        self.project = keras.layers.Conv2D(teacher_channels, 1, name="hint_projection")

    def build(self, input_shape):
        self.project.build(input_shape)

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


# (student model, teacher model) -> feature -> (student layers, teacher layers); spatial
# sizes match pairwise (32, 16, 8 for the CIFAR pair).
LAYER_PAIRS = {
    ("cifar_student", "resnet18"): {
        "at": (["block1_conv2", "block2_conv2", "block3_conv2"],
               ["stage1_block2_out", "stage2_block2_out", "stage3_block2_out"]),
        "hint": (["block2_conv2"], ["stage2_block2_out"]),
    },
}


def layer_pairs(student_model: str, teacher_model: str, feature: str):
    """The (student layers, teacher layers) a feature loss uses for a model pair."""
    try:
        return LAYER_PAIRS[(student_model, teacher_model)][feature]
    except KeyError:
        raise ValueError(f"no {feature!r} layer pairs defined for student {student_model!r} and "
                         f"teacher {teacher_model!r}; known pairs: {sorted(LAYER_PAIRS)}") from None


class AttentionTransfer(DistillationLoss):
    """:func:`attention_distance` between the student's and the teacher's attention maps over
    paired layers (spatial sizes must match pairwise; channel counts may differ)."""

    def __init__(self, student_layers, teacher_layers, p: float = 2.0):
        if len(student_layers) != len(teacher_layers) or not student_layers:
            raise ValueError("student_layers and teacher_layers must pair up (same, non-zero "
                             "length)")
        self.student_layers, self.teacher_layers = tuple(student_layers), tuple(teacher_layers)
        self.p = check_number("p", p)

    @classmethod
    def layers_for(cls, student_model, teacher_model):
        return layer_pairs(student_model, teacher_model, "at")

    def teacher_targets(self, teacher_logits, teacher_features):
        return [attention_map(t, self.p) for t in teacher_features]

    def compute_loss(self, student_logits, student_features, teacher_logits, targets):
        return attention_distance(student_features, targets, self.p)


class FitNetsHint(DistillationLoss):
    """:func:`hint_loss` of one layer pair through a learned :class:`HintAdapter`."""

    def __init__(self, student_layers, teacher_layers):
        if len(student_layers) != 1 or len(teacher_layers) != 1:
            raise ValueError(f"the FitNets hint takes one layer pair, got "
                             f"{len(student_layers)} student and {len(teacher_layers)} teacher layers")
        self.student_layers, self.teacher_layers = tuple(student_layers), tuple(teacher_layers)
        self.adapter = None

    @classmethod
    def layers_for(cls, student_model, teacher_model):
        return layer_pairs(student_model, teacher_model, "hint")

    def build(self, student_shapes, target_shapes):
        self.adapter = HintAdapter(target_shapes[0][-1])
        self.adapter.build(student_shapes[0])

    def trainable_layers(self):
        return [self.adapter]

    def teacher_targets(self, teacher_logits, teacher_features):
        return list(teacher_features)

    def compute_loss(self, student_logits, student_features, teacher_logits, targets):
        return hint_loss(self.adapter(student_features[0]), targets[0])


class FeatureDistillationModel(Distiller):
    """``(1-α)·CE + α·T²·KL(teacher ‖ student) + β·feature_loss``: attention transfer
    (``feature="at"``) or a FitNets hint (``"hint"``), with α = 0 giving the feature loss
    alone; any loss registered in :mod:`kdhelpers.losses` can be named."""

    def __init__(self, student, teacher, *, student_layers, teacher_layers, feature="at",
                 beta=1.0, alpha=0.0, temperature=1.0, **kwargs):
        self.alpha, self.beta, self.feature = check_alpha(alpha), check_number("beta", beta), feature
        terms = [(LogitDistillation(temperature), self.alpha)] if self.alpha else []
        terms.append((losses.create(feature, student_layers, teacher_layers), self.beta))
        super().__init__(student, teacher, losses=terms, label_weight=1.0 - self.alpha,
                         name=kwargs.pop("name", f"{feature}_{student.name}"), **kwargs)
