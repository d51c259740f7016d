"""Levers: what each institution (and the market) may change during a run, and the log of changes.

Every lever record is one validated block of the scenario schema, held by its
owner: a bank's or platform's spec by its agent, an insurer's by its agent, a
partnership's by a :class:`Partnership` (reachable from its bank), and the
market-wide blocks (``regulation``, ``macro``, ``credit``, ``funnel``,
``choice``, ``marketing``, ``products.<id>``) by the model's :class:`Market`.  A timeline
event and a decision change a lever the same way, through
:meth:`LeverBoard.set` (``owner.set_lever(path, value)``): the value is
validated by the schema's own field constraints, stored in the owner's record,
logged as a :class:`LeverChange`, and only the catalog sections the record
feeds are derived again (:func:`sim.core.params.rederive`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario.loader import validation_problems
from sim.scenario.paths import get_path, set_path
from sim.scenario.references import check_references, fixed_changes
from sim.scenario.schema import Scenario, make_read_only, writable_copy

#: Catalog sections (:data:`sim.core.params.SECTIONS`, plus ``macro``) fed by each kind of lever record.
FEEDS: dict[str, tuple[str, ...]] = {
    "banks": ("institutions", "risk"),
    "platforms": ("institutions", "risk"),
    "insurers": ("risk",),
    "partnerships": ("partnerships", "risk"),
    "regulation": ("partnerships", "risk"),
    "macro": ("macro",),
    "credit": ("risk",),
    "funnel": ("adoption",),
    "choice": ("adoption",),
    "marketing": ("adoption",),
    "products": ("adoption", "risk"),
}
#: Levers of a bank or platform that feed only the adoption arrays (``institutions``), not the credit side:
#: prices, revenue and service cost of offers, the referral programme and the marketing budget and its split
#: (tests/model/test_levers.py checks that a change of each derives the catalog a full compile would).
ADOPTION_ONLY = re.compile(r"^(offers\.[^.]+\.(price|service_cost|brand)|referral\.\w+|marketing\.(budget|split))$")
#: Levers of a partnership that feed only its own arrays (``partnerships``), not the credit side: its take rate,
#: traffic spend and fee per customer (the credit side reads only whether it is active and shares data).
PARTNERSHIP_TERMS = re.compile(r"^(take_rate|spend|fee_per_customer)$")
#: Blocks whose entries are records of their own (``banks.<id>``), against single blocks (``regulation``).
KEYED = ("banks", "platforms", "insurers", "partnerships", "products")


@dataclass(frozen=True)
class LeverChange:
    """One change of one lever: when, whose, which, from what to what, and why."""

    step: int | None
    owner: str
    path: str
    before: Any
    after: Any
    reason: str
    source: str = "manual"


class LeverHolder:
    """Owner of one lever record (a validated schema block), addressed by ``lever_key``.

    Subclasses (the institution agents, :class:`Partnership`,
    :class:`MarketBlock`) set ``lever_key`` and ``levers``; the
    :class:`LeverBoard` they join sets ``board``.
    """

    lever_key: str
    levers: BaseModel
    board: LeverBoard

    def set_lever(self, path: str, value: Any, *, reason: str = "", step: int | None = None,
                  source: str = "manual") -> LeverChange:
        """Change lever ``path`` (relative to this owner, e.g. ``credit.cutoff``); see :meth:`LeverBoard.set`."""
        return self.board.set(f"{self.lever_key}.{path}", value, reason=reason, step=step, source=source)


class Partnership(LeverHolder):
    """A bank selling through a platform's traffic; owns the partnership's levers (``partnerships.<id>``)."""

    def __init__(self, partnership_id: str, spec: BaseModel):
        self.partnership_id, self.levers = partnership_id, spec
        self.lever_key = f"partnerships.{partnership_id}"

    @property
    def bank(self) -> str:
        return self.levers.bank

    @property
    def platform(self) -> str:
        return self.levers.platform

    def __repr__(self) -> str:
        return f"Partnership({self.partnership_id!r})"


class MarketBlock(LeverHolder):
    """One market-wide block (``regulation``, ``macro``, ``products.<id>`` …) owned by the market."""

    def __init__(self, key: str, spec: BaseModel):
        self.lever_key, self.levers = key, spec

    def __repr__(self) -> str:
        return f"MarketBlock({self.lever_key!r})"


class Market:
    """The market-wide settings a run may change: the regulator's, the macro path, the credit and funnel rules."""

    def __init__(self, scenario: Scenario):
        self.blocks: dict[str, MarketBlock] = {}
        for name in ("regulation", "macro", "credit", "funnel", "choice", "marketing"):
            self.blocks[name] = MarketBlock(name, getattr(scenario, name))
        for product, spec in scenario.products.items():
            self.blocks[f"products.{product}"] = MarketBlock(f"products.{product}", spec)

    def __getattr__(self, name: str) -> MarketBlock:
        blocks = self.__dict__.get("blocks", {})
        if name in blocks:
            return blocks[name]
        raise AttributeError(name)


