import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kdhelpers.config import RunConfig
from kdhelpers.runner import dependency_order, full_training_images, load_dataset, run, run_grid
from kdhelpers.store import CorruptRunError, MissingLogitsError, MissingRunError, Store
from kdhelpers.train import NonFiniteLossError, fit

ROOT = Path(__file__).resolve().parents[1]
TEACHER = RunConfig("mnist_teacher", epochs=2, data="sample", seed=1)


@pytest.fixture(scope="session")
def trained_teacher(tmp_path_factory):
    """TEACHER trained once per session; tests that only need it finished copy it in."""
    root = tmp_path_factory.mktemp("teacher-store")
    run(TEACHER, Store(root))
    return root / TEACHER.run_id


@pytest.fixture
def taught(store, trained_teacher):
    """A fresh store that already holds TEACHER (never taught yet: no training logits)."""
    shutil.copytree(trained_teacher, store.path(TEACHER.run_id))
    return store


def student_of(teacher, **kw):
    return RunConfig("mnist_student", epochs=2, data="sample", teacher=teacher.run_id,
                     alpha=0.6, temperature=4.0, **kw)


def test_finished_run_is_loaded_not_retrained(store):
    first = run(TEACHER, store)
    mtimes = {p.name: p.stat().st_mtime_ns for p in first.path.iterdir()}
    second = run(TEACHER, store)
    assert first.trained and not second.trained
    assert {p.name: p.stat().st_mtime_ns for p in second.path.iterdir()} == mtimes
    assert second.metrics == first.metrics


def test_artifacts_and_provenance(store):
    result = run(TEACHER, store)
    files = {p.name for p in result.path.iterdir()}
    assert files == {"config.json", "metrics.json", "history.json", "logits.npz",
                     "MANIFEST.json", "weights.keras"}
    saved = json.loads((result.path / "config.json").read_text())
    assert saved["run_id"] == TEACHER.run_id and RunConfig.from_dict(saved["config"]) == TEACHER
    m = result.metrics
    assert m["versions"]["keras"] and m["versions"]["backend"] and m["versions"]["python"]
    assert "commit" in m["code"] and m["machine"]["cpu_count"] >= 1
    assert 0.0 <= m["test_accuracy"] <= 1.0 and m["epochs"] == 2 == len(result.history)
    assert m["best_val_epoch"] in (0, 1) and m["n_val"] == 50 and m["n_train"] == 450
    assert result.logits("test").shape == (250, 10)
    with pytest.raises(MissingLogitsError, match=TEACHER.run_id):  # stored once it teaches
        result.logits("train")
    # the recorded test accuracy is the one the stored test logits give
    y_test = load_dataset(TEACHER).y_test
    assert m["test_accuracy"] == pytest.approx(np.mean(result.logits("test").argmax(1) == y_test))
    assert not store.partial_path(TEACHER.run_id).exists()


def test_same_config_and_seed_give_same_results(tmp_path, trained_teacher):
    a = Store(trained_teacher.parent).load(TEACHER.run_id)  # trained by the session fixture
    b = run(TEACHER, Store(tmp_path / "b"))
    assert b.trained and a.metrics["test_accuracy"] == b.metrics["test_accuracy"]
    np.testing.assert_array_equal(a.logits("test"), b.logits("test"))
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]


def test_distilled_student_can_teach(store):
    """Teacher -> student -> student-of-student: the experiment 5/6 chain."""
    middle = student_of(TEACHER)
    last = student_of(middle)
    results = run_grid([last, middle, TEACHER], store, progress=False)
    assert [r.run_id for r in results] == [last.run_id, middle.run_id, TEACHER.run_id]
    assert all(r.trained for r in results)


