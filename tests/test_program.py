"""The plan and train commands of long programs (issue #15)."""

import pytest

from kdhelpers import estimates, profiles, program
from kdhelpers.store import Store


@pytest.fixture(autouse=True)
def profile_as_asked(monkeypatch):
    monkeypatch.delenv("KDHELPERS_PROFILE", raising=False)


def test_plan_lists_what_is_left_and_train_leaves_nothing(tmp_path):
    store = Store(tmp_path / "artifacts")
    before = program.plan(["exp1"], "smoke", store)
    chapter = before["chapters"]["exp1"]
    assert chapter["done"] == 0 and len(chapter["todo"]) == 5 and before["total_hours"] > 0
    assert program.train(["exp1"], "smoke", store, progress=False) == 5
    after = program.plan(["exp1"], "smoke", store)["chapters"]["exp1"]
    assert after["todo"] == [] and after["done"] == 5 and after["done_hours"] > 0


def test_grid_chapters_announce_the_runs_that_follow_the_choice(tmp_path):
    result = program.plan(["exp2"], "converged", Store(tmp_path / "artifacts"))
    chapter = result["chapters"]["exp2"]
    assert chapter["pending"] and chapter["pending"][0]["runs"] == 5
    # an empty store: the 6 grid cells wait for the teacher; the teacher, the 5 baselines and
    # the no-KD probe do not
    assert chapter["waiting"] == 6 and len(chapter["todo"]) == 13
    assert "6 of them wait for a teacher still to train" in program.format_plan(result)
    budgeted = list(profiles.BUDGET_CHAPTERS["converged"])
    text = program.format_plan(program.plan(budgeted, "converged", Store(tmp_path / "artifacts")))
    assert f"budget: about {profiles.BUDGET_HOURS['converged']:g} CPU-hours for chapters " \
           f"{', '.join(budgeted)}" in text


def test_partly_trained_runs_count_their_remaining_epochs(tmp_path):
    from kdhelpers.config import RunConfig
    from kdhelpers.workfiles import HISTORY_LOG

    store = Store(tmp_path / "artifacts")
    config = RunConfig("cifar_student", epochs=4, data="full")
    whole = estimates.estimate_seconds(config, {}, store)
    log = store.partial_path(config.run_id) / HISTORY_LOG
    log.parent.mkdir(parents=True)
    log.write_text('{"epoch": 0}\n{"epoch": 1}\n{"epoch": 2}\n')
    assert estimates.estimate_seconds(config, {}, store) == pytest.approx(whole / 4)


class FinishedRuns:
    """A stand-in store in which only ``finished`` runs exist, each trained for ``seconds``."""

    def __init__(self, root, finished, seconds):
        self.root, self.finished, self.seconds = root, {c.run_id for c in finished}, seconds

    def exists(self, run_id):
        return run_id in self.finished

    def load(self, run_id):
        from types import SimpleNamespace

        return SimpleNamespace(run_id=run_id, metrics={"train_seconds": self.seconds})

    def partial_path(self, run_id):
        return self.root / ".partial" / run_id


def test_a_run_shared_by_chapters_counts_once_in_the_trained_total(tmp_path, monkeypatch):
    from kdhelpers.config import RunConfig

    shared, own = (RunConfig("mnist_student", epochs=1, data="sample", seed=k) for k in (1, 2))
    monkeypatch.setattr(program, "chapter_plan",
                        lambda experiment, settings, store: program.ChapterPlan(experiment, [shared, own]))
    # only the shared run is finished, after one hour
    result = program.plan(["exp1", "exp2"], "smoke", FinishedRuns(tmp_path, [shared], 3600.0))
    assert [ch["done"] for ch in result["chapters"].values()] == [1, 1]  # each chapter has it
    assert result["done_hours"] == pytest.approx(1.0)  # the machine spent the hour once


