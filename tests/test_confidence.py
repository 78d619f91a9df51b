"""Confidence measures against scipy, and the direction of a confidence claim."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import softmax
from scipy.stats import entropy

from kdhelpers import confidence

RNG = np.random.default_rng(7)
LOGITS = RNG.normal(scale=3.0, size=(50, 10))


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_measures_equal_an_independent_computation(temperature):
    p = softmax(LOGITS / temperature, axis=1)
    got = confidence.confidence(LOGITS, temperature)
    assert got["top1"] == pytest.approx(p.max(axis=1).mean(), rel=1e-12)
    assert got["entropy"] == pytest.approx(entropy(p, axis=1).mean(), rel=1e-12)


def test_a_higher_temperature_is_less_confident():
    cold, hot = confidence.confidence(LOGITS, 1.0), confidence.confidence(LOGITS, 4.0)
    assert hot["top1"] < cold["top1"] and hot["entropy"] > cold["entropy"]


def run(seed, scale):
    """A stand-in run whose test logits are sharper the larger ``scale``."""
    logits = np.random.default_rng(seed).normal(size=(200, 10)) * scale
    return SimpleNamespace(config=SimpleNamespace(seed=seed), logits=lambda split: logits)


@pytest.mark.parametrize("measure", confidence.MEASURES)
def test_sharper_runs_are_more_confident_on_either_measure(measure):
    sharp = [run(k, 4.0) for k in (1, 2, 3)]
    flat = [run(k, 1.0) for k in (1, 2, 3)]
    claim = confidence.compare_confidence("sharp beats flat", "-", sharp, flat, measure=measure)
    assert claim["paired"] and claim["gain"] > 0 and claim["verdict"] == "holds"
    assert claim["measure"] == measure  # not an accuracy gain: the forest plot keeps it off its axis
    reverse = confidence.compare_confidence("flat beats sharp", "-", flat, sharp, measure=measure)
    assert reverse["gain"] == pytest.approx(-claim["gain"]) and reverse["verdict"] == "does not hold"


def test_one_run_against_several_is_paired_with_each_of_them():
    teacher, students = run(0, 4.0), [run(k, 1.0) for k in (1, 2, 3, 4)]
    claim = confidence.compare_confidence("teacher", "-", [teacher], students)
    top1 = confidence.of_runs(students)["top1"]
    expected = 100 * (confidence.confidence(teacher.logits("test"))["top1"] - np.mean(top1))
    assert claim["paired"] and len(claim["a"]) == 4 and claim["gain"] == pytest.approx(expected)


def test_bad_input_names_the_value_and_what_is_allowed():
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        confidence.confidence(LOGITS, 0)
    with pytest.raises(ValueError, match=r"measure='margin' is not one of \('top1', 'entropy'\)"):
        confidence.compare_confidence("x", "-", [run(1, 1.0)], [run(2, 1.0)], measure="margin")
