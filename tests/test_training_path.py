"""Golden tests of the code that trains, against an independent float64 NumPy computation.

Every KD student of the book is trained by :class:`kdhelpers.distill.Distiller.compute_loss`
(built by :func:`kdhelpers.train.build_trainable` from a run's config), with the teacher's
logits cached (:func:`kdhelpers.runner.teacher_inputs`) or hand-made (Tf-KD's virtual
teacher), and feature losses from :data:`kdhelpers.losses.REGISTRY`. Here that path is
compared, on the loss *and* its gradient with respect to the student's logits (or features),
with NumPy at α ∉ {0, ½, 1} and T ≠ 1, so that each of these wrong changes fails a test:
α and 1 − α swapped, the T² factor dropped, the teacher not softened by T, the KL reversed,
a softmax over the batch axis.

The NumPy gradients are analytic for the logit loss (checked here by central differences)
and central differences in float64 for the feature losses.
"""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from kdhelpers import losses, runner, train
from kdhelpers.config import RunConfig
from kdhelpers.distill import DistillationModel, kd_loss
from kdhelpers.models import build_model

ALPHA, T = 0.3, 3.0  # neither weight is 0, ½ or 1; T ≠ 1, so T² ≠ T ≠ 1
BATCH, CLASSES = 6, 10  # unequal: a softmax over the wrong axis changes the values


# ---- the independent reference: float64 NumPy, no Keras ----------------------------------

def softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_kd(y, s, t, alpha, temperature):
    """``(loss, d loss / d s)`` of ``mean_b[(1-α) CE(y_b, s_b) + α T² KL(p_t ‖ p_s)]``,
    ``p = softmax(logits / T)``; dCE/ds = softmax(s) − onehot(y), dT²KL/ds = T (p_s − p_t)."""
    s, t = np.asarray(s, np.float64), np.asarray(t, np.float64)
    onehot = np.eye(s.shape[1])[y]
    p, p_s, p_t = softmax(s), softmax(s / temperature), softmax(t / temperature)
    ce = -np.log(p[np.arange(len(y)), y])
    kl = (p_t * (np.log(p_t) - np.log(p_s))).sum(axis=1)
    loss = np.mean((1 - alpha) * ce + alpha * temperature**2 * kl)
    grad = ((1 - alpha) * (p - onehot) + alpha * temperature * (p_s - p_t)) / len(y)
    return float(loss), grad


def numerical_gradient(f, x, h=1e-6):
    """Central differences of a float64 function of one array."""
    x = np.asarray(x, np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def numpy_virtual_teacher(y, classes, correct_prob):
    """Tf-KD's teacher, used as logits: ``correct_prob`` on the label, the rest shared equally."""
    out = np.full((len(y), classes), (1 - correct_prob) / (classes - 1))
    out[np.arange(len(y)), y] = correct_prob
    return out


def numpy_attention(features_s, features_t, p=2.0):
    """Σ over layer pairs of mean_b ‖Q_S/‖Q_S‖ − Q_T/‖Q_T‖‖₂, Q = vec(Σ_c |F_c|^p)."""
    total = 0.0
    for s, t in zip(features_s, features_t):
        maps = []
        for f in (np.asarray(s, np.float64), np.asarray(t, np.float64)):
            q = (np.abs(f) ** p).sum(axis=-1).reshape(len(f), -1)
            maps.append(q / (np.linalg.norm(q, axis=1, keepdims=True) + 1e-12))
        total += np.linalg.norm(maps[0] - maps[1], axis=1).mean()
    return total


def numpy_hint(features_s, features_t, kernel, bias):
    """Mean squared error between the 1×1-projected student map and the teacher's."""
    projected = np.asarray(features_s[0], np.float64) @ np.asarray(kernel, np.float64)[0, 0] + bias
    return float(np.mean((projected - np.asarray(features_t[0], np.float64)) ** 2))


# ---- the code under test: value and gradient on the active backend -----------------------

def value_and_grad(function, x):
    """``(f(x), df/dx)`` as float64 NumPy for a scalar Keras function of one array."""
    x = np.asarray(x, "float32")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        variable = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(variable)
            out = function(variable)
        grad = tape.gradient(out, variable)
    elif keras.backend.backend() == "jax":
        import jax

        out, grad = jax.value_and_grad(function)(x)
    else:
        pytest.skip(f"no gradient helper for the {keras.backend.backend()} backend")
    return float(keras.ops.convert_to_numpy(out)), np.asarray(keras.ops.convert_to_numpy(grad), np.float64)


@pytest.fixture
def batch():
    rng = np.random.default_rng(7)
    return (rng.integers(0, CLASSES, BATCH), rng.normal(0, 2, (BATCH, CLASSES)).astype("float32"),
            rng.normal(0, 3, (BATCH, CLASSES)).astype("float32"))


def kd_config(**fields):
    """A KD run as the book configures one (the teacher id only names the cached logits)."""
    return RunConfig("mnist_student", epochs=1, data="sample", teacher="mnist_teacher-0123456789ab",
                     alpha=ALPHA, temperature=T, **fields)


# ---- the reference itself -------------------------------------------------------------

def test_the_reference_gradient_is_the_derivative_of_the_reference_loss(batch):
    y, s, t = batch
    _, grad = numpy_kd(y, s, t, ALPHA, T)
    assert np.allclose(grad, numerical_gradient(lambda z: numpy_kd(y, z, t, ALPHA, T)[0], s),
                       atol=1e-8)


# ---- logit KD ---------------------------------------------------------------------------

def check_against_reference(got_loss, got_grad, y, s, t, alpha=ALPHA, temperature=T):
    want_loss, want_grad = numpy_kd(y, s, t, alpha, temperature)
    assert got_loss == pytest.approx(want_loss, rel=1e-5)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-4, atol=1e-6)


