import numpy as np
import pytest

from kdhelpers import report


def test_fmt():
    assert report.fmt({"mean": 87.314, "sd": 0.4249, "n": 3}) == "87.31 ± 0.42 (n=3)"


def test_glue_passes_numbers_raw_and_strings_as_markdown(monkeypatch):
    import myst_nb
    from IPython.display import Markdown

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: calls.append((name, value, display)))
    report.glue(gain=0.25, verdict="holds")
    assert calls[0] == ("gain", 0.25, False)
    assert calls[1][0] == "verdict" and isinstance(calls[1][1], Markdown)
    assert calls[1][1].data == "holds" and calls[1][2] is False


def test_glue_keeps_a_text_that_names_a_file_or_a_url_as_text(monkeypatch, tmp_path):
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: calls.append(value))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "holds").write_text("the contents of a file")
    report.glue(a=".", b="holds", c="https://example.org is cited")
    assert [m.data for m in calls] == [".", "holds", "https://example.org is cited"]


def test_plain_strings_get_the_apostrophes_the_page_around_them_has(monkeypatch):
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: calls.append((name, value)))
    report.glue(plain_strings=True, text="the paper's gain; the others' bounds; 'quoted'", n=3)
    assert calls == [("text", "the paper\u2019s gain; the others\u2019 bounds; \u2018quoted\u2019"), ("n", 3)]


def test_saved_claims_are_glued_for_the_prose(monkeypatch, tmp_path):
    import myst_nb

    from kdhelpers.store import Store

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value.data}))
    from kdhelpers import claims

    found = [claims.claim("a", "1 vs 2", [71.0, 72.0], [70.0, 70.5], paired=True),
             claims.claim("b", "-", ours="5")]
    report.save_results("exp9", "smoke", {"claims": found}, [], Store(tmp_path))
    assert glued["exp9_claim0_ours"] == found[0]["ours"] and "+1.25 pp" in found[0]["ours"]
    assert glued["exp9_claim1_verdict"] == "inconclusive" and glued["exp9_claim1_ours"] == "5"
    assert len(glued) == 6


def test_describe_teacher_names_width_epochs_and_accuracy():
    from types import SimpleNamespace

    from kdhelpers.config import RunConfig

    config = RunConfig("resnet18", width=0.5, epochs=12, data="sample")
    run = SimpleNamespace(config=config, run_id=config.run_id, metrics={"test_accuracy": 0.8513})
    line = report.describe_teacher(run)
    assert line == f"teacher: resnet18 ×0.5, 12 epochs, 85.13 % test\n  (run {config.run_id})"


def test_plateau_epoch_of_a_curve_that_levels_off():
    # rises 5 pp an epoch to 75 %, then wobbles about 80 %: the mean of epochs 12-14 (0.800)
    # is the first within 1 pp of the best 3-epoch mean (0.803); rounded up to 15
    curve = [0.25 + 0.05 * e for e in range(11)] + [0.805, 0.795, 0.80, 0.805, 0.80] * 4
    assert report.plateau_epoch(curve) == 15


def test_plateau_epoch_ignores_a_single_lucky_epoch():
    # unaveraged, the 80 % of epoch 6 would be the best epoch and the pick 10
    curve = [0.5] * 5 + [0.8] + [0.5] * 4 + [0.6 + 0.01 * e for e in range(20)]
    assert report.plateau_epoch(curve, window=1, minimum=5) == 10
    assert report.plateau_epoch(curve, minimum=5) == 30


def test_plateau_epoch_of_a_climbing_curve_is_the_probe_length():
    assert report.plateau_epoch([0.2 + 0.015 * e for e in range(40)]) == 40
    assert report.plateau_epoch([0.5, 0.6, 0.6]) == 3  # never more than the curve


def test_plateau_epoch_needs_a_window_of_epochs():
    with pytest.raises(ValueError, match="2 epochs is shorter than the averaging window"):
        report.plateau_epoch([0.5, 0.6])


def _runs(values, seeds=None):
    from types import SimpleNamespace

    return [SimpleNamespace(metrics={"test_accuracy": v / 100}, config=SimpleNamespace(seed=k))
            for k, v in zip(seeds or range(len(values)), values)]


