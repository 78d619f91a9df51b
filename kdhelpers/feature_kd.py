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


def feature_extractor(model: keras.Model, layer_names) -> keras.Model:
    """A model returning ``[logits, *features of layer_names]`` for a functional ``model``."""
    try:
        outputs = [model.get_layer(name).output for name in layer_names]
    except ValueError as error:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"{error}; layers of {model.name!r}: {names}") from error
    # one input tensor, not a one-element list: calling with a plain tensor then matches
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, [model.outputs[0], *outputs], name=f"{model.name}_features")


class FeatureDistillationModel(keras.Model):
    """Train ``student`` with CE, optional logit KD, and a feature loss.

    ``loss = (1-α)·CE + α·T²·KL(teacher ‖ student) + β·feature_loss``, with ``feature="at"``
    (attention transfer over the layer pairs) or ``"hint"`` (FitNets, one pair, through a
    learned :class:`HintAdapter`). α = 0 gives the feature loss alone.

    The teacher's targets come either from the teacher run on the fly, or, when training
    inputs are the dict that :meth:`teacher_targets` returns (plus ``"images"``), from that
    dict: computed once per run instead of once per epoch, which is exact when the images
    are not augmented (the students here are not) and the teacher is frozen in inference
    mode. Evaluation on plain image arrays is scored with the label loss only (the teacher
    is not run), as in :class:`~kdhelpers.distill.DistillationModel`.
    """

    def __init__(self, student, teacher, *, student_layers, teacher_layers, feature="at",
                 beta=1.0, alpha=0.0, temperature=1.0, **kwargs):
        from ._checks import check_alpha, check_choice, check_temperature

        super().__init__(name=kwargs.pop("name", f"{feature}_{student.name}"), **kwargs)
        check_choice("feature", feature, ("at", "hint"))
        if len(student_layers) != len(teacher_layers) or not student_layers:
            raise ValueError("student_layers and teacher_layers must pair up (same, non-zero length)")
        if feature == "hint" and len(student_layers) != 1:
            raise ValueError(f"feature='hint' takes one layer pair, got {len(student_layers)}")
        self.alpha, self.temperature = check_alpha(alpha), check_temperature(temperature)
        self.beta, self.feature = check_number("beta", beta), feature
        teacher.trainable = False
        self.student = student
        self.student_features = feature_extractor(student, student_layers)
        self.teacher_features = feature_extractor(teacher, teacher_layers)
        self.adapter = None
        if feature == "hint":
            self.adapter = HintAdapter(self.teacher_features.outputs[1].shape[-1])
            self.adapter.build(self.student_features.outputs[1].shape)
        self.built = True

    def call(self, inputs, training=False):
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        return self.student(images, training=training)

    def teacher_targets(self, images, batch_size: int = 512) -> dict:
        """The teacher's logits and feature targets for ``images``, as NumPy arrays:
        attention maps (B, H·W) for ``"at"``, the raw feature map for ``"hint"``."""
        targets = {"teacher_logits": [], **{f"teacher_target_{i}": [] for i in
                                            range(len(self.teacher_features.outputs) - 1)}}
        for start in range(0, len(images), batch_size):
            t_logits, *t_maps = self.teacher_features(images[start:start + batch_size],
                                                      training=False)
            if self.feature == "at":
                t_maps = [attention_map(t) for t in t_maps]
            for key, value in zip(targets, [t_logits, *t_maps]):
                targets[key].append(ops.convert_to_numpy(value).astype("float32"))
        return {key: np.concatenate(parts) for key, parts in targets.items()}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        from .distill import kd_loss

        images = x["images"] if isinstance(x, dict) else x
        s_logits, *s_maps = self.student_features(images, training=training)
        if isinstance(x, dict):  # precomputed teacher targets
            t_logits = x["teacher_logits"]
            t_maps = [x[f"teacher_target_{i}"] for i in range(len(s_maps))]
        elif training:
            t_logits, *t_maps = self.teacher_features(images, training=False)
            if self.feature == "at":
                t_maps = [attention_map(t) for t in t_maps]
        else:  # evaluation on plain images: label loss only
            t_logits = t_maps = None
        if t_logits is None:
            loss = ops.mean(keras.losses.sparse_categorical_crossentropy(y, s_logits,
                                                                         from_logits=True))
        else:
            feature_loss = (attention_distance(s_maps, t_maps) if self.feature == "at"
                            else hint_loss(self.adapter(s_maps[0]), t_maps[0]))
            loss = (kd_loss(y, s_logits, t_logits, alpha=self.alpha, temperature=self.temperature)
                    + self.beta * feature_loss)
        for extra in self.student.losses:
            loss = loss + ops.cast(extra, loss.dtype)
        return loss
