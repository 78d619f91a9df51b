"""Figures of the book: our results drawn beside the paper's."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from . import claims, paper


def grid_heatmaps(ours: dict, paper_grid, *, title: str, baseline: float | None = None,
                  paper_baseline: float | None = paper.STUDENT_BASELINE):
    """Heatmaps of ours (keys (alpha, T) → accuracy %) and the paper's 5×5 grid; with the
    baselines, a second row shows each cell's gain over its own no-KD baseline (pp)."""
    alphas = sorted({a for a, _ in ours})
    temps = sorted({t for _, t in ours})
    mine = np.array([[ours[(a, t)] for t in temps] for a in alphas])
    theirs = np.array(paper_grid)
    gains = baseline is not None and paper_baseline is not None
    # drawn about the text column's width, so that cell labels stay legible on the page
    fig, axes = plt.subplots(2 if gains else 1, 2, figsize=(8, 6.6 if gains else 3.5),
                             constrained_layout=True, squeeze=False)
    # one colour scale for both accuracy panels where their ranges overlap (a colour then means
    # one accuracy on either side); a regime far from the paper's keeps its own scale, or
    # both grids would show one flat colour each
    shared = mine.min() <= theirs.max() and theirs.min() <= mine.max()
    low, high = min(mine.min(), theirs.min()), max(mine.max(), theirs.max())
    # a panel on its own scale says so: one colour is then two accuracies
    own = "" if shared else ", own colour scale"
    panels = [(axes[0, 0], mine, alphas, temps, f"ours: test accuracy (%){own}", "viridis"),
              (axes[0, 1], theirs, paper.ALPHAS, paper.TEMPERATURES,
               f"paper: test accuracy (%){own}", "viridis")]
    if gains:
        limit = max(np.abs(mine - baseline).max(), np.abs(theirs - paper_baseline).max())
        panels += [(axes[1, 0], mine - baseline, alphas, temps,
                    f"ours: gain over no KD ({baseline:.2f} %), pp", "RdBu"),
                   (axes[1, 1], theirs - paper_baseline, paper.ALPHAS, paper.TEMPERATURES,
                    f"paper: gain over no KD ({paper_baseline:.2f} %), pp", "RdBu")]
    for ax, values, rows, cols, label, cmap in panels:
        diverging = cmap == "RdBu"
        lo, hi = (low, high) if shared or diverging else (values.min(), values.max())
        image = ax.imshow(values, cmap=cmap, aspect="auto",
                          **({"vmin": -limit, "vmax": limit} if diverging
                             else {"vmin": lo, "vmax": hi}))
        ax.set_xticks(range(len(cols)), [f"{c:g}" for c in cols])
        ax.set_yticks(range(len(rows)), [f"{r:g}" for r in rows])
        ax.set_xlabel("temperature T")
        ax.set_ylabel("α (weight of the distillation term)")
        ax.set_title(label, fontsize=10)
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                # dark text on light cells: the upper part of viridis is yellow
                light = (abs(values[i, j]) <= 0.6 * limit if diverging
                         else values[i, j] > lo + 0.6 * (hi - lo))
                value = values[i, j] if round(values[i, j], 1) != 0 else 0.0  # never "-0.0"
                # U+2212, as on the colour bar beside it (matplotlib's axes.unicode_minus)
                text = (f"{value:+.1f}" if diverging and value else f"{value:.1f}").replace("-", "\u2212")
                ax.text(j, i, text,
                        ha="center", va="center", fontsize=10, color="k" if light else "w")
        fig.colorbar(image, ax=ax)
    fig.suptitle(f"{title}\n(grid cells: one run each, at the selection seed)")
    return fig