def test_runs_that_follow_a_choice_count_only_when_not_already_trained(tmp_path, monkeypatch):
    """A chapter whose later stage reuses finished runs (chapter 7's no-KD students are
    chapter 2's) announces only the runs still to train."""
    from kdhelpers.config import RunConfig

    now, reused, new = (RunConfig("mnist_student", epochs=1, data="sample", seed=k) for k in (0, 1, 2))
    monkeypatch.setattr(program, "chapter_plan", lambda experiment, settings, store:
                        program.ChapterPlan(experiment, [now], [("the pick", [reused, new])]))
    store = FinishedRuns(tmp_path, [reused], 60.0)
    [pending] = program.plan(["exp1"], "smoke", store)["chapters"]["exp1"]["pending"]
    assert pending["runs"] == 1


def test_interrupted_runs_are_listed_with_what_would_stop_their_resume(tmp_path):
    import numpy as np

    from kdhelpers.workfiles import CHECKPOINT, HISTORY_LOG

    store = Store(tmp_path / "artifacts")
    good, behind, broken = (store.partial_path(name) for name in ("good", "behind", "broken"))
    for work, logged in ((good, 3), (behind, 2)):
        work.mkdir(parents=True)
        np.savez(work / CHECKPOINT, epoch=np.int64(2), v00000=np.zeros(3))
        (work / HISTORY_LOG).write_text("".join(f'{{"epoch": {e}}}\n' for e in range(logged)))
    broken.mkdir()
    (broken / CHECKPOINT).write_bytes(b"cut short")
    (store.root / ".partial" / "good.lock").write_text("{}")  # a claim, not a run
    (behind / "segments.jsonl").write_text('{"from_epoch": 0, "threads": 1}\n')
    found = {entry["run_id"]: entry for entry in program.interrupted_runs(store, {"good": 20})}
    assert sorted(found) == ["behind", "broken", "good"]
    assert found["good"]["epochs_done"] == 3 and found["good"]["problem"] is None
    assert found["good"]["bytes"] == (good / CHECKPOINT).stat().st_size + (good / HISTORY_LOG).stat().st_size
    assert "lacks epochs [2]" in found["behind"]["problem"]
    assert found["behind"]["threads"] == [1] and found["good"]["threads"] == []
    assert "unreadable" in found["broken"]["problem"]
    text = program.format_plan({"profile": "smoke", "chapters": {}, "total_hours": 0.0,
                                "done_hours": 0.0, "interrupted": list(found.values())})
    assert "good: 3 of 20 epochs checkpointed, resumable" in text and "PROBLEM" in text
    found["good"]["threads"] = [1]
    text = program.format_plan({"profile": "smoke", "chapters": {}, "total_hours": 0.0,
                                "done_hours": 0.0, "interrupted": [found["good"]]})
    assert "resumable with 1 compute thread(s) per process" in text


def test_epoch_cost_is_fitted_on_every_training_size(tmp_path):
    """An epoch's fixed cost (validation) is told apart from its per-image cost, so small
    runs do not make large ones look slow; each run counts by its median epoch."""
    import json

    from kdhelpers.config import RunConfig

    store = Store(tmp_path / "artifacts")
    for seed, (fraction, n, epoch_seconds) in enumerate(
            [(0.1, 4500, [10.0, 10.0, 99.0]), (0.1, 4500, [10.0, 10.0, 10.0]),
             (1.0, 45000, [46.0, 46.0, 46.0])]):
        config = RunConfig("cifar_student", epochs=3, data="full", fraction=fraction, seed=seed)
        path = store.path(config.run_id)
        path.mkdir(parents=True)
        (path / "config.json").write_text(json.dumps({"config": config.to_dict()}))
        (path / "metrics.json").write_text(json.dumps({"n_train": n}))
        (path / "history.json").write_text(json.dumps([{"seconds": t} for t in epoch_seconds]))
    a, b = estimates.measured_speeds(store)[estimates._speed_key(config)]
    assert a == pytest.approx(36 / 40500) and b == pytest.approx(10 - 4500 * 36 / 40500)
    assert estimates.estimate_seconds(config, estimates.measured_speeds(store)) == pytest.approx(3 * 46)


