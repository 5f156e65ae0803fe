"""The attack formulas against the whitepaper's tables (section 11)."""

import pytest

from ironchain import blocks_needed, catch_up_probability


@pytest.mark.parametrize(
    "q, z, p",
    [
        # The whitepaper's first table, q = 0.1, and its second, q = 0.3.
        (0.1, 0, 1.0),
        (0.1, 1, 0.2045873),
        (0.1, 5, 0.0009137),
        (0.1, 10, 0.0000012),
        (0.3, 5, 0.1773523),
        (0.3, 10, 0.0416605),
        (0.3, 50, 0.0000006),
    ],
)
def test_the_whitepapers_table(q, z, p):
    assert catch_up_probability(q, z) == pytest.approx(p, abs=5e-8)


def test_the_exact_race_is_a_little_likelier_and_a_majority_always_wins():
    assert catch_up_probability(0.1, 2, model="exact") > catch_up_probability(0.1, 2)
    assert catch_up_probability(0.5, 100) == catch_up_probability(0.7, 3, model="exact") == 1.0
    assert catch_up_probability(0.0, 3) == 0.0
    # The whitepaper's "P < 0.1%" table.
    assert [blocks_needed(q) for q in (0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45)] == [
        5, 8, 11, 15, 24, 41, 89, 340,
    ]
    assert blocks_needed(0.5) is None


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="a hash-power share is between 0 and 1, found 1.5"):
        catch_up_probability(1.5, 3)
    with pytest.raises(ValueError, match="z .* must be from 0"):
        catch_up_probability(0.1, -1)
    with pytest.raises(ValueError, match='model must be "whitepaper" or "exact"'):
        catch_up_probability(0.1, 3, model="poisson")
    with pytest.raises(TypeError):
        catch_up_probability("0.1", 3)
    with pytest.raises(ValueError, match="threshold is a probability"):
        blocks_needed(0.1, threshold=0)
