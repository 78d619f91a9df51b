"""Execute the book's notebooks with papermill, in dependency order, and record their status.

    python -m kdhelpers.book run --profile cpu              # every chapter, then the summary
    python -m kdhelpers.book run --profile cpu --only exp2  # one chapter (and the summary)
    python -m kdhelpers.book run --profile smoke --only exp7 --no-summary  # leave the summary
    python -m kdhelpers.book plan --profile converged --only exp2 exp3 exp6  # what is left
    python -m kdhelpers.book train --profile converged --only exp2 --workers 2  # train it

Notebooks are executed in place (``book/<name>.ipynb``); runs already in the artifact store
are loaded, not retrained. ``book/status.md`` (the book's status page) is rewritten after
each notebook from ``book/status.json`` (:mod:`kdhelpers.status`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import chapters, profiles, provenance

from .status import BOOK_DIR, NOTEBOOKS, read_records, write_status


def selected(only: list[str] | None, summary: bool = True) -> list[str]:
    """Notebooks to execute, in book order; the summary pages last unless ``summary`` is
    False (or they are named in ``only``)."""
    for key in only or []:
        if key not in NOTEBOOKS:
            raise ValueError(f"--only {key!r} is not a notebook; choose from {list(NOTEBOOKS)}")
    keys = [k for k in chapters.EXPERIMENTS if not only or k in only]
    summaries = [k for k in chapters.SUMMARIES if summary or (only and k in only)]
    return keys + summaries


def execute(key: str, profile: str, book_dir: Path = BOOK_DIR, overrides: dict | None = None) -> dict:
    """Run one notebook through papermill into a temporary file beside it, and replace the
    chapter only when the whole notebook ran: a failed or killed execution never leaves a
    half-executed chapter (papermill writes its output as it goes). Returns the status
    record; a failure is recorded (``failed``) and re-raised. ``overrides``: values for the
    notebook's other parameters (e.g. ``{"seeds": [1, 2, 3]}``), recorded in the status."""
    import papermill

    path = book_dir / NOTEBOOKS[key]
    scratch = path.with_name(f".{path.stem}.executing.ipynb")
    started = time.perf_counter()
    try:
        papermill.execute_notebook(str(path), str(scratch),
                                   parameters={**(overrides or {}), "profile": profile},
                                   cwd=str(book_dir), kernel_name="python3",
                                   progress_bar=False, log_output=False)
    except BaseException as error:
        scratch.unlink(missing_ok=True)
        failed = {"notebook": NOTEBOOKS[key], "profile": profile,
                  "failed": f"{type(error).__name__}: {str(error).strip().splitlines()[-1:] or ''}",
                  "executed": provenance.record()["created"]}
        raise ChapterFailed(failed) from error
    _hide_injected_parameters(scratch)
    os.replace(scratch, path)
    record = provenance.record()
    return {"notebook": NOTEBOOKS[key], "profile": profile, "executed": record["created"],
            "wall_seconds": round(time.perf_counter() - started, 1),
            "backend": record["versions"]["backend"], "versions": record["versions"],
            "code": record["code"], "machine": record["machine"]["processor"],
            "cpu_count": record["machine"]["cpu_count"],
            **({"overrides": dict(overrides)} if overrides else {})}


def parse_overrides(items: list[str] | None) -> dict:
    """``["seeds=[1, 2, 3]", "alpha=0.5"]`` -> ``{"seeds": [1, 2, 3], "alpha": 0.5}``: each
    value read as JSON (a bare word stays a string)."""
    found = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier() or name == "profile":
            raise ValueError(f"--param {item!r}: expected NAME=VALUE with NAME a notebook "
                             f"parameter other than profile (e.g. seeds=[1,2,3])")
        try:
            found[name] = json.loads(value)
        except json.JSONDecodeError:
            found[name] = value
    return found


