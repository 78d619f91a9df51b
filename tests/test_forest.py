"""The forest plot draws every claim where its numbers say, and an interval's text never shows
a bound tighter than the exact one, nor one that seems to touch zero when it does not."""

import math
import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.colors import to_hex  # noqa: E402

from kdhelpers import claims, forest, scorecard  # noqa: E402

# --- interval text ---------------------------------------------------------------------


@pytest.mark.parametrize("ci, text", [
    ([0.00032546390648154067, 0.21567453609350962], "[+0.0003, +0.22]"),  # cpu chapter 1
    ([0.0004, 0.22], "[+0.0004, +0.22]"),
    ([1.2897789409248377, 2.3502210590751544], "[+1.28, +2.36]"),  # outward, not to nearest
    ([-7.789554968649421, -0.7424450313505826], "[-7.79, -0.74]"),
    ([-1.2, 3.4], "[-1.20, +3.40]"),
    ([-0.0003, -0.00002], "[-0.01, -0.00002]"),  # an upper bound below zero stays below it
    ([0.29, 1.005], "[+0.29, +1.01]"),  # 0.29 is not widened to 0.28 by 0.29 * 100 = 28.99...
    ([0.00003, 0.1], "[+0.00003, +0.10]"),  # past four digits: the first significant one
])
def test_interval_text_rounds_outward_and_never_prints_zero_for_a_nonzero_bound(ci, text):
    assert claims.interval_text(ci) == text


def test_interval_text_contains_the_exact_interval_and_keeps_each_bound_sign():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        low, high = sorted(rng.normal(0, 1, 2) * 10.0 ** rng.integers(-5, 2, 2))
        printed = [float(b) for b in re.findall(r"[+-][0-9.]+", claims.interval_text([low, high]))]
        assert printed[0] <= low and printed[1] >= high
        assert np.sign(printed[0]) == np.sign(low) and np.sign(printed[1]) == np.sign(high)
        decimals = [len(b.split(".")[1]) for b in re.findall(r"[0-9.]+", claims.interval_text([low, high]))]
        assert min(decimals) >= 2


def test_interval_text_never_prints_a_bound_equal_to_the_paper_gain_it_excludes():
    # chapter 3 at converged: the upper bound -5.0302 lies below the paper's -5.03 ("does not
    # hold", "lower than the paper's"); at two decimals it would print as the paper's value
    assert claims.interval_text([-6.54, -5.0302], reference=-5.030000000000001) == "[-6.54, -5.0302]"
    assert claims.interval_text([-6.54, -5.0302]) == "[-6.54, -5.03]"
    # a bound equal to the reference prints as it is, and a reference elsewhere changes nothing
    assert claims.interval_text([-6.54, -5.03], reference=-5.03) == "[-6.54, -5.03]"
    assert claims.interval_text([1.2897789409248377, 2.35], reference=2.16) == "[+1.28, +2.35]"
    # the claim's own description does the same: a paper gain just above the upper bound
    a, b = [80.0, 80.5, 81.0], [85.5, 86.0, 86.0]
    upper = claims.claim("x", "p", a, b, paired=True)["ci95"][1]
    paper_gain = math.ceil(upper * 100) / 100  # prints like the upper bound at two decimals
    result = claims.claim("x", "p", a, b, paired=True, paper_gain=paper_gain)
    printed_upper = float(re.findall(r"[+-][0-9.]+", result["ours"].split("CI")[1])[1])
    assert result["size"] == "smaller" and upper <= printed_upper < paper_gain


def test_interval_text_without_an_interval():
    assert claims.interval_text(None) == "no CI"


def test_gain_text_and_describe_print_the_outward_interval():
    c = {"gain": 0.10799999999999557, "ci95": [0.00032546390648154067, 0.21567453609350962]}
    assert scorecard.gain_text(c) == "+0.11 [+0.0003, +0.22]"
    result = claims.claim("KD helps", "p", [70.0, 71.0, 72.0], [60.0, 61.5, 61.0], paired=True)
    assert f"95 % CI {claims.interval_text(result['ci95'])}," in result["ours"]


# --- the forest plot -------------------------------------------------------------------

HOLDS = claims.claim("KD beats no KD (T=4 vs none)", "p", [70.0, 71.0, 72.0], [60.0, 61.5, 61.0],
                     paired=True, paper_gain=2.0)