class LeverBoard:
    """Every lever record of one run, the change log, and the one way to change a lever.

    Parameters
    ----------
    scenario : Scenario
        The scenario as loaded; records start from its blocks.
    holders : iterable of LeverHolder
        The owners of the records (their ``board`` is set to this board).
    on_change : callable
        Called with the set of catalog sections to derive again, once per
        change (or once per :meth:`batch`).
    clock : callable
        The current step, logged with a change that does not name one.
    """

    def __init__(self, scenario: Scenario, holders: Iterable[LeverHolder],
                 on_change: Callable[[set[str]], None], clock: Callable[[], int]):
        self.scenario = scenario
        self.clock = clock
        self.holders: dict[str, LeverHolder] = {}
        for holder in holders:
            holder.board = self
            self.holders[holder.lever_key] = holder
        self.on_change = on_change
        self.log: list[LeverChange] = []
        self._pending: set[str] = set()
        self._batching = 0

    def owner_of(self, path: str, source: str) -> tuple[LeverHolder, str]:
        """The holder of the record ``path`` lies in, and the path inside that record."""
        parts = path.split(".")
        width = 2 if parts[0] in KEYED else 1
        key, rest = ".".join(parts[:width]), ".".join(parts[width:])
        if key in self.holders and rest:
            return self.holders[key], rest
        if parts[0] in FEEDS and len(parts) > width:
            allowed = ", ".join(k for k in self.holders if k.split(".")[0] == parts[0])
            raise ScenarioError.single(source, ".".join(parts[:width]), f"no entry named '{parts[width - 1]}'",
                                       allowed or "(none)")
        raise ScenarioError.single(source, path, "is not a lever that can change during a run",
                                   "paths under " + ", ".join(FEEDS))

    def set(self, path: str, value: Any, *, reason: str = "", step: int | None = None,
            source: str = "manual") -> LeverChange:
        """Set lever ``path`` (e.g. ``banks.citic.credit.cutoff``) to ``value``.

        ``source`` says who changed it: ``event`` (the timeline), ``decision``
        (an institution's policy) or ``manual`` (a caller such as the dashboard).

        The value is checked by the schema block's own field constraints; a
        bad value raises :class:`~sim.errors.ScenarioError` naming the key
        path and what is allowed, and changes nothing.  The change is logged
        and the catalog sections the record feeds are derived again.

        Returns
        -------
        LeverChange
            The change as logged.
        """
        label = reason or "set_lever"
        step = self.clock() if step is None else step
        holder, inner = self.owner_of(path, label)
        record = _assigned(holder.levers, inner, value)
        if record is None:
            record = make_read_only(validated(holder.levers, inner, value, prefix=holder.lever_key, source=label))
        if hasattr(record, "offers") and set(record.offers) != set(holder.levers.offers):
            raise ScenarioError.single(label, f"{holder.lever_key}.offers", "cannot add or remove offers during a run",
                                       ", ".join(holder.levers.offers) or "(none)")
        fixed = fixed_changes(holder.lever_key, holder.levers, record)
        if fixed:
            raise ScenarioError(label, fixed)
        before = read(holder.levers, inner)
        previous, holder.levers = holder.levers, record
        # Every change is checked against the other records: a number can break one too (an audience
        # larger than the population, a staff share for a product the bank does not offer).
        problems = check_references(self.current_scenario())
        if problems:
            holder.levers = previous
            raise ScenarioError(label, problems)
        change = LeverChange(step, holder.lever_key, inner, before, read(record, inner), reason, source)
        self.log.append(change)
        self._pending.update(feeds(holder.lever_key, inner))
        if not self._batching:
            self.flush()
        return change

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Apply several changes as one: the catalog is derived again once, at the end."""
        self._batching += 1
        try:
            yield
        finally:
            self._batching -= 1
        if not self._batching:
            self.flush()

    def flush(self) -> None:
        """Hand the sections fed by the changes so far to ``on_change``."""
        if self._pending:
            sections, self._pending = self._pending, set()
            self.on_change(sections)

    def current_scenario(self) -> Scenario:
        """The scenario as loaded with every lever record as it is now (a shallow copy, not revalidated)."""
        groups: dict[str, dict] = {name: dict(getattr(self.scenario, name)) for name in KEYED}
        update: dict[str, Any] = {}
        for key, holder in self.holders.items():
            head, _, name = key.partition(".")
            if name:
                groups[head][name] = holder.levers
            else:
                update[head] = holder.levers
        current = self.scenario.model_copy(update={**groups, **update})
        current._source = getattr(self.scenario, "_source", None)
        return current


def feeds(key: str, path: str) -> tuple[str, ...]:
    """Catalog sections a change of ``path`` inside the record ``key`` (``banks.citic``) feeds."""
    head = key.split(".")[0]
    if head in ("banks", "platforms") and ADOPTION_ONLY.match(path):
        return ("institutions",)
    if head == "partnerships" and PARTNERSHIP_TERMS.match(path):
        return ("partnerships",)
    return FEEDS[head]


def read(record: BaseModel, path: str) -> Any:
    """The value at ``path`` inside ``record``; None where a block on the way is left unset."""
    try:
        return get_path(record, path)
    except (AttributeError, KeyError, IndexError, ValueError):
        return None


def validated(record: BaseModel, path: str, value: Any, prefix: str, source: str) -> BaseModel:
    """A copy of ``record`` with ``path`` set to ``value``, validated by the record's schema block.

    Raises
    ------
    ScenarioError
        Naming ``prefix.path`` and what is allowed.
    """
    data = record.model_dump(mode="python")
    problem: Problem | None = set_path(data, path, value, type(record))
    if problem is not None:
        problem.path = f"{prefix}.{problem.path}"
        raise ScenarioError(source, [problem])
    try:
        return type(record).model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, validation_problems(exc, data, prefix=prefix)) from None


def _assigned(record: BaseModel, path: str, value: Any) -> BaseModel | None:
    """The fast way of :func:`validated`: assign one field of the innermost block, validated by pydantic.

    Used when every block on the way is set (not a default left out) and
    none but the innermost has a model validator, so that validating the
    assignment checks everything a full validation would.  Returns None
    (the caller validates the whole record, and reports any problem) when
    the path does not qualify or the value is refused.  The record returned
    is read-only wherever the one given is (:func:`~sim.scenario.schema.make_read_only`).
    """
    keys = path.split(".")
    chain: list[tuple[Any, str]] = []      # (container, key) from the record down to the innermost block
    node: Any = record
    for key in keys[:-1]:
        if isinstance(node, BaseModel) and key in type(node).__pydantic_fields__:
            if type(node).__pydantic_decorators__.model_validators:
                return None
            child = getattr(node, key)
        elif isinstance(node, dict) and key in node:
            child = node[key]
        else:
            return None
        chain.append((node, key))
        node = child
    if (not isinstance(node, BaseModel) or keys[-1] not in type(node).__pydantic_fields__
            or isinstance(value, (dict, list))):
        return None
    inner = writable_copy(node)
    try:
        setattr(inner, keys[-1], value)
    except (ValidationError, TypeError, ValueError):
        return None
    make_read_only(inner)      # the blocks around it are copies of read-only ones, read-only as well
    new: Any = inner
    for container, key in reversed(chain):
        new = {**container, key: new} if isinstance(container, dict) else container.model_copy(update={key: new})
    return new
