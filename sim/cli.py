"""The command line: ``python -m sim run | list | compare | sweep | sensitivity | dashboard``.

Bad input of any kind (a scenario, a ``--set`` override, a design) is a
:class:`~sim.errors.ScenarioError`: it is printed in a line or two, without a
traceback, the exit status is 2, and no results directory is left behind.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from sim.errors import ScenarioError

EXIT_BAD_INPUT = 2


def parse_assignments(items: list[str] | None, option: str = "--set") -> dict[str, str]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": "1", "c": "x"}``; values are parsed later, as YAML."""
    result = {}
    for item in items or []:
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            raise ScenarioError.single(option, item, "is not PATH=VALUE", "e.g. banks.citic.referral.bonus=100")
        result[path.strip()] = value.strip()
    return result


def default_out(scenario_name: str) -> Path:
    return Path("results") / scenario_name


def write_atomically(out: Path, write) -> Path:
    """Let ``write(tmp_dir)`` fill a temporary folder, then move it to ``out`` in one step.

    An interrupted or failed run leaves no partial results folder; an
    existing folder is replaced only once the new one is complete.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def cmd_run(args: argparse.Namespace) -> int:
    import sim
    from sim.outputs.console import render_summary

    scenario = sim.load_scenario(args.scenario, overrides=parse_assignments(args.set))
    result = sim.run(scenario, replications=args.replications, seed=args.seed, progress=not args.quiet)
    out = write_atomically(args.out or default_out(scenario.name), lambda tmp: result.save(tmp, plots=not args.no_plots))
    if not args.quiet:
        print(render_summary(result.summary, scenario.name))
        print(f"results in {out}/ ({result.replications} replications, seed {result.seed}, "
              f"{result.seconds:.2f} s)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from sim.scenario.library import list_scenarios

    rows = list_scenarios(Path(args.directory))
    width = max((len(name) for name, _ in rows), default=4)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario's replications and write tables, summary and plots")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--out", type=Path, help="results folder (default results/<scenario name>/)")
    run.add_argument("--replications", "-r", type=int, help="number of replications (default: the scenario's)")
    run.add_argument("--seed", "-s", type=int, help="seed (default: the scenario's)")
    run.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter (repeatable)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    run.set_defaults(handler=cmd_run)

    listing = sub.add_parser("list", help="list the scenario library with one-line descriptions")
    listing.add_argument("--directory", default="scenarios", help="folder of scenario files")
    listing.set_defaults(handler=cmd_list)

    for module, adder in (("sim.cli_compare", "add_compare_command"), ("sim.cli_sweep", "add_sweep_commands"),
                          ("sim.cli_dashboard", "add_dashboard_command")):
        try:
            add = getattr(__import__(module, fromlist=[adder]), adder)
        except (ImportError, AttributeError):
            continue
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
