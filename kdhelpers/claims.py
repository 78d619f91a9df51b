"""A claim of the paper as data: the two sides compared, the gain with its 95 % confidence
interval, how its size compares with the paper's, and a verdict that cannot overstate.

For per-seed values :math:`a_i, b_i` (test accuracy in %, or gains in pp):

* paired (same seeds, same order; the runs share initialisation and data order):
  :math:`d_i = a_i - b_i`, gain :math:`\\bar d`, CI :math:`\\bar d \\pm t_{0.975,\\,n-1}\\,s_d/\\sqrt n`;
* otherwise Welch: gain :math:`\\bar a - \\bar b`, standard error
  :math:`\\sqrt{s_a^2/n_a + s_b^2/n_b}`, degrees of freedom by Welch–Satterthwaite.

With one value on either side there is no interval (``ci95`` is ``None``); with zero spread
the interval shrinks to the gain itself. The verdict:

* ``holds``: tested and the CI lies above 0;
* ``does not hold``: tested and the CI lies below 0;
* ``inconclusive``: tested, and the CI includes 0 or there is no CI;
* ``not tested``: a premise the paper's runs satisfied fails in ours (``why`` says which).
  A setting a profile did not run gives no claim there ("not run" in the scorecard).

``size`` compares the paper's gain with our interval: ``matches`` (inside), ``smaller`` (our
interval lies below the paper's gain), ``larger`` (above it).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
from scipy import stats

VERDICTS = ("holds", "does not hold", "inconclusive", "not tested")


def values_of(side) -> tuple[list[float], list[int] | None]:
    """Per-seed values in % and their seeds: from runs (test accuracy) or plain numbers."""
    side = list(side)
    if side and hasattr(side[0], "metrics"):
        return [100.0 * r.metrics["test_accuracy"] for r in side], [r.config.seed for r in side]
    return [float(v) for v in side], None


def compare(a, b, *, paired: bool | None = None) -> dict:
    """Gain of ``a`` over ``b`` (lists of runs, or of values in %) with its 95 % CI.

    ``paired=None`` pairs two lists of runs when they have the same seeds in the same
    order; plain values are paired only when ``paired=True`` is given.
    """
    a_values, a_seeds = values_of(a)
    b_values, b_seeds = values_of(b)
    if not a_values or not b_values:
        raise ValueError(f"compare needs at least one value on each side, got {len(a_values)} "
                         f"and {len(b_values)}")
    if paired is None:
        paired = a_seeds is not None and a_seeds == b_seeds
    if paired and len(a_values) != len(b_values):
        raise ValueError(f"paired comparison of unequal lists: {len(a_values)} values against "
                         f"{len(b_values)}; pair them by seed or use paired=False")
    if paired:
        diff = np.subtract(a_values, b_values)
        gain = float(diff.mean())
        ci = _t_interval(gain, diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else None,
                         len(diff) - 1)
    else:
        gain = float(np.mean(a_values) - np.mean(b_values))
        ci = _welch_interval(np.asarray(a_values), np.asarray(b_values), gain)
    return {"a": a_values, "b": b_values, "paired": bool(paired), "gain": gain, "ci95": ci,
            "seeds": a_seeds if paired else None}


def corrected_interval(result: dict, tests: int) -> list[float] | None:
    """The interval of a :func:`compare` result widened for ``tests`` claims judged together
    (Bonferroni): paired, :math:`\\bar d \\pm t_{1-0.025/k,\\,n-1}\\,s_d/\\sqrt n` for :math:`k`
    tests (Welch's interval at the same level when unpaired), so that the chance of any of
    the :math:`k` intervals missing its true gain stays at most 5 %. A verdict that holds on
    its own 95 % interval may not hold on this one. ``None`` where :func:`compare` gives no
    interval (a side with one value)."""
    if not isinstance(tests, int) or tests < 1:
        raise ValueError(f"tests must be a positive number of claims, got {tests!r}")
    if result.get("a") is None or result.get("b") is None:
        raise ValueError("corrected_interval needs a two-sample claim (its per-seed values 'a' and 'b')")
    level = 1 - 0.05 / tests
    a, b = np.asarray(result["a"], dtype=float), np.asarray(result["b"], dtype=float)
    if not result.get("paired"):
        return _welch_interval(a, b, float(a.mean() - b.mean()), level)
    diff = a - b
    if len(diff) < 2:
        return None
    return _t_interval(float(diff.mean()), diff.std(ddof=1) / math.sqrt(len(diff)), len(diff) - 1,
                       level=level)


def corrected_verdicts(chapter_claims) -> list[str | None]:
    """Each claim's verdict on its :func:`corrected_interval` for the ``k`` claims of its
    chapter that were tested and have an interval (the family a reader takes in at once);
    ``None`` for a claim outside that family (not tested, or no interval)."""
    def in_family(c):
        return c.get("tested", True) and c.get("ci95") is not None

    k = sum(map(in_family, chapter_claims))
    return [verdict(corrected_interval(c, k)) if in_family(c) else None for c in chapter_claims]


def correction_changes(chapter_claims) -> list[tuple[dict, str]]:
    """``(claim, verdict after the correction)`` for each claim of a chapter whose verdict
    :func:`corrected_verdicts` changes."""
    return [(c, v) for c, v in zip(chapter_claims, corrected_verdicts(chapter_claims))
            if v is not None and v != c["verdict"]]


def correction_text(changes, labels=None) -> str:
    """:func:`correction_changes` (of one chapter, or of several put together, each change
    then with its ``labels`` entry, e.g. ``"chapter 3"``, before it) in words: ``"no verdict
    changes"``, or ``"2 verdicts change: the chain ... (holds, inconclusive after the
    correction); ..."`` (no arrow: the claims' own texts use arrows for chains of networks)."""
    if not changes:
        return "no verdict changes"
    labels = labels or [None] * len(changes)
    return (f"{len(changes)} verdict{'s' if len(changes) > 1 else ''} change{'' if len(changes) > 1 else 's'}: "
            + "; ".join(("" if label is None else f"{label}: ")
                        + f"{in_sentence(c).removesuffix(' (beyond the paper)')} "
                        f"({c['verdict']}, {v} after the correction)"
                        for (c, v), label in zip(changes, labels)))


def _t_interval(center: float, se: float | None, df: float, level: float = 0.95) -> list[float] | None:
    if se is None:
        return None
    # plain floats, not NumPy scalars: the interval goes to JSON and into the prose (myst-nb
    # formats a glued value from its repr, and 'np.float64(0.1)' is not a number to it)
    if se == 0.0:
        return [float(center), float(center)]
    half = float(stats.t.ppf(1 - (1 - level) / 2, df)) * float(se)
    return [float(center - half), float(center + half)]


def mean_interval(values) -> list[float] | None:
    """The 95 % t-interval of the mean of ``values`` (None for fewer than two): the interval
    :func:`compare` gives a paired gain, for one side's runs (a figure's error bar)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return None
    return _t_interval(float(values.mean()), values.std(ddof=1) / math.sqrt(len(values)), len(values) - 1)


def _welch_interval(a: np.ndarray, b: np.ndarray, gain: float, level: float = 0.95) -> list[float] | None:
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0.0:
        return [gain, gain]
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return _t_interval(gain, math.sqrt(va + vb), df, level)


def verdict(ci95, tested: bool = True) -> str:
    if not tested:
        return "not tested"
    if ci95 is None:
        return "inconclusive"
    if ci95[0] > 0:
        return "holds"
    if ci95[1] < 0:
        return "does not hold"
    return "inconclusive"


def size(ci95, paper_gain) -> str | None:
    if ci95 is None or paper_gain is None:
        return None
    if ci95[0] <= paper_gain <= ci95[1]:
        return "matches"
    return "smaller" if paper_gain > ci95[1] else "larger"


SIZE_TEXTS = {
    # form -> the words for each size; "matches" means our CI holds the paper's gain: an
    # inconclusive claim is then consistent with the paper, not a confirmation of it
    # "smaller"/"larger" are signed: for a negative effect "smaller" means further below zero,
    # so the words say lower/higher, which cannot be misread
    "short": {"matches": "consistent", "smaller": "lower", "larger": "higher"},
    "table": {"matches": "consistent with the paper's", "smaller": "lower than the paper's",
              "larger": "higher than the paper's"},
    "where": {"matches": "inside", "smaller": "above", "larger": "below"},  # "the paper's gain lies ... it"
    "sentence": {"matches": "lies inside our interval: the data are consistent with it",
                 "smaller": "lies above our interval: our gain is lower",
                 "larger": "lies below our interval: our gain is higher"},
}
NO_SIZE_TEXT = {"short": "–", "table": "–", "where": "beside",
                "sentence": "cannot be set against an interval here"}


def size_text(size_: str | None, form: str = "table") -> str:
    """Words for :func:`size`'s result, the one place every page and table takes them from:
    ``short`` for the scorecard's column, ``table`` for a chapter's claims table, ``where`` and
    ``sentence`` for prose about where the paper's gain lies against our interval ("the
    paper's gain lies inside it", "the paper's gain lies inside our interval: ...")."""
    if form not in SIZE_TEXTS:
        raise ValueError(f"size_text: form {form!r} is not one of {sorted(SIZE_TEXTS)}")
    if size_ is None:
        return NO_SIZE_TEXT[form]
    if size_ not in SIZE_TEXTS[form]:
        raise ValueError(f"size_text: size {size_!r} is not one of {sorted(SIZE_TEXTS[form])} or None")
    return SIZE_TEXTS[form][size_]


def claim(text: str, paper: str, a=None, b=None, *, paper_gain: float | None = None,
          tested: bool = True, why: str | None = None, paired: bool | None = None,
          ours: str | None = None, unit: str = "pp") -> dict:
    """One claim as data (the keys of issue #12); ``a`` is the side the claim says is better.

    Without ``a`` and ``b`` the claim is not a two-sample comparison (``ours`` describes
    it) and its verdict is ``inconclusive`` unless it is not tested.
    """
    if not tested and not why:
        raise ValueError(f"claim {text!r}: a claim that is not tested needs `why`")
    if (a is None) != (b is None):
        raise ValueError(f"claim {text!r}: give both sides (a and b) or neither")
    result = {"claim": text, "paper": paper, "a": None, "b": None, "paired": False,
              "gain": None, "ci95": None, "paper_gain": paper_gain, "tested": bool(tested),
              "why": None if tested else why}
    if a is not None:
        result.update({k: v for k, v in compare(a, b, paired=paired).items() if k != "seeds"})
    result["size"] = size(result["ci95"], paper_gain) if tested else None
    result["verdict"] = verdict(result["ci95"], tested)
    result["ours"] = ours if ours is not None else describe(result, unit)
    return result


def bound_text(value: float, side: str, digits: int = 2, max_digits: int = 4,
               reference: float | None = None) -> str:
    """One bound of an interval as text, rounded outward: down for the ``"lower"`` side, up
    for the ``"upper"``, so the printed interval always contains the exact one.

    Digits are added (up to ``max_digits``) while the rounded bound would print as zero and
    the exact one is not: a lower bound of +0.0003 prints ``+0.0003``, never ``+0.00``, so a
    reader never sees an interval that seems to touch zero when it does not (outward
    rounding can only move a bound towards zero, never across it). A bound closer to zero
    than ``max_digits`` decimals shows its first significant digit (``+0.00003``).

    With ``reference`` (the paper's gain), digits are likewise added while the bound would
    print as the reference's value but is not equal to it: an upper bound of -5.0312 against
    the paper's -5.03 prints ``-5.031``, so a reader sees that the paper's gain lies outside
    the interval, as the verdict beside it says.
    """
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    rounding = ROUND_FLOOR if side == "lower" else ROUND_CEILING
    # the shortest decimal that reads back as this float: 0.29 stays 0.29 (0.29 * 100 is
    # 28.999..., and flooring that would widen the interval for nothing)
    exact = Decimal(repr(float(value)))
    paper = None if reference is None else Decimal(repr(float(reference)))
    places = digits
    while True:
        rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=rounding)
        ties_reference = paper is not None and exact != paper and rounded == paper.quantize(rounded)
        shows_sign = rounded != 0 or exact == 0 or (places >= max_digits and places >= -exact.adjusted())
        if shows_sign and (not ties_reference or places >= 2 * max_digits):
            return f"{rounded:+f}"
        places += 1


