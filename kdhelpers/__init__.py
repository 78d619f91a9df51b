"""kdhelpers: the helper package of the kd-report book (knowledge-distillation experiments).

Modules, one concern each:

* what is trained: ``models`` (the paper's architectures), ``distill`` (logit KD: the loss
  classes and the model that trains with them), ``feature_kd`` (attention transfer, FitNets
  hints), ``losses`` (the registry a config names), ``schedules``;
* one run: ``data``, ``config`` (a run's settings and id), ``train`` (``fit``),
  ``workfiles`` (checkpoint and logs of a run in progress), ``published`` (a finished run's
  files), ``store`` and ``run_lock`` (where runs live, who trains which), ``runner``
  (load or train), ``recovery`` (teacher logits for a run without weights), ``executors``,
  ``backend_check`` (runs trained twice, on two backends);
* the book's chapters: ``chapters``, ``stages`` (how a chapter's runs come), ``profiles``,
  ``experiments`` (the runs each chapter needs), ``program`` and ``estimates`` (what is left
  to train, in hours), ``claims``, ``confidence`` (how sure a run's softmax is),
  ``report``, ``plots``, ``scorecard``, ``paper`` (the paper's numbers), ``study``,
  ``notebook``, ``provenance``, ``book`` (the papermill driver), ``status`` (the status page
  and the compute behind each profile);
* speed: ``bench``, ``bench_torch``, ``bench_workers``.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"


# TensorFlow's start-up notices, written by C++ straight to file descriptor 2 before
# TF_CPP_MIN_LOG_LEVEL takes effect; anything else it writes there is passed on.
_STARTUP_NOISE = ("All log messages before absl::InitializeLog()", "oneDNN custom operations",
                  "cpu_feature_guard", "This TensorFlow binary is optimized",
                  "To enable the following instructions", "rebuild TensorFlow with",
                  "Unable to register cu", "computation placer already registered",
                  "could not open file to read NUMA", "TF-TRT Warning", "cuda drivers on your machine",
                  "Could not find cuda drivers", "failed call to cuInit")


def _import_keras_quietly():
    """Import Keras (and its TensorFlow backend) with TensorFlow's known start-up notices
    dropped from file descriptor 2; any other line written there during the import (a real
    native error) reaches the user, and so does everything if the import fails.
    """
    if "keras" in _sys.modules:
        return
    import tempfile

    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow turns its oneDNN kernels on by default only on some Intel CPUs; on the AMD
    # machine of bench/README.md they double the training speed (199 -> 395 images/s for the
    # CIFAR student). Set TF_ENABLE_ONEDNN_OPTS=0 before importing kdhelpers to opt out.
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    saved = _os.dup(2)
    with tempfile.TemporaryFile() as captured:
        failed = True
        try:
            _sys.stderr.flush()
            _os.dup2(captured.fileno(), 2)
            import keras  # noqa: F401
            failed = False
        finally:
            _os.dup2(saved, 2)
            _os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines()
            kept = [line for line in lines
                    if failed or not any(noise in line for noise in _STARTUP_NOISE)]
            if kept:
                _sys.stderr.write("\n".join(kept) + "\n")
    if "tensorflow" in _sys.modules:
        # tf.function retracing warnings: every new model traces its own predict function.
        _sys.modules["tensorflow"].get_logger().setLevel("ERROR")


_import_keras_quietly()
