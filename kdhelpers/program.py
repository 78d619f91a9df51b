"""What a profile still has to train, chapter by chapter, and how long it will take.

    python -m kdhelpers.book plan --profile converged --only exp2 exp3 exp6
    python -m kdhelpers.book train --profile converged --only exp2 exp3 exp6 [--workers 2]

A chapter's runs come in stages, declared with the chapter (:mod:`kdhelpers.stages`):
everything its builder names up front (teachers, baselines, grids), then what depends on a
choice made on validation (a grid's best cell over the evaluation seeds; chapter 7's picked
weights). The plan lists the runs not yet in the store and, for a choice not yet made, how many runs will
follow it. ``train`` trains the known runs, makes the choices, and repeats until the
chapters need nothing more: the notebooks then execute from the store in seconds.

Hours are estimated by :mod:`kdhelpers.estimates` from the speed of finished runs.
"""

from __future__ import annotations

from . import chapters, profiles
from .estimates import estimate_seconds, measured_speeds
from .stages import ChapterPlan, flatten  # noqa: F401  (flatten: part of this module's API)
from .store import Store


def chapter_plan(experiment: str, settings: dict, store: Store) -> ChapterPlan:
    """Every run of ``experiment`` under ``settings`` that is known now (finished or not),
    plus what follows the choices still open: as the chapter's stages declare
    (:mod:`kdhelpers.stages`)."""
    return chapters.BY_KEY[experiment].plan(settings, store)


def run_chapter(experiment: str, settings: dict, store: Store | None = None) -> ChapterPlan:
    """Train (or load) every run ``experiment`` needs under ``settings``, in this process,
    making each choice as the chapter's stages declare, until none is pending: a chapter
    notebook's first step (``train`` does the same for a profile, with worker processes).
    Returns the final plan: every run of the chapter, all of them in the store. Raises
    ``RuntimeError`` naming the choice when one stays pending with every known run trained
    (a pick on its grid's edge waits for the grid to be extended)."""
    from .runner import run_grid

    store = store or Store()
    before = None
    while True:
        plan = chapter_plan(experiment, settings, store)
        known = [c.run_id for c in plan.runs]
        if plan.pending and known == before:  # trained all it knew, and still a choice waits
            raise RuntimeError(f"{experiment} cannot go on: "
                               + "; ".join(label for label, _ in plan.pending))
        run_grid(plan.runs, store, progress=False)
        if not plan.pending:
            return plan
        before = known


def interrupted_runs(store: Store, epochs_of: dict[str, int] | None = None) -> list[dict]:
    """Every interrupted run in ``store``'s ``.partial/``: its epochs checkpointed, the size of
    its work files (what the repository must carry to the next session), and ``problem``
    when it cannot resume as it is (an unreadable checkpoint, a log behind its checkpoint)."""
    from .workfiles import CHECKPOINT, HISTORY_LOG, WORK_FILES, CheckpointError, checkpoint_epoch, \
        read_epoch_log, recorded_threads, segments, unlogged_epochs

    found = []
    partial = store.root / ".partial"
    for work in sorted(p for p in partial.glob("*") if p.is_dir()) if partial.is_dir() else []:
        entry = {"run_id": work.name, "epochs_done": 0,
                 "epochs": (epochs_of or {}).get(work.name), "problem": None,
                 "bytes": sum((work / name).stat().st_size for name in WORK_FILES
                              if (work / name).is_file())}
        try:
            last = checkpoint_epoch(work / CHECKPOINT)
        except CheckpointError as error:
            entry["problem"] = str(error)
            found.append(entry)
            continue
        entry["epochs_done"] = 0 if last is None else last + 1
        rows = read_epoch_log(work / HISTORY_LOG)
        entry["last_epoch_seconds"] = rows[-1].get("seconds") if rows else None
        # a resume must run with these (train.fit refuses another count); empty: not recorded
        entry["threads"] = sorted(recorded_threads(segments(work)))
        missing = unlogged_epochs(work, entry["epochs_done"])
        if missing:
            entry["problem"] = (f"its epoch log lacks epochs {missing} that the checkpoint "
                                f"holds: it will refuse to resume")
        found.append(entry)
    return found


