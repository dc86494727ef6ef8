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
    """Integration counts only once the 90% component has held for the persistence window; a brief
    peak does not."""
    frame = pd.DataFrame({name: np.zeros(7) for name in METRICS})
    frame["step"] = range(7)
    frame["largest_component_share"] = [0.1, 0.95, 0.8, 0.92, 0.95, 0.99, 0.5]
    frame["adoption_holders"] = [0.1, 0.2, 0.3, 0.4, 0.45, 0.45, 0.45]
    assert summarise(frame, persistence=3)["time_to_lasting_integration"] == 3
    assert summarise(frame, persistence=4)["time_to_lasting_integration"] is None
    assert summarise(frame, persistence=1)["time_to_lasting_integration"] == 1
    assert summarise(frame)["time_to_half_adoption"] is None


def test_summary_cost_share_and_fulfilment():
    """Remediation over every cost of providing data; requests granted over filed, over the horizon."""
    frame = pd.DataFrame({name: np.zeros(3) for name in METRICS})
    frame["step"] = range(3)
    frame["remediation_cost"] = [0.0, 3.0, 1.0]
    frame["handling_cost"] = [0.0, 1.0, 1.0]
    frame["negotiation_cost"] = [0.0, 1.0, 0.0]
    frame["incident_loss"] = [0.0, 0.0, 1.0]
    frame["requests_filed"] = [0, 10, 30]
    frame["requests_granted"] = [0, 2, 18]
    summary = summarise(frame)
    assert summary["remediation_cost_share"] == pytest.approx(4 / 8)
    assert summary["fulfilment_overall"] == pytest.approx(20 / 40)


def _months(root, name: str, months: int = 18, seed: int = 4):
    """Each month of a run: the model's metrics and the month's requests."""
    from simulation import load_scenario
    from simulation.core.model import DataSharingModel

    model = DataSharingModel(load_scenario(root / "scenarios" / f"{name}.yaml"), seed=seed)
    for _ in range(months):
        model.step()
        yield model, model.month.requests, model.metrics


def test_waits_by_tier_count_the_catalogued_requests_of_each_tier(root):
    """Recomputed from the month's requests: unconditional = catalogued data of the open tier,
    conditional = catalogued data of neither the open nor the not-shareable tier."""
    seen = 0
    for model, batch, m in _months(root, "security"):
        p, view = model.params, batch.view
        unconditional = batch.catalogued & view.automatic
        conditional = batch.catalogued & ~view.automatic & ~view.not_shareable
        assert (m["requests_unconditional"], m["requests_conditional"]) == (unconditional.sum(), conditional.sum())
        if conditional.any():
            seen += 1
            assert m["wait_conditional_days"] == pytest.approx(batch.wait_days[conditional].mean())
            assert m["conditional_beyond_window_share"] == pytest.approx(batch.beyond_window[conditional].mean())
            # the provider answers after the review: at least one working day more
            assert m["wait_conditional_days"] >= p.review_days + 1
        if unconditional.any():
            assert m["wait_unconditional_days"] == pytest.approx(batch.wait_days[unconditional].mean())
            assert m["wait_unconditional_days"] >= p.review_days
    assert seen > 0


def test_only_the_departments_channel_is_catalogued_without_graded_catalogues(root):
    """In the baseline the provincial platform's catalogue covers requests between departments; a
    cross-sector request is catalogued only where the security countermeasure grades catalogues."""
    from simulation.core.requests import CATALOGUED

    for model, batch, m in _months(root, "baseline", months=6):
        between_departments = (batch.requester < model.layout.government) & (batch.provider < model.layout.government)
        assert (batch.catalogued == between_departments).all()
        assert ((batch.channel == CATALOGUED) == between_departments).all()
        assert m["requests_unconditional"] + m["requests_conditional"] <= m["requests_catalogued"]
    for model, batch, _ in _months(root, "security", months=6):
        assert batch.catalogued[batch.channel != CATALOGUED].any()


def test_telecom_volume_and_producers_by_role(root):
    """The telecom operators' units are those they delivered (granted or ordered); producer
    integration by role averages, weighted by the roles' holders, to producer integration."""
    from simulation.core.requests import KINDS

    for model, batch, m in _months(root, "all_countermeasures", months=12):
        telecom = np.flatnonzero(model.holders.kind_code == KINDS.index("telecom"))
        delivered = model.month.deliveries
        mask = np.isin(delivered.provider, telecom)
        assert m["volume_telecom"] == pytest.approx(delivered.size[mask].sum())
        g, e = model.layout.government, model.layout.enterprise
        weighted = (g * m["producer_integration_government"] + e * m["producer_integration_enterprise"]) / (g + e)
        assert weighted == pytest.approx(m["producer_integration"])


def test_channel_and_authority_metrics_recomputed_from_requests_and_rulings(root):
    """Per channel, requests filed, the share delivered and the units delivered; voluntary and
    forced grants; and the final waits, recomputed from the month's requests and the authority's
    rulings (cases filed in earlier months are answered this month)."""
    from simulation.core.requests import CATALOGUED, CROSS_SECTOR

    forced_seen = 0
    for model, batch, m in _months(root, "ecosystem", months=24):
        rulings = model.month.rulings
        ordered = rulings.decided.rows(rulings.granted)
        assert m["grants_voluntary"] == int(batch.granted.sum())
        assert m["grants_forced"] == len(ordered)
        assert m["volume_forced"] == pytest.approx(ordered.size.sum())
        assert m["cases_decided"] == len(rulings.decided) and m["authority_backlog"] == len(model.authority.queue)
        for channel, name in ((CATALOGUED, "catalogued"), (CROSS_SECTOR, "cross_sector")):
            on = batch.channel == channel
            delivered = batch.granted[on].sum() + (ordered.channel == channel).sum()
            assert m[f"requests_{name}"] == on.sum()
            assert m[f"fulfilment_{name}"] == pytest.approx(min(1.0, delivered / on.sum()) if on.any() else 0.0)
            units = batch.view.size[on & batch.granted].sum() + ordered.size[ordered.channel == channel].sum()
            assert m[f"volume_{name}"] == pytest.approx(units)
        waits = np.concatenate([batch.wait_days[~batch.escalated], rulings.wait_days])
        assert m["wait_mean_days"] == pytest.approx(waits.mean())
        assert (rulings.wait_days >= 21 * (model.steps - 1 - rulings.decided.filed)).all()  # queued months count
        forced_seen += len(ordered)
    assert forced_seen > 0


def test_the_headline_islands_count_exchanges_and_a_receiver_is_not_integrated():
    """Two holders joined by data going one way only are two islands of exchange (one island if
    deliveries either way counted); both ways makes them one."""
    from simulation.core.metrics import island_metrics_pair

    one_way = (np.array([0]), np.array([1]))
    none = (np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    either, exchange = island_metrics_pair(3, one_way, none)
    assert either["islands"] == 2 and exchange["islands"] == 3
    _, both = island_metrics_pair(3, one_way, one_way)
    assert both["islands"] == 2
