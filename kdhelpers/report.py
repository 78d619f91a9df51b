"""Summaries of finished runs for the book: accuracies, mean ± sd, result files, tables
(verdicts: :mod:`kdhelpers.claims`)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from . import claims, provenance
from .store import Store


def accuracy(run, *, split: str = "test") -> float:
    """A run's final-epoch accuracy in %, on ``"test"`` or (best epoch) ``"val"``."""
    key = {"test": "test_accuracy", "val": "best_val_accuracy"}[split]
    return 100.0 * run.metrics[key]


def mean_sd(runs) -> dict:
    """Mean, sample sd (ddof=1; 0 for one run) and per-seed values of test accuracy in %."""
    values = [accuracy(r) for r in runs]
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "sd": sd, "n": len(values), "values": values,
            "seeds": [r.config.seed for r in runs]}


def fmt(stat: dict) -> str:
    """``"87.31 ± 0.42 (n=3)"``."""
    return f"{stat['mean']:.2f} ± {stat['sd']:.2f} (n={stat['n']})"


def best_cell(grid_runs: dict) -> tuple:
    """The (alpha, T) key with the highest best-epoch *validation* accuracy (never test)."""
    return max(grid_runs, key=lambda key: accuracy(grid_runs[key], split="val"))


def edge_picks(tuning: dict, picks: dict) -> list[str]:
    """In words, each pick (``picks[name]``, from :func:`best_cell` of ``tuning[name]``, a
    ``{candidate: run}`` mapping) that is the smallest or largest of several candidates: the
    best value may lie beyond the grid, which is then extended before the evaluation runs
    (chapter 7's protocol: a pick never sits on its grid's edge)."""
    edges = []
    for name, by_candidate in tuning.items():
        pick = picks[name]
        if len(by_candidate) > 1 and pick in (min(by_candidate), max(by_candidate)):
            edges.append(f"the {name} pick {pick:g} is the {'largest' if pick == max(by_candidate) else 'smallest'}"
                         f" of its candidates ({', '.join(f'{c:g}' for c in sorted(by_candidate))})")
    return edges


