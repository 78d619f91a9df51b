"""The statistics behind every verdict (issue #12), against hand computations and against
scipy's own t-tests as an independent route."""

import numpy as np
import pytest
from scipy import stats

from kdhelpers import claims


def test_paired_interval_by_hand():
    # d = [2, 3, 1]: mean 2, sd 1, se 1/sqrt(3); t(0.975, 2) = 4.302653
    result = claims.compare([70, 72, 71], [68, 69, 70], paired=True)
    half = 4.302653 / np.sqrt(3)
    assert result["gain"] == pytest.approx(2.0)
    assert result["ci95"] == pytest.approx([2 - half, 2 + half], abs=1e-5)


def test_paired_and_welch_agree_with_scipy_tests():
    rng = np.random.default_rng(0)
    a, b = rng.normal(70, 2, 5), rng.normal(68, 3, 5)
    paired = claims.compare(a, b, paired=True)["ci95"]
    reference = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert paired == pytest.approx([reference.low, reference.high])
    c = rng.normal(67, 1, 3)
    welch = claims.compare(a, c, paired=False)["ci95"]
    reference = stats.ttest_ind(a, c, equal_var=False).confidence_interval(0.95)
    assert welch == pytest.approx([reference.low, reference.high])


def test_runs_with_the_same_seeds_are_paired():
    class Run:
        def __init__(self, seed, accuracy):
            self.metrics = {"test_accuracy": accuracy}
            self.config = type("C", (), {"seed": seed})()

    a = [Run(1, 0.70), Run(2, 0.72)]
    assert claims.compare(a, [Run(1, 0.60), Run(2, 0.61)])["paired"]
    assert not claims.compare(a, [Run(2, 0.60), Run(1, 0.61)])["paired"]
    assert claims.compare(a, [Run(1, 0.60), Run(2, 0.61)])["a"] == pytest.approx([70, 72])


def test_one_run_on_a_side_has_no_interval_and_no_verdict_either_way():
    for a, b in (([71.0], [70.0]), ([69.0], [70.0]), ([71.0, 72.0], [70.0])):
        result = claims.claim("x", "p", a, b, paper_gain=1.0)
        assert result["ci95"] is None and result["verdict"] == "inconclusive"
        assert result["size"] is None


def test_zero_variance_collapses_the_interval():
    result = claims.claim("x", "p", [71.0, 71.0], [70.0, 70.0], paired=True, paper_gain=1.0)
    assert result["ci95"] == [1.0, 1.0] and result["verdict"] == "holds"
    assert result["size"] == "matches"


def test_unequal_paired_lists_are_a_clear_error():
    with pytest.raises(ValueError, match="paired comparison of unequal lists: 3 values against 2"):
        claims.compare([1, 2, 3], [1, 2], paired=True)


def test_unequal_lengths_unpaired_use_welch():
    result = claims.compare([70, 71, 72], [68, 69], paired=False)
    assert not result["paired"] and result["gain"] == pytest.approx(71 - 68.5)


@pytest.mark.parametrize("ci, expected", [
    ([0.1, 2.0], "holds"), ([-2.0, -0.1], "does not hold"), ([-1.0, 1.0], "inconclusive"),
    (None, "inconclusive")])
def test_verdict_rule(ci, expected):
    assert claims.verdict(ci) == expected
    assert claims.verdict(ci, tested=False) == "not tested"


@pytest.mark.parametrize("paper_gain, expected", [(0.5, "matches"), (3.0, "smaller"),
                                                  (-1.0, "larger"), (None, None)])
def test_size_against_the_paper(paper_gain, expected):
    assert claims.size([0.0, 2.0], paper_gain) == expected


def test_size_words_say_where_the_paper_s_gain_lies():
    # the paper's gain 2.0 against our CI [1.0, 1.5]: ours is lower, said alike everywhere
    size = claims.size(ci95=[1.0, 1.5], paper_gain=2.0)
    assert claims.size_text(size, "short") == "lower"
    assert claims.size_text(size) == "lower than the paper's"
    assert claims.size_text(size, "sentence") == "lies above our interval: our gain is lower"
    assert claims.size_text(claims.size([1.0, 1.5], 1.2)) == "consistent with the paper's"
    assert claims.size_text(claims.size([1.0, 1.5], 0.5), "short") == "higher"
    # a negative effect further below zero than the paper's: lower, not "smaller"
    assert claims.size_text(claims.size([-7.7, -4.1], -0.6)) == "lower than the paper's"
    assert claims.size_text(None, "short") == "–"
    assert claims.size_text(size, "where") == "above"  # "the paper's gain lies above it"


def test_size_words_name_a_bad_form_or_size():
    with pytest.raises(ValueError, match="'long'.*short"):
        claims.size_text("matches", "long")
    with pytest.raises(ValueError, match="'same'"):
        claims.size_text("same")


def test_a_claim_not_tested_says_why_and_has_no_size():
    result = claims.claim("TA beats direct KD", "72.5 vs 69.9", [72.0, 73.0], [70.0, 70.5],
                          paper_gain=2.6, tested=False, why="teacher weaker than student")
    assert result["verdict"] == "not tested" and result["size"] is None
    assert result["why"] == "teacher weaker than student"
    with pytest.raises(ValueError, match="needs `why`"):
        claims.claim("x", "p", [1.0], [0.0], tested=False)


