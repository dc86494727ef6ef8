"""The roles' decision rules move the way docs/ODD.md section 6 says: each lever acts on the payoff
it names, on the scale of the data involved."""

from dataclasses import replace

import numpy as np
import pytest

from agents import enterprise, government, public
from agents import incentives
from agents.incentives import GRANT_RULES, Levers, Requests
from simulation.config import Parameters

P = Parameters()


def request(**fields) -> Requests:
    """One discretionary request to an enterprise or department, as the rules see it."""
    values = dict(size=1.0, quality=0.6, technology=0.3, security=0.3, trust=0.5, exposure=0.6, automatic=False,
                  not_shareable=False, conditional=1.0, obliged=0.0, requester_shares=1.0, provider_shares=1.0,
                  watched=0.3, perception=0.5, provider_perception=0.5, provider_value=1.0)
    values.update(fields)
    service = values.pop("service", 1.0)
    return Requests(**{k: np.array([v]) for k, v in values.items()}, service=service)


def provider_gain(rule=enterprise, lv=Levers(), **fields) -> float:
    share, hoard = rule.provider_payoffs(P, lv, request(**fields))
    return float((share - hoard)[0])


def requester_gain(rule=enterprise, lv=Levers(), **fields) -> float:
    share, hoard = rule.requester_payoffs(P, lv, request(**fields))
    return float((share - hoard)[0])


@pytest.mark.parametrize("lever, value", [
    ("coordination", 0.9), ("ownership_clarity", 0.9), ("enterprise_subsidy", 0.5),
    ("evaluation_reward", 0.5), ("evaluation_penalty", 1.0), ("pricing", 1.0),
])
def test_each_provider_lever_raises_the_gain_from_sharing(lever, value):
    base = Levers(price_cap=0.6, price_per_quality=0.5)
    assert provider_gain(lv=replace(base, **{lever: value})) > provider_gain(lv=base)


def test_the_subsidy_goes_to_enterprises_only():
    lv = Levers(enterprise_subsidy=0.5)
    assert provider_gain(government, lv) == pytest.approx(provider_gain(government))
    assert provider_gain(enterprise, lv) > provider_gain(enterprise)


def test_an_authority_that_arbitrates_makes_hoarding_costlier_than_sharing():
    """Escalated refusals end in grants without the bonus for answering in time."""
    lv = Levers(evaluation_reward=0.3)
    assert provider_gain(lv=replace(lv, escalation=0.8, arbitration=0.9)) > provider_gain(lv=lv)


def test_the_platform_grants_unconditional_data_of_a_sharer_whatever_the_trust():
    low, high = (provider_gain(automatic=True, trust=t, lv=Levers(evaluation_reward=0.5)) for t in (0.1, 0.9))
    share, _ = enterprise.provider_payoffs(P, Levers(evaluation_reward=0.5), request(automatic=True, trust=0.1))
    grant = incentives.grant_payoff(P, Levers(), request(automatic=True, trust=0.1)) + 0.5
    assert share[0] == pytest.approx(grant[0])
    assert high > low  # the risk premium falls with trust


def test_not_shareable_data_is_worth_nothing_either_way():
    share, hoard = enterprise.provider_payoffs(P, Levers(evaluation_penalty=1.0), request(not_shareable=True))
    assert share[0] == hoard[0] == 0.0


def test_every_term_but_the_effort_of_a_case_scales_with_the_data_involved():
    """Payoffs are per data unit, so the largest holder has the most at stake; only the requester's
    effort of taking a case to the authority is per case (small requests are not worth one)."""
    lv = Levers(evaluation_reward=0.2, evaluation_penalty=0.5, pricing=1.0, price_cap=0.6, price_per_quality=0.5,
                escalation=0.5, arbitration=0.9)
    effortless = P.model_copy(update={"escalation_effort": 0.0})
    for rule in (government, enterprise):
        for side in (rule.provider_payoffs, rule.requester_payoffs):
            small, large = side(effortless, lv, request(size=1.0)), side(effortless, lv, request(size=20.0))
            assert np.allclose(np.array(large), 20.0 * np.array(small))
        share, hoard = rule.requester_payoffs(P, lv, request(size=1.0, perception=0.0))
        assert share[0] < 0 and hoard[0] < 0  # data it sees no value in, and the effort of its cases


