"""The lock (``requirements/lock.txt``, issue #32) is the environment that executed the book.

The book records the versions it ran on (every chapter in ``book/status.json``, every
result file in ``artifacts/results/<profile>/``, every run in ``artifacts/<run id>/
metrics.json``); these tests keep those records, ``pyproject.toml``'s ranges and
``environment.yml``'s pins equal to the lock, so that upgrading the lock forces a
re-execution of the book, or an explicit note below.
"""

import json
import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
GPU_LOCK = ROOT / "requirements" / "gpu-lock.txt"

# Results kept although they ran on another version than the lock's: {(package, recorded
# version): why the numbers stand}.
# A lock upgrade either re-executes the book or adds its note here, e.g.
# ("keras", "3.15.1"): "3.16 changes no op kdhelpers uses; chapters 2-7 re-run at smoke agree".
_GPU_RUNS = ("seven of chapter 3's converged runs were trained on a lent H200 with that machine's "
             "Python, NumPy and JAX (the lock has no CUDA build that machine could take); 24 runs "
             "trained there and on the CPU agree: +0.20 pp [-0.23, +0.64], "
             "artifacts/backend_check/README.md")
NOTED_VERSION_DIFFERENCES: dict[tuple[str, str], str] = {
    ("python", "3.12.3"): _GPU_RUNS, ("numpy", "2.5.2"): _GPU_RUNS, ("jax", "0.11.2"): _GPU_RUNS}

# what provenance.versions() records (module names) -> the distributions that provide it
DISTRIBUTIONS = {"tensorflow": ("tensorflow-cpu", "tensorflow")}


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path=LOCK):
    """{package: version} of a lock written by ``uv pip compile``."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if match:
            pins[normalise(match[1])] = match[2]
    return pins


def compiled_for(path=LOCK):
    """The Python version and platform in the command at the head of the lock."""
    head = path.read_text().split("\n", 3)[:3]
    command = next(line for line in head if "uv pip compile" in line)
    return (re.search(r"--python-version (\S+)", command)[1],
            re.search(r"--python-platform (\S+)", command)[1])


def direct_dependencies():
    """pyproject.toml's dependencies and the extras the lock covers (all but ray)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        if name != "ray":  # optional engine, outside the lock (README: "ray==2.60.0")
            declared += extra
    return [Requirement(r) for r in declared]


def recorded_versions():
    """(where, versions) for every record of what executed the book."""
    status = json.loads((ROOT / "book" / "status.json").read_text())
    for page, entry in sorted(status.items()):
        yield f"book/status.json [{page}]", entry["versions"]
    for pattern in ("artifacts/results/*/*.json", "artifacts/*/metrics.json"):
        for path in sorted(ROOT.glob(pattern)):
            record = json.loads(path.read_text())
            if "versions" in record:
                yield path.relative_to(ROOT).as_posix(), record["versions"]


def test_the_lock_pins_every_package_with_hashes():
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().split("\n", 2)[2].strip())
    assert len(entries) == len(locked()) > 100
    for entry in entries:
        assert re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*==\S+ \\\n", entry), entry
        assert "--hash=sha256:" in entry, f"no hash for {entry.splitlines()[0]}"
    assert compiled_for() == ("3.11.7", "x86_64-manylinux_2_28")


def test_the_versions_that_executed_the_book_are_the_locked_ones():
    pins = locked()
    python, _ = compiled_for()
    records = list(recorded_versions())
    assert len(records) > 20  # status pages, result files, runs: the globs still find them
    differences = defaultdict(list)
    for where, versions in records:
        for module, version in versions.items():
            if module == "backend":
                continue
            if module == "python":
                package, wanted = "python", python
            else:
                package = next((d for d in DISTRIBUTIONS.get(module, (normalise(module),))
                                if d in pins), normalise(module))
                wanted = pins.get(package)
            if version != wanted and (package, version) not in NOTED_VERSION_DIFFERENCES:
                differences[(package, version, wanted)].append(where)
    assert not differences, "recorded versions that are not the lock's (re-execute the book, " \
        "or note each in NOTED_VERSION_DIFFERENCES):\n" + "\n".join(
            f"  {package} {version} (lock: {wanted}) in {len(where)} records, e.g. {where[:3]}"
            for (package, version, wanted), where in sorted(differences.items(), key=str))


def test_no_stale_notes():
    pins = locked()
    for package, version in NOTED_VERSION_DIFFERENCES:
        assert pins.get(package) != version, f"{package} {version} is the locked version again"


def test_every_direct_dependency_is_locked_within_its_range():
    pins = locked()
    for requirement in direct_dependencies():
        name = normalise(requirement.name)
        assert name in pins, f"{requirement} is not in {LOCK.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (requirement, pins[name])


def test_environment_yml_pins_the_locked_versions():
    pins = locked()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert f"python={compiled_for()[0]}" in conda
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = dict(line.split("==") for line in pip_section if line != "-e .")
    assert {normalise(n) for n in pinned} == {normalise(r.name) for r in direct_dependencies()}
    assert {normalise(n): v for n, v in pinned.items()} == {
        normalise(n): pins[normalise(n)] for n in pinned}


def test_the_readme_commands_install_the_lock_then_kdhelpers_alone():
    readme = (ROOT / "README.md").read_text()
    for number in (1, 2):
        command = re.search(rf"^# {number}\. .*\n(.+)$", readme, re.M)[1]
        assert re.match(
            r"python3\.11 -m venv \.venv && "
            r"\.venv/bin/pip install (-q )?--no-compile --require-hashes --no-deps -r requirements/lock\.txt && "
            r"\.venv/bin/pip install (-q )?--no-compile --no-deps --no-build-isolation -e \. && ", command), command
        assert command.count("pip install") == 2, command


def test_the_gpu_lock_is_the_cpu_lock_with_cuda_builds():
    """requirements/gpu-lock.txt: TensorFlow's CUDA build in place of tensorflow-cpu, and
    CUDA JAX, every package the two locks share at the same version."""
    cpu, gpu = locked(), locked(GPU_LOCK)
    assert compiled_for(GPU_LOCK) == compiled_for()
    assert "tensorflow-cpu" not in gpu and gpu["tensorflow"] == cpu["tensorflow-cpu"]
    assert gpu["jax-cuda12-plugin"] == gpu["jax"] == cpu["jax"]
    assert {n: v for n, v in gpu.items() if n in cpu} == {n: v for n, v in cpu.items() if n in gpu}
    assert set(cpu) - set(gpu) == {"tensorflow-cpu"}


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "book").glob("*.ipynb")))
def test_the_colab_cell_installs_the_locks_keras_and_scipy(notebook):
    """Colab keeps its own Python, TensorFlow and NumPy; of the lock it installs the Keras
    and SciPy that ran the book, read from the clone's lock (README, Colab)."""
    cells = json.loads((ROOT / "book" / notebook).read_text())["cells"]
    source = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    assert "google.colab" in source and "requirements/lock.txt" in source
    prefixes = re.search(r"line\.startswith\(\((.*?)\)\)", source)[1]
    pins = locked()
    for prefix in re.findall(r'"([a-z0-9-]+)=="', prefixes):
        assert prefix in pins, prefix
    assert sorted(re.findall(r'"([a-z0-9-]+)=="', prefixes)) == ["keras", "scipy"]
