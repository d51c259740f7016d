"""The game report: ``report.md`` and a self-contained ``report.html`` of a game's payoffs and equilibria.

The report opens with the answer in plain words (which profiles are pure
Nash equilibria, by how much the best unilateral switch changes the
switcher's payoff, with its 95% interval, or that there is none and which
profile comes closest), says how the profile space was searched, then gives
one payoff table per player (its strategies against each profile of the
others, its best replies in bold), ε for every profile, and how to read the
figures.  Both files come from one Jinja2 template
(``templates/game_report.md.j2``); the HTML converts the Markdown and inlines
the comparison report's CSS, as :mod:`sim.outputs.report` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import markdown
import numpy as np

from sim.experiments import store
from sim.experiments.game import GameResult, profile_names
from sim.experiments.game_theory import all_profiles
from sim.outputs.formats import display_names, format_difference, format_interval, format_value
from sim.outputs.report import TEMPLATES

#: Unit of each payoff metric, for formatting.
PAYOFF_UNITS = {"market_share": "percent", "customers": "count", "new_customers": "count",
                "new_guarantees": "count"}

#: How each reduction reads in a sentence.
REDUCTIONS = {"discounted": "discounted over the run at {rate:g}% a year", "total": "summed over the run",
              "final": "at the last step"}


def _unit(result: GameResult) -> str:
    return PAYOFF_UNITS.get(result.game.payoff.metric, "yuan")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class _Words:
    """Display names of players and strategies."""

    def __init__(self, result: GameResult):
        self.result = result
        self.names = display_names([result.scenario])

    def player(self, player: str) -> str:
        return self.names.get(player, player)

    def strategy(self, player: str, name: str) -> str:
        return self.result.game.players[player].strategies[name].label or name

    def profile(self, profile: Mapping[str, str]) -> str:
        return "; ".join(f"{self.player(p)}: {self.strategy(p, s)}" for p, s in profile.items())


def equilibrium_sentence(result: GameResult, words: _Words, row: Mapping[str, Any], level: float = 0.95) -> str:
    """One sentence on one equilibrium: who plays what, and what the best unilateral switch would change."""
    unit = _unit(result)
    profile = {p: row[f"strategy.{p}"] for p in result.players}
    nobody = "neither player" if len(result.players) == 2 else "no player"
    text = f"**{words.profile(profile)}** is an equilibrium: {nobody} gains by switching alone"
    if row["player"] is None or not math.isfinite(row["best_gain"]):
        return text + "."
    switcher = words.player(row["player"])
    gain = format_difference(row["best_gain"], unit)
    text += (f"; the best switch ({switcher} to *{words.strategy(row['player'], row['deviation'])}*) changes "
             f"{switcher}'s payoff by {gain}")
    if math.isfinite(row["gain_low"]):
        text += (f" ({level:.0%} interval {format_difference(row['gain_low'], unit)} to "
                 f"{format_difference(row['gain_high'], unit)})")
        if row["clear"]:
            text += ", so every switch clearly loses."
        else:
            text += (f". Within the noise of {result.replications} replications a switch could gain up to "
                     f"{format_value(max(0.0, row['gain_high']), unit)}: more replications would tell.")
    else:
        text += " (no interval with one replication)."
    return text


def answer_lines(result: GameResult, level: float = 0.95) -> list[str]:
    """The summary's bullets: the equilibria, or the lack of one, and how the profiles were searched."""
    words = _Words(result)
    eps = result.epsilons()
    unit = _unit(result)
    lines = []
    if result.mode == "ibr":
        search = result.ibr
        start = words.profile(profile_names(result.game, search.path[0]))
        lines.append(f"The game has {int(np.prod(result.sizes)):,} profiles, more than `game.max_profiles` "
                     f"({result.game.max_profiles:,}), so it was searched by iterated best response from the "
                     f"scenario's own profile (**{start}**), not evaluated in full: {len(result.evaluated())} "
                     f"profiles evaluated in {search.rounds} round(s). Equilibria elsewhere are not ruled out.")
        if search.converged:
            lines.append(f"Iterated best response converged to **"
                         f"{words.profile(profile_names(result.game, search.equilibrium))}**.")
        elif search.cycle:
            lines.append("Iterated best response fell into a cycle: "
                         + " → ".join(f"**{words.profile(profile_names(result.game, p))}**" for p in search.cycle)
                         + "; no equilibrium was found on its path.")
        else:
            lines.append(f"Iterated best response did not settle within {result.game.max_rounds} rounds "
                         "(`game.max_rounds`).")
    else:
        lines.append(f"Every one of the {int(np.prod(result.sizes)):,} strategy profiles was evaluated.")
    nash = eps[eps["nash"]] if not eps.empty else eps
    for _, row in nash.iterrows():
        lines.append(equilibrium_sentence(result, words, row, level))
    if nash.empty and not eps.empty:
        top = eps.loc[eps["epsilon"].idxmin()]
        profile = {p: top[f"strategy.{p}"] for p in result.players}
        lines.append(f"No evaluated profile is a pure Nash equilibrium: at every one some player gains by switching "
                     f"alone. The closest is **{words.profile(profile)}**, where {words.player(top['player'])} "
                     f"gains {format_value(top['epsilon'], unit)} by switching to "
                     f"*{words.strategy(top['player'], top['deviation'])}* (ε; {level:.0%} interval "
                     f"{format_value(top['epsilon_low'], unit)} to {format_value(top['epsilon_high'], unit)}).")
    return lines


