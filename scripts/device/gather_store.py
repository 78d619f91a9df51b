"""Copy into DEST the finished runs that CHAPTERS' plans at converged need (their runs,
teachers, and the runs their pending stages reuse), without weights except the teacher's.

    python scripts/device/gather_store.py DEST exp3 exp6 exp7
"""
import json
import shutil
import sys
from pathlib import Path

from kdhelpers import profiles, program
from kdhelpers.store import WEIGHTS, Store

dest, chapters = Path(sys.argv[1]), sys.argv[2:]
store = Store()
ids = set()
for key in chapters:
    plan = program.chapter_plan(key, profiles.resolve(key, "converged"), store)
    for config in plan.runs + [c for _, pending in plan.pending for c in pending]:
        ids |= {config.run_id, config.teacher} - {None}
while True:  # teachers of teachers
    more = {json.loads((store.path(i) / "config.json").read_text())["config"]["teacher"]
            for i in ids if store.exists(i)} - ids - {None}
    if not more:
        break
    ids |= more
have = sorted(i for i in ids if store.exists(i))
for run_id in have:
    shutil.copytree(store.path(run_id), dest / run_id, dirs_exist_ok=True,
                    ignore=None if run_id.startswith("resnet18") else shutil.ignore_patterns(WEIGHTS))
(dest / ".ids.txt").write_text("\n".join(have) + "\n")
print(f"{len(have)} finished runs copied to {dest}; {len(ids) - len(have)} still to train")
