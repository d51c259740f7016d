"""Edge-list and node files checked when the scenario is loaded (:mod:`sim.scenario.network_check`).

A bad data file is refused by :func:`sim.load_scenario`, before any run or
sweep starts, with the scenario file, the key that names the data file and
what is wrong with it; the network read is cached for the model.
"""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path

import pytest

import sim
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.network import edgelist
from sim.network.edgelist import edge_list_network

EDGES = "source,target\na,b\nb,c\nc,d\n"


def scenario_file(directory: Path, network: str, extra: str = "", name: str = "net.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(f"""\
        name: net
        time: {{steps: 2}}
        network: {network}
        banks: {{b: {{type: state, offers: {{payments: {{}}}}}}}}
        """) + extra, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(path)
    return str(info.value)


@pytest.mark.parametrize("content, fragment", [
    (b"source,target\n", "has a header but no rows"),
    (b"", "is empty"),
    (b"\n  \n", "is empty"),
    ("source,target\na,b\n".encode("utf-16"), "UTF-16"),
    (b"source,target\n\xe9,b\n", "not UTF-8"),
    (bytes(range(256)), "binary"),
    (b"from,to\na,b\n", "missing column(s) source, target"),
])
def test_a_bad_edge_list_is_refused_at_load_naming_scenario_and_key(tmp_path, content, fragment):
    (tmp_path / "edges.csv").write_bytes(content)
    message = refusal(scenario_file(tmp_path, "{kind: edge_list, path: edges.csv}"))
    assert message.startswith(f"{tmp_path / 'net.yaml'}: network.path: 'edges.csv'"), message
    assert fragment in message, message


def test_a_folder_as_the_edge_list(tmp_path):
    (tmp_path / "edges").mkdir()
    message = refusal(scenario_file(tmp_path, "{kind: edge_list, path: edges}"))
    assert "net.yaml: network.path: 'edges' is a folder" in message, message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_fifo_as_the_edge_list_is_refused_without_being_read(tmp_path):
    fifo = tmp_path / "edges.csv"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer() -> None:   # were the FIFO read, the read would end (empty) instead of hanging the test
        while not stop.wait(0.05):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                continue   # no reader yet

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        message = refusal(scenario_file(tmp_path, "{kind: edge_list, path: edges.csv}"))
    finally:
        stop.set()
        thread.join()
    assert "net.yaml: network.path: 'edges.csv' is not a regular file" in message, message


def test_a_missing_edge_list(tmp_path):
    message = refusal(scenario_file(tmp_path, "{kind: edge_list, path: absent.csv}"))
    assert "network.path: 'absent.csv' file not found" in message, message


def test_a_bad_row_names_the_data_file_and_the_row(tmp_path):
    (tmp_path / "edges.csv").write_text("source,target\na,b\nb,zed\n")
    (tmp_path / "nodes.csv").write_text("id\na\nb\n")
    message = refusal(scenario_file(tmp_path, "{kind: edge_list, path: edges.csv, nodes: nodes.csv}"))
    assert "network.path: 'edges.csv' row 3: unknown node id 'zed'" in message, message


def test_a_bad_node_file_is_named_at_its_own_key(tmp_path):
    (tmp_path / "edges.csv").write_text(EDGES)
    (tmp_path / "nodes.csv").write_text("id,city_tier\n")
    message = refusal(scenario_file(tmp_path, "{kind: edge_list, path: edges.csv, nodes: nodes.csv}"))
    assert "network.nodes: 'nodes.csv' has a header but no rows" in message, message
    (tmp_path / "nodes.csv").write_text("id,digital_affinity\na,nan\nb,0.5\nc,0.5\nd,0.5\n")
    message = refusal(scenario_file(tmp_path, "{kind: edge_list, path: edges.csv, nodes: nodes.csv}"))
    assert "network.nodes: 'nodes.csv' row 2, column digital_affinity" in message, message


def test_an_edge_list_of_one_node_is_refused(tmp_path):
    (tmp_path / "edges.csv").write_text("source,target\na,a\n")
    assert "at least 2 nodes" in refusal(scenario_file(tmp_path, "{kind: edge_list, path: edges.csv}"))


def test_size_mismatch_is_refused_at_load_with_file_and_key(tmp_path):
    (tmp_path / "edges.csv").write_text(EDGES)
    path = scenario_file(tmp_path, "{kind: edge_list, path: edges.csv}", "population: {size: 10}\n")
    message = refusal(path)
    assert message.startswith(f"{path}: population.size: is 10 but the network file has 4 nodes"), message


def test_size_mismatch_inherited_from_a_parent_names_the_parent(tmp_path):
    (tmp_path / "edges.csv").write_text(EDGES)
    scenario_file(tmp_path, "{kind: edge_list, path: edges.csv}", "population: {size: 10}\n", name="parent.yaml")
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent.yaml\nname: child\n")
    message = refusal(child)
    assert message.startswith(f"{tmp_path / 'parent.yaml'} (extended by child.yaml): population.size"), message


def test_a_with_overrides_change_of_size_is_checked_too(tmp_path):
    (tmp_path / "edges.csv").write_text(EDGES)
    scenario = sim.load_scenario(scenario_file(tmp_path, "{kind: edge_list, path: edges.csv}"))
    with pytest.raises(ScenarioError, match="population.size: is 7"):
        sim.scenario.with_overrides(scenario, {"population.size": 7}, source="design.yaml")


def test_the_model_reuses_the_network_read_at_load(tmp_path, monkeypatch):
    (tmp_path / "edges.csv").write_text(EDGES)
    scenario = sim.load_scenario(scenario_file(tmp_path, "{kind: edge_list, path: edges.csv}"))
    reads = []
    original = edgelist._read_network
    monkeypatch.setattr(edgelist, "_read_network", lambda *a: reads.append(a) or original(*a))
    model = ChannelModel(scenario, seed=1)
    model.step()
    assert reads == [] and model.network.size == 4
    (tmp_path / "edges.csv").write_text(EDGES + "d,e\n")          # a changed file is read again
    assert edge_list_network(tmp_path / "edges.csv").size == 5 and len(reads) == 1


def test_the_command_line_refuses_a_header_only_edge_list_before_running(tmp_path, capsys):
    from sim.cli import main

    (tmp_path / "edges.csv").write_text("source,target\n")
    path = scenario_file(tmp_path, "{kind: edge_list, path: edges.csv}")
    assert main(["run", str(path), "-q", "--no-plots", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "net.yaml: network.path: 'edges.csv' has a header but no rows" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("network, size, key, fragment", [
    ("{kind: watts_strogatz, mean_degree: 10}", 10, "network.mean_degree", "10 is not below population.size (10)"),
    ("{kind: barabasi_albert, attachment: 12}", 10, "network.attachment", "12 is not below population.size (10)"),
    ("{kind: erdos_renyi, mean_degree: 50}", 10, "network.mean_degree", "more than population.size (10) minus 1"),
    ("{kind: complete}", 5000, "population.size", "too many for a complete network"),
])
def test_generator_sizes_are_checked_at_load_with_file_and_key(tmp_path, network, size, key, fragment):
    path = scenario_file(tmp_path, network, f"population: {{size: {size}}}\n")
    message = refusal(path)
    assert message.startswith(f"{path}: {key}: ") and fragment in message, message
