"""The paper's step learning-rate schedule.

.. math:: \\eta_e = \\eta_0 \\cdot 0.1^{\\lfloor (e+1)/30 \\rfloor}\\quad (e = \\text{0-based epoch})

This is the closed form of the authors' rule "multiply the LR by 0.1 whenever
``(epoch + 1) % 30 == 0``": with η₀ = 0.1 it gives 0.1 for (1-based) epochs 1–29, 0.01 for
30–59, 0.001 for 60–89 and 1e-4 for epoch 90. A closed form, unlike the original's running
product, gives the right rate when a run resumes in the middle.
"""

from __future__ import annotations

import keras

from ._checks import check_number, check_positive_int


class StepSchedule:
    """``schedule(epoch, lr)`` for ``keras.callbacks.LearningRateScheduler``."""

    def __init__(self, initial_lr: float, *, every: int = 30, factor: float = 0.1):
        self.initial_lr = check_number("initial_lr", initial_lr)
        if self.initial_lr <= 0:
            raise ValueError(f"initial_lr={initial_lr!r} must be > 0")
        self.every = check_positive_int("every", every)
        self.factor = check_number("factor", factor)

    def __call__(self, epoch: int, lr: float | None = None) -> float:
        return self.initial_lr * self.factor ** ((epoch + 1) // self.every)


def step_schedule_callback(initial_lr: float, *, every: int = 30, factor: float = 0.1):
    """A ``LearningRateScheduler`` callback applying :class:`StepSchedule`."""
    return keras.callbacks.LearningRateScheduler(StepSchedule(initial_lr, every=every, factor=factor))