def test_kd_loss_matches_the_reference_in_value_and_gradient(batch):
    y, s, t = batch
    check_against_reference(*value_and_grad(
        lambda z: kd_loss(y, z, t, alpha=ALPHA, temperature=T), s), y, s, t)


@pytest.mark.parametrize("alpha, temperature", [(ALPHA, T), (0.8, 6.0)])
def test_the_runner_trains_cached_logit_kd_with_the_reference_loss(batch, alpha, temperature):
    """What ``runner.run`` trains for a KD config: ``build_trainable``'s model, fed the
    cached logits beside the images."""
    y, s, t = batch
    model, _ = train.build_trainable(kd_config().replace(alpha=alpha, temperature=temperature))
    assert isinstance(model, DistillationModel)
    inputs = {"images": np.zeros((BATCH, 28, 28, 1), "float32"), "teacher_logits": t}
    check_against_reference(*value_and_grad(
        lambda z: model.compute_loss(x=inputs, y=y, y_pred=z, training=True), s),
        y, s, t, alpha, temperature)


def test_logit_kd_with_a_teacher_model_matches_the_reference(batch):
    """``DistillationModel(student, teacher)``: the teacher's logits computed on every step."""
    y, s, _ = batch
    images = np.random.default_rng(1).normal(size=(BATCH, 5)).astype("float32")
    teacher = keras.Sequential([keras.Input((5,)), keras.layers.Dense(CLASSES)])
    student = keras.Sequential([keras.Input((5,)), keras.layers.Dense(CLASSES)])
    t = keras.ops.convert_to_numpy(teacher(images))
    model = DistillationModel(student, teacher, alpha=ALPHA, temperature=T)
    check_against_reference(*value_and_grad(
        lambda z: model.compute_loss(x=images, y=y, y_pred=z, training=True), s), y, s, t)


def test_the_virtual_teacher_trains_with_the_reference_loss(batch):
    """Tf-KD: the runner's hand-made logits, then the same KD model without a teacher run."""
    y, s, _ = batch
    config = RunConfig("mnist_student", epochs=1, data="sample", alpha=ALPHA, temperature=T,
                       virtual_teacher=0.9)
    dataset = SimpleNamespace(y_train=y, num_classes=CLASSES)
    t, teacher_model, layers = runner.teacher_inputs(config, store=None, dataset=dataset)
    assert teacher_model is None and layers is None
    np.testing.assert_allclose(t, numpy_virtual_teacher(y, CLASSES, 0.9), rtol=1e-6)
    model, _ = train.build_trainable(config)
    inputs = {"images": np.zeros((BATCH, 28, 28, 1), "float32"), "teacher_logits": t}
    check_against_reference(*value_and_grad(
        lambda z: model.compute_loss(x=inputs, y=y, y_pred=z, training=True), s),
        y, s, numpy_virtual_teacher(y, CLASSES, 0.9))