def test_seed_dots_fit_our_runs_and_point_at_a_paper_value_beyond_them():
    import matplotlib

    matplotlib.use("Agg")
    from kdhelpers import plots

    sides = {"no KD": _runs([60.0, 61.0, 62.0]), "KD": _runs([63.0, 64.0, 65.0])}
    fig = plots.seed_dots(sides, title="t", paper_values={"no KD": 87.25, "KD": 64.5})
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert low <= 60.0 and 65.0 <= high < 87.25  # the paper's 87.25 does not stretch the axis
    assert [t.get_text() for t in ax.texts] == ["87.2"]  # ... it is written at the edge
    stars = [c for c in ax.collections if c.get_label() == "paper (one run)"]
    assert stars and list(stars[0].get_offsets()[0]) == [pytest.approx(0.88), 64.5]


def test_seed_dots_hold_every_interval_and_keep_the_legend_off_the_axes():
    import matplotlib

    matplotlib.use("Agg")
    from scipy import stats

    from kdhelpers import plots

    values = [60.0, 61.0, 64.0]  # three seeds: the t-interval reaches past the dots
    fig = plots.seed_dots({"a": _runs(values), "b": _runs([62.0, 62.5, 63.0])}, title="t")
    ax = fig.axes[0]
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3)
    low, high = ax.get_ylim()
    assert low < np.mean(values) - half < min(values) and max(values) < np.mean(values) + half < high
    fig.canvas.draw()  # the layout places the legend
    legend_box = fig.legends[0].get_window_extent(fig.canvas.get_renderer())
    ticks = ax.get_xaxis().get_tightbbox(fig.canvas.get_renderer())
    assert legend_box.y1 <= ticks.y0  # below the axes and their tick labels


@pytest.mark.parametrize("n_sides", [2, 3, 5, 10])
def test_seed_dots_lay_out_at_every_width(n_sides):
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from kdhelpers import plots

    sides = {f"side {i}": _runs([60.0 + i, 61.0 + i, 62.5 + i]) for i in range(n_sides)}
    fig = plots.seed_dots(sides, title="a title", paper_values={"side 0": 99.0, "side 1": 61.5})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied": the legend outgrew the figure
        fig.canvas.draw()
    legend = fig.legends[0].get_window_extent(fig.canvas.get_renderer())
    assert legend.x0 >= 0 and legend.x1 <= fig.bbox.x1


@pytest.mark.parametrize("labels", [["no KD", "KD"],
                                    ["no KD, LR never dropped (probe, seed 0)",
                                     "no KD, LR ×0.1 from epoch 15 (evaluation seeds)"]])
def test_learning_curves_keep_their_legend_within_the_figure(labels):
    """A legend wider than the figure widens the saved image (``bbox_inches="tight"``, as
    Jupyter's inline backend saves), and the page shrinks every text in it to fit the column."""
    import io
    from types import SimpleNamespace

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kdhelpers import plots

    run = SimpleNamespace(history=[{"accuracy": 0.5 + e / 100, "val_accuracy": 0.5 + e / 110}
                                   for e in range(10)])
    fig = plots.learning_curves({label: [run] for label in labels}, title="a title")
    width = fig.get_figwidth()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    buffer.seek(0)
    saved = plt.imread(buffer)
    assert saved.shape[1] <= (width + 2 * 0.1) * 100 + 1  # the inline backend's 0.1 in pad


def test_heatmaps_share_one_colour_scale_for_ours_and_the_papers():
    import matplotlib

    matplotlib.use("Agg")
    from kdhelpers import paper, plots

    ours = {(0.6, 4.0): 86.0, (0.6, 8.0): 88.0}  # overlapping the paper's 86.42-89.41
    fig = plots.grid_heatmaps(ours, paper.EXP2_GRID, title="t")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2 and images[0].get_clim() == images[1].get_clim()
    assert images[0].get_clim() == (86.0, 89.41)  # from our lowest to the paper's highest