def test_training_logits_are_stored_the_first_time_a_run_teaches(taught):
    teacher = taught.load(TEACHER.run_id)
    assert not (teacher.path / "train_logits.npz").exists()
    run(student_of(TEACHER), taught)
    teacher = taught.load(TEACHER.run_id)
    manifest = json.loads((teacher.path / "MANIFEST.json").read_text())
    assert "train_logits.npz" in manifest
    images = full_training_images(load_dataset(TEACHER))
    expected = teacher.load_model().predict(images, verbose=0).astype("float16").astype("float32")
    # oneDNN's sums depend on the batch size, and a last-bit change can flip a float16 rounding
    np.testing.assert_allclose(teacher.logits("train"), expected, rtol=1e-3, atol=1e-5)
    mtime = (teacher.path / "train_logits.npz").stat().st_mtime_ns
    run(student_of(TEACHER, seed=5), taught)  # a second student reuses them
    assert (teacher.path / "train_logits.npz").stat().st_mtime_ns == mtime


def test_unlisted_training_logits_from_a_kill_are_ignored_and_rewritten(taught):
    teacher = taught.load(TEACHER.run_id)
    (teacher.path / "train_logits.npz").write_bytes(b"half-written")  # killed before manifest
    assert taught.load(TEACHER.run_id)  # still a valid run
    run(student_of(TEACHER), taught)
    assert taught.load(TEACHER.run_id).logits("train").shape == (500, 10)


def test_damaged_training_logits_are_reported(taught):
    run_grid([TEACHER, student_of(TEACHER)], taught, progress=False)
    path = taught.path(TEACHER.run_id)
    (path / "train_logits.npz").write_bytes(b"damaged")
    with pytest.raises(CorruptRunError, match="train_logits.npz"):
        taught.load(TEACHER.run_id)


def test_teacher_without_logits_or_weights_is_a_clear_error(taught):
    teacher = taught.load(TEACHER.run_id)
    (teacher.path / "weights.keras").unlink()
    with pytest.raises(MissingRunError, match="never taught.*weights.keras"):
        run(student_of(TEACHER), taught)


def test_a_teacher_that_lost_its_weights_recovers_its_logits_by_an_exact_retrain(
        taught, trained_teacher, tmp_path):
    from kdhelpers.recovery import recover_train_logits

    (taught.path(TEACHER.run_id) / "weights.keras").unlink()  # a fresh clone: never committed
    scratch = Store(tmp_path / "scratch")
    recovered = recover_train_logits(TEACHER.run_id, taught, scratch)
    # the re-trained model is the run's own (same test logits), so its training logits are
    expected = scratch.load(TEACHER.run_id).logits("train")
    np.testing.assert_array_equal(recovered.logits("train"), expected)
    assert run(student_of(TEACHER), taught).metrics["test_accuracy"] >= 0  # it can teach now


def test_recovery_refuses_a_retrain_that_is_another_run(taught, tmp_path, monkeypatch):
    from kdhelpers import recovery, runner

    (taught.path(TEACHER.run_id) / "weights.keras").unlink()
    scratch = Store(tmp_path / "scratch")
    other = run(TEACHER.replace(seed=2), scratch)  # what a re-train on another CPU stands for
    monkeypatch.setattr(runner, "run", lambda config, store: other)
    recover_train_logits = recovery.recover_train_logits
    with pytest.raises(ValueError, match="does not reproduce its stored test logits"):
        recover_train_logits(TEACHER.run_id, taught, scratch)
    assert not (taught.path(TEACHER.run_id) / "train_logits.npz").exists()


def test_a_worker_stores_the_logits_of_a_run_that_will_teach(trained_teacher, tmp_path):
    from kdhelpers.runner import train_in_worker

    for teaches in (False, True):
        root = tmp_path / str(teaches)
        shutil.copytree(trained_teacher, root / TEACHER.run_id)
        assert train_in_worker(TEACHER.to_dict(), str(root), teaches) == TEACHER.run_id
        assert (root / TEACHER.run_id / "train_logits.npz").exists() == teaches


