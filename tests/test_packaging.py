import re
import tomllib

import yaml
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def normalise(requirement):
    return re.sub(r"\s+", "", requirement).lower()


def test_environment_yml_declares_the_same_dependencies_as_pyproject():
    """The same packages; environment.yml pins them to the lock's versions, pyproject.toml
    gives the ranges kdhelpers supports (tests/test_lock.py checks both against the lock)."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        if name != "ray":  # an optional engine, installed on its own
            declared |= set(extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pip = {line for line in pip_section if line != "-e ."}
    assert {Requirement(r).name.lower() for r in conda_pip} == {
        Requirement(r).name.lower() for r in declared}


def test_jupyter_book_is_pinned_below_2():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(normalise(d) == "jupyter-book>=1.0.4.post1,<2" for d in deps["book"])


def test_import_drops_tensorflow_notices_but_not_other_native_errors(tmp_path):
    """`import kdhelpers` hides TensorFlow's start-up notices on file descriptor 2, and passes
    on anything else written there (here by a stand-in for Keras)."""
    import os
    import subprocess
    import sys

    fake = tmp_path / "keras"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'I0000 port.cc:153] oneDNN custom operations are on.\\n')\n"
        "os.write(2, b'E0000 loader.cc:1] libcudnn.so.9: cannot open shared object file\\n')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    result = subprocess.run([sys.executable, "-c", "import kdhelpers"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "libcudnn.so.9: cannot open shared object file" in result.stderr
    assert "oneDNN custom operations" not in result.stderr


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^# 2\. .*\n(.+)$", readme, re.M).group(1)
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line and not line.startswith(("#", "set ", "cd "))]
    assert ci_lines == [command]


def test_the_cifar_teachers_weights_are_committed_where_chapter_7_needs_them(monkeypatch):
    """Chapter 7's feature losses read the teacher's weights, not only its logits; .gitignore
    drops weights.keras except where listed, so a teacher changed in ``profiles`` without its
    line there would leave a fresh clone unable to run chapter 7."""
    import subprocess

    from kdhelpers import experiments, profiles

    monkeypatch.delenv("KDHELPERS_PROFILE", raising=False)
    for profile in ("cpu", "converged"):
        teacher = experiments.exp7(profiles.resolve("exp7", profile))["teacher"]
        path = f"artifacts/{teacher.run_id}/weights.keras"
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", path])
        assert ignored.returncode == 1, f"{path} ({profile}'s teacher) is ignored by .gitignore"
