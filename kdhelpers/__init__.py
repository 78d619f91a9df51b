"""kdhelpers: the helper package of the kd-report book (knowledge-distillation experiments).

Modules, one concern each: ``models`` (the paper's architectures), ``distill`` (the KD loss
and training model), ``schedules``, ``data``, ``config``/``store``/``train``/``runner``
(cached, resumable runs), ``profiles``/``experiments`` (what each chapter runs), ``report``
and ``plots`` (what each chapter shows), ``book`` (papermill driver).
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _import_keras_quietly():
    """Import Keras (and its TensorFlow backend) with the C++ start-up log silenced.

    TensorFlow 2.21 writes its oneDNN/absl start-up lines straight to file descriptor 2,
    before ``TF_CPP_MIN_LOG_LEVEL`` takes effect; in a notebook they would land in the
    first cell's output. Python exceptions raised by the import are unaffected.
    """
    if "keras" in _sys.modules:
        return
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow turns its oneDNN kernels on by default only on some Intel CPUs; on the AMD
    # machine of bench/README.md they double the training speed (199 -> 395 images/s for the
    # CIFAR student). Set TF_ENABLE_ONEDNN_OPTS=0 before importing kdhelpers to opt out.
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    saved, devnull = _os.dup(2), _os.open(_os.devnull, _os.O_WRONLY)
    try:
        _sys.stderr.flush()
        _os.dup2(devnull, 2)
        import keras  # noqa: F401
    finally:
        _os.dup2(saved, 2)
        _os.close(saved)
        _os.close(devnull)
    if "tensorflow" in _sys.modules:
        # tf.function retracing warnings: every new model traces its own predict function.
        _sys.modules["tensorflow"].get_logger().setLevel("ERROR")


_import_keras_quietly()
