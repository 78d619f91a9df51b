"""MNIST and CIFAR-10 as float32 images in [0, 1] with integer labels.

Where the arrays come from (first match wins):

1. ``data_dir`` argument, else the ``KDHELPERS_DATA`` environment variable: a directory with
   ``mnist.npz`` / ``cifar10.npz`` laid out like ``keras.datasets`` (keys ``x_train``,
   ``y_train``, ``x_test``, ``y_test``), e.g. ``KDHELPERS_DATA=../shared/data``. The value
   ``sample`` selects the small real sample bundled in ``kdhelpers/sample_data`` (first 500
   training and first 250 test images of each set), used by the tests and the smoke profile.
2. Keras' own dataset cache (``~/.keras/datasets``), downloading there if needed.

Full data sets are checked against the known sha256 of each array, whatever their source.
"""

from __future__ import annotations

import functools
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._checks import check_choice, check_fraction

DATASETS = ("mnist", "cifar10")
SAMPLE = "sample"
SAMPLE_DIR = Path(__file__).parent / "sample_data"
ENV_VAR = "KDHELPERS_DATA"

# sha256 of each array's raw bytes (C order), from ../shared/data/README.md.
ARRAY_SHA256 = {
    "mnist": {
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    "cifar10": {
        "x_train": "47af8b02cfcfb6cdf3dbbd1969ad7f1b70f4413f6f80f437b020ee4e5bc8304a",
        "y_train": "2b7cd2f24487317614016b72ffd53071c3062f592f0eb300c18a770d41ae1253",
        "x_test": "f9b1e2130bab680db56eb06d886f7f1ad0f1183907ceff4659d1735c890f5b04",
        "y_test": "cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5",
    },
}
SAMPLE_FILE_SHA256 = {
    "mnist": "d669553e16bd52387148ceb0220d8111991e90f551481c2fc241b8db8f8d66dc",
    "cifar10": "35f35d40d41745b05885f010a09fee75f7394f7134b156c011cb586ce47be498",
}
KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataNotFoundError(FileNotFoundError):
    """No local copy of a data set and no way to download it."""


class DataIntegrityError(ValueError):
    """A data file's contents differ from the known sha256."""


@dataclass(frozen=True)
class Dataset:
    """Arrays of one data set after the training fraction and validation split.

    ``train_index`` / ``val_index`` give each row's position in the source's full training
    set, so cached teacher logits (stored for the full training set) can be looked up.
    """

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray
    val_index: np.ndarray
    num_classes: int = 10


def _sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def resolve_source(data_dir: str | os.PathLike | None = None) -> str:
    """``"sample"``, an absolute directory path, or ``"keras"`` (cache/download)."""
    value = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or None
    if value is None:
        return "keras"
    if str(value) == SAMPLE:
        return SAMPLE
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        setting = "data_dir" if data_dir is not None else ENV_VAR
        raise DataNotFoundError(
            f"{setting}={str(value)!r} is not a directory; expected a directory holding "
            f"{', '.join(d + '.npz' for d in DATASETS)}, or the value {SAMPLE!r}")
    return str(path)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in KEYS if k not in archive.files]
            if missing:
                raise DataIntegrityError(f"{path} lacks the arrays {missing}; expected keys "
                                         f"{list(KEYS)}")
            return {k: archive[k] for k in KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as error:
        if isinstance(error, DataIntegrityError):
            raise
        raise DataIntegrityError(f"{path} is not a readable .npz archive ({type(error).__name__}: "
                                 f"{error}); expected keys {list(KEYS)}") from error


def _from_keras(name: str) -> dict[str, np.ndarray]:
    import keras

    loader = {"mnist": keras.datasets.mnist, "cifar10": keras.datasets.cifar10}[name]
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # offline, proxy, corrupt cache: all mean "no data here"
        raise DataNotFoundError(
            f"could not load {name!r}: no {ENV_VAR} directory was set and Keras' cache/download "
            f"failed ({type(error).__name__}: {error}). Set {ENV_VAR} to a directory holding "
            f"{name}.npz (keys {', '.join(KEYS)}), e.g. {ENV_VAR}=../shared/data, or use "
            f"{ENV_VAR}={SAMPLE} for the bundled sample") from error
    return {"x_train": x_train, "y_train": y_train.reshape(-1),
            "x_test": x_test, "y_test": y_test.reshape(-1)}


@functools.lru_cache(maxsize=4)
def load_raw(name: str, source: str) -> dict[str, np.ndarray]:
    """The four uint8 arrays of ``name`` from a resolved ``source``, verified by sha256."""
    check_choice("dataset", name, DATASETS)
    if source == SAMPLE:
        path = SAMPLE_DIR / f"{name}.npz"
        if _sha256(path.read_bytes()) != SAMPLE_FILE_SHA256[name]:
            raise DataIntegrityError(f"bundled sample {path} does not match its sha256")
        return _read_npz(path)
    if source == "keras":
        arrays = _from_keras(name)
    else:
        path = Path(source) / f"{name}.npz"
        if not path.is_file():
            raise DataNotFoundError(
                f"{path} does not exist; the directory {source} ({ENV_VAR} or data_dir) must "
                f"hold {name}.npz with keys {', '.join(KEYS)}")
        arrays = _read_npz(path)
    for key, expected in ARRAY_SHA256[name].items():
        actual = _sha256(np.ascontiguousarray(arrays[key]).data)
        if actual != expected:
            raise DataIntegrityError(
                f"{name} array {key!r} from {source} has sha256 {actual}, expected {expected}: "
                f"the file is not the original {name}")
    return arrays


def _stratified_pick(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``fraction`` of each class (at least one each), in ascending order."""
    picked = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        count = max(1, round(fraction * len(members)))
        picked.append(rng.permutation(members)[:count])
    return np.sort(np.concatenate(picked))


def scaled(images: np.ndarray) -> np.ndarray:
    """uint8 images as float32 in [0, 1], with a channel axis (MNIST's is added)."""
    images = images.astype("float32") / 255.0
    return images[..., None] if images.ndim == 3 else images


def full_training_images(dataset: Dataset) -> np.ndarray:
    """Every training image of ``dataset``'s source, in the source's order (what a teacher's
    stored training-set logits are indexed by), scaled like :func:`load`'s."""
    return scaled(load_raw(dataset.name, dataset.source)["x_train"])


def load(name: str, *, fraction: float = 1.0, subset: str = "first", val_fraction: float = 0.0,
         split_seed: int = 0, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load ``name`` (``"mnist"`` or ``"cifar10"``) scaled to [0, 1].

    A stratified validation set of ``val_fraction`` of the training images is carved first
    (fixed by ``split_seed``, identical for every training fraction). ``fraction`` of the
    remaining images is kept for training: the first N in the original order
    (``subset="first"``, what the paper did) or a stratified random draw
    (``subset="stratified"``).
    """
    check_choice("dataset", name, DATASETS)
    check_fraction("fraction", fraction)
    check_fraction("val_fraction", val_fraction, allow_zero=True)
    check_choice("subset", subset, ("first", "stratified"))
    source = resolve_source(data_dir)
    raw = load_raw(name, source)
    y_all = raw["y_train"].astype("int32")
    rng = np.random.default_rng(split_seed)
    if val_fraction > 0:
        val_index = _stratified_pick(y_all, val_fraction, rng)
    else:
        val_index = np.zeros(0, dtype=np.int64)
    pool = np.setdiff1d(np.arange(len(y_all)), val_index)
    if subset == "first":
        train_index = pool[: max(1, round(fraction * len(pool)))]
    else:
        train_index = pool[_stratified_pick(y_all[pool], fraction, rng)]

    return Dataset(
        name=name, source=source,
        x_train=scaled(raw["x_train"][train_index]), y_train=y_all[train_index],
        x_val=scaled(raw["x_train"][val_index]), y_val=y_all[val_index],
        x_test=scaled(raw["x_test"]), y_test=raw["y_test"].astype("int32"),
        train_index=train_index, val_index=val_index,
    )


def load_dataset(config) -> Dataset:
    """The data a :class:`~kdhelpers.config.RunConfig` names; ``data="full"`` refuses the
    bundled sample (``KDHELPERS_DATA=sample``), which would otherwise be trained on and stored
    as the full-data run."""
    data_dir = SAMPLE if config.data == "sample" else None
    if config.data == "full" and resolve_source() == SAMPLE:
        raise ValueError(f"run {config.run_id} asks for data='full' but {ENV_VAR}="
                         f"{SAMPLE!r} selects the bundled sample; unset {ENV_VAR} or "
                         f"set it to a directory holding the full data sets, or use "
                         f"data='sample' in the config")
    return load(config.dataset, fraction=config.fraction, subset=config.subset,
                val_fraction=config.val_fraction, split_seed=config.split_seed, data_dir=data_dir)
