"""How confident a network's predictions are, from its stored logits: the paper's explanation
of its temperature results, measured without training anything.

The paper explains which temperature worked by the teacher's confidence: the ResNet-18
teacher is "highly confident", so a high T helps (its experiment 2); a plain student as
teacher is less confident, so a low T does (experiment 4); a distilled student is "more
confident" than a normal one, so T 4 suits it (experiment 5). Two measures per image,
averaged over a run's images:

* top-1 probability, :math:`\\max_k \\operatorname{softmax}(z / T)_k`;
* entropy in nats, :math:`-\\sum_k p_k \\log p_k` with :math:`p = \\operatorname{softmax}(z / T)`.

A run is one value (its mean over images); claims compare runs over seeds
(:func:`compare_confidence`), so their CIs are over seeds, not images.
"""

from __future__ import annotations

import numpy as np

from . import claims

MEASURES = ("top1", "entropy")


def probabilities(logits, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``, in float64 (scipy's, numerically stable)."""
    from scipy.special import softmax

    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return softmax(np.asarray(logits, dtype="float64") / temperature, axis=1)


def confidence(logits, temperature: float = 1.0) -> dict:
    """``{"top1": mean top-1 probability, "entropy": mean entropy (nats)}`` over the rows."""
    p = probabilities(logits, temperature)
    entropy = -(p * np.log(np.clip(p, 1e-300, None))).sum(axis=1)
    return {"top1": float(p.max(axis=1).mean()), "entropy": float(entropy.mean())}


def of_runs(runs, split: str = "test", temperature: float = 1.0) -> dict:
    """``{measure: [value per run]}`` from each run's stored ``split`` logits."""
    values = [confidence(run.logits(split), temperature) for run in runs]
    return {m: [v[m] for v in values] for m in MEASURES}


def compare_confidence(text: str, paper: str, more, less, *, measure: str = "top1",
                       split: str = "test", paired: bool | None = None) -> dict:
    """A claim that ``more`` (runs) are more confident than ``less``: the gain in ``measure``
    (top-1 probability in percentage points; for entropy, ``less``'s minus ``more``'s, in
    nats, so that a positive gain always means "more confident"). Runs with the same seeds
    in the same order are paired; a single run on one side is taken as fixed (each seed of
    the other side is paired with it), so the CI is over the other side's seeds."""
    if measure not in MEASURES:
        raise ValueError(f"measure={measure!r} is not one of {MEASURES}")
    a, b = of_runs(more, split)[measure], of_runs(less, split)[measure]
    if len(a) == 1 and len(b) > 1:
        a, paired = a * len(b), True
    elif len(b) == 1 and len(a) > 1:
        b, paired = b * len(a), True
    elif paired is None:
        paired = [r.config.seed for r in more] == [r.config.seed for r in less]
    if measure == "top1":
        result = claims.claim(text, paper, [100 * v for v in a], [100 * v for v in b],
                              paired=paired)
    else:
        result = claims.claim(text, paper, b, a, paired=paired, unit="nats")  # lower: more confident
        result["ours"] = (f"entropy {np.mean(a):.3f} vs {np.mean(b):.3f} nats: "
                          f"{result['gain']:.3f} lower, 95 % CI {claims.interval_text(result['ci95'], 3)}")
    # not an accuracy gain: the forest plot writes it in its row instead of on the accuracy axis
    result["measure"] = measure
    return result
