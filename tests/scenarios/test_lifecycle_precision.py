"""lifecycle_precision (SF14, SF17): lower CAC; more creditworthy and fewer subprime approvals."""

from __future__ import annotations

import pytest
from adoption_checks import approvals_by_segment, key_difference, library_pair, paired, subprime_share_of_approvals

REPLICATIONS = 6
#: Larger than the other scenario tests: the effects on CAC and on subprime approvals are a few percent.
SIZE = 6000


@pytest.fixture(scope="module")
def comparison():
    return library_pair("baseline", "lifecycle_precision", REPLICATIONS, SIZE)


def test_life_stage_targeting_lowers_the_banks_acquisition_cost(comparison):
    mean, low, high = key_difference(comparison, "citic: cac (run)")
    assert high < 0, f"CAC: paired difference {mean:.1f} [{low:.1f}, {high:.1f}]"


def test_a_big_data_model_approves_more_of_the_creditworthy(comparison):
    def prime_approval_rate(tables):
        return (approvals_by_segment(tables, "citic", "prime")
                / approvals_by_segment(tables, "citic", "prime", column="applications"))

    mean, low, high = paired(comparison, prime_approval_rate)
    assert low > 0, f"prime approval rate: paired difference {mean:.4f} [{low:.4f}, {high:.4f}]"


def test_a_big_data_model_approves_fewer_subprime_applicants(comparison):
    mean, low, high = paired(comparison, lambda t: subprime_share_of_approvals(t, "citic"))
    assert high < 0, f"subprime share of approvals: paired difference {mean:.4f} [{low:.4f}, {high:.4f}]"