UNCLEAR = claims.claim("T matters", "p", [70.0, 60.0], [65.0, 66.0], paired=True, paper_gain=-1.0)
CPU_ONLY = claims.claim("KD beats no KD with 2 % of the data", "p", [50.0, 52.0, 51.0],
                        [49.0, 50.5, 50.2], paired=True)
NO_CI = claims.claim("One run each", "p", [70.0], [65.0], paper_gain=3.0)
UNTESTED = claims.claim("TA helps", "p", [50.0, 51.0], [49.0, 50.0], tested=False,
                        why="weak teacher", paper_gain=1.5)
WORSE = claims.claim("Chain beats direct", "p", [60.0, 61.0, 60.5], [65.0, 66.0, 65.2],
                     paired=True, paper_gain=1.0)
BEYOND = claims.claim("AT beats KD (beyond the paper)", "not run", [72.0, 73.0, 72.5],
                      [70.0, 71.0, 70.2])


@pytest.fixture
def by_profile():
    converged = {"exp2": {"results": {"claims": [
        {**HOLDS, "claim": "KD beats no KD (T=8 vs none)"}, UNCLEAR]}},  # another setting
        "exp6": {"results": {"claims": [WORSE]}}}
    cpu = {"exp2": {"results": {"claims": [HOLDS, UNCLEAR, CPU_ONLY]}},
           "exp3": {"results": {"claims": [NO_CI]}},
           "exp6": {"results": {"claims": [UNTESTED, WORSE]}},
           "exp7": {"results": {"claims": [BEYOND]}}}
    return {"cpu": cpu, "converged": converged, "smoke": {}}


@pytest.fixture
def figure(by_profile):
    import matplotlib.pyplot as plt

    fig = forest.forest_plot(by_profile)
    yield fig
    plt.close(fig)


def panels(fig) -> dict:
    return {ax.get_title().split(" ")[0]: ax for ax in fig.axes if ax.get_title()}


def drawn(ax, kind: str) -> dict:
    """``{claim text: Line2D}`` of one kind of mark (``ci``, ``gain``, ``paper``) in a panel."""
    return {line.get_gid().split(":", 1)[1]: line for line in ax.get_lines()
            if (line.get_gid() or "").startswith(kind + ":")}


def texts(fig, gid: str) -> list:
    return [t for t in fig.texts if t.get_gid() == gid]


MERGED = "KD beats no KD (converged: T=8 vs none; cpu: T=4 vs none)"


def test_rows_group_claims_by_chapter_paper_first_and_merge_a_claim_across_settings(by_profile):
    rows = forest.forest_rows(by_profile)
    assert [(r.kind, r.experiment) for r in rows] == [
        ("part", None), ("chapter", "exp2"), ("claim", "exp2"), ("claim", "exp2"),
        ("claim", "exp2"), ("chapter", "exp3"), ("claim", "exp3"), ("chapter", "exp6"),
        ("claim", "exp6"), ("claim", "exp6"), ("part", None), ("chapter", "exp7"),
        ("claim", "exp7")]
    claim_rows = [r for r in rows if r.kind == "claim"]
    # the two settings of one claim are one row, named by what they share and then each setting
    assert claim_rows[0].text == MERGED
    assert set(claim_rows[0].claims) == {"converged", "cpu"}
    assert claim_rows[2].text == CPU_ONLY["claim"] and set(claim_rows[2].claims) == {"cpu"}
    # a claim only cpu ran keeps its place before the one both ran
    assert [r.text for r in claim_rows[4:6]] == ["TA helps", "Chain beats direct"]
    assert rows[10].text == forest.PART_HEADERS["beyond"]


def test_one_label_per_claim_at_its_row(figure, by_profile):
    rows = forest.forest_rows(by_profile)
    claim_rows = [r for r in rows if r.kind == "claim"]
    labels = texts(figure, "label")
    assert [t.get_text() for t in labels] == [forest.short_label(r.text) for r in claim_rows]
    assert len(texts(figure, "chapter")) == 4 and len(texts(figure, "part")) == 2
    ci = drawn(panels(figure)["cpu"], "ci")
    for label, row in zip(labels, claim_rows):
        if row.text in ci:
            assert ci[row.text].get_ydata()[0] == pytest.approx(label.get_position()[1])