def player_tables(result: GameResult) -> list[dict[str, Any]]:
    """Per player: its strategies as columns, each profile of the others as a row; best replies in bold."""
    words = _Words(result)
    unit = _unit(result)
    payoffs = result.payoffs()
    tables = []
    for i, player in enumerate(result.players):
        others = [p for p in result.players if p != player]
        mine = payoffs[payoffs["player"] == player]
        rows = []
        seen = set()
        for profile in all_profiles(result.sizes):
            rest = profile[:i] + profile[i + 1:]
            if rest in seen:
                continue
            seen.add(rest)
            names = profile_names(result.game, profile)
            match = mine
            for o in others:
                match = match[match[f"strategy.{o}"] == names[o]]
            if match.empty:
                continue
            cells = []
            for strategy in result.strategies[player]:
                cell = match[match["strategy"] == strategy]
                if cell.empty:
                    cells.append("—")
                    continue
                c = cell.iloc[0]
                text = format_interval(c["mean"], c["ci_low"], c["ci_high"], unit)
                cells.append(f"**{text}**" if c["best_response"] else text)
            label = "; ".join(f"{words.player(o)}: {words.strategy(o, names[o])}" for o in others) or "—"
            rows.append({"others": _cell(label), "cells": [_cell(c) for c in cells]})
        tables.append({"player": words.player(player), "id": player,
                       "strategies": [_cell(words.strategy(player, s)) for s in result.strategies[player]],
                       "rows": rows})
    return tables


def epsilon_rows(result: GameResult) -> list[dict[str, str]]:
    """ε of every profile whose deviations were all evaluated, formatted."""
    words = _Words(result)
    unit = _unit(result)
    rows = []
    for _, row in result.epsilons().iterrows():
        profile = {p: row[f"strategy.{p}"] for p in result.players}
        switch = ("—" if row["player"] is None else
                  f"{words.player(row['player'])} to {words.strategy(row['player'], row['deviation'])}: "
                  f"{format_interval(row['best_gain'], row['gain_low'], row['gain_high'], unit)}")
        rows.append({"profile": _cell(words.profile(profile)),
                     "epsilon": _cell(format_interval(row["epsilon"], row["epsilon_low"], row["epsilon_high"], unit)),
                     "switch": _cell(switch), "nash": "yes" if row["nash"] else ""})
    return rows


def report_context(result: GameResult, level: float = 0.95) -> dict[str, Any]:
    """Everything the template shows."""
    words = _Words(result)
    payoff = result.game.payoff
    scenario = result.scenario
    players = [words.player(p) for p in result.players]
    from sim.version import __version__

    return {
        "title": f"Game: {scenario.name}",
        "question": (f"Who wins when {_join(players)} each choose their strategy, and the others answer back? "
                     f"Where does the market end up?"),
        "answer": answer_lines(result, level),
        "payoff": (f"{payoff.metric.replace('_', ' ')}, "
                   f"{REDUCTIONS[payoff.reduce].format(rate=round(payoff.discount_rate * 100, 6))}"),
        "unit": _unit(result),
        "tables": player_tables(result),
        "epsilon": epsilon_rows(result),
        "menus": [{"player": words.player(p),
                   "strategies": [{"name": s, "label": words.strategy(p, s),
                                   "set": ", ".join(f"`{k}` = {v!r}" for k, v in
                                                    result.game.players[p].strategies[s].set.items())
                                   or "the scenario as it is"} for s in result.strategies[p]]}
                  for p in result.players],
        "replications": result.replications,
        "seed": result.seed,
        "level": level,
        "steps": scenario.time.steps,
        "time_unit": scenario.time.unit,
        "description": (scenario.description or "").strip(),
        "shows": (scenario.shows or "").strip(),
        "sources": list(scenario.sources),
        "version": __version__,
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def render_markdown(context: Mapping[str, Any]) -> str:
    """The report's Markdown."""
    return _environment().get_template("game_report.md.j2").render(**context)


def render_html(context: Mapping[str, Any]) -> str:
    """The same Markdown as one HTML page with the report CSS inline."""
    body = markdown.markdown(render_markdown(context), extensions=["tables", "sane_lists"], output_format="html")
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return _environment().get_template("report.html.j2").render(title=context["title"], css=css, body=body)


def write_game_report(result: GameResult, level: float = 0.95) -> dict[str, Path]:
    """Write ``report.md`` and ``report.html`` into the game folder (atomically)."""
    context = report_context(result, level)
    md = store.write_text(result.out / "report.md", render_markdown(context))
    html = store.write_text(result.out / "report.html", render_html(context))
    return {"markdown": md, "html": html}


__all__ = ["answer_lines", "equilibrium_sentence", "epsilon_rows", "player_tables", "render_html",
           "render_markdown", "report_context", "write_game_report"]
