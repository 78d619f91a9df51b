"""The committed second trainings (artifacts/backend_check/) against their stored runs."""

import json
from pathlib import Path

import numpy as np
import pytest

from kdhelpers import backend_check
from kdhelpers.store import Store

STORE = Store(Path(__file__).resolve().parents[1] / "artifacts")


def test_every_second_training_pairs_with_a_stored_run_of_the_same_configuration():
    found = backend_check.pairs(STORE)
    assert len(found) == 24
    for p in found:
        second = json.loads((STORE.root / "backend_check" / p["run_id"] / "config.json").read_text())
        assert second == json.loads((STORE.path(p["run_id"]) / "config.json").read_text())
        assert (p["stored"][0], p["second"][0]) == ("tensorflow", "jax")


def test_the_summary_is_the_mean_paired_difference_with_a_t_interval():
    found = backend_check.pairs(STORE)
    diff = np.array([p["second"][1] - p["stored"][1] for p in found])
    result = backend_check.summary(found)
    half = 2.0687 * diff.std(ddof=1) / np.sqrt(len(diff))  # t(0.975, 23)
    assert result["gain"] == pytest.approx(diff.mean())
    assert result["ci95"] == pytest.approx([diff.mean() - half, diff.mean() + half], abs=1e-3)


def test_no_second_trainings_is_an_error_that_names_the_folder(tmp_path):
    with pytest.raises(ValueError, match="backend_check"):
        backend_check.summary(backend_check.pairs(Store(tmp_path)))
