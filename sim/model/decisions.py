"""Decisions (docs/ODD.md, Decisions): each institution moves its own levers by its policy.

Every ``decisions.every`` steps the model runs the institutions' ``step()``
in a seeded random order (:meth:`sim.model.model.ChannelModel.decide`); each
calls :func:`decide`, which builds the institution's
:class:`~sim.model.observation.Observation` and applies its policy:

- every policy: the **exit** rule (capital below ``capital_minimum``, or
  profit negative for ``exit_after`` periods);
- ``fixed``: nothing more (the scenario's levers and events);
- ``rule``: the heuristics of :func:`apply_rules`;
- ``learning``: Roth–Erev reinforcement (:class:`~sim.model.policies.RothErev`) over each lever's
  menu of moves (:func:`learning_menus`: prices, budget, split, take rates, premium).

Every change goes through ``agent.set_lever`` with ``source="decision"``,
inside the policy's bounds and maximum change per decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.model.observation import Observation, observe
from sim.model.policies import RothErev, bounded, markup_target, price_sensitivity, shift_budget, shift_toward

#: Learning's menu for a price, budget, take rate or premium: one step down, hold, one step up.
MOVES = (-1, 0, 1)
#: The learning rule, named in the reason of every change it makes.
LEARNING_RULE = "Roth–Erev"


@dataclass
class DecisionMemory:
    """What an institution remembers between decisions."""

    profits: list[float] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    price_history: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    losing_periods: int = 0
    negative_margin: dict[str, int] = field(default_factory=dict)
    notices: dict[str, int] = field(default_factory=dict)     # partnership id -> step it ends
    notice_reasons: dict[str, str] = field(default_factory=dict)   # partnership id -> why notice was given
    learners: dict[str, RothErev] = field(default_factory=dict)     # lever -> its learner
    menus: dict[str, tuple] = field(default_factory=dict)           # lever -> the menu its learner learns over
    last_actions: dict[str, int] = field(default_factory=dict)      # lever -> index of the action last chosen
    rng: np.random.Generator | None = None                          # the institution's learning stream
    exited_at: int | None = None
    exit_reason: str = ""


def decide(agent, view, posted: dict, posted_before: dict) -> None:
    """One decision of ``agent`` (a Bank, Platform or Insurer) at the model's current step."""
    model = agent.model
    memory: DecisionMemory = agent.memory
    if memory.exited_at is not None:
        return
    obs = observe(model, agent, view, posted, posted_before)
    policy = agent.levers.policy
    memory.profits.append(obs.profit)
    memory.shares.append(obs.share)
    if should_exit(agent, obs, memory, policy):
        exit_market(agent, obs)
        return
    end_noticed_partnerships(agent, obs)
    if policy.kind == "rule":
        apply_rules(agent, obs, memory, policy)
    elif policy.kind == "learning":
        learn(agent, obs, memory, policy)


def _set(agent, path: str, value, reason: str, step: int) -> None:
    agent.set_lever(path, value, reason=reason, step=step, source="decision")


# ------------------------------------------------------------------ exit
def should_exit(agent, obs: Observation, memory: DecisionMemory, policy) -> bool:
    """Capital below the minimum, or ``exit_after`` periods of negative profit in a row."""
    if agent.kind == "insurer":
        memory.losing_periods = memory.losing_periods + 1 if obs.premiums < obs.claims else 0
    else:
        memory.losing_periods = memory.losing_periods + 1 if obs.profit < 0 else 0
    if policy.capital_minimum is not None and obs.capital < policy.capital_minimum:
        memory.exit_reason = f"exit: capital {obs.capital:,.0f} below minimum {policy.capital_minimum:,.0f}"
        return True
    if policy.exit_after is not None and memory.losing_periods >= policy.exit_after:
        memory.exit_reason = f"exit: profit negative for {memory.losing_periods} periods"
        return True
    return False


