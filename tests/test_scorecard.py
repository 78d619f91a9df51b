"""The scorecard counts, sets side by side and describes exactly what the chapters recorded."""

import pytest

from kdhelpers import claims, scorecard


@pytest.fixture
def by_profile():
    holds = claims.claim("KD helps", "p", [70.0, 71.0, 72.0], [60.0, 61.5, 61.0], paired=True,
                         paper_gain=2.0)
    unclear = claims.claim("T matters", "p", [70.0, 60.0], [65.0, 66.0], paired=True)
    untested = claims.claim("TA helps", "p", [50.0, 51.0], [49.0, 50.0], tested=False, why="weak teacher")
    beyond = claims.claim("AT beats KD", "not run", [72.0, 73.0, 72.5], [70.0, 71.0, 70.2])
    cpu = {"exp2": {"results": {"claims": [holds, unclear]}},
           "exp6": {"results": {"claims": [untested]}},
           "exp7": {"results": {"claims": [beyond]}}}
    converged = {"exp2": {"results": {"claims": [unclear]}}}
    return {"cpu": cpu, "converged": converged}


def test_tallies_split_the_paper_from_beyond_it(by_profile):
    table = scorecard.tallies(by_profile).data
    assert "| cpu | the paper's claims | 3 | 1 | 0 | 1 | 1 | 1 |" in table
    assert "| cpu | beyond the paper | 1 | 1 | 0 | 0 | 0 | 1 |" in table
    assert "| converged | the paper's claims | 1 | 0 | 0 | 1 | 0 | 0 |" in table


def test_side_by_side_marks_what_a_profile_did_not_run(by_profile):
    table = scorecard.side_by_side(by_profile).data
    row = next(line for line in table.splitlines() if "KD helps" in line)
    assert "holds, +" in row and row.rstrip(" |").endswith("not run")


def test_scorecard_rows_carry_gain_ci_size_and_why(by_profile):
    table = scorecard.scorecard(by_profile["cpu"], "cpu").data
    assert "**not tested** (1)" in table and table.count("weak teacher") == 1
    assert "\n\n(1) not tested: weak teacher\n\n" in table
    assert "+10.17 [" in table and "| +2.00 |" in table


def test_budget_points_place_each_gain_at_the_images_its_student_saw(by_profile):
    small = claims.claim("KD helps at 5 %", "p", [64.0, 63.0], [56.0, 55.5], paired=True)
    whole = claims.claim("KD helps at 100 %", "p", [88.0, 88.5], [86.0, 86.5], paired=True)
    shrink = claims.claim("the gain shrinks", "p", [8.0, 7.5], [2.0, 2.0], paired=True)
    by_profile["converged"]["exp3"] = {"results": {
        "stats": {"kd": {"0.05": {}, "1.0": {}}}, "claims": [small, whole, shrink]}}
    points = scorecard.budget_points(by_profile)
    ours = {(p["source"], p["experiment"], p["budget"]): p["gain"] for p in points if p["source"] != "paper"}
    # cpu: 15 % of the 45,000 non-validation images for 8 epochs; converged: 20 epochs
    assert ours[("cpu", "exp2", 6750 * 8)] == pytest.approx(10.17, abs=0.01)
    assert ours[("converged", "exp2", 45000 * 20)] == pytest.approx(-0.5)
    assert ours[("converged", "exp3", 2250 * 20)] == pytest.approx(7.75)
    assert ours[("converged", "exp3", 45000 * 20)] == pytest.approx(2.0)
    assert len(ours) == 4  # the shrink claim is a difference of gains, not a point
    from_paper = {(p["experiment"], p["budget"]): p["gain"] for p in points if p["source"] == "paper"}
    assert from_paper[("exp2", 50000 * 50)] == pytest.approx(89.41 - 87.25)
    assert from_paper[("exp3", 2500 * 50)] == pytest.approx(68.11 - 61.14)
    assert len(from_paper) == 7


def test_regime_falls_back_to_chapter_3_before_chapter_2_is_executed(tmp_path):
    from kdhelpers.store import Store

    whole_pool = {"mean": 86.19, "sd": 0.34, "n": 3, "values": [85.81, 86.29, 86.48]}
    by_profile = {"converged": {"exp3": {"results": {"stats": {"no_kd": {"1.0": whole_pool}}}}}}
    row = next(line for line in scorecard.regime(by_profile, Store(tmp_path)).data.splitlines()
               if line.startswith("| converged"))
    assert "86.19 ± 0.34 (n=3) (chapter 3's, on the whole pool)" in row
    assert "| not trained |" in row  # no teacher run in this store


def test_side_by_side_keeps_a_claim_only_one_profile_ran_beside_its_chapter(by_profile):
    extra = claims.claim("KD helps at 100 %", "p", [88.0, 88.5], [86.0, 86.5], paired=True)
    by_profile["converged"]["exp2"]["results"]["claims"].append(extra)
    chapters = [line.split("|")[1].strip() for line in scorecard.side_by_side(by_profile).data.splitlines()[2:]]
    assert chapters == ["2", "2", "2", "6", "7"]  # chapter 2's rows together, then 6, then 7


def test_side_by_side_shows_no_gain_for_a_claim_not_tested(by_profile):
    table = scorecard.side_by_side(by_profile).data
    row = next(line for line in table.splitlines() if "TA helps" in line)
    assert "| not tested |" in row and "+1.00" not in row


