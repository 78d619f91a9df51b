"""Run configs: load finished artifacts, or train and write them atomically.

``run(config)`` is what every experiment notebook calls. A student whose config names a
teacher reads the teacher run's cached training-set logits instead of running the teacher:
exact for this paper's protocol (students train without augmentation and teachers predict
in inference mode), and as cheap as plain training. Because teachers are runs, a distilled
student can teach (experiment 5) and teacher assistants chain (experiment 6).

Training-set logits are computed the first time a run teaches, not when it finishes: most
runs never teach, and predicting all 50,000 CIFAR training images (≈ 30 s on the 2-core
machine) costs more than training a cpu-profile student on 2 % of the data (≈ 15 s).
"""

from __future__ import annotations

import shutil
import time

import numpy as np

from . import data, executors, provenance
from .config import RunConfig
from .data import load_dataset
from .published import write_artifacts
from .store import TRAIN_LOGITS, WEIGHTS, MissingLogitsError, MissingRunError, Run, Store, write_json


full_training_images = data.full_training_images  # the rows a teacher's logits index


def teacher_logits_for(config: RunConfig, store: Store, dataset: data.Dataset) -> np.ndarray:
    """The teacher run's cached logits for the rows of ``dataset.x_train``."""
    teacher = store.load(config.teacher)
    if (teacher.config.dataset, teacher.config.data) != (config.dataset, config.data):
        raise ValueError(
            f"teacher run {config.teacher} was trained on {teacher.config.dataset}/"
            f"{teacher.config.data} but run {config.run_id} uses {config.dataset}/{config.data}")
    logits = train_logits(teacher, store)
    if logits.shape[-1] != dataset.num_classes:
        raise ValueError(f"teacher run {config.teacher} has {logits.shape[-1]} classes, the "
                         f"student's data set {dataset.num_classes}")
    return logits[dataset.train_index]


def train_logits(teacher: Run, store: Store) -> np.ndarray:
    """``teacher``'s stored training-set logits, predicted from its weights first if needed."""
    try:
        return teacher.logits("train")
    except MissingLogitsError:
        return store_train_logits(teacher, store)


def store_train_logits(teacher: Run, store: Store) -> np.ndarray:
    """Predict ``teacher``'s full training set from its weights once, and store the logits."""
    try:
        model = teacher.load_model()
    except MissingRunError as error:
        raise MissingRunError(
            f"run {teacher.run_id} has never taught, so it has no stored training-set logits, "
            f"and its {WEIGHTS} is absent (weights are not committed): "
            f"kdhelpers.recovery.recover_train_logits re-trains it elsewhere and stores them if "
            f"it reproduces the run exactly; or re-train it by deleting {teacher.path}") from error
    images = full_training_images(load_dataset(teacher.config))
    logits = model.predict(images, batch_size=512, verbose=0)
    return store.add_train_logits(teacher, logits).logits("train")


def run(config: RunConfig, store: Store | None = None, *, verbose: int = 0) -> Run:
    """Return ``config``'s finished run, training it first if it is not on disk.

    An interrupted run resumes exactly from its last finished epoch (see ``train.fit``). A
    corrupt run directory raises ``CorruptRunError`` (never silently reused); a NaN/inf loss
    raises ``NonFiniteLossError`` and removes the partial work.

    Work files (checkpoint, epoch log) live in ``.partial/<run id>/`` and the run to publish
    is assembled in its ``publish/`` folder, renamed into place in one step: the checkpoint
    is removed only after the run is published, so a kill at any moment loses at most the
    epoch in progress.
    """
    store = store or Store()
    run_id = config.run_id
    if store.exists(run_id):
        if store.partial_path(run_id).exists():  # a kill just after publishing left it
            store.discard_partial(run_id)
        return store.load(run_id)
    with store.claim(run_id, on_wait=lambda holder: print(
            f"run {run_id} is being trained by {holder or 'another process'}; waiting for it",
            flush=True)):
        if store.exists(run_id):  # published by the process we waited for
            store.discard_partial(run_id)
            return store.load(run_id)
        return _train_and_publish(config, store, verbose)


