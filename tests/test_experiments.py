"""The run lists behind each chapter: fair baselines, seeds, and model selection on validation."""

import pytest

from kdhelpers import experiments, profiles, program

# What may differ between a KD run and the no-KD run it is compared with.
KD_FIELDS = {"teacher", "alpha", "temperature", "seed", "feature", "feature_weight",
             "virtual_teacher"}


@pytest.fixture(autouse=True)
def every_profile_for_real(monkeypatch):
    """conftest.py sets KDHELPERS_PROFILE=smoke for nbval, which would override the profile
    each test asks for."""
    monkeypatch.delenv("KDHELPERS_PROFILE", raising=False)


def protocol(config):
    return {k: v for k, v in config.to_dict().items() if k not in KD_FIELDS}


@pytest.mark.parametrize("profile", profiles.PROFILES)
@pytest.mark.parametrize("name", ["exp2", "exp4", "exp5"])
def test_grid_cells_share_the_baseline_protocol(profile, name):
    runs = getattr(experiments, name)(profiles.resolve(name, profile))
    baseline = protocol(runs["baseline"][0])
    assert all(protocol(c) == baseline for c in runs["baseline"] + list(runs["grid"].values()))
    assert [c.seed for c in runs["baseline"]] == profiles.resolve(name, profile)["seeds"]


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_exp2_probe_is_the_baseline_protocol_at_the_selection_seed_without_the_drop(profile):
    s = profiles.resolve("exp2", profile)
    runs = experiments.exp2(s)
    if not s["probe_epochs"]:
        assert "probe" not in runs
        return
    probe, baseline = runs["probe"], runs["baseline"][0]
    assert (probe.seed, probe.epochs, probe.schedule, probe.teacher) == (
        s["selection_seed"], s["probe_epochs"], "none", None)
    different = {k for k, v in probe.to_dict().items() if baseline.to_dict()[k] != v}
    assert different <= {"seed", "epochs", "schedule"}
    assert probe.run_id not in {c.run_id for c in runs["baseline"] + list(runs["grid"].values())}


def test_exp2_probes_where_the_profile_asks():
    assert profiles.resolve("exp2", "converged")["probe_epochs"] == 30
    assert profiles.resolve("exp2", "cpu")["probe_epochs"] == 0
    assert profiles.resolve("exp2", "converged", probe_epochs=0)["probe_epochs"] == 0


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_exp3_compares_kd_and_no_kd_on_the_same_data_and_seeds(profile):
    runs = experiments.exp3(profiles.resolve("exp3", profile))
    for fraction, plain in runs["no_kd"].items():
        kd = runs["kd"][fraction]
        assert [protocol(c) for c in kd] == [protocol(c) for c in plain]
        assert [c.seed for c in kd] == [c.seed for c in plain] and len(plain) >= 2
        assert all(c.fraction == fraction for c in plain)


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_exp7_methods_share_one_protocol_and_seeds(profile):
    s = profiles.resolve("exp7", profile)
    methods = experiments.exp7_methods(s, at_weight=10.0, hint_weight=1.0)
    reference = protocol(methods["no KD"][0])
    for name, configs in methods.items():
        assert [c.seed for c in configs] == s["seeds"], name
        assert all(protocol(c) == reference for c in configs), name
    assert {c.feature for c in methods["attention transfer"]} == {"at"}
    assert {c.alpha for c in methods["attention transfer"]} == {0.0}
    assert {c.alpha for c in methods["logit KD + attention transfer"]} == {s["alpha"]}
    assert {c.teacher for c in methods["virtual teacher (Tf-KD)"]} == {None}