def test_each_bar_spans_its_ci_and_is_coloured_by_the_verdict(figure, by_profile):
    ax = panels(figure)
    for profile in ("converged", "cpu"):
        ci, gain = drawn(ax[profile], "ci"), drawn(ax[profile], "gain")
        expected = {r.text: r.claims[profile] for r in forest.forest_rows(by_profile)
                    if profile in r.claims and r.claims[profile]["tested"]}
        assert set(gain) == set(expected)
        assert set(ci) == {text for text, c in expected.items() if c["ci95"] is not None}
        for text, c in expected.items():
            colour = forest.VERDICT_COLOURS[c["verdict"]].lower()
            assert list(gain[text].get_xdata()) == [c["gain"]]
            assert to_hex(gain[text].get_markeredgecolor()) == colour
            if c["ci95"] is not None:
                assert list(ci[text].get_xdata()) == list(c["ci95"])
                assert to_hex(ci[text].get_color()) == colour
    verdicts = {text: to_hex(line.get_color()) for text, line in drawn(ax["cpu"], "ci").items()}
    assert verdicts[MERGED] == forest.VERDICT_COLOURS["holds"].lower()
    assert verdicts["Chain beats direct"] == forest.VERDICT_COLOURS["does not hold"].lower()
    assert verdicts["T matters"] == forest.VERDICT_COLOURS["inconclusive"].lower()


def test_the_paper_marker_sits_at_the_papers_gain(figure):
    paper = {p: {text: list(line.get_xdata()) for text, line in drawn(ax, "paper").items()}
             for p, ax in panels(figure).items()}
    assert paper["cpu"] == {MERGED: [2.0], "T matters": [-1.0], "One run each": [3.0],
                            "TA helps": [1.5], "Chain beats direct": [1.0]}
    # a claim converged did not run still shows the paper's gain there, as cpu's untested one does
    assert paper["converged"] == {MERGED: [2.0], "T matters": [-1.0], "One run each": [3.0],
                                  "TA helps": [1.5], "Chain beats direct": [1.0]}


def test_a_panel_that_did_not_run_a_claim_draws_no_paper_gain_the_profiles_disagree_on():
    row = forest.Row("claim", "KD beats no KD", "exp2",
                     {"cpu": {**HOLDS, "paper_gain": 2.0}, "converged": {**HOLDS, "paper_gain": 1.0}})
    assert [forest.row_paper_gain(row, p) for p in ("cpu", "converged", "smoke")] == [2.0, 1.0, None]
    row.claims.pop("converged")
    assert forest.row_paper_gain(row, "smoke") == 2.0
    # a gain in another measure than accuracy is never drawn on the accuracy axis
    row.claims["cpu"]["measure"] = "top1"
    assert forest.row_paper_gain(row, "cpu") is None and forest.row_paper_gain(row, "smoke") is None


def test_missing_untested_and_unmeasured_claims_are_notes_in_their_rows(figure):
    ax = panels(figure)
    notes = {p: sorted(t.get_text() for t in a.texts if t.get_gid() == "note") for p, a in ax.items()}
    # converged: chapter 2's and chapter 6's cpu-only claims, chapters 3 and 7
    assert notes["converged"] == ["not run"] * 4  # the panel title names the profile
    assert notes["cpu"] == ["not tested"]
    assert "TA helps" not in drawn(ax["cpu"], "gain")
    assert "One run each" in drawn(ax["cpu"], "gain") and "One run each" not in drawn(ax["cpu"], "ci")


def test_the_title_names_the_profiles_and_each_panel_its_own(figure):
    title = texts(figure, "title")[0].get_text()
    assert "converged" in title and "cpu" in title and "smoke" not in title
    assert list(panels(figure)) == ["converged", "cpu"]  # the headline on the left


def test_compact_draws_the_same_marks_under_chapter_names(by_profile):
    import matplotlib.pyplot as plt

    fig = forest.forest_plot(by_profile, compact=True)
    full = forest.forest_plot(by_profile)
    try:
        assert texts(fig, "label") == [] and len(texts(fig, "chapter")) == 4
        for profile in ("converged", "cpu"):
            for kind in ("ci", "gain", "paper"):
                assert ({t: list(l.get_xdata()) for t, l in drawn(panels(fig)[profile], kind).items()}
                        == {t: list(l.get_xdata()) for t, l in drawn(panels(full)[profile], kind).items()})
    finally:
        plt.close(fig)
        plt.close(full)


def test_a_single_profile_is_one_panel():
    import matplotlib.pyplot as plt

    fig = forest.forest_plot({"cpu": {"exp2": {"results": {"claims": [HOLDS]}}}})
    try:
        assert list(panels(fig)) == ["cpu"] and "profiles" not in texts(fig, "title")[0].get_text()
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="no results"):
        forest.forest_plot({"smoke": {}})


