"""Exact resume (issue #13): a run interrupted after any epoch and resumed trains exactly as
an uninterrupted one; the store serves only what a config asks for, verified."""

import json
import os

import keras
import numpy as np
import pytest

from kdhelpers import train, workfiles
from kdhelpers.config import RunConfig
from kdhelpers.runner import load_dataset, run
from kdhelpers.store import CorruptRunError, Store


class Interrupted(Exception):
    """Stands for a kill: raised right after an epoch's checkpoint is written."""


def interrupt_after(monkeypatch, stop_epoch):
    original = workfiles.AtomicCheckpoint.on_epoch_end

    def crash(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == stop_epoch:
            raise Interrupted

    monkeypatch.setattr(workfiles.AtomicCheckpoint, "on_epoch_end", crash)
    return lambda: monkeypatch.setattr(workfiles.AtomicCheckpoint, "on_epoch_end", original)


def assert_same_variables(a, b):
    assert len(a.variables) == len(b.variables)
    for x, y in zip(a.variables, b.variables):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=x.path)


def fit_interrupted(config, dataset, work_dir, monkeypatch, stop_epoch, **inputs):
    restore = interrupt_after(monkeypatch, stop_epoch)
    with pytest.raises(Interrupted):
        train.fit(config, dataset, work_dir=work_dir, **inputs)
    restore()
    return train.fit(config, dataset, work_dir=work_dir, **inputs)


def test_every_epoch_draws_its_own_order():
    first, second = train.epoch_order(0, 0, 500), train.epoch_order(0, 1, 500)
    assert sorted(first) == list(range(500)) and not np.array_equal(first, second)
    np.testing.assert_array_equal(first, train.epoch_order(0, 0, 500))  # any process
    assert not np.array_equal(first, train.epoch_order(1, 0, 500))


def test_fit_visits_rows_in_the_epoch_order(tmp_path, monkeypatch):
    """What fit passes to Keras each epoch is the data in epoch_order, never shuffled again."""
    config = RunConfig("mnist_student", epochs=2, data="sample", seed=3)
    dataset = load_dataset(config)
    seen = []
    original = train.keras.Model.fit

    def spy(self, x, y=None, **kwargs):
        labels = np.asarray(y).copy()
        seen.append((labels, kwargs["shuffle"], kwargs["initial_epoch"]))
        return original(self, x, y, **kwargs)

    monkeypatch.setattr(train.keras.Model, "fit", spy)
    train.fit(config, dataset, work_dir=tmp_path)
    assert [(s, e) for _, s, e in seen] == [(False, 0), (False, 1)]
    for epoch, (labels, _, _) in enumerate(seen):
        np.testing.assert_array_equal(labels, dataset.y_train[train.epoch_order(3, epoch, 450)])
    assert not np.array_equal(seen[0][0], seen[1][0])


def test_batches_made_on_demand_train_as_the_reordered_arrays_did(tmp_path, monkeypatch):
    """A feature-distillation run feeds each epoch through EpochBatches (no copy of its
    teacher targets per epoch); the runs trained before fed ``fit(x[order], y[order],
    shuffle=False)``, as other runs still do. Both give the same weights, bit for bit, so runs
    of either code stand in one comparison; and Keras is told not to shuffle the batches."""
    from kdhelpers.feature_kd import layer_pairs
    from kdhelpers.models import build_model

    config = RunConfig("cifar_student", epochs=1, data="sample", seed=2, teacher="t", alpha=0.5,
                       temperature=4.0, feature="hint", feature_weight=10.0, fraction=0.15)
    dataset = load_dataset(config)
    keras.utils.set_random_seed(0)
    teacher_model = build_model("resnet18", width=0.25)
    layers = layer_pairs("cifar_student", "resnet18", "hint")
    seen = []
    original = train.keras.Model.fit

    def spy(self, x, y=None, **kwargs):
        seen.append((type(x).__name__, kwargs.get("shuffle")))
        return original(self, x, y, **kwargs)

    monkeypatch.setattr(train.keras.Model, "fit", spy)
    student, _ = train.fit(config, dataset, work_dir=tmp_path, teacher_model=teacher_model,
                           feature_layers=layers)
    monkeypatch.setattr(train.keras.Model, "fit", original)
    assert seen == [("EpochBatches", False)]
    train.seed_everything(config.seed)
    model, reference = train.build_trainable(config, teacher_model, layers)
    order = train.epoch_order(config.seed, 0, len(dataset.y_train))
    x = {"images": dataset.x_train, **model.teacher_targets(dataset.x_train)}
    model.fit({k: v[order] for k, v in x.items()}, dataset.y_train[order],
              batch_size=config.batch_size, shuffle=False, epochs=1,
              validation_data=(dataset.x_val, dataset.y_val), verbose=0)
    assert_same_variables(student, reference)


