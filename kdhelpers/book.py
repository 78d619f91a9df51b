"""Execute the book's notebooks with papermill, in dependency order, and record their status.

    python -m kdhelpers.book run --profile cpu              # every chapter, then the summary
    python -m kdhelpers.book run --profile cpu --only exp2  # one chapter (and the summary)
    python -m kdhelpers.book run --profile smoke --only exp7 --no-summary  # leave the summary

Notebooks are executed in place (``book/<name>.ipynb``); runs already in the artifact store
are loaded, not retrained. ``book/status.md`` (the book's status page) is rewritten after
each notebook from ``book/status.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import profiles, provenance

BOOK_DIR = provenance.REPO_ROOT / "book"
# Chapter key -> notebook; the summary reads every chapter's results, so it runs last.
NOTEBOOKS = {
    "exp1": "exp1_mnist.ipynb",
    "exp2": "exp2_alpha_temperature.ipynb",
    "exp3": "exp3_training_data.ipynb",
    "exp4": "exp4_teacher_free.ipynb",
    "exp5": "exp5_student_as_teacher.ipynb",
    "exp6": "exp6_teacher_assistants.ipynb",
    "exp7": "exp7_beyond_logits.ipynb",
    "summary": "summary.ipynb",
}
STATUS_JSON = BOOK_DIR / "status.json"
STATUS_MD = BOOK_DIR / "status.md"


def selected(only: list[str] | None, summary: bool = True) -> list[str]:
    """Notebooks to execute, in book order; the summary last unless ``summary`` is False."""
    for key in only or []:
        if key not in NOTEBOOKS:
            raise ValueError(f"--only {key!r} is not a notebook; choose from {list(NOTEBOOKS)}")
    keys = [k for k in NOTEBOOKS if k != "summary" and (not only or k in only)]
    return keys + ["summary"] if summary or (only and "summary" in only) else keys


def execute(key: str, profile: str, book_dir: Path = BOOK_DIR) -> dict:
    """Run one notebook in place through papermill; return its status record."""
    import papermill

    path = book_dir / NOTEBOOKS[key]
    started = time.perf_counter()
    papermill.execute_notebook(str(path), str(path), parameters={"profile": profile},
                               cwd=str(book_dir), kernel_name="python3", progress_bar=False,
                               log_output=False)
    record = provenance.record()
    return {"notebook": NOTEBOOKS[key], "profile": profile, "executed": record["created"],
            "wall_seconds": round(time.perf_counter() - started, 1),
            "backend": record["versions"]["backend"], "versions": record["versions"],
            "code": record["code"], "machine": record["machine"]["processor"],
            "cpu_count": record["machine"]["cpu_count"]}


def training_time(store_root: Path) -> dict:
    """Runs and summed training seconds per model, over finished runs on the full data sets.

    This is the compute behind the non-smoke results (a profile is not part of a run, but
    only ``cpu`` and ``full`` train on the full data; the bundled sample is ``smoke``).
    Prediction and evaluation time are not included.
    """
    totals: dict = {}
    for config_path in sorted(Path(store_root).glob("*/config.json")):
        config = json.loads(config_path.read_text())["config"]
        metrics_path = config_path.with_name("metrics.json")
        if config.get("data") != "full" or not metrics_path.is_file():
            continue
        seconds = json.loads(metrics_path.read_text()).get("train_seconds") or 0.0
        row = totals.setdefault(config["model"], {"runs": 0, "train_seconds": 0.0})
        row["runs"] += 1
        row["train_seconds"] += seconds
    return totals


def write_status(records: dict, status_json: Path = STATUS_JSON, status_md: Path = STATUS_MD,
                 store_root: Path | None = None):
    from .store import default_root

    status_json.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    lines = [
        "# Status",
        "",
        "What each notebook of this book was last executed with, written by "
        "`python -m kdhelpers.book run` (do not edit by hand). Numbers in a chapter come from "
        "the profile shown here; `smoke` runs only prove that the code runs. Wall time is that "
        "of the notebook's last execution: runs already in the artifact store are loaded, not "
        "retrained, so a re-execution can take seconds (each run's own training time is in "
        "its `metrics.json`).",
        "",
        "| notebook | profile | executed (UTC) | wall time | backend | versions | code revision |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in NOTEBOOKS:
        r = records.get(key)
        if r is None:
            lines.append(f"| {NOTEBOOKS[key]} | not executed | | | | | |")
            continue
        versions = ", ".join(f"{k} {v}" for k, v in sorted(r["versions"].items()) if k != "backend")
        commit = (r["code"]["commit"] or "unknown")[:10] + (" + uncommitted" if r["code"]["dirty"] else "")
        lines.append(f"| {r['notebook']} | {r['profile']} | {r['executed']} | "
                     f"{r['wall_seconds']:.0f} s | {r['backend']} on {r['cpu_count']} × "
                     f"{r['machine']} | {versions} | `{commit}` |")
    totals = training_time(store_root or default_root())
    if totals:
        hours = sum(r["train_seconds"] for r in totals.values()) / 3600
        lines += ["", "## Compute behind the results", "",
                  f"Summed training time (the `train_seconds` of each run's `metrics.json`) of "
                  f"every finished run on the full data sets in the artifact store: "
                  f"**{hours:.1f} h** over {sum(r['runs'] for r in totals.values())} runs. "
                  f"It counts the machine each run trained on (2 CPU cores for the `cpu` "
                  f"profile) and leaves out prediction, evaluation and notebook overhead.", "",
                  "| model | runs | training time |", "|---|---|---|"]
        lines += [f"| {model} | {r['runs']} | {r['train_seconds'] / 60:.0f} min |"
                  for model, r in sorted(totals.items())]
    status_md.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdhelpers.book", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="execute notebooks with papermill")
    run_parser.add_argument("--profile", default="smoke", choices=profiles.PROFILES)
    run_parser.add_argument("--only", nargs="+", metavar="NOTEBOOK",
                            help=f"some of {list(NOTEBOOKS)}; the summary follows")
    run_parser.add_argument("--no-summary", action="store_true",
                            help="do not re-execute the summary (e.g. a smoke check of one "
                                 "chapter while the summary shows cpu results)")
    args = parser.parse_args(argv)
    profile = profiles.active_profile(args.profile)
    try:
        keys = selected(args.only, summary=not args.no_summary)
    except ValueError as error:
        parser.error(str(error))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for key in keys:
        print(f"[{profile}] executing {NOTEBOOKS[key]} ...", flush=True)
        record = execute(key, profile)
        # re-read: another `book run` (e.g. of a different chapter) may have written meanwhile
        records = json.loads(STATUS_JSON.read_text()) if STATUS_JSON.exists() else {}
        records[key] = record
        write_status(records)
        print(f"[{profile}] {NOTEBOOKS[key]} done in {record['wall_seconds']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