def test_scorecard_gives_each_reason_its_own_paragraph():
    first = claims.claim("TA helps", "p", [50.0, 51.0], [49.0, 50.0], tested=False, why="weak teacher")
    second = claims.claim("25 % is enough", "p", [50.0, 51.0], [49.0, 50.0], tested=False,
                          why="the teacher is weaker than the student")
    table = scorecard.scorecard({"exp3": {"results": {"claims": [second]}},
                                 "exp6": {"results": {"claims": [first]}}}, "cpu").data
    assert table.endswith("\n\n(1) not tested: the teacher is weaker than the student\n\n(2) not tested: weak teacher")


def test_tallies_count_two_claims_on_the_same_runs_once():
    best = claims.claim("the best cell beats no KD", "p", [70.0, 71.0, 72.0], [60.0, 61.5, 61.0],
                        paired=True)
    label_free = claims.claim("α = 1 beats no KD", "p", [70.0, 71.0, 72.0], [60.0, 61.5, 61.0],
                              paired=True)
    other = claims.claim("T matters", "p", [70.0, 71.0, 72.5], [60.0, 61.5, 61.0], paired=True)
    table = scorecard.tallies({"cpu": {"exp2": {"results": {"claims": [best, label_free, other]}}}}).data
    assert "| cpu | the paper's claims | 2 | 2 | 0 | 0 | 0 | 2 |" in table
    assert ('"α = 1 beats no KD" rests on the same runs as "the best cell beats no KD": '
            "one test, counted once.") in table


def test_each_claim_is_also_judged_with_its_chapters_other_claims(by_profile):
    table = scorecard.scorecard(by_profile["cpu"], "cpu").data
    assert "| 2: KD helps | **holds** | +10.17 [" in table  # the correction changes nothing here
    assert "| 2: T matters | **inconclusive** | " in table
    assert "| 6: TA helps | **not tested** (1) | – |" in table
    assert table.rstrip().endswith("(Bonferroni; k = 2 in chapter 2, 1 in chapter 7); shown where it "
                                   "differs from the verdict")


def test_a_bare_hold_is_counted_as_holding_only_before_the_correction():
    # lower bounds: +0.16 on its own, -0.026 corrected for the chapter's 3 claims
    bare = claims.claim("bare", "p", [1.0, 0.3, 0.9, 0.2, 0.6], [0.0] * 5, paired=True)
    others = [claims.claim(f"strong {k}", "p", [5.0 + k, 5.5, 6.0], [1.0, 1.2, 0.9], paired=True)
              for k in (1, 2)]
    results = {"cpu": {"exp3": {"results": {"claims": [bare, *others]}}}}
    table = scorecard.scorecard(results["cpu"], "cpu").data
    assert "| 3: bare | **holds** (corrected: inconclusive) |" in table
    assert "| 3: strong 1 | **holds** |" in table
    assert "| cpu | the paper's claims | 3 | 3 | 0 | 0 | 0 | 2 |" in scorecard.tallies(results).data


def test_side_by_side_gives_the_corrected_verdict_where_it_differs():
    bare = claims.claim("bare", "p", [1.0, 0.3, 0.9, 0.2, 0.6], [0.0] * 5, paired=True)
    others = [claims.claim(f"strong {k}", "p", [5.0 + k, 5.5, 6.0], [1.0, 1.2, 0.9], paired=True)
              for k in (1, 2)]
    table = scorecard.side_by_side({"cpu": {"exp3": {"results": {"claims": [bare, *others]}}}}).data
    assert "| 3 | bare | holds (corrected: inconclusive), +0.60 [" in table
    assert "| 3 | strong 1 | holds, +" in table


def test_side_by_side_merges_the_profiles_orders():
    """A claim only the second profile ran sits where that profile lists it, not after
    every claim of the first (chapter 3: cpu's 2 % row before converged's 5 %)."""
    def listed(*fractions):
        return {"exp3": {"results": {"claims": [
            claims.claim(f"KD helps at {f} %", "p", [60.0, 61.0], [59.0, 59.5], paired=True)
            for f in fractions]}}}
    table = scorecard.side_by_side({"converged": listed(5, 10, 25), "cpu": listed(2, 5, 10)}).data
    rows = [line.split("|")[2].strip() for line in table.splitlines()[2:]]
    assert rows == [f"KD helps at {f} %" for f in (2, 5, 10, 25)]


def test_side_by_side_gives_a_claim_tested_at_two_settings_one_row():
    """Chapter 3's "the gain shrinks" compares 5 % with 100 % at converged and 2 % with 15 %
    at cpu: one claim of the paper, one row (as in the forest plot), naming both settings."""
    def shrinks(setting):
        return {"exp3": {"results": {"claims": [
            claims.claim(f"The gain shrinks as data grow ({setting})", "p", [3.0, 3.5], [1.0, 1.2],
                         paired=True)]}}}
    table = scorecard.side_by_side({"converged": shrinks("5 % vs 100 %"), "cpu": shrinks("2 % vs 15 %")}).data
    [row] = table.splitlines()[2:]
    assert "The gain shrinks as data grow (converged: 5 % vs 100 %; cpu: 2 % vs 15 %)" in row
    assert row.count("holds, +") == 2
