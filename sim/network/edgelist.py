"""Networks read from files: a CSV edge list and an optional CSV of node attributes.

The files are read when the scenario is loaded (to check them before any run
starts) and again when a model is built; :func:`edge_list_network` keeps the
last few networks it read, keyed by the files' paths, sizes and modification
times, so the second reading is free.  The network returned is shared:
callers treat it as read-only.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.inputs import read_text
from sim.network.graph import SocialNetwork, from_edges

NODE_ATTRIBUTES = {
    "life_stage": "student, young_family or mature",
    "city_tier": "1, 2, 3 or 4",
    "community": "any label",
    "digital_affinity": "a number in (0, 1)",
}


#: How many networks read from files are kept (see the module docstring).
CACHE_SIZE = 4
_cache: OrderedDict[tuple, SocialNetwork] = OrderedDict()


def _text(path: Path, key: str) -> str:
    """The UTF-8 text of a data file (:func:`~sim.inputs.read_text`); an empty one is a ScenarioError too."""
    text = read_text(path, "a CSV file, path relative to the scenario", key)
    if not text.strip():
        raise ScenarioError.single(path, key, "is empty", "a CSV file with a header row and at least one row")
    return text


def _read_csv(path: Path, key: str, required: list[str]) -> pd.DataFrame:
    text = _text(path, key)
    try:
        # Only an empty cell is missing: "nan", "NA" or "null" are values (a node id, a bad number).
        frame = pd.read_csv(io.StringIO(text), dtype=str, skipinitialspace=True, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ScenarioError.single(path, key, f"cannot be read as CSV: {exc}", "a CSV file with a header row") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ScenarioError.single(
            path, key, f"missing column(s) {', '.join(missing)}", f"columns {', '.join(required)}"
        )
    if frame.empty:
        raise ScenarioError.single(path, key, "has a header but no rows", "a CSV file with at least one row")
    return frame


def _stamp(path: Path | None) -> tuple:
    if path is None:
        return (None,)
    try:
        stat = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def edge_list_network(edges_path: Path, nodes_path: Path | None = None) -> SocialNetwork:
    """Read ``source,target`` edges and optional node attributes (``id`` + NODE_ATTRIBUTES).

    Node ids may be any labels.  With a node file, its rows define the nodes
    (isolated customers included) and an edge naming an id absent from it is
    an error; without one, the nodes are the ids the edges use.  Every
    problem is a :class:`~sim.errors.ScenarioError` naming the file and the
    row.  Networks read are cached (see the module docstring).
    """
    key = (*_stamp(edges_path), *_stamp(nodes_path))
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    network = _read_network(Path(edges_path), Path(nodes_path) if nodes_path is not None else None)
    _cache[key] = network
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return network


def _read_network(edges_path: Path, nodes_path: Path | None) -> SocialNetwork:
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
            raise ScenarioError.single(
                nodes_path, unknown_cols[0], "unknown node attribute", ", ".join(["id", *NODE_ATTRIBUTES])
            )
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
    pairs = np.stack([source.to_numpy(dtype=np.int64), target.to_numpy(dtype=np.int64)], axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]    # as in the adjacency: nobody is their own neighbour
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)   # an edge listed twice, in either direction, is one edge
    community, names = None, None
    if attributes is not None and "community" in attributes:
        codes, names = pd.factorize(attributes["community"])
        community = codes.astype(np.int32)
        names = [str(x) for x in names]
    return from_edges(len(ids), pairs[:, 0], pairs[:, 1], community, names, None, attributes)


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
            raise ScenarioError.single(
                path,
                f"row {row + 2}, column {column}",
                f"bad value {nodes[column].iloc[row]!r}",
                NODE_ATTRIBUTES[column],
            )
        out[column] = values.to_numpy()
    return out
