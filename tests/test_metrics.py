"""Metrics against networkx on known graphs."""

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from simulation.core.metrics import island_metrics, summarise, METRICS


def metrics_of(graph: nx.Graph):
    edges = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
    return island_metrics(graph.number_of_nodes(), edges[:, 0], edges[:, 1])


@pytest.mark.parametrize("graph", [
    nx.path_graph(10), nx.empty_graph(7), nx.disjoint_union(nx.complete_graph(5), nx.path_graph(3)),
    nx.gnp_random_graph(200, 0.01, seed=3), nx.barabasi_albert_graph(100, 1, seed=2),
])
def test_islands_match_networkx(graph):
    m = metrics_of(graph)
    comps = list(nx.connected_components(graph))
    assert m["islands"] == len(comps)
    assert m["largest_component_share"] == pytest.approx(max(len(c) for c in comps) / graph.number_of_nodes())
    assert m["isolated_share"] == pytest.approx(len(list(nx.isolates(graph))) / graph.number_of_nodes())


def test_isolated_share_on_erdos_renyi_is_near_exp_minus_c():
    n, c = 20_000, 2.0
    graph = nx.fast_gnp_random_graph(n, c / (n - 1), seed=11)
    assert metrics_of(graph)["isolated_share"] == pytest.approx(math.exp(-c), abs=0.01)


def test_summary_times():
    frame = pd.DataFrame({name: np.zeros(5) for name in METRICS})
    frame["step"] = range(5)
    frame["largest_component_share"] = [0.1, 0.5, 0.95, 0.8, 0.99]
    frame["adoption_holders"] = [0.1, 0.2, 0.3, 0.4, 0.45]
    summary = summarise(frame)
    assert summary["time_to_integration"] == 2
    assert summary["time_to_half_adoption"] is None