@pytest.mark.parametrize("config", [
    RunConfig("mnist_student", epochs=1, data="sample"),
    RunConfig("mnist_student", epochs=1, data="sample", teacher="t", alpha=0.6, temperature=4.0),
    RunConfig("cifar_student", epochs=1, data="sample", augment=True),
], ids=["plain", "logit-kd", "augmented"])
def test_the_optimizer_has_its_slots_before_the_first_training_step(config):
    """A fresh run starts as a resumed one does, optimizer slots made before fit: made inside
    the first trace of the training step instead, they make TensorFlow trace it a second time
    (about 2 s of every smoke run's 9; the weights come out the same either way)."""
    model, _ = train.build_trainable(config)
    assert model.optimizer.built
    slots = {id(v) for v in model.optimizer.variables}
    model.optimizer.build(model.trainable_variables)  # what Keras' first step would do: nothing new
    assert {id(v) for v in model.optimizer.variables} == slots
    assert len(slots) > 2 * len(model.trainable_variables)  # Adam's two moments per weight


@pytest.mark.parametrize("shuffle", ["per_epoch", "keras"])
def test_resumed_plain_run_is_bit_identical(tmp_path, monkeypatch, shuffle):
    # the MNIST teacher has dropout: its seed-generator state must be restored too
    config = RunConfig("mnist_teacher", epochs=3, data="sample", seed=2, shuffle=shuffle)
    dataset = load_dataset(config)
    whole, history = train.fit(config, dataset, work_dir=tmp_path / "whole")
    resumed, resumed_history = fit_interrupted(config, dataset, tmp_path / "resumed",
                                               monkeypatch, stop_epoch=0)
    assert_same_variables(whole, resumed)
    assert [r["loss"] for r in history] == [r["loss"] for r in resumed_history]
    assert workfiles.resumed_at(tmp_path / "resumed") == [1]


def test_resumed_logit_kd_run_is_bit_identical(tmp_path, monkeypatch):
    config = RunConfig("mnist_student", epochs=3, data="sample", seed=1, teacher="t",
                       alpha=0.6, temperature=4.0)
    dataset = load_dataset(config)
    logits = np.random.default_rng(0).normal(size=(len(dataset.y_train), 10)).astype("float32")
    whole, _ = train.fit(config, dataset, work_dir=tmp_path / "whole",
                         teacher_train_logits=logits)
    resumed, _ = fit_interrupted(config, dataset, tmp_path / "resumed", monkeypatch,
                                 stop_epoch=1, teacher_train_logits=logits)
    assert_same_variables(whole, resumed)


def test_resumed_augmented_run_is_bit_identical(tmp_path, monkeypatch):
    # augmentation draws its own random numbers every step: they must resume too
    config = RunConfig("mnist_student", epochs=2, data="sample", augment=True)
    dataset = load_dataset(config)
    whole, _ = train.fit(config, dataset, work_dir=tmp_path / "whole")
    resumed, _ = fit_interrupted(config, dataset, tmp_path / "resumed", monkeypatch, stop_epoch=0)
    assert_same_variables(whole, resumed)