def seed_dots(sides: dict, *, title: str, paper_values: dict | None = None,
              ylabel: str = "test accuracy (%)", paper_label: str = "paper (one run)",
              join: int | None = None):
    """One dot per seed for each side (``{label: [runs]}``), grey lines joining runs of the
    same seed, the mean with its 95 % t-interval, and the paper's value as a star
    (``paper_label`` says what it is: one run, or a mean). The y-axis fits our dots; a paper
    value far outside them is drawn as an arrow at the edge with its number, so that a
    paper in another regime does not squeeze our points into a corner. ``join``: grey lines
    join same-seed runs only within consecutive groups of that many sides (2: each KD side with
    the no-KD side before it), not across groups (e.g. across data fractions); ``None``: all.
    Many sides share a width that fits the text column, with narrower labels."""
    many = len(sides) > 6
    # at most 8 in: the text column shows it at about 690 px, so its text shrinks little
    width = min(8.0, max(4.5, 1.5 * len(sides) + 1.5))
    fig, ax = plt.subplots(figsize=(width, 4), constrained_layout=True)
    by_seed: dict = {}
    values_of = {label: [100 * r.metrics["test_accuracy"] for r in runs] for label, runs in sides.items()}
    interval_of = {label: ci for label, v in values_of.items() if (ci := claims.mean_interval(v))}
    # the axis holds every dot and every interval (a t-interval on few seeds reaches past the dots)
    low = min([min(v) for v in values_of.values()] + [ci[0] for ci in interval_of.values()])
    high = max([max(v) for v in values_of.values()] + [ci[1] for ci in interval_of.values()])
    span = max(high - low, 1.0)
    bottom, top = low - 0.3 * span, high + 0.3 * span
    for x, (label, runs) in enumerate(sides.items()):
        values = values_of[label]
        group = x // join if join else 0
        for run, value in zip(runs, values):
            by_seed.setdefault((group, run.config.seed), []).append((x, value))
        ax.scatter([x] * len(values), values, color="C0", zorder=3, s=22,
                   label="ours, one dot per seed" if x == 0 else None)
        if label in interval_of:
            half = (interval_of[label][1] - interval_of[label][0]) / 2
            ax.errorbar(x + 0.12, np.mean(values), yerr=half, fmt="_", color="C1", capsize=4,
                        markersize=14, label="ours, mean ± 95 % CI" if x == 0 else None)
        value = (paper_values or {}).get(label)
        if value is not None:
            inside = bottom <= value <= top
            legend = paper_label if inside else f"{paper_label}, beyond the axis (value printed)"
            first = not any(t.get_label() == legend for t in ax.collections)
            if inside:
                ax.scatter([x - 0.12], [value], marker="*", s=110, color="C3", zorder=4,
                           label=legend if first else None)
            else:  # beyond our range: a triangle just inside the edge, pointing out, and the number
                inset = 0.04 * (top - bottom)
                edge = top - inset if value > top else bottom + inset
                ax.scatter([x - 0.12], [edge], marker="^" if value > top else "v", s=70,
                           color="C3", zorder=4, label=legend if first else None)
                ax.annotate(f"{value:.1f}".replace("-", "\u2212"), (x - 0.12, edge), xytext=(8, 0), va="center",
                            textcoords="offset points", fontsize=9, color="C3")
    for points in by_seed.values():
        if len(points) > 1:
            xs, ys = zip(*points)
            ax.plot(xs, ys, color="0.75", linewidth=0.8, zorder=1)
    # a number keeps its unit on its line ("5 %" never breaks before the "%")
    ax.set_xticks(range(len(sides)), [textwrap.fill(str(label).replace(" %", "\u00a0%"), 8 if many else 16)
                                      for label in sides], fontsize=9 if many else 10)
    ax.set_xlim(-0.6, len(sides) - 0.4)
    ax.set_ylim(bottom, top)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    # under the tick labels, however many lines they wrap to (the layout makes room for it),
    # in as many columns as the width holds: a legend wider than the figure collapses the layout
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
               fontsize=10 if width >= 8 else 9, ncol=3 if width >= 8 else 2 if width >= 6 else 1,
               frameon=False)
    return fig


def learning_curves(groups: dict, *, title: str):
    """Train and validation accuracy per epoch (each run's ``history.json``): a thin line per
    run and a thick mean per group (``{label: [runs]}``)."""
    # 7.6 in: shown at the text column's ~690 px with little shrinking, so the text stays legible
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.8), constrained_layout=True, sharey=True)
    for color, (label, runs) in enumerate(groups.items()):
        for ax, key in zip(axes, ("accuracy", "val_accuracy")):
            curves_ = [[100 * row[key] for row in r.history if key in row] for r in runs]
            curves_ = [c for c in curves_ if c]
            for curve in curves_:
                ax.plot(range(1, len(curve) + 1), curve, color=f"C{color}", alpha=0.25,
                        linewidth=0.8)
            if curves_:
                length = min(len(c) for c in curves_)
                mean = np.mean([c[:length] for c in curves_], axis=0)
                ax.plot(range(1, length + 1), mean, color=f"C{color}", linewidth=2,
                        label=f"{label} (n={len(curves_)})")
    from matplotlib.ticker import MaxNLocator

    for ax, name in zip(axes, ("training", "validation")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title(f"{name} accuracy")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    # below the panels: long labels inside a panel covered its curves or ran past its edge
    # two columns only where two labels fit the figure's width: a wider legend widens the
    # image, and the page then shrinks all of its text
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=10,
               ncol=2 if len(groups) > 1 and max(map(len, labels)) <= 38 else 1)
    fig.suptitle(title)
    return fig


