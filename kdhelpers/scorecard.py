"""The book's scorecard: every chapter's claims (``results.claims`` of each chapter's result
file) gathered per profile, counted, set side by side, and the regime each profile ran in.
Used by the summary and the reproducibility pages."""

from __future__ import annotations

from . import chapters, claims, paper, profiles, report
from .estimates import train_images
from .experiments import cifar_student, cifar_teacher

TALLY_PARTS = {"paper": "the paper's claims", "beyond": "beyond the paper"}


def results_by_profile(store=None, order=None) -> dict:
    """``{profile: {experiment: saved results}}`` for every profile that has results, in
    ``order`` (default: :data:`kdhelpers.profiles.HEADLINE_ORDER`, the paper's regime first)."""
    found = {}
    for profile in order or profiles.HEADLINE_ORDER:
        results = report.load_results(profile, store)
        if results:
            found[profile] = results
    return found


def all_claims(results: dict) -> list[tuple[str, dict]]:
    """``(experiment, claim)`` in chapter order."""
    return [(e, c) for e in profiles.EXPERIMENTS if e in results
            for c in results[e]["results"].get("claims", [])]


def gain_text(c: dict) -> str:
    """``"+0.11 [+0.0003, +0.22]"``: the gain (rounded to nearest) and its 95 % CI (rounded
    outward, :func:`kdhelpers.claims.interval_text`)."""
    if c.get("gain") is None:
        return "–"
    if c["ci95"] is None:
        return f"{c['gain']:+.2f} (no CI)"
    return f"{c['gain']:+.2f} {claims.interval_text(c['ci95'], reference=c.get('paper_gain'))}"


def scorecard(results: dict, profile: str):
    """One row per claim: chapter and claim, verdict (with the verdict after a Bonferroni
    correction for the claims of its chapter, :func:`corrected`, where the two differ), our
    gain [95 % CI], the paper's gain, and how the two compare. A reason why a claim was not
    tested is given once, under the table (chapter 6 at ``cpu`` gives one reason for five
    claims); its gain is left out, as in the forest plot: it measures a comparison whose
    premise failed."""
    rows, reasons = [], {}
    after = corrected(results)
    for (experiment, c), strict in zip(all_claims(results), after):
        paper_gain = "–" if c.get("paper_gain") is None else f"{c['paper_gain']:+.2f}"
        if c.get("tested", True):
            verdict, ours = f"**{c['verdict']}**{report.correction_note(c, strict)}", gain_text(c)
        else:
            verdict, ours = f"**not tested** ({reasons.setdefault(c['why'], len(reasons) + 1)})", "–"
        rows.append([f"{experiment.removeprefix('exp')}: {c['claim']}", verdict, ours, paper_gain,
                     claims.size_text(c.get("size"), "short") if c.get("tested", True) else "–"])
    lines = report.markdown_lines(["chapter: claim", "verdict", f"gain, pp [95 % CI] ({profile})",
                                   "paper's gain", "vs paper"], rows)
    family = {e: sum(s is not None for (f, _), s in zip(all_claims(results), after) if f == e)
              for e in results}
    notes = [f"({number}) not tested: {why}" for why, number in reasons.items()]
    if any(family.values()):
        notes.append("corrected: the verdict when each chapter's claims are judged together, every "
                     "interval widened from 95 % to 1 − 0.05/k for the chapter's k tested claims "
                     "(Bonferroni; k = " + ", ".join(f"{k} in chapter {e.removeprefix('exp')}"
                                                      for e, k in family.items() if k)
                     + "); shown where it differs from the verdict")
    return _with_notes(lines, notes)


def corrected(results: dict) -> list[str | None]:
    """:func:`kdhelpers.claims.corrected_verdicts` of each chapter's claims, in the order of
    :func:`all_claims`: the family of a correction is a chapter's tested claims."""
    return [v for e in profiles.EXPERIMENTS if e in results
            for v in claims.corrected_verdicts(results[e]["results"].get("claims", []))]


def _with_notes(lines: list[str], notes: list[str]):
    """A table's Markdown lines, then each note under it as a paragraph of its own (joined by
    single newlines, notes ran together into one)."""
    from IPython.display import Markdown

    return Markdown("\n".join(lines) + "".join(f"\n\n{note}" for note in notes))


def same_test(c: dict, other: dict) -> bool:
    """Whether two claims rest on the same runs: the same measured values on both sides (at
    ``cpu`` chapter 2's validation-best cell is its α = 1 cell, so its best-cell claim and its
    label-free claim are one comparison)."""
    def sides(claim):
        return tuple(tuple(claim.get(k) or ()) for k in ("a", "b"))
    return all(sides(c)) and sides(c) == sides(other)


