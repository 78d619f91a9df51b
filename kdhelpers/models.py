"""The paper's nine architectures as Keras 3 functional models (all return logits).

Parameter counts (Keras ``count_params()``, BatchNorm moving statistics included) equal
those in ``experiment-spec.md``; ``tests/test_models.py`` checks each one.

=================  ===========  ==========================================
name               params       used in
=================  ===========  ==========================================
``mnist_teacher``  1,422,378    experiment 1
``mnist_student``  693,962      experiment 1
``resnet18``       11,183,562   experiments 2, 3 (teacher); ``width`` scales it
``cifar_student``  816,938      experiments 2-5
``conv2``..``conv10``  13,146 .. 658,586  experiment 6 (teacher assistants)
=================  ===========  ==========================================
"""

from __future__ import annotations

import keras
from keras import layers

from ._checks import check_choice, check_number, check_positive_int

INPUT_SHAPES = {"mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def mnist_teacher(num_classes: int = 10) -> keras.Model:
    """1 conv + 4 dense layers with dropout 0.4 (the MNIST teacher)."""
    inputs = keras.Input(INPUT_SHAPES["mnist"], name="images")
    x = layers.Conv2D(32, 3, activation="relu", kernel_initializer="he_normal")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.4)(x)
    x = layers.Flatten()(x)
    for units in (256, 128, 32):
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="mnist_teacher")


def mnist_student(num_classes: int = 10) -> keras.Model:
    """1 conv + 2 dense layers, no dropout (the MNIST student)."""
    inputs = keras.Input(INPUT_SHAPES["mnist"], name="images")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="mnist_student")


def _conv_bn(x, filters, name=None):
    """3x3 same conv with ReLU, then BatchNorm (BN after the activation, as in the paper)."""
    x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                      kernel_initializer="he_uniform", name=name)(x)
    return layers.BatchNormalization()(x)


def cifar_student(num_classes: int = 10) -> keras.Model:
    """6 conv (32, 32, 64, 64, 128, 128) + 2 dense layers, BN after each (the CIFAR student)."""
    inputs = keras.Input(INPUT_SHAPES["cifar10"], name="images")
    x = inputs
    for stage, (filters, drop) in enumerate(((32, 0.2), (64, 0.3), (128, 0.4)), start=1):
        x = _conv_bn(x, filters, name=f"block{stage}_conv1")
        x = _conv_bn(x, filters, name=f"block{stage}_conv2")
        x = layers.MaxPooling2D(2, name=f"block{stage}_pool")(x)
        x = layers.Dropout(drop)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu", kernel_initializer="he_uniform")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="cifar_student")


def _basic_block(x, filters, stride, l2, name):
    """ResNet BasicBlock: conv3x3-BN-ReLU-conv3x3-BN, plus a shortcut, then ReLU."""
    reg = keras.regularizers.L2(l2)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                      kernel_regularizer=reg, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                      kernel_regularizer=reg, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        x = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(x)
        x = layers.BatchNormalization(name=f"{name}_proj_bn")(x)
    return layers.ReLU(name=f"{name}_out")(layers.Add()([x, y]))