def plateau_epoch(val_accuracies, *, tolerance: float = 0.01, window: int = 3, step: int = 5,
                  minimum: int = 10) -> int:
    """Epochs a validation curve needs to reach its plateau.

    The curve is first averaged over ``window`` consecutive epochs (one epoch's accuracy
    moves by a point or two on CIFAR); the answer is the first epoch whose average is within
    ``tolerance`` of the highest average, rounded up to a multiple of ``step``, at least
    ``minimum`` and at most the curve's length. An answer equal to the curve's length means
    the plateau came only in the curve's last ``step`` epochs, or not at all: the probe's
    length caps it, and a longer probe might pick more.
    """
    values = [float(v) for v in val_accuracies]
    if len(values) < window:
        raise ValueError(f"a validation curve of {len(values)} epochs is shorter than the "
                         f"averaging window ({window} epochs)")
    means = np.convolve(values, np.ones(window) / window, mode="valid")
    first = int(np.argmax(means >= means.max() - tolerance)) + window  # epochs, 1-based
    return min(len(values), max(minimum, -(-first // step) * step))


def results_dir(profile: str, store: Store | None = None) -> Path:
    root = (store or Store()).root
    return root / "results" / profile


def save_results(experiment: str, profile: str, results: dict, runs, store: Store | None = None) -> Path:
    """Write the numbers a chapter shows, for the reproduction summary, with the id and
    training seconds of every run behind them (``runs``: the chapter says which; the status
    page sums their cost).

    Each claim is also glued for the chapter's prose: ``{glue:md}`exp2_claim0_verdict```
    (:func:`verdict_text`), ``..._ours`` and ``..._paper`` (see :func:`glue`).
    """
    chapter_claims = results.get("claims", [])
    for index, item in enumerate(chapter_claims):
        glue(**{f"{experiment}_claim{index}_ours": item["ours"],
                f"{experiment}_claim{index}_paper": item["paper"],
                f"{experiment}_claim{index}_verdict": verdict_text(item, chapter_claims)})
    path = results_dir(profile, store) / f"{experiment}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    cost = {r.run_id: float(r.metrics.get("train_seconds") or 0.0) for r in runs}
    payload = {"experiment": experiment, "profile": profile, "results": results,
               "runs": cost, **provenance.record()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    trained = sum(getattr(r, "trained", False) for r in {r.run_id: r for r in runs}.values())
    print(f"runs behind this chapter: {len(cost)} ({trained} trained now, "
          f"{len(cost) - trained} from the store)")
    return path


def load_results(profile: str, store: Store | None = None) -> dict:
    """Every chapter's saved results for ``profile``, keyed by experiment."""
    folder = results_dir(profile, store)
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def markdown_lines(headers, rows) -> list[str]:
    """The lines of a Markdown table (pipes in cells escaped); the one table writer of the
    package: notebooks, the status page and the benchmark table use it."""
    def cell(value):
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def markdown_table(headers, rows):
    """A Markdown table for notebook output (rendered by the book)."""
    from IPython.display import Markdown

    return Markdown("\n".join(markdown_lines(headers, rows)))


def correction_note(claim: dict, after: str | None, label: str = "corrected") -> str:
    """``" (corrected: inconclusive)"`` after a claim's verdict where its verdict after the
    correction (``after``, from :func:`corrected_verdicts`) differs, else ``""``: what every
    table that shows a verdict adds to it."""
    return f" ({label}: {after})" if after is not None and after != claim["verdict"] else ""


def corrected_verdict(claim: dict, chapter_claims) -> str | None:
    """``claim``'s verdict after the correction for its chapter's claims (``chapter_claims``,
    the list ``claim`` is in; :func:`kdhelpers.claims.corrected_verdicts`), or ``None`` where
    the correction does not apply to it."""
    return dict(zip(map(id, chapter_claims), claims.corrected_verdicts(chapter_claims))).get(id(claim))


def verdict_text(claim: dict, chapter_claims, *, joiner: str = "; ",
                 after: str = "after the correction for the chapter's claims") -> str:
    """A claim's verdict for the prose, followed, where the correction for its chapter's
    claims (``chapter_claims``, the list ``claim`` is in) changes it, by the corrected one, as
    the tables and the scorecard show it: ``"holds; inconclusive after the correction for
    the chapter's claims"`` (prose quotes a verdict inside brackets, so no nested ones);
    ``joiner`` and ``after`` word it shorter inside a list (``"holds, inconclusive after the
    correction"``)."""
    strict = corrected_verdict(claim, chapter_claims)
    if strict is None or strict == claim["verdict"]:
        return claim["verdict"]
    return f"{claim['verdict']}{joiner}{strict} {after}"


def verdict_changes(here: list, there: list, other: str) -> str:
    """A sentence on the claims ``here`` (this page's profile) and ``there`` (the same
    chapter's claims at profile ``other``) that share their text: how many verdicts differ,
    and which, each side's verdict followed by its corrected one where the correction for its
    chapter's claims changes it. A verdict differs when either its own or its corrected one
    does: the scorecard shows both."""
    def said(claim, chapter_claims):
        return verdict_text(claim, chapter_claims, joiner=" but ", after="after the correction")

    theirs = {c["claim"]: c for c in there}
    same = [(c, theirs[c["claim"]]) for c in here if c["claim"] in theirs]
    if not same:
        return f"No claim of this page was tested at `{other}`."
    flipped = [f"{c['claim'].removesuffix(' (beyond the paper)')} ({said(o, there)} there, "
               f"{said(c, here)} here)" for c, o in same if said(c, here) != said(o, there)]
    if not flipped:
        return (f"All {len(same)} verdicts are the same" if len(same) > 1 else "The verdict is the same") + (
            f" at `{other}` and at this profile.")
    counted = (f"{len(flipped)} of the {len(same)} verdicts {'differs' if len(flipped) == 1 else 'differ'}"
               if len(same) > 1 else "The verdict differs")
    return f"{counted} between `{other}` and this profile: " + "; ".join(flipped) + "."


def claims_table(claims_):
    """The chapter's claims: paper, ours (gain and 95 % CI), size against the paper ("vs
    paper"), verdict
    (and, where it differs, the verdict corrected for the chapter's claims,
    :func:`kdhelpers.claims.corrected_verdicts`, as on the scorecard). Claims none of which
    the paper makes or measures (a chapter beyond it) leave out the paper's and the size's
    columns, which would say nothing in every row."""
    beyond = all(c.get("paper_gain") is None and c["size"] is None for c in claims_)
    rows = []
    for c, strict in zip(claims_, claims.corrected_verdicts(claims_)):
        verdict = (f"**{c['verdict'] if c['tested'] else 'not tested: ' + c['why']}**"
                   + correction_note(c, strict, "corrected for the chapter's claims"))
        rows.append([c["claim"], c["ours"], verdict] if beyond else
                    [c["claim"], c["paper"], c["ours"], claims.size_text(c["size"]), verdict])
    if beyond:
        return markdown_table(["claim", "ours: gain, 95 % CI", "verdict"], rows)
    return markdown_table(["claim", "paper", "ours: gain, 95 % CI", "vs paper", "verdict"], rows)


def glue(*, plain_strings: bool = False, **values) -> None:
    """Expose results to the chapter's prose through myst-nb, so the discussion quotes the
    executed numbers instead of hand-copied ones: numbers as ``{glue:text}`name:.2f```,
    strings (e.g. a verdict) as ``{glue:md}`name```. Without myst-nb (Colab) it does nothing.

    ``plain_strings=True`` glues strings as text, for another page to quote as
    ``{glue:text}`page.ipynb::name:s``` (myst-nb 1.4 pastes Markdown across pages as an
    object's repr); their apostrophes are made typographic ("paper’s"), as Sphinx makes the
    page's own, which pasted text escapes."""
    try:
        from IPython.display import Markdown
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    for name, value in values.items():
        if isinstance(value, np.generic):  # myst-nb formats from the repr: np.float64(...) fails
            value = value.item()
        markdown = isinstance(value, str) and not plain_strings
        if isinstance(value, str) and plain_strings:
            value = typographic_apostrophes(value)
        if markdown:
            # Markdown(text) reads a text that names an existing file (".", "book") or starts
            # with "http" as a path or URL to load; the text itself is set after construction
            value, text = Markdown(""), value
            value.data = text
        myst_glue(name, value, display=False)


def typographic_apostrophes(text: str) -> str:
    """``paper's`` -> ``paper’s``, ``claims'`` -> ``claims’``, ``'word'`` -> ``‘word’``: a
    straight quote after a letter or digit becomes a right single quote, one before a word a
    left single quote; any other is left alone."""
    text = re.sub(r"(?<=\w)'", "\u2019", text)
    return re.sub(r"(?<!\w)'(?=\w)", "\u2018", text)


def describe_teacher(run) -> str:
    """One line naming a teacher run: model, width, epochs, test accuracy and run id (the
    `cpu` profile's teacher is not the paper's, so every page that uses it says which)."""
    c = run.config
    width = f" ×{c.width:g}" if c.width != 1.0 else ""
    # two lines: one would overflow a book page's column at a laptop's width
    return (f"teacher: {c.model}{width}, {c.epochs} epochs, {accuracy(run):.2f} % test\n"
            f"  (run {run.run_id})")
