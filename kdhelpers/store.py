"""On-disk artifacts of finished runs, written atomically and verified on read.

Layout under the artifact root (``KDHELPERS_ARTIFACTS``, default ``<repo>/artifacts``)::

    <run_id>/config.json     the RunConfig, plus its run id
    <run_id>/metrics.json    accuracies, best epoch, wall time, provenance
    <run_id>/history.json    per-epoch losses, accuracies, learning rate, seconds
    <run_id>/logits.npz      float16 logits on the test set (``test``); runs written before
                             training-set logits became lazy also hold ``train`` here
    <run_id>/train_logits.npz  float16 logits on the source's full training set, written the
                             first time the run teaches (most runs never do)
    <run_id>/MANIFEST.json   sha256 of the files above and of weights.keras (rewritten when
                             train_logits appears)
    <run_id>/weights.keras   the trained model (git-ignored, so optional when reading; when
                             present it must match its sha256)
    .partial/<run_id>/       work in progress: epoch checkpoint, epoch log (committed while
                             the run is unfinished, so the next session resumes it);
                             ``publish/`` is the finished run being assembled (not committed)

A run directory appears by one ``os.rename`` of its assembled ``publish/`` folder, so a
kill at any moment leaves a run complete or absent; the work files go only after that. ``train_logits.npz`` is added later by
two renames, file first, manifest second: a kill in between leaves a file the manifest does
not list, which is ignored (and rewritten the next time it is needed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import run_lock
from .config import RunConfig
from .data import load_dataset
from .provenance import REPO_ROOT

ARTIFACTS_ENV = "KDHELPERS_ARTIFACTS"
COMMITTED_FILES = ("config.json", "metrics.json", "history.json", "logits.npz")
TRAIN_LOGITS = "train_logits.npz"
MANIFEST = "MANIFEST.json"
WEIGHTS = "weights.keras"


class CorruptRunError(RuntimeError):
    """A run directory exists but is incomplete or does not match its manifest."""


class MissingRunError(LookupError):
    """A referenced run (e.g. a teacher) has no finished artifacts."""


class MissingLogitsError(LookupError):
    """A finished run has no stored logits for the requested split (yet)."""


def default_root() -> Path:
    """``KDHELPERS_ARTIFACTS`` if set; else ``<repository>/artifacts`` when the package runs
    from a checkout (where the committed runs are) or is run from inside one (an installed
    package, a notebook in a clone's ``book/``); else ``./artifacts`` in the working
    directory. Never inside an installed package."""
    from .provenance import in_checkout

    if os.environ.get(ARTIFACTS_ENV):
        return Path(os.environ[ARTIFACTS_ENV]).expanduser().resolve()
    if in_checkout():
        return REPO_ROOT / "artifacts"
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):  # e.g. a chapter run from a clone's book/ folder
        if (folder / "pyproject.toml").is_file() and (folder / "book").is_dir() \
                and (folder / "artifacts").is_dir():
            return folder / "artifacts"
    return here / "artifacts"


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


@dataclass(frozen=True)
class Run:
    """A finished run as read back from disk. ``trained`` says whether this call trained it."""

    path: Path
    config: RunConfig
    metrics: dict
    history: list
    trained: bool = False

    @property
    def run_id(self) -> str:
        return self.config.run_id

    def logits(self, split: str) -> np.ndarray:
        """float32 logits for ``"train"`` (the source's full training set) or ``"test"``.

        ``MissingLogitsError`` if the run has not stored training-set logits yet (see
        :meth:`Store.add_train_logits`).
        """
        if split not in ("train", "test"):
            raise ValueError(f"split={split!r} is not allowed; expected 'train' or 'test'")
        with np.load(self.path / "logits.npz") as archive:
            if split in archive.files:
                return archive[split].astype("float32")
        if TRAIN_LOGITS in _read_manifest(self.path):  # verified by Store.load
            with np.load(self.path / TRAIN_LOGITS) as archive:
                return archive["train"].astype("float32")
        raise MissingLogitsError(f"run {self.run_id} has no training-set logits stored yet")

    def load_model(self):
        """The trained model, verified: against the sha256 in the manifest, or, for runs
        sealed before weights were listed there, against the run's stored test logits (and
        then listed, so the check runs once)."""
        import keras

        path = self.path / WEIGHTS
        if not path.is_file():
            raise MissingRunError(f"run {self.run_id} has no {WEIGHTS} (weights are not "
                                  f"committed); re-train it by deleting {self.path}")
        manifest = _read_manifest(self.path)
        listed = WEIGHTS in manifest
        if listed and _sha256_file(path) != manifest[WEIGHTS]:
            raise CorruptRunError(f"{path} does not match its sha256 in {MANIFEST}: these are "
                                  f"not this run's weights; delete {self.path} to re-train it")
        try:
            model = keras.saving.load_model(path, compile=False)
        except Exception as error:  # zip, HDF5 and deserialisation errors alike
            raise CorruptRunError(f"{path} cannot be loaded ({type(error).__name__}: "
                                  f"{error}); delete {self.path} to re-train it") from error
        if not listed:
            self._check_and_list_weights(model)
        return model

    def _check_and_list_weights(self, model) -> None:
        stored = self.logits("test")
        x_test = load_dataset(self.config).x_test
        predicted = model.predict(x_test, batch_size=512, verbose=0).astype("float16")
        agree = float(np.mean(predicted.argmax(-1) == stored.argmax(-1)))
        if agree < 0.99 or not np.allclose(predicted.astype("float32"), stored, atol=0.05):
            raise CorruptRunError(f"{self.path / WEIGHTS} does not reproduce the run's stored "
                                  f"test logits (argmax agreement {agree:.3f}): these are not "
                                  f"this run's weights")
        manifest = _read_manifest(self.path)
        manifest[WEIGHTS] = _sha256_file(self.path / WEIGHTS)
        write_json(self.path / (MANIFEST + ".tmp"), manifest)
        os.replace(self.path / (MANIFEST + ".tmp"), self.path / MANIFEST)


class Store:
    """Finished runs under ``root``, keyed by run id."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()
        if root is not None and not self.root.parent.is_dir():
            raise ValueError(f"store root {str(root)!r}: its parent directory "
                             f"{str(self.root.parent)!r} does not exist")

    def path(self, run_id: str) -> Path:
        return self.root / run_id

    def partial_path(self, run_id: str) -> Path:
        return self.root / ".partial" / run_id

    def exists(self, run_id: str) -> bool:
        return self.path(run_id).exists()

    def load(self, run_id: str, *, trained: bool = False) -> Run:
        """Read and verify a finished run; ``MissingRunError`` / ``CorruptRunError`` otherwise."""
        path = self.path(run_id)
        if not path.exists():
            raise MissingRunError(f"run {run_id!r} does not exist under {self.root}; run its "
                                  f"config first (or include it in the same grid)")
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise CorruptRunError(f"run directory {path} has no {MANIFEST}: it is incomplete; "
                                  f"inspect it, then delete it to re-run")
        try:
            manifest = _read_manifest(path)
            optional = (TRAIN_LOGITS,) if TRAIN_LOGITS in manifest else ()
            for name in COMMITTED_FILES + optional:
                if not (path / name).is_file():
                    raise CorruptRunError(f"run directory {path} lacks {name}")
                if _sha256_file(path / name) != manifest[name]:
                    raise CorruptRunError(f"{path / name} does not match its sha256 in {MANIFEST}")
            config = RunConfig.from_dict(json.loads((path / "config.json").read_text())["config"])
            metrics = json.loads((path / "metrics.json").read_text())
            history = json.loads((path / "history.json").read_text())
        except (KeyError, ValueError) as error:  # json errors are ValueErrors
            raise CorruptRunError(f"run directory {path} is unreadable: {error}") from error
        if config.run_id != run_id:
            raise CorruptRunError(f"{path}/config.json describes run {config.run_id}, not {run_id}")
        if config.data == "full" and metrics.get("data_source") == "sample":
            raise CorruptRunError(f"run {run_id} asks for data='full' but was trained on the "
                                  f"bundled sample ({path}/metrics.json); delete it to re-train")
        return Run(path=path, config=config, metrics=metrics, history=history, trained=trained)

    def commit(self, folder: Path, run_id: str) -> Path:
        """Seal ``folder`` with a manifest and move it into place in one rename."""
        names = COMMITTED_FILES + ((WEIGHTS,) if (folder / WEIGHTS).is_file() else ())
        write_json(folder / MANIFEST, {name: _sha256_file(folder / name) for name in names})
        final = self.path(run_id)
        os.rename(folder, final)  # atomic on one file system; fails if final exists
        return final

    def lock_path(self, run_id: str) -> Path:
        return self.root / ".partial" / f"{run_id}.lock"

    def claim(self, run_id: str, *, poll: float = 2.0, on_wait=None):
        """Hold the exclusive right to train ``run_id`` in this store, waiting while another
        process holds it (:func:`kdhelpers.run_lock.claim`)."""
        return run_lock.claim(self.lock_path(run_id), poll=poll, on_wait=on_wait)

    def is_claimed(self, run_id: str) -> bool:
        """Whether another process holds the claim on ``run_id`` right now."""
        return run_lock.is_claimed(self.lock_path(run_id))

    def claim_holder(self, run_id: str) -> dict:
        """Who holds the claim on ``run_id`` (as its lock file says), or ``{}``."""
        return run_lock.holder(self.lock_path(run_id))

    def discard_partial(self, run_id: str) -> None:
        """Remove a run's work files (after it is published, or when it failed)."""
        shutil.rmtree(self.partial_path(run_id), ignore_errors=True)

    def add_train_logits(self, run: Run, logits: np.ndarray) -> Run:
        """Store ``run``'s training-set logits (float16) and list them in its manifest."""
        path = self.path(run.run_id)
        manifest = _read_manifest(path)
        with open(path / (TRAIN_LOGITS + ".tmp"), "wb") as handle:  # savez would add ".npz"
            np.savez_compressed(handle, train=np.asarray(logits).astype("float16"))
        manifest[TRAIN_LOGITS] = _sha256_file(path / (TRAIN_LOGITS + ".tmp"))
        write_json(path / (MANIFEST + ".tmp"), manifest)
        os.replace(path / (TRAIN_LOGITS + ".tmp"), path / TRAIN_LOGITS)
        os.replace(path / (MANIFEST + ".tmp"), path / MANIFEST)
        return self.load(run.run_id)


def _read_manifest(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_text())