def test_train_hands_free_workers_the_first_run_of_the_newest_plan(tmp_path, monkeypatch):
    """A teacher's student, and then what follows a choice, go before a later chapter's
    runs that were ready earlier: the plan is made anew whenever a run finishes."""
    import concurrent.futures as cf

    from kdhelpers import runner
    from kdhelpers.config import RunConfig

    store = Store(tmp_path / "artifacts")
    config = lambda seed, **kw: RunConfig("mnist_student", epochs=1, data="sample", seed=seed, **kw)
    teacher = config(0)
    student, follow_up = (config(k, teacher=teacher.run_id, alpha=0.5) for k in (1, 2))
    later = [config(k) for k in (10, 11, 12)]

    def chapter_plan(experiment, settings, store):
        if experiment == "exp1":  # the follow-up is known once the student is finished
            return program.ChapterPlan(experiment, [teacher, student] + (
                [follow_up] if store.exists(student.run_id) else []))
        return program.ChapterPlan(experiment, later)

    trained, teaching = [], []

    def train_in_worker(config_dict, root, teaches=False):  # "trains": publishes an empty folder
        run_id = RunConfig.from_dict(config_dict).run_id
        trained.append(run_id)
        if teaches:
            teaching.append(run_id)
        Store(root).path(run_id).mkdir(parents=True)
        return run_id

    class TwoWorkers(cf.Executor):  # runs each task at once, in submission order
        workers = 2

        def submit(self, fn, *args):
            future = cf.Future()
            future.set_result(fn(*args))
            return future

    monkeypatch.setattr(program, "chapter_plan", chapter_plan)
    monkeypatch.setattr(runner, "train_in_worker", train_in_worker)  # what schedule submits
    assert program.train(["exp1", "exp2"], "smoke", store, executor=TwoWorkers(),
                         progress=False) == 6
    assert trained == [c.run_id for c in (teacher, later[0], student, later[1], follow_up, later[2])]
    # the teacher's logits are stored when it is published, not when its students need them
    assert teaching == [teacher.run_id]


def test_chapter_6_trains_its_probes_first_then_the_epochs_they_picked(tmp_path):
    from kdhelpers import experiments, profiles, runner

    store = Store(tmp_path / "artifacts")
    s = profiles.resolve("exp6", "smoke", sizes=[2, 4], probe_epochs=3, seeds=[1])
    before = program.chapter_plan("exp6", s, store)
    probes = experiments.exp6_probes(s)
    assert [c.run_id for c in before.runs] == [c.run_id for c in probes.values()]
    (label, later), = before.pending
    assert "probes" in label and {c.epochs for c in later} == {3}
    for config in before.runs:
        runner.run(config, store)
    after = program.chapter_plan("exp6", s, store)
    assert not after.pending
    picked = experiments.exp6_epochs({n: store.load(c.run_id) for n, c in probes.items()})
    assert set(picked) == {2, 4} and all(1 <= e <= 3 for e in picked.values())
    assert {c.run_id for c in after.runs} == {c.run_id for c in probes.values()} | {
        c.run_id for c in program.flatten(experiments.exp6(s, picked))}


def test_chapter_6_plan_counts_a_finished_probes_pick(tmp_path, monkeypatch):
    """While some probes still train, the pending runs of a size whose probe is done count
    the epochs it picked; the other sizes count the probes' length."""
    from kdhelpers import experiments, profiles, runner

    store = Store(tmp_path / "artifacts")
    s = profiles.resolve("exp6", "smoke", sizes=[2, 4], probe_epochs=3, seeds=[1])
    probes = experiments.exp6_probes(s)
    runner.run(probes[2], store)
    # a real pick needs a probe longer than the plateau's 10-epoch minimum; 2 stands for it
    monkeypatch.setattr(experiments, "exp6_epochs", lambda runs: {n: 2 for n in runs})
    (label, later), = program.chapter_plan("exp6", s, store).pending
    assert "picked so far: 2-conv 2 epochs" in label
    by_size = {c.model: c.epochs for c in later if c.teacher is None}
    assert by_size == {"conv2": 2, "conv4": 3}


