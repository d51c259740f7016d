"""The comparison report's "Decisions" section: which levers the institutions' policies moved, and how far.

One row per (scenario, institution, lever) that a policy changed
(``decisions.parquet`` rows with ``source == "decision"``; the timeline's
events are listed under "What differs"): the value the lever started from,
where it ended (the mean over replications, with the range when they
differ), the number of changes per replication and in how many replications
it moved at all.  Institutions and levers are shown by their display names.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Display names of the levers the policies move (``decisions.parquet`` column ``lever``).
LEVER_LABELS = {
    "referral.bonus": "referral bonus (yuan)",
    "referral.enabled": "referral programme",
    "marketing.budget": "marketing budget (yuan per step)",
    "marketing.split": "marketing budget split",
    "credit.cutoff": "approval cut-off",
    "cutoff": "approval cut-off",
    "premium_rate": "premium rate",
    "take_rate": "take rate",
    "active": "partnership active",
    "own_app.spend": "own app spend (yuan per 1,000)",
    "branch.spend": "branch spend (yuan per 1,000)",
    "live_stream.enabled": "live streaming",
    "employee_media.staff_share": "employee programme (share of staff)",
    "retention": "retention effort",
}


def lever_label(lever: str) -> str:
    """A lever path in words: ``offers.payments.price`` → ``price of payments (yuan)``."""
    if lever in LEVER_LABELS:
        return LEVER_LABELS[lever]
    parts = lever.split(".")
    if len(parts) == 3 and parts[0] == "offers":
        unit = " (yuan)" if parts[2] == "price" else ""
        return f"{parts[2].replace('_', ' ')} of {parts[1].replace('_', ' ')}{unit}"
    return lever.replace(".", " ").replace("_", " ")


def owner_label(owner: str, names: Mapping[str, str], partnerships: Mapping[str, tuple[str, str]]) -> str:
    """A lever owner in words: ``banks.icbc`` → the bank's display name; a partnership by its two sides."""
    kind, _, ident = owner.partition(".")
    if kind == "partnerships" and ident in partnerships:
        bank, platform = partnerships[ident]
        return f"{names.get(bank, bank)} × {names.get(platform, platform)} partnership"
    return names.get(ident, ident) if ident else owner


def format_lever_value(value: Any) -> str:
    """A lever value for a table cell: numbers to 4 significant digits, yes/no, blocks as compact JSON."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{round(float(value), 9) + 0.0:,.4g}"      # no float dust: 2.8e-17 is 0
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_lever_value(v)}" for k, v in value.items())
    return str(value)


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _most_common(values: Sequence[Any]) -> Any:
    """The most frequent value (ties: the first met), values compared as JSON text."""
    texts = [json.dumps(v, sort_keys=True) for v in values]
    return json.loads(Counter(texts).most_common(1)[0][0])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def owner_order(scenario) -> list[str]:
    """The lever owners in the scenario's order: banks, platforms, insurers, partnerships (as in the file)."""
    return [f"{kind}.{ident}" for kind in ("banks", "platforms", "insurers", "partnerships")
            for ident in getattr(scenario, kind)]


def lever_moves(decisions: pd.DataFrame, replications: int, owners: Sequence[str] = ()) -> pd.DataFrame:
    """Per (owner, lever) a policy changed: start, end per replication summarised, changes per replication.

    Parameters
    ----------
    decisions : DataFrame
        A run's ``decisions`` table (all replications; events are left out here).
    replications : int
        The run's replications (a replication without a change of a lever keeps its start value).
    owners : sequence of str, optional
        The order of the owners (:func:`owner_order`); owners not in it come after, as met.

    Returns
    -------
    DataFrame
        ``owner, lever, start, end, end_low, end_high, changes_per_replication, replications_moved``:
        ``start`` is the value before the first change (the most common one over
        replications), ``end`` the mean final value over all replications for a
        numeric lever (``end_low``/``end_high`` its range, NaN otherwise), else the most common
        final value.  Ordered by owner, then most changed first.
    """
    columns = ["owner", "lever", "start", "end", "end_low", "end_high", "changes_per_replication",
               "replications_moved"]
    made = decisions[decisions["source"] == "decision"] if not decisions.empty else decisions
    rows = []
    for (owner, lever), group in made.groupby(["owner", "lever"], sort=False):
        group = group.sort_values(["replication", "step"], kind="stable")
        starts = [_parse(t) for t in group.groupby("replication")["before"].first()]
        ends = [_parse(t) for t in group.groupby("replication")["after"].last()]
        start = _most_common(starts)
        moved = len(ends)
        if _is_number(start) and all(_is_number(e) for e in ends):
            finals = np.array([*ends, *[start] * (replications - moved)], dtype=float)
            end, low, high = float(finals.mean()), float(finals.min()), float(finals.max())
        else:
            end, low, high = _most_common([*ends, *[start] * (replications - moved)]), None, None
        rows.append({"owner": owner, "lever": lever, "start": start, "end": end, "end_low": low, "end_high": high,
                     "changes_per_replication": len(group) / max(replications, 1), "replications_moved": moved})
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    order = {owner: k for k, owner in enumerate(dict.fromkeys([*owners, *frame["owner"]]))}
    frame["_owner"] = frame["owner"].map(order)
    return frame.sort_values(["_owner", "changes_per_replication"], ascending=[True, False],
                             kind="stable").drop(columns="_owner").reset_index(drop=True)


def decisions_context(results: Sequence[Any], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The Decisions section: per scenario whose policies changed a lever, its rows in display names.

    Empty when no scenario's policies changed anything (the section is then left out).
    """
    blocks = []
    for result in results:
        decisions = result.tables.get("decisions")
        if decisions is None or decisions.empty or not (decisions["source"] == "decision").any():
            continue
        partnerships = {pid: (spec.bank, spec.platform) for pid, spec in result.scenario.partnerships.items()}
        rows = []
        for move in lever_moves(decisions, result.replications, owner_order(result.scenario)).itertuples():
            end = format_lever_value(move.end)
            if pd.notna(move.end_low) and pd.notna(move.end_high) and move.end_low != move.end_high:
                end += f" ({format_lever_value(move.end_low)} to {format_lever_value(move.end_high)})"
            rows.append({"institution": owner_label(move.owner, names, partnerships),
                         "lever": lever_label(move.lever), "start": format_lever_value(move.start), "end": end,
                         "changes": f"{move.changes_per_replication:,.3g}",
                         "moved": f"{move.replications_moved} of {result.replications}"})
        blocks.append({"scenario": result.scenario.name, "rows": rows})
    return blocks


__all__ = ["LEVER_LABELS", "decisions_context", "format_lever_value", "lever_label", "lever_moves", "owner_label",
           "owner_order"]