def test_reciprocity_rewards_a_requester_that_shares():
    assert requester_gain() > 0
    assert requester_gain(lv=Levers(), perception=0.9) > requester_gain(perception=0.1)
    assert requester_gain(automatic=True) == 0.0  # the platform grants unconditional data to anyone


def test_prices_rise_with_quality_not_with_remediation_cost_and_are_capped():
    lv = Levers(pricing=1.0, price_per_quality=0.5, price_cap=0.4)
    q = np.array([0.2, 0.6, 0.9])
    price = incentives.unit_price(lv, q)
    assert price[0] < price[1] and np.all(price <= 0.4)
    assert incentives.unit_price(replace(lv, pricing=0.0), q).sum() == 0.0
    poor_technology = incentives.grant_payoff(P, lv, request(quality=0.3, technology=0.0))
    good_technology = incentives.grant_payoff(P, lv, request(quality=0.3, technology=0.9))
    assert good_technology > poor_technology  # remediation is a cost, never a source of revenue


def test_grant_probability_is_smooth_and_never_certain():
    trust = np.linspace(0, 1, 11)
    chance = incentives.grant_probability(P, trust)
    assert np.all(np.diff(chance) > 0) and np.all((chance > 0) & (chance < 1))
    assert incentives.grant_probability(P, np.array([P.trust_threshold]))[0] == pytest.approx(0.5)


def test_public_levers_and_incidents():
    def gain(lv=Levers(), served=0.5, incident_rate=0.0):
        part, by = public.payoffs(P, lv, np.array([served]), np.array([0.5]), incident_rate, np.array([0.5]))
        return float((part - by)[0])

    assert gain(Levers(public_reward=0.3)) > gain()
    assert gain(Levers(participation_cost_cut=0.5)) > gain()
    assert gain(served=0.9) > gain(served=0.1)
    assert gain(incident_rate=0.1) < gain(incident_rate=0.0)


def test_a_departments_obligation_binds_on_the_catalogued_channel_only():
    """A refusal of another department's catalogued request costs a department its assessment: the
    obligation raises its gain from sharing there, and nowhere else, and never for an enterprise."""
    binding = P.model_copy(update={"obligation_weight": 1.0})

    def gain(rule, params, obliged):
        share, hoard = rule.provider_payoffs(params, Levers(), request(obliged=obliged))
        return float((share - hoard)[0])
    assert gain(government, binding, 1.0) > gain(government, P, 1.0) > gain(government, P, 0.0)
    assert gain(government, binding, 0.0) == pytest.approx(gain(government, P, 0.0))
    assert gain(enterprise, binding, 1.0) == pytest.approx(gain(enterprise, P, 1.0))


def test_cognition_narrows_the_providers_perceived_cost_toward_the_true_one():
    """Providers decide on perceived cost and risk: low cognition over-perceives them, full cognition
    sees the true cost (what welfare counts)."""
    low, high, full = (float(incentives.cost_per_unit(P, Levers(), request(provider_perception=c))[0])
                       for c in (0.1, 0.6, 1.0))
    assert low > high > full
    assert provider_gain(provider_perception=0.9) > provider_gain(provider_perception=0.1)
    blind = P.model_copy(update={"risk_misperception": 0.0})
    assert float(incentives.cost_per_unit(blind, Levers(), request(provider_perception=0.1))[0]) == pytest.approx(full)