def test_resumed_feature_kd_run_is_bit_identical(tmp_path, monkeypatch):
    from kdhelpers.feature_kd import layer_pairs
    from kdhelpers.models import build_model

    # the teacher's weights do not matter for resuming its student: an untrained one will do
    keras.utils.set_random_seed(0)
    teacher_model = build_model("resnet18", width=0.25)
    student = RunConfig("cifar_student", epochs=2, data="sample", teacher="t", alpha=0.5,
                        temperature=4.0, feature="at", feature_weight=100.0, fraction=0.15)
    dataset = load_dataset(student)
    inputs = dict(teacher_model=teacher_model,
                  feature_layers=layer_pairs("cifar_student", "resnet18", "at"))
    whole, _ = train.fit(student, dataset, work_dir=tmp_path / "s_whole", **inputs)
    resumed, _ = fit_interrupted(student, dataset, tmp_path / "s_resumed", monkeypatch,
                                 stop_epoch=0, **inputs)
    assert_same_variables(whole, resumed)


def test_kill_after_training_but_before_publishing_keeps_the_training(store, monkeypatch):
    from kdhelpers import runner

    config = RunConfig("mnist_student", epochs=2, data="sample")

    def killed(*args, **kwargs):
        raise Interrupted

    monkeypatch.setattr(runner, "write_artifacts", killed)
    with pytest.raises(Interrupted):
        run(config, store)
    log = (store.partial_path(config.run_id) / workfiles.HISTORY_LOG).read_text()
    monkeypatch.undo()
    result = run(config, store)
    assert result.metrics["resumed_at_epochs"] == [2]  # nothing was trained again
    assert [json.loads(line) for line in log.splitlines()] == result.history
    assert not store.partial_path(config.run_id).exists()


def test_torn_epoch_log_line_is_dropped_on_resume(tmp_path, monkeypatch, store):
    config = RunConfig("mnist_student", epochs=3, data="sample")
    restore = interrupt_after(monkeypatch, 0)
    with pytest.raises(Interrupted):
        run(config, store)
    restore()
    log = store.partial_path(config.run_id) / workfiles.HISTORY_LOG
    with log.open("a") as handle:
        handle.write('{"epoch": 1, "seconds": 0.')  # a kill in the middle of a line
    result = run(config, store)
    assert [row["epoch"] for row in result.history] == [0, 1, 2]
    assert result.metrics["epochs"] == 3 and result.metrics["resumed_at_epochs"] == [1]


def carried_files(work_dir):
    """The files of ``work_dir`` (a run's ``.partial/<id>/``) that a commit would carry to
    the next session: those the repository's .gitignore does not exclude."""
    import subprocess

    from kdhelpers.provenance import REPO_ROOT

    if not (REPO_ROOT / ".git").exists():
        pytest.skip("needs the repository's git checkout")
    carried = []
    for path in sorted(p for p in work_dir.rglob("*") if p.is_file()):
        as_committed = f"artifacts/.partial/{work_dir.name}/{path.relative_to(work_dir)}"
        ignored = subprocess.run(["git", "-C", str(REPO_ROOT), "check-ignore", "-q", "--no-index",
                                  as_committed]).returncode == 0
        if not ignored:
            carried.append(path)
    return carried


