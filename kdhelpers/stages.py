"""How a chapter's runs come, declared once per chapter (its ``stages`` in
:mod:`kdhelpers.chapters`) and followed by :func:`kdhelpers.program.plan` and ``train``.

A chapter's runs come in stages: what its builder names from the settings alone, then what
depends on a choice made on validation at the selection seed, never on test accuracy.

* :class:`Fixed`: every run follows from the settings (chapters 1 and 3).
* :class:`GridThenSeeds`: a grid of cells at the selection seed; its validation-best cell is
  then run over the evaluation seeds (chapters 2, 4, 5). ``label_free_row``: also the best
  cell of the row α = max(alphas), which a claim about KD without labels needs (chapter 2).
* :class:`ProbesThenRuns`: one probe per size, whose validation curve picks that size's
  epochs; then every run with them (chapter 6).
* :class:`TuneThenMethods`: a weight grid per method at the selection seed; then every
  method over the evaluation seeds with the picked weights (chapter 7). A method's runs wait
  while a weight they use is open: its grid still trains, or its pick sits on the grid's edge
  (``plan`` then says which grid to extend); the runs that use no open weight train at once.

``plan(chapter, settings, store)`` returns a :class:`ChapterPlan`: the runs known now
(finished or not) and, for a choice not made yet, a label and the runs that stand for what
will follow it (the same number of runs; their settings may change with the choice).
Functions are named by their name in :mod:`kdhelpers.experiments` or given as callables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class ChapterPlan:
    """The runs a chapter needs now, and the runs that will follow choices not yet made."""

    experiment: str
    runs: list
    pending: list[tuple[str, list]] = field(default_factory=list)


def function(ref: str | Callable) -> Callable:
    """A builder given by name (a function of :mod:`kdhelpers.experiments`) or as itself."""
    if callable(ref):
        return ref
    from . import experiments

    return getattr(experiments, ref)


def flatten(value) -> list:
    """Every RunConfig in a chapter builder's nested dicts and lists, in order."""
    from .config import RunConfig

    if isinstance(value, RunConfig):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [config for item in value for config in flatten(item)]


def _loaded(configs: dict, store) -> dict | None:
    """``{key: Run}`` if every config of the mapping is finished, else ``None``."""
    if not all(store.exists(c.run_id) for c in configs.values()):
        return None
    return {key: store.load(c.run_id) for key, c in configs.items()}


def _validation_so_far(tuning: dict, store) -> str:
    """The finished tuning runs' validation accuracies, ``"FitNets hint 10: 87.82 %; ..."``:
    where each grid stands while some of its candidates still train."""
    from .report import accuracy

    done = [f"{name} {w:g}: {accuracy(store.load(c.run_id), split='val'):.2f} %"
            for name, by_weight in tuning.items() for w, c in sorted(by_weight.items())
            if store.exists(c.run_id)]
    return "; ".join(done)


def _best_cell(runs: dict):
    from .report import best_cell

    return best_cell(runs)


@dataclass(frozen=True)
class Fixed:
    def plan(self, chapter, s: dict, store) -> ChapterPlan:
        return ChapterPlan(chapter.key, flatten(chapter.build(s)))


@dataclass(frozen=True)
class GridThenSeeds:
    """The builder returns ``{"grid": {(alpha, T): config}, ...}``; the rest is fixed."""

    label_free_row: bool = False

    def plan(self, chapter, s: dict, store) -> ChapterPlan:
        from .experiments import seeded

        built = chapter.build(s)
        fixed = [c for key, c in built.items() if key != "grid" for c in flatten(c)]
        runs = fixed + list(built["grid"].values())
        grid = _loaded(built["grid"], store)
        if grid is None:
            example = next(iter(built["grid"].values()))
            also = " (and the label-free row's, when it is another cell)" if self.label_free_row else ""
            return ChapterPlan(chapter.key, runs, [(
                f"the validation-best cell over the evaluation seeds, once the grid is done{also}",
                seeded(example, s["seeds"]))])
        picks = [_best_cell(grid)]
        if self.label_free_row:  # that row's own pick (its claim), also on validation
            top = max(s["alphas"])
            picks.append(_best_cell({k: r for k, r in grid.items() if k[0] == top}))
        return ChapterPlan(chapter.key, runs + [c for key in picks
                                                for c in seeded(built["grid"][key], s["seeds"])])


