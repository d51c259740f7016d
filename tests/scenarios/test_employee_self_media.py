"""employee_self_media (SF3): about 84 clicks per employee in 4 months, 21.6% of them converted.

A click is a touch through the employee channel (the ``touches`` column of
the channels table).  The test runs the programme's first four months at
3,000 customers with the file's share of employees (0.3%, so audiences
overlap as much as at full size) and requires the whole 95% interval of each
figure inside a band of ±10% around the article's.

SF3's figures are the programme's *first* four months.  The library's
24-month burn-in runs every strategy from the set-up on (docs/ODD.md,
Initialisation), so its steps 1-4 are the programme's months 25-28, when most
of the employees' audiences already know the bank (about 38 clicks each, not
84).  The SF3 checks therefore run without burn-in (``time.burn_in: 0``):
steps 1-4 are the programme's first four months.
"""

from __future__ import annotations

import pytest
from adoption_checks import (
    assert_claims_are_the_levers,
    channel_total,
    claim_results,
    interval,
    per_replication,
    run_one,
    small,
)

REPLICATIONS = 12
SIZE = 3000
MONTHS = 4
#: The programme's first months are the run's first months (see the module docstring).
FIRST_MONTHS = {"time.burn_in": 0}
#: SF3: 1.134 million clicks and 245,063 new customers from 13,457 employees in 4 months.
CLICKS_PER_EMPLOYEE = 1_134_000 / 13_457     # 84.3
CONVERSION_PER_CLICK = 245_063 / 1_134_000   # 21.6%
TOLERANCE = 0.10                              # relative calibration tolerance


@pytest.fixture(scope="module")
def result():
    # staff_share is a share of the population, so the programme scales with SIZE by itself.
    return run_one(small("employee_self_media", SIZE, steps=MONTHS, **FIRST_MONTHS), REPLICATIONS)


def employees_of(scenario) -> int:
    """The number of employees the model staffs: round(staff_share x population size)."""
    return round(scenario.banks["citic"].employee_media.staff_share * scenario.population.size)


def within(value: float, target: float) -> bool:
    return target * (1 - TOLERANCE) < value < target * (1 + TOLERANCE)


def test_clicks_per_employee_in_four_months(result):
    employees = employees_of(result.scenario)
    clicks = per_replication(result, lambda t: channel_total(t, "citic", "employee", "touches") / employees)
    mean, low, high = interval(clicks)
    assert within(low, CLICKS_PER_EMPLOYEE) and within(high, CLICKS_PER_EMPLOYEE), (
        f"clicks per employee {mean:.1f} [{low:.1f}, {high:.1f}], article {CLICKS_PER_EMPLOYEE:.1f}")


def test_conversion_per_click(result):
    rate = per_replication(result, lambda t: channel_total(t, "citic", "employee")
                           / channel_total(t, "citic", "employee", "touches"))
    mean, low, high = interval(rate)
    assert within(low, CONVERSION_PER_CLICK) and within(high, CONVERSION_PER_CLICK), (
        f"conversion per click {mean:.3f} [{low:.3f}, {high:.3f}], article {CONVERSION_PER_CLICK:.3f}")


def test_the_self_media_audience_is_what_makes_the_clicks(result):
    """Without the audience, network neighbours alone give a fraction of the clicks (the design's reason)."""
    employees = employees_of(result.scenario)
    without = run_one(small("employee_self_media", SIZE, steps=MONTHS, **FIRST_MONTHS,
                              **{"banks.citic.employee_media.audience": 0}), 4)
    clicks = per_replication(without, lambda t: channel_total(t, "citic", "employee", "touches") / employees)
    assert clicks.max() < CLICKS_PER_EMPLOYEE / 5


@pytest.fixture(scope="module")
def claims():
    return claim_results("employee_self_media", 3000, 8)


def test_the_claims_hold_with_the_levers_and_vanish_without_them(claims):
    """The programme's conversions and the bank's customers; nothing without it."""
    assert_claims_are_the_levers(claims)
