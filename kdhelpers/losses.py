"""The registry of distillation losses a run config can name (``RunConfig.feature``).

A new loss is one :class:`~kdhelpers.distill.DistillationLoss` subclass and one
``register("name", Class)`` line (in the code that defines it, or ``"module:Class"`` in
:data:`REGISTRY` below); the config accepts the name, the runner trains with it.
``tests/test_losses.py`` registers a toy loss that way. The built-in losses are named by
their import path and imported on first use, so that this module imports none of them
(:mod:`kdhelpers.feature_kd` uses the registry: importing it here would be a circle).
"""

from __future__ import annotations

import importlib

from ._checks import check_choice
from .distill import DistillationLoss

REGISTRY: dict[str, type[DistillationLoss] | str] = {
    "at": "kdhelpers.feature_kd:AttentionTransfer",
    "hint": "kdhelpers.feature_kd:FitNetsHint",
}


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
    if isinstance(REGISTRY[name], str):
        module, _, attribute = REGISTRY[name].partition(":")
        register(name, getattr(importlib.import_module(module), attribute))
    return REGISTRY[name]


def create(name: str, student_layers, teacher_layers) -> DistillationLoss:
    cls = get(name)
    return cls(student_layers, teacher_layers)

