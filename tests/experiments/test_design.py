"""Designs: grids, Latin hypercubes, CSV and sweep files, and their checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.experiments.design import (
    csv_design,
    design_from_sweep_file,
    grid_design,
    is_sweep_file,
    lhs_design,
    parse_grid_option,
    parse_range_option,
    read_sweep_file,
    resolve_design,
)
from sim.scenario import load_scenario

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(TINY)


def test_grid_is_the_full_factorial_last_axis_fastest():
    design = grid_design({"a.x": [1, 2], "a.y": ["p", "q", "r"]})
    assert len(design) == 6
    assert design.points[:4] == ({"a.x": 1, "a.y": "p"}, {"a.x": 1, "a.y": "q"}, {"a.x": 1, "a.y": "r"},
                                 {"a.x": 2, "a.y": "p"})
    frame = design.to_frame()
    assert list(frame.columns) == ["point", "a.x", "a.y"] and list(frame["point"]) == list(range(6))


def test_grid_option_values_are_read_as_yaml():
    assert parse_grid_option("banks.a.referral.bonus=0,50,100") == ("banks.a.referral.bonus", [0, 50, 100])
    assert parse_grid_option("x=0.5, 2,true, text") == ("x", [0.5, 2, True, "text"])
    assert parse_grid_option("banks.a.branch.coverage=[1,1,0,0],[1,0,0,0]")[1] == [[1, 1, 0, 0], [1, 0, 0, 0]]
    for bad in ("banks.a.referral.bonus", "=1,2", "x="):
        with pytest.raises(ScenarioError, match="PATH=VALUE"):
            parse_grid_option(bad)


def test_range_option():
    assert parse_range_option("banks.a.referral.rate=0.01:0.1") == ("banks.a.referral.rate", (0.01, 0.1))
    assert parse_range_option("choice.price=-2:-0.5") == ("choice.price", (-2.0, -0.5))
    with pytest.raises(ScenarioError, match=r"low 0.5 > high 0.1 \(allowed: LOW <= HIGH\)"):
        parse_range_option("x=0.5:0.1")
    with pytest.raises(ScenarioError, match="not LOW:HIGH"):
        parse_range_option("x=0.5")
    with pytest.raises(ScenarioError, match="not a finite number"):
        parse_range_option("x=a:1")
    with pytest.raises(ScenarioError, match="low equals high"):
        parse_range_option("x=1:1", strict=True)


def test_latin_hypercube_is_stratified_seeded_and_rounds_integers(tiny):
    ranges = {"banks.a.referral.rate": (0.0, 0.2), "population.size": (100, 400)}
    design = lhs_design(ranges, 20, seed=3, scenario=tiny)
    rates = np.array([p["banks.a.referral.rate"] for p in design.points])
    # One point in each of the 20 equal strata of every dimension (McKay et al. 1979).
    assert sorted(np.floor(rates / 0.2 * 20).astype(int)) == list(range(20))
    sizes = [p["population.size"] for p in design.points]
    assert all(isinstance(s, int) and 100 <= s <= 400 for s in sizes)
    assert design.points == lhs_design(ranges, 20, seed=3, scenario=tiny).points
    assert design.points != lhs_design(ranges, 20, seed=4, scenario=tiny).points
    assert len(resolve_design(tiny, design)) == 20


def test_latin_hypercube_rejects_non_numeric_parameters(tiny):
    with pytest.raises(ScenarioError, match="is a str .* not a number"):
        lhs_design({"banks.a.type": (0, 1)}, 3, seed=1, scenario=tiny)
    with pytest.raises(ScenarioError, match="is a bool"):
        lhs_design({"banks.a.referral.enabled": (0, 1)}, 3, seed=1, scenario=tiny)
    with pytest.raises(ScenarioError, match="--samples"):
        lhs_design({"banks.a.referral.rate": (0, 1)}, 0, seed=1)


def test_resolve_design_reports_every_problem_once(tiny):
    design = grid_design({"banks.a.referral.bonsu": [1, 2], "banks.a.referral.rate": [0.1, 0.2]})
    with pytest.raises(ScenarioError) as info:
        resolve_design(tiny, design)
    text = info.value.render()
    assert text.count("unknown key 'bonsu'") == 1 and "[at every point]" in text
    design = grid_design({"banks.a.referral.bonus": [1, -2], "banks.a.referral.rate": [0.1, 3.0]})
    with pytest.raises(ScenarioError) as info:
        resolve_design(tiny, design)
    text = info.value.render()
    assert "2 problems" in text
    assert "less than or equal to 1" in text and "[at points 1, 3]" in text
    assert "greater than or equal to 0" in text and "[at points 2, 3]" in text


def test_csv_design(tmp_path, tiny):
    path = tmp_path / "design.csv"
    path.write_text("banks.a.referral.bonus,banks.a.branch.coverage,banks.a.referral.enabled\n"
                    "0,\"[1, 1, 1, 1]\",true\n50,\"[1, 0, 0, 0]\",false\n", encoding="utf-8")
    design = csv_design(path)
    assert design.points[1] == {"banks.a.referral.bonus": 50, "banks.a.branch.coverage": [1, 0, 0, 0],
                                "banks.a.referral.enabled": False}
    assert len(resolve_design(tiny, design)) == 2
    path.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="line 3: has 1 cells"):
        csv_design(path)
    with pytest.raises(ScenarioError, match="design file not found"):
        csv_design(tmp_path / "missing.csv")


@pytest.mark.parametrize("content, fragment", [
    (b"banks.a.referral.bonus\n\xe9\n", "is not UTF-8 text (byte 0xe9"),
    ("banks.a.referral.bonus\n1\n".encode("utf-16"), "is UTF-16 text"),
    (b"banks.a.referral.bonus\n\x00\n", "is a binary file"),
])
def test_a_design_file_that_is_not_utf8_text_is_refused(tmp_path, content, fragment):
    path = tmp_path / "design.csv"
    path.write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        csv_design(path)
    assert str(info.value).startswith(f"{path}: {fragment}"), info.value


def test_a_byte_order_mark_is_not_part_of_the_first_path(tmp_path, tiny):
    path = tmp_path / "design.csv"
    path.write_bytes(b"\xef\xbb\xbfbanks.a.referral.bonus\n5\n")
    design = csv_design(path)
    assert design.parameters == ("banks.a.referral.bonus",)
    assert resolve_design(tiny, design)[0].banks["a"].referral.bonus == 5


def test_a_folder_as_the_design_file_is_called_a_folder(tmp_path):
    (tmp_path / "design.csv").mkdir()
    with pytest.raises(ScenarioError, match="design.csv: is a folder, not a file"):
        csv_design(tmp_path / "design.csv")


def test_a_bad_row_is_reported_at_its_line_in_the_file(tmp_path):
    path = tmp_path / "design.csv"
    path.write_text("a,b\n\n1,2\n\n3\n4,\"two\nlines\"\n5\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        csv_design(path)
    assert [p.path for p in info.value.problems] == ["line 5", "line 8"], info.value


def test_sweep_file(tmp_path, tiny):
    (tmp_path / "s.yaml").write_text(
        f"scenario: {TINY}\nreplications: 2\nseed: 4\ngrid:\n  banks.a.referral.bonus: [0, 10]\n", encoding="utf-8")
    assert is_sweep_file(tmp_path / "s.yaml") and not is_sweep_file(TINY)
    spec = read_sweep_file(tmp_path / "s.yaml")
    assert spec.replications == 2 and design_from_sweep_file(spec, tiny, 4).points[1] == {"banks.a.referral.bonus": 10}

    (tmp_path / "lhs.yaml").write_text(f"scenario: {TINY}\nlhs:\n  banks.a.referral.rate: [0.0, 0.1]\nsamples: 5\n")
    assert len(design_from_sweep_file(read_sweep_file(tmp_path / "lhs.yaml"), tiny, 1)) == 5

    (tmp_path / "bad.yaml").write_text(f"scenario: {TINY}\ngrids: {{}}\n")
    with pytest.raises(ScenarioError, match="unknown key 'grids'"):
        read_sweep_file(tmp_path / "bad.yaml")
    (tmp_path / "two.yaml").write_text(f"scenario: {TINY}\ngrid: {{x: [1]}}\npoints: [{{x: 1}}]\n")
    with pytest.raises(ScenarioError, match="more than one design"):
        read_sweep_file(tmp_path / "two.yaml")
