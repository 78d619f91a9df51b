"""The first cells of every chapter notebook: where it runs and with what."""

from __future__ import annotations

import json

from . import data, provenance
from .store import ARTIFACTS_ENV, Store


def header(settings: dict, store: Store | None = None) -> None:
    """Print the profile, seeds, data source, library versions and code revision."""
    record = provenance.record()
    store = store or Store()
    if settings["common"]["data"] == "sample":
        source = "bundled sample"
    else:
        source = {"keras": "Keras dataset cache"}.get(data.resolve_source(),
                                                       f"{data.ENV_VAR} directory")
    print(f"profile: {settings['profile']}")
    print(f"seeds: {settings['seeds']}")
    print(f"data: {settings['common']['data']} ({source})")
    print(f"artifacts: {describe_store(store)} (cached runs are reused, not retrained)")
    if settings["common"].get("shuffle") == "keras":
        print("batch order: Keras' shuffle, one order every epoch (these runs predate the "
              "per-epoch shuffle and exact resume; see the reproducibility summary)")
    else:
        print("batch order: a fresh permutation every epoch, from (seed, epoch)")
    print(f"executed: {record['created']}")
    print("versions:", json.dumps(record["versions"], sort_keys=True))
    code = record["code"]
    print(f"code revision: {code['commit']}{' (uncommitted changes)' if code['dirty'] else ''}"
          + (f" (installed from {code['installed_from']})" if code.get("installed_from") else ""))


def describe_store(store: Store) -> str:
    """Where runs are read and written: relative to the checkout when inside it (the
    committed runs), else said without the path (a page never shows a path of the machine
    that executed it)."""
    try:
        return f"artifacts/ of the repository checkout ({store.root.relative_to(provenance.REPO_ROOT)})" \
            if provenance.in_checkout() else f"a store named by {ARTIFACTS_ENV}"
    except ValueError:
        return f"{store.root.name}/ outside this checkout, named by {ARTIFACTS_ENV}"
