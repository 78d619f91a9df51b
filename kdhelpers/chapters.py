"""The book's one list of chapters: key, notebook, part of the book, and the builder of its
runs. ``profiles.EXPERIMENTS``, ``book.NOTEBOOKS``, the plan of a profile and the status
page are derived from it; ``tests/test_book.py`` checks that ``_toc.yml`` lists the same
notebooks under the same parts.

A new chapter is one entry here (its builder in :mod:`kdhelpers.experiments`, its settings
in :mod:`kdhelpers.profiles`) and one line in ``_toc.yml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# part key -> caption in _toc.yml
PARTS = {"front": "At a glance", "paper": "Experiments", "beyond": "Beyond the paper",
         "results": "Results"}


@dataclass(frozen=True)
class Chapter:
    key: str
    notebook: str
    part: str  # a key of PARTS: where _toc.yml lists it
    builder: str | None = None  # the function of kdhelpers.experiments that lists its runs

    def build(self, settings: dict) -> dict:
        from . import experiments

        function: Callable = getattr(experiments, self.builder)
        return function(settings)


CHAPTERS = (
    Chapter("exp1", "exp1_mnist.ipynb", "paper", "exp1"),
    Chapter("exp2", "exp2_alpha_temperature.ipynb", "paper", "exp2"),
    Chapter("exp3", "exp3_training_data.ipynb", "paper", "exp3"),
    Chapter("exp4", "exp4_teacher_free.ipynb", "paper", "exp4"),
    Chapter("exp5", "exp5_student_as_teacher.ipynb", "paper", "exp5"),
    Chapter("exp6", "exp6_teacher_assistants.ipynb", "paper", "exp6"),
    Chapter("exp7", "exp7_beyond_logits.ipynb", "beyond", "exp7"),
    # pages that read every chapter's results: executed after the chapters
    Chapter("summary", "summary.ipynb", "results"),
    Chapter("reproducibility", "reproducibility.ipynb", "front"),
)
BY_KEY = {c.key: c for c in CHAPTERS}
EXPERIMENTS = tuple(c.key for c in CHAPTERS if c.builder is not None)
PAPER_CHAPTERS = tuple(c.key for c in CHAPTERS if c.part == "paper")
SUMMARIES = tuple(c.key for c in CHAPTERS if c.builder is None)
