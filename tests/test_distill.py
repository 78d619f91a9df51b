import keras
import numpy as np
import pytest

from kdhelpers.distill import DistillationModel, kd_loss


def numpy_kd_loss(y, s, t, alpha, T):
    """Independent NumPy reference: float64, explicit softmax, no Keras."""
    s, t = np.asarray(s, np.float64), np.asarray(t, np.float64)

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    ce = -np.log(softmax(s)[np.arange(len(y)), y])
    p_t, p_s = softmax(t / T), softmax(s / T)
    kl = (p_t * (np.log(p_t) - np.log(p_s))).sum(axis=1)
    return float(np.mean((1 - alpha) * ce + alpha * T**2 * kl))


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return (rng.integers(0, 10, 16), rng.normal(0, 3, (16, 10)).astype("float32"),
            rng.normal(0, 3, (16, 10)).astype("float32"))


def value(x):
    return float(keras.ops.convert_to_numpy(x))


@pytest.mark.parametrize("alpha", [0.0, 0.2, 0.6, 1.0])
@pytest.mark.parametrize("temperature", [1.0, 2.0, 8.0])
def test_golden_values_against_numpy(batch, alpha, temperature):
    y, s, t = batch
    got = value(kd_loss(y, s, t, alpha=alpha, temperature=temperature))
    assert got == pytest.approx(numpy_kd_loss(y, s, t, alpha, temperature), rel=1e-5)


def test_hand_computed_value():
    # two classes, s = (0, 0), t = (log 3, 0), T = 1: p_t = (3/4, 1/4), p_s = (1/2, 1/2)
    kl = 0.75 * np.log(1.5) + 0.25 * np.log(0.5)
    got = value(kd_loss(np.array([0]), np.zeros((1, 2)), np.array([[np.log(3.0), 0.0]]),
                        alpha=1.0, temperature=1.0))
    assert got == pytest.approx(kl, rel=1e-6)


@pytest.mark.parametrize("side", ["student", "teacher"])
def test_adding_a_constant_to_a_row_of_logits_changes_nothing(batch, side):
    y, s, t = batch
    shift = np.random.default_rng(3).normal(0, 5, (len(y), 1)).astype("float32")
    before = value(kd_loss(y, s, t, alpha=0.7, temperature=3.0))
    after = value(kd_loss(y, s + shift if side == "student" else s,
                          t + shift if side == "teacher" else t, alpha=0.7, temperature=3.0))
    assert after == pytest.approx(before, rel=1e-5)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 4.0, 20.0])
def test_the_distillation_term_is_never_negative(temperature):
    rng = np.random.default_rng(int(temperature * 10))
    for _ in range(20):
        s, t = rng.normal(0, 4, (8, 10)).astype("float32"), rng.normal(0, 4, (8, 10)).astype("float32")
        assert value(kd_loss(rng.integers(0, 10, 8), s, t, alpha=1.0,
                             temperature=temperature)) >= -1e-6


def test_the_loss_is_linear_in_alpha(batch):
    y, s, t = batch
    at = {a: value(kd_loss(y, s, t, alpha=a, temperature=4.0)) for a in (0.0, 0.3, 1.0)}
    assert at[0.3] == pytest.approx(0.7 * at[0.0] + 0.3 * at[1.0], rel=1e-5)


def test_teacher_and_student_order_matters(batch):
    y, s, t = batch
    forward = value(kd_loss(y, s, t, alpha=1.0, temperature=2.0))
    swapped = value(kd_loss(y, t, s, alpha=1.0, temperature=2.0))
    assert forward != pytest.approx(swapped, rel=1e-3)
    assert forward == pytest.approx(numpy_kd_loss(y, s, t, 1.0, 2.0), rel=1e-5)


def test_alpha_zero_is_plain_cross_entropy(batch):
    y, s, t = batch
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, s)
    assert value(kd_loss(y, s, t, alpha=0.0, temperature=4.0)) == pytest.approx(value(ce), rel=1e-6)
    # the teacher has no influence at alpha = 0
    assert value(kd_loss(y, s, -t, alpha=0.0, temperature=4.0)) == pytest.approx(value(ce), rel=1e-6)


def test_alpha_one_ignores_labels(batch):
    y, s, t = batch
    a = value(kd_loss(y, s, t, alpha=1.0, temperature=3.0))
    b = value(kd_loss((y + 1) % 10, s, t, alpha=1.0, temperature=3.0))
    assert a == pytest.approx(b, rel=1e-7)


def test_loss_is_zero_when_student_copies_teacher_at_alpha_one(batch):
    y, _, t = batch
    assert value(kd_loss(y, t, t, alpha=1.0, temperature=4.0)) == pytest.approx(0.0, abs=1e-6)


def test_equals_keras_distiller_loss(batch):
    """keras.distillation.Distiller with student_loss_weight = 1 - alpha is the same loss."""
    y, s, t = batch
    alpha, T = 0.6, 4.0
    student = keras.Sequential([keras.Input((10,)), keras.layers.Identity()])
    teacher = keras.Sequential([keras.Input((10,)), keras.layers.Lambda(lambda x: x * 0 + t)])
    distiller = keras.distillation.Distiller(
        teacher=teacher, student=student, student_loss_weight=1 - alpha,
        distillation_losses=keras.distillation.LogitsDistillation(
            temperature=T, loss=keras.losses.KLDivergence()))
    distiller.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    theirs = value(distiller.compute_loss(x=s, y=y, y_pred=s, training=False))
    # Keras clips probabilities at 1e-7 inside KLDivergence, hence the tolerance.
    assert value(kd_loss(y, s, t, alpha=alpha, temperature=T)) == pytest.approx(theirs, rel=1e-4)