def test_short_label_wraps_on_at_most_three_lines_and_never_inside_a_parenthesis():
    text = "CIFAR-10: the best (α, T) cell beats the no-KD baseline at every setting we tried"
    label = forest.short_label(text, 40)
    assert "no KD" in label and 2 <= label.count("\n") + 1 <= 3
    assert "(α,\u00a0T)" in label
    assert all(len(line) <= 40 for line in label.splitlines())
    assert forest.short_label("AT beats KD (beyond the paper)") == "AT beats KD"


@pytest.mark.parametrize("text", [
    "The gain shrinks as data grow (converged: 5 % vs 100 %; cpu: 2 % vs 15 %)",
    "Higher temperature works better for this pair (the grid's highest T vs its lowest)",
    "A 4-conv teacher teaches the 2-conv student at least as well as the 10-conv one"])
def test_short_labels_break_between_words_into_lines_of_similar_length(text):
    from kdhelpers.forest import short_label

    lines = short_label(text).split("\n")
    assert " ".join(lines).replace("\u00a0", " ") == text  # every word whole, none lost
    assert not any(line.startswith("%") for line in lines)  # a number keeps its unit
    assert max(map(len, lines)) - min(map(len, lines)) <= 12  # no orphan word on a line


def test_a_verdict_the_chapters_correction_does_not_keep_is_an_open_dot_in_its_colour():
    import matplotlib.pyplot as plt

    # lower bounds: +0.16 on its own, -0.026 corrected for the chapter's 3 claims
    bare = claims.claim("Bare", "p", [1.0, 0.3, 0.9, 0.2, 0.6], [0.0] * 5, paired=True)
    strong = [claims.claim(f"Strong {k}", "p", [5.0 + k, 5.5, 6.0], [1.0, 1.2, 0.9], paired=True)
              for k in (1, 2)]
    fig = forest.forest_plot({"cpu": {"exp3": {"results": {"claims": [bare, *strong]}}}}, ["cpu"])
    gain = drawn(panels(fig)["cpu"], "gain")
    green = forest.VERDICT_COLOURS["holds"].lower()
    assert to_hex(gain["Bare"].get_markeredgecolor()) == green
    assert to_hex(gain["Bare"].get_markerfacecolor()) == "#ffffff"
    assert to_hex(gain["Strong 1"].get_markerfacecolor()) == green
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    from matplotlib.lines import Line2D

    # its entry shows both: an open green and an open orange dot (the grey one is inconclusive)
    open_dots = {to_hex(line.get_markeredgecolor()) for line in fig.legends[0].findobj(Line2D)
                 if line.get_marker() == "o" and to_hex(line.get_markerfacecolor()) == "#ffffff"}
    plt.close(fig)
    assert "open green or orange: lost after correction" in legend
    assert {green, forest.VERDICT_COLOURS["does not hold"].lower()} <= open_dots


def test_a_claim_in_another_measure_is_written_in_its_row_and_leaves_the_axis_to_accuracy():
    """Chapter 2's confidence claims (points of top-1 probability, nats of entropy) are no
    accuracy gains: on the axis, a teacher's +20 points would squeeze every accuracy interval;
    their row says the measure and the gain, in the verdict's colour."""
    import matplotlib.pyplot as plt

    confident = {**claims.claim("The teacher is more confident", "p", [96.0, 97.0, 96.5],
                                [76.0, 77.0, 76.2], paired=True), "measure": "top1"}
    calmer = {**claims.claim("Lower entropy", "p", [0.5, 0.6, 0.55], [0.4, 0.5, 0.42],
                             paired=True), "measure": "entropy"}
    by_profile = {"cpu": {"exp2": {"results": {"claims": [HOLDS, confident, calmer]}}}}
    fig = forest.forest_plot(by_profile, profiles=("cpu",))
    [ax] = panels(fig).values()
    assert set(drawn(ax, "gain")) == {HOLDS["claim"]}
    assert ax.get_xlim()[1] < 15  # HOLDS' interval (about +8 to +12) sets the scale, not +20
    notes = {t.get_text(): to_hex(t.get_color()) for t in ax.texts if t.get_gid() == "note"}
    assert notes == {"top-1 prob. +20.10 pp": forest.VERDICT_COLOURS["holds"].lower(),
                     "entropy +0.11 nats": forest.VERDICT_COLOURS[calmer["verdict"]].lower()}
    # from the panel's left edge: centred, the text's place would read as a value on the axis
    assert {t.get_ha() for t in ax.texts if t.get_gid() == "note"} == {"left"}
    plt.close(fig)


