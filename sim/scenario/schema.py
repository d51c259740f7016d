"""The scenario schema: every parameter of the model, declared once.

A scenario is a YAML file validated against :class:`Scenario`.  Validation is
strict: unknown keys, wrong types and out-of-range values are errors (see
:mod:`sim.scenario.loader` for how they are reported).  Every field is
reachable by a dotted path (``banks.citic.referral.bonus``) so that the
command line and sweeps can set it.

Units: money is in yuan per step for flows and yuan for stocks; rates and
probabilities are per step unless the name says ``annual``.  Symbols of the
model's description (docs/ODD.md, section 7, "Submodels") are given in the
field descriptions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)


def _not_a_bool(value: Any) -> Any:
    """Refuse ``true``/``false`` where a number is wanted (pydantic would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a yes/no value, not a number")
    return value


#: Numbers: finite (see :class:`Strict`) and never a yes/no value.
Real = Annotated[float, BeforeValidator(_not_a_bool)]
Integer = Annotated[int, BeforeValidator(_not_a_bool)]
Probability = Annotated[Real, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[Real, Field(ge=0.0)]
#: Upper bounds that keep every integer within what the model's int64 arrays hold.
MAX_STEPS = 100_000
MAX_CUSTOMERS = 10_000_000
Count = Annotated[Integer, Field(ge=0, le=MAX_CUSTOMERS)]

LIFE_STAGES = ("student", "young_family", "mature")
LifeStage = Literal["student", "young_family", "mature"]
PRODUCT_KINDS = ("payments", "credit", "wealth")
BANK_TYPES = ("state", "joint_stock", "city_commercial")
PLATFORM_TYPES = ("scenario", "social", "aggregator", "p2p")
STEP_UNITS = ("day", "week", "month", "quarter", "year")
DATA_LINKS = ("direct", "bureau", "direct_jump")


class Strict(BaseModel):
    """Base for every schema block: unknown keys are errors, assignments are checked, numbers are finite.

    ``allow_inf_nan=False``: a NaN or an infinity anywhere (file, ``--set``,
    sweep design) is refused, since it would give results that look valid
    (NaN prices give plausible shares, infinite capital an infinite ratio).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get(_READ_ONLY) and not name.startswith("_"):
            raise ReadOnlyRecordError(
                f"{type(self).__name__}.{name}: this record is a running model's lever record and is read-only, "
                "since a change here would reach neither the run nor its change log; change a lever with "
                "set_lever (e.g. model.institution('citic').set_lever('referral.bonus', 100.0)), or edit a "
                "copy made with .model_copy(deep=True)")
        super().__setattr__(name, value)

    def __deepcopy__(self, memo: dict | None = None):
        copied = super().__deepcopy__(memo)
        copied.__dict__.pop(_READ_ONLY, None)       # a deep copy is the caller's own, free to change
        return copied

    def model_copy(self, *, update: Any = None, deep: bool = False):
        copied = super().model_copy(update=update, deep=deep)
        if deep:
            copied.__dict__.pop(_READ_ONLY, None)
        return copied


#: Key in a record's ``__dict__`` marking it read-only (not a field: never validated, dumped or compared).
_READ_ONLY = "_bpsim_read_only"


class ReadOnlyRecordError(AttributeError):
    """An assignment to a record a model holds (see :func:`make_read_only`)."""


def make_read_only(record: Any) -> Any:
    """Mark ``record`` and every block inside it read-only, and return it.

    An assignment to a field of such a block raises
    :class:`ReadOnlyRecordError`.  A model's lever records are read-only: a
    lever changes through ``set_lever``, which validates it, logs it and
    derives again what it feeds.  Shallow copies (``model_copy()``) stay
    read-only; deep copies (``model_copy(deep=True)``) are free to change.
    Lists and dicts inside the blocks are left as they are.
    """
    if isinstance(record, Strict):
        record.__dict__[_READ_ONLY] = True
        for name in type(record).__pydantic_fields__:
            make_read_only(record.__dict__.get(name))
    elif isinstance(record, dict):
        for value in record.values():
            make_read_only(value)
    elif isinstance(record, (list, tuple)):
        for value in record:
            make_read_only(value)
    return record


def writable_copy(record: Strict) -> Strict:
    """A shallow copy of ``record`` whose own fields may be assigned (the blocks inside are shared, unchanged)."""
    copied = record.model_copy()
    copied.__dict__.pop(_READ_ONLY, None)
    return copied


def _check_shares(values: dict | list, what: str) -> None:
    total = sum(values.values()) if isinstance(values, dict) else sum(values)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1, got {total:.6g}")


# --------------------------------------------------------------------------- time
class TimeSpec(Strict):
    """Horizon of a run."""

    steps: Integer = Field(60, ge=1, le=MAX_STEPS, description="Number of steps simulated (horizon).")
    unit: Literal["day", "week", "month", "quarter", "year"] = Field(
        "month", description="What one step stands for; rates in the file are per step."
    )
    burn_in: Integer = Field(
        0, ge=0, le=MAX_STEPS,
        description="Steps run before step 0 with the start-of-run settings and dropped from the outputs, so "
                    "that step 0 is the end of a burn-in rather than the set-up snapshot (docs/ODD.md, "
                    "Initialisation); 0 = start from the set-up itself.",
    )


class ValuationSpec(Strict):
    """How customer value is reckoned in the cohort table (cohorts.parquet)."""

    discount_rate: Real = Field(
        0.10, ge=0.0, le=1.0,
        description="Annual rate discounting a cohort's margins to its acquisition step (lifetime value); "
                    "converted to the step unit by compounding.",
    )


# --------------------------------------------------------------------------- population
class DigitalAffinitySpec(Strict):
    """Beta-distributed digital affinity (0 = branch only, 1 = fully digital)."""

    mean: dict[LifeStage, Annotated[Real, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: {"student": 0.8, "young_family": 0.65, "mature": 0.4},
        description="Mean digital affinity of each life stage.",
    )
    concentration: Real = Field(8.0, gt=0.0, description="Beta a + b; larger = less spread.")


class CreditQualitySpec(Strict):
    """Latent monthly default hazard: log-normal around a prime and a subprime mean."""

    subprime_share: Probability = Field(0.15, description="Share of customers drawn around the subprime hazard.")
    prime_hazard: Probability = Field(0.002, description="Mean per-step default hazard of prime customers.")
    subprime_hazard: Probability = Field(0.02, description="Mean per-step default hazard of subprime customers.")
    dispersion: NonNegative = Field(0.5, description="Log-normal sigma of the hazard around its mean.")


class PopulationSpec(Strict):
    """Who the customers are (one per network node)."""

    size: Integer = Field(10_000, ge=2, le=MAX_CUSTOMERS, description="Number of customers (network nodes).")
    life_stages: dict[LifeStage, Probability] = Field(
        default_factory=lambda: {"student": 0.2, "young_family": 0.35, "mature": 0.45},
        description="Shares of each life stage (SF17); must sum to 1.",
    )
    city_tiers: Annotated[list[Probability], Field(min_length=4, max_length=4)] = Field(
        default_factory=lambda: [0.15, 0.25, 0.30, 0.30],
        description="Shares of customers living in city tiers 1..4 (SF16); must sum to 1.",
    )
    digital_affinity: DigitalAffinitySpec = Field(default_factory=DigitalAffinitySpec)
    credit: CreditQualitySpec = Field(default_factory=CreditQualitySpec)
    trust_spread: NonNegative = Field(
        0.1, description="Std. dev. of a customer's trust around an institution's base trust."
    )

    @model_validator(mode="after")
    def _shares(self):
        _check_shares(self.life_stages, "life_stages")
        _check_shares(self.city_tiers, "city_tiers")
        return self


# --------------------------------------------------------------------------- network
class ErdosRenyiSpec(Strict):
    """G(n, p) random graph with p = mean_degree / (n - 1)."""

    kind: Literal["erdos_renyi"]
    mean_degree: Real = Field(10.0, gt=0.0, description="Mean number of neighbours of a customer.")


class WattsStrogatzSpec(Strict):
    """Small-world ring lattice of even degree k with rewiring probability beta."""

    kind: Literal["watts_strogatz"]
    mean_degree: Integer = Field(
        10, ge=2, le=MAX_CUSTOMERS, description="k: each node joined to its k nearest ring neighbours (even)."
    )
    rewiring: Probability = Field(0.1, description="beta: chance each lattice edge is rewired to a random customer.")

    @model_validator(mode="after")
    def _even(self):
        if self.mean_degree % 2:
            raise ValueError(f"mean_degree must be even for watts_strogatz, got {self.mean_degree}")
        return self


class BarabasiAlbertSpec(Strict):
    """Preferential attachment; each new node brings m edges (mean degree about 2m)."""

    kind: Literal["barabasi_albert"]
    attachment: Integer = Field(5, ge=1, le=MAX_CUSTOMERS, description="m: edges added with each new node.")


class BlockSpec(Strict):
    """One community of a stochastic block model."""

    share: Probability = Field(description="Share of customers in this block.")
    sanctioning: bool = Field(False, description="Members sanction defaulters (social collateral, SF1).")


class StochasticBlockSpec(Strict):
    """Communities (e.g. alumni circles) with dense ties inside and sparse ties between."""

    kind: Literal["stochastic_block"]
    blocks: dict[str, BlockSpec] = Field(min_length=1)
    degree_within: NonNegative = Field(8.0, description="Mean number of neighbours inside one's own block.")
    degree_between: NonNegative = Field(2.0, description="Mean number of neighbours in other blocks.")

    @model_validator(mode="after")
    def _shares(self):
        _check_shares({k: b.share for k, b in self.blocks.items()}, "blocks shares")
        return self


class CompleteSpec(Strict):
    """Everyone knows everyone (the mean-field limit)."""

    kind: Literal["complete"]


class EdgeListSpec(Strict):
    """A network read from files: CSV edge list, optional CSV of node attributes.

    The edge list has columns ``source,target``; the node file has ``id`` and
    any of ``life_stage, city_tier, community, digital_affinity``.  Paths are
    relative to the scenario file.
    """

    kind: Literal["edge_list"]
    path: str = Field(description="CSV edge list (columns source,target), relative to the scenario file.")
    nodes: str | None = Field(None, description="CSV of node attributes (column id and any of life_stage, city_tier, "
                                                  "community, digital_affinity); null = drawn from population.")


NetworkSpec = Annotated[
    ErdosRenyiSpec | WattsStrogatzSpec | BarabasiAlbertSpec | StochasticBlockSpec | CompleteSpec | EdgeListSpec,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- products and funnel
class FunnelSpec(Strict):
    """Stage probabilities of the value funnel (SF6); each may be set to 1."""

    interest: Probability = Field(0.5, description="aware -> interested, before need matching.")
    compare: Probability = Field(0.8, description="interested -> comparing.")
    apply: Probability = Field(0.7, description="comparing (offer chosen) -> applied.")
    approve: Probability = Field(0.95, description="applied -> approved, for products that are not underwritten.")
    repeat_decay: Probability = Field(
        0.8, description="d: an advertising exposure of a customer who already had m earlier ones of the same offer "
                         "(while not a customer) enters the funnel with probability d^m (ad wear-out; 1 = never wears "
                         "out, 0 = only the first exposure counts).")
    reapply_after: Integer = Field(
        6, ge=0, le=MAX_STEPS, description="Cool-down: steps after a rejection before the applicant's touches for the "
                                           "product enter the funnel again (0 = at once).")


class LoanSpec(Strict):
    """Loan terms of a credit product (mechanism 4): a bullet loan repaid at term end."""

    size_mean: Real = Field(20_000.0, gt=0.0, description="Mean loan size (yuan); sizes are log-normal.")
    size_sd: NonNegative = Field(10_000.0, description="Standard deviation of loan sizes (yuan); 0 = all equal.")
    term: Integer = Field(12, ge=1, le=MAX_STEPS, description="Steps from origination to repayment.")
    rate: Annotated[Real, Field(ge=0.0, le=10.0)] = Field(
        0.12, description="Annual interest rate charged; an offer's loan_rate overrides it.")
    risk_weight: Annotated[Real, Field(ge=0.0, le=12.5)] = Field(
        1.0, description="Basel risk weight of the loans in risk-weighted assets: 1.0 for other consumer loans, "
                         "0.75 for regulatory retail (Basel III standardised approach; China's 2023 capital rules).")
    recovery: Probability = Field(0.3, description="Share of the balance recovered when a borrower defaults.")
    renewal: Probability = Field(
        0.9, description="Chance a borrower repaying at term end applies to the same lender for a new loan.")


class ProductSpec(Strict):
    """A product line; a customer holds it with at most one provider."""

    kind: Literal["payments", "credit", "wealth"] = Field(
        description="What the product is; credit products are underwritten and booked as loans when credit is on.")
    need: dict[LifeStage, Probability] = Field(
        default_factory=lambda: {s: 1.0 for s in LIFE_STAGES},
        description="Need match by life stage (SF17): multiplies the interest probability.",
    )
    funnel: FunnelSpec | None = Field(None, description="Overrides the scenario's funnel for this product.")
    loan: LoanSpec | None = Field(None, description="Loan terms (credit products only; default LoanSpec()).")

    @model_validator(mode="after")
    def _loan_only_for_credit(self):
        if self.loan is not None and self.kind != "credit":
            raise ValueError(f"a loan block is only allowed on products of kind credit, this one is {self.kind}")
        return self

    @property
    def loan_terms(self) -> LoanSpec:
        """The loan terms of a credit product (defaults when not given)."""
        return self.loan if self.loan is not None else LoanSpec()


class ChoiceSpec(Strict):
    """Multinomial-logit weights of the comparison stage, and switching."""

    price: Real = Field(-0.5, description="Utility per yuan of an offer's price per step (negative: dearer is worse).")
    loan_rate: Real = Field(
        -5.0, description="Utility per unit of a credit offer's annual loan rate (-5: 0.01 more a year costs 0.05).")
    convenience: Real = Field(1.0, description="Utility of the channel's convenience for the customer.")
    trust: Real = Field(2.0, description="Utility per unit of trust in the provider.")
    incentive: Real = Field(0.5, description="Utility per 100 yuan of welcome packet to a referred customer (SF4).")
    live_stream: Real = Field(
        0.5, description="Utility bonus when the offer came through live streaming (trust in the host, SF6)."
    )
    outside_utility: Real | None = Field(None, description="Utility of choosing nothing; null = no outside option.")
    switching: Probability = Field(
        0.02, description="Per-step chance an active customer weighs the alternatives it knows."
    )



# --------------------------------------------------------------------------- decisions
class BoundsSpec(Strict):
    """A closed interval [low, high] a decision keeps a lever inside."""

    low: Real = Field(description="Lowest value a decision may set.")
    high: Real = Field(description="Highest value a decision may set.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.low >= self.high:
            raise ValueError(f"low must be below high, got low {self.low:g} and high {self.high:g}")
        return self


class LearningSpec(Strict):
    """Roth–Erev reinforcement learning over each lever's action menu (Roth & Erev 1995; Erev & Roth 1998).

    One learner per lever the institution has (docs/ODD.md, Decisions):
    prices (every offer −``price_step``, hold, +``price_step``); with a
    marketing budget, the budget (× (1 − ``budget_change``), hold,
    × (1 + ``budget_change``)) and its split (hold, or move ``budget_step``
    of the budget toward one channel); a platform's take rates
    (−``take_rate_step``, hold, +``take_rate_step``); an insurer's premium
    rate (× (1 ∓ ``premium_step``), hold).  Each action has a propensity;
    after a decision period the chosen action's propensity grows by the
    period's own profit (shifted to be non-negative), all propensities decay
    by the recency factor ``recency`` (φ), and a share ``experimentation``
    (ε) of the reinforcement spills to the other actions.  The initial
    propensities are scaled to the payoffs (Erev & Roth 1998):
    ``q_j(1) = s(1) · X / M``, ``s(1)`` = ``initial_strength``, X the
    absolute value of the first non-zero profit the learner sees and M the
    menu's size, so the learning is the same at any market size or currency.
    """

    recency: Probability = Field(0.1, description="phi: share of every propensity forgotten per decision period.")
    experimentation: Annotated[Real, Field(ge=0.0, lt=1.0)] = Field(
        0.05, description="epsilon: share of a reinforcement spread evenly over the other actions.")
    initial_strength: Real = Field(
        9.0, gt=0.0, description="s(1): the initial propensities' total, in units of the first period's absolute "
                                 "profit (Erev & Roth 1998 estimate 9).")


class PolicySpec(Strict):
    """How an institution moves its own levers each decision period (docs/ODD.md, Decisions).

    ``fixed`` leaves the levers to the scenario and its events; ``rule``
    applies the documented heuristics below; ``learning`` chooses moves of
    its prices, budget, split, take rates or premium by Roth–Erev reinforcement.  Every policy obeys the exit rule
    (``capital_minimum``, ``exit_after``).  Bounds and maximum changes apply
    to every decision.
    """

    kind: Literal["fixed", "rule", "learning"] = Field("fixed", description="fixed, rule or learning.")
    price_step: NonNegative = Field(
        0.1, description="Largest change of an offer's price per decision (model units); also learning's step.")
    price_adjustment: Annotated[Real, Field(gt=0.0, le=1.0)] = Field(
        0.5, description="Share of the gap to the rule's target price closed per decision (damping; "
                         "1 = jump, which cycles under logit demand).")
    price_bounds: BoundsSpec = Field(
        default_factory=lambda: BoundsSpec(low=0.0, high=100.0), description="Prices a decision may set.")
    answer_threshold: Probability | None = Field(
        0.05, description="Answer a rival's price cut or higher bonus when own market share fell by more than this "
                          "since the last decision (null = never answer).")
    bonus_step: NonNegative = Field(10.0, description="Largest change of the referral bonus per decision (yuan).")
    bonus_bounds: BoundsSpec = Field(
        default_factory=lambda: BoundsSpec(low=0.0, high=500.0), description="Referral bonuses a decision may set.")
    partnership_patience: Integer = Field(
        4, ge=1, le=MAX_STEPS,
        description="Decision periods a partnership's contribution margin must stay negative before notice is given.")
    notice: Integer = Field(
        1, ge=0, le=MAX_STEPS, description="Decision periods between giving notice and the partnership's end.")
    capital_minimum: NonNegative | None = Field(
        None, description="Capital (yuan) below which the institution exits, and lending tightens as capital "
                          "nears it (null = no capital rule).")
    capital_margin: NonNegative = Field(
        0.5, description="Lending tightens while capital < (1 + capital_margin) × capital_minimum.")
    cutoff_step: Probability = Field(0.1, description="Relative change of the credit cut-off per decision.")
    exit_after: Integer | None = Field(
        None, ge=1, le=MAX_STEPS, description="Decision periods of negative profit after which the institution "
                                              "exits (null = never for losses).")
    exit_retention: Probability = Field(
        0.5, description="Annual retention of an exited institution's customers (they churn to others).")
    dependence_threshold: Probability = Field(
        0.3, description="A platform raises a partner's take rate when more than this share of the bank's new "
                         "customers came through it in the last period.")
    take_rate_step: Probability = Field(0.01, description="Largest change of a take rate per decision.")
    take_rate_bounds: BoundsSpec = Field(
        default_factory=lambda: BoundsSpec(low=0.0, high=0.5), description="Take rates a decision may set.")
    target_loss_ratio: NonNegative = Field(
        0.6, description="An insurer's target claims / premiums; above it the premium rate rises, below it falls.")
    premium_step: Probability = Field(0.1, description="Relative change of an insurer's premium rate per decision.")
    premium_bounds: BoundsSpec = Field(
        default_factory=lambda: BoundsSpec(low=0.0, high=1.0), description="Premium rates a decision may set.")
    budget_step: Probability = Field(
        0.1, description="Largest share of the marketing budget moved between channels per decision.")
    budget_change: Probability = Field(
        0.1, description="Largest relative change of the marketing budget per decision (learning moves it by "
                         "this share of itself, up or down).")
    budget_bounds: BoundsSpec = Field(
        default_factory=lambda: BoundsSpec(low=0.0, high=100000.0),
        description="Marketing budgets a decision may set (yuan per step per 1,000 customers).")
    learning: LearningSpec = Field(default_factory=LearningSpec, description="Parameters of the learning policy.")

    @model_validator(mode="after")
    def _bounds_in_range(self):
        for name, low in (("bonus_bounds", 0.0), ("take_rate_bounds", 0.0), ("premium_bounds", 0.0),
                          ("budget_bounds", 0.0)):
            bounds = getattr(self, name)
            if bounds.low < low:
                raise ValueError(f"{name}.low must be at least {low:g}, got {bounds.low:g}")
        if self.take_rate_bounds.high > 1.0:
            raise ValueError(f"take_rate_bounds.high must be at most 1, got {self.take_rate_bounds.high:g}")
        return self


class DecisionsSpec(Strict):
    """When institutions decide (docs/ODD.md, Decisions)."""

    every: Integer = Field(3, ge=1, le=MAX_STEPS,
                           description="Steps between decisions (3 = a quarter of monthly steps).")


# --------------------------------------------------------------------------- institutions
class OfferSpec(Strict):
    """What an institution offers on one product line, and what it earns on it.

    ``price`` is what the customer pays: it enters choice (``choice.price``
    per yuan) and revenue.  The margin of a relationship per step is
    ``price − service_cost`` (less the take rate of a partner platform that
    brought it); a credit offer's loans (credit on) add interest at
    ``loan_rate`` less the lender's cost of funds (docs/ODD.md, Economics).
    """

    price: NonNegative = Field(
        1.0, description="Fee the customer pays per step (yuan): account or card fee, payments fee, a wealth "
                         "product's management fee; for credit offers a fee on top of the loan's interest.")
    service_cost: NonNegative = Field(1.0, description="Unit cost of serving one active customer per step (yuan).")
    initial_share: Probability = Field(
        0.0, description="Share of the population already active with this offer at step 0."
    )
    initial_awareness: Probability = Field(
        0.0, description="Share of the population aware of this offer at step 0 besides its customers "
                         "(drawn at random; met through the own app).")
    brand: Real = Field(0.0, description="Alternative-specific constant in choice.")
    loan_rate: Annotated[Real, Field(ge=0.0, le=10.0)] | None = Field(
        None,
        description="Annual interest rate on this offer's loans (credit products); null = the product's loan.rate. "
                    "Enters choice (choice.loan_rate) and, with credit on, revenue.",
    )


SPEND_DESCRIPTION = ("Spend per step in yuan per 1,000 reachable customers (CPM-like); the exposure probability "
                     "follows marketing.response for the channel type.  Ignored when the institution sets "
                     "marketing.budget.")


class BranchSpec(Strict):
    """Branch network: reaches only customers in covered cities (SF16)."""

    coverage: Annotated[list[Probability], Field(min_length=4, max_length=4)] = Field(
        default_factory=lambda: [0.0, 0.0, 0.0, 0.0],
        description="Share of cities covered in tiers 1..4.",
    )
    spend: NonNegative = Field(0.0, description=SPEND_DESCRIPTION)


class PaidChannelSpec(Strict):
    """A channel whose exposure is bought by a spend per 1,000 reachable customers."""

    spend: NonNegative = Field(0.0, description=SPEND_DESCRIPTION)


class OwnAppSpec(PaidChannelSpec):
    """The institution's own app / private domain: reaches its customers and followers."""

    followers: Probability = Field(
        0.0, description="Share of the population following the app at step 0 (beyond customers)."
    )
    follower_communities: dict[str, Probability] = Field(
        default_factory=dict,
        description="Share of each named community (network block) following the app; overrides followers "
                    "for members of those communities (fixed customer groups, SF18).")


class LiveStreamSpec(PaidChannelSpec):
    """Private-domain live streaming (SF6): same audience as the app, cheaper comparison."""

    enabled: bool = Field(False, description="The institution streams (the channel reaches its app audience).")
    compare_uplift: NonNegative = Field(
        0.5, description="Relative rise of the comparing probability for offers met on a stream."
    )


class ReferralSpec(Strict):
    """Referral spread (mechanism 2) and two-sided incentives (SF4)."""

    enabled: bool = Field(True, description="Customers of the institution refer it to their neighbours.")
    rate: Probability = Field(0.01, description="r: per-step chance a promoter makes a neighbour aware.")
    window: Integer | None = Field(
        6, ge=1, le=MAX_STEPS, description="W: steps a new customer stays a promoter; null = unlimited."
    )
    bonus: NonNegative = Field(0.0, description="Paid to the referrer per referred customer who becomes active.")
    welcome: NonNegative = Field(0.0, description="Welcome packet paid to the referred customer on activation.")
    bonus_uplift: NonNegative = Field(0.5, description="Relative rise of r per 100 yuan of bonus.")


class EmployeeMediaSpec(Strict):
    """Employee self-media programme (SF3): employees share to their neighbours."""

    staff_share: Probability = Field(
        0.0, description="Share of the population who are employees of this bank in the programme "
                         "(round(staff_share x population.size) customers), so the programme scales with the market.")
    share_rate: Probability = Field(0.05, description="Per-step chance an employee's share reaches each neighbour.")
    product: str | None = Field(None, description="Product promoted; default the first one offered.")
    cost_per_employee: NonNegative = Field(0.0, description="Programme cost per employee per step (yuan).")
    audience: Count = Field(
        0, description="Followers of each employee's self-media beyond network neighbours, drawn once at random "
                       "from the population (WeChat-like reach, SF3); shares reach them at share_rate too.")


class LenderSpec(Strict):
    """How an institution underwrites its credit offers (mechanism 4, SF14, SF18).

    The lender sees log(hazard) + noise with sd = ``credit.score_noise`` × (1 − q),
    q the effective data quality (own data, partner platforms' data, a data
    alliance; SF10, SF14, SF15), and approves when the predicted per-step
    default probability is at most its cut-off.
    """

    data_quality: Probability | None = Field(
        None,
        description=(
            "Quality of the lender's own data; "
            "null = 0.3 for banks, the platform's data_quality for platforms."
        ),
    )
    cutoff: Probability = Field(
        0.01, description="Approve when the predicted per-step default probability is at most this.")
    capital_ratio: Annotated[Real, Field(gt=0.0, le=1.0)] = Field(
        0.13, description="Capital at step 0 / risk-weighted loans held at step 0 (real banks: 0.10-0.15); the base "
                          "is at least capital_base of the population borrowing the mean loan.")
    payout: bool = Field(
        True, description="Capital management: the step's profit that would lift capital above capital_ratio × "
                          "risk-weighted loans is paid out as dividends; false = all profit is retained.")
    capital_base: Annotated[Real, Field(gt=0.0, le=1.0)] = Field(
        0.01, description="Floor of the initial capital base: a book of this share of the population at the mean "
                          "loan size (for lenders with little or no book at step 0).")
    minimum_ratio: Annotated[Real, Field(ge=0.0, lt=1.0)] = Field(
        0.105, description="Regulatory minimum of capital / risk-weighted loans (China: 8% total capital + 2.5% "
                           "conservation buffer); at or below it the lender makes no new loans.")
    capital_target: Annotated[Real, Field(gt=0.0, le=1.0)] = Field(
        0.115, description="Capital ratio above which the cut-off is not tightened (minimum + a 1-point management "
                           "buffer).")
    tightening: NonNegative = Field(
        1.0, description="Cut-off × ((ratio − minimum_ratio) / (capital_target − minimum_ratio))^tightening, clipped "
                         "to [0, 1]; 0 = never tighten.")
    insurer: str | None = Field(None, description="Credit insurer partner (an id under insurers, SF12).")
    community_lending: bool = Field(
        False,
        description=(
            "Lends inside communities: "
            "loans to members of sanctioning communities carry social collateral (SF1)."
        ),
    )

    @model_validator(mode="after")
    def _target_above_minimum(self):
        if self.capital_target <= self.minimum_ratio:
            raise ValueError(f"capital_target ({self.capital_target:g}) must be above minimum_ratio "
                             f"({self.minimum_ratio:g})")
        return self


class MarketingSpec(Strict):
    """An institution's marketing budget as a total split over its paid channels.

    When ``budget`` is set it replaces every channel's own ``spend``: channel
    c gets ``budget x split[c] x population.size / 1000`` yuan per step, i.e.
    a spend per 1,000 reachable of ``budget x split[c] x N / reachable_c``
    (docs/ODD.md, "Exposure").  A channel left out of the split, switched off,
    or reaching nobody spends nothing.
    """

    budget: NonNegative | None = Field(
        None, description="Total marketing spend in yuan per step per 1,000 customers of the simulated population; "
                          "null = each channel's own spend.")
    split: dict[str, Probability] = Field(
        default_factory=dict,
        description="Share of the budget per channel: branch, own_app, live_stream and (banks) the ids of the "
                    "bank's partnerships; must sum to 1.")

    @model_validator(mode="after")
    def _split(self):
        if self.split:
            _check_shares(self.split, "split")
        elif self.budget is not None:
            raise ValueError("a budget needs a split over channels (branch, own_app, live_stream, partnership ids)")
        return self


class InstitutionSpec(Strict):
    """What banks and platforms share: offers, own channels, trust and retention."""

    name: str | None = Field(None, description="Display name; null = the id.")
    offers: dict[str, OfferSpec] = Field(default_factory=dict,
                                         description="What the institution offers, by product id.")
    own_app: OwnAppSpec = Field(default_factory=OwnAppSpec)
    live_stream: LiveStreamSpec = Field(default_factory=LiveStreamSpec)
    marketing: MarketingSpec = Field(default_factory=MarketingSpec,
                                     description="A total marketing budget split over channels (optional).")
    referral: ReferralSpec = Field(default_factory=ReferralSpec)
    trust: Probability = Field(0.5, description="Base trust customers place in the institution.")
    retention: Probability = Field(
        0.9, description="Annual share of active customers kept (SF8: 0.844 for a good scenario platform)."
    )
    targeting: NonNegative = Field(
        0.0, description="Relative rise of interest from data and life-cycle targeting (SF14, SF17)."
    )
    credit: LenderSpec = Field(
        default_factory=LenderSpec, description="Underwriting of the institution's credit offers."
    )
    data_alliance: str | None = Field(
        None, description="Name of a data alliance (SF10): members pool their data in each other's credit models.")
    policy: PolicySpec = Field(default_factory=PolicySpec,
                               description="How the institution moves its own levers (fixed, rule, learning).")


class BankSpec(InstitutionSpec):
    """A bank: large state-owned, joint-stock or city commercial."""

    type: Literal["state", "joint_stock", "city_commercial"] = Field(
        description="Large state-owned, joint-stock or city commercial bank (SF16, SF18).")
    branch: BranchSpec = Field(default_factory=BranchSpec)
    employee_media: EmployeeMediaSpec = Field(default_factory=EmployeeMediaSpec)
    cost_of_funds: NonNegative = Field(0.02, description="Annual cost of funds.")


class P2PSpec(Strict):
    """Investor funding and run risk of a P2P lending platform (SF13)."""

    funding: NonNegative = Field(
        1000.0, description="Investors' funds at step 0 per customer of the population (yuan); loans are made from "
                            "them, so the funding scales with population.size.")
    inflow: Probability = Field(0.02, description="Per-step growth of investors' funds while there is no run.")
    guarantee: Probability = Field(
        0.0, description="Share of loan losses the platform makes good from its own capital (0 = pure intermediation).")
    run_trigger: Probability = Field(
        0.01,
        description=(
            "Investors run when the smoothed per-step default rate "
            "(+ failure_weight × failed P2P share) exceeds this."
        ),
    )
    failure_weight: NonNegative = Field(
        0.05, description="Weight of the share of failed P2P platforms in investors' alarm signal.")
    memory: Probability = Field(0.1, description="Weight of the newest default rate in the smoothed signal.")
    withdrawal: Probability = Field(0.1, description="Share of investors' funds demanded back per step during a run.")
    strategic_default: NonNegative = Field(
        5.0, description="Hazard multiplier of borrowers whose P2P platform has failed (strategic default).")


class PlatformSpec(InstitutionSpec):
    """An internet platform: sells traffic to banks, may offer its own products."""

    type: Literal["scenario", "social", "aggregator", "p2p"] = Field(
        description="Scenario (e-commerce), social, aggregator (financial supermarket) or P2P lending platform."
    )
    users: Probability = Field(
        0.3, description="Share of the population that uses the platform (weighted by digital affinity)."
    )
    data_quality: Probability = Field(0.5, description="Quality of the platform's behavioural data (SF10, SF14).")
    cost_of_funds: NonNegative = Field(0.05, description="Annual cost of funds of loans the platform holds (not P2P).")
    p2p: P2PSpec | None = Field(None, description="Investor funding and run risk; only for platforms of type p2p.")

    # A field validator (not a model one), so that changing another lever of a platform during a run
    # validates just that field (sim.model.levers).
    @field_validator("p2p")
    @classmethod
    def _p2p_only_for_p2p(cls, p2p, info: ValidationInfo):
        kind = info.data.get("type")
        if p2p is not None and kind is not None and kind != "p2p":
            raise ValueError(f"a p2p block is only allowed on platforms of type p2p, this one is {kind}")
        return p2p


class PartnershipSpec(Strict):
    """A bank selling through a platform's traffic (SF7, SF9, SF10)."""

    bank: str = Field(description="Id of the bank (under banks) buying the traffic.")
    platform: str = Field(description="Id of the platform (under platforms) selling it.")
    active: bool = Field(True, description="The partnership runs; false = its channel is cut (set it in an event).")
    spend: NonNegative = Field(
        335.0, description="Spend per step in yuan per 1,000 of the platform's users reached (CPM-like); the "
                           "exposure probability follows marketing.response.platform (335 gives p = 0.02 with the "
                           "default curve).  Ignored when the bank sets marketing.budget.")
    fee_per_customer: NonNegative = Field(0.0, description="Paid to the platform per customer acquired through it.")
    take_rate: Probability = Field(
        0.1, description="Share of the revenue (fees and loan interest, co-lending style, SF10) of customers "
                         "acquired through the platform paid to it."
    )
    data_sharing: bool = Field(
        False,
        description="The platform's data improves the bank's credit model (bank–platform alliance, SF10); "
        "for a pool of several institutions see data_alliance.",
    )
    data_targeting: NonNegative = Field(
        0.0, description="Relative rise of interest for customers the bank meets through this platform, from its "
                         "shared data (SF10, SF9); applies while data_sharing is on, scaled by the data link (SF15).")


# --------------------------------------------------------------------------- marketing response
class ResponseCurveSpec(Strict):
    """Saturating response of exposure to spend: p = p_max x (1 - exp(-spend / s0))."""

    p_max: Real = Field(gt=0.0, le=1.0, description="Per-step exposure probability as spend grows without bound.")
    s0: Real = Field(gt=0.0, description="Spend (yuan per 1,000 reachable per step) at which p reaches "
                                         "1 - 1/e (63%) of p_max.")


class ResponseSpec(Strict):
    """One response curve per channel type, shared by every institution (assumptions, docs/ODD.md)."""

    branch: ResponseCurveSpec = Field(
        default_factory=lambda: ResponseCurveSpec(p_max=0.05, s0=8000.0),
        description="Branches: 1,000 yuan per 1,000 reachable gives p = 0.0059 a step.")
    own_app: ResponseCurveSpec = Field(
        default_factory=lambda: ResponseCurveSpec(p_max=0.1, s0=2500.0),
        description="The own app: 300 yuan per 1,000 reachable gives p = 0.011, 560 gives 0.02.")
    live_stream: ResponseCurveSpec = Field(
        default_factory=lambda: ResponseCurveSpec(p_max=0.1, s0=2000.0),
        description="Live streaming: 300 yuan per 1,000 reachable gives p = 0.014.")
    platform: ResponseCurveSpec = Field(
        default_factory=lambda: ResponseCurveSpec(p_max=0.1, s0=1500.0),
        description="Platform traffic: 300 yuan per 1,000 users reached gives p = 0.018.")


class MarketResponseSpec(Strict):
    """How spend buys reach in this market."""

    response: ResponseSpec = Field(default_factory=ResponseSpec)


# --------------------------------------------------------------------------- risk
class InsurerSpec(Strict):
    """A credit-guarantee insurer (SF12): guarantees loans its partner lenders would refuse."""

    name: str | None = Field(None, description="Display name; null = the id.")
    premium_rate: NonNegative = Field(0.06, description="Annual premium on the guaranteed balance, paid by the lender.")
    coverage: Probability = Field(0.8, description="Share of a guaranteed loan's loss the insurer pays.")
    cutoff: Probability = Field(
        0.03, description="Guarantee when the insurer's predicted per-step default probability is at most this.")
    data_quality: Probability = Field(0.3, description="Quality of the insurer's data in its own credit model.")
    capital_ratio: Annotated[Real, Field(gt=0.0, le=10.0)] = Field(
        0.05, description="Capital at step 0 / its partner lenders' loan book at step 0 (with their capital_base "
                          "floor), so it scales with the population.")
    solvency_floor: NonNegative = Field(
        0.1, description="Minimum capital / covered balance (coverage × guaranteed balance) to write new guarantees.")
    policy: PolicySpec = Field(default_factory=PolicySpec,
                               description="How the insurer moves its premium rate (fixed, rule, learning).")


class ThresholdSpec(Strict):
    """Threshold (strategic default) mode: default once the defaulted share of neighbours reaches phi."""

    mean: Probability = Field(0.18, description="Mean threshold phi.")
    sd: NonNegative = Field(0.0, description="Standard deviation of phi across customers (normal, clipped to (0, 1]).")


class SeedDefaultsSpec(Strict):
    """Defaults forced at a step: ``count`` borrowers drawn at random default."""

    at: Integer = Field(ge=1, le=MAX_STEPS, description="Step at which the seeded borrowers default.")
    count: Integer = Field(1, ge=1, le=MAX_CUSTOMERS, description="Number of borrowers made to default.")


class CreditSpec(Strict):
    """Underwriting, loans, default and contagion (mechanisms 4 and 5); off by default."""

    enabled: bool = Field(
        False,
        description=(
            "Underwrite credit products, book loans and draw defaults; "
            "false = credit is approved like any product."
        ),
    )
    score_noise: NonNegative = Field(
        1.5, description="sigma_0: sd of a credit model's error in log hazard with no data (q = 0).")
    blacklist: bool = Field(True, description="Customers with a default on record are refused by every lender.")
    social_collateral: Probability = Field(
        0.05, description="Hazard multiplier of loans inside a sanctioning community (SF1); 1 = no sanction.")
    peer_effect: NonNegative = Field(
        0.0, description="Hazard × (1 + peer_effect × share of neighbours in default).")
    threshold: ThresholdSpec | None = Field(None, description="Threshold (strategic default) mode; null = off.")
    seed_defaults: list[SeedDefaultsSpec] = Field(default_factory=list, description="Defaults forced at given steps.")


class MacroSpec(Strict):
    """Macro path: the per-step multiplier of every borrower's hazard."""

    path: list[NonNegative] | None = Field(
        None, description="Hazard multiplier per step (entry t-1 applies at step t); at least time.steps values.")
    level: NonNegative = Field(1.0, description="Multiplier on top of the path (set it in an event for a shock).")


class RegulationSpec(Strict):
    """Regulation (mechanism 8): data link (SF15), rate and take-rate caps, insurer capital rules."""

    data_link: Literal["direct", "bureau", "direct_jump"] = Field(
        "direct",
        description="How platform data reaches lenders: direct, via a credit bureau, or not at all (direct_jump).",
    )
    bureau_share: Probability = Field(0.6, description="Share of platform data's value kept through a credit bureau.")
    query_cost: NonNegative = Field(2.0, description="Cost per application scored with bureau data (yuan).")
    rate_cap: NonNegative | None = Field(None, description="Cap on annual loan rates (new loans); null = none.")
    take_rate_cap: Probability | None = Field(None, description="Cap on partnership take rates; null = none.")
    insurer_floor: NonNegative | None = Field(
        None, description="Minimum solvency floor imposed on every insurer (capital rule); null = their own.")


class EventSpec(Strict):
    """A timeline entry: at step ``at``, set these dotted paths to these values."""

    at: Integer = Field(ge=1, le=MAX_STEPS, description="Step at whose start the changes apply.")
    set: dict[str, Any] = Field(
        min_length=1, description="Dotted path → new value (the paths of this reference), except what shapes the run "
                                  "before its first step: population, network, time, seed, the set of products, a "
                                  "product's kind, an offer's initial_share and initial_awareness, credit.enabled.")
    label: str | None = Field(None, description="Text shown for the event in plots and logs.")


# --------------------------------------------------------------------------- claims
class ClaimSpec(Strict):
    """A machine-checkable claim: a key metric is higher, lower or within a range against another scenario.

    The claim is evaluated on common random numbers (paired replications) by
    :mod:`sim.experiments.claims`; see docs/claims.md.
    """

    metric: str = Field(min_length=1, description=(
        "A key metric of a comparison (e.g. 'cac (run)', 'market_share', 'active'); names are listed in "
        "docs/claims.md. With institution, that institution's metric."))
    direction: Literal["higher", "lower", "within"] = Field(description=(
        "higher / lower: the paired difference (this scenario - compare_to) is above / below zero with 95% "
        "confidence; within: its 95% interval lies inside the 'within' range."))
    compare_to: str | None = Field(None, description=(
        "The scenario file the claim is against, relative to this file; null = the extends parent."))
    horizon: Integer | None = Field(None, ge=1, le=MAX_STEPS, description=(
        "Step at which the metric is read (levels at that step, flows summed up to it); null = the last step."))
    within: NonNegative | tuple[Real, Real] | None = Field(None, description=(
        "For direction within: a tolerance t (the difference lies in [-t, t]) or a range [low, high]."))
    institution: str | None = Field(None, description="Id of the bank or platform whose metric it is; null = market.")
    reproduced: bool = Field(True, description=(
        "false: the source argues the claim but the calibrated library does not reproduce it (docs/claims.md, "
        "'Claims the library does not reproduce'); it is still judged and reported, and the library's tests "
        "check that it still fails, so a change that makes it hold is noticed."))

    @model_validator(mode="after")
    def _within_only_for_within(self):
        if self.direction == "within" and self.within is None:
            raise ValueError("direction 'within' needs a 'within' tolerance or [low, high] range")
        if self.direction != "within" and self.within is not None:
            raise ValueError(f"'within' is only read with direction 'within', not '{self.direction}'")
        if isinstance(self.within, tuple) and not self.within[0] < self.within[1]:
            raise ValueError(f"within range needs low < high, got [{self.within[0]:g}, {self.within[1]:g}]")
        return self

    def bounds(self) -> tuple[float, float] | None:
        """The range the difference must lie in for direction within, as (low, high)."""
        if self.within is None:
            return None
        if isinstance(self.within, tuple):
            return float(self.within[0]), float(self.within[1])
        return -float(self.within), float(self.within)

# --------------------------------------------------------------------------- game
#: Payoff metrics of a bank or platform player: columns of the ``institutions`` table.
INSTITUTION_PAYOFFS = ("profit", "revenue", "cost", "credit_profit", "platform_income", "acquisition_spend",
                       "new_customers", "market_share", "customers", "capital")
#: Payoff metrics of an insurer player: columns of the ``insurers`` table.
INSURER_PAYOFFS = ("premiums", "claims", "new_guarantees", "capital")
#: Payoff metrics that are levels (a state, not a flow): only ``reduce: final`` reads them.
LEVEL_PAYOFFS = ("market_share", "customers", "capital")
#: Years one step stands for, by ``time.unit`` (for discounting).
YEARS_PER_STEP = {"day": 1 / 365, "week": 1 / 52, "month": 1 / 12, "quarter": 1 / 4, "year": 1.0}


class StrategySpec(Strict):
    """One strategy of a player's menu: the parameters it sets, by dotted path."""

    label: str | None = Field(None, description="Text shown for the strategy in the report; null = its name.")
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted path → value, applied to the scenario when the player plays this strategy (the paths "
                    "of this reference, as in events); empty = the scenario as it is.")


StrategyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]


class PlayerSpec(Strict):
    """A player of the game: an institution and its menu of strategies."""

    strategies: dict[StrategyName, StrategySpec] = Field(
        min_length=1, description="Named strategies; the one named `current`, else the first, is the scenario's own "
                                  "choice (where iterated best response starts).")


class PayoffSpec(Strict):
    """What each player maximises: one number per run, read from its rows of the results tables."""

    metric: Literal["profit", "revenue", "cost", "credit_profit", "platform_income", "acquisition_spend",
                    "new_customers", "market_share", "customers", "capital", "premiums", "claims",
                    "new_guarantees"] = Field(
        "profit", description="Column of the player's rows: of the institutions table for banks and platforms, "
                              "of the insurers table for insurers (premiums, claims, new_guarantees, capital).")
    reduce: Literal["discounted", "total", "final"] = Field(
        "discounted", description="discounted = sum over steps 1..T of the value / (1 + discount_rate)^(t in years); "
                                  "total = plain sum over steps 1..T; final = the value at the last step "
                                  "(the only choice for market_share, customers and capital).")
    discount_rate: Real = Field(0.08, ge=0.0, le=1.0, description="Annual discount rate for reduce: discounted.")


class GameSpec(Strict):
    """A strategic game (python -m sim game): players, their menus, the payoff, replications."""

    players: dict[str, PlayerSpec] = Field(
        min_length=1, description="Institution id (a bank, platform or insurer) → its menu of strategies.")
    payoff: PayoffSpec = Field(default_factory=PayoffSpec)
    replications: Integer | None = Field(
        None, ge=1, le=100_000, description="Replications of every profile (common random numbers); "
                                            "null = the scenario's replications.")
    max_profiles: Integer = Field(
        256, ge=1, le=1_000_000, description="Largest number of profiles evaluated in full; above it the game is "
                                             "searched by iterated best response from the scenario's own profile.")
    max_rounds: Integer = Field(
        20, ge=1, le=10_000, description="Rounds of iterated best response before it stops without converging.")


# --------------------------------------------------------------------------- scenario
#: A scenario name is the folder its results go to: no '.' or '..', no path separators, no hidden folder.
NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$"
NAME_RULE = "1 to 128 letters, digits, '_', '-' and '.', not starting with '.' (so not '.' or '..')"


class Scenario(Strict):
    """A whole scenario: who competes, on which network, for how long."""

    name: str = Field(pattern=NAME_PATTERN, description=(
        "Short name; results go to results/<name>/, so it is a folder name: 1 to 128 letters, digits, '_', '-' "
        "and '.', not starting with '.'."))
    description: str = Field("", description="What the strategy is; its first line is shown by python -m sim list.")
    sources: list[Annotated[str, Field(pattern=r"^SF\d+$")]] = Field(
        default_factory=list, description="Ids of the stylized facts the scenario rests on (docs/sources.md).")
    shows: str = Field("", description="What the scenario is meant to show.")
    levers: list[str] = Field(default_factory=list, description=(
        "Dotted paths of the strategy this scenario is about; relative to its extends parent it changes nothing "
        "else (not inherited)."))
    claims: list[ClaimSpec] = Field(default_factory=list, description=(
        "Machine-checkable claims: metric, direction, comparison scenario (not inherited; see docs/claims.md)."))
    extends: str | None = Field(None, description="Another scenario file this one overrides (resolved at load).")
    seed: Integer = Field(20_241, ge=0, le=2**63 - 1, description="Root of the run's numpy SeedSequence.")
    replications: Integer = Field(5, ge=1, le=100_000,
                                  description="Number of replications (independent seeds) of a run.")
    time: TimeSpec = Field(default_factory=TimeSpec)
    valuation: ValuationSpec = Field(default_factory=ValuationSpec)
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    network: NetworkSpec = Field(default_factory=lambda: WattsStrogatzSpec(kind="watts_strogatz"),
                                 description="The social network of customers; its kind chooses the generator.")
    products: dict[str, ProductSpec] = Field(
        default_factory=lambda: {"payments": ProductSpec(kind="payments")}, min_length=1
    )
    funnel: FunnelSpec = Field(default_factory=FunnelSpec)
    marketing: MarketResponseSpec = Field(default_factory=MarketResponseSpec,
                                          description="Response curves of exposure to spend, by channel type.")
    choice: ChoiceSpec = Field(default_factory=ChoiceSpec)
    banks: dict[str, BankSpec] = Field(default_factory=dict)
    platforms: dict[str, PlatformSpec] = Field(default_factory=dict)
    partnerships: dict[str, PartnershipSpec] = Field(default_factory=dict)
    insurers: dict[str, InsurerSpec] = Field(default_factory=dict)
    credit: CreditSpec = Field(default_factory=CreditSpec)
    macro: MacroSpec = Field(default_factory=MacroSpec)
    regulation: RegulationSpec = Field(default_factory=RegulationSpec)
    events: list[EventSpec] = Field(default_factory=list)
    decisions: DecisionsSpec = Field(default_factory=DecisionsSpec, description="When institutions decide.")
    game: GameSpec | None = Field(
        None, description="A strategic game over this scenario (python -m sim game); ignored by run and sweep.")

    @field_validator("name", mode="before")
    @classmethod
    def _folder_name(cls, value: Any) -> Any:
        """Refuse a name that is not a safe folder name (``.``, ``..``, a path, spaces) in plain words."""
        if isinstance(value, str) and not re.fullmatch(NAME_PATTERN, value):
            raise ValueError(f"is not a folder name for results/<name>/: use {NAME_RULE}")
        return value

    # The file the scenario was loaded from, so relative data paths resolve against it.
    _source: Any = PrivateAttr(None)

    @property
    def institution_ids(self) -> list[str]:
        """Banks then platforms, in file order: the model's institution index."""
        return [*self.banks, *self.platforms]

