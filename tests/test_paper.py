from kdhelpers import paper


def _t2_over_t8(alphas):
    return sum(paper.grid_value(paper.EXP4_GRID, a, 2) - paper.grid_value(paper.EXP4_GRID, a, 8)
               for a in alphas) / len(alphas)


def test_a_paper_gain_over_some_of_its_rows_differs_from_its_mean_over_all():
    # why the label names the rows: chapter 4's rows at cpu and converged against the paper's five
    assert round(_t2_over_t8([0.2, 0.6, 1.0]), 2) == 1.17
    assert round(_t2_over_t8(paper.ALPHAS), 2) == 1.30


def test_the_label_names_the_rows_unless_they_are_all_of_the_papers():
    assert paper.rows_label([1.0, 0.2, 0.6]) == "mean over the α rows run here (0.2, 0.6, 1)"
    assert paper.rows_label(list(paper.ALPHAS)) == "mean over all the paper's α rows"
    assert paper.EXP5_ALPHAS == (0.2, 0.4, 0.6)
    assert paper.rows_label([0.2, 0.4, 0.6], paper.EXP5_ALPHAS) == "mean over all the paper's α rows"
    assert paper.rows_label([0.6, 0.2], paper.EXP5_ALPHAS) == "mean over the α rows run here (0.2, 0.6)"