def _train_and_publish(config: RunConfig, store: Store, verbose: int) -> Run:
    from .train import NonFiniteLossError, fit
    from .workfiles import resumed_at, segments

    run_id = config.run_id
    provenance.loaded_code_revision()  # pin the revision before a long training starts
    dataset = load_dataset(config)
    teacher_logits, teacher_model, pairs = teacher_inputs(config, store, dataset)
    work = store.partial_path(run_id)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        student, history = fit(config, dataset, work_dir=work,
                               teacher_train_logits=teacher_logits, teacher_model=teacher_model,
                               feature_layers=pairs, verbose=verbose)
    except NonFiniteLossError:
        store.discard_partial(run_id)
        raise
    publish = work / "publish"
    if publish.exists():  # an earlier attempt was killed while writing it
        shutil.rmtree(publish)
    publish.mkdir()
    write_json(publish / "config.json", {"run_id": run_id, "config": config.to_dict()})
    write_artifacts(publish, student, history, dataset, started, resumed_at(work),
                    segments(work))
    store.commit(publish, run_id)
    store.discard_partial(run_id)
    return store.load(run_id, trained=True)


def teacher_inputs(config: RunConfig, store: Store, dataset: data.Dataset):
    """``(teacher logits for the training rows, teacher model, feature layer pairs)``.

    Cached logits for logit KD, hand-made ones for the virtual teacher; feature losses need
    the teacher's feature maps, so for them the teacher model itself is loaded.
    """
    if config.virtual_teacher:
        from .distill import virtual_teacher_logits

        return virtual_teacher_logits(dataset.y_train, dataset.num_classes,
                                      config.virtual_teacher), None, None
    if config.feature != "none":
        from . import losses

        teacher_run = store.load(config.teacher)
        pairs = losses.get(config.feature).layers_for(config.model, teacher_run.config.model)
        return None, teacher_run.load_model(), pairs
    if config.teacher:
        return teacher_logits_for(config, store, dataset), None, None
    return None, None, None


def dependency_order(configs: list[RunConfig], store: Store) -> list[RunConfig]:
    """Configs ordered so that every teacher precedes its students; duplicates dropped.

    A teacher must be in ``configs`` or already finished in ``store``. Run ids are content
    hashes that include the teacher's id, so references cannot form a cycle.
    """
    by_id = {c.run_id: c for c in configs}
    ordered, seen = [], set()

    def visit(config):
        if config.run_id in seen:
            return
        seen.add(config.run_id)
        if config.teacher in by_id:
            visit(by_id[config.teacher])
        elif config.teacher is not None and not store.exists(config.teacher):
            raise MissingRunError(
                f"run {config.run_id} names teacher {config.teacher!r}, which is neither in "
                f"this grid nor finished under {store.root}")
        ordered.append(config)

    for config in configs:
        visit(config)
    return ordered


def run_grid(configs, store: Store | None = None, *, progress: bool = True,
             executor=None) -> list[Run]:
    """Run every config (teachers first), skipping finished ones; results in input order.

    ``executor``: ``None`` takes the one ``KDHELPERS_EXECUTOR`` names, and without it trains
    one run after another in this process; any ``concurrent.futures.Executor`` (see
    :mod:`kdhelpers.executors`: processes or Ray) trains runs at the same time. Either way
    :func:`schedule` decides what starts when. Each task returns only its run id; the
    results are read back from the store, which must be on a file system every worker sees.
    """
    from tqdm import tqdm  # plain text: no ipywidgets needed in notebooks

    store = store or Store()
    configs = list(configs)
    order = dependency_order(configs, store)
    if executor is None:
        executor = executors.from_environment()
    new = {c.run_id for c in order if not store.exists(c.run_id)}
    with tqdm(total=len(order), initial=len(order) - len(new), desc="runs", unit="run",
              disable=not progress) as bar:
        schedule(lambda: [c for c in order if not store.exists(c.run_id)], store, executor,
                 on_finish=lambda config: bar.update())
    results = {c.run_id: store.load(c.run_id, trained=c.run_id in new) for c in order}
    return [results[c.run_id] for c in configs]


