"""The first output of every chapter notebook: where it ran and with what."""

from __future__ import annotations

from . import data, provenance
from .store import ARTIFACTS_ENV, Store


def header(settings: dict, store: Store | None = None):
    """Where this execution ran and with what, as one folded block (a ``<details>`` element:
    one line until opened, in the book and in Jupyter alike): profile, seeds, data source,
    store, batch order, date, library versions and code revision."""
    from IPython.display import Markdown

    record = provenance.record()
    store = store or Store()
    if settings["common"]["data"] == "sample":
        source = "bundled sample"
    else:
        source = {"keras": "Keras dataset cache"}.get(data.resolve_source(),
                                                       f"{data.ENV_VAR} directory")
    if settings["common"].get("shuffle") == "keras":
        order = ("Keras' shuffle, the same order in every epoch (these runs predate the "
                 "per-epoch shuffle and exact resume; the reproducibility summary's deviations)")
    else:
        order = "a fresh permutation every epoch, from (seed, epoch)"
    code = record["code"]
    revision = (f"{code['commit'] or 'unknown'}"
                + (" (uncommitted changes)" if code["dirty"] else "")
                + (f" (installed from {code['installed_from']})" if code.get("installed_from") else ""))
    versions = ", ".join(f"{name} {version}" for name, version in sorted(record["versions"].items()))
    lines = [f"profile: {settings['profile']}", f"evaluation seeds: {', '.join(map(str, settings['seeds']))}",
             f"data: {settings['common']['data']} ({source})",
             f"artifacts: {describe_store(store)}; cached runs are reused, not retrained",
             f"batch order: {order}", f"executed: {record['created']}", f"versions: {versions}",
             f"code revision: {revision}"]
    summary = (f"Executed at the <code>{settings['profile']}</code> profile on "
               f"{record['created'][:10]} (provenance)")
    return Markdown(f"<details><summary>{summary}</summary>\n\n"
                    + "\n".join(f"- {line}" for line in lines) + "\n\n</details>")


def describe_store(store: Store) -> str:
    """Where runs are read and written: relative to the checkout when inside it (the
    committed runs); a store outside the checkout that executes the book is named without
    its path (a page never shows a path of the machine that executed it); an installed copy
    (Colab) gives the path, the reader's own."""
    if not provenance.in_checkout():  # an installed copy (Colab): say where its runs go
        return str(store.root)
    try:
        return f"artifacts/ of the repository checkout ({store.root.relative_to(provenance.REPO_ROOT)})"
    except ValueError:
        return f"{store.root.name}/ outside this checkout, named by {ARTIFACTS_ENV}"