def curves(x, series: dict, *, xlabel: str, title: str, paper_series: dict | None = None,
           paper_x=None):
    """Lines with ±sd error bars for ours (``{label: (means, sds)}``; ``sds`` ``None``: single
    runs, no bars), dashed for the paper; the legend says which is which."""
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    for label, (means, sds) in series.items():
        ax.errorbar(x, means, yerr=sds, marker="o", capsize=3,
                    label=f"{label} (ours, {'one run' if sds is None else 'mean ± sd'})")
    for label, values in (paper_series or {}).items():
        ax.plot(paper_x, values, linestyle="--", marker="x", label=f"{label} (paper)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return fig


def bars(labels, ours, sds, paper_values, *, title: str):
    """Grouped bars from zero: ours (mean ± sd) beside the paper's single runs, where it has
    them (prefer :func:`seed_dots` for a headline comparison)."""
    fig, ax = plt.subplots(figsize=(max(7, 1.3 * len(labels)), 4), constrained_layout=True)
    x = np.arange(len(labels))
    ax.bar(x - 0.2, ours, 0.4, yerr=sds, capsize=3, label="ours")
    if any(v is not None for v in paper_values):
        ax.bar(x + 0.2, [np.nan if v is None else v for v in paper_values], 0.4, label="paper")
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=9)
    return fig


def paired_gains(pairs: dict, *, title: str, paper_gains: dict | None = None,
                 xlabel: str | None = None, paper_label: str = "paper (one run each side)"):
    """Per-seed gains of one side over the other (``{label: (a_runs, b_runs)}``, the runs of
    each side at the same seeds): a dot per seed at ``a - b`` in pp, the mean with its paired
    95 % t-interval (:func:`kdhelpers.claims.compare`, the interval the claims use), the
    paper's gain as a star and zero as a line. Gains of a few pp stay readable where a plot of
    accuracies spanning many pp would flatten them."""
    labels = list(pairs)
    width = min(8.0, max(4.5, 0.9 * len(labels) + 1.5))
    fig, ax = plt.subplots(figsize=(width, 3.6), constrained_layout=True)
    ax.axhline(0, color="0.3", linewidth=0.8, zorder=1)
    for x, label in enumerate(labels):
        result = claims.compare(*pairs[label])
        if not result["paired"]:
            raise ValueError(f"paired_gains: {label!r} has runs at different seeds on its two sides")
        gains = np.subtract(result["a"], result["b"])
        # ours in orange and the paper in red, as in chapter 3's accuracy figure above it
        ax.scatter([x] * len(gains), gains, color="C1", alpha=0.5, s=22, zorder=3,
                   label="ours, one dot per seed" if x == 0 else None)
        if result["ci95"] is not None:
            ax.errorbar(x + 0.15, result["gain"], yerr=[[result["gain"] - result["ci95"][0]],
                                                        [result["ci95"][1] - result["gain"]]],
                        fmt="_", color="C1", capsize=4, markersize=14,
                        label="ours, mean ± 95 % CI" if x == 0 else None)
        value = (paper_gains or {}).get(label)
        if value is not None:
            first = not any(c.get_label() == paper_label for c in ax.collections)
            ax.scatter([x - 0.15], [value], marker="*", s=110, color="C3", zorder=4,
                       label=paper_label if first else None)
    ax.set_xticks(range(len(labels)), [str(label).replace(" %", "\u00a0%") for label in labels])
    ax.set_xlim(-0.6, len(labels) - 0.4)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel("gain (pp)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=9,
               ncol=3 if width >= 6 else 1, frameon=False)
    return fig
