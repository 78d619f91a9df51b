"""Break the code that trains on purpose, one wrong change at a time, and check that the tests
catch each one (issue #31): every mutation must make ``tests/test_training_path.py`` fail.

    python scripts/check_mutations.py            # all mutations, about a minute each
    python scripts/check_mutations.py swap_alpha # one

Each mutation is applied to a copy of the package in a temporary folder (the checkout is never
touched); the copy's tests run with ``PYTHONPATH`` pointing at it. Exit status 1 if a
mutation survives. Not part of CI: it trains nothing but runs the test file once per mutation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_training_path.py"]

# name -> (file, the right code, the wrong code)
MUTATIONS = {
    "swap_alpha": ("kdhelpers/distill.py",
                   "losses=[(LogitDistillation(temperature), self.alpha)],\n"
                   "                         label_weight=1.0 - self.alpha",
                   "losses=[(LogitDistillation(temperature), 1.0 - self.alpha)],\n"
                   "                         label_weight=self.alpha"),
    "drop_T_squared": ("kdhelpers/distill.py", "return t**2 * ops.mean(kl)", "return ops.mean(kl)"),
    "teacher_not_softened": (
        "kdhelpers/distill.py",
        'log_p_teacher = ops.log_softmax(ops.cast(teacher_logits, "float32") / t, axis=-1)',
        'log_p_teacher = ops.log_softmax(ops.cast(teacher_logits, "float32"), axis=-1)'),
    "kl_reversed": ("kdhelpers/distill.py",
                    "kl = ops.sum(ops.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=-1)\n"
                    "        return t**2",
                    "kl = ops.sum(ops.exp(log_p_student) * (log_p_student - log_p_teacher), axis=-1)\n"
                    "        return t**2"),
    "softmax_over_batch": (
        "kdhelpers/distill.py",
        'log_p_student = ops.log_softmax(ops.cast(student_logits, "float32") / t, axis=-1)',
        'log_p_student = ops.log_softmax(ops.cast(student_logits, "float32") / t, axis=0)'),
    "label_weight_dropped": ("kdhelpers/distill.py", "loss = self.label_weight * hard", "loss = hard"),
    "virtual_teacher_one_hot": ("kdhelpers/distill.py",
                                "out[np.arange(labels.size), labels] = correct_prob",
                                "out[np.arange(labels.size), labels] = 1.0"),
    "attention_squared": (
        "kdhelpers/feature_kd.py",
        "total = total + ops.mean(ops.norm(s_map - ops.cast(t, s_map.dtype), axis=-1))",
        "total = total + ops.mean(ops.sum(ops.square(s_map - ops.cast(t, s_map.dtype)), axis=-1))"),
    "attention_channel_axis": ("kdhelpers/feature_kd.py",
                               "energy = ops.sum(ops.power(ops.abs(features), p), axis=-1)",
                               "energy = ops.sum(ops.power(ops.abs(features), p), axis=1)"),
    "hint_absolute_error": ("kdhelpers/feature_kd.py", "return ops.mean(ops.square(s - t))",
                            "return ops.mean(ops.abs(s - t))"),
}


def check(name: str) -> bool:
    """Whether the tests fail with mutation ``name`` applied (they should)."""
    path, right, wrong = MUTATIONS[name]
    with tempfile.TemporaryDirectory(prefix=f"mutant-{name}-") as copy:
        copy = Path(copy)
        for item in ("kdhelpers", "tests", "conftest.py", "pyproject.toml"):
            source = ROOT / item
            (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / item)
        target = copy / path
        text = target.read_text()
        if text.count(right) != 1:
            raise SystemExit(f"{name}: the code to mutate is not (exactly once) in {path}; "
                             f"update MUTATIONS")
        target.write_text(text.replace(right, wrong))
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                               "-o", "addopts=", *TESTS], cwd=copy, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(copy)})
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    caught = done.returncode == 1  # 1: tests failed; anything else is an error, not a catch
    print(f"{name:26s} {'caught' if caught else 'SURVIVED'}: {summary}", flush=True)
    return caught


if __name__ == "__main__":
    names = sys.argv[1:] or list(MUTATIONS)
    unknown = sorted(set(names) - set(MUTATIONS))
    if unknown:
        raise SystemExit(f"unknown mutations {unknown}; known: {sorted(MUTATIONS)}")
    sys.exit(0 if all([check(name) for name in names]) else 1)