def schedule(needed, store: Store, executor=None, *, on_finish=None) -> int:
    """Train the runs ``needed()`` names, asking it again after every finished run, until it
    names none; the number of runs finished on the way.

    ``needed`` returns the unfinished runs in order of priority, teachers before their
    students. Whenever a worker is free it takes the first of them whose teacher is
    finished; a run another process holds goes last (its worker would only wait for it).
    ``executor``: ``None`` trains in this process; one with a ``workers`` attribute
    (:func:`executors.process_pool`) gets that many runs at a time, so that a run that
    becomes ready (a student whose teacher was just published, a grid's best cell) goes
    before runs queued earlier; any other executor (Ray) gets every ready run at once.
    """
    import concurrent.futures as cf

    slots = 1 if executor is None else getattr(executor, "workers", None) or float("inf")
    running: dict = {}  # future -> config
    finished = 0
    # runs that could not start (a teacher with neither logits nor weights): the others go
    # on, and the error comes when nothing else is left to train
    blocked: dict[str, str] = {}
    while True:
        todo = needed()
        # a teacher whose logits came meanwhile (recover_train_logits in another process)
        # lets its students start
        blocked = {c.run_id: blocked[c.run_id] for c in todo if c.run_id in blocked
                   and not (c.teacher and (store.path(c.teacher) / TRAIN_LOGITS).is_file())}
        # a run that another still to train names as teacher stores its training-set logits
        # when it is published, while its weights are on this machine: a later session,
        # maybe on a fresh machine without them (they are not committed), can still use it
        teachers = {c.teacher for c in todo if c.teacher}
        for run_id in teachers:  # published before this rule, or by a process killed since
            if (store.exists(run_id) and (store.path(run_id) / WEIGHTS).is_file()
                    and not (store.path(run_id) / TRAIN_LOGITS).is_file()):
                train_logits(store.load(run_id), store)
        busy = {c.run_id for c in running.values()}
        ready = [c for c in todo if c.run_id not in busy and c.run_id not in blocked
                 and (c.teacher is None or store.exists(c.teacher))]
        ready.sort(key=lambda c: store.is_claimed(c.run_id))  # stable: priority kept
        if not ready and not running:
            if blocked:
                raise MissingRunError(f"{len(blocked)} runs could not train ({finished} others "
                                      f"did): " + "; ".join(blocked.values()))
            if not todo:
                return finished
            raise MissingRunError(f"runs {[c.run_id for c in todo]} wait for teachers "
                                  f"{sorted({c.teacher for c in todo})} that are not in "
                                  f"{store.root} and that nothing trains")
        if executor is None:
            try:  # a teacher's logits: stored by the loop above once its students are next
                run(ready[0], store)
            except MissingRunError as error:
                blocked[ready[0].run_id] = str(error)
                continue
            done_now = [ready[0]]
        else:
            # every free worker takes a ready run (``ready`` leaves out the running ones)
            free = len(ready) if slots == float("inf") else max(0, slots - len(running))
            for config in ready[:free]:
                # a teacher predicts its training set in its worker, not in this dispatching loop
                teaches = (True,) if config.run_id in teachers else ()
                running[executor.submit(train_in_worker, config.to_dict(), str(store.root),
                                        *teaches)] = config
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            done_now = []
            for future in done:
                config = running.pop(future)
                error = future.exception()
                if isinstance(error, MissingRunError):
                    blocked[config.run_id] = str(error)
                    continue
                if future.result() != config.run_id:  # re-raises the worker's error
                    raise RuntimeError(f"worker returned {future.result()!r} for "
                                       f"{config.run_id}")
                done_now.append(config)
        for config in done_now:
            finished += 1
            if on_finish is not None:
                on_finish(config)


def train_in_worker(config: dict, store_root: str, teaches: bool = False) -> str:
    """One task of :func:`schedule` on an executor: train (or load) a run, return its id;
    ``teaches``: store its training-set logits too (a run still to train names it teacher)."""
    store = Store(store_root)
    result = run(RunConfig.from_dict(config), store)
    if teaches:
        train_logits(result, store)
    return result.run_id