def _hide_injected_parameters(path: Path) -> None:
    """Keep the book's pages for results: the cell papermill adds (``# Parameters``; the
    header states the profile) and the Colab set-up cell (it does nothing off Colab) are
    left out of the built page (``remove-cell``; the notebook keeps them, Colab runs the
    set-up); papermill has no option to tag its cell itself.

    The injected cell is also skipped by nbval (``nbval-skip``): CI re-runs every notebook at
    ``smoke`` (``KDHELPERS_PROFILE``), where overrides made for the executed profile (chapter
    3's five fractions and three seeds at ``converged``) would train 30 smoke runs instead of
    the profile's 8; skipped, the notebook runs at its own defaults."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            wanted = ["remove-cell", "nbval-skip"]
        elif cell.cell_type == "code" and "google.colab" in cell.source:
            wanted = ["remove-cell"]
        else:
            wanted = []
        missing = [tag for tag in wanted if tag not in tags]
        if missing:
            cell.metadata["tags"] = [*tags, *missing]
    nbformat.write(nb, path)


class ChapterFailed(RuntimeError):
    """A chapter's execution failed; ``record`` is what the status page shows for it."""

    def __init__(self, record: dict):
        super().__init__(f"{record['notebook']} failed at profile {record['profile']}: "
                         f"{record['failed']}")
        self.record = record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdhelpers.book", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="execute notebooks with papermill")
    run_parser.add_argument("--only", nargs="+", metavar="NOTEBOOK",
                            help=f"some of {list(NOTEBOOKS)}; the summary follows")
    run_parser.add_argument("--param", nargs="+", metavar="NAME=VALUE",
                            help="other notebook parameters, as JSON values (e.g. seeds=[1,2,3]); "
                                 "the status page records them")
    run_parser.add_argument("--no-summary", action="store_true",
                            help="do not re-execute the summary (e.g. a smoke check of one "
                                 "chapter while the summary shows cpu results)")
    experiments_ = list(chapters.EXPERIMENTS)
    plan_parser = sub.add_parser("plan", help="list the runs a profile still needs, with "
                                              "estimated hours")
    train_parser = sub.add_parser("train", help="train every run the chapters need (no "
                                                "notebook is executed)")
    for each in (plan_parser, train_parser):
        each.add_argument("--only", nargs="+", metavar="CHAPTER", default=experiments_,
                          help=f"some of {experiments_}")
    train_parser.add_argument("--workers", type=int, default=None,
                              help="worker processes (default: KDHELPERS_EXECUTOR, else 1)")
    for each in (run_parser, plan_parser, train_parser):
        each.add_argument("--profile", default="smoke", help=f"one of {list(profiles.PROFILES)}")
    args = parser.parse_args(argv)
    try:
        profile = profiles.active_profile(args.profile)
        if args.command == "run":
            keys = selected(args.only, summary=not args.no_summary)
            overrides = parse_overrides(args.param)
        else:
            keys = selected(args.only, summary=False)
    except ValueError as error:
        parser.error(str(error))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.command in ("plan", "train"):
        from . import executors, program

        if args.command == "plan":
            print(program.format_plan(program.plan(keys, profile)))
            return 0
        if args.workers is not None and args.workers < 1:
            parser.error(f"--workers {args.workers} must be at least 1")
        executor = (executors.from_environment() if args.workers is None else
                    executors.process_pool(args.workers) if args.workers > 1 else None)
        handled = program.train(keys, profile, executor=executor)
        print(f"[{profile}] {', '.join(keys)}: every run is in the store ({handled} handled)")
        return 0
    for key in keys:
        print(f"[{profile}] executing {NOTEBOOKS[key]} ...", flush=True)
        try:
            # the overrides are a chapter's: the summary pages take none
            record = execute(key, profile, overrides=overrides if key not in chapters.SUMMARIES else None)
        except ChapterFailed as failure:
            _record_status(key, {"failed_run": failure.record})
            print(f"[{profile}] {failure}; the chapter keeps its last execution", flush=True)
            return 1
        _record_status(key, record)
        print(f"[{profile}] {NOTEBOOKS[key]} done in {record['wall_seconds']:.0f} s", flush=True)
    return 0


def _record_status(key: str, update: dict) -> None:
    # re-read: another `book run` (e.g. of a different chapter) may have written meanwhile
    records = read_records()
    if "failed_run" in update:  # keep the last good execution, and say what failed since
        records[key] = {**records.get(key, {}), **update}
    else:
        records[key] = update
    write_status(records)


if __name__ == "__main__":
    sys.exit(main())