@pytest.mark.parametrize("model, short", [("Intel(R) Xeon(R) Processor", "Intel Xeon"),
                                          ("AMD EPYC 7B13 64-Core Processor", "AMD EPYC 7B13 64-Core"),
                                          ("Intel(R) Xeon(R) CPU @ 2.20GHz", "Intel Xeon @ 2.20GHz"),
                                          ("x86_64", "x86_64")])
def test_short_cpu_drops_trademarks_and_filler_words(model, short):
    from kdhelpers.provenance import short_cpu

    assert short_cpu(model) == short


def test_seed_dots_name_the_paper_once_in_the_legend():
    import matplotlib

    matplotlib.use("Agg")
    from kdhelpers import plots

    sides = {name: _runs([60.0, 61.0]) for name in ("a", "b", "c")}
    fig = plots.seed_dots(sides, title="t", paper_values={"a": 87.0, "b": 88.0, "c": 60.5})
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(labels) == sorted(["ours, one dot per seed", "ours, mean ± 95 % CI",
                                     "paper (one run)", "paper (one run), beyond the axis (value printed)"])
    # the off-axis triangles sit inside the frame, whole, and print the paper's numbers
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    triangles = [c for c in ax.collections if c.get_label() == "paper (one run), beyond the axis (value printed)"]
    assert triangles and all(low < y < high for c in triangles for _, y in c.get_offsets())
    assert {t.get_text() for t in ax.texts} == {"87.0", "88.0"}


def test_seed_dots_join_same_seed_runs_only_within_their_group():
    import matplotlib

    matplotlib.use("Agg")
    from kdhelpers import plots

    sides = {f"{side} {f}": _runs([60.0 + i, 61.0 + i], seeds=[1, 2])
             for i, (f, side) in enumerate((f, side) for f in (5, 10) for side in ("no KD", "KD"))}
    lines = lambda fig: [l for l in fig.axes[0].lines if l.get_color() == "0.75"]
    joined = lines(plots.seed_dots(sides, title="t", join=2))
    assert len(joined) == 4  # two seeds x two fractions, never across fractions
    assert all(sorted(set(l.get_xdata())) in ([0, 1], [2, 3]) for l in joined)
    assert [len(l.get_xdata()) for l in lines(plots.seed_dots(sides, title="t"))] == [4, 4]


def test_heatmaps_keep_their_own_scales_when_the_regimes_do_not_overlap():
    import matplotlib

    matplotlib.use("Agg")
    from kdhelpers import paper, plots

    fig = plots.grid_heatmaps({(0.6, 4.0): 55.0, (0.6, 8.0): 58.0}, paper.EXP2_GRID, title="t")
    ours, theirs = [ax.images[0].get_clim() for ax in fig.axes if ax.images]
    assert ours == (55.0, 58.0) and theirs[0] > 80.0
    assert all(ax.get_title().endswith(", own colour scale") for ax in fig.axes if ax.images)


def test_heatmap_cells_print_negative_gains_with_a_minus_sign():
    import matplotlib

    matplotlib.use("Agg")
    from kdhelpers import paper, plots

    fig = plots.grid_heatmaps({(0.6, 4.0): 86.0, (0.6, 8.0): 88.0}, paper.EXP2_GRID, title="t",
                              baseline=87.0)
    cells = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "\u22121.0" in cells and "+1.0" in cells and not any("-" in t for t in cells)
    assert not any(ax.get_title().endswith("own colour scale") for ax in fig.axes if ax.images)


def test_a_pick_on_either_end_of_its_grid_is_named():
    tuning = {"AT": {10.0: None, 100.0: None, 1000.0: None}, "hint": {1.0: None, 10.0: None}, "one": {5.0: None}}
    assert report.edge_picks(tuning, {"AT": 100.0, "hint": 1.0, "one": 5.0}) == [
        "the hint pick 1 is the smallest of its candidates (1, 10)"]
    assert report.edge_picks(tuning, {"AT": 1000.0, "hint": 10.0, "one": 5.0}) == [
        "the AT pick 1000 is the largest of its candidates (10, 100, 1000)",
        "the hint pick 10 is the largest of its candidates (1, 10)"]


