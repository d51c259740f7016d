"""The names the whole package agrees on: funnel stages, channels, loan status, tables.

Each set is an :class:`~enum.IntEnum` whose values are the codes stored in
the state arrays and whose lower-case names are the labels written in the
output tables, so a code and its label are declared once.
"""

from __future__ import annotations

from enum import IntEnum


class Stage(IntEnum):
    """Funnel stage of a customer for one product (mechanism 3, docs/ODD.md, "Funnel").

    ``AWARE`` … ``ACTIVE`` are passed within a step; after a step a
    customer's stage for a product is where its last attempt ended.
    """

    NONE = 0
    AWARE = 1
    INTERESTED = 2
    COMPARING = 3
    APPLIED = 4
    APPROVED = 5
    ACTIVE = 6
    REJECTED = 7
    CHURNED = 8

    @property
    def label(self) -> str:
        return self.name.lower()


class Channel(IntEnum):
    """The fixed channels; platform channels follow as ``platform:<id>`` from ``len(Channel)`` on."""

    BRANCH = 0
    OWN_APP = 1
    LIVE_STREAM = 2
    REFERRAL = 3
    EMPLOYEE = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class LoanStatus(IntEnum):
    """Status of a loan (mechanisms 4-5): every loan is in exactly one of these."""

    PERFORMING = 0
    REPAID = 1
    DEFAULTED = 2

    @property
    def label(self) -> str:
        return self.name.lower()


#: The channel types whose exposure is bought by spend, in the order of the catalog's response arrays.
PAID_CHANNEL_TYPES: tuple[str, ...] = ("branch", "own_app", "live_stream", "platform")

#: Channel, provider or loan id meaning "none".
NO_CHANNEL = -1
NO_LOAN = -1

STAGE_NAMES: tuple[str, ...] = tuple(stage.label for stage in Stage)
#: The stages a customer passes in order, as counted in the funnel table.
FUNNEL_STAGES: tuple[Stage, ...] = (Stage.AWARE, Stage.INTERESTED, Stage.COMPARING, Stage.APPLIED,
                                    Stage.APPROVED, Stage.ACTIVE)
FUNNEL_STAGE_NAMES: tuple[str, ...] = tuple(stage.label for stage in FUNNEL_STAGES)
FIXED_CHANNELS: tuple[str, ...] = tuple(channel.label for channel in Channel)
LOAN_STATUS_NAMES: tuple[str, ...] = tuple(status.label for status in LoanStatus)

#: The output tables of a run, in the order they are written and documented.
TABLE_NAMES: tuple[str, ...] = ("market", "institutions", "channels", "funnel", "credit", "insurers", "products",
                               "tiers", "cohorts", "decisions")


def platform_channel_name(platform_id: str) -> str:
    """The channel label of a platform's traffic."""
    return f"platform:{platform_id}"
