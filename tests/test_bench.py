"""The benchmark's arithmetic (never its speed: that is reported, not asserted)."""

import json

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
    results = bench.run(datasets=("mnist",), images=64, batch=32, rounds=1, bf16=False)
    cases = results["pairs"]["mnist"]["cases"]
    assert {"student training", "KD, teacher on the fly", "KD, cached teacher logits",
            "student evaluation", "student training, PyTorch peer"} <= set(cases)
    assert cases["student training"]["images_per_s"] > 0
    table = bench.markdown(results)
    assert "| mnist | student training |" in table and "cached KD / plain training" in table
    assert "bfloat16;" in table and "settings:" in table
    assert "native bfloat16" in cases[bench.BF16]["skipped"]
    assert "Not measured: student training, mixed bfloat16 on mnist: no native bfloat16" in table
    assert "`--bf16` times it anyway" in table  # a flag as code, not prose with an en dash
    # --render writes the same table from the stored results, measuring nothing
    stored, rendered = tmp_path / "results.json", tmp_path / "table.md"
    stored.write_text(json.dumps(results, default=str))
    assert bench.main(["--render", str(stored), "--markdown", str(rendered)]) == 0
    assert rendered.read_text() == table


def test_table_names_the_speed_settings_it_ran_under():
    results = {"peak": {"cpu": "x", "cores": 2, "ghz": 2.0, "gflops": 128.0, "native_bf16": False},
               "versions": {"keras": "3", "backend": "tensorflow"}, "batch": 8, "images": 8,
               "rounds": 1, "created": "now", "pairs": {},
               "machine": {"environment": {"TF_ENABLE_ONEDNN_OPTS": "1", "OMP_NUM_THREADS": "2"}}}
    table = bench.markdown(results)
    assert "`OMP_NUM_THREADS=2`, `TF_ENABLE_ONEDNN_OPTS=1`" in table
    assert "no native bfloat16" in table


def test_table_shows_the_slowest_round_beside_the_median_and_the_best():
    # the passes that snap to a longer time (performance.md, "An oddity") show in this column
    case = {"images_per_s": 4.0, "best_images_per_s": 8.0, "all_s": [1.0, 2.0, 4.0], "peak_fraction": 0.5}
    results = {"peak": {"cpu": "x", "cores": 2, "ghz": 2.0, "gflops": 128.0, "native_bf16": False},
               "versions": {"keras": "3", "backend": "tensorflow"}, "batch": 8, "images": 8,
               "rounds": 3, "created": "now", "machine": {},
               "pairs": {"cifar10": {"cases": {"student training": case}, "cached_vs_plain": 1.0,
                                     "keras_vs_torch": None, "keras_bf16_vs_torch": None}}}
    table = bench.markdown(results)
    assert "| images/s (median) | images/s (best round) | images/s (slowest round) |" in table
    assert "| cifar10 | student training | 4 | 8 | 2 | 50.0 |" in table
    assert "≥\u00a00.90:" in table  # a target never breaks from its sign
    # the slowest round (2 images/s) is below 0.6 × the median (4), the best (8) above 1.4 × it
    assert "Rounds slower than 0.6× their case's median speed: cifar10 student training." in table
    assert "Best round faster than 1.4× the median: cifar10 student training." in table


