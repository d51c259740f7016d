"""``python -m sim game``: who wins when everyone can choose — a scenario's ``game:`` on common random numbers.

Exit status: 0 when the game was evaluated and written; 2 for bad input (a
scenario without a ``game:`` block, an unknown player, strategy path or
payoff metric, a bad option: raised as :class:`~sim.errors.ScenarioError`
before anything runs or is written).  Runs that fail are recorded in the
game's sweep folders and reported as an error; running the command again
retries them.
"""

from __future__ import annotations

import argparse

from sim.cli.common import add_backend_options, add_out_options, assignments, backend


def add_parser(subparsers) -> None:
    """Add ``game`` to the subcommands."""
    game = subparsers.add_parser(
        "game", help="evaluate a scenario's game: payoffs of every strategy profile, best responses, equilibria",
        description="Evaluate every strategy profile of the scenario's game: block on common random numbers "
                    "(a resumable sweep), then write payoffs.parquet (profile x player: mean and 95%% interval), "
                    "deviations.parquet, equilibria.json (pure Nash equilibria, each profile's epsilon, best "
                    "responses) and report.md/report.html. With more profiles than game.max_profiles, the game "
                    "is searched by iterated best response from the scenario's own profile. Running the same "
                    "command again resumes.")
    game.add_argument("scenario", metavar="SCENARIO.yaml", help="a scenario YAML with a game: block")
    game.add_argument("--set", action="append", metavar="PATH=VALUE",
                      help="override a parameter of the scenario (also game.*, e.g. game.max_profiles=8)")
    game.add_argument("--replications", "-r", type=int,
                      help="replications of every profile (default game.replications, else the scenario's)")
    game.add_argument("--seed", "-s", type=int, help="seed (default: the scenario's)")
    add_out_options(game, "results/games/<scenario>-<hash>/", resumable=True)
    game.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_backend_options(game)
    game.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Load, evaluate (or resume) the game, write the report, print the answer."""
    from sim.experiments.game import game_of, run_game
    from sim.outputs.game_report import answer_lines, write_game_report
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, assignments(args.set))
    game_of(scenario)
    result = run_game(scenario, out=args.out, replications=args.replications, seed=args.seed,
                      backend=backend(args), progress=not args.quiet, overwrite=args.overwrite)
    write_game_report(result)
    for line in answer_lines(result):
        print("- " + line.replace("**", "").replace("*", ""))
    print(f"{len(result.evaluated())} profiles x {result.replications} replications ({result.runs} runs: "
          f"{result.completed} run now, {result.skipped} already done); {result.seconds:.1f} s")
    print(f"results in {result.out}/ (payoffs.parquet, deviations.parquet, equilibria.json, report.md, report.html)")
    return 0