# ---- every registered feature loss -------------------------------------------------------

REFERENCES = {"at": lambda loss, s, t: numpy_attention(s, t, loss.p),
              "hint": lambda loss, s, t: numpy_hint(s, t, *loss.adapter.project.get_weights())}


def test_every_registered_loss_has_a_numpy_reference():
    # a toy loss registered by another test module is removed again by its fixture
    assert set(losses.REGISTRY) - {"logit_matching"} <= set(REFERENCES), (
        f"add a float64 reference for {sorted(set(losses.REGISTRY) - set(REFERENCES))}")


def feature_batch(rng, shape_s, shape_t):
    return rng.normal(0, 1, shape_s).astype("float32"), rng.normal(0, 1, shape_t).astype("float32")


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_each_feature_loss_matches_the_reference_in_value_and_gradient(name):
    """The loss class as the Distiller calls it: targets from ``teacher_targets``, then
    ``compute_loss``; the gradient with respect to the student's (first) feature map."""
    rng = np.random.default_rng(3)
    pairs = 2 if name == "at" else 1
    shapes = [((3, 4, 4, 5), (3, 4, 4, 7)), ((3, 2, 2, 6), (3, 2, 2, 4))][:pairs]
    student_maps, teacher_maps = zip(*[feature_batch(rng, *shape) for shape in shapes])
    loss = losses.create(name, [f"s{i}" for i in range(pairs)], [f"t{i}" for i in range(pairs)])
    loss.build([m.shape for m in student_maps], [m.shape for m in teacher_maps])
    targets = loss.teacher_targets(None, list(teacher_maps))
    rest = list(student_maps[1:])

    got, grad = value_and_grad(
        lambda first: loss.compute_loss(None, [first, *rest], None, targets), student_maps[0])

    def reference(first):
        return REFERENCES[name](loss, [first, *rest], list(teacher_maps))

    assert got == pytest.approx(reference(student_maps[0]), rel=1e-5)
    np.testing.assert_allclose(grad, numerical_gradient(reference, student_maps[0]),
                               rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_the_runner_trains_feature_kd_with_the_reference_loss(name):
    """``build_trainable`` for a feature config with logit KD beside it, fed the teacher's
    targets computed once (as ``train.fit`` does): (1-α)CE + αT²KL + β·feature loss."""
    beta = 2.5
    config = RunConfig("cifar_student", epochs=1, data="sample", teacher="resnet18-0123456789ab",
                       alpha=ALPHA, temperature=T, feature=name, feature_weight=beta)
    teacher = build_model("resnet18", width=0.25)
    layers = losses.get(name).layers_for("cifar_student", "resnet18")
    model, student = train.build_trainable(config, teacher, layers)
    rng = np.random.default_rng(5)
    images = rng.normal(0, 1, (3, 32, 32, 3)).astype("float32")
    y = rng.integers(0, CLASSES, 3)
    inputs = {"images": images, **model.teacher_targets(images)}
    got = float(keras.ops.convert_to_numpy(model.compute_loss(x=inputs, y=y, training=False)))

    from kdhelpers.distill import feature_extractor

    s_logits, *s_feats = feature_extractor(student, layers[0])(images, training=False)
    t_logits, *t_feats = feature_extractor(teacher, layers[1])(images, training=False)
    s_feats, t_feats = ([keras.ops.convert_to_numpy(f) for f in fs] for fs in (s_feats, t_feats))
    term = next(loss for loss, _ in model.terms if not hasattr(loss, "temperature"))
    want = (numpy_kd(y, keras.ops.convert_to_numpy(s_logits), keras.ops.convert_to_numpy(t_logits),
                     ALPHA, T)[0]
            + beta * REFERENCES[name](term, s_feats, t_feats)
            + sum(float(keras.ops.convert_to_numpy(extra)) for extra in student.losses))
    assert got == pytest.approx(want, rel=1e-4)
