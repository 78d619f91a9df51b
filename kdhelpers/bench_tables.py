"""The benchmark's tables for the book's Performance page (:mod:`kdhelpers.bench` measures;
this module only renders what it stored): the latest measurement with the lines under it
that say which targets it meets and which rounds snapped, and the table of one case under
several speed settings."""

from __future__ import annotations

import re

from .report import markdown_lines

def _settings(results: dict) -> str:
    settings = results.get("machine", {}).get("environment", {})
    return ", ".join(f"`{k}={v}`" for k, v in sorted(settings.items())) or "backend defaults"


def markdown(results: dict) -> str:
    peak = results["peak"]
    lines = [f"Machine: {peak['cpu']}, {peak['cores']} cores at {peak['ghz']:.2f} GHz, "
             f"estimated fp32 peak {peak['gflops']:.0f} GFLOP/s, "
             f"{'native' if peak.get('native_bf16') else 'no native'} bfloat16; Keras "
             f"{results['versions']['keras']} on {results['versions']['backend']}; batch "
             f"{results['batch']}, {results['images']} images per measurement, median of "
             f"{results['rounds']} interleaved rounds; settings: {_settings(results)}; "
             f"{results['created']}.", "",
             ]
    rows, skipped, bf16 = [], {}, []
    for dataset, pair in results["pairs"].items():
        for name, row in pair["cases"].items():
            if "skipped" in row:
                # said once under the table, not as a row of empty cells
                skipped.setdefault((name, row["skipped"]), []).append(dataset)
            else:
                # the slowest round shows the passes that snap to a longer time (performance.md)
                slowest = (f"{results['images'] / max(row['all_s']):.0f}" if row.get("all_s") else "")
                rows.append([dataset, name, f"{row['images_per_s']:.0f}",
                             f"{row['best_images_per_s']:.0f}", slowest,
                             f"{100 * row['peak_fraction']:.1f}"])
        if pair["keras_bf16_vs_torch"] is not None:
            bf16.append(f"{dataset} {pair['keras_bf16_vs_torch']:.2f}×")
    lines += markdown_lines(["pair", "case", "images/s (median)", "images/s (best round)",
                             "images/s (slowest round)", "% of fp32 peak (median)"], rows)
    lines += ["", targets_text(results)]
    if bf16:
        lines += ["", f"Keras mixed bfloat16 / PyTorch float32 training: {', '.join(bf16)}."]
    for (name, why), datasets in skipped.items():
        # a command-line flag as code: as prose, Sphinx's smart quotes print "--bf16" with an en dash
        note = re.sub(r"(?<![`\w])(--[a-z][\w-]*)", r"`\1`", why)
        lines += ["", f"Not measured: {name} on {' and '.join(datasets)}: {note}."]
    return "\n".join(lines) + "\n\n" + slow_rounds_text(results) + "\n"


def slow_rounds_text(results: dict, slow: float = 0.6, fast: float = 1.4) -> str:
    """One sentence under the table on the passes that snap to a longer time (the Performance
    page's "oddity"): the cases with a round below ``slow`` × their median speed, and those
    whose best round beats the median by more than ``fast`` × (most rounds snapped there)."""
    snapped, hit = [], []
    for dataset, pair in results["pairs"].items():
        for name, row in pair["cases"].items():
            if not row.get("all_s"):
                continue
            if results["images"] / max(row["all_s"]) < slow * row["images_per_s"]:
                snapped.append(f"{dataset} {name}")
            if row["best_images_per_s"] > fast * row["images_per_s"]:
                hit.append(f"{dataset} {name}")
    return (f"Rounds slower than {slow:.1f}× their case's median speed: {', '.join(snapped) or 'none'}. "
            f"Best round faster than {fast:.1f}× the median: {', '.join(hit) or 'none'}.")


TARGETS = {"cached_vs_plain": ("cached KD / plain training", 0.90),
           "keras_vs_torch": ("Keras / PyTorch training", 1.00)}


def targets_text(results: dict) -> str:
    """One sentence under the table: each target, and on which pairs this run meets it (the
    Performance page says where they stand from this line, not from numbers typed beside it)."""
    parts = []
    for key, (name, target) in TARGETS.items():
        ratios = {dataset: pair[key] for dataset, pair in results["pairs"].items()}
        met = [f"{d} ({r:.2f}×)" for d, r in ratios.items() if r is not None and r >= target]
        missed = [f"{d} ({r:.2f}×)" for d, r in ratios.items() if r is not None and r < target]
        unmeasured = [d for d, r in ratios.items() if r is None]
        said = ([f"met on {' and '.join(met)}"] if met else []) + ([f"missed on {' and '.join(missed)}"] if missed else []) \
            + ([f"not measured on {' and '.join(unmeasured)}"] if unmeasured else [])
        parts.append(f"*{name}* ≥\u00a0{target:.2f}: {', '.join(said) or 'no pair measured'}")
    return "Targets in this run: " + "; ".join(parts) + "."


def settings_markdown(named: dict) -> str:
    """The same benchmark run under several speed settings, back to back on one machine
    (``named``: each results file's name to its results, in the order run): the CIFAR
    student's training speed under each, against the first row's and against the PyTorch peer
    timed in the same run. The Performance page quotes it where it says what oneDNN and the
    JAX backend change; narrow enough for a laptop's text column."""
    rows, first = [], None
    for results in named.values():
        cases = results["pairs"]["cifar10"]["cases"]
        keras_rate = cases["student training"]["images_per_s"]
        torch_rate = cases["student training, PyTorch peer"].get("images_per_s")
        first = keras_rate if first is None else first
        rows.append([f"{results['versions']['backend']}, {_settings(results)}",
                     f"{keras_rate:.0f}", f"{keras_rate / first:.2f}×",
                     "n/a" if torch_rate is None else f"{torch_rate:.0f}",
                     "n/a" if torch_rate is None else f"{keras_rate / torch_rate:.2f}×"])
    lines = markdown_lines(["backend, settings", "images/s", "against row 1", "PyTorch, images/s",
                            "Keras / PyTorch"], rows)
    files = ", ".join(f"`{name}`" for name in named)
    return "\n".join(lines) + (f"\n\nCIFAR student training, median images/s; the PyTorch peer timed in the "
                              f"same run. From the results files {files}, in that order.\n")
