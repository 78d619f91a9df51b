"""The other papers' numbers chapter 7 quotes (kdhelpers.literature)."""

import pytest

from kdhelpers import literature


def test_every_crd_row_covers_every_pair():
    assert all(len(row) == len(literature.CRD_TABLE1_PAIRS) for row in literature.CRD_TABLE1.values())


def test_crd_gains_are_method_minus_student_pair_by_pair():
    # golden values worked by hand from CRD's Table 1: WRN-40-2 → WRN-16-2 FitNet 73.58 against
    # the student's 73.26; resnet110 → resnet20 FitNet 68.99 against 69.06 (below it)
    gains = literature.crd_gains("FitNet")
    assert gains[0] == pytest.approx(0.32)
    assert gains[3] == pytest.approx(-0.07)
    assert literature.crd_gains("AT")[2] == pytest.approx(1.49)  # resnet56 → resnet20: 70.55 - 69.06


def test_crd_range_text_spans_the_pairs():
    assert literature.crd_range_text("FitNet") == "-0.08 to +1.00 pp"
    assert literature.crd_range_text("AT") == "+0.79 to +1.49 pp"


@pytest.mark.parametrize("method", ["student", "CRD", "fitnet"])
def test_crd_gains_names_the_bad_row_and_the_allowed_ones(method):
    with pytest.raises(ValueError, match=rf"'{method}'.*\['AT', 'FitNet', 'KD'\]"):
        literature.crd_gains(method)
