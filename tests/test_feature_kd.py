import numpy as np
import pytest
from keras import ops

from kdhelpers.distill import kd_loss, virtual_teacher_logits
from kdhelpers.feature_kd import (HintAdapter, attention_distance, attention_map,
                                  attention_transfer_loss, hint_loss)


def np_attention(f, p=2.0):
    q = (np.abs(f.astype(np.float64)) ** p).sum(axis=-1).reshape(len(f), -1)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(4, 8, 8, 16)).astype("float32"),
            rng.normal(size=(4, 8, 8, 64)).astype("float32"),
            rng.normal(size=(4, 4, 4, 32)).astype("float32"),
            rng.normal(size=(4, 4, 4, 128)).astype("float32"))


def val(x):
    return float(ops.convert_to_numpy(x))


@pytest.mark.parametrize("p", [1.0, 2.0, 4.0])
def test_attention_map_golden(maps, p):
    got = ops.convert_to_numpy(attention_map(maps[0], p))
    np.testing.assert_allclose(got, np_attention(maps[0], p), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)


def test_attention_transfer_golden_over_two_pairs(maps):
    s1, t1, s2, t2 = maps
    expected = sum(np.linalg.norm(np_attention(s) - np_attention(t), axis=1).mean()
                   for s, t in ((s1, t1), (s2, t2)))
    assert val(attention_transfer_loss([s1, s2], [t1, t2])) == pytest.approx(expected, rel=1e-5)


def test_attention_transfer_is_zero_for_proportional_maps(maps):
    s = maps[0]
    assert val(attention_transfer_loss([s], [3.0 * s])) == pytest.approx(0.0, abs=1e-5)


def test_attention_transfer_bad_input(maps):
    s1, t1, s2, _ = maps
    with pytest.raises(ValueError, match="spatial size"):
        attention_transfer_loss([s1], [s2])
    with pytest.raises(ValueError, match="equally many"):
        attention_transfer_loss([s1, s2], [t1])
    with pytest.raises(ValueError, match="64 positions, the teacher's 16"):
        attention_distance([s1], [attention_map(s2)])
    with pytest.raises(ValueError, match="p=0"):
        attention_map(s1, 0)
    with pytest.raises(ValueError, match="shape"):
        attention_map(np.zeros((2, 3)))


def test_hint_loss_golden_and_adapter_shape(maps):
    s, t = maps[0], maps[1]
    adapter = HintAdapter(64)
    adapted = adapter(s)
    assert tuple(adapted.shape) == (4, 8, 8, 64)
    expected = np.mean((ops.convert_to_numpy(adapted).astype(np.float64) - t) ** 2)
    assert val(hint_loss(adapted, t)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        hint_loss(s, t)
    with pytest.raises(ValueError, match="teacher_channels=0"):
        HintAdapter(0)


def test_virtual_teacher_distribution():
    v = virtual_teacher_logits(np.array([2, 0]), 4, 0.7)
    np.testing.assert_allclose(v, [[0.1, 0.1, 0.7, 0.1], [0.7, 0.1, 0.1, 0.1]], rtol=1e-6)
    np.testing.assert_allclose(v.sum(axis=1), 1.0, rtol=1e-6)


def test_virtual_teacher_in_kd_loss_matches_tfkd_formula():
    """Tf-KD: KL(softmax(p_d / T) || softmax(s / T)), p_d the hand-made distribution."""
    rng = np.random.default_rng(1)
    y, s = rng.integers(0, 10, 8), rng.normal(size=(8, 10)).astype("float32")
    T, a = 4.0, 0.5
    p_d = virtual_teacher_logits(y, 10, 0.9).astype(np.float64)

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    q, ps = softmax(p_d / T), softmax(s / T)
    ce = -np.log(softmax(s)[np.arange(8), y])
    expected = np.mean((1 - a) * ce + a * T**2 * (q * np.log(q / ps)).sum(1))
    assert val(kd_loss(y, s, p_d, alpha=a, temperature=T)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"correct_prob": 0.05}, "correct_prob=0.05"), ({"num_classes": 1}, "num_classes=1"),
    ({"labels": [10]}, r"labels must lie in \[0, 10\)")])
def test_virtual_teacher_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        virtual_teacher_logits(**{"labels": [0, 1], **kwargs})


def _pair():
    from kdhelpers.models import build_model

    return build_model("cifar_student"), build_model("resnet18", width=0.25)


FEATURE_PAIRS = pytest.mark.parametrize("feature, s_layers, t_layers", [
    ("at", ["block1_conv2", "block2_conv2"], ["stage1_block2_out", "stage2_block2_out"]),
    ("hint", ["block2_conv2"], ["stage2_block2_out"]),
])


def _feature_model(student, teacher, feature, s_layers, t_layers):
    from kdhelpers.feature_kd import FeatureDistillationModel

    return FeatureDistillationModel(student, teacher, student_layers=s_layers,
                                    teacher_layers=t_layers, feature=feature, beta=10.0,
                                    alpha=0.5, temperature=4.0)


@FEATURE_PAIRS
def test_feature_distillation_trains_student_and_adapter_only(feature, s_layers, t_layers):
    import keras

    keras.utils.set_random_seed(0)
    student, teacher = _pair()
    teacher_before = [w.copy() for w in teacher.get_weights()]
    model = _feature_model(student, teacher, feature, s_layers, t_layers)
    model.compile(optimizer="adam", metrics=["sparse_categorical_accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 32, 32, 3), dtype="float32"), rng.integers(0, 10, 16)
    losses = model.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    for a, b in zip(teacher_before, teacher.get_weights()):
        np.testing.assert_array_equal(a, b)
    trainable = {id(w) for w in model.trainable_weights}
    assert {id(w) for w in student.trainable_weights} <= trainable
    assert not {id(w) for w in teacher.weights} & trainable


def test_feature_distillation_bad_layers():
    from kdhelpers.feature_kd import FeatureDistillationModel

    student, teacher = _pair()
    with pytest.raises(ValueError, match="nope"):
        FeatureDistillationModel(student, teacher, student_layers=["nope"],
                                 teacher_layers=["stem_conv"])
    with pytest.raises(ValueError, match="takes one layer pair"):
        FeatureDistillationModel(student, teacher, student_layers=["block1_conv2", "block2_conv2"],
                                 teacher_layers=["stem_conv", "stem_conv"], feature="hint")


@FEATURE_PAIRS
def test_precomputed_teacher_targets_give_the_on_the_fly_loss(feature, s_layers, t_layers):
    """Targets computed once per run (what fit() does) equal the teacher run on every step."""
    import keras

    keras.utils.set_random_seed(0)
    student, teacher = _pair()
    for layer in student.layers:  # dropout would make two training-mode calls differ
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    model = _feature_model(student, teacher, feature, s_layers, t_layers)
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 32, 32, 3), dtype="float32"), rng.integers(0, 10, 8)
    targets = model.teacher_targets(x, batch_size=3)  # batching must not matter
    assert targets["teacher_logits"].shape == (8, 10)
    if feature == "at":
        assert [targets[f"teacher_target_{i}"].shape for i in range(2)] == [(8, 1024), (8, 256)]
    on_the_fly = val(model.compute_loss(x, y, training=True))
    cached = val(model.compute_loss({"images": x, **targets}, y, training=True))
    assert cached == pytest.approx(on_the_fly, rel=1e-4)
    label_only = val(model.compute_loss(x, y, training=False))  # evaluation: no teacher
    ce = val(ops.mean(keras.losses.sparse_categorical_crossentropy(y, student(x), from_logits=True)))
    assert label_only == pytest.approx(ce, rel=1e-5)