def test_schedule_stores_the_logits_of_a_finished_teacher_before_its_students(taught, monkeypatch):
    import concurrent.futures as cf

    from kdhelpers import runner

    class OneWorker(cf.Executor):  # "trains" by publishing an empty folder: reads no logits
        workers = 1

        def submit(self, fn, config_dict, root, *teaches):
            taught.path(RunConfig.from_dict(config_dict).run_id).mkdir(parents=True)
            future = cf.Future()
            future.set_result(RunConfig.from_dict(config_dict).run_id)
            return future

    student = student_of(TEACHER)
    assert not (taught.path(TEACHER.run_id) / "train_logits.npz").exists()
    assert runner.schedule(lambda: [student] if not taught.exists(student.run_id) else [],
                           taught, OneWorker()) == 1
    assert "train_logits.npz" in json.loads((taught.path(TEACHER.run_id) / "MANIFEST.json").read_text())


def test_a_run_whose_teacher_cannot_teach_waits_while_the_others_train(taught):
    from kdhelpers.runner import schedule

    (taught.path(TEACHER.run_id) / "weights.keras").unlink()  # neither weights nor logits
    blocked, other = student_of(TEACHER), RunConfig("mnist_student", epochs=1, data="sample", seed=7)
    with pytest.raises(MissingRunError, match=r"1 runs could not train \(1 others did\).*never taught"):
        schedule(lambda: [c for c in (blocked, other) if not taught.exists(c.run_id)], taught)
    assert taught.exists(other.run_id) and not taught.exists(blocked.run_id)


def test_a_blocked_run_starts_once_its_teacher_gets_logits_from_elsewhere(taught, trained_teacher):
    from kdhelpers.runner import schedule

    images = full_training_images(load_dataset(TEACHER))
    logits = Store(trained_teacher.parent).load(TEACHER.run_id).load_model().predict(images, verbose=0)
    (taught.path(TEACHER.run_id) / "weights.keras").unlink()
    blocked, other = student_of(TEACHER), RunConfig("mnist_student", epochs=1, data="sample", seed=7)

    def recovered_meanwhile(config):  # what recover_train_logits does in another process
        if config == other:
            taught.add_train_logits(taught.load(TEACHER.run_id), logits)

    assert schedule(lambda: [c for c in (blocked, other) if not taught.exists(c.run_id)], taught,
                    on_finish=recovered_meanwhile) == 2
    assert taught.exists(blocked.run_id)


def test_logit_cache_equals_teacher_on_the_fly(taught, tmp_path):
    run_grid([TEACHER, student_of(TEACHER)], taught, progress=False)  # teacher stores logits
    teacher_run = taught.load(TEACHER.run_id)
    config = student_of(TEACHER, val_fraction=0.0)
    dataset = load_dataset(config)
    cached, _ = fit(config, dataset, work_dir=tmp_path / "cached",
                    teacher_train_logits=teacher_run.logits("train")[dataset.train_index])
    on_the_fly, _ = fit(config, dataset, work_dir=tmp_path / "live",
                        teacher_model=teacher_run.load_model())
    a = np.asarray(cached.predict(dataset.x_test, verbose=0))
    b = np.asarray(on_the_fly.predict(dataset.x_test, verbose=0))
    # float16 storage of the teacher's logits is the only difference: logits agree to 1e-2
    np.testing.assert_allclose(a, b, atol=1e-2)
    assert np.mean(a.argmax(1) == b.argmax(1)) >= 0.99


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "vgg"}, "model='vgg'"),
    ({"alpha": 0.5}, "alpha=0.5 needs a teacher"),
    ({"teacher": "x", "alpha": 2.0}, "alpha=2.0"),
    ({"teacher": "x", "alpha": 0.5, "temperature": 0}, "temperature=0"),
    ({"optimizer": "rmsprop"}, "optimizer='rmsprop'"),
    ({"fraction": 0}, "fraction=0"),
    ({"epochs": 0}, "epochs=0"),
    ({"data": "imagenet"}, "data='imagenet'"),
    ({"width": 0.5}, "width=0.5"),
    ({"teacher": "x", "alpha": 0.5, "augment": True}, "augment=True with a teacher"),
])
def test_bad_configs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**{"model": "mnist_student", "epochs": 1, **kwargs})


def test_unknown_config_keys():
    with pytest.raises(ValueError, match=r"unknown config keys \['learning_rat'\]"):
        RunConfig.from_dict({"model": "mnist_student", "epochs": 1, "learning_rat": 0.1})