def test_a_free_worker_takes_the_one_ready_run_while_the_other_trains(tmp_path, monkeypatch):
    """Two workers, one busy with a long run (a teacher): when the other finishes, it takes
    the next ready run at once, even when that is the only one (it once waited, idle, for
    the long run to end: a ready count of 1 minus 1 running left no slot)."""
    import concurrent.futures as cf
    import threading

    from kdhelpers import runner
    from kdhelpers.config import RunConfig

    store = Store(tmp_path / "artifacts")
    long_run, short, next_one = (RunConfig("mnist_student", epochs=1, data="sample", seed=k)
                                 for k in (0, 1, 2))
    events, pending = [], {}

    def publish(config_dict, root):  # "trains" by publishing an empty run folder
        run_id = RunConfig.from_dict(config_dict).run_id
        Store(root).path(run_id).mkdir(parents=True)
        return run_id

    class TwoWorkers(cf.Executor):  # the long run ends once the next one starts, or after 5 s
        workers = 2

        def submit(self, fn, config_dict, root):
            run_id = RunConfig.from_dict(config_dict).run_id
            events.append(("start", run_id))
            future = cf.Future()
            if run_id == long_run.run_id:
                pending["long"] = (future, config_dict, root)
                threading.Timer(5.0, self.finish_long).start()
            else:
                future.set_result(fn(config_dict, root))
                if run_id == next_one.run_id:
                    self.finish_long()
            return future

        def finish_long(self):
            future, config_dict, root = pending["long"]
            if not future.done():
                events.append(("end", long_run.run_id))
                future.set_result(publish(config_dict, root))

    monkeypatch.setattr(runner, "train_in_worker", publish)
    needed = lambda: [c for c in (long_run, short, next_one) if not store.exists(c.run_id)]
    assert runner.schedule(needed, store, TwoWorkers()) == 3
    assert events.index(("start", next_one.run_id)) < events.index(("end", long_run.run_id))


class TunedRuns:
    """A stand-in store in which every run is finished, with the validation accuracy
    ``accuracy[run_id]`` (0.5 for runs not listed)."""

    def __init__(self, accuracy, unfinished=()):
        self.accuracy, self.unfinished = accuracy, set(unfinished)

    def exists(self, run_id):
        return run_id not in self.unfinished

    def load(self, run_id):
        from types import SimpleNamespace

        return SimpleNamespace(run_id=run_id, metrics={"best_val_accuracy": self.accuracy.get(run_id, 0.5)})


@pytest.mark.parametrize("best, waits", [(10.0, False), (100.0, True), (1.0, True)])
def test_evaluation_runs_wait_while_a_pick_sits_on_its_grids_edge(best, waits):
    from types import SimpleNamespace

    from kdhelpers import stages
    from kdhelpers.config import RunConfig

    grid = {w: RunConfig("mnist_student", epochs=1, data="sample", seed=k) for k, w in enumerate((1.0, 10.0, 100.0))}
    chapter = SimpleNamespace(key="toy", build=lambda s: {"teacher": RunConfig("mnist_teacher", epochs=1, data="sample"),
                                                          "tuning": {"AT": grid}})
    methods = lambda s, at_weight: {"AT": [RunConfig("mnist_student", epochs=2, data="sample", seed=int(at_weight))]}
    stage = stages.TuneThenMethods(methods=methods, weights=(("AT", "at_weight"),))
    plan = stage.plan(chapter, {}, TunedRuns({grid[best].run_id: 0.9}))
    evaluation = methods({}, best)["AT"][0]
    if waits:
        assert evaluation not in plan.runs and plan.pending[0][1] == [evaluation]
        edge = "largest" if best == 100.0 else "smallest"
        assert f"the AT pick {best:g} is the {edge} of its candidates (1, 10, 100)" in plan.pending[0][0]
    else:
        assert evaluation in plan.runs and not plan.pending