def tallies(by_profile: dict):
    """How many claims hold / do not / are inconclusive / not tested, per profile, for the
    paper's claims and for the claims beyond it, and how many hold after the correction of
    :func:`corrected`. A claim that rests on the same runs as an earlier one
    (:func:`same_test`) is one test: counted once, and named under the table."""
    rows, notes = [], []
    for profile, results in by_profile.items():
        after = corrected(results)
        for part in ("paper", "beyond"):
            chosen, survive = [], 0
            for (e, c), strict in zip(all_claims(results), after):
                if chapters.BY_KEY[e].part != part:
                    continue
                earlier = next((d for d in chosen if same_test(c, d)), None)
                if earlier is None:
                    chosen.append(c)
                    survive += strict == "holds"
                else:
                    notes.append(f"At `{profile}`, \"{c['claim']}\" rests on the same runs as "
                                 f"\"{earlier['claim']}\": one test, counted once.")
            if chosen:
                counts = claims.tally(chosen)
                rows.append([profile, TALLY_PARTS[part], len(chosen), *counts.values(), survive])
    headers = ["profile", "claims", "n", *claims.VERDICTS, "holds, corrected"]
    notes.append("holds, corrected: the claims that still hold when each chapter's intervals are "
                 "widened for the number of claims it tests (Bonferroni; the scorecard tables "
                 "name each claim whose verdict the correction changes).")
    return _with_notes(report.markdown_lines(headers, rows), notes)


def cell(c: dict, strict: str | None = None) -> str:
    """A claim in one cell: its verdict (with ``strict``, its :func:`corrected` verdict,
    where that differs) and gain; a claim not tested shows no gain, as in :func:`scorecard`
    and the forest plot (it measures a comparison whose premise failed)."""
    if not c.get("tested", True):
        return "not tested"
    return f"{c['verdict']}{report.correction_note(c, strict)}, {gain_text(c)}"


def side_by_side(by_profile: dict):
    """Each claim's verdict (and corrected verdict, where it differs) and gain at every
    profile that ran it, in the rows of the forest plot (:func:`kdhelpers.forest_rows.
    forest_rows`): chapter order; within a chapter the profiles' own orders merged (a claim
    only one profile ran, e.g. its 2 % fraction, lands where that profile lists it); a claim
    whose setting differs between profiles only in a trailing parenthesis is one row."""
    from .forest_rows import forest_rows

    strict_of = {id(c): strict for results in by_profile.values()
                 for (_, c), strict in zip(all_claims(results), corrected(results))}
    names = list(by_profile)
    rows = [[row.experiment.removeprefix("exp"), row.text,
             *[cell(row.claims[p], strict_of[id(row.claims[p])]) if p in row.claims else "not run"
               for p in names]]
            for row in forest_rows(by_profile, names) if row.kind == "claim"]
    return report.markdown_table(["chapter", "claim", *names], rows)


def regime(by_profile: dict, store=None):
    """Teacher, student baseline, data and epochs of each profile, beside the paper's. The
    baseline is chapter 2's; before chapter 2 is executed at a profile, chapter 3's no-KD
    students on the whole pool stand in (said in the cell), and the teacher's accuracy is read
    from its run in the store."""
    from .store import Store

    store = store or Store()
    rows = [["paper", "ResNet-18 ×1, 90 epochs", f"{paper.RESNET18_TEACHER:.2f}",
             f"{paper.STUDENT_BASELINE:.2f} (n=1)", "50,000 images (all), test set as validation",
             "50 (batch 64; KD runs batch 32)"]]
    for profile, results in by_profile.items():
        s = profiles.resolve(chapters.REGIME_CHAPTER, profile, honour_env=False)
        teacher, student = cifar_teacher(s), cifar_student(s, s["seeds"][0])
        exp2 = results.get(chapters.REGIME_CHAPTER, {}).get("results", {})
        baseline = exp2.get("stats", {}).get("baseline")
        whole_pool = (results.get(chapters.WHOLE_POOL_CHAPTER, {}).get("results", {})
                      .get("stats", {}).get("no_kd", {}).get("1.0"))
        if baseline:
            baseline_text = report.fmt(baseline)
        elif whole_pool:
            baseline_text = f"{report.fmt(whole_pool)} (chapter 3's, on the whole pool)"
        else:
            baseline_text = "not run"
        if "teacher" in exp2:
            teacher_text = f"{exp2['teacher']:.2f}"
        elif store.exists(teacher.run_id):
            teacher_text = f"{report.accuracy(store.load(teacher.run_id)):.2f}"
        else:
            teacher_text = "not trained"
        schedule = (f", LR ×0.1 after epoch {student.lr_drop_every - 1}"
                    if student.schedule == "step" else "")
        rows.append([profile, f"ResNet-18 ×{teacher.width:g}, {teacher.epochs} epochs",
                     teacher_text, baseline_text,
                     f"{train_images(student):,} images ({100 * student.fraction:g} % of the "
                     f"45,000 left after a 10 % validation split)",
                     f"{student.epochs} (batch {student.batch_size}{schedule})"])
    return report.markdown_table(["profile", "teacher", "teacher test %", "no-KD student %",
                                  "student data", "student epochs"], rows)


