import keras
import numpy as np
import pytest

from kdhelpers.schedules import StepSchedule, step_schedule_callback


def paper_lr(epoch_1_based):
    """The spec: 0.1 for epochs 1-29, 0.01 for 30-59, 0.001 for 60-89, 1e-4 for 90."""
    if epoch_1_based <= 29:
        return 0.1
    if epoch_1_based <= 59:
        return 0.01
    if epoch_1_based <= 89:
        return 0.001
    return 1e-4


def test_step_schedule_matches_spec_epoch_by_epoch():
    schedule = StepSchedule(0.1)
    for epoch in range(90):  # Keras passes 0-based epochs
        assert schedule(epoch) == pytest.approx(paper_lr(epoch + 1), rel=1e-9), epoch


def test_step_schedule_equals_authors_running_product():
    schedule, lr = StepSchedule(1e-3), 1e-3
    for epoch in range(120):
        if (epoch + 1) % 30 == 0:
            lr *= 0.1
        assert schedule(epoch, None) == pytest.approx(lr, rel=1e-9)


def test_callback_sets_optimizer_lr_during_fit():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(float(model.optimizer.learning_rate)))
    x = np.zeros((4, 2), "float32")
    model.fit(x, x[:, :1], epochs=31, verbose=0,
              callbacks=[step_schedule_callback(0.1, every=30), record])
    assert seen[28] == pytest.approx(0.1) and seen[29] == pytest.approx(0.01)


@pytest.mark.parametrize("kwargs, message", [
    ({"initial_lr": 0}, "initial_lr=0"), ({"initial_lr": 0.1, "every": 0}, "every=0")])
def test_bad_schedule_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StepSchedule(**kwargs)
