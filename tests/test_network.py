"""Network generators: roles, the case's structure, seeding, and graphs read from files."""

import networkx as nx
import numpy as np
import pytest

from simulation import ConfigError, DataSharingModel, load_scenario, run
from simulation.core.network import read_graph_file
from helpers import TINY_POPULATION, command, one_line


def model_with(root, tiny, **network):
    overrides = dict(tiny, **{f"network.{k}": v for k, v in network.items()})
    return DataSharingModel(load_scenario(root / "scenarios" / "baseline.yaml", overrides), seed=3)


@pytest.mark.parametrize("kind", ["sectoral", "small_world", "scale_free", "erdos_renyi", "complete"])
def test_every_generator_gives_labelled_nodes_in_role_order(root, tiny, kind):
    model = model_with(root, tiny, kind=kind)
    graph = model.graph
    g, e, p = (TINY_POPULATION[role] for role in ("government", "enterprise", "public"))
    assert sorted(graph.nodes) == list(range(g + e + p))
    roles = [graph.nodes[i]["role"] for i in range(g + e + p)]
    assert roles == ["government"] * g + ["enterprise"] * e + ["public"] * p
    assert graph.nodes[0]["kind"] == "coordinator" and graph.nodes[g]["kind"] == "grid"
    if kind == "complete":
        assert graph.number_of_edges() == (g + e + p) * (g + e + p - 1) // 2


def test_sectoral_structure_follows_the_case(baseline):
    model = DataSharingModel(baseline, seed=2)
    graph, lay = model.graph, model.layout
    departments = range(1, lay.government)
    assert all(graph.has_edge(0, d) for d in departments)  # the coordinator reaches every department
    water = [i for i in graph.nodes if graph.nodes[i]["kind"] == "water"]
    assert all(graph.has_edge(lay.grid, w) for w in water)  # confidentiality agreements
    public = [i for i in graph.nodes if graph.nodes[i]["role"] == "public"]
    assert all(all(n < lay.holders for n in graph.neighbors(p)) for p in public)
    assert graph.degree(lay.grid) > np.median([graph.degree(i) for i in range(lay.government, lay.holders)])


@pytest.mark.parametrize("kind", ["sectoral", "small_world", "scale_free", "erdos_renyi"])
def test_graph_depends_only_on_the_seed(root, tiny, kind):
    a, b = model_with(root, tiny, kind=kind), model_with(root, tiny, kind=kind)
    assert sorted(a.graph.edges()) == sorted(b.graph.edges())


def example_graph(**changes) -> nx.Graph:
    """A small case as a user would draw it; ``changes`` give nodes another (role, kind)."""
    graph = nx.Graph()
    roles = {"dataAdmin": ("government", "coordinator"), "energyDept": ("government", None),
             "waterDept": ("government", None), "grid": ("enterprise", "grid"), "waterCo": ("enterprise", "water"),
             "telco": ("enterprise", "telecom"), "alice": ("public", None), "bob": ("public", None)}
    roles.update(changes)
    for node, (role, kind) in roles.items():
        graph.add_node(node, role=role, **({"kind": kind} if kind else {}))
    graph.add_edges_from([("dataAdmin", "energyDept"), ("dataAdmin", "waterDept"), ("energyDept", "grid"),
                          ("grid", "waterCo"), ("waterDept", "waterCo"), ("telco", "dataAdmin"),
                          ("alice", "grid"), ("bob", "waterDept")])
    return graph


def _file_scenario(root, tmp_path, path):
    (tmp_path / "file.yaml").write_text(
        f"extends: {root / 'scenarios' / 'baseline.yaml'}\nname: from_file\n"
        f"network: {{kind: file, path: {path.name}}}\n")
    return load_scenario(tmp_path / "file.yaml")


def test_graphml_network(root, tmp_path):
    nx.write_graphml(example_graph(), tmp_path / "case.graphml")
    scenario = _file_scenario(root, tmp_path, tmp_path / "case.graphml")
    result = run(scenario, seed=1, steps=5)
    model = result.model
    assert (model.layout.government, model.layout.enterprise, model.layout.public) == (3, 3, 2)
    assert model.kinds[:6] == ["coordinator", "department", "department", "grid", "water", "telecom"]
    assert model.graph.number_of_edges() == 8


def test_csv_edge_list_network(root, tmp_path):
    lines = ["source,target,source_role,target_role"]
    for u, v in example_graph().edges():
        roles = nx.get_node_attributes(example_graph(), "role")
        lines.append(f"{u},{v},{roles[u]},{roles[v]}")
    (tmp_path / "case.csv").write_text("\n".join(lines) + "\n")
    model = DataSharingModel(_file_scenario(root, tmp_path, tmp_path / "case.csv"), seed=1)
    assert model.layout.total == 8 and model.graph.number_of_edges() == 8


def test_bad_network_files_are_clear_errors(root, tmp_path):
    graph = example_graph()
    graph.nodes["bob"]["role"] = "citizen"
    nx.write_graphml(graph, tmp_path / "bad.graphml")
    with pytest.raises(ConfigError, match="role must be one of"):
        DataSharingModel(_file_scenario(root, tmp_path, tmp_path / "bad.graphml"), seed=1)
    (tmp_path / "other.yaml").write_text(
        f"extends: {root / 'scenarios' / 'baseline.yaml'}\nnetwork: {{kind: file, path: missing.graphml}}\n")
    with pytest.raises(ConfigError, match="file not found"):
        load_scenario(tmp_path / "other.yaml")


@pytest.mark.parametrize("changes, needles", [
    ({"alice": ("public", "water")}, ["node alice", "kind 'water' does not belong to role public"]),
    ({"energyDept": ("government", "grid")}, ["node energyDept", "kind 'grid' does not belong to role government"]),
    ({"waterCo": ("enterprise", "grid")}, ["2 nodes have kind 'grid'"]),
    ({"energyDept": ("government", "coordinator")}, ["2 nodes have kind 'coordinator'"]),
])
def test_a_graphml_whose_roles_do_not_add_up_is_refused(tmp_path, write_scenario, capsys, changes, needles):
    path = tmp_path / "net.graphml"
    nx.write_graphml(example_graph(**changes), path)
    with pytest.raises(ConfigError):
        read_graph_file(path)
    scenario = write_scenario(tmp_path, network={"kind": "file", "path": "net.graphml"})
    one_line(command(capsys, "validate", str(scenario)), 2, "net.graphml", *needles)


def test_a_consistent_graphml_still_reads(tmp_path):
    path = tmp_path / "net.graphml"
    nx.write_graphml(example_graph(), path)
    _, layout = read_graph_file(path)
    assert (layout.government, layout.enterprise, layout.public, layout.water) == (3, 3, 2, 1)


@pytest.mark.parametrize("content", ["", "this is not XML at all", "<graphml><node"])
def test_an_empty_or_non_xml_graphml_is_one_line(tmp_path, write_scenario, capsys, content):
    (tmp_path / "net.graphml").write_text(content, encoding="utf-8")
    scenario = write_scenario(tmp_path, network={"kind": "file", "path": "net.graphml"})
    line = one_line(command(capsys, "validate", str(scenario)), 2, "net.graphml", "cannot read the network")
    assert "Traceback" not in line
