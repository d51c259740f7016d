"""referral_bonus_war (SF4): a two-sided bonus that rivals on ``rule`` policies answer.

Three arms on common random numbers, 24 replications of 3,000 customers:
the market without bonuses (``referral_bonus_war_nobonus``), the war (the
joint-stock bank pays 40 + 50 yuan, its rivals answer), and the war with the
rivals unable to answer (``answer_threshold: null``).  Measured at this size
and seed (before the calibrated shared parameters, on 16 replications):
citic's final market share +0.78 points [0.24, 1.32] against no bonuses;
the large state bank, which matches the bonus, loses less share than when
it cannot answer.  At the calibrated parameters, unable to answer it loses
0.61 points [0.17, 1.05] of final share (16 replications did not resolve
it: 0.53 [−0.05, 1.12]), and answering it loses 0.28 points less; industry profit (the three banks' profit over
the run) moves by +3k yuan [-117k, +124k] on about 2.7 million — the
incentives paid (about 9k) are lost in it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from adoption_checks import institution_final, institution_total, interval, load, per_replication, run_one

REPLICATIONS = 24
SIZE = 3000
BANKS = ("icbc", "citic", "citybank")
SILENT = {"banks.icbc.policy.answer_threshold": None, "banks.citybank.policy.answer_threshold": None}


@pytest.fixture(scope="module")
def arms():
    size = {"population.size": SIZE}
    return {"nobonus": run_one(load("referral_bonus_war_nobonus", **size), REPLICATIONS),
            "war": run_one(load("referral_bonus_war", **size), REPLICATIONS),
            "silent": run_one(load("referral_bonus_war", **size, **SILENT), REPLICATIONS)}


def difference(arms, arm: str, reference: str, measure) -> tuple[float, float, float]:
    """Mean paired difference ``measure(arm) − measure(reference)`` and its 95% interval."""
    return interval(per_replication(arms[arm], measure) - per_replication(arms[reference], measure))


def final_share(bank: str):
    return lambda tables: institution_final(tables, bank, "market_share")


def industry(column: str):
    return lambda tables: sum(institution_total(tables, bank, column) for bank in BANKS)


def bonus_answers(result):
    decisions = result.tables["decisions"]
    return decisions[(decisions["lever"] == "referral.bonus") & (decisions["source"] == "decision")]


def test_rivals_answer_the_bonus_only_when_there_is_one_and_within_their_bounds(arms):
    assert bonus_answers(arms["nobonus"]).empty and bonus_answers(arms["silent"]).empty
    answers = bonus_answers(arms["war"])
    assert set(answers["owner"]) <= {"banks.icbc", "banks.citybank"}
    assert answers["reason"].str.startswith("rule: answer").all()
    # The large state bank answers in most replications (its share falls most, the rule sees it).
    answered = answers.loc[answers["owner"] == "banks.icbc", "replication"].nunique()
    assert answered >= REPLICATIONS * 3 // 4, f"icbc answered in {answered} of {REPLICATIONS} replications"
    steps = answers["after_value"] - answers["before_value"]
    assert (steps > 0).all() and (steps <= 10 + 1e-9).all() and (answers["after_value"] <= 60).all()
    # Nobody outbids the payer: the answer moves toward the rival's bonus, never past it.
    assert answers["after_value"].max() <= 40 + 1e-9
    assert all(json.loads(value) <= 40 for value in answers["after"])


def test_the_paying_bank_still_gains_share_at_the_end_although_rivals_answer(arms):
    mean, low, high = difference(arms, "war", "nobonus", final_share("citic"))
    assert low > 0, f"citic's final share: {mean:+.4f} [{low:+.4f}, {high:+.4f}]"


def test_answering_protects_the_large_bank_s_share(arms):
    # Unable to answer, icbc loses share; answering, it loses less (paired war − silent above zero).
    mean, low, high = difference(arms, "silent", "nobonus", final_share("icbc"))
    assert high < 0, f"icbc's final share without answering: {mean:+.4f} [{low:+.4f}, {high:+.4f}]"
    mean, low, high = difference(arms, "war", "silent", final_share("icbc"))
    assert mean > 0, f"icbc's final share, answering vs not: {mean:+.4f} [{low:+.4f}, {high:+.4f}]"


def test_the_incentives_are_paid_but_industry_profit_does_not_move_beyond_a_few_percent(arms):
    mean, low, high = difference(arms, "war", "nobonus", industry("incentives"))
    assert low > 0, f"incentives paid by the banks: {mean:+,.0f} [{low:+,.0f}, {high:+,.0f}]"
    level = per_replication(arms["nobonus"], industry("profit")).mean()
    mean, low, high = difference(arms, "war", "nobonus", industry("profit"))
    # Within ±6% of industry profit: the bonus war neither creates nor destroys profit the pairs can resolve.
    assert -0.06 * level < low and high < 0.06 * level, \
        f"industry profit: {mean:+,.0f} [{low:+,.0f}, {high:+,.0f}] on {level:,.0f}"
    assert np.isfinite(level) and level > 0
