"""Network generators.  Every graph is a networkx graph whose nodes are 0..N-1 in role order
(departments, with the coordinator at 0; enterprises, with the grid company first, then water
companies, telecom operators and others; then the public) and carry ``role`` and ``kind``.
All randomness comes from the generator passed in, so one model seed fixes the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

import networkx as nx
import numpy as np

from agents.roles import ROLE_KEYS
from simulation.config import ConfigError, Network, Population

ROLES = ROLE_KEYS
# The kinds a node of each role may carry in a network file, and the kinds only one node may have.
KINDS_OF_ROLE = {"government": ("coordinator", "department"), "enterprise": ("grid", "water", "telecom", "enterprise"),
                 "public": ("public",)}
UNIQUE_KINDS = ("coordinator", "grid")
# The case has one coordinator and one grid company: the first node of their role runs under their
# rules, so a file whose first such node is marked another kind (all water companies) has none.
REQUIRED_KINDS = {"government": "coordinator", "enterprise": "grid"}


@dataclass(frozen=True)
class Layout:
    """How many agents of each role and kind; node ids follow this order."""

    government: int
    enterprise: int
    public: int
    water: int
    telecom: int

    @property
    def holders(self) -> int:
        return self.government + self.enterprise

    @property
    def total(self) -> int:
        return self.holders + self.public

    @property
    def grid(self) -> int:
        return self.government

    def kinds(self) -> list[str]:
        others = self.enterprise - 1 - self.water - self.telecom
        return (
            ["coordinator"] + ["department"] * (self.government - 1)
            + ["grid"] + ["water"] * self.water + ["telecom"] * self.telecom + ["enterprise"] * others
            + ["public"] * self.public
        )

    def roles(self) -> list[str]:
        return ["government"] * self.government + ["enterprise"] * self.enterprise + ["public"] * self.public


def layout_of(pop: Population) -> Layout:
    return Layout(pop.government, pop.enterprise, pop.public, pop.water_companies, pop.telecom_operators)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _label(graph: nx.Graph, layout: Layout) -> nx.Graph:
    nx.set_node_attributes(graph, dict(enumerate(layout.roles())), "role")
    nx.set_node_attributes(graph, dict(enumerate(layout.kinds())), "kind")
    return graph


def _pairs_with_probability(nodes: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Each unordered pair of ``nodes`` independently with ``prob`` (geometric skipping, O(edges))."""
    n = len(nodes)
    total = n * (n - 1) // 2
    if prob <= 0 or total == 0:
        return np.empty((0, 2), dtype=np.int64)
    count = rng.binomial(total, prob)
    flat = rng.choice(total, size=count, replace=False) if count < total else np.arange(total)
    # Invert the triangular index: pair (i, j), i < j, has flat index i*n - i*(i+1)/2 + (j - i - 1).
    i = (n - 0.5 - np.sqrt((n - 0.5) ** 2 - 2 * flat)).astype(np.int64)
    i = np.clip(i, 0, n - 2)
    start = i * n - i * (i + 1) // 2
    fix = flat < start
    i[fix] -= 1
    start = i * n - i * (i + 1) // 2
    over = flat >= start + (n - i - 1)
    i[over] += 1
    start = i * n - i * (i + 1) // 2
    j = flat - start + i + 1
    return np.column_stack([nodes[i], nodes[j]])


