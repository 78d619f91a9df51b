"""Session-wide settings for pytest, including nbval's runs of the book's notebooks.

nbval re-executes every committed notebook (``book/*.ipynb``) at the ``smoke`` profile, on
the bundled sample, in a throw-away artifact store: CI thereby trains every chapter's runs
for real, and nothing in the repository's ``artifacts/`` is touched.
"""

import os
import shutil
import tempfile

os.environ["KDHELPERS_PROFILE"] = "smoke"
# One throw-away store for the whole session, shared by pytest-xdist's workers (they inherit
# the controller's environment): a chapter reuses the runs another worker's chapter trained
# (e.g. chapter 5 reads chapter 2's), and the store's per-run claims keep two workers from
# training the same run.
_MADE_HERE = not os.environ.get("KDHELPERS_TEST_ARTIFACTS")
if _MADE_HERE:
    os.environ["KDHELPERS_TEST_ARTIFACTS"] = tempfile.mkdtemp(prefix="kdhelpers-test-artifacts-")
os.environ["KDHELPERS_ARTIFACTS"] = os.environ["KDHELPERS_TEST_ARTIFACTS"]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_sessionfinish(session):
    """Remove the throw-away store (about 200 MB of smoke runs) when this process made it:
    the controller, or a run without xdist; never a store named from outside, and never
    from an xdist worker (the workers inherit the variable, so for them it is not theirs)."""
    if _MADE_HERE:
        shutil.rmtree(os.environ["KDHELPERS_TEST_ARTIFACTS"], ignore_errors=True)
