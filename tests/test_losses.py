"""A new distillation loss is one class and one registry line (issue #16): nothing else in
the package changes for the config to accept it and the runner to train with it."""

import numpy as np
import pytest
from keras import ops

from kdhelpers import losses
from kdhelpers.config import RunConfig
from kdhelpers.distill import DistillationLoss
from kdhelpers.runner import run


class LogitMatching(DistillationLoss):
    """Toy loss: mean squared difference between student and teacher logits (Ba & Caruana)."""

    calls = 0

    def __init__(self, student_layers, teacher_layers):
        pass

    def compute_loss(self, student_logits, student_features, teacher_logits, targets):
        LogitMatching.calls += 1
        return ops.mean(ops.square(student_logits - teacher_logits))


@pytest.fixture
def toy_loss():
    losses.register("logit_matching", LogitMatching)
    yield "logit_matching"
    del losses.REGISTRY["logit_matching"]


def test_a_registered_toy_loss_trains_a_run(store, toy_loss):
    teacher = run(RunConfig("conv2", epochs=1, data="sample"), store)
    config = RunConfig("conv2", epochs=1, data="sample", teacher=teacher.run_id, alpha=0.0,
                       feature=toy_loss, feature_weight=1.0)
    LogitMatching.calls = 0
    result = run(config, store)
    assert result.trained and LogitMatching.calls > 0  # traced into the training step
    assert np.isfinite(result.history[0]["loss"])


def test_unregistered_names_are_refused_with_the_registered_ones():
    with pytest.raises(ValueError, match=r"feature='logit_matching'.*'at', 'hint', 'none'"):
        RunConfig("conv2", epochs=1, teacher="t", feature="logit_matching", feature_weight=1.0)


def test_only_distillation_losses_can_be_registered():
    with pytest.raises(ValueError, match="must subclass DistillationLoss"):
        losses.register("bad", object)