def test_claim_has_every_field_of_the_issue():
    result = claims.claim("x", "p", [70.0, 72.0], [69.0, 70.0], paired=True, paper_gain=2.0)
    assert set(result) >= {"claim", "paper", "ours", "a", "b", "paired", "gain", "ci95",
                           "paper_gain", "size", "tested", "why", "verdict"}
    assert "+1.50 pp" in result["ours"] and "paired" in result["ours"]
    assert claims.tally([result]) == {"holds": 0, "does not hold": 0, "inconclusive": 1,
                                      "not tested": 0}


@pytest.mark.parametrize("paired", [True, False])
def test_numbers_are_plain_floats_for_json_and_the_prose(paired):
    # myst-nb formats a glued number from its repr; "np.float64(0.2)" broke the exp1 page
    result = claims.compare(np.array([70.0, 72.5, 71.0]), np.array([68.0, 69.0, 70.5]),
                            paired=paired)
    assert all(type(v) is float for v in [result["gain"], *result["ci95"]])


def test_corrected_interval_is_scipys_paired_interval_at_the_bonferroni_level():
    a = [70.1, 70.9, 69.8, 70.6, 70.3]
    b = [69.6, 70.2, 69.7, 69.9, 70.0]
    result = claims.compare(a, b, paired=True)
    for tests in (1, 5):
        expected = stats.ttest_rel(a, b).confidence_interval(confidence_level=1 - 0.05 / tests)
        np.testing.assert_allclose(claims.corrected_interval(result, tests), expected, rtol=1e-12)
    # one test: the claim's own 95 % interval
    np.testing.assert_allclose(claims.corrected_interval(result, 1), result["ci95"], rtol=1e-12)


def test_a_bare_hold_does_not_survive_the_correction():
    # a gain whose 95 % interval just clears zero, as chapter 6's chains at converged
    result = claims.compare([1.0, 0.2, 0.9, 0.1, 0.6], [0.0, 0.0, 0.0, 0.0, 0.0], paired=True)
    assert claims.verdict(result["ci95"]) == "holds"
    assert claims.verdict(claims.corrected_interval(result, 5)) == "inconclusive"


@pytest.mark.parametrize("tests, message", [(0, "positive number"), (2.5, "positive number")])
def test_corrected_interval_names_a_bad_number_of_tests(tests, message):
    result = claims.compare([1.0, 2.0], [0.0, 0.5], paired=True)
    with pytest.raises(ValueError, match=message):
        claims.corrected_interval(result, tests)


def test_an_unpaired_corrected_interval_is_welchs_at_the_bonferroni_level():
    a, b = [70.1, 70.9, 69.8, 70.6], [69.6, 70.2, 69.7, 69.9, 70.0, 68.8]
    result = claims.compare(a, b, paired=False)
    for tests in (1, 4):
        expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(
            confidence_level=1 - 0.05 / tests)
        np.testing.assert_allclose(claims.corrected_interval(result, tests), expected, rtol=1e-12)


def test_corrected_interval_needs_both_sides():
    with pytest.raises(ValueError, match="two-sample"):
        claims.corrected_interval(claims.claim("x", "p", ours="a description"), 3)


# holds on its own interval and corrected for 2 claims, not corrected for 3 (lower bounds
# +0.16, +0.047, -0.026)
BARE = [1.0, 0.3, 0.9, 0.2, 0.6]


def test_the_corrected_family_is_the_chapters_tested_claims_with_an_interval():
    bare = claims.claim("bare", "p", BARE, [0.0] * 5, paired=True)
    strong = claims.claim("strong", "p", [5.0, 5.5, 6.0], [1.0, 1.2, 0.9], paired=True)
    untested = claims.claim("untested", "p", [5.0, 5.5, 6.0], [1.0, 1.2, 0.9], paired=True,
                            tested=False, why="premise fails")
    single = claims.claim("single run", "p", [5.0], [1.0])
    assert claims.corrected_verdicts([bare, strong, untested, single]) == ["holds", "holds", None, None]
    third = claims.claim("third", "p", [2.0, 2.1, 1.9], [1.0, 1.0, 1.1], paired=True)
    assert claims.corrected_verdicts([bare, strong, third])[0] == "inconclusive"


@pytest.mark.parametrize("text, expected", [("A 4-conv teacher teaches", "a 4-conv teacher teaches"),
                                            ("The chain 10 → TA4 → 2", "the chain 10 → TA4 → 2"),
                                            ("KD from the 10-conv teacher", "KD from the 10-conv teacher"),
                                            ("Teacher-free KD (best cell)", "teacher-free KD (best cell)"),
                                            ("FitNets hint beats", "FitNets hint beats"),
                                            ("MNIST: the distilled", "MNIST: the distilled"),
                                            ("α = 1 (no hard labels)", "α = 1 (no hard labels)")])
def test_a_claim_in_a_sentence_lowercases_only_an_ordinary_first_word(text, expected):
    assert claims.in_sentence({"claim": text}) == expected


def test_the_correction_is_told_by_the_verdicts_it_changes():
    bare = claims.claim("The bare claim (beyond the paper)", "p", BARE, [0.0] * 5, paired=True)
    strong = [claims.claim(f"strong {k}", "p", [5.0 + k, 5.5, 6.0], [1.0, 1.2, 0.9], paired=True)
              for k in (1, 2)]
    assert claims.correction_text(claims.correction_changes([bare, strong[0]])) == "no verdict changes"
    changes = claims.correction_changes([bare, *strong])
    assert claims.correction_text(changes) == (
        "1 verdict changes: the bare claim (holds, inconclusive after the correction)")
    assert claims.correction_text(changes + changes, ["chapter 3", "chapter 7"]) == (
        "2 verdicts change: chapter 3: the bare claim (holds, inconclusive after the correction); "
        "chapter 7: the bare claim (holds, inconclusive after the correction)")
