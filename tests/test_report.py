import pytest

from kdhelpers import report


def stat(values):
    import numpy as np

    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "n": len(values), "values": values}


@pytest.mark.parametrize("better, worse, expected", [
    ([88.0, 88.2, 88.1], [87.0, 87.1, 86.9], "holds"),
    ([87.0, 87.1, 86.9], [88.0, 88.2, 88.1], "does not hold (reversed)"),
    ([88.0, 87.0, 88.5], [87.5, 88.2, 87.4], "inconclusive"),
    ([88.0], [87.0, 87.2], "inconclusive (single run)"),
    ([86.0], [87.0, 87.2], "does not hold (single run)"),
])
def test_verdict(better, worse, expected):
    assert report.verdict(stat(better), stat(worse)) == expected


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
    claims = [report.claim("a", "1 vs 2", "3 vs 4", "holds"), report.claim("b", "-", "5", "inconclusive")]
    report.save_results("exp9", "smoke", {"claims": claims}, Store(tmp_path))
    assert glued["exp9_claim0_ours"] == "3 vs 4" and glued["exp9_claim1_verdict"] == "inconclusive"
    assert len(glued) == 6


def test_describe_teacher_names_width_epochs_and_accuracy():
    from types import SimpleNamespace

    from kdhelpers.config import RunConfig

    config = RunConfig("resnet18", width=0.5, epochs=12, data="sample")
    run = SimpleNamespace(config=config, run_id=config.run_id, metrics={"test_accuracy": 0.8513})
    line = report.describe_teacher(run)
    assert line == f"teacher: resnet18 ×0.5, 12 epochs, 85.13 % test (run {config.run_id})"