def exit_market(agent, obs: Observation) -> None:
    """Stop acquiring, let customers churn to others, end partnerships; the offers are no longer known."""
    model, step, reason = agent.model, obs.step, agent.memory.exit_reason
    agent.memory.exited_at = step
    if agent.kind == "insurer":
        _set(agent, "cutoff", 0.0, reason, step)
        return
    spec, policy = agent.levers, agent.levers.policy
    changes = {"own_app.spend": 0.0, "live_stream.enabled": False, "referral.enabled": False}
    if agent.kind == "bank":
        changes.update({"branch.spend": 0.0, "employee_media.staff_share": 0.0})
    if spec.marketing.budget is not None:
        changes["marketing.budget"] = 0.0
    if spec.retention > policy.exit_retention:
        changes["retention"] = policy.exit_retention
    for path, value in changes.items():
        _set(agent, path, value, reason, step)
    for partnership in agent.partnerships:
        if partnership.levers.active:
            _set(partnership, "active", False, f"{reason} ({agent.institution_id} left)", step)
    # The exited institution's offers are withdrawn: nobody can choose them any more.
    cat = model.catalog
    offers = cat.offer_of[agent.index]
    model.state.aware[:, offers[offers >= 0]] = False


# ------------------------------------------------------------------ partnerships
def end_noticed_partnerships(agent, obs: Observation) -> None:
    """End the partnerships whose notice (given by this institution) has run out."""
    for pid, ends in list(agent.memory.notices.items()):
        partnership = agent.model.partnerships[pid]
        if obs.step >= ends:
            if partnership.levers.active:
                why = agent.memory.notice_reasons.pop(pid, "")
                _set(partnership, "active", False,
                     f"rule: notice by {agent.institution_id} ran out{f' ({why})' if why else ''}", obs.step)
            del agent.memory.notices[pid]


def partnership_channel(model, pid: str) -> tuple[int, int, int]:
    """(row in the catalog's partner arrays, bank index, channel index) of partnership ``pid``."""
    j = list(model.partnerships).index(pid)
    cat = model.catalog
    return j, int(cat.partner_bank[j]), int(cat.platform_channel(int(cat.partner_platform[j])))


def contribution_margin(model, pid: str, obs: Observation) -> float:
    """Per-step contribution of a partnership to its bank: the margin of the customers it brought, less its spend.

    The margin is the last step's relationship margins
    (:attr:`sim.model.ChannelModel.margins`: fees and interest, net of funding,
    unit cost and the platform's take) of the bank's relationships that came
    through the platform, summed once a round for every institution and
    channel (:attr:`~sim.model.observation.PeriodView.channel_margin`); the
    spend is the period's mean traffic spend and fees.
    """
    j, bank, channel = partnership_channel(model, pid)
    spend = obs.spend_by_channel[model.catalog.channels[channel]] / obs.period
    return float(obs.view.channel_margin[bank, channel]) - spend


# ------------------------------------------------------------------ rule
def apply_rules(agent, obs: Observation, memory: DecisionMemory, policy) -> None:
    """The ``rule`` heuristics (docs/ODD.md, Decisions), each within its bounds and maximum change."""
    if agent.kind == "insurer":
        adjust_premium(agent, obs, policy)
        return
    answered = answer_rivals(agent, obs, memory, policy)
    adapt_prices(agent, obs, memory, policy, skip=answered)
    move_budget(agent, obs, policy)
    review_partnerships(agent, obs, memory, policy)
    tighten_lending(agent, obs, policy)
    if agent.kind == "platform":
        raise_take_rates(agent, obs, policy)


def set_price(agent, product: str, price: float, reason: str, step: int) -> None:
    """Post a new price (the fee the customer pays per step) for ``product``."""
    _set(agent, f"offers.{product}.price", price, reason, step)


def rivals_mean_price(obs: Observation, me: str, product: str) -> float | None:
    prices = [t["prices"][product] for iid, t in obs.posted.items()
              if iid != me and product in t.get("prices", {})]
    return sum(prices) / len(prices) if prices else None