def test_the_provider_gains_from_sharing_far_less_than_the_requester():
    own = float(incentives.own_benefit_per_unit(P, request())[0])
    requester_value = government.value_per_unit(P) * 0.6
    assert own == pytest.approx(requester_value / P.value_asymmetry)
    assert provider_gain(provider_value=1.0) > provider_gain(provider_value=0.0)


def test_the_grant_rule_decides_whether_trust_gates_a_grant():
    def chance(rule, trust, requester_shares=1.0):
        params = P.model_copy(update={"grant_rule": rule})
        return float(incentives.discretionary_grant(params, request(trust=trust), 1.0, requester_shares)[0])
    assert chance("trust_gated", 0.9) > chance("trust_gated", 0.1)
    assert chance("obligation", 0.9) == chance("obligation", 0.1) == pytest.approx(P.conditions_met)
    assert chance("obligation", 0.5, requester_shares=0.0) == chance("obligation", 0.5)  # no reciprocity either
    assert chance("trust_gated", 0.5, 0.0) < chance("trust_gated", 0.5)
    for trust in (0.1, 0.9):
        mixed = chance("mix", trust)
        assert min(chance("trust_gated", trust), chance("obligation", trust)) <= mixed
        assert mixed <= max(chance("trust_gated", trust), chance("obligation", trust))


def test_the_authority_rules_by_the_legal_tier():
    lv = Levers(arbitration=0.7)
    unconditional, conditional = request(conditional=0.0), request(conditional=1.0)
    restricted = request(conditional=0.0, restricted=1.0)
    assert incentives.ruling_probability(lv, unconditional)[0] == 1.0
    assert incentives.ruling_probability(lv, conditional)[0] == pytest.approx(0.7)
    assert incentives.ruling_probability(lv, restricted)[0] == 0.0


def test_a_requester_escalates_only_a_case_worth_its_effort():
    lv = Levers(escalation=1.0, arbitration=0.9)
    worth = incentives.escalation_worth
    assert worth(P, lv, request(size=1.0), 1.0)[0]
    assert not worth(P, lv, request(size=1e-4), 1.0)[0]  # a tiny request is not worth a case
    assert not worth(P, lv, request(size=1.0, service=0.0), 1.0)[0]  # an authority that never decides
    assert not worth(P, lv, request(size=1.0, restricted=1.0), 1.0)[0]  # the law forbids it anyway
    busy, free = (provider_gain(lv=replace(lv, evaluation_reward=0.3), service=s) for s in (0.1, 1.0))
    assert free > busy  # providers expect fewer forced grants from a swamped authority


def test_providers_expect_escalation_only_of_the_cases_worth_their_requesters_effort():
    """A provider weighing a refusal expects it taken to the authority only where the case is worth
    what the requester's role gets from the data (the rule requesters follow); unknown, every case."""
    lv = Levers(escalation=0.8, arbitration=0.9, evaluation_penalty=0.5)
    small, large = request(size=1e-3, requester_value=1.0), request(size=1.0, requester_value=1.0)
    assert incentives.expected_escalation(P, lv, small)[0] == 0.0
    assert incentives.expected_escalation(P, lv, large)[0] == pytest.approx(0.8)
    assert incentives.expected_escalation(P, lv, request(size=1e-3)) == 0.8
    assert provider_gain(lv=lv, size=1.0, requester_value=1.0) > provider_gain(lv=lv, size=1.0, requester_value=0.0)


def test_the_obligation_rule_never_grants_an_item_of_the_not_shareable_tier():
    """Deciding by the legal tier, an obliged provider refuses a not-shareable item as the authority
    would; a rule with a trust gate decides an uncatalogued request on trust (Model 2), never surely."""
    for rule in GRANT_RULES:
        params = P.model_copy(update={"grant_rule": rule})
        chance = incentives.discretionary_grant(params, request(conditional=0.0, restricted=1.0), 1.0, 1.0)
        assert chance[0] == pytest.approx(0.0) if rule == "obligation" else chance[0] < 1.0