def resnet18(num_classes: int = 10, width: float = 1.0, l2: float = 1e-4) -> keras.Model:
    """CIFAR ResNet-18: 3x3 stem (no max-pool), four stages of two BasicBlocks.

    ``width`` multiplies every channel count (64, 128, 256, 512); ``width=1`` is the paper's
    11,183,562-parameter teacher, smaller widths give CPU-trainable teachers. Measured with
    TF 2.21 on CPU: training ``width=0.125`` (8-channel stem) with op determinism enabled, as
    the runner does, crashes the process (segfault inside TensorFlow); 0.25 and up train.
    """
    width = check_number("width", width)
    if width <= 0:
        raise ValueError(f"width={width!r} must be > 0")
    channels = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
    reg = keras.regularizers.L2(l2)
    inputs = keras.Input(INPUT_SHAPES["cifar10"], name="images")
    x = layers.Conv2D(channels[0], 3, padding="same", use_bias=False,
                      kernel_regularizer=reg, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU()(x)
    for stage, filters in enumerate(channels, start=1):
        for block in (1, 2):
            stride = 2 if stage > 1 and block == 1 else 1
            x = _basic_block(x, filters, stride, l2, name=f"stage{stage}_block{block}")
    x = layers.AveragePooling2D(4)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    suffix = "" if width == 1.0 else f"_w{width:g}"
    return keras.Model(inputs, outputs, name=f"resnet18{suffix}")


# Layer plans of the teacher-assistant family: ("conv", filters) | "pool" | "dropout" |
# "flatten" | ("dense", units).
_CONV_FAMILY = {
    2: [("conv", 16), "pool", ("conv", 16), "pool", "flatten", "dropout"],
    4: [("conv", 16), ("conv", 16), "pool", ("conv", 32), ("conv", 32), "pool", "flatten", "dropout"],
    6: [("conv", 16), ("conv", 16), "pool", ("conv", 32), ("conv", 32), "pool", "dropout",
        ("conv", 64), ("conv", 64), "pool", "flatten", "dropout"],
    8: [("conv", 16), ("conv", 16), "pool", "dropout", ("conv", 32), ("conv", 32), "pool", "dropout",
        ("conv", 64), ("conv", 64), "pool", "dropout", ("conv", 128), ("conv", 128), "pool", "dropout",
        "flatten", ("dense", 64)],
    10: [("conv", 16), ("conv", 16), "pool", "dropout", ("conv", 32), ("conv", 32), "pool", "dropout",
         ("conv", 64), ("conv", 64), "pool", "dropout", ("conv", 128), ("conv", 128), "dropout",
         ("conv", 128), ("conv", 128), "pool", "dropout", "flatten", ("dense", 128), "dropout"],
}


def conv_family(num_convs: int, num_classes: int = 10) -> keras.Model:
    """The 2/4/6/8/10-conv plain CNNs of the teacher-assistant experiment (6).

    Dense layers (hidden and the logit layer) carry an L2(1e-4) activity regulariser.
    """
    check_choice("num_convs", num_convs, _CONV_FAMILY)
    inputs = keras.Input(INPUT_SHAPES["cifar10"], name="images")
    x = inputs
    for step in _CONV_FAMILY[num_convs]:
        if step == "pool":
            x = layers.MaxPooling2D(2)(x)
        elif step == "dropout":
            x = layers.Dropout(0.4)(x)
        elif step == "flatten":
            x = layers.Flatten()(x)
        elif step[0] == "conv":
            x = _conv_bn(x, step[1])
        else:
            x = layers.Dense(step[1], activation="relu",
                             activity_regularizer=keras.regularizers.L2(1e-4))(x)
    outputs = layers.Dense(num_classes, activity_regularizer=keras.regularizers.L2(1e-4),
                           name="logits")(x)
    return keras.Model(inputs, outputs, name=f"conv{num_convs}")


MODELS = {
    "mnist_teacher": ("mnist", mnist_teacher),
    "mnist_student": ("mnist", mnist_student),
    "resnet18": ("cifar10", resnet18),
    "cifar_student": ("cifar10", cifar_student),
    **{f"conv{n}": ("cifar10", lambda num_classes=10, n=n: conv_family(n, num_classes))
       for n in _CONV_FAMILY},
}


def dataset_of(name: str) -> str:
    """The dataset a model name is built for (``"mnist"`` or ``"cifar10"``)."""
    check_choice("model", name, MODELS)
    return MODELS[name][0]


def build_model(name: str, *, num_classes: int = 10, width: float = 1.0) -> keras.Model:
    """Build a model by name (see the module table); ``width`` applies to ``resnet18`` only."""
    check_choice("model", name, MODELS)
    check_positive_int("num_classes", num_classes)
    builder = MODELS[name][1]
    if name == "resnet18":
        return builder(num_classes=num_classes, width=width)
    if width != 1.0:
        raise ValueError(f"width={width!r} is only supported for model 'resnet18', not {name!r}")
    return builder(num_classes=num_classes)
