"""A training run described by a small, hashable, serialisable config."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
from dataclasses import dataclass

from ._checks import (check_alpha, check_choice, check_fraction, check_number,
                      check_positive_int, check_temperature)
from . import losses
from .models import MODELS, dataset_of

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("none", "step")
DATA = ("full", "sample")
PRECISIONS = ("float32", "mixed_bfloat16")
# "per_epoch": a fresh permutation of the training rows every epoch, from (seed, epoch);
# "keras": Keras' own shuffle, which under a global seed repeats one order every epoch
# (the behaviour of every run recorded before the fix; see train.fit).
SHUFFLES = ("per_epoch", "keras")
# Fields added after runs were recorded: left out of the hash while at the value that
# reproduces the old behaviour, so the ids of existing runs stay valid.
_HASH_OMITS = {"feature": "none", "feature_weight": 0.0, "virtual_teacher": 0.0,
               "precision": "float32", "shuffle": "keras"}
# What a stored config.json without the field was trained with (its default may differ).
_MISSING_MEANS = {"shuffle": "keras"}


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's result; its hash is the run's id.

    ``teacher`` is another run's id (``RunConfig.run_id``) or ``None``; ``alpha`` and
    ``temperature`` only matter with a teacher. ``schedule="step"`` multiplies the learning
    rate by 0.1 every ``lr_drop_every`` epochs (the paper: 30). ``data`` is ``"full"`` (the real data set,
    from ``KDHELPERS_DATA`` or Keras) or ``"sample"`` (the bundled sample). ``val_fraction``
    of the training set is held out for model selection; ``fraction`` of the rest trains.
    ``feature`` (a name in :mod:`kdhelpers.losses`: "at" attention transfer, "hint" FitNets)
    adds a feature loss weighted by
    ``feature_weight`` (needs the teacher run's weights: its feature targets are predicted
    once per run);
    ``shuffle`` is how each epoch orders the training rows (``SHUFFLES``); the default
    ``"per_epoch"`` changes run ids, so runs made before it (``"keras"``) are never served for
    new requests.
    ``virtual_teacher`` > 0 distils from Tf-KD's hand-made teacher with that probability on
    the true class (no teacher run). ``precision="mixed_bfloat16"`` computes in bfloat16 with
    float32 weights (about 2× faster on CPUs with AMX/AVX-512-BF16, 16× slower where bfloat16
    is emulated, e.g. on AVX2-only CPUs; see bench/README.md). The profile (``profiles.PROFILES``) is
    not a field: it only chooses these values, so equal settings under two profiles share one
    run.
    """

    model: str
    epochs: int
    seed: int = 0
    teacher: str | None = None
    alpha: float = 0.0
    temperature: float = 1.0
    fraction: float = 1.0
    subset: str = "first"
    val_fraction: float = 0.1
    split_seed: int = 0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    batch_size: int = 32
    schedule: str = "none"
    lr_drop_every: int = 30
    augment: bool = False
    width: float = 1.0
    data: str = "full"
    feature: str = "none"
    feature_weight: float = 0.0
    virtual_teacher: float = 0.0
    precision: str = "float32"
    shuffle: str = "per_epoch"

    def __post_init__(self):
        check_choice("model", self.model, MODELS)
        # 0 and 0.0 must hash alike: store every real-valued field as float.
        for name in ("alpha", "temperature", "fraction", "val_fraction", "learning_rate",
                     "momentum", "width", "feature_weight", "virtual_teacher"):
            object.__setattr__(self, name, check_number(name, getattr(self, name)))
        for name in ("seed", "split_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name}={value!r} must be a non-negative integer")
            object.__setattr__(self, name, int(value))
        for name in ("epochs", "batch_size", "lr_drop_every"):
            object.__setattr__(self, name, check_positive_int(name, getattr(self, name)))
        if self.teacher is not None and (not isinstance(self.teacher, str) or
                                         not self.teacher.strip()):
            raise ValueError(f"teacher={self.teacher!r} must be a run id (a non-empty str) or "
                             f"None; use RunConfig.run_id of the teacher's config")
        check_alpha(self.alpha)
        check_temperature(self.temperature)
        if self.teacher is None and self.alpha != 0.0 and not self.virtual_teacher:
            raise ValueError(f"alpha={self.alpha!r} needs a teacher; without one alpha must be 0")
        check_choice("feature", self.feature, losses.names())
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("shuffle", self.shuffle, SHUFFLES)
        if self.feature != "none" and (self.teacher is None or self.feature_weight <= 0):
            raise ValueError(f"feature={self.feature!r} needs a teacher run and feature_weight > 0")
        if self.feature == "none" and self.feature_weight != 0.0:
            raise ValueError(f"feature_weight={self.feature_weight!r} needs a feature ('at' or 'hint')")
        if self.virtual_teacher and (self.teacher is not None or not 0.1 < self.virtual_teacher <= 1.0):
            raise ValueError(f"virtual_teacher={self.virtual_teacher!r} must be 0 (off) or in "
                             f"(0.1, 1], and excludes a teacher run")
        check_fraction("fraction", self.fraction)
        check_fraction("val_fraction", self.val_fraction, allow_zero=True)
        check_choice("subset", self.subset, ("first", "stratified"))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("data", self.data, DATA)
        if check_number("learning_rate", self.learning_rate) <= 0:
            raise ValueError(f"learning_rate={self.learning_rate!r} must be > 0")
        if not 0.0 <= check_number("momentum", self.momentum) < 1.0:
            raise ValueError(f"momentum={self.momentum!r} is outside the allowed range [0, 1)")
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment={self.augment!r} must be True or False")
        if self.augment and self.teacher is not None:
            raise ValueError("augment=True with a teacher is not supported: cached teacher "
                             "logits are computed on un-augmented images")
        if check_number("width", self.width) <= 0 or (self.width != 1.0 and self.model != "resnet18"):
            raise ValueError(f"width={self.width!r} must be > 0 and is only allowed for 'resnet18'")

    @property
    def dataset(self) -> str:
        return dataset_of(self.model)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            allowed = sorted(f.name for f in dataclasses.fields(cls))
            raise ValueError(f"unknown config keys {unknown}; allowed keys are {allowed}")
        return cls(**{**_MISSING_MEANS, **values})

    @property
    def run_id(self) -> str:
        values = {k: v for k, v in self.to_dict().items()
                  if not (k in _HASH_OMITS and v == _HASH_OMITS[k])}
        canonical = json.dumps(values, sort_keys=True, separators=(",", ":"))
        return f"{self.model}-{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"

    def replace(self, **changes) -> "RunConfig":
        return RunConfig.from_dict({**self.to_dict(), **changes})
