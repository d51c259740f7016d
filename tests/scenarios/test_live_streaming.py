"""live_streaming (SF6, SF7): streams convert better; more own-channel customers, less platform dependence."""

from __future__ import annotations

import pytest
from adoption_checks import (
    assert_claims_are_the_levers,
    channel_total,
    claim_results,
    funnel_reached,
    interval,
    library_pair,
    paired,
    per_replication,
    platform_share,
)

REPLICATIONS = 8


@pytest.fixture(scope="module")
def comparison():
    return library_pair("baseline", "live_streaming", REPLICATIONS)


def test_streams_convert_interested_customers_better_than_the_app(comparison):
    """From interest on — comparison and choice, where SF6 says live video acts — streams convert better."""
    def conversion(tables, channel):
        return (funnel_reached(tables, "active", institution="citic", channel=channel)
                / funnel_reached(tables, "interested", institution="citic", channel=channel))

    gap = per_replication(comparison.results[1], lambda t: conversion(t, "live_stream") - conversion(t, "own_app"))
    mean, low, high = interval(gap)
    assert low > 0, f"interested -> active, live stream minus app: {mean:.3f} [{low:.3f}, {high:.3f}]"


def test_streaming_wins_the_bank_more_customers_through_its_own_channels(comparison):
    mean, low, high = paired(comparison, lambda t: channel_total(t, "citic", ("own_app", "live_stream")))
    assert low > 0, f"own-channel acquisitions: paired difference {mean:.1f} [{low:.1f}, {high:.1f}]"


def test_a_smaller_share_of_the_banks_new_customers_comes_through_platforms(comparison):
    mean, low, high = paired(comparison, lambda t: platform_share(t, "citic"))
    assert high < 0, f"platform share of new customers: paired difference {mean:.3f} [{low:.3f}, {high:.3f}]"


@pytest.fixture(scope="module")
def claims():
    return claim_results("live_streaming", 3000, REPLICATIONS)


def test_the_claims_hold_with_the_levers_and_vanish_without_them(claims):
    """The bank wins more customers with the stream; no difference without it."""
    assert_claims_are_the_levers(claims)