def test_run_id_ignores_int_versus_float():
    assert RunConfig("mnist_student", epochs=1, fraction=1).run_id == \
        RunConfig("mnist_student", epochs=1, fraction=1.0).run_id


def test_missing_teacher_is_a_clear_error(store):
    orphan = RunConfig("mnist_student", epochs=1, data="sample", teacher="mnist_teacher-000000000000",
                       alpha=0.5, temperature=2.0)
    with pytest.raises(MissingRunError, match="mnist_teacher-000000000000"):
        run_grid([orphan], store, progress=False)
    with pytest.raises(MissingRunError, match="does not exist"):
        run(orphan, store)


def test_teacher_on_another_dataset_is_rejected(store):
    cifar = RunConfig("conv2", epochs=1, data="sample")
    run(cifar, store)
    wrong = RunConfig("mnist_student", epochs=1, data="sample", teacher=cifar.run_id, alpha=0.5)
    with pytest.raises(ValueError, match="cifar10/sample"):
        run(wrong, store)


@pytest.mark.parametrize("damage", ["delete_manifest", "truncate_metrics", "delete_logits"])
def test_corrupt_run_is_reported_not_reused(taught, damage):
    store = taught
    path = store.path(TEACHER.run_id)
    assert store.load(TEACHER.run_id)  # whole before the damage
    if damage == "delete_manifest":
        (path / "MANIFEST.json").unlink()
    elif damage == "truncate_metrics":
        (path / "metrics.json").write_text("{")
    else:
        (path / "logits.npz").unlink()
    with pytest.raises(CorruptRunError, match=str(path)):
        run(TEACHER, store)


def test_nan_loss_stops_with_clear_error_and_leaves_nothing(store):
    exploding = RunConfig("mnist_student", epochs=3, data="sample", optimizer="sgd",
                          learning_rate=1e30)
    with pytest.raises(NonFiniteLossError, match=exploding.run_id):
        run(exploding, store)
    assert not store.path(exploding.run_id).exists()
    assert not store.partial_path(exploding.run_id).exists()


def test_code_revision_ignores_book_outputs_but_not_code(tmp_path, monkeypatch):
    from kdhelpers import provenance

    repo = tmp_path / "repo"
    (repo / "book").mkdir(parents=True)
    (repo / "kdhelpers").mkdir()
    (repo / "book" / "a.ipynb").write_text("{}")
    (repo / "book" / "figures").mkdir()
    (repo / "book" / "figures" / "forest.png").write_bytes(b"1")
    (repo / "kdhelpers" / "m.py").write_text("x = 1\n")
    (repo / "pyproject.toml").write_text("")  # what makes it a checkout

    def git(*args):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(provenance, "REPO_ROOT", repo)
    assert provenance.code_revision()["dirty"] is False
    (repo / "book" / "a.ipynb").write_text('{"executed": 1}')
    (repo / "book" / "figures" / "forest.png").write_bytes(b"2")  # the summary's figure
    assert provenance.code_revision()["dirty"] is False
    (repo / "kdhelpers" / "m.py").write_text("x = 2\n")
    revision = provenance.code_revision()
    assert revision["dirty"] is True and len(revision["commit"]) == 40


def test_run_ids_of_recorded_runs_are_stable(monkeypatch):
    """New config fields must not change the ids (hashes) of runs already on disk."""
    monkeypatch.delenv("KDHELPERS_PROFILE", raising=False)
    from kdhelpers import experiments, profiles

    assert experiments.cifar_teacher(profiles.resolve("exp2", "cpu")).run_id == "resnet18-6ff545133697"


def test_virtual_teacher_run_needs_no_teacher(store):
    config = RunConfig("mnist_student", epochs=1, data="sample", alpha=0.5, temperature=4.0,
                       virtual_teacher=0.9)
    result = run(config, store)
    assert result.trained and result.config.teacher is None
    assert config.run_id != config.replace(virtual_teacher=0.0, alpha=0.0).run_id


