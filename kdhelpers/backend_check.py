"""Runs trained twice, on two backends or devices: what mixing them in one comparison costs.

    python -m kdhelpers.backend_check    # the paired difference, run by run and in all

``artifacts/backend_check/<run id>/`` holds the ``config.json``, ``metrics.json`` and
``history.json`` of a second training of a run the store already has (same configuration, so
the same id), made on another backend or device; its README says how they came about. The
difference of each pair (second minus stored test accuracy) is a sample of what the backend
adds to a run's outcome; its mean with a paired 95 % t interval (:func:`claims.compare`)
says whether runs from both may stand side by side in one comparison.
"""

from __future__ import annotations

import json

from . import claims
from .store import Store

FOLDER = "backend_check"


def pairs(store: Store | None = None) -> list[dict]:
    """One record per second training: its id, fraction, seed, both backends and accuracies."""
    store = store or Store()
    found = []
    for metrics_path in sorted((store.root / FOLDER).glob("*/metrics.json")):
        run_id = metrics_path.parent.name
        second = json.loads(metrics_path.read_text())
        stored = store.load(run_id)
        found.append({"run_id": run_id, "fraction": stored.config.fraction,
                      "seed": stored.config.seed,
                      "stored": (stored.metrics["versions"]["backend"],
                                 100.0 * stored.metrics["test_accuracy"]),
                      "second": (second["versions"]["backend"],
                                 100.0 * second["test_accuracy"])})
    return found


def summary(found: list[dict]) -> dict:
    """Paired difference, second minus stored, in percentage points, with its 95 % CI."""
    if not found:
        raise ValueError(f"no second trainings found: {FOLDER}/<run id>/metrics.json is empty")
    return claims.compare([p["second"][1] for p in found], [p["stored"][1] for p in found],
                          paired=True)


def main() -> None:
    found = pairs()
    for p in found:
        print(f"{p['run_id']}  fraction {p['fraction']:<5} seed {p['seed']}  "
              f"{p['stored'][0]} {p['stored'][1]:.2f}  {p['second'][0]} {p['second'][1]:.2f}")
    result = summary(found)
    print(f"{len(found)} pairs, second - stored: {result['gain']:+.2f} pp, 95 % CI "
          f"{claims.interval_text(result['ci95'])}")


if __name__ == "__main__":
    main()
