"""The book's one list of chapters: key, notebook, part of the book, the builder of its runs
and how they come in stages (:mod:`kdhelpers.stages`). ``profiles.EXPERIMENTS``,
``book.NOTEBOOKS``, the plan of a profile, the scorecard's parts and the status page are
derived from it; ``tests/test_book.py`` checks that ``_toc.yml`` lists the same notebooks
under the same parts.

A new chapter of the book is one entry here (its builder in :mod:`kdhelpers.experiments`, its
settings in :mod:`kdhelpers.profiles`) and one line in ``_toc.yml``. Code outside the book
(a test, a study) adds one with :func:`register` and its settings with
``profiles.register_experiment``; ``tests/test_toy_chapter.py`` does both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import stages as _stages

# part key -> caption in _toc.yml
PARTS = {"front": "At a glance", "paper": "Experiments", "beyond": "Beyond the paper",
         "results": "Results"}


@dataclass(frozen=True)
class Chapter:
    key: str
    notebook: str
    part: str  # a key of PARTS: where _toc.yml lists it
    # the function of kdhelpers.experiments that lists its runs (its name), or the function
    builder: str | Callable | None = None
    stages: object = _stages.Fixed()  # a kind of kdhelpers.stages: how its runs come

    def build(self, settings: dict, *args) -> dict:
        return _stages.function(self.builder)(settings, *args)

    def plan(self, settings: dict, store) -> _stages.ChapterPlan:
        """The runs this chapter needs under ``settings`` as ``store`` stands now."""
        return self.stages.plan(self, settings, store)


CHAPTERS = [
    Chapter("exp1", "exp1_mnist.ipynb", "paper", "exp1"),
    Chapter("exp2", "exp2_alpha_temperature.ipynb", "paper", "exp2",
            _stages.GridThenSeeds(label_free_row=True)),
    Chapter("exp3", "exp3_training_data.ipynb", "paper", "exp3"),
    Chapter("exp4", "exp4_teacher_free.ipynb", "paper", "exp4", _stages.GridThenSeeds()),
    Chapter("exp5", "exp5_student_as_teacher.ipynb", "paper", "exp5", _stages.GridThenSeeds()),
    Chapter("exp6", "exp6_teacher_assistants.ipynb", "paper", "exp6",
            _stages.ProbesThenRuns(probes="exp6_probes", pick="exp6_epochs",
                                   size_label="{}-conv")),
    Chapter("exp7", "exp7_beyond_logits.ipynb", "beyond", "exp7",
            _stages.TuneThenMethods(methods="exp7_methods", weights=(
                ("attention transfer", "at_weight"), ("FitNets hint", "hint_weight")))),
    # pages that read every chapter's results: executed after the chapters
    Chapter("summary", "summary.ipynb", "results"),
    Chapter("reproducibility", "reproducibility.ipynb", "front"),
]
# Derived from CHAPTERS and kept current in place by register(), so that a module holding
# one of them (profiles.EXPERIMENTS) sees a registered chapter.
BY_KEY: dict[str, Chapter] = {}
EXPERIMENTS: list[str] = []  # chapters with runs, in book order
PAPER_CHAPTERS: list[str] = []
SUMMARIES: list[str] = []
# The chapters whose results describe a profile's regime on the summary pages: the teacher
# and the no-KD baseline (chapter 2's), the whole-pool no-KD students that stand in for that
# baseline before chapter 2 runs, and the chapters whose gains have a known student budget.
REGIME_CHAPTER = "exp2"
WHOLE_POOL_CHAPTER = "exp3"
BUDGET_CHAPTERS = ("exp2", "exp3")  # (the grid's best cell, the data fractions)


def _derive() -> None:
    BY_KEY.clear()
    BY_KEY.update({c.key: c for c in CHAPTERS})
    EXPERIMENTS[:] = [c.key for c in CHAPTERS if c.builder is not None]
    PAPER_CHAPTERS[:] = [c.key for c in CHAPTERS if c.part == "paper"]
    SUMMARIES[:] = [c.key for c in CHAPTERS if c.builder is None]


def register(chapter: Chapter) -> None:
    """Add ``chapter`` after the chapters with runs (before the summary pages)."""
    if chapter.key in BY_KEY:
        raise ValueError(f"chapter {chapter.key!r} exists already; registered: {list(BY_KEY)}")
    if chapter.part not in PARTS:
        raise ValueError(f"chapter {chapter.key!r}: part {chapter.part!r} is not one of "
                         f"{list(PARTS)}")
    last = max((i for i, c in enumerate(CHAPTERS) if c.builder is not None), default=-1)
    CHAPTERS.insert(last + 1, chapter)
    _derive()


def unregister(key: str) -> None:
    """Remove a chapter added by :func:`register`."""
    CHAPTERS[:] = [c for c in CHAPTERS if c.key != key]
    _derive()


_derive()
