"""Same seed, same tables: figures pinned before the "One house" restructuring.

The baseline and three library scenarios (a partnership and cut-off event, a
regulation event, macro events with an insurer) at 3,000 customers, two
replications, seed 11.  The final-step figures of replication 1 and a digest
of every table were taken from the code before the restructuring; a change
that moves any draw or any accounting rule changes them.  A change that
must move draws (a new network generator, say) re-pins them in its own
commit and says why.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import sim

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

PINNED = {
    "baseline": {
        "market": {"aware": 2978, "active": 2001, "funnel_entries": 72, "loans": 434, "defaulted": 69},
        "institutions": {"icbc": (1015, 26183.34849013859, 6483528.392455005),
                         "citic": (482, 14563.102096125576, 2654589.6056875377),
                         "citybank": (299, 6880.404692407816, 1370539.1670019755)},
        "digest": "b6a9ac2daf2ca7707c97bc19358fea4e6c25b1267d79584693081ab97c9d1168",
    },
    "city_bank_local": {
        "market": {"aware": 2984, "active": 2026, "funnel_entries": 65, "loans": 444, "defaulted": 62},
        "institutions": {"icbc": (1025, 26943.53882826148, 6407079.359621099),
                         "citic": (500, 10369.474709527602, 2737369.1493054572),
                         "citybank": (310, -1725.8685760493433, 1375726.7797305563)},
        "digest": "bb09521f9adc8aa13c3871f3f9e74eeb0b7138d863f4fe9b6c7c2eba77f2cb44",
    },
    "cut_direct_link_bureau": {
        "market": {"aware": 2982, "active": 2018, "funnel_entries": 75, "loans": 293, "defaulted": 99},
        "institutions": {"icbc": (939, 14831.939990106137, 5501773.776703614),
                         "citic": (548, 12902.215765469735, 3053409.9034480415),
                         "citybank": (274, 4342.033185684284, 1108048.345038321)},
        "digest": "8a28f428f1c11eeba9fe8a37308874f161740e247fa60b8d2b81b80d76e33539",
    },
    "credit_insurance": {
        "market": {"aware": 2977, "active": 2012, "funnel_entries": 81, "loans": 375, "defaulted": 117},
        "institutions": {"icbc": (969, 17953.64035508722, 5576140.981412261),
                         "citic": (492, 12707.996822922534, 2411377.208091213),
                         "citybank": (286, 6615.684236400588, 1197977.0737016774)},
        "digest": "e101cc14496b67d2bd0642a03ef7578db99f8adfcdfaf724b9424b05927bffbc",
    },
}


def table_digest(tables) -> str:
    """SHA-256 over every table's name, column names and values, in a fixed order."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        digest.update(name.encode())
        for column in frame.columns:
            digest.update(column.encode())
            values = frame[column].to_numpy()
            raw = values.astype(str) if values.dtype == object else np.ascontiguousarray(values)
            digest.update(raw.tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module", params=sorted(PINNED))
def pinned_run(request):
    scenario = sim.load_scenario(SCENARIOS / f"{request.param}.yaml", overrides={"population.size": 3000})
    return request.param, scenario.time.steps, sim.run(scenario, replications=2, seed=11)


def test_final_step_figures_are_unchanged(pinned_run):
    name, steps, result = pinned_run
    market = result.market.query("step == @steps and replication == 1").iloc[0]
    for column, value in PINNED[name]["market"].items():
        assert market[column] == value, f"{name}: market.{column}"
    institutions = result.institutions.query("step == @steps and replication == 1").set_index("institution")
    for institution, (customers, profit, capital) in PINNED[name]["institutions"].items():
        row = institutions.loc[institution]
        assert int(row["customers"]) == customers, f"{name}: {institution} customers"
        assert row["profit"] == pytest.approx(profit, rel=1e-12, abs=1e-9), f"{name}: {institution} profit"
        assert row["capital"] == pytest.approx(capital, rel=1e-12), f"{name}: {institution} capital"


def test_every_table_is_unchanged(pinned_run):
    name, _, result = pinned_run
    assert table_digest(result.tables) == PINNED[name]["digest"], f"{name}: some table changed"