def adapt_prices(agent, obs: Observation, memory: DecisionMemory, policy, skip: set[str]) -> None:
    """Adaptive price: toward the logit markup with the price sensitivity estimated from own history.

    Each period the institution records (own price − rivals' mean posted
    price, own share of the product).  Once its prices have varied, it
    estimates the sensitivity ``b`` of its log-odds share to its relative
    price (:func:`~sim.model.policies.price_sensitivity`) and moves its
    price toward ``c + 1/(b(1 − s))`` (:func:`~sim.model.policies.markup_target`).
    Before that it explores: it moves its price one step toward the rivals'
    mean (or, level with them, one step up or down at random), which makes
    the relative price vary.  (Moving in the direction that raised profit,
    the naive rule, does not find the Nash price: when rivals move together
    both profits rise with the common price, and both keep raising it.)
    """
    me = agent.institution_id
    for product, offer in agent.levers.offers.items():
        if product in skip:
            continue
        rival = rivals_mean_price(obs, me, product)
        if rival is None:
            continue
        posted_price = obs.posted[me]["prices"][product]
        history = memory.price_history.setdefault(product, [])
        history.append((posted_price - rival, obs.share_by_product[product]))
        sensitivity = price_sensitivity(*zip(*history, strict=True)) if len(history) >= 2 else None
        if sensitivity is not None:
            target = markup_target(offer.service_cost, obs.share_by_product[product], sensitivity)
            wanted = offer.price + policy.price_adjustment * (target - offer.price)
            reason = f"rule: markup toward {target:.3g} (sensitivity {sensitivity:.3g})"
        elif abs(posted_price - rival) >= policy.price_step / 2:
            # Explore the relative price: moving toward the rivals' price changes it whatever they do.
            wanted = offer.price + (policy.price_step if rival > posted_price else -policy.price_step)
            reason = "rule: explore, price toward rivals' mean"
        else:
            direction = 1 if agent.model.decision_rng.random() < 0.5 else -1
            wanted = offer.price + direction * policy.price_step
            reason = "rule: explore, random price step"
        new = bounded(offer.price, wanted, policy.price_step, policy.price_bounds.low, policy.price_bounds.high)
        if new != offer.price:
            set_price(agent, product, new, reason, obs.step)


def answer_rivals(agent, obs: Observation, memory: DecisionMemory, policy) -> set[str]:
    """Answer a rival's price cut (cut by one step) or higher bonus (move toward it by one step) after losing share.

    Returns the products whose price was answered (the price rule leaves them this period).
    """
    answered: set[str] = set()
    if policy.answer_threshold is None or len(memory.shares) < 2 or not obs.posted_before:
        return answered
    fall = memory.shares[-2] - memory.shares[-1]
    if fall <= policy.answer_threshold:
        return answered
    me, spec = agent.institution_id, agent.levers
    for product, offer in spec.offers.items():
        cutters = [iid for iid, t in obs.posted.items() if iid != me and product in t.get("prices", {})
                   and product in obs.posted_before.get(iid, {}).get("prices", {})
                   and t["prices"][product] < obs.posted_before[iid]["prices"][product]]
        if cutters:
            new = bounded(offer.price, offer.price - policy.price_step, policy.price_step,
                          policy.price_bounds.low, policy.price_bounds.high)
            if new != offer.price:
                set_price(agent, product, new, f"rule: answer {', '.join(cutters)}'s price cut "
                                               f"(share fell {fall:.3f})", obs.step)
            answered.add(product)
    # A rival's bonus is answered while it stands above one's own, not only in the period it rose: a
    # bonus posted from the start, or raised in a period when one's share held, is still there to match.
    bonuses = {iid: t["bonus"] for iid, t in obs.posted.items() if iid != me and "bonus" in t
               and t["bonus"] > spec.referral.bonus}
    if bonuses:
        leader = max(bonuses, key=bonuses.get)
        new = bounded(spec.referral.bonus, bonuses[leader], policy.bonus_step,
                      policy.bonus_bounds.low, policy.bonus_bounds.high)
        if new != spec.referral.bonus:
            _set(agent, "referral.bonus", new, f"rule: answer {leader}'s bonus {bonuses[leader]:g} "
                                               f"(share fell {fall:.3f})", obs.step)
    return answered