def test_the_full_figure_gives_its_key_above_the_rows_and_the_compact_one_below(by_profile):
    """The scorecard's figure is taller than a screen: a reader starts at its top."""
    import matplotlib.pyplot as plt

    for compact in (False, True):
        fig = forest.forest_plot(by_profile, compact=compact)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        key = fig.legends[0].get_window_extent(renderer)
        rows = [ax.get_window_extent(renderer) for ax in panels(fig).values()]
        plt.close(fig)
        if compact:
            assert key.y1 < min(r.y0 for r in rows)
        else:
            assert key.y0 > max(r.y1 for r in rows)


def test_the_headline_panel_is_the_wider_one(figure):
    widths = {p: ax.get_position().width for p, ax in panels(figure).items()}
    assert widths["converged"] > 1.2 * widths["cpu"]


def test_one_note_for_several_rows_lies_on_a_band_across_exactly_those_rows():
    """A "not run" centred between rows would read as the note of one of them."""
    import matplotlib.pyplot as plt

    other = claims.claim("KD beats no KD with 5 % of the data", "p", [50.0, 52.0, 51.0],
                         [49.0, 50.5, 50.2], paired=True)
    by_profile = {"converged": {"exp2": {"results": {"claims": [HOLDS]}}},
                  "cpu": {"exp2": {"results": {"claims": [HOLDS]}},
                          "exp3": {"results": {"claims": [CPU_ONLY, other]}}}}
    fig = forest.forest_plot(by_profile)
    fig.canvas.draw()
    ax = panels(fig)
    bands = [p for p in ax["converged"].patches if (p.get_gid() or "").startswith("note band")]
    assert not [p for p in ax["cpu"].patches if (p.get_gid() or "").startswith("note band")]
    [band] = bands
    extent = band.get_window_extent(fig.canvas.get_renderer())
    row_y = {text: ax["cpu"].transData.transform((0, line.get_ydata()[0]))[1]
             for text, line in drawn(ax["cpu"], "gain").items()}
    plt.close(fig)
    inside = {text for text, y in row_y.items() if extent.y0 < y < extent.y1}
    assert inside == {CPU_ONLY["claim"], other["claim"]}


def test_a_dot_on_the_papers_diamond_has_a_white_halo_and_no_other_dot_does():
    """The halo parts an open dot from its bar and the diamond under it; elsewhere it would
    only cut the bar."""
    import matplotlib.pyplot as plt
    from matplotlib.patheffects import withStroke

    on = claims.claim("On the diamond", "p", [60.0, 61.0, 60.5], [58.0, 59.0, 58.6], paired=True,
                      paper_gain=1.98)
    off = claims.claim("Off the diamond", "p", [60.0, 61.0, 60.5], [58.0, 59.0, 58.6], paired=True,
                       paper_gain=6.0)
    fig = forest.forest_plot({"cpu": {"exp2": {"results": {"claims": [on, off]}}}}, ["cpu"])
    [ax] = panels(fig).values()
    gain, paper = drawn(ax, "gain"), drawn(ax, "paper")
    plt.close(fig)
    [halo] = gain["On the diamond"].get_path_effects()
    assert isinstance(halo, withStroke)
    assert not gain["Off the diamond"].get_path_effects()
    assert all(p.get_zorder() < g.get_zorder() for p in paper.values() for g in gain.values())


def test_a_note_keeps_off_the_zero_line_where_the_row_leaves_room():
    import matplotlib.pyplot as plt

    # converged's axis runs about -5 to +5: a centred note would sit on its zero line
    up = claims.claim("Up", "p", [65.0, 66.0, 65.5], [60.0, 61.0, 60.4], paired=True)
    down = claims.claim("Down", "p", [60.0, 61.0, 60.4], [65.0, 66.0, 65.5], paired=True)
    by_profile = {"converged": {"exp2": {"results": {"claims": [up, down]}}},
                  "cpu": {"exp2": {"results": {"claims": [up, down, CPU_ONLY]}}}}
    fig = forest.forest_plot(by_profile)
    fig.canvas.draw()
    ax = panels(fig)["converged"]
    [note] = [t for t in ax.texts if t.get_gid() == "note"]
    box = note.get_window_extent(fig.canvas.get_renderer())
    zero = ax.transData.transform((0, 0))[0]
    plt.close(fig)
    assert not box.x0 <= zero <= box.x1