def budget_points(by_profile: dict) -> list[dict]:
    """The KD gains measured at a known student training budget (images seen = training
    images x epochs), one dict per point: chapter 2's headline claim and chapter 3's claim at
    each fraction, at every profile that ran them, then the paper's own values for both
    chapters (its student: 50 epochs on fractions of 50,000 images; single runs, no CI)."""
    points = []
    for profile, results in by_profile.items():
        for experiment in chapters.BUDGET_CHAPTERS:
            saved = results.get(experiment, {}).get("results", {})
            found = saved.get("claims", [])
            s = profiles.resolve(experiment, profile, honour_env=False)
            # chapter 3's first claims are one per fraction, in the order of its saved stats
            fractions = ([None] if experiment == chapters.REGIME_CHAPTER
                         else [float(f) for f in saved.get("stats", {}).get("kd", {})])
            for c, fraction in zip(found, fractions):
                if c.get("gain") is None:
                    continue
                changes = {} if fraction is None else {"fraction": fraction}
                student = cifar_student(s, s["seeds"][0], **changes)
                points.append({"source": profile, "experiment": experiment,
                               "budget": train_images(student) * student.epochs,
                               "gain": c["gain"], "ci95": c["ci95"]})
    paper_epochs, paper_images = paper.STUDENT_EPOCHS, paper.CIFAR_TRAIN_IMAGES
    best_cell, fractions = chapters.BUDGET_CHAPTERS
    points.append({"source": "paper", "experiment": best_cell, "budget": paper_images * paper_epochs,
                   "gain": max(map(max, paper.EXP2_GRID)) - paper.STUDENT_BASELINE, "ci95": None})
    points += [{"source": "paper", "experiment": fractions, "ci95": None,
                "budget": round(paper_images * f) * paper_epochs, "gain": kd - no_kd}
               for f, kd, no_kd in zip(paper.EXP3_FRACTIONS, paper.EXP3_KD, paper.EXP3_NO_KD)]
    return points


def gain_versus_budget(by_profile: dict):
    """:func:`budget_points` drawn: KD gain (95 % CI where there is one) against the
    student's training budget, one colour per profile; the paper's values are a star (chapter 2)
    and crosses (chapter 3)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
    best_cell, _ = chapters.BUDGET_CHAPTERS
    markers = dict(zip(chapters.BUDGET_CHAPTERS, "os"))
    colours = {name: f"C{i}" for i, name in enumerate(by_profile)} | {"paper": "C3"}
    seen = set()
    points = budget_points(by_profile)
    # chapter 2's best cell and chapter 3's full-size fraction of a profile can share a budget:
    # nudged apart (a few per cent on the log axis), each still stands over its budget
    shared = {(p["source"], p["budget"]) for p in points if p["experiment"] == best_cell} & {
        (p["source"], p["budget"]) for p in points if p["experiment"] != best_cell}
    for p in points:
        key = (p["source"], p["experiment"])
        first = p["experiment"] == best_cell
        what = "chapter 2's best cell" if first else "chapter 3, one data fraction"
        label = None if key in seen else f"{p['source']}: {what}"
        seen.add(key)
        if p["source"] == "paper":
            ax.scatter([p["budget"]], [p["gain"]], marker="*" if first else "x",
                       s=110 if first else 50, color=colours["paper"], label=label,
                       zorder=3)
            continue
        low, high = p["ci95"] or (p["gain"], p["gain"])
        x = p["budget"] * ((0.93 if first else 1.075) if (p["source"], p["budget"]) in shared else 1)
        ax.errorbar([x], [p["gain"]], yerr=[[p["gain"] - low], [high - p["gain"]]],
                    fmt=markers[p["experiment"]], capsize=3, color=colours[p["source"]], label=label,
                    alpha=0.85, markersize=8 if first else 6,
                    markeredgecolor="black" if first else None,
                    zorder=4 if first else 2)  # chapter 2's point stays visible on chapter 3's
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("student training budget (images seen = training images × epochs)")
    ax.set_ylabel("KD gain over no KD (pp, mean and 95 % CI)")
    ax.set_title("The KD gain against the student's training budget")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return fig
