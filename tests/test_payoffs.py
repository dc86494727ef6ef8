"""Each lever moves the payoff difference the way docs/ODD.md section 4 says."""

from dataclasses import replace

import numpy as np
import pytest

from agents import enterprise, government, public
from agents import incentives as payoffs
from simulation.config import Parameters
from agents.incentives import HolderState, Levers, Neighbourhood

P = Parameters()
ONE = np.array([1.0])


def near(g=0.5, e=0.5, pub=0.5, h=0.5) -> Neighbourhood:
    return Neighbourhood(g * ONE, e * ONE, pub * ONE, h * ONE)


def enterprise_gain(lv=Levers(), perception=0.5, g=0.5, pub=0.5, h=0.5, **state):
    st = dict(volume=1.0, quality=0.5, technology=0.3, security=0.3, mean_trust=0.4, exposure=0.6)
    st.update(state)
    hs = HolderState(**{k: np.array([v]) for k, v in st.items()})
    share, hoard = enterprise.payoffs(P, lv, hs, near(g=g, pub=pub, h=h), perception * ONE)
    return float((share - hoard)[0])


def government_gain(lv=Levers(), perception=0.5, e=0.5, pub=0.5, h=0.5):
    active, passive = government.payoffs(P, lv, near(e=e, pub=pub, h=h), perception * ONE)
    return float((active - passive)[0])


def public_gain(lv=Levers(), perception=0.5, g=0.5, incident_rate=0.0):
    part, by = public.payoffs(P, lv, near(g=g), 0.5 * ONE, incident_rate, perception * ONE)
    return float((part - by)[0])


@pytest.mark.parametrize("lever, value", [
    ("coordination", 0.9), ("ownership_clarity", 0.9), ("enterprise_subsidy", 0.5),
    ("evaluation_reward", 0.5), ("evaluation_penalty", 1.0), ("pricing", 1.0),
])
def test_enterprise_levers_raise_the_gain_from_sharing(lever, value):
    base = Levers(price_cap=0.6, price_markup=0.2)
    assert enterprise_gain(replace(base, **{lever: value})) > enterprise_gain(base)


@pytest.mark.parametrize("field, low, high, sign", [
    ("technology", 0.1, 0.9, +1), ("security", 0.1, 0.9, +1), ("mean_trust", 0.1, 0.9, +1),
    ("quality", 0.3, 0.7, +1), ("exposure", 0.1, 0.9, -1),
])
def test_enterprise_state_moves_the_gain(field, low, high, sign):
    assert sign * (enterprise_gain(**{field: high}) - enterprise_gain(**{field: low})) > 0


def test_cognition_raises_perceived_benefits_for_every_role():
    assert enterprise_gain(perception=0.9) > enterprise_gain(perception=0.1)
    assert government_gain(perception=0.9) > government_gain(perception=0.1)
    assert public_gain(perception=0.9) > public_gain(perception=0.1)


def test_public_participation_raises_detection_and_reputation_pressure_on_hoarders():
    lv = Levers(evaluation_penalty=1.0)
    assert enterprise_gain(lv, pub=0.9) > enterprise_gain(lv, pub=0.1)


def test_government_gains_from_sharing_holders_and_participation_and_coordination():
    assert government_gain(h=0.9) > government_gain(h=0.1)
    assert government_gain(pub=0.9) > government_gain(pub=0.1)
    assert government_gain(Levers(coordination=0.9)) > government_gain(Levers(coordination=0.1))


def test_government_pays_part_of_subsidies():
    lv = Levers(enterprise_subsidy=1.0)
    assert government_gain(lv, e=0.9) < government_gain(lv, e=0.1)


def test_public_levers_and_incidents():
    assert public_gain(Levers(public_reward=0.3)) > public_gain()
    assert public_gain(Levers(participation_cost_cut=0.5)) > public_gain()
    assert public_gain(g=0.9) > public_gain(g=0.1)
    assert public_gain(incident_rate=0.1) < public_gain(incident_rate=0.0)


def test_tiering_lowers_exposure():
    cond, restr = np.array([0.4]), np.array([0.2])
    assert payoffs.exposure(P, Levers(tiering=1.0), cond, restr)[0] < payoffs.exposure(P, Levers(), cond, restr)[0]


def test_price_is_cost_plus_and_capped():
    q, tau = np.array([0.3, 0.69]), np.array([0.0, 0.0])
    price = payoffs.data_price(P, Levers(pricing=1.0, price_markup=0.2, price_cap=0.5), q, tau)
    unit_cost = P.handling_cost + payoffs.remediation_unit_cost(P, q, tau)
    assert np.all(price <= 0.5)
    assert price[1] == pytest.approx(unit_cost[1] * 1.2)
