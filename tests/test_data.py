import numpy as np
import pytest

from kdhelpers import data
from conftest import SHARED_DATA


@pytest.mark.parametrize("name, shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_sample_is_real_scaled_data(name, shape):
    d = data.load(name, data_dir="sample")
    assert d.x_train.shape == (500, *shape) and d.x_test.shape == (250, *shape)
    assert d.x_train.dtype == np.float32 and 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert d.y_train.dtype == np.int32 and set(np.unique(d.y_train)) == set(range(10))
    assert len(d.y_val) == 0


def test_sample_starts_like_the_original_order():
    # first labels of the original sets, from ../shared/data/README.md
    assert list(data.load("mnist", data_dir="sample").y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(data.load("cifar10", data_dir="sample").y_test[:10]) == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]


def test_first_n_fraction_keeps_original_order():
    full = data.load("cifar10", data_dir="sample")
    part = data.load("cifar10", fraction=0.1, data_dir="sample")
    assert len(part.y_train) == 50
    np.testing.assert_array_equal(part.x_train, full.x_train[:50])
    np.testing.assert_array_equal(part.train_index, np.arange(50))


def test_stratified_fraction_balances_classes():
    d = data.load("mnist", fraction=0.2, subset="stratified", data_dir="sample")
    counts = np.bincount(d.y_train, minlength=10)
    full_counts = np.bincount(data.load("mnist", data_dir="sample").y_train, minlength=10)
    np.testing.assert_array_equal(counts, np.maximum(1, np.round(0.2 * full_counts)))


def test_validation_split_is_disjoint_fixed_and_stratified():
    a = data.load("mnist", val_fraction=0.2, fraction=0.5, data_dir="sample", split_seed=3)
    b = data.load("mnist", val_fraction=0.2, fraction=1.0, data_dir="sample", split_seed=3)
    c = data.load("mnist", val_fraction=0.2, data_dir="sample", split_seed=4)
    assert not set(a.train_index) & set(a.val_index)
    np.testing.assert_array_equal(a.val_index, b.val_index)  # same for every fraction
    assert not np.array_equal(a.val_index, c.val_index)  # the seed changes it
    assert len(b.train_index) + len(b.val_index) == 500
    raw = data.load_raw("mnist", "sample")
    np.testing.assert_array_equal(b.x_val[..., 0], raw["x_train"][b.val_index] / np.float32(255))


def test_environment_variable_selects_source(monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, "sample")
    assert data.load("mnist").source == "sample"


def test_missing_directory_names_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(data.DataNotFoundError, match="KDHELPERS_DATA=.*nowhere.*mnist.npz"):
        data.load("mnist")


def test_directory_without_file_names_expected_file(tmp_path):
    with pytest.raises(data.DataNotFoundError, match="cifar10.npz"):
        data.load("cifar10", data_dir=tmp_path)


def test_offline_without_local_copy_is_one_clear_error(monkeypatch):
    import keras

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    data.load_raw.cache_clear()
    with pytest.raises(data.DataNotFoundError, match="KDHELPERS_DATA.*mnist.npz"):
        data.load("mnist")


def test_tampered_file_fails_sha256(tmp_path):
    raw = data.load_raw("mnist", "sample")
    np.savez(tmp_path / "mnist.npz", **raw)  # real images, but not the full data set
    with pytest.raises(data.DataIntegrityError, match="sha256"):
        data.load("mnist", data_dir=tmp_path)


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "svhn"}, "dataset='svhn'"),
    ({"name": "mnist", "fraction": 0.0}, "fraction=0.0"),
    ({"name": "mnist", "fraction": 1.5}, "fraction=1.5"),
    ({"name": "mnist", "val_fraction": 1.0}, "val_fraction=1.0"),
    ({"name": "mnist", "subset": "random"}, "subset='random'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load(data_dir="sample", **kwargs)


@pytest.mark.skipif(not (SHARED_DATA / "mnist.npz").exists(), reason="../shared/data not present")
def test_full_mnist_from_shared_directory():
    d = data.load("mnist", data_dir=SHARED_DATA, val_fraction=0.1)
    assert abs(len(d.y_val) - 6000) <= 5  # per-class rounding
    assert len(d.y_train) + len(d.y_val) == 60000 and len(d.y_test) == 10000
    assert np.all(np.diff(d.train_index) > 0)  # first-N keeps the original order


def test_garbage_npz_names_the_file(tmp_path):
    from kdhelpers import data

    (tmp_path / "mnist.npz").write_bytes(b"this is not a zip archive")
    with pytest.raises(data.DataIntegrityError, match="mnist.npz is not a readable .npz"):
        data.load("mnist", data_dir=tmp_path)