def test_exp7_logit_kd_at_converged_is_chapter_2s_pick_and_reuses_its_runs():
    """At converged, chapter 7's logit KD is chapter 2's validation pick (the profile states
    it, so the runs it names do not depend on a result file): the two must agree, and then
    chapter 7's logit-KD runs are chapter 2's evaluation runs."""
    import json
    from pathlib import Path

    results = Path(__file__).resolve().parents[1] / "artifacts" / "results" / "converged" / "exp2.json"
    if not results.exists():
        pytest.skip("chapter 2 has no converged results in this checkout")
    best = json.loads(results.read_text())["results"]["best"]
    s = profiles.resolve("exp7", "converged")
    assert [s["alpha"], s["temperature"]] == best
    s2 = profiles.resolve("exp2", "converged")
    ch2 = experiments.seeded(experiments.exp2(s2)["grid"][tuple(best)], s2["seeds"])
    logit_kd = experiments.exp7_methods(s, 100.0, 100.0)["logit KD"]
    assert [c.run_id for c in logit_kd] == [c.run_id for c in ch2]
    assert [c.run_id for c in experiments.exp7_methods(s, 100.0, 100.0)["no KD"]] == \
        [c.run_id for c in experiments.exp2(s2)["baseline"]]


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_exp7_weights_are_tuned_on_the_selection_seed_only(profile):
    s = profiles.resolve("exp7", profile)
    runs = experiments.exp7(s)
    assert list(runs["tuning"]["attention transfer"]) == s["at_weights"]
    assert list(runs["tuning"]["FitNets hint"]) == s["hint_weights"]
    tuning = [c for grid in runs["tuning"].values() for c in grid.values()]
    assert {c.seed for c in tuning} == {s["selection_seed"]}
    methods = experiments.exp7_methods(s, s["at_weights"][0], s["hint_weights"][0])
    evaluated = {c.run_id for configs in methods.values() for c in configs}
    assert not evaluated & {c.run_id for c in tuning}  # the winner's run never counts twice


@pytest.mark.parametrize("profile", profiles.PROFILES)
@pytest.mark.parametrize("name", ["exp2", "exp4", "exp5", "exp7"])
def test_evaluation_seeds_exclude_the_selection_seed(profile, name):
    s = profiles.resolve(name, profile)
    assert s["selection_seed"] not in s["seeds"]
    # two seeds at least, for an interval; chapter 7's smoke run, CI's slowest, has one (the
    # other chapters run the code of several seeds at smoke)
    assert len(s["seeds"]) >= (1 if (profile, name) == ("smoke", "exp7") else 2)


@pytest.mark.parametrize("profile", profiles.PROFILES)
@pytest.mark.parametrize("name", profiles.EXPERIMENTS)
def test_every_chapter_builds_at_every_profile(profile, name):
    from kdhelpers import program
    from kdhelpers.store import Store

    chapter = program.chapter_plan(name, profiles.resolve(name, profile), Store())
    assert chapter.runs and all(c.run_id for c in chapter.runs)
    data = {c.data for c in chapter.runs}
    assert data == {"sample" if profile == "smoke" else "full"}


def test_smoke_tuning_adds_no_runs():
    s = profiles.resolve("exp7", "smoke")
    assert len(s["at_weights"]) == len(s["hint_weights"]) == 1


def test_exp6_sizes_train_the_epochs_their_probes_picked():
    s = profiles.resolve("exp6", "converged")
    probes = experiments.exp6_probes(s)
    assert sorted(probes) == s["sizes"]
    assert {(c.seed, c.epochs, c.schedule) for c in probes.values()} == {
        (s["selection_seed"], s["probe_epochs"], "none")}
    with pytest.raises(ValueError, match=r"lacks sizes \[8, 10\]"):
        experiments.exp6(s, {2: 10, 4: 15, 6: 20})
    picked = {2: 10, 4: 15, 6: 20, 8: 40, 10: 40}
    runs = experiments.exp6(s, picked)
    by_model = {}
    for c in program.flatten(runs):
        by_model.setdefault(c.model, set()).add((c.epochs, c.lr_drop_every, c.schedule))
    assert by_model == {f"conv{n}": {(e, round(0.75 * e), "step")} for n, e in picked.items()}
    # a probe is never one of the chapter's runs, and no evaluation run uses its seed
    chapter_ids = {c.run_id for c in program.flatten(runs)}
    assert not chapter_ids & {c.run_id for c in probes.values()}
    assert all(c.seed != s["selection_seed"] for c in runs["scratch"][10])


def test_profiles_without_probes_keep_one_epoch_count():
    for profile in ("smoke", "cpu", "full"):
        s = profiles.resolve("exp6", profile)
        assert experiments.exp6_probes(s) == {}
        assert {c.epochs for c in experiments.exp6(s)["scratch"][2]} == {s["epochs"]}