def move_budget(agent, obs: Observation, policy) -> None:
    """Move budget toward the channel of lowest CAC, when the institution has a marketing budget and split."""
    marketing = getattr(agent.levers, "marketing", None)
    split = getattr(marketing, "split", None)
    if not split:
        return
    cat, model = agent.model.catalog, agent.model
    channel_of = {"branch": "branch", "own_app": "own_app", "live_stream": "live_stream"}
    for pid in model.partnerships:
        channel_of[pid] = cat.channels[partnership_channel(model, pid)[2]]
    score = {}
    for key in split:
        name = channel_of.get(key)
        new, spend = obs.new_by_channel.get(name, 0.0), obs.spend_by_channel.get(name, 0.0)
        score[key] = spend / new if new > 0 and spend > 0 else float("nan")
    moved = shift_budget(split, score, policy.budget_step, higher_is_better=False)
    if moved != dict(split):
        _set(agent, "marketing.split", moved, "rule: budget toward the lowest CAC", obs.step)


def review_partnerships(agent, obs: Observation, memory: DecisionMemory, policy) -> None:
    """A bank gives notice on a partnership whose contribution stayed negative ``partnership_patience`` periods.

    A platform gives notice on a partnership whose bank has exited.
    """
    model = agent.model
    for partnership in agent.partnerships:
        pid = partnership.partnership_id
        if not partnership.levers.active or pid in memory.notices:
            continue
        if agent.kind == "bank":
            margin = contribution_margin(model, pid, obs)
            memory.negative_margin[pid] = memory.negative_margin.get(pid, 0) + 1 if margin < 0 else 0
            give = memory.negative_margin[pid] >= policy.partnership_patience
            why = f"contribution margin {margin:,.0f} a step, negative {memory.negative_margin[pid]} periods"
        else:
            give = model.institution(partnership.bank).memory.exited_at is not None
            why = f"{partnership.bank} exited"
        if give:
            ends = obs.step + policy.notice * model.decisions_every
            memory.notices[pid] = ends
            memory.notice_reasons[pid] = why
            model.notices.append((obs.step, agent.institution_id, pid, ends))
            if policy.notice == 0:
                end_noticed_partnerships(agent, obs)


def tighten_lending(agent, obs: Observation, policy) -> None:
    """Lower the credit cut-off by ``cutoff_step`` while capital is within ``capital_margin`` of the minimum.

    Relax it back by the same step (never above the scenario's cut-off) once capital is clear of it.
    """
    if agent.model.credit is None or policy.capital_minimum is None:
        return
    cutoff = agent.levers.credit.cutoff
    start = getattr(agent.model.scenario, agent.group)[agent.institution_id].credit.cutoff
    if obs.capital < (1.0 + policy.capital_margin) * policy.capital_minimum:
        new, reason = cutoff * (1.0 - policy.cutoff_step), "rule: tighten lending, capital near minimum"
    elif cutoff < start:
        new, reason = min(cutoff * (1.0 + policy.cutoff_step), start), "rule: relax lending, capital restored"
    else:
        return
    if new != cutoff:
        _set(agent, "credit.cutoff", new, reason, obs.step)