def test_targets_line_says_on_which_pairs_each_target_is_met():
    results = {"peak": {"cpu": "x", "cores": 2, "ghz": 2.0, "gflops": 128.0, "native_bf16": False},
               "versions": {"keras": "3", "backend": "tensorflow"}, "batch": 8, "images": 8,
               "rounds": 1, "created": "now", "machine": {},
               "pairs": {"mnist": {"cases": {}, "cached_vs_plain": 0.89, "keras_vs_torch": 1.5,
                                   "keras_bf16_vs_torch": None},
                         "cifar10": {"cases": {}, "cached_vs_plain": 0.90, "keras_vs_torch": None,
                                     "keras_bf16_vs_torch": None}}}
    line = next(line for line in bench.markdown(results).splitlines() if line.startswith("Targets"))
    assert line == ("Targets in this run: *cached KD / plain training* ≥\u00a00.90: met on cifar10 (0.90×), "
                    "missed on mnist (0.89×); *Keras / PyTorch training* ≥\u00a01.00: met on mnist (1.50×), "
                    "not measured on cifar10.")
    results["pairs"]["mnist"]["keras_bf16_vs_torch"] = 0.5  # said only where measured
    assert "Keras mixed bfloat16 / PyTorch float32 training: mnist 0.50×." in bench.markdown(results)


@pytest.mark.parametrize("given, expected", [(None, "1"), ("0", "0")])
def test_importing_kdhelpers_turns_on_onednn_unless_told_otherwise(given, expected, keras_stub_env):
    import subprocess
    import sys

    # the variable must be set before Keras (and TensorFlow under it) is imported: the stand-in
    # Keras records it at its import
    env = {k: v for k, v in keras_stub_env.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if given is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = given
    code = "import kdhelpers, keras; print(keras.ONEDNN_AT_IMPORT)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == expected


def test_machine_record_lists_the_speed_settings(monkeypatch):
    from kdhelpers import provenance

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    machine = provenance.machine()
    assert machine["cpu"]  # the model name (e.g. "AMD EPYC"), so timings can be compared
    settings = machine["environment"]
    assert settings["OMP_NUM_THREADS"] == "3" and "XLA_FLAGS" not in settings


def test_settings_table_sets_each_setting_against_the_first_and_against_pytorch(tmp_path):
    def results(backend, onednn, keras_rate, torch_rate):
        return {"versions": {"backend": backend}, "machine": {"environment": {"TF_ENABLE_ONEDNN_OPTS": onednn}},
                "pairs": {"cifar10": {"cases": {"student training": {"images_per_s": keras_rate},
                                                "student training, PyTorch peer": {"images_per_s": torch_rate}}}}}
    off, on = tmp_path / "off.json", tmp_path / "on.json"
    off.write_text(json.dumps(results("tensorflow", "0", 200.0, 400.0)))
    on.write_text(json.dumps(results("tensorflow", "1", 500.0, 400.0)))
    out = tmp_path / "settings.md"
    assert bench.main(["--render-settings", str(off), str(on), "--settings-markdown", str(out)]) == 0
    table = out.read_text()
    assert "| tensorflow, `TF_ENABLE_ONEDNN_OPTS=0` | 200 | 1.00× | 400 | 0.50× |" in table
    assert "| tensorflow, `TF_ENABLE_ONEDNN_OPTS=1` | 500 | 2.50× | 400 | 1.25× |" in table
    assert "From the results files `off.json`, `on.json`, in that order." in table


def test_workers_table_renders_the_stored_measurement(tmp_path):
    from kdhelpers import bench_workers

    result = {"images_per_s": {"one process, default threads": 300.0, "2 processes, 1 thread(s) each": 330.0},
              "ratio": 1.1, "training_images_per_s": {"one process, default threads": 400.0,
                                                      "2 processes, 1 thread(s) each": 500.0},
              "training_ratio": 1.25, "runs": 4, "epochs": 4, "workers": 2, "cpu": "AMD EPYC", "cores": 2,
              "created": "then"}
    stored, rendered = tmp_path / "workers.json", tmp_path / "workers.md"
    stored.write_text(json.dumps(result))
    assert bench_workers.main(["--render", str(stored), "--markdown", str(rendered)]) == 0
    table = rendered.read_text()
    assert "| images/s during training epochs | 400 | 500 | 1.25× |" in table
    assert "| images/s over whole 4-epoch runs | 300 | 330 | 1.10× |" in table
    assert "one process, default threads | 2 processes, 1 thread(s) each | ratio |" in table
