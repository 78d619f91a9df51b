import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.pop("KDHELPERS_DATA", None)  # tests choose their data source explicitly

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def store(tmp_path):
    from kdhelpers.store import Store

    return Store(tmp_path / "artifacts")


@pytest.fixture
def keras_stub_env(tmp_path):
    """The environment of a subprocess whose ``import keras`` finds a stand-in that records
    ``TF_ENABLE_ONEDNN_OPTS`` as it was at that moment (``keras.ONEDNN_AT_IMPORT``): for tests
    of kdhelpers' wiring around Keras, which do not need Keras itself (its import costs
    several seconds of CPU per process)."""
    stub = tmp_path / "keras_stub"
    stub.mkdir()
    (stub / "keras.py").write_text(
        "import os\nONEDNN_AT_IMPORT = os.environ.get('TF_ENABLE_ONEDNN_OPTS')\n")
    path = os.pathsep.join(p for p in (str(stub), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}