def raise_take_rates(agent, obs: Observation, policy) -> None:
    """A platform raises a partner's take rate when the bank's new customers depend on its traffic."""
    model = agent.model
    cap = model.levers.holders["regulation"].levers.take_rate_cap
    high = policy.take_rate_bounds.high if cap is None else min(policy.take_rate_bounds.high, cap)
    for partnership in agent.partnerships:
        if partnership.platform != agent.institution_id or not partnership.levers.active:
            continue
        pid = partnership.partnership_id
        _, bank, channel = partnership_channel(model, pid)
        new_bank = model.period.new[bank]
        total = float(new_bank.sum())
        if total <= 0:
            continue
        dependence = float(new_bank[channel]) / total
        if dependence > policy.dependence_threshold:
            take = partnership.levers.take_rate
            new = bounded(take, take + policy.take_rate_step, policy.take_rate_step,
                          policy.take_rate_bounds.low, max(high, policy.take_rate_bounds.low))
            if new != take:
                _set(partnership, "take_rate", new, f"rule: {partnership.bank} depends on the traffic "
                                                    f"({dependence:.0%} of its new customers)", obs.step)


def adjust_premium(agent, obs: Observation, policy) -> None:
    """An insurer moves its premium rate with its loss ratio: × (loss ratio / target), by at most ``premium_step``."""
    if obs.premiums <= 0:
        return
    ratio = obs.claims / obs.premiums
    rate = agent.levers.premium_rate
    factor = min(max(ratio / policy.target_loss_ratio, 1.0 - policy.premium_step), 1.0 + policy.premium_step)
    new = bounded(rate, rate * factor, rate * policy.premium_step, policy.premium_bounds.low,
                  policy.premium_bounds.high)
    if new != rate:
        _set(agent, "premium_rate", new, f"rule: loss ratio {ratio:.2f} against target "
                                         f"{policy.target_loss_ratio:.2f}", obs.step)


# ------------------------------------------------------------------ learning
def learning_menus(agent) -> dict[str, tuple]:
    """The action menu of each lever ``agent`` learns over (docs/ODD.md, Decisions, ``learning``).

    Returns
    -------
    dict of str to tuple
        ``price``: every offer's price one ``price_step`` down, held, up
        (banks and platforms with offers); ``budget``: the marketing budget
        × (1 − ``budget_change``), held, × (1 + ``budget_change``) (with a
        marketing budget); ``split``: hold (None), or move ``budget_step`` of
        the budget toward one channel of the split (with a budget split over
        two channels or more); ``take_rate``: every take rate the platform
        sets one ``take_rate_step`` down, held, up; ``premium``: an insurer's
        premium rate × (1 − ``premium_step``), held, × (1 + ``premium_step``).
    """
    if agent.kind == "insurer":
        return {"premium": MOVES}
    spec, menus = agent.levers, {}
    if spec.offers:
        menus["price"] = MOVES
    if spec.marketing.budget is not None:
        menus["budget"] = MOVES
        if len(spec.marketing.split) >= 2:
            menus["split"] = (None, *spec.marketing.split)
    if agent.kind == "platform" and any(p.platform == agent.institution_id for p in agent.partnerships):
        menus["take_rate"] = MOVES
    return menus


def learn(agent, obs: Observation, memory: DecisionMemory, policy) -> None:
    """Roth–Erev over each lever's menu (:func:`learning_menus`), every learner reinforced by the period's own profit.

    Each lever has its own learner (propensities over its menu); all of them
    are reinforced by the same payoff, the institution's profit over the
    period (an insurer's premiums less claims), against initial propensities
    scaled to that profit (``q_j(1) = s(1) · X / M``, X the absolute value of
    the first non-zero profit the learner sees, :class:`RothErev`), so the
    learning is the same at any market size or currency unit; then each
    draws its next action from the institution's own stream
    (:meth:`~sim.model.model.ChannelModel.learning_rng`), in the order of the
    menus.  A learner whose menu changed (an event replaced the split's
    channels) starts again.
    """
    spec = policy.learning
    if memory.rng is None:
        memory.rng = agent.model.learning_rng(agent.lever_key)
    payoff = float(obs.premiums - obs.claims if agent.kind == "insurer" else obs.profit)
    for name, menu in learning_menus(agent).items():
        learner = memory.learners.get(name)
        if learner is None or memory.menus.get(name) != menu:
            learner = memory.learners[name] = RothErev(len(menu), spec.recency, spec.experimentation,
                                                       spec.initial_strength)
            memory.menus[name] = menu
            memory.last_actions.pop(name, None)
        if name in memory.last_actions:
            learner.reinforce(memory.last_actions[name], payoff)
        learner.scale_to(payoff)        # the first profit seen sets X (a no-op once set)
        action = learner.choose(memory.rng)
        memory.last_actions[name] = action
        LEARNED_MOVES[name](agent, menu[action], policy, obs.step)


