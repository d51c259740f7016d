"""``python -m sim game``: what a user types, what it writes, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenario import load_scenario

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "tiny.yaml"
TINY_GAME = DATA / "tiny_game.yaml"


def test_game_command_writes_payoffs_equilibria_and_report_and_resumes(tmp_path, capsys):
    out = tmp_path / "game"
    argv = ["game", str(TINY_GAME), "--serial", "-q", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "4 profiles x 2 replications (8 runs: 8 run now, 0 already done)" in printed
    payoffs = pd.read_parquet(out / "payoffs.parquet")
    assert list(payoffs.columns[:4]) == ["profile", "strategy.a", "strategy.b", "player"]
    assert {"mean", "ci_low", "ci_high", "n"} <= set(payoffs.columns)
    record = json.loads((out / "equilibria.json").read_text())
    assert record["mode"] == "full" and record["profiles_evaluated"] == 4 and len(record["epsilon"]) == 4
    report = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for equilibrium in record["equilibria"]:
        labels = {"current": "no bonus", "bonus": "pays a bonus"}
        words = "; ".join(f"{p}: {labels[s]}" for p, s in equilibrium["profile"].items())
        assert f"**{words}** is an equilibrium" in report
        assert words in html
    assert "<table>" in html and "Who wins when" in html
    assert main(argv) == 0
    assert "0 run now, 8 already done" in capsys.readouterr().out
    assert main([*argv, "--overwrite"]) == 0
    assert "8 run now" in capsys.readouterr().out
    assert (out / ".bpsim-results.json").is_file()


def test_another_payoff_reuses_the_runs_and_another_strategy_is_a_different_game(tmp_path, capsys):
    out = tmp_path / "game"
    argv = ["game", str(TINY_GAME), "--serial", "-q", "--out", str(out)]
    assert main(argv) == 0
    discounted = pd.read_parquet(out / "payoffs.parquet")
    capsys.readouterr()
    assert main([*argv, "--set", "game.payoff.reduce=total"]) == 0
    assert "0 run now, 8 already done" in capsys.readouterr().out
    total = pd.read_parquet(out / "payoffs.parquet")
    assert (total["mean"].abs() > discounted["mean"].abs()).all()    # undiscounted sums are larger
    same = f"name: tiny_game\nextends: {TINY_GAME}\ndescription: {load_scenario(TINY_GAME).description}\n"
    relabelled = tmp_path / "relabelled.yaml"
    relabelled.write_text(f"{same}game:\n  players:\n    a:\n      strategies:\n"
                          "        bonus: {label: generous}\n", encoding="utf-8")
    assert main(["game", str(relabelled), *argv[2:]]) == 0
    assert "0 run now, 8 already done" in capsys.readouterr().out
    changed = tmp_path / "changed.yaml"
    changed.write_text(f"{same}game:\n  players:\n    a:\n      strategies:\n"
                       "        bonus: {set: {banks.a.referral.bonus: 30}}\n", encoding="utf-8")
    assert main(["game", str(changed), *argv[2:]]) == 2
    assert "holds a different sweep" in capsys.readouterr().err


def test_game_command_refuses_a_folder_of_other_files(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["game", str(TINY_GAME), "--serial", "-q", "--out", str(out), "--overwrite"]) == 2
    assert "not written by this program" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def _game_file(tmp_path: Path, game: str) -> Path:
    path = tmp_path / "bad_game.yaml"
    path.write_text(f"name: bad_game\nextends: {TINY}\nreplications: 1\ngame:\n{game}", encoding="utf-8")
    return path


GOOD_PLAYER_B = "    b:\n      strategies:\n        current: {}\n"


@pytest.mark.parametrize("game, where, message", [
    ("  players:\n    zzz:\n      strategies:\n        current: {}\n", "game.players.zzz",
     "unknown institution 'zzz' (allowed: a, b)"),
    ("  players:\n    a:\n      strategies:\n        x: {set: {banks.a.referal.bonus: 1}}\n" + GOOD_PLAYER_B,
     "game.players.a.strategies.x.set.banks.a.referal", "unknown key 'referal'"),
    ("  players:\n    a:\n      strategies: {}\n", "game.players.a.strategies", "at least 1 item"),
    ("  players:\n    a:\n      strategies:\n        x: {}\n  payoff: {metric: happiness}\n", "game.payoff.metric",
     "'profit'"),
    ("  players:\n    a:\n      strategies:\n        x: {}\n  payoff: {metric: market_share}\n", "game.payoff.reduce",
     "is a level"),
    ("  players:\n    a:\n      strategies:\n        x: {set: {population.size: 50}}\n",
     "game.players.a.strategies.x.set.population.size", "part of the set-up"),
    ("  players:\n    a:\n      strategies:\n        x: {set: {banks.a.trust: 2}}\n",
     "game.players.a.strategies.x.set.banks.a.trust", "less than or equal to 1"),
    ("  players:\n    a:\n      strategies:\n        x: {set: {banks.b.trust: 0.1}}\n"
     "    b:\n      strategies:\n        y: {set: {banks.b.trust: 0.2}}\n",
     "game.players.b.strategies.y.set.banks.b.trust", "a's strategy x sets 'banks.b.trust' too"),
    ("  players:\n    a:\n      strategies:\n        x: {set: {banks.a.data_alliance: solo}}\n" + GOOD_PLAYER_B,
     "game", "alliance 'solo' has no other member"),
])
def test_bad_game_is_one_clear_message_naming_file_and_key_and_nothing_is_written(tmp_path, capsys, game, where,
                                                                                 message):
    path = _game_file(tmp_path, game)
    out = tmp_path / "never"
    assert main(["game", str(path), "--serial", "-q", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert str(path) in err and where in err and message in err
    assert not out.exists()


def test_a_scenario_without_a_game_is_refused(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["game", str(TINY), "--serial", "-q", "--out", str(out)]) == 2
    assert "game: is missing" in capsys.readouterr().err
    assert not out.exists()


def test_bad_options_are_refused(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["game", str(TINY_GAME), "-r", "0", "--serial", "-q", "--out", str(out)]) == 2
    assert "--replications" in capsys.readouterr().err
    assert not out.exists()


def test_events_cannot_set_the_game(tmp_path, capsys):
    path = tmp_path / "evt.yaml"
    path.write_text(f"name: evt\nextends: {TINY_GAME}\nevents:\n  - at: 2\n    set: {{game.max_profiles: 3}}\n",
                    encoding="utf-8")
    assert main(["game", str(path), "--serial", "-q", "--out", str(tmp_path / "never")]) == 2
    assert "cannot change during a run" in capsys.readouterr().err


def test_every_column_of_the_game_tables_is_documented_in_results_readme(tmp_path):
    out = tmp_path / "g"
    assert main(["game", str(TINY_GAME), "--serial", "-q", "--out", str(out)]) == 0
    readme = (Path(__file__).resolve().parents[2] / "results" / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Game folders"):]
    for name in ("payoffs", "deviations"):
        for column in pd.read_parquet(out / f"{name}.parquet").columns:
            documented = f"`{column}`" in section or (column.startswith("strategy.")
                                                      and "`strategy.<player>`" in section)
            assert documented, f"{name}.parquet column {column} is not documented in results/README.md"
