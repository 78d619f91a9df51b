"""Figures of the book: our results drawn beside the paper's."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import paper


def grid_heatmaps(ours: dict, paper_grid, *, title: str, baseline: float | None = None):
    """Two heatmaps, ours (keys (alpha, T) → accuracy %) and the paper's 5×5 grid."""
    alphas = sorted({a for a, _ in ours})
    temps = sorted({t for _, t in ours})
    mine = np.array([[ours[(a, t)] for t in temps] for a in alphas])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    panels = [(axes[0], mine, alphas, temps, "ours"),
              (axes[1], np.array(paper_grid), paper.ALPHAS, paper.TEMPERATURES, "paper")]
    for ax, values, rows, cols, label in panels:
        image = ax.imshow(values, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(cols)), [f"{c:g}" for c in cols])
        ax.set_yticks(range(len(rows)), [f"{r:g}" for r in rows])
        ax.set_xlabel("temperature T")
        ax.set_ylabel("α (weight of the distillation term)")
        ax.set_title(label)
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                ax.text(j, i, f"{values[i, j]:.1f}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(image, ax=ax, label="test accuracy (%)")
    if baseline is not None:
        axes[0].set_title(f"ours (no-KD baseline {baseline:.2f} %)")
    fig.suptitle(title)
    return fig


def curves(x, series: dict, *, xlabel: str, title: str, paper_series: dict | None = None,
           paper_x=None):
    """Lines with ±sd error bars for ours (``{label: (means, sds)}``), dashed for the paper."""
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    for label, (means, sds) in series.items():
        ax.errorbar(x, means, yerr=sds, marker="o", capsize=3, label=f"{label} (ours)")
    for label, values in (paper_series or {}).items():
        ax.plot(paper_x, values, linestyle="--", marker="x", label=f"{label} (paper)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def bars(labels, ours, sds, paper_values, *, title: str):
    """Grouped bars: ours (mean ± sd) beside the paper's single runs."""
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    x = np.arange(len(labels))
    ax.bar(x - 0.2, ours, 0.4, yerr=sds, capsize=3, label="ours")
    ax.bar(x + 0.2, [np.nan if v is None else v for v in paper_values], 0.4, label="paper")
    ax.set_xticks(x, labels)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    low = np.nanmin([*ours, *[v for v in paper_values if v is not None]])
    ax.set_ylim(max(0, low - 10), None)
    return fig