def test_keras_logits_distillation_default_loss_skips_softmax(batch):
    """Why kdhelpers does not rely on ``LogitsDistillation()``'s default ``"kl_divergence"``
    string in Keras 3.15: it resolves to a plain function, not a ``KLDivergence`` instance,
    so neither softmax nor the T² factor is applied. If this starts failing, Keras fixed it."""
    y, s, t = batch
    default = value(keras.distillation.LogitsDistillation(temperature=4.0).compute_loss(t, s))
    ours = value(kd_loss(y, s, t, alpha=1.0, temperature=4.0))
    assert default != pytest.approx(ours, rel=1e-2)


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 1.5, "temperature": 2.0}, "alpha=1.5"),
    ({"alpha": -0.1, "temperature": 2.0}, "alpha=-0.1"),
    ({"alpha": 0.5, "temperature": 0.0}, "temperature=0.0"),
    ({"alpha": 0.5, "temperature": -1}, "temperature=-1"),
])
def test_bad_hyper_parameters(batch, kwargs, message):
    y, s, t = batch
    with pytest.raises(ValueError, match=message):
        kd_loss(y, s, t, **kwargs)


def test_class_count_mismatch(batch):
    y, s, _ = batch
    with pytest.raises(ValueError, match="teacher has 3 classes but student has 10"):
        kd_loss(y, s, np.zeros((16, 3)), alpha=0.5, temperature=2.0)


def tiny(classes=3, name=None):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(classes)], name=name)


def test_distillation_model_rejects_class_mismatch():
    with pytest.raises(ValueError, match="teacher has 4 classes but student has 3"):
        DistillationModel(tiny(3), tiny(4), alpha=0.5, temperature=2.0)


def test_gradients_reach_only_the_student():
    keras.utils.set_random_seed(0)
    student, teacher = tiny(name="student"), tiny(name="teacher")
    teacher_before = [w.copy() for w in teacher.get_weights()]
    student_before = [w.copy() for w in student.get_weights()]
    model = DistillationModel(student, teacher, alpha=0.7, temperature=3.0)
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    assert model.trainable_weights and all(
        any(w is v for v in student.trainable_weights) for w in model.trainable_weights)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 3, 32)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert set(history.history) >= {"loss", "sparse_categorical_accuracy"}
    for before, after in zip(teacher_before, teacher.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.allclose(b, a) for b, a in zip(student_before, student.get_weights()))


def test_precomputed_logits_match_teacher_on_the_fly():
    """One SGD step from precomputed teacher logits equals one with the teacher run inside."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 3, 16)
    keras.utils.set_random_seed(0)
    teacher = tiny(name="teacher")
    logits = np.asarray(teacher.predict(x, verbose=0))
    results = []
    for inputs, teach in (({"images": x, "teacher_logits": logits}, None), (x, teacher)):
        keras.utils.set_random_seed(1)
        model = DistillationModel(tiny(name="student"), teach, alpha=0.5, temperature=2.0)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        model.fit(inputs, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
        results.append(model.student.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_training_without_teacher_or_logits_is_an_error():
    model = DistillationModel(tiny(), None, alpha=0.5, temperature=2.0)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="teacher_logits"):
        model.fit(np.zeros((4, 4), "float32"), np.zeros(4, "int32"), verbose=0)


def test_student_regularisation_losses_are_added():
    reg = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        3, activity_regularizer=keras.regularizers.L2(10.0))])
    keras.utils.set_random_seed(0)
    x, y = np.ones((4, 4), "float32"), np.zeros(4, "int32")
    logits = np.zeros((4, 3), "float32")
    model = DistillationModel(reg, None, alpha=0.5, temperature=2.0)
    model.compile(optimizer="sgd")
    with_reg = model.evaluate({"images": x, "teacher_logits": logits}, y, verbose=0)
    plain = value(kd_loss(y, reg(x), logits, alpha=0.5, temperature=2.0))
    assert with_reg > plain + 1e-3


@pytest.mark.parametrize("labels, message", [
    (np.array([1.7, 0.0]), "integer class labels, got dtype float64"),
    (np.array([0, 10]), r"labels must lie in \[0, 10\)"),
    (np.array([-1, 2]), r"labels must lie in \[0, 10\)"),
    (np.eye(10, dtype="int64")[:2], "one-hot labels are not supported"),
    (np.array(["cat", "dog"]), "integer class labels"),
])
def test_kd_loss_refuses_labels_it_cannot_use(labels, message):
    logits = np.zeros((2, 10), "float32")
    with pytest.raises(ValueError, match=message):
        kd_loss(labels, logits, logits, alpha=0.5, temperature=2.0)


def test_kd_loss_does_not_broadcast_a_one_row_teacher():
    with pytest.raises(ValueError, match="batch sizes differ"):
        kd_loss(np.array([0, 1, 2]), np.zeros((3, 10), "float32"), np.zeros((1, 10), "float32"),
                alpha=0.5, temperature=2.0)