def _signed(move: int, size: str) -> str:
    return f"{'+' if move > 0 else '-'}{size}"


def learn_price(agent, move: int, policy, step: int) -> None:
    """Every offer's price ``move`` × ``price_step``, within ``price_bounds``."""
    if move == 0 or policy.price_step == 0:
        return
    for product, offer in agent.levers.offers.items():
        new = bounded(offer.price, offer.price + move * policy.price_step, policy.price_step,
                      policy.price_bounds.low, policy.price_bounds.high)
        if new != offer.price:
            set_price(agent, product, new, f"learning: price {_signed(move, f'{policy.price_step:g}')} "
                                           f"({LEARNING_RULE})", step)


def relative_move(value: float, move: int, fraction: float, bounds) -> float:
    """``value`` × (1 + ``move`` × ``fraction``), within ``bounds`` (``low``, ``high``)."""
    change = value * fraction
    return bounded(value, value + move * change, change, bounds.low, bounds.high)


def learn_budget(agent, move: int, policy, step: int) -> None:
    """The marketing budget × (1 + ``move`` × ``budget_change``), within ``budget_bounds``."""
    budget = agent.levers.marketing.budget
    if move == 0 or budget is None:
        return
    new = relative_move(budget, move, policy.budget_change, policy.budget_bounds)
    if new != budget:
        _set(agent, "marketing.budget", new, f"learning: budget {_signed(move, f'{policy.budget_change:.0%}')} "
                                             f"({LEARNING_RULE})", step)


def learn_split(agent, channel: str | None, policy, step: int) -> None:
    """Move ``budget_step`` of the budget toward ``channel`` (None: hold), from the others in proportion."""
    split = agent.levers.marketing.split
    if channel is None or channel not in split:
        return
    moved = shift_toward(split, channel, policy.budget_step)
    if moved != dict(split):
        _set(agent, "marketing.split", moved, f"learning: budget toward {channel} ({LEARNING_RULE})", step)


def learn_take_rate(agent, move: int, policy, step: int) -> None:
    """Every take rate the platform sets ``move`` × ``take_rate_step``, within its bounds and the regulator's cap."""
    if move == 0:
        return
    cap = agent.model.levers.holders["regulation"].levers.take_rate_cap
    low = policy.take_rate_bounds.low
    high = policy.take_rate_bounds.high if cap is None else max(min(policy.take_rate_bounds.high, cap), low)
    for partnership in agent.partnerships:
        if partnership.platform != agent.institution_id or not partnership.levers.active:
            continue
        take = partnership.levers.take_rate
        new = bounded(take, take + move * policy.take_rate_step, policy.take_rate_step, low, high)
        if new != take:
            _set(partnership, "take_rate", new, f"learning: take rate {_signed(move, f'{policy.take_rate_step:g}')} "
                                                f"({LEARNING_RULE})", step)


def learn_premium(agent, move: int, policy, step: int) -> None:
    """An insurer's premium rate × (1 + ``move`` × ``premium_step``), within ``premium_bounds``."""
    rate = agent.levers.premium_rate
    if move == 0:
        return
    new = relative_move(rate, move, policy.premium_step, policy.premium_bounds)
    if new != rate:
        _set(agent, "premium_rate", new, f"learning: premium {_signed(move, f'{policy.premium_step:.0%}')} "
                                         f"({LEARNING_RULE})", step)


#: How each lever's learner applies its chosen action.
LEARNED_MOVES = {"price": learn_price, "budget": learn_budget, "split": learn_split,
                 "take_rate": learn_take_rate, "premium": learn_premium}