def _ties_to(sources: np.ndarray, targets: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Each source tied to ``k`` distinct random targets (or all of them when there are fewer)."""
    if k <= 0 or len(targets) == 0 or len(sources) == 0:
        return np.empty((0, 2), dtype=np.int64)
    k = min(k, len(targets))
    picks = np.argsort(rng.random((len(sources), len(targets))), axis=1)[:, :k] if len(targets) <= 64 else \
        _distinct_choices(len(sources), len(targets), k, rng)
    return np.column_stack([np.repeat(sources, k), targets[picks.ravel()]])


def _distinct_choices(rows: int, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    picks = rng.integers(0, n, size=(rows, k))
    for _ in range(100):
        sorted_picks = np.sort(picks, axis=1)
        dup_rows = np.nonzero((np.diff(sorted_picks, axis=1) == 0).any(axis=1))[0]
        if len(dup_rows) == 0:
            break
        picks[dup_rows] = rng.integers(0, n, size=(len(dup_rows), k))
    return picks


def sectoral_edges(layout: Layout, net: Network, rng: np.random.Generator) -> np.ndarray:
    """Departments densely tied; enterprises to a few departments (the grid to many and to the
    water companies); sparse enterprise ties; the public to a few holders."""
    gov = np.arange(layout.government)
    ent = np.arange(layout.government, layout.holders)
    grid = np.array([layout.grid])
    water = np.arange(layout.grid + 1, layout.grid + 1 + layout.water)
    ordinary = ent[1:]
    holders = np.arange(layout.holders)
    pub = np.arange(layout.holders, layout.total)
    coordinator_ties = np.column_stack([np.zeros(len(gov) - 1, dtype=np.int64), gov[1:]])
    parts = [
        coordinator_ties,
        _pairs_with_probability(gov[1:], net.department_density, rng),
        _ties_to(grid, gov, net.grid_departments, rng),
        np.column_stack([np.repeat(grid, len(water)), water]),
        _ties_to(ordinary, gov, net.enterprise_departments, rng),
        _pairs_with_probability(ordinary, net.enterprise_density, rng),
        _ties_to(pub, holders, net.public_degree, rng),
    ]
    edges = np.concatenate([p.astype(np.int64) for p in parts])
    edges = np.sort(edges, axis=1)
    edges = edges[edges[:, 0] != edges[:, 1]]
    keys = sorted_unique(edges[:, 0] * layout.total + edges[:, 1])  # pairs in lexicographic order
    return np.column_stack([keys // layout.total, keys % layout.total])


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """The distinct values of ``keys`` in ascending order.  np.unique gives the same, but is hash
    based in NumPy 2.5 and took 50 times as long as this sort on a million agents' links."""
    keys = np.sort(keys)
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys


def _relabelled(graph: nx.Graph, layout: Layout, rng: np.random.Generator) -> nx.Graph:
    """Put a structural generator's nodes in role order at random, so roles are mixed over the structure."""
    order = rng.permutation(layout.total)
    mapping = {int(old): new for new, old in enumerate(order)}
    relabelled = nx.relabel_nodes(graph, mapping)
    out = nx.Graph()
    out.add_nodes_from(range(layout.total))
    out.add_edges_from(relabelled.edges())
    return out


class BuiltNetwork:
    """A network as the model uses it: an (m, 2) edge array in the order networkx lists the edges,
    and the labelled networkx graph, built on first use only (at a million agents networkx needs
    gigabytes and minutes, the model only the arrays)."""

    def __init__(self, layout: Layout, edges: np.ndarray, graph: nx.Graph | None = None) -> None:
        self.layout, self.edges, self._graph = layout, edges, graph

    @property
    def graph(self) -> nx.Graph:
        if self._graph is None:
            self._graph = graph_of(self.layout, self.edges)
        return self._graph


def build_network(layout: Layout, net: Network, rng: np.random.Generator) -> BuiltNetwork:
    """Sectoral networks stay arrays (sorted unique pairs, the order networkx would list them in);
    the structural generators go through networkx."""
    if net.kind == "sectoral":
        return BuiltNetwork(layout, sectoral_edges(layout, net, rng))
    graph = build_graph(layout, net, rng)
    return BuiltNetwork(layout, edge_array(graph), graph)


def read_network_file(path: str | Path) -> BuiltNetwork:
    graph, layout = read_graph_file(path)
    return BuiltNetwork(layout, edge_array(graph), graph)


def edge_array(graph: nx.Graph) -> np.ndarray:
    return np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)


def graph_of(layout: Layout, edges: np.ndarray) -> nx.Graph:
    """The labelled networkx graph on nodes 0..N-1 with ``edges``."""
    graph = nx.Graph()
    graph.add_nodes_from(range(layout.total))
    graph.add_edges_from(edges.tolist())
    return _label(graph, layout)


def build_graph(layout: Layout, net: Network, rng: np.random.Generator) -> nx.Graph:
    n = layout.total
    if net.kind == "sectoral":
        return graph_of(layout, sectoral_edges(layout, net, rng))
    elif net.kind == "complete":
        graph = nx.complete_graph(n)
    elif net.kind == "erdos_renyi":
        prob = min(1.0, net.mean_degree / max(1, n - 1))
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(_pairs_with_probability(np.arange(n), prob, rng).tolist())
    elif net.kind == "small_world":
        k = max(2, int(round(net.mean_degree)))
        graph = _relabelled(nx.watts_strogatz_graph(n, min(k, n - 1), net.rewiring, seed=_seed(rng)), layout, rng)
    elif net.kind == "scale_free":
        graph = _relabelled(nx.barabasi_albert_graph(n, min(net.attachment, n - 1), seed=_seed(rng)), layout, rng)
    else:
        raise ConfigError(f"network.kind: {net.kind!r} needs read_graph_file, not build_graph")
    return _label(graph, layout)


