"""The tables of a run: their key and required columns, flows, and display orders.

The run produces long-format tables (see ``results/README.md``) named in
:data:`sim.core.codes.TABLE_NAMES`; stage and channel names come from
:mod:`sim.core.codes` too.  The reductions (:mod:`sim.experiments.metrics`)
and the output layer only rely on the columns listed here, so that later
issues can add columns (defaults, contagion, insurer capital) without
breaking the summary or the plots: extra numeric columns are carried along,
not rejected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from sim.core.codes import FIXED_CHANNELS, FUNNEL_STAGE_NAMES, TABLE_NAMES, platform_channel_name

#: Columns identifying a row of each table (never summarised as metrics).
KEYS: Mapping[str, tuple[str, ...]] = {
    "market": ("replication", "step"),
    "institutions": ("replication", "step", "institution"),
    "channels": ("replication", "step", "institution", "channel"),
    "funnel": ("replication", "step", "product", "institution", "channel", "stage"),
    "credit": ("replication", "step", "product", "institution", "channel", "segment", "life_stage", "inside_community"),
    "insurers": ("replication", "step", "insurer"),
    "products": ("replication", "step", "institution", "product"),
    "tiers": ("replication", "step", "institution", "tier"),
    "cohorts": ("replication", "cohort", "institution", "channel", "product", "age", "step"),
}

#: Columns the output layer reads; a non-empty table without them is an error.
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "market": ("replication", "step", "active", "new_active", "referral_conversions"),
    "institutions": (
        "replication", "step", "institution", "kind", "customers", "market_share",
        "new_customers", "acquisition_spend", "revenue", "profit", "capital",
    ),
    "channels": ("replication", "step", "institution", "channel", "new_customers", "spend"),
    "funnel": ("replication", "step", "product", "institution", "channel", "stage", "reached"),
    "credit": ("replication", "step", "product", "institution", "channel", "applications", "approvals"),
    "insurers": ("replication", "step", "insurer", "capital"),
    "products": ("replication", "step", "institution", "product", "margin", "profit"),
    "tiers": ("replication", "step", "institution", "tier", "cac", "profit"),
    "cohorts": ("replication", "cohort", "institution", "channel", "product", "age", "acquired", "active",
                "cumulative_margin", "acquisition_cost", "ltv", "payback_age"),
}

#: Funnel stages in the order a customer passes them (mechanism 3, docs/ODD.md, "Funnel").
STAGES: tuple[str, ...] = FUNNEL_STAGE_NAMES

#: Fixed channels in index order; ``platform:<id>`` channels follow (docs/architecture.md, "Indices").
BASE_CHANNELS: tuple[str, ...] = FIXED_CHANNELS

_PLATFORM_PREFIX = platform_channel_name("")

#: Market columns that count events during a step (summed over the run).
#: Any other numeric market column is treated as a level (reported at the final step only).
MARKET_FLOWS: tuple[str, ...] = (
    "new_active", "referral_conversions", "employee_conversions", "churned",
    "switched", "funnel_entries", "new_defaults", "contagion_defaults",
    "new_loans", "threshold_defaults", "seeded_defaults", "credit_losses", "insured_losses",
)


def channel_order(channels: Iterable[str]) -> list[str]:
    """Sort channel names the way the model indexes them.

    Fixed channels first in :data:`BASE_CHANNELS` order, then ``platform:<id>``
    channels alphabetically, then anything else alphabetically, so that every
    plot and table lists channels in the same, predictable order.
    """
    unique = set(channels)
    base = [c for c in BASE_CHANNELS if c in unique]
    platforms = sorted(c for c in unique if c.startswith(_PLATFORM_PREFIX))
    other = sorted(unique - set(base) - set(platforms))
    return base + platforms + other


def check_columns(name: str, frame: pd.DataFrame) -> None:
    """Raise ``ValueError`` if a non-empty table lacks a column the outputs need.

    An empty table (no rows) is accepted whatever its columns, because a run
    can legitimately produce no funnel or channel rows.
    """
    if frame.empty:
        return
    missing = [c for c in REQUIRED[name] if c not in frame.columns]
    if missing:
        raise ValueError(
            f"table '{name}' lacks required column(s) {missing}; "
            f"it has {list(frame.columns)}"
        )


def require_tables(tables: Mapping[str, pd.DataFrame], names: Iterable[str]) -> None:
    """Raise ``KeyError`` naming the tables a caller needs but did not pass."""
    missing = [n for n in names if n not in tables]
    if missing:
        raise KeyError(f"missing table(s) {missing}; got {sorted(tables)}")


__all__ = [
    "BASE_CHANNELS",
    "KEYS",
    "MARKET_FLOWS",
    "REQUIRED",
    "STAGES",
    "TABLE_NAMES",
    "channel_order",
    "check_columns",
    "require_tables",
]
