"""A chapter run from a non-editable install, as on Colab (issue #17): nothing is written
inside the installed package, the header names the real store, the revision is recorded,
and with the repository's store a second execution retrains nothing."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with kdhelpers installed (not editable) from a clone of this checkout;
    its dependencies come from the test environment (no network)."""
    base = tmp_path_factory.mktemp("install")
    clone = base / "clone"
    # the committed runs stay out of the clone (hundreds of MB to check out): the test puts
    # the runs it needs into the clone's store itself
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-checkout", f"file://{ROOT}",
                    str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", "HEAD", "--", ".",
                    ":(exclude)artifacts"], check=True)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    str(clone)], check=True)  # a wheel built from the clone, not editable
    return {"python": python, "site": Path(site), "clone": clone}


def execute(installed, workdir: Path, artifacts: Path | None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "KDHELPERS_ARTIFACTS", "KDHELPERS_DATA")}
    env["KDHELPERS_PROFILE"] = "smoke"
    if artifacts is not None:
        env["KDHELPERS_ARTIFACTS"] = str(artifacts)
    out = workdir / "out.ipynb"
    subprocess.run([str(installed["python"]), "-m", "papermill", "--log-level", "ERROR",
                    str(installed["clone"] / "book" / "exp1_mnist.ipynb"), str(out),
                    "-p", "profile", "smoke", "-k", "python3"],
                   cwd=workdir, env=env, check=True, capture_output=True, timeout=600)
    cells = json.loads(out.read_text())["cells"]
    # printed text and displayed Markdown (the header's folded block)
    texts = [o.get("text", "") or o.get("data", {}).get("text/markdown", "")
             for c in cells for o in c.get("outputs", [])]
    return "".join("".join(t) if isinstance(t, list) else t for t in texts)


def test_installed_package_writes_beside_the_notebook_and_the_clone_reuses_its_store(installed, tmp_path):
    # 1. from an empty folder: the runs go to ./artifacts, never into site-packages
    before = {p for p in installed["site"].rglob("*")}
    output = execute(installed, tmp_path, None)
    assert {p for p in installed["site"].rglob("*") if "__pycache__" not in p.parts} <= before | {
        p for p in installed["site"].rglob("*") if "__pycache__" in p.parts}
    assert not (installed["site"] / "artifacts").exists()
    assert f"artifacts: {tmp_path.resolve() / 'artifacts'}" in output
    assert (tmp_path / "artifacts").is_dir() and list((tmp_path / "artifacts").glob("mnist_*"))
    commit = subprocess.run(["git", "-C", str(installed["clone"]), "rev-parse", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert f"code revision: {commit}" in output
    # 2. from the clone's book/ folder, as on Colab: the clone's store is found, and runs in
    # it (here the ones just trained, standing for committed runs) are loaded, not retrained
    store = installed["clone"] / "artifacts"
    for run in (tmp_path / "artifacts").glob("mnist_*"):
        shutil.copytree(run, store / run.name)
    output = execute(installed, installed["clone"] / "book", None)
    assert "artifacts: " + str(store) in output
    assert "(0 trained now" in output