def plan(experiments_: list[str], profile: str, store: Store | None = None) -> dict:
    """Per chapter: runs to train now, runs pending a choice, estimated hours; and totals.

    A run shared by chapters (a teacher, a baseline) is counted in the first that needs it.
    """
    store = store or Store()
    speeds = measured_speeds(store)
    counted: set[str] = set()
    trained_seconds: dict[str, float] = {}  # finished runs, once each however many chapters share them
    chapters = {}
    epochs_of: dict[str, int] = {}
    for experiment in experiments_:
        settings = profiles.resolve(experiment, profile)
        chapter = chapter_plan(experiment, settings, store)
        todo = [c for c in _unique(chapter.runs) if not store.exists(c.run_id)
                and c.run_id not in counted]
        counted.update(c.run_id for c in todo)
        epochs_of.update({c.run_id: c.epochs for c in todo})
        # a later stage may reuse finished runs (chapter 7's no-KD students are chapter 2's)
        later = [(label, [c for c in _unique(configs) if c.run_id not in counted
                          and not store.exists(c.run_id)])
                 for label, configs in chapter.pending]
        finished = {c.run_id: store.load(c.run_id).metrics.get("train_seconds") or 0.0
                    for c in _unique(chapter.runs) if store.exists(c.run_id)}
        trained_seconds.update(finished)
        chapters[experiment] = {
            "done": len(finished),
            "done_hours": sum(finished.values()) / 3600,
            "todo": [c.run_id for c in todo],
            "todo_hours": sum(estimate_seconds(c, speeds, store) for c in todo) / 3600,
            # their teacher is itself still to train: they start once it is published
            "waiting": sum(1 for c in todo if c.teacher and not store.exists(c.teacher)),
            "pending": [{"after": label, "runs": len(configs),
                         "hours": sum(estimate_seconds(c, speeds) for c in configs) / 3600}
                        for label, configs in later],
        }
    hours = sum(ch["todo_hours"] + sum(p["hours"] for p in ch["pending"])
                for ch in chapters.values())
    return {"profile": profile, "chapters": chapters, "total_hours": hours,
            "done_hours": sum(trained_seconds.values()) / 3600,
            "interrupted": interrupted_runs(store, epochs_of)}


def _unique(configs):
    seen = {}
    for config in configs:
        seen.setdefault(config.run_id, config)
    return list(seen.values())


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def format_plan(result: dict) -> str:
    # the recorded epochs ran alone or beside another worker: a sum of run times, not wall time
    lines = [f"plan for profile {result['profile']!r} (estimated hours of training, summed over "
             f"runs, at the epoch times recorded in this store)"]
    for experiment, chapter in result["chapters"].items():
        lines.append(f"  {experiment}: {_runs(chapter['done'])} done ({chapter['done_hours']:.1f} h), "
                     f"{len(chapter['todo'])} to train now ({chapter['todo_hours']:.1f} h, partly "
                     f"trained runs counted by their remaining epochs"
                     + (f"; {chapter['waiting']} of them wait for a teacher still to train"
                        if chapter.get("waiting") else "") + ")")
        for pending in chapter["pending"]:
            lines.append(f"      then {_runs(pending['runs'])} ({pending['hours']:.1f} h): "
                         f"{pending['after']}")
    lines.append(f"  total still to train: {result['total_hours']:.1f} h")
    interrupted = result.get("interrupted", [])
    if interrupted:
        megabytes = sum(entry["bytes"] for entry in interrupted) / 2**20
        lines.append(f"  interrupted runs in .partial/ ({megabytes:.0f} MB of work files; commit "
                     f"them before a session ends so that the next one resumes them):")
        for entry in interrupted:
            of = f" of {entry['epochs']}" if entry["epochs"] else ""
            state = f"PROBLEM: {entry['problem']}" if entry["problem"] else "resumable"
            if not entry["problem"] and len(entry.get("threads", [])) == 1:
                state += f" with {entry['threads'][0]} compute thread(s) per process"
            pace = (f" (last epoch {entry['last_epoch_seconds']:.0f} s on this machine)"
                    if entry.get("last_epoch_seconds") else "")
            lines.append(f"      {entry['run_id']}: {entry['epochs_done']}{of} epochs "
                         f"checkpointed{pace}, {state}")
    budget = profiles.BUDGET_HOURS.get(result["profile"])
    covered = set(budget_chapters(result["profile"])) <= set(result["chapters"])
    if budget is not None and covered:
        total = result["total_hours"] + result["done_hours"]
        verdict = (f"beyond it by {total - budget:.1f} h" if total > budget
                   else f"within it ({budget - total:.1f} h to spare)")
        lines.append(f"  budget: about {budget:g} CPU-hours for chapters "
                     f"{', '.join(budget_chapters(result['profile']))}; this plan: "
                     f"{total:.1f} h in all (trained {result['done_hours']:.1f} h + to train "
                     f"{result['total_hours']:.1f} h), {verdict}")
    return "\n".join(lines)


def budget_chapters(profile: str) -> list[str]:
    return list(profiles.BUDGET_CHAPTERS.get(profile, ()))


def needed_runs(experiments_: list[str], profile: str, store: Store) -> list:
    """The runs the chapters need that are not in ``store``, in chapter order (teachers
    before their students within a chapter), as the plan stands now."""
    todo = []
    for experiment in experiments_:
        chapter = chapter_plan(experiment, profiles.resolve(experiment, profile), store)
        todo += [c for c in chapter.runs if not store.exists(c.run_id)]
    return _unique(todo)


def train(experiments_: list[str], profile: str, store: Store | None = None, *,
          executor=None, progress: bool = True) -> int:
    """Train what the chapters need until nothing is left; the number of runs trained (or
    found finished by another process) on the way.

    Runs go in chapter order, and the plan is made anew each time a run finishes
    (:func:`runner.schedule`): a teacher's students start the moment it is published, and a
    grid's best cell over the evaluation seeds as soon as the grid is done, ahead of later
    chapters' runs. ``executor``: ``None`` trains in this process.
    """
    import time

    from . import runner

    store = store or Store()

    def finished(config):
        if progress:
            print(f"{time.strftime('%H:%M:%S')} {config.run_id} finished", flush=True)

    return runner.schedule(lambda: needed_runs(experiments_, profile, store), store, executor,
                           on_finish=finished)