def test_an_interrupted_run_carried_by_a_commit_resumes_in_a_fresh_clone(tmp_path, monkeypatch):
    """What .gitignore lets a commit carry of an interrupted run is enough to finish it
    elsewhere as if never interrupted; locks and files in mid-write stay behind."""
    config = RunConfig("mnist_student", epochs=3, data="sample", seed=4)
    here, fresh = Store(tmp_path / "here"), Store(tmp_path / "fresh")
    restore = interrupt_after(monkeypatch, 0)
    with pytest.raises(Interrupted):
        run(config, here)
    restore()
    work = here.partial_path(config.run_id)
    (work / "checkpoint.tmp").write_bytes(b"a checkpoint in mid-write")
    carried = carried_files(work)
    assert sorted(p.name for p in carried) == sorted(
        name for name in workfiles.WORK_FILES if (work / name).is_file())
    assert {workfiles.CHECKPOINT, workfiles.HISTORY_LOG} <= {p.name for p in carried}
    for path in carried:
        target = fresh.partial_path(config.run_id) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    resumed = run(config, fresh)
    whole = run(config, Store(tmp_path / "whole"))
    assert resumed.metrics["resumed_at_epochs"] == [1]
    assert [s["from_epoch"] for s in resumed.metrics["segments"]] == [0, 1]
    assert resumed.metrics["segments"][1]["cpu"] and "commit" in resumed.metrics["segments"][1]["code"]
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    np.testing.assert_array_equal(resumed.logits("test"), whole.logits("test"))


def test_a_log_behind_its_checkpoint_is_refused_before_training(tmp_path, monkeypatch):
    config = RunConfig("mnist_student", epochs=3, data="sample")
    dataset = load_dataset(config)
    restore = interrupt_after(monkeypatch, 1)
    with pytest.raises(Interrupted):
        train.fit(config, dataset, work_dir=tmp_path)
    restore()
    log = tmp_path / workfiles.HISTORY_LOG
    log.write_text(log.read_text().splitlines()[0] + "\n")  # the log of epoch 0 alone
    checkpoint = (tmp_path / workfiles.CHECKPOINT).read_bytes()
    with pytest.raises(workfiles.CheckpointError, match=r"lacks epochs \[1\]"):
        train.fit(config, dataset, work_dir=tmp_path)
    assert (tmp_path / workfiles.CHECKPOINT).read_bytes() == checkpoint  # nothing computed is lost
    assert [s["from_epoch"] for s in workfiles.segments(tmp_path)] == [0]  # no stretch started


def test_uninterrupted_run_records_no_resume(store):
    result = run(RunConfig("mnist_student", epochs=1, data="sample"), store)
    assert result.metrics["resumed_at_epochs"] == []
    assert [s["from_epoch"] for s in result.metrics["segments"]] == [0]


def test_unreadable_checkpoint_is_a_clear_error(tmp_path):
    config = RunConfig("mnist_student", epochs=1, data="sample")
    (tmp_path / workfiles.CHECKPOINT).write_bytes(b"not an npz")
    with pytest.raises(workfiles.CheckpointError, match="checkpoint.npz is unreadable"):
        train.fit(config, load_dataset(config), work_dir=tmp_path)


def test_full_data_config_refuses_the_sample(store, monkeypatch):
    monkeypatch.setenv("KDHELPERS_DATA", "sample")
    config = RunConfig("mnist_student", epochs=1, data="full")
    with pytest.raises(ValueError, match="data='full' but KDHELPERS_DATA='sample'"):
        run(config, store)
    assert not store.exists(config.run_id)


