"""Property: any scenario document is either run or refused cleanly (Hypothesis).

Valid documents are mutated at random keys with wrong types, out-of-range
and non-finite values.  Each must either be accepted by ``python -m sim run``
(which then runs its step; never when a value is NaN or infinite) or be refused with exit status 2 and one message,
without a traceback, that names the file and the key (or the block around
it).  The command line's ``main`` is called in-process; the examples are
derandomised so the test is repeatable.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main

VALID: dict[str, Any] = {
    "name": "prop",
    "seed": 5,
    "replications": 1,
    "time": {"steps": 1},
    "population": {"size": 60, "city_tiers": [0.25, 0.25, 0.25, 0.25], "trust_spread": 0.1},
    "network": {"kind": "erdos_renyi", "mean_degree": 4},
    "products": {"payments": {"kind": "payments"}, "credit": {"kind": "credit", "loan": {"term": 6}}},
    "funnel": {"interest": 0.5, "apply": 0.7},
    "choice": {"price": -1.0, "switching": 0.02},
    "credit": {"enabled": True, "score_noise": 1.5},
    "banks": {"bank": {"type": "state", "retention": 0.9,
                       "offers": {"payments": {"price": 1.0, "initial_share": 0.1}, "credit": {"price": 2.0}},
                       "branch": {"coverage": [1, 1, 0.5, 0], "spend": 51.2933},
                       "referral": {"rate": 0.02, "window": 6, "bonus": 10},
                       "employee_media": {"staff_share": 0.0334, "audience": 3}}},
    "platforms": {"shop": {"type": "scenario", "users": 0.4, "offers": {"payments": {"price": 0.9}}}},
    "partnerships": {"deal": {"bank": "bank", "platform": "shop", "spend": 30.4592, "take_rate": 0.1}},
    "events": [{"at": 1, "set": {"banks.bank.referral.rate": 0.05}}],
}


def _leaves(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of ``node``, blocks and values alike."""
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _leaves(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _leaves(value, (*prefix, index))
    return paths


PATHS = [p for p in _leaves(VALID) if p[0] != "name"]   # the name is also the results folder
BAD_VALUES = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf]),                     # non-finite
    st.sampled_from([-1, -0.5, 1.5, 2.5, 1e9, -1e9, 10**30, 0, 0.5, 3]),  # out of range, not integral, or fine
    st.sampled_from(["many", "", [1, 2], {"x": 1}, None, True]),          # wrong types
)


def _values(node: Any):
    """Every value inside ``node``."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _values(value)
    else:
        yield node


def _set(data: dict, path: tuple, value: Any) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _spellings(path: tuple) -> set[str]:
    """The ways an error may name ``path`` or a block around it (``a.b.0`` or ``a.b[0]``)."""
    names = set()
    for end in range(1, len(path) + 1):
        dotted, bracketed = "", ""
        for key in path[:end]:
            dotted += ("." if dotted else "") + str(key)
            bracketed += f"[{key}]" if isinstance(key, int) else ("." if bracketed else "") + str(key)
        names |= {dotted, bracketed}
    return names


@settings(max_examples=90, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), BAD_VALUES), min_size=1, max_size=2))
def test_a_mutated_scenario_runs_or_is_refused_cleanly(mutations):
    data = copy.deepcopy(VALID)
    applied = []
    for path, value in mutations:
        try:
            _set(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue   # an earlier mutation replaced the block this path runs through
        applied.append(path)
    non_finite = any(isinstance(v, float) and not math.isfinite(v) for v in _values(data))
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "mutated.yaml"
        scenario.write_text(yaml.safe_dump(data), encoding="utf-8")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["run", str(scenario), "-q", "--no-plots", "--out", str(Path(tmp) / "out")])
        message = err.getvalue()
        assert code in (0, 2), (code, message)
        assert "Traceback" not in message
        if code == 0:
            assert not non_finite, f"a NaN or infinity was accepted: {mutations}"
            assert (Path(tmp) / "out").is_dir() and not message
            return
        assert message.startswith("error: ") and message.count("error:") == 1, message
        assert "mutated.yaml" in message, message
        assert not (Path(tmp) / "out").exists()
        named = set().union(*(_spellings(p) for p in applied))
        assert any(name in message for name in named), (applied, message)
