"""A grid study: the shape shared by experiments 2, 4 and 5.

1. a no-KD baseline over the seeds;
2. an α×T grid of KD students at the selection seed;
3. the best cell, picked on *validation* accuracy (never test), re-run over the evaluation
   seeds, which exclude the selection seed: the run that won the selection never counts;
4. the headline comparison, paired by seed (:mod:`kdhelpers.claims`).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import report
from .experiments import seeded
from .runner import run_grid
from .store import Run, Store


@dataclass(frozen=True)
class GridStudy:
    baseline: list[Run]
    grid: dict  # (alpha, T) -> Run at the first seed
    best: tuple  # (alpha, T) picked on validation
    best_runs: list[Run]  # the best cell over the evaluation seeds (never the selection seed)

    @property
    def stats(self) -> dict:
        return {"baseline": report.mean_sd(self.baseline), "best": report.mean_sd(self.best_runs)}

    @property
    def runs(self) -> list[Run]:
        """Every run behind the study (its cost)."""
        return [*self.baseline, *self.grid.values(), *self.best_runs]

    def cells(self) -> dict:
        """(alpha, T) -> test accuracy % of each grid cell (single runs)."""
        return {key: report.accuracy(run) for key, run in self.grid.items()}


def run_grid_study(runs: dict, seeds, store: Store | None = None) -> GridStudy:
    """Run ``runs["baseline"]`` and ``runs["grid"]`` (as built by ``experiments.exp2/4/5``),
    then the validation-best cell over ``seeds``; finished runs are loaded, not retrained."""
    baseline = run_grid(runs["baseline"], store, progress=False)
    grid = dict(zip(runs["grid"], run_grid(runs["grid"].values(), store, progress=False)))
    best = report.best_cell(grid)
    best_runs = run_grid(seeded(runs["grid"][best], seeds), store, progress=False)
    return GridStudy(baseline, grid, best, best_runs)