def test_the_claims_table_of_a_chapter_beyond_the_paper_has_no_paper_columns():
    from kdhelpers import claims

    ours = claims.claim("AT beats KD (beyond the paper)", "not in the paper", [72.0, 73.0], [70.0, 71.5])
    papers = claims.claim("KD helps", "87 vs 85", [72.0, 73.0], [70.0, 71.5], paper_gain=2.0)
    assert report.claims_table([ours]).data.splitlines()[0] == "| claim | ours: gain, 95 % CI | verdict |"
    assert report.claims_table([ours, papers]).data.splitlines()[0] == (
        "| claim | paper | ours: gain, 95 % CI | vs paper | verdict |")


def test_the_claims_table_gives_the_corrected_verdict_where_it_differs():
    from kdhelpers import claims

    # lower bounds: +0.16 on its own, -0.026 corrected for the chapter's 3 claims
    bare = claims.claim("bare", "p", [1.0, 0.3, 0.9, 0.2, 0.6], [0.0] * 5, paired=True, paper_gain=0.5)
    strong = [claims.claim(f"strong {k}", "p", [5.0 + k, 5.5, 6.0], [1.0, 1.2, 0.9], paired=True,
                           paper_gain=1.0) for k in (1, 2)]
    rows = report.claims_table([bare, *strong]).data.splitlines()
    assert rows[2].endswith("| **holds** (corrected for the chapter's claims: inconclusive) |")
    assert rows[3].endswith("| **holds** |")


def test_glued_verdict_carries_the_correction_where_it_changes_it(monkeypatch, tmp_path):
    """The prose quotes a verdict with its corrected one where the correction for the
    chapter's two claims loses it, the bare verdict where not."""
    import myst_nb

    from kdhelpers import claims
    from kdhelpers.store import Store

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value.data}))
    weak = claims.claim("a", "p", [71.0, 72.0, 71.6, 71.5], [70.0, 70.0, 71.0, 70.4], paired=True)
    strong = claims.claim("b", "p", [75.0, 76.0, 77.0], [70.0, 71.0, 72.0], paired=True)
    report.save_results("exp9", "smoke", {"claims": [weak, strong]}, [], Store(tmp_path))
    assert glued["exp9_claim0_verdict"] == "holds; inconclusive after the correction for the chapter's claims"
    assert glued["exp9_claim1_verdict"] == "holds"
    assert report.verdict_text(weak, [weak]) == "holds"  # alone, nothing to correct for


def test_verdict_changes_names_each_claim_whose_verdict_differs_with_its_corrected_verdict():
    from kdhelpers import claims

    weak = claims.claim("a (beyond the paper)", "p", [71.0, 72.0, 71.6, 71.5], [70.0, 70.0, 71.0, 70.4], paired=True)
    strong = claims.claim("b", "p", [75.0, 76.0, 77.0], [70.0, 71.0, 72.0], paired=True)
    unclear = claims.claim("a", "p", [70.0, 72.0, 69.0], [70.0, 71.0, 70.5], paired=True)
    # at cpu both hold, the weak one only before the correction for the chapter's two claims;
    # here "a" is inconclusive and "b" holds as there; a claim only here is left out
    there = [weak, strong]
    here = [{**unclear, "claim": weak["claim"]}, strong,
            claims.claim("c", "p", [1.0, 2.0, 3.0], [0.0, 1.0, 2.0], paired=True)]
    assert report.verdict_changes(here, there, "cpu") == (
        "1 of the 2 verdicts differs between `cpu` and this profile: a (holds but inconclusive after "
        "the correction there, inconclusive here).")
    assert report.verdict_changes(there, there, "cpu") == (
        "All 2 verdicts are the same at `cpu` and at this profile.")
    assert report.verdict_changes([here[2]], there, "cpu") == "No claim of this page was tested at `cpu`."
    # the same verdict on its own, another after the correction: "a" holds at both profiles,
    # but only here does it survive the correction (alone here, nothing to correct for)
    assert report.verdict_changes([weak], there, "cpu") == (
        "The verdict differs between `cpu` and this profile: a (holds but inconclusive after "
        "the correction there, holds here).")