def test_a_sample_trained_run_is_never_served_as_full_data(store):
    sample = run(RunConfig("mnist_student", epochs=1, data="sample"), store)
    full = RunConfig("mnist_student", epochs=1, data="full")
    os.rename(sample.path, store.path(full.run_id))  # what the old code published
    path = store.path(full.run_id)
    (path / "config.json").write_text(json.dumps({"run_id": full.run_id,
                                                  "config": full.to_dict()}))
    manifest = json.loads((path / "MANIFEST.json").read_text())
    from kdhelpers.store import _sha256_file

    manifest["config.json"] = _sha256_file(path / "config.json")
    (path / "MANIFEST.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptRunError, match="trained on the bundled sample"):
        Store(store.root).load(full.run_id)


def test_weights_are_covered_by_the_manifest(store):
    teacher = run(RunConfig("mnist_teacher", epochs=1, data="sample"), store)
    other = run(RunConfig("mnist_teacher", epochs=1, data="sample", seed=9), store)
    assert "weights.keras" in json.loads((teacher.path / "MANIFEST.json").read_text())
    (teacher.path / "weights.keras").write_bytes((other.path / "weights.keras").read_bytes())
    with pytest.raises(CorruptRunError, match="not this run's weights"):
        store.load(teacher.run_id).load_model()
    data = bytearray((other.path / "weights.keras").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (other.path / "weights.keras").write_bytes(bytes(data))
    with pytest.raises(CorruptRunError, match="sha256"):
        store.load(other.run_id).load_model()


def test_weights_of_runs_sealed_before_the_manifest_listed_them_are_checked(store):
    teacher = run(RunConfig("mnist_teacher", epochs=1, data="sample"), store)
    other = run(RunConfig("mnist_teacher", epochs=1, data="sample", seed=9), store)
    for result in (teacher, other):  # as the old code sealed them
        manifest = json.loads((result.path / "MANIFEST.json").read_text())
        del manifest["weights.keras"]
        (result.path / "MANIFEST.json").write_text(json.dumps(manifest))
    assert store.load(other.run_id).load_model() is not None  # checked, then listed
    assert "weights.keras" in json.loads((other.path / "MANIFEST.json").read_text())
    (teacher.path / "weights.keras").write_bytes((other.path / "weights.keras").read_bytes())
    with pytest.raises(CorruptRunError, match="does not reproduce the run's stored test logits"):
        store.load(teacher.run_id).load_model()


def test_old_config_files_keep_their_ids_and_behaviour():
    """A config.json written before the shuffle field existed was trained with Keras' shuffle."""
    old = {"model": "mnist_student", "epochs": 1}
    config = RunConfig.from_dict(old)
    assert config.shuffle == "keras"
    assert config.run_id != RunConfig("mnist_student", epochs=1).run_id  # new default: per_epoch


@pytest.mark.parametrize("kwargs, message", [
    ({"teacher": ""}, "teacher=''"),
    ({"shuffle": "random"}, "shuffle='random'"),
])
def test_bad_resume_related_configs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**{"model": "mnist_student", "epochs": 1, **kwargs})


def test_numpy_numbers_are_accepted():
    config = RunConfig("mnist_student", epochs=np.int64(2), seed=np.int32(1), teacher="t",
                       alpha=np.float32(0.5), temperature=np.float64(4))
    assert config == RunConfig("mnist_student", epochs=2, seed=1, teacher="t", alpha=0.5,
                               temperature=4.0)
    assert config.run_id == RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))).run_id


def test_a_stretch_that_finished_no_epoch_is_not_listed(tmp_path):
    for epoch in (0, 0, 3, 3):  # started, stopped before epoch 0 ended, started again, ...
        workfiles.record_segment(tmp_path / workfiles.SEGMENTS, epoch)
    assert [s["from_epoch"] for s in workfiles.segments(tmp_path)] == [0, 3]


def test_a_resume_with_another_thread_count_is_refused_and_loses_nothing(tmp_path, monkeypatch):
    """Another count of compute threads sums in another order: the resumed run would be
    another run. The same count resumes."""
    config = RunConfig("mnist_student", epochs=2, data="sample")
    dataset = load_dataset(config)
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")  # what the check reads, as TF does at import
    restore = interrupt_after(monkeypatch, 0)
    with pytest.raises(Interrupted):
        train.fit(config, dataset, work_dir=tmp_path)
    restore()
    assert [s["threads"] for s in workfiles.segments(tmp_path)] == [1]
    checkpoint = (tmp_path / workfiles.CHECKPOINT).read_bytes()
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    with pytest.raises(workfiles.CheckpointError, match=r"trained with \[1\] compute thread.*this process has 2"):
        train.fit(config, dataset, work_dir=tmp_path)
    assert (tmp_path / workfiles.CHECKPOINT).read_bytes() == checkpoint
    assert [s["from_epoch"] for s in workfiles.segments(tmp_path)] == [0]
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    _, history = train.fit(config, dataset, work_dir=tmp_path)
    assert [row["epoch"] for row in history] == [0, 1]
