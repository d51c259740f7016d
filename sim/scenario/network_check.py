"""The network a scenario asks for, checked at load time: generator sizes and data files.

A generator that cannot build ``population.size`` nodes with the parameters
given (a ring degree at or above the population, say) is refused with both
keys named.  A scenario with ``network: {kind: edge_list}`` is only usable if its files
are: checking them when the scenario is loaded means a run, or a sweep on any
backend, fails before it starts instead of in every worker.  The network
read here is cached by :func:`~sim.network.edgelist.edge_list_network`, so
the model does not read the files a second time.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import Problem, ScenarioError


def check_network(scenario, base_dir: Path | None = None) -> list[Problem]:
    """What is wrong with the network of ``scenario``.

    Generator parameters that do not fit the population, bad data files.
    """
    if scenario.network.kind == "edge_list":
        return check_data_files(scenario, base_dir)
    return check_generator(scenario)


def check_generator(scenario) -> list[Problem]:
    """Generator parameters that cannot be built for ``population.size`` customers."""
    spec, n = scenario.network, scenario.population.size
    size = f"population.size ({n})"
    if spec.kind == "erdos_renyi" and spec.mean_degree > n - 1:
        return [Problem("network.mean_degree", f"{spec.mean_degree:g} is more than {size} minus 1", f"(0, {n - 1}]")]
    if spec.kind == "watts_strogatz" and spec.mean_degree >= n:
        return [
            Problem("network.mean_degree", f"{spec.mean_degree} is not below {size}", f"an even number in 2..{n - 1}")
        ]
    if spec.kind == "barabasi_albert" and spec.attachment >= n:
        return [Problem("network.attachment", f"{spec.attachment} is not below {size}", f"1..{n - 1}")]
    if spec.kind == "complete":
        from sim.network import generators

        limit = getattr(generators, "COMPLETE_GRAPH_LIMIT", None)
        if limit is not None and n > limit:
            return [Problem("population.size", f"{n} customers is too many for a complete network", f"at most {limit}")]
    return []


def check_data_files(scenario, base_dir: Path | None = None) -> list[Problem]:
    """Read the scenario's edge list and node file; return what is wrong with them.

    Each problem is reported at the key that names the file (``network.path``
    or ``network.nodes``), with the file and row in the message; a
    ``population.size`` that differs from the number of nodes is reported at
    ``population.size``.
    """
    spec = scenario.network
    if spec.kind != "edge_list":
        return []
    from sim.network.edgelist import edge_list_network

    base = Path(base_dir) if base_dir is not None else Path.cwd()
    edges = base / spec.path
    nodes = base / spec.nodes if spec.nodes else None
    try:
        network = edge_list_network(edges, nodes)
    except ScenarioError as exc:
        in_nodes = nodes is not None and Path(exc.source) == nodes
        key, written = ("network.nodes", spec.nodes) if in_nodes else ("network.path", spec.path)
        problems = []
        for problem in exc.problems:
            if problem.path in ("network.path", "network.nodes"):
                problems.append(Problem(key, f"'{written}' {problem.message}", problem.allowed))
            else:
                problems.append(Problem(key, f"'{written}' {problem.path}: {problem.message}", problem.allowed))
        return problems
    problems = []
    if network.size < 2:
        problems.append(Problem("network.path", f"'{spec.path}' has {network.size} node(s)", "at least 2 nodes"))
    population = scenario.population
    if "size" in population.model_fields_set and network.size != population.size:
        problems.append(
            Problem(
                "population.size",
                f"is {population.size} but the network file has {network.size} nodes",
                "leave it out, or match the edge list",
            )
        )
    return problems
