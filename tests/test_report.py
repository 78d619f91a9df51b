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
