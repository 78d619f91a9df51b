"""The book's status page (``book/status.md``, from ``book/status.json``): what each notebook
was last executed with, and the compute behind each profile's results, which the
reproducibility page sums as well. :mod:`kdhelpers.book` writes it after every execution."""

from __future__ import annotations

import json
import re
from pathlib import Path

from . import chapters, provenance

BOOK_DIR = provenance.REPO_ROOT / "book"
NOTEBOOKS = {c.key: c.notebook for c in chapters.CHAPTERS}  # chapters first, summaries last
STATUS_JSON = BOOK_DIR / "status.json"
STATUS_MD = BOOK_DIR / "status.md"


def training_cost(results_folder: Path) -> dict:
    """Per chapter, and for the book, the runs behind a profile's results and their summed
    training seconds (from each chapter's ``runs`` record; shared runs, e.g. the teacher,
    count once in the totals). Prediction, evaluation and notebook overhead are not included.
    """
    found = {}
    for path in sorted(Path(results_folder).glob("*.json")):
        runs = json.loads(path.read_text()).get("runs")
        if runs is not None:
            found[path.stem] = runs

    def total(keys):
        union = {run_id: sec for key in keys for run_id, sec in found[key].items()}
        return {"runs": len(union), "train_seconds": sum(union.values())}
    paper_chapters = [k for k in found if k in chapters.PAPER_CHAPTERS]
    return {"chapters": {k: total([k]) for k in found}, "paper_chapters": total(paper_chapters),
            "all": total(list(found))}


def interruptions(results_folder: Path) -> dict:
    """Of the distinct runs behind a profile's results (``results_folder`` is
    ``<store>/results/<profile>``): how many resumed after an interruption (a kill, the end of
    a session), how many have no readable ``metrics.json`` here, and the CPUs their training
    ran on (every stretch's, where ``segments`` records them; else the last one's)."""
    results_folder = Path(results_folder)
    store_root = results_folder.parents[1]
    run_ids = set()
    for path in results_folder.glob("*.json"):
        run_ids |= set(json.loads(path.read_text()).get("runs") or {})
    resumed, unread, cpus = 0, 0, set()
    for run_id in sorted(run_ids):
        try:
            metrics = json.loads((store_root / run_id / "metrics.json").read_text())
        except (OSError, ValueError):
            unread += 1
            continue
        resumed += bool(metrics.get("resumed_at_epochs"))
        cpus |= {stretch.get("cpu") for stretch in metrics.get("segments", [])}
        cpus.add((metrics.get("machine") or {}).get("cpu"))
    return {"runs": len(run_ids), "resumed": resumed, "unread": unread,
            "cpus": sorted(cpu for cpu in cpus if cpu)}


def _hours(row: dict) -> str:
    return f"{row['train_seconds'] / 3600:.2f} h"


def _cost_lines(profile: str, cost: dict) -> list[str]:
    from .report import markdown_lines

    rows = [[key, row["runs"], _hours(row)] for key, row in cost["chapters"].items()]
    rows.append(["the paper's chapters (1–6) together", cost["paper_chapters"]["runs"],
                 _hours(cost["paper_chapters"])])
    if cost["all"] != cost["paper_chapters"]:  # a chapter beyond the paper has runs here
        rows.append(["every chapter together", cost["all"]["runs"], _hours(cost["all"])])
    return ["", f"## Compute behind the `{profile}` results", "",
            "Summed training time (`train_seconds` in each run's `metrics.json`) of the runs "
            "each chapter used, on the machine each run trained on; prediction, evaluation "
            "and notebook overhead are left out. Runs shared between chapters (the teacher, "
            "baselines) count in each chapter but once in the totals.", "",
            *markdown_lines(["chapters", "distinct runs", "training time"], rows)]


def _environment(record: dict) -> str:
    """Backend, machine and library versions of one execution, as one line."""
    versions = ", ".join(f"{k} {v}" for k, v in sorted(record["versions"].items()) if k != "backend")
    return f"Keras' {record['backend']} backend on {record['cpu_count']} × {record['machine']} CPUs; {versions}"


def _minute(timestamp: str) -> str:
    """``2026-12-04T21:19:09+00:00`` as ``2026-12-04<br>21:19`` (the column says UTC): the
    date on one line, the time under it, where a narrow column would break the date at a
    hyphen."""
    match = re.match(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)", timestamp)
    return f"{match[1]}<br>{match[2]}" if match else timestamp


def read_records(status_json: Path = STATUS_JSON) -> dict:
    """What each notebook was last executed with (``{}`` before the first execution)."""
    return json.loads(status_json.read_text()) if status_json.exists() else {}


def override_text(name: str, value) -> str:
    """A parameter override as a short line: ``seeds 1, 2, 3`` (a list without brackets)."""
    shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) \
        if isinstance(value, (list, tuple)) else str(value)
    return f"{name} {shown}"


def write_status(records: dict, status_json: Path = STATUS_JSON, status_md: Path = STATUS_MD,
                 store_root: Path | None = None):
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
    ]
    rows, failures = [], []
    executed = {key: r for key, r in records.items() if key in NOTEBOOKS and "versions" in (r or {})}
    # what every executed notebook shares is said once above the table: seven columns, two of
    # them repeating the same five versions on every row, overflowed a laptop's text column
    environment = {key: _environment(r) for key, r in executed.items()}
    shared = len(set(environment.values())) == 1
    if shared:
        lines += [f"Every notebook below was executed with the same environment: "
                  f"{next(iter(environment.values()))}.", ""]
    for key in NOTEBOOKS:
        r = records.get(key)
        failed = (r or {}).get("failed_run")
        if failed:
            failures.append(f"- `{NOTEBOOKS[key]}`: the execution at `{failed['profile']}` on "
                            f"{failed['executed']} failed ({failed['failed']}); the page "
                            f"shows its last complete execution.")
        if key not in executed:
            rows.append([NOTEBOOKS[key].removesuffix(".ipynb"), "not executed", "", "", ""] + ([] if shared else [""]))
            continue
        commit = (r["code"]["commit"] or "unknown")[:10] + (" + uncommitted" if r["code"]["dirty"] else "")
        profile = r["profile"] + "".join(f"<br>{override_text(k, v)}" for k, v in r.get("overrides", {}).items())
        rows.append([r["notebook"].removesuffix(".ipynb"), profile, _minute(r["executed"]), f"{r['wall_seconds']:.0f} s",
                     f"`{commit}`"] + ([] if shared else [re.sub("[;,] ", "<br>", environment[key])]))
    from .report import markdown_lines

    lines += markdown_lines(["notebook", "profile", "executed (UTC)", "wall time", "code revision"]
                            + ([] if shared else ["environment"]), rows)
    if failures:
        lines += ["", "**Failed executions**", "", *failures]
    from .report import results_dir
    from .store import Store

    store = Store(store_root) if store_root is not None else None
    for profile in sorted({r.get("profile") for r in records.values()} - {"smoke", None}):
        cost = training_cost(results_dir(profile, store))
        if cost["chapters"]:
            lines += _cost_lines(profile, cost)
    status_md.write_text("\n".join(lines) + "\n")
