"""Numbers from other papers that chapter 7 sets beside its own results, each kept with the
table it comes from and what it measures, so that the prose quotes them by computation
rather than retyping them (the course paper's own numbers live in :mod:`kdhelpers.paper`).

CRD (Tian, Krishnan & Isola, "Contrastive Representation Distillation", ICLR 2020), Table 1:
top-1 test accuracy (%) on CIFAR-100 of students trained to convergence (240 epochs), teacher
and student of the same architecture type, seven teacher → student pairs. The same numbers
are in the authors' RepDistiller README ("Benchmark Results on CIFAR-100", table 1). Its
FitNet row trains the hint jointly with the label loss, as chapter 7 does, not in the
original two stages. Read them with care: the authors' code (RepDistiller's
``train_student.py``) keeps the best test accuracy over the epochs, a choice made on the test
set, where this book reports the last epoch's.
"""

from __future__ import annotations

CRD_TABLE1_PAIRS = ("WRN-40-2 → WRN-16-2", "WRN-40-2 → WRN-40-1", "resnet56 → resnet20",
                    "resnet110 → resnet20", "resnet110 → resnet32", "resnet32x4 → resnet8x4",
                    "vgg13 → vgg8")
CRD_TABLE1 = {
    "student": (73.26, 71.98, 69.06, 69.06, 71.14, 72.50, 70.36),  # trained without a teacher
    "KD": (74.92, 73.54, 70.66, 70.67, 73.08, 73.33, 72.98),
    "FitNet": (73.58, 72.24, 69.21, 68.99, 71.06, 73.50, 71.02),
    "AT": (74.08, 72.77, 70.55, 70.22, 72.31, 73.44, 71.43),
}


def crd_gains(method: str) -> list[float]:
    """``method``'s accuracy minus the no-KD student's, in pp, pair by pair of CRD's Table 1."""
    if method not in CRD_TABLE1 or method == "student":
        allowed = sorted(m for m in CRD_TABLE1 if m != "student")
        raise ValueError(f"crd_gains: method {method!r} is not a row of CRD's Table 1 here; "
                         f"expected one of {allowed}")
    return [round(m - s, 2) for m, s in zip(CRD_TABLE1[method], CRD_TABLE1["student"])]


def crd_range_text(method: str) -> str:
    """'-0.08 to +1.00 pp': the span of :func:`crd_gains` over the table's pairs."""
    gains = crd_gains(method)
    return f"{min(gains):+.2f} to {max(gains):+.2f} pp"
