"""A chapter and a profile added the documented way (README, "Where things go") are planned,
trained and scored like the book's own: nothing in ``program``, ``scorecard`` or ``book``
names a chapter."""

import pytest

from kdhelpers import chapters, claims, profiles, program, report, scorecard, stages
from kdhelpers.config import RunConfig
from kdhelpers.store import Store


def toy_runs(s: dict) -> dict:
    """MNIST, one epoch on the sample: a teacher, no-KD students over the evaluation seeds,
    and a KD grid at the selection seed."""
    common = dict(epochs=1, batch_size=s["batch_size"], **s["common"])
    teacher = RunConfig("mnist_teacher", seed=0, **common)
    return {
        "teacher": teacher,
        "baseline": [RunConfig("mnist_student", seed=k, **common) for k in s["seeds"]],
        "grid": {(a, t): RunConfig("mnist_student", seed=s["selection_seed"],
                                   teacher=teacher.run_id, alpha=a, temperature=t, **common)
                 for a in s["alphas"] for t in s["temperatures"]},
    }


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.delenv(profiles.PROFILE_ENV, raising=False)  # conftest's smoke would override "toy"
    profiles.register_profile("toy", like="smoke", seeds=[3, 4])
    profiles.register_experiment("toy1", {"toy": dict(alphas=[0.3, 0.9], temperatures=[3.0]),
                                          "*": dict(batch_size=64)})
    chapters.register(chapters.Chapter("toy1", "toy1.ipynb", "beyond", toy_runs,
                                       stages.GridThenSeeds()))
    try:
        yield
    finally:
        chapters.unregister("toy1")
        profiles.unregister(profile="toy", experiment="toy1")


def test_registering_adds_the_chapter_and_profile_everywhere_and_unregistering_removes_them(toy):
    assert "toy1" in profiles.EXPERIMENTS and "toy1" in chapters.EXPERIMENTS
    assert chapters.EXPERIMENTS[-1] == "toy1"  # after the book's chapters, before the summaries
    assert chapters.CHAPTERS[-len(chapters.SUMMARIES) - 1].key == "toy1"
    assert "toy" in profiles.PROFILES
    settings = profiles.resolve("toy1", "toy", honour_env=False)
    assert settings["seeds"] == [3, 4] and settings["alphas"] == [0.3, 0.9]
    with pytest.raises(ValueError, match="toy1 has no settings for profile 'cpu'"):
        profiles.resolve("toy1", "cpu", honour_env=False)
    with pytest.raises(ValueError, match="exists already"):
        chapters.register(chapters.BY_KEY["toy1"])


def test_unregistered_toy_leaves_no_trace():
    assert "toy1" not in chapters.BY_KEY and "toy" not in profiles.PROFILES


def test_a_toy_chapter_is_planned_trained_and_scored(toy, tmp_path):
    store = Store(tmp_path / "artifacts")
    before = program.plan(["toy1"], "toy", store)["chapters"]["toy1"]
    assert len(before["todo"]) == 1 + 2 + 2  # teacher, two baselines, two grid cells
    assert before["waiting"] == 2  # the grid waits for its teacher
    [pending] = before["pending"]
    assert pending["runs"] == 2 and "validation-best cell" in pending["after"]

    assert program.train(["toy1"], "toy", store, progress=False) == 7
    after = program.plan(["toy1"], "toy", store)["chapters"]["toy1"]
    assert (after["todo"], after["pending"], after["done"]) == ([], [], 7)

    s = profiles.resolve("toy1", "toy", honour_env=False)
    built = toy_runs(s)
    grid = {key: store.load(c.run_id) for key, c in built["grid"].items()}
    best = report.best_cell(grid)
    kd = [store.load(c.run_id) for c in
          program.chapter_plan("toy1", s, store).runs[-2:]]  # the picked cell over the seeds
    assert [(r.config.alpha, r.config.temperature) for r in kd] == [best, best]
    assert [r.config.seed for r in kd] == s["seeds"]
    baseline = [store.load(c.run_id) for c in built["baseline"]]
    claim = claims.claim("toy: KD beats no KD", "not in the paper", kd, baseline)
    report.save_results("toy1", "toy", {"claims": [claim]}, kd + baseline, store)

    by_profile = scorecard.results_by_profile(store)
    assert list(by_profile) == ["toy"]
    assert [(e, c["claim"]) for e, c in scorecard.all_claims(by_profile["toy"])] == [
        ("toy1", "toy: KD beats no KD")]
    table = scorecard.tallies(by_profile).data
    assert f"| toy | beyond the paper | 1 | {int(claim['verdict'] == 'holds')} |" in table


def test_run_chapter_trains_what_the_declaration_names_choices_included(toy, tmp_path):
    store = Store(tmp_path / "artifacts")
    s = profiles.resolve("toy1", "toy", honour_env=False)
    final = program.run_chapter("toy1", s, store)
    assert len(final.runs) == 7 and not final.pending
    assert all(store.exists(c.run_id) for c in final.runs)
    assert program.plan(["toy1"], "toy", store)["chapters"]["toy1"]["todo"] == []
