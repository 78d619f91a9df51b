"""The benchmark's arithmetic (never its speed: that is reported, not asserted)."""

import keras
import pytest

from kdhelpers import bench


def test_forward_flops_of_a_known_model():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    conv = 2 * 8 * 8 * 3 * 3 * 3 * 4
    dense = 2 * (8 * 8 * 4) * 10
    assert bench.forward_flops(model) == conv + dense


def test_peak_estimate_is_positive_and_explained():
    peak = bench.estimate_peak_flops()
    assert peak["gflops"] > 0 and peak["cores"] >= 1 and peak["simd_fp32_lanes"] in (4, 8, 16)
    assert peak["gflops"] == pytest.approx(
        peak["cores"] * peak["ghz"] * 2 * peak["simd_fp32_lanes"] * 2)


def test_tiny_benchmark_runs_and_renders(tmp_path):
    results = bench.run(datasets=("mnist",), images=64, batch=32, rounds=1)
    cases = results["pairs"]["mnist"]["cases"]
    assert {"student training", "KD, teacher on the fly", "KD, cached teacher logits",
            "student evaluation", "student training, PyTorch peer"} <= set(cases)
    assert cases["student training"]["images_per_s"] > 0
    table = bench.markdown(results)
    assert "| mnist | student training |" in table and "cached KD / plain training" in table