def interval_text(ci95, digits: int = 2, max_digits: int = 4, reference: float | None = None) -> str:
    """``"[+0.0003, +0.22]"``: a 95 % CI with its bounds rounded outward (:func:`bound_text`),
    so every printed bound has the sign of the exact one, and, given the paper's gain as
    ``reference``, is never printed equal to it unless it is; ``"no CI"`` when there is none."""
    if ci95 is None:
        return "no CI"
    low, high = ci95
    return (f"[{bound_text(low, 'lower', digits, max_digits, reference)}, "
            f"{bound_text(high, 'upper', digits, max_digits, reference)}]")


def describe(result: dict, unit: str = "pp") -> str:
    """``"68.15 vs 59.95: +8.20 pp [5.1, 11.3], paired, n=5"`` for a two-sample claim."""
    if result["a"] is None:
        return "not run at this profile" if not result["tested"] else "no two-sample comparison"
    a, b = np.mean(result["a"]), np.mean(result["b"])
    n = (f"n={len(result['a'])}" if len(result["a"]) == len(result["b"])
         else f"n={len(result['a'])}/{len(result['b'])}")
    ci = ("no CI (single run)" if result["ci95"] is None
          else f"95 % CI {interval_text(result['ci95'], reference=result.get('paper_gain'))}")
    pairing = "paired" if result["paired"] else "unpaired"
    return f"{a:.2f} vs {b:.2f}: {result['gain']:+.2f} {unit}, {ci}, {pairing}, {n}"


def in_sentence(claim: dict) -> str:
    """A claim's text inside a sentence: its first word lowercased when it is an ordinary
    capitalised word ("a 4-conv teacher ...", "teacher-free KD ..."), kept when it is an
    acronym or a name with capitals inside ("KD from ...", "MNIST: ...", "FitNets hint ...")."""
    text = claim["claim"]
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and first[1:] == first[1:].lower():
        return text[0].lower() + text[1:]
    return text


def tally(claims) -> dict:
    """How many claims fall under each verdict."""
    return {v: sum(c["verdict"] == v for c in claims) for v in VERDICTS}