def read_graph_file(path: str | Path) -> tuple[nx.Graph, Layout]:
    """A GraphML file (node attribute ``role``, optional ``kind``) or a CSV edge list with columns
    ``source,target,source_role,target_role``; nodes are renumbered into role order."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".graphml":
            raw = nx.read_graphml(path)
            roles = {node: data.get("role") for node, data in raw.nodes(data=True)}
            kinds = {node: data.get("kind") for node, data in raw.nodes(data=True)}
        else:
            raw, roles, kinds = _read_edge_csv(path)
    except ParseError as exc:  # an empty file or one that is not XML
        raise ConfigError(f"{path}: cannot read the network: not a GraphML (XML) file: {exc}") from None
    except (OSError, ValueError, KeyError, nx.NetworkXError) as exc:
        raise ConfigError(f"{path}: cannot read the network: {exc}") from None
    bad = sorted({str(r) for r in roles.values() if r not in ROLES})
    if bad:
        raise ConfigError(f"{path}: role must be one of {', '.join(ROLES)}; found {', '.join(bad)}")
    _check_kinds(path, roles, kinds)
    by_role = {r: [n for n in raw.nodes if roles[n] == r] for r in ROLES}
    if len(by_role["government"]) < 2 or not by_role["enterprise"]:
        raise ConfigError(f"{path}: the network needs at least 2 government and 1 enterprise nodes")
    # Coordinator and grid first within their roles, when the file marks them.
    by_role["government"].sort(key=lambda n: kinds.get(n) != "coordinator")
    ent = by_role["enterprise"]
    order = ["grid", "water", "telecom"]
    ent.sort(key=lambda n: order.index(kinds[n]) if kinds.get(n) in order else len(order))
    _check_required(path, by_role, kinds)
    water = sum(kinds.get(n) == "water" for n in ent)
    telecom = sum(kinds.get(n) == "telecom" for n in ent)
    layout = Layout(len(by_role["government"]), len(ent), len(by_role["public"]), water, telecom)
    mapping = {node: i for i, node in enumerate(by_role["government"] + ent + by_role["public"])}
    graph = nx.Graph()
    graph.add_nodes_from(range(layout.total))
    graph.add_edges_from((mapping[u], mapping[v]) for u, v in raw.edges() if u != v)
    return _label(graph, layout), layout


def _check_kinds(path: Path, roles: dict, kinds: dict) -> None:
    """Each node's kind (when the file gives one) belongs to its role, and there is at most one
    coordinator and one grid company, so that no node runs under another role's rules."""
    for node, kind in kinds.items():
        if kind is not None and kind not in KINDS_OF_ROLE[roles[node]]:
            allowed = ", ".join(KINDS_OF_ROLE[roles[node]])
            raise ConfigError(f"{path}: node {node}: kind '{kind}' does not belong to role {roles[node]}"
                              f" (a {roles[node]} node may be: {allowed})")
    for unique in UNIQUE_KINDS:
        marked = [node for node, kind in kinds.items() if kind == unique]
        if len(marked) > 1:
            raise ConfigError(f"{path}: {len(marked)} nodes have kind '{unique}' ({', '.join(map(str, marked[:5]))});"
                              f" the model has one {unique}")


def _check_required(path: Path, by_role: dict[str, list], kinds: dict) -> None:
    """The first node of each role in :data:`REQUIRED_KINDS` (sorted: a marked one first) is
    unmarked or of the kind the case requires there."""
    for role, kind in REQUIRED_KINDS.items():
        first = by_role[role][0]
        if kinds.get(first) not in (None, kind):
            found = ", ".join(sorted({str(kinds.get(n)) for n in by_role[role]}))
            raise ConfigError(f"{path}: no {role} node is the {kind} (kinds found: {found}); the case has one {kind}:"
                              f" mark one {role} node kind '{kind}'")


def _read_edge_csv(path: Path):
    import csv

    graph, roles, kinds = nx.Graph(), {}, {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"source", "target", "source_role", "target_role"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"missing columns {', '.join(sorted(missing))}")
        for row in reader:
            u, v = row["source"], row["target"]
            graph.add_edge(u, v)
            for node, role in ((u, row["source_role"]), (v, row["target_role"])):
                if roles.setdefault(node, role) != role:
                    raise ValueError(f"node {node} has two roles: {roles[node]} and {role}")
    return graph, roles, kinds