def test_while_a_grid_trains_the_plan_shows_the_validation_of_its_finished_candidates():
    from types import SimpleNamespace

    from kdhelpers import stages
    from kdhelpers.config import RunConfig

    grid = {w: RunConfig("mnist_student", epochs=1, data="sample", seed=k) for k, w in enumerate((1.0, 10.0, 100.0))}
    chapter = SimpleNamespace(key="toy", build=lambda s: {"teacher": RunConfig("mnist_teacher", epochs=1, data="sample"),
                                                          "tuning": {"AT": grid}})
    methods = lambda s, at_weight: {"AT": [RunConfig("mnist_student", epochs=2, data="sample", seed=int(at_weight))]}
    stage = stages.TuneThenMethods(methods=methods, weights=(("AT", "at_weight"),))
    store = TunedRuns({grid[10.0].run_id: 0.9}, unfinished={grid[100.0].run_id})
    [(text, _)] = stage.plan(chapter, {"at_weights": [1.0, 10.0, 100.0]}, store).pending
    assert text.endswith("once the weights are picked (validation so far, best epoch: AT 1: 50.00 %; AT 10: 90.00 %)")


@pytest.mark.parametrize("finished", [False, True])
def test_a_method_run_that_uses_no_open_weight_trains_without_waiting_for_it(finished):
    """Chapter 7's virtual teacher takes no feature weight, and attention transfer's runs
    need only the AT pick: neither waits for the FitNets grid (unfinished, or on its edge)."""
    from types import SimpleNamespace

    from kdhelpers import stages
    from kdhelpers.config import RunConfig

    at = {w: RunConfig("mnist_student", epochs=1, data="sample", seed=k) for k, w in enumerate((1.0, 10.0, 100.0))}
    hint = {w: RunConfig("mnist_student", epochs=1, data="sample", seed=10 + k) for k, w in enumerate((1.0, 10.0))}
    chapter = SimpleNamespace(key="toy", build=lambda s: {"teacher": RunConfig("mnist_teacher", epochs=1, data="sample"),
                                                          "tuning": {"AT": at, "hint": hint}})

    def methods(s, at_weight, hint_weight):
        return {"virtual": [RunConfig("mnist_student", epochs=3, data="sample", seed=7)],
                "AT": [RunConfig("mnist_student", epochs=2, data="sample", seed=int(at_weight))],
                "hint": [RunConfig("mnist_student", epochs=4, data="sample", seed=int(hint_weight))]}

    stage = stages.TuneThenMethods(methods=methods, weights=(("AT", "at_weight"),
                                                             ("hint", "hint_weight")))
    # AT 10 wins inside its grid; hint: 10 wins on its edge, or hint 1 still trains
    store = TunedRuns({at[10.0].run_id: 0.9, hint[10.0].run_id: 0.9},
                      unfinished=() if finished else {hint[1.0].run_id})
    plan = stage.plan(chapter, {}, store)
    now = methods({}, 10.0, 10.0)
    assert now["virtual"][0] in plan.runs and now["AT"][0] in plan.runs
    [(text, waiting)] = plan.pending
    assert waiting == now["hint"] if finished else waiting == methods({}, 10.0, 1.0)["hint"]
    assert all(c not in plan.runs for c in waiting)
    assert ("grid is extended" in text) == finished and ("weights are picked" in text) != finished


def test_a_chapter_whose_choice_cannot_be_made_stops_with_the_reason(monkeypatch):
    from kdhelpers.config import RunConfig

    known = [RunConfig("mnist_student", epochs=1, data="sample", seed=0)]
    monkeypatch.setattr(program, "chapter_plan", lambda experiment, settings, store: program.ChapterPlan(
        experiment, known, [("the evaluation runs, once the grid is extended", known)]))
    calls = []

    def run_grid(runs, store, progress):  # without the stop, the loop would never end
        calls.append(runs)
        if len(calls) > 3:
            raise AssertionError("run_chapter kept training the same runs")

    monkeypatch.setattr("kdhelpers.runner.run_grid", run_grid)
    with pytest.raises(RuntimeError, match="exp7 cannot go on: the evaluation runs, once the grid is extended"):
        program.run_chapter("exp7", {}, store=object())
    assert len(calls) == 1
