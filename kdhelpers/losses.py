"""The registry of distillation losses a run config can name (``RunConfig.feature``).

A new loss is one :class:`~kdhelpers.distill.DistillationLoss` subclass and one
``register("name", Class)`` line (here, or in the code that defines it); the config accepts
the name, the runner trains with it. ``tests/test_losses.py`` registers a toy loss that way.
"""

from __future__ import annotations

from ._checks import check_choice
from .distill import DistillationLoss

REGISTRY: dict[str, type[DistillationLoss]] = {}


def register(name: str, cls: type[DistillationLoss]) -> type[DistillationLoss]:
    if not (isinstance(cls, type) and issubclass(cls, DistillationLoss)):
        raise ValueError(f"register({name!r}, {cls!r}): a loss must subclass DistillationLoss")
    if name == "none":
        raise ValueError("'none' means no feature loss and cannot be registered")
    REGISTRY[name] = cls
    return cls


def names() -> tuple[str, ...]:
    """The values ``RunConfig.feature`` accepts."""
    return ("none", *REGISTRY)


def get(name: str) -> type[DistillationLoss]:
    check_choice("feature", name, tuple(REGISTRY))
    return REGISTRY[name]


def create(name: str, student_layers, teacher_layers) -> DistillationLoss:
    cls = get(name)
    return cls(student_layers, teacher_layers)


from .feature_kd import AttentionTransfer, FitNetsHint  # noqa: E402  (registered below)

register("at", AttentionTransfer)
register("hint", FitNetsHint)