@dataclass(frozen=True)
class ProbesThenRuns:
    """``probes(settings)`` gives ``{size: config}`` (``{}`` when the profile fixes the
    epochs); ``pick({size: Run})`` gives ``{size: epochs}``; the builder takes
    ``(settings, {size: epochs})``. ``size_label`` names a size in the plan's text."""

    probes: str | Callable
    pick: str | Callable
    size_label: str = "size {}"

    def plan(self, chapter, s: dict, store) -> ChapterPlan:
        probes = function(self.probes)(s)
        if not probes:
            return ChapterPlan(chapter.key, flatten(chapter.build(s)))
        picked = function(self.pick)({n: store.load(c.run_id) for n, c in probes.items()
                                      if store.exists(c.run_id)})
        if len(picked) < len(probes):  # the probes' length stands for the sizes still probing
            epochs = {n: s["probe_epochs"] for n in probes} | picked
            so_far = ", ".join(f"{self.size_label.format(n)} {picked[n]} epochs"
                               for n in sorted(picked)) or "none"
            return ChapterPlan(chapter.key, list(probes.values()), [(
                "every run of the chapter, once the probes have picked each size's epochs "
                f"(picked so far: {so_far}; the other sizes counted at the probes' length: at "
                "most this)", flatten(chapter.build(s, epochs)))])
        return ChapterPlan(chapter.key, list(probes.values()) + flatten(chapter.build(s, picked)))


@dataclass(frozen=True)
class TuneThenMethods:
    """The builder returns ``{"teacher": config, "tuning": {method: {weight: config}}}``, the
    candidates of each tuned method; ``weights`` pairs each tuned method with the keyword of
    ``methods`` that takes its pick; ``methods(settings, **picks)`` gives every method's
    runs over the evaluation seeds. A run of ``methods`` that does not change with an open
    weight (built with two of its candidates, the same run id) does not wait for it."""

    methods: str | Callable
    weights: tuple[tuple[str, str], ...]  # (method, keyword)

    def plan(self, chapter, s: dict, store) -> ChapterPlan:
        from .report import edge_picks

        built = chapter.build(s)
        runs = flatten(built)
        methods = function(self.methods)
        settled, stand_in, other, unfinished, edges = {}, {}, {}, False, []
        for name, keyword in self.weights:
            candidates = list(built["tuning"][name])
            loaded = _loaded(built["tuning"][name], store)
            if loaded is not None:
                pick = _best_cell(loaded)
                edge = edge_picks({name: loaded}, {name: pick})
                if not edge:
                    settled[keyword] = pick
                    continue
                edges += edge
            else:
                unfinished, pick = True, candidates[0]
            # the weight is open: its runs are counted at the pick so far (or a candidate),
            # and a second candidate tells them from the runs that do not use it
            stand_in[keyword] = pick
            other[keyword] = next((c for c in candidates if c != pick), pick)
        if not stand_in:
            return ChapterPlan(chapter.key, runs + flatten(methods(s, **settled)))
        # a method run whose settings hold no open weight (the virtual teacher's; the
        # attention-transfer runs once that grid has its pick) is the same run whatever the
        # open weight becomes: it trains now instead of waiting for the grid
        counted = flatten(methods(s, **settled, **stand_in))
        varied = {c.run_id for c in flatten(methods(s, **settled, **other))}
        ready = [c for c in counted if c.run_id in varied]
        waiting = [c for c in counted if c.run_id not in varied]
        if not waiting:
            return ChapterPlan(chapter.key, runs + ready)
        reasons = []
        if unfinished:
            so_far = _validation_so_far(built["tuning"], store)
            reasons.append("once the weights are picked"
                           + (f" (validation so far, best epoch: {so_far})" if so_far else ""))
        if edges:  # the evaluation runs wait for a grid that holds its pick inside it
            reasons.append("once the grid is extended in kdhelpers/profiles.py (" + "; ".join(edges) + ")")
        return ChapterPlan(chapter.key, runs + ready, [(
            "every method that uses a tuned weight over the evaluation seeds, " + " and ".join(reasons),
            waiting)])
