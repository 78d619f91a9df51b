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
