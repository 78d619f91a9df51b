"""Session-wide settings for pytest, including nbval's runs of the book's notebooks.

nbval re-executes every committed notebook (``book/*.ipynb``) at the ``smoke`` profile, on
the bundled sample, in a throw-away artifact store: CI thereby trains every chapter's runs
for real, and nothing in the repository's ``artifacts/`` is touched.
"""

import os
import tempfile

os.environ["KDHELPERS_PROFILE"] = "smoke"
os.environ["KDHELPERS_ARTIFACTS"] = tempfile.mkdtemp(prefix="kdhelpers-test-artifacts-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
