"""Training/inference throughput benchmark: ``python -m kdhelpers.bench``.

For the MNIST pair and the CIFAR pair it measures images/s of

1. plain student training (``fit``),
2. KD with the teacher run on the fly (``DistillationModel(student, teacher)``),
3. KD from cached teacher logits (what the runner does),
4. the same student trained in PyTorch on the CPU, as a peer (skipped without torch),
5. evaluation (``predict``) of the student,
6. student training in mixed bfloat16 (by default only on CPUs with native bfloat16 units),

interleaved round by round in one process (so drifts in machine speed hit every case
alike), warm-up excluded, reporting the median over rounds, and the fraction of the
machine's estimated fp32 peak that each training case reaches. Prints a table, writes JSON
(``--json``) and a Markdown table for the book (``--markdown``). Speed is reported, never
asserted: timings on a shared 2-core machine vary by tens of percent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path

import keras
import numpy as np

from . import provenance
from .distill import DistillationModel
from .bench_tables import markdown, settings_markdown
from .models import INPUT_SHAPES, build_model

PAIRS = {"mnist": ("mnist_teacher", "mnist_student"), "cifar10": ("resnet18", "cifar_student")}


def forward_flops(model) -> float:
    """Multiply-adds ×2 of the Conv2D and Dense layers for one image (the bulk of the work)."""
    total = 0.0
    for layer in _flat_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2.0 * h * w * kh * kw * layer.input.shape[-1] * c_out
        elif isinstance(layer, keras.layers.Dense):
            total += 2.0 * layer.input.shape[-1] * layer.units
    return total


def _flat_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _flat_layers(layer)
        else:
            yield layer


def estimate_peak_flops() -> dict:
    """fp32 peak = cores × clock × FMA units (assumed 2) × SIMD lanes × 2, from /proc/cpuinfo."""
    cores = os.cpu_count() or 1
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    flags = set(re.search(r"^flags\s*:(.*)$", info, re.M).group(1).split()) if "flags" in info else set()
    mhz = re.search(r"^cpu MHz\s*:\s*([\d.]+)", info, re.M)
    ghz = float(mhz.group(1)) / 1000 if mhz else 2.5
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    peak = cores * ghz * 1e9 * 2 * lanes * 2
    return {"gflops": peak / 1e9, "cores": cores, "ghz": ghz, "simd_fp32_lanes": lanes,
            "cpu": provenance.cpu_model(),
            # without these, bfloat16 matrix products are emulated (16x slower on AVX2 here)
            "native_bf16": bool(flags & {"avx512_bf16", "amx_bf16"})}


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


BF16 = "student training, mixed bfloat16"


def keras_cases(dataset: str, images: int, batch: int, teacher_width: float, bf16: bool = True):
    """Callables that each process ``images`` images once, keyed by case name."""
    teacher_name, student_name = PAIRS[dataset]
    rng = np.random.default_rng(0)
    x = rng.random((images, *INPUT_SHAPES[dataset]), dtype="float32")
    y = rng.integers(0, 10, images).astype("int32")
    kwargs = {"width": teacher_width} if teacher_name == "resnet18" else {}
    teacher = build_model(teacher_name, **kwargs)
    logits = np.asarray(teacher.predict(x, batch_size=256, verbose=0))
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    plain = build_model(student_name)
    plain.compile(keras.optimizers.Adam(1e-3), ce)
    on_the_fly = DistillationModel(build_model(student_name), teacher, alpha=0.5, temperature=4.0)
    on_the_fly.compile(keras.optimizers.Adam(1e-3))
    cached = DistillationModel(build_model(student_name), None, alpha=0.5, temperature=4.0)
    cached.compile(keras.optimizers.Adam(1e-3))
    fit = dict(batch_size=batch, epochs=1, verbose=0, shuffle=True)
    cases = {
        "student training": lambda: plain.fit(x, y, **fit),
        "KD, teacher on the fly": lambda: on_the_fly.fit(x, y, **fit),
        "KD, cached teacher logits": lambda: cached.fit({"images": x, "teacher_logits": logits}, y, **fit),
        "student evaluation": lambda: plain.predict(x, batch_size=256, verbose=0),
    }
    if bf16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            bf16_model = build_model(student_name)
            bf16_model.compile(keras.optimizers.Adam(1e-3), ce)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        cases[BF16] = lambda: bf16_model.fit(x, y, **fit)
    return cases, {"student": forward_flops(plain), "teacher": forward_flops(teacher)}


def run(datasets=("mnist", "cifar10"), images=1024, batch=128, rounds=5, teacher_width=1.0,
        bf16=None):
    """``bf16=None``: time mixed bfloat16 only where the CPU has native bfloat16 units."""
    from . import bench_torch

    peak = estimate_peak_flops()
    bf16 = peak["native_bf16"] if bf16 is None else bf16
    results = {"peak": peak, "images": images, "batch": batch, "rounds": rounds,
               "teacher_width": teacher_width, **provenance.record(), "pairs": {}}
    for dataset in datasets:
        cases, flops = keras_cases(dataset, images, batch, teacher_width, bf16)
        torch_case, torch_note = bench_torch.student_training_case(dataset, images, batch)
        if torch_case is not None:
            cases["student training, PyTorch peer"] = torch_case
        for fn in cases.values():  # warm-up: tracing, allocation, thread pools
            fn()
        seconds = {name: [] for name in cases}
        for _ in range(rounds):
            for name, fn in cases.items():
                seconds[name].append(_time(fn))
        rows = {}
        for name, times in seconds.items():
            rate = images / statistics.median(times)
            # training ≈ 3× forward (forward, input gradients, weight gradients)
            per_image = {"student training": 3 * flops["student"],
                         BF16: 3 * flops["student"],
                         "student training, PyTorch peer": 3 * flops["student"],
                         "KD, cached teacher logits": 3 * flops["student"],
                         "KD, teacher on the fly": 3 * flops["student"] + flops["teacher"],
                         "student evaluation": flops["student"]}[name]
            rows[name] = {"images_per_s": rate, "best_images_per_s": images / min(times),
                          "median_s": statistics.median(times),
                          "all_s": times, "peak_fraction": rate * per_image / (peak["gflops"] * 1e9)}
        if torch_case is None:
            rows["student training, PyTorch peer"] = {"skipped": torch_note}
        if not bf16:
            rows[BF16] = {"skipped": "no native bfloat16 on this CPU (emulated it is far slower; "
                                     "--bf16 times it anyway)"}
        base = rows["student training"]["images_per_s"]
        results["pairs"][dataset] = {
            "cases": rows, "flops_per_image": flops,
            "cached_vs_plain": rows["KD, cached teacher logits"]["images_per_s"] / base,
            "keras_vs_torch": (base / rows["student training, PyTorch peer"]["images_per_s"]
                               if "images_per_s" in rows["student training, PyTorch peer"] else None),
            "keras_bf16_vs_torch": (rows[BF16]["images_per_s"]
                                    / rows["student training, PyTorch peer"]["images_per_s"]
                                    if "images_per_s" in rows["student training, PyTorch peer"]
                                    and "images_per_s" in rows[BF16] else None),
        }
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdhelpers.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist", "cifar10"], choices=list(PAIRS))
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--teacher-width", type=float, default=1.0,
                        help="width multiplier of the CIFAR ResNet-18 teacher (1 = the paper's)")
    parser.add_argument("--json", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--markdown", type=Path, default=Path("book/performance_table.md"))
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                        help="time mixed-bfloat16 training (default: only on CPUs with native "
                             "bfloat16 units)")
    parser.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                        help="measure nothing: write --markdown from a results file this "
                             "benchmark wrote before (after a change to the table's layout)")
    parser.add_argument("--render-settings", type=Path, nargs="+", metavar="RESULTS_JSON",
                        help="measure nothing: write --settings-markdown, the CIFAR student's "
                             "training speed under each of these results files' settings")
    parser.add_argument("--settings-markdown", type=Path, default=Path("book/performance_settings.md"))
    args = parser.parse_args(argv)
    if args.render_settings:
        args.settings_markdown.write_text(settings_markdown(
            {path.name: json.loads(path.read_text()) for path in args.render_settings}))
        return 0
    if args.render:
        args.markdown.write_text(markdown(json.loads(args.render.read_text())))
        return 0
    results = run(args.datasets, args.images, args.batch, args.rounds, args.teacher_width,
                  args.bf16)
    table = markdown(results)
    print(table)
    for path, text in ((args.json, json.dumps(results, indent=1, default=str) + "\n"),
                       (args.markdown, table)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
