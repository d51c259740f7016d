"""Networks read from files: a CSV edge list and an optional CSV of node attributes."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.network.graph import SocialNetwork, from_graph

NODE_ATTRIBUTES = {
    "life_stage": "student, young_family or mature",
    "city_tier": "1, 2, 3 or 4",
    "community": "any label",
    "digital_affinity": "a number in (0, 1)",
}


def _read_csv(path: Path, key: str, required: list[str]) -> pd.DataFrame:
    if not path.exists():
        raise ScenarioError.single(path, key, "file not found", "a CSV file, path relative to the scenario")
    try:
        frame = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ScenarioError.single(path, key, f"cannot be read as CSV: {exc}", "a CSV file with a header row") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ScenarioError.single(path, key, f"missing column(s) {', '.join(missing)}", f"columns {', '.join(required)}")
    return frame


def edge_list_network(edges_path: Path, nodes_path: Path | None = None) -> SocialNetwork:
    """Read ``source,target`` edges and optional node attributes (``id`` + NODE_ATTRIBUTES).

    Node ids may be any labels.  With a node file, its rows define the nodes
    (isolated customers included) and an edge naming an id absent from it is
    an error; without one, the nodes are the ids the edges use.
    """
    edges = _read_csv(edges_path, "network.path", ["source", "target"])
    if edges[["source", "target"]].isna().any().any():
        row = int(edges[["source", "target"]].isna().any(axis=1).to_numpy().nonzero()[0][0])
        raise ScenarioError.single(edges_path, f"row {row + 2}", "empty source or target", "two node ids per row")
    attributes = None
    if nodes_path is not None:
        nodes = _read_csv(nodes_path, "network.nodes", ["id"])
        if nodes["id"].duplicated().any():
            dup = nodes.loc[nodes["id"].duplicated(), "id"].iloc[0]
            raise ScenarioError.single(nodes_path, "id", f"node id '{dup}' appears twice", "unique ids")
        ids = nodes["id"].tolist()
        unknown_cols = [c for c in nodes.columns if c != "id" and c not in NODE_ATTRIBUTES]
        if unknown_cols:
            raise ScenarioError.single(nodes_path, unknown_cols[0], "unknown node attribute", ", ".join(["id", *NODE_ATTRIBUTES]))
        attributes = _parse_attributes(nodes, nodes_path)
    else:
        ids = pd.unique(pd.concat([edges["source"], edges["target"]])).tolist()
    index = {node_id: i for i, node_id in enumerate(ids)}
    source = edges["source"].map(index)
    target = edges["target"].map(index)
    bad = source.isna() | target.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        unknown = edges.loc[bad].iloc[0]
        name = unknown["source"] if unknown["source"] not in index else unknown["target"]
        raise ScenarioError.single(edges_path, f"row {row + 2}", f"unknown node id '{name}'",
                                   f"ids listed in {nodes_path.name if nodes_path else 'the node file'}")
    graph = nx.Graph()
    graph.add_nodes_from(range(len(ids)))
    graph.add_edges_from(zip(source.astype(int).tolist(), target.astype(int).tolist()))
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))  # as in the adjacency: nobody is their own neighbour
    community, names = None, None
    if attributes is not None and "community" in attributes:
        codes, names = pd.factorize(attributes["community"])
        community = codes.astype(np.int32)
        names = [str(x) for x in names]
    return from_graph(graph, community, names, None, attributes)


def _parse_attributes(nodes: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Check and convert node attribute columns; blanks mean 'draw from the population spec'."""
    out = pd.DataFrame(index=range(len(nodes)))
    for column in nodes.columns:
        if column == "id":
            continue
        values = nodes[column]
        if column == "life_stage":
            ok = values.isna() | values.isin(["student", "young_family", "mature"])
        elif column == "city_tier":
            ok = values.isna() | values.isin(["1", "2", "3", "4"])
        elif column == "digital_affinity":
            numbers = pd.to_numeric(values, errors="coerce")
            ok = values.isna() | ((numbers > 0) & (numbers < 1))
            values = numbers
        else:
            ok = pd.Series(True, index=values.index)
        if not ok.all():
            row = int((~ok).to_numpy().nonzero()[0][0])
            raise ScenarioError.single(path, f"row {row + 2}, column {column}", f"bad value {nodes[column].iloc[row]!r}", NODE_ATTRIBUTES[column])
        out[column] = values.to_numpy()
    return out