@pytest.mark.parametrize("kwargs, message", [
    ({"feature": "at", "feature_weight": 1.0}, "feature='at' needs a teacher run"),
    ({"feature": "sift"}, "feature='sift'"),
    ({"feature_weight": 1.0}, "feature_weight=1.0 needs a feature"),
    ({"virtual_teacher": 0.05, "alpha": 0.5}, "virtual_teacher=0.05"),
    ({"virtual_teacher": 0.9, "teacher": "x", "alpha": 0.5}, "excludes a teacher run"),
])
def test_bad_beyond_logits_configs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**{"model": "cifar_student", "epochs": 1, **kwargs})


def test_mixed_precision_run_is_its_own_run_and_leaves_policy_alone(store):
    import keras

    config = RunConfig("mnist_student", epochs=1, data="sample", precision="mixed_bfloat16")
    assert config.run_id != config.replace(precision="float32").run_id
    result = run(config, store)
    assert result.trained and 0.0 <= result.metrics["test_accuracy"] <= 1.0
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="precision='float16'"):
        config.replace(precision="float16")


def test_grid_study_picks_on_validation_and_evaluates_on_other_seeds(taught):
    from kdhelpers import report
    from kdhelpers.study import run_grid_study

    base = RunConfig("mnist_student", epochs=1, data="sample")
    runs = {"baseline": [base.replace(seed=k) for k in (1, 2)],
            "grid": {(a, 4.0): base.replace(teacher=TEACHER.run_id, alpha=a, temperature=4.0)
                     for a in (0.3, 0.9)}}
    taught.load(TEACHER.run_id)
    study = run_grid_study(runs, [1, 2], taught)
    by_val = {k: report.accuracy(r, split="val") for k, r in study.grid.items()}
    assert by_val[study.best] == max(by_val.values())
    assert study.grid[study.best].run_id not in {r.run_id for r in study.best_runs}
    assert [r.config.seed for r in study.best_runs] == [1, 2]
    assert study.stats["baseline"]["n"] == 2 == study.stats["best"]["n"]
    assert set(study.cells()) == set(runs["grid"])


def test_results_record_the_runs_the_chapter_names_and_only_those(taught):
    from kdhelpers import report

    result = taught.load(TEACHER.run_id)
    run(TEACHER.replace(seed=7), taught)  # run by this process, but not behind the results
    path = report.save_results("exp9", "smoke", {"claims": []}, [result], taught)
    runs = json.loads(path.read_text())["runs"]
    assert runs == {TEACHER.run_id: pytest.approx(result.metrics["train_seconds"])}


def test_every_committed_run_keeps_its_id():
    """Config fields added since (shuffle, registry names) leave every stored id valid."""
    configs = sorted((ROOT / "artifacts").glob("*/config.json"))
    assert len(configs) > 100
    for path in configs:
        saved = json.loads(path.read_text())
        assert RunConfig.from_dict(saved["config"]).run_id == saved["run_id"] == path.parent.name


def test_recovery_refuses_before_training_where_the_thread_count_differs(taught, tmp_path, monkeypatch):
    from kdhelpers import recovery, runner

    (taught.path(TEACHER.run_id) / "weights.keras").unlink()
    trained_with = recovery.trained_threads(taught.load(TEACHER.run_id).metrics)
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", str(trained_with + 1))
    monkeypatch.setattr(runner, "run", lambda config, store: pytest.fail("trained anyway"))
    with pytest.raises(ValueError, match=f"trained with {trained_with} compute thread"):
        recovery.recover_train_logits(TEACHER.run_id, taught, Store(tmp_path / "scratch"))


def test_the_threads_a_run_trained_with_come_from_its_record():
    from kdhelpers.recovery import trained_threads

    assert trained_threads({"segments": [{"threads": 1}, {"threads": 1}]}) == 1
    # finished before stretches recorded threads: the settings of its metrics, else every core
    assert trained_threads({"machine": {"environment": {"OMP_NUM_THREADS": "3"}, "cpu_count": 8}}) == 3
    assert trained_threads({"machine": {"environment": {}, "cpu_count": 8}}) == 8
