"""Scenario configuration: every parameter declared once, with default, range, unit, meaning and source.

A scenario is ``name, description, seed, steps`` and the blocks ``population, network, demand,
parameters, countermeasures``.  The pydantic models below forbid unknown keys, wrong types and non-finite
numbers; :mod:`simulation.config.loader` reads files into them and turns every problem into a
message naming the field and what is allowed.  The parameter table in docs/ODD.md is generated
from these declarations (``python -m simulation params``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulation.config.keys import leaf_fields


# Where a default comes from (docs/ODD.md section 8).  A source may add a note in brackets:
# "published rule (Decree 809: ...)".
PUBLISHED = "published rule"   # a published sharing rule fixes the value
CASE = "case study"            # the Guangdong case study reports it
ASSUMED = "assumption"         # neither: the modeller's choice, sampled over its plausible range by `robustness`
POLICY = "policy setting"      # what a countermeasure scenario decides (the treatment, not a claim about the world)
RUN_INPUT = "run input"        # chosen per run by the user (seed, a network file), no model content
SOURCES = (PUBLISHED, CASE, ASSUMED, POLICY, RUN_INPUT)


def param(default: Any, low: float | None, high: float | None, unit: str, meaning: str, source: str,
          plausible: tuple[float, float] | None = None) -> Any:
    """Declare a parameter: its default, allowed range, unit, one-line meaning and source (a
    published rule, the case study, an assumption, a policy setting or a run input).  An assumption
    also declares its ``plausible`` range ``(low, high)``: the values the robustness study samples."""
    extra: dict[str, Any] = {"unit": unit, "source": source}
    if plausible is not None:
        extra["plausible"] = list(plausible)
    return Field(default, ge=low, le=high, description=meaning, json_schema_extra=extra)


def choice(default: str, meaning: str, source: str, plausible: tuple[str, ...] | None = None) -> Any:
    """Declare a categorical parameter (its choices are its ``Literal`` type); an assumption also
    declares the ``plausible`` choices the robustness study samples."""
    extra: dict[str, Any] = {"unit": "-", "source": source}
    if plausible is not None:
        extra["plausible"] = list(plausible)
    return Field(default, description=meaning, json_schema_extra=extra)


def field_bounds(field: Any) -> tuple[float | None, float | None]:
    """The ``ge`` and ``le`` bounds a declared field carries (None where open)."""
    low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    return low, high


def field_unit(field: Any) -> str:
    """The unit a declared field carries ("-" for none)."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return extra.get("unit", "-")


def field_source(field: Any) -> str:
    """Where a declared field's default comes from, with its note."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return extra.get("source", "-")


def source_kind(field: Any) -> str:
    """Which of ``SOURCES`` a declared field's source is, without its note ("-" if undeclared)."""
    return field_source(field).split(" (")[0]


def field_plausible(field: Any) -> list[Any] | None:
    """An assumption's plausible range ``[low, high]`` or its plausible choices; None otherwise."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return extra.get("plausible")


def range_text(low: float | None, high: float | None) -> str:
    """``[low, high]`` as users read it; an open end is -inf or inf."""
    def bound(x: float | None, infinite: str) -> str:
        if x is None:
            return infinite
        return f"{x:g}" if isinstance(x, float) else str(x)
    return f"[{bound(low, '-inf')}, {bound(high, 'inf')}]"


class Block(BaseModel):
    # strict: a quoted "0.5" or "yes" in a file is a wrong type, not a number or a switch.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True, strict=True)


class Population(Block):
    government: int = param(20, 2, 200_000, "agents", "government departments, the coordinator included", CASE)
    enterprise: int = param(100, 1, 2_000_000, "agents", "enterprises: grid company, water, telecom and others",
                            ASSUMED, plausible=(60, 140))
    public: int = param(300, 0, 20_000_000, "agents", "members of the public", ASSUMED, plausible=(150, 450))
    water_companies: int = param(37, 0, 1_000_000, "agents",
                                 "water companies tied to the grid by confidentiality agreements", CASE)
    telecom_operators: int = param(3, 0, 1_000, "agents", "telecom operators whose data is mostly restricted", CASE)

    @model_validator(mode="after")
    def _enterprise_mix_fits(self) -> "Population":
        needed = 1 + self.water_companies + self.telecom_operators
        if self.enterprise < needed:
            raise ValueError(
                f"enterprise = {self.enterprise} is smaller than 1 grid company + water_companies"
                f" + telecom_operators = {needed}; raise enterprise or lower the others"
            )
        return self


class Network(Block):
    kind: Literal["sectoral", "small_world", "scale_free", "complete", "erdos_renyi", "file"] = choice(
        "sectoral", "network generator", ASSUMED, plausible=("sectoral", "small_world", "scale_free"))
    department_density: float = param(0.5, 0, 1, "probability", "chance that two departments are tied (sectoral)",
                                      ASSUMED, plausible=(0.3, 0.7))
    enterprise_departments: int = param(2, 0, 1000, "links",
                                        "departments each ordinary enterprise is tied to (sectoral)",
                                        ASSUMED, plausible=(1, 4))
    grid_departments: int = param(12, 0, 100_000, "links", "departments the grid company is tied to (sectoral)", CASE)
    enterprise_density: float = param(0.02, 0, 1, "probability",
                                      "chance that two other enterprises are tied (sectoral)",
                                      ASSUMED, plausible=(0.01, 0.04))
    public_degree: int = param(3, 0, 1000, "links", "holders each public agent is tied to (sectoral)",
                               ASSUMED, plausible=(2, 5))
    mean_degree: float = param(6.0, 0, 10_000, "links", "mean degree for small_world and erdos_renyi",
                               ASSUMED, plausible=(4.0, 10.0))
    rewiring: float = param(0.1, 0, 1, "probability", "rewiring probability for small_world",
                            ASSUMED, plausible=(0.05, 0.3))
    attachment: int = param(3, 1, 1000, "links", "links per new node for scale_free", ASSUMED, plausible=(2, 5))
    path: str | None = Field(None, description="GraphML or CSV edge list with roles (kind: file)",
                             json_schema_extra={"unit": "path", "source": RUN_INPUT})

    @model_validator(mode="after")
    def _file_needs_path(self) -> "Network":
        if self.kind == "file" and not self.path:
            raise ValueError("kind 'file' needs network.path (a .graphml or .csv edge list with roles)")
        return self


class Demand(Block):
    """Monthly chance that a holder asks a linked partner for data, by the pair of kinds; a rule that
    names a kind (grid, water) overrides the rule for its role."""

    government_from_government: float = param(0.5, 0, 1, "1/month/link", "a department asks a linked department",
                                              ASSUMED, plausible=(0.3, 0.7))
    government_from_enterprise: float = param(0.3, 0, 1, "1/month/link", "a department asks a linked enterprise",
                                              ASSUMED, plausible=(0.15, 0.45))
    enterprise_from_government: float = param(0.2, 0, 1, "1/month/link",
                                              "an enterprise asks a linked department (open government data)",
                                              ASSUMED, plausible=(0.1, 0.3))
    enterprise_from_enterprise: float = param(0.05, 0, 1, "1/month/link", "an enterprise asks a linked enterprise",
                                              ASSUMED, plausible=(0.02, 0.1))
    government_from_grid: float = param(0.6, 0, 1, "1/month/link",
                                        "a department asks the grid company (power data for services and monitoring)",
                                        CASE)
    grid_from_water: float = param(0.5, 0, 1, "1/month/link",
                                   "the grid company asks a water company (joint metering data)", CASE)
    water_from_grid: float = param(0.2, 0, 1, "1/month/link", "a water company asks the grid company", CASE)


class Parameters(Block):
    # Data holdings and capabilities
    volume_dispersion: float = param(1.0, 0, 3, "log-sd",
                                     "spread of the lognormal data volume of ordinary holders (median 1)",
                                     ASSUMED, plausible=(0.5, 1.5))
    grid_volume_factor: float = param(20.0, 1, 1000, "x median",
                                      "the grid company's data volume relative to the median holder",
                                      CASE + " (the largest holder; factor assumed)")
    quality_government: float = param(0.7, 0, 1, "share", "mean initial data quality of departments",
                                      ASSUMED, plausible=(0.55, 0.85))
    quality_enterprise: float = param(0.6, 0, 1, "share",
                                      "mean initial data quality of enterprises other than water companies",
                                      ASSUMED, plausible=(0.45, 0.75))
    quality_noise: float = param(0.1, 0, 1, "share", "sd of a holder's initial quality around its role's mean",
                                 ASSUMED, plausible=(0.05, 0.2))
    water_quality_min: float = param(0.2, 0, 1, "share",
                                     "lowest initial data quality of a water company (uniform spread)",
                                     CASE + " (mixed ownership, sparse meter reads)")
    water_quality_max: float = param(0.9, 0, 1, "share", "highest initial data quality of a water company",
                                     CASE + " (mixed ownership, sparse meter reads)")
    quality_standard: float = param(0.7, 0, 1, "share",
                                    "quality gate: data below it is remediated before it is provided",
                                    ASSUMED, plausible=(0.6, 0.8))
    quality_decay: float = param(0.01, 0, 0.5, "1/month", "share of quality lost each month as data ages",
                                 ASSUMED, plausible=(0.005, 0.03))
    technology_quality_gain: float = param(0.03, 0, 1, "1/month", "quality recovered per month per unit of technology",
                                           ASSUMED, plausible=(0.01, 0.06))
    remediation_learning: float = param(0.05, 0, 1, "1/month",
                                        "share of the gap to the standard closed in a month its holder remediates",
                                        ASSUMED, plausible=(0.02, 0.1))
    technology_initial: float = param(0.3, 0, 1, "share", "mean initial technology capacity of holders",
                                      ASSUMED, plausible=(0.15, 0.45))
    security_initial: float = param(0.3, 0, 1, "share", "mean initial security capacity of holders",
                                    ASSUMED, plausible=(0.15, 0.45))
    capability_noise: float = param(0.1, 0, 1, "share",
                                    "sd of a holder's initial technology and security around the means",
                                    ASSUMED, plausible=(0.05, 0.2))
    cognition_government: float = param(0.45, 0, 1, "share", "mean initial cognition of departments",
                                        ASSUMED, plausible=(0.3, 0.6))
    cognition_enterprise: float = param(0.3, 0, 1, "share", "mean initial cognition of enterprises",
                                        ASSUMED, plausible=(0.2, 0.45))
    cognition_public: float = param(0.25, 0, 1, "share", "mean initial cognition of the public",
                                    ASSUMED, plausible=(0.15, 0.4))
    cognition_noise: float = param(0.1, 0, 1, "share", "sd of an agent's initial cognition around its role's mean",
                                   ASSUMED, plausible=(0.05, 0.2))
    catalogue_unconditional: float = param(0.3, 0, 1, "share",
                                           "mean share of a department's catalogue items in the unconditional tier",
                                           ASSUMED + " (a minority: a former Hainan data-bureau head on Decree 809, "
                                           "2025)", plausible=(0.15, 0.45))
    catalogue_not_shareable: float = param(0.1, 0, 1, "share",
                                           "mean share of a department's catalogue items that may not be shared",
                                           PUBLISHED + " (NDRC, Jan 2018: 90% of 470,000 national catalogue items "
                                                       "shareable)")
    open_share: float = param(0.4, 0, 1, "share",
                              "mean share of an enterprise's data in the unconditional tier of a graded catalogue",
                              ASSUMED, plausible=(0.25, 0.55))
    open_noise: float = param(0.1, 0, 1, "share", "sd of a holder's unconditional share around its role's mean",
                              ASSUMED, plausible=(0.05, 0.2))
    restricted_share: float = param(0.2, 0, 1, "share", "mean share of an enterprise's data that may not be shared",
                                    ASSUMED, plausible=(0.1, 0.3))
    restricted_noise: float = param(0.05, 0, 1, "share", "sd of a holder's restricted share around its role's mean",
                                    ASSUMED, plausible=(0.02, 0.1))
    telecom_restricted_share: float = param(0.8, 0, 1, "share", "share of telecom data that may not be shared",
                                            CASE + " (telecom data was never integrated)")
    restricted_tolerance: float = param(0.5, 0, 1, "share", "without a graded catalogue, a provider whose data is "
                                        "more restricted than this refuses every request",
                                        ASSUMED, plausible=(0.3, 0.7))
    # Requests (docs/ODD.md section 3, step 4)
    request_share: float = param(0.1, 0, 1, "share",
                                 "share of the requester's monthly data volume (its need) one request asks for, "
                                 "at most that share of the provider's", ASSUMED, plausible=(0.05, 0.2))
    grant_rule: Literal["trust_gated", "obligation", "mix"] = choice(
        "mix", "how a provider decides a request: gated by trust on the link and reciprocity (Model 2), by its "
        "obligation and the legal tier without a trust gate, or half of each", ASSUMED + " (the literature disagrees "
        "on whether inter-agency trust matters in China)", plausible=("trust_gated", "obligation", "mix"))
    conditions_met: float = param(0.8, 0, 1, "probability",
                                  "chance a requester meets the conditions attached to conditional data "
                                  "(obligation rule)", ASSUMED, plausible=(0.6, 0.95))
    demand_discouragement: float = param(0.8, 0, 1, "share",
                                         "how far a requester's request rate on a link falls when it expects no "
                                         "answer there", ASSUMED, plausible=(0.5, 1.0))
    expectation_memory: float = param(0.3, 0, 1, "share",
                                      "weight of a month's outcomes in a requester's expected fulfilment on a link",
                                      ASSUMED, plausible=(0.15, 0.5))
    public_demand: float = param(0.5, 0, 10, "x", "extra requests a department files, relative to its base rate, "
                                 "when every public neighbour participates", ASSUMED, plausible=(0.25, 1.0))
    review_days: int = param(2, 0, 60, "working days", "the data authority's review of a request on the platform",
                             PUBLISHED + " (a local procedure, 2024: 2 working days)")
    reply_days_published: int = param(5, 1, 60, "working days", "reply window for data already on the platform",
                                      PUBLISHED + " (a local procedure, 2024: 5 working days for data on the platform)")
    reply_days_unpublished: int = param(10, 1, 60, "working days",
                                        "reply window for data the provider must publish first",
                                        PUBLISHED + " (a local procedure, 2024: 10 working days if it must publish "
                                                    "first; Guizhou: 10)")
    late_days_max: int = param(15, 1, 120, "working days", "longest delay past the window of a hoarder's answer",
                               PUBLISHED + " (Guizhou: one extension of at most 15 working days)")
    arbitration_days: int = param(10, 0, 120, "working days",
                                  "time the coordinating authority takes over a case once it takes it up",
                                  ASSUMED + " (Guizhou's reply limit)", plausible=(5, 20))
    escalation_effort: float = param(0.05, 0, 100, "10k yuan eq./case",
                                     "the requester's working days and effort of taking a refusal to the authority",
                                     ASSUMED + " (one staff day, about 500 yuan: docs/money.md)", plausible=(0.02, 0.1))
    case_patience: int = param(6, 1, 120, "months",
                               "months a case waits in the authority's queue before its requester withdraws it",
                               ASSUMED, plausible=(3, 12))
    hoarder_grant: float = param(0.2, 0, 1, "share",
                                 "a hoarding provider grants a request this much less often than a sharing one",
                                 ASSUMED, plausible=(0.1, 0.4))
    reciprocity: float = param(0.5, 0, 1, "share",
                               "how much less often providers grant requests from a holder that hoards itself",
                               ASSUMED, plausible=(0.25, 0.75))
    # Trust and links
    trust_initial: float = param(0.4, 0, 1, "share",
                                 "mean initial trust on a holder link, and the prior it drifts back to",
                                 ASSUMED, plausible=(0.3, 0.5))
    trust_government_bonus: float = param(0.2, 0, 1, "share",
                                          "extra initial and prior trust between two departments of one government",
                                          ASSUMED, plausible=(0.1, 0.3))
    trust_spread: float = param(0.2, 0, 0.5, "share", "half-width of the uniform spread of initial trust",
                                ASSUMED, plausible=(0.1, 0.3))
    trust_threshold: float = param(0.5, 0, 1, "share",
                                   "trust at which a willing provider grants a conditional request half the time",
                                   ASSUMED, plausible=(0.35, 0.65))
    trust_softness: float = param(0.1, 0.001, 1, "share",
                                  "how gradually the chance of a grant rises with trust around the threshold",
                                  ASSUMED, plausible=(0.05, 0.2))
    trust_gain: float = param(0.08, 0, 1, "per request",
                              "share of the gap to full trust closed by a request answered in time",
                              ASSUMED, plausible=(0.04, 0.16))
    trust_loss: float = param(0.05, 0, 1, "per request", "share of trust lost by a refused request",
                              ASSUMED, plausible=(0.025, 0.1))
    trust_decay: float = param(0.05, 0, 1, "1/month",
                               "share of the gap to the prior closed each month (no state is absorbing)",
                               ASSUMED, plausible=(0.025, 0.1))
    incident_trust_loss: float = param(0.2, 0, 1, "share", "share of trust lost on a holder's links after an incident",
                                       ASSUMED, plausible=(0.1, 0.4))
    flow_window: int = param(3, 1, 120, "months",
                             "a link counts toward islands if a request over it was fulfilled within this window",
                             ASSUMED, plausible=(2, 6))
    integration_threshold: float = param(0.9, 0, 1, "share",
                                         "share of holders the largest two-way component must hold for integration",
                                         ASSUMED, plausible=(0.8, 0.95))
    integration_persistence: int = param(6, 1, 120, "months", "months the largest two-way component must hold "
                                         "integration_threshold of holders for integration to count",
                                         ASSUMED, plausible=(3, 12))
    decay_after: int = param(6, 1, 600, "months", "a holder link with no fulfilled request this long may decay",
                             ASSUMED, plausible=(3, 12))
    decay_probability: float = param(0.02, 0, 1, "1/month", "chance per month that an idle link decays",
                                     ASSUMED, plausible=(0.01, 0.05))
    base_coordination: float = param(0.2, 0, 1, "share", "coordination strength without a leading coordinator",
                                     ASSUMED, plausible=(0.1, 0.35))
    base_ownership_clarity: float = param(0.2, 0, 1, "share",
                                          "clarity of data ownership without the mechanism countermeasure",
                                          ASSUMED, plausible=(0.1, 0.35))
    # Payoffs, per data unit involved (docs/ODD.md section 6)
    value_government: float = param(1.0, 0, 100, "10k yuan eq./unit",
                                    "public value a department creates from one unit of full-quality data it receives",
                                    ASSUMED, plausible=(0.5, 1.5))
    value_enterprise: float = param(1.0, 0, 100, "10k yuan eq./unit",
                                    "value to an enterprise of one unit of full-quality data it receives",
                                    ASSUMED, plausible=(0.5, 1.5))
    value_asymmetry: float = param(15.0, 1, 1000, "x",
                                   "how many times more a unit of data is worth to its requester than the provider "
                                   "gains from sharing it (a department's public mission, an enterprise's own use)",
                                   ASSUMED + " (OECD 2019: sharing creates 10-20x more value for users than for "
                                   "the holder)", plausible=(10.0, 20.0))
    obligation_weight: float = param(0.3, 0, 100, "10k yuan eq./unit",
                                     "what a department loses in its performance assessment per unit of a catalogued "
                                     "request of another department it refuses (a refusal must state a reason)",
                                     ASSUMED, plausible=(0.1, 0.6))
    risk_misperception: float = param(1.0, 0, 100, "x", "how much a provider of no cognition over-perceives the cost "
                                      "and risk of providing: perceived = true x (1 + this x (1 - cognition))",
                                      ASSUMED, plausible=(0.5, 2.0))
    training_capability: float = param(0.5, 0, 1, "share", "share of the training rate that also closes a holder's "
                                       "technology gap (quality up, remediation down)", ASSUMED,
                                       plausible=(0.25, 1.0))
    remediation_cost: float = param(2.0, 0, 100, "10k yuan/unit",
                                    "cost of lifting one data unit by the whole quality scale",
                                    ASSUMED, plausible=(1.0, 3.0))
    handling_cost: float = param(0.05, 0, 100, "10k yuan/unit", "cost of preparing one data unit for a requester",
                                 ASSUMED + " (an hour of staff time per median request on the platform; up to the 6 "
                                 "hours of a UK FOI request: docs/money.md)", plausible=(0.025, 0.4))
    coordination_cost: float = param(0.15, 0, 100, "10k yuan/unit",
                                     "cost of agreeing the terms of one unit provided, with no coordination",
                                     ASSUMED, plausible=(0.075, 0.3))
    risk_premium: float = param(0.2, 0, 100, "10k yuan eq./unit",
                                "perceived legal risk of one unit handed to an untrusted "
                                "partner under unclear ownership", ASSUMED, plausible=(0.1, 0.4))
    incident_probability: float = param(0.02, 0, 1, "per request",
                                        "chance that a granted request leaks, all of it sensitive and no security",
                                        ASSUMED, plausible=(0.01, 0.04))
    incident_loss: float = param(2.0, 0, 1000, "10k yuan eq./unit",
                                 "loss to the provider per data unit of a leaked request",
                                 ASSUMED, plausible=(1.0, 4.0))
    tiered_exposure: float = param(0.5, 0, 1, "share",
                                   "sensitive share of data granted from a conditional tier of a graded catalogue",
                                   ASSUMED, plausible=(0.3, 0.7))
    detection_base: float = param(0.3, 0, 1, "probability",
                                  "chance that the evaluation finds a refusal without public help",
                                  ASSUMED, plausible=(0.15, 0.3))
    detection_public: float = param(0.7, 0, 1, "probability",
                                    "extra chance when every public neighbour of the provider participates",
                                    ASSUMED, plausible=(0.5, 0.7))
    reputation: float = param(0.2, 0, 100, "10k yuan eq./unit",
                              "reputation an enterprise loses per unit refused, every public neighbour participating",
                              ASSUMED, plausible=(0.1, 0.4))
    accountability_loss: float = param(0.3, 0, 100, "10k yuan eq./unit", "accountability a department loses per unit "
                                       "refused, every public neighbour participating", ASSUMED, plausible=(0.15, 0.6))
    # Public payoff
    participation_cost: float = param(0.35, 0, 100, "10k yuan eq./month", "time and effort of participating",
                                      ASSUMED, plausible=(0.2, 0.5))
    responsiveness: float = param(0.4, 0, 100, "10k yuan eq./month", "benefit of participating when every neighbouring "
                                  "department got the data it asked for", ASSUMED, plausible=(0.2, 0.6))
    privacy_sensitivity: float = param(3.0, 0, 1000, "10k yuan eq./incident rate",
                                       "privacy cost per unit of recent incident rate", ASSUMED, plausible=(1.5, 6.0))
    privacy_concern: float = param(0.5, 0, 1, "share", "mean privacy concern of the public",
                                   ASSUMED, plausible=(0.3, 0.7))
    privacy_noise: float = param(0.15, 0, 1, "share", "sd of a citizen's privacy concern around the mean",
                                 ASSUMED, plausible=(0.05, 0.25))
    incident_memory: float = param(0.3, 0, 1, "share",
                                   "weight of this month's incident rate in the public's memory of incidents",
                                   ASSUMED, plausible=(0.15, 0.5))
    # Learning
    learning_rule: Literal["imitation", "logit"] = choice(
        "imitation", "strategy revision: proportional imitation or logit best response",
        ASSUMED + " (imitation's mean field is the replicator equation)", plausible=("imitation", "logit"))
    imitation_normaliser: Literal["role_max", "fixed"] = choice(
        "role_max", "imitation certain at the role's largest payoff gap this month, or at imitation_scale", ASSUMED,
        plausible=("role_max", "fixed"))
    imitation_scale: float = param(1.0, 1e-6, 1e6, "10k yuan eq.",
                                   "payoff gap at which imitation is certain (imitation_normaliser: fixed)",
                                   ASSUMED, plausible=(0.3, 3.0))
    logit_temperature: float = param(0.5, 1e-6, 1000, "x mean gap",
                                     "noise of logit best response, relative to the role's mean payoff gap",
                                     ASSUMED, plausible=(0.25, 1.0))
    revision_rate: float = param(0.3, 0, 1, "1/month", "chance an agent revises its strategy in a month",
                                 ASSUMED, plausible=(0.15, 0.45))
    exploration: float = param(0.005, 0, 1, "1/month", "chance a revising agent picks a strategy at random",
                               ASSUMED, plausible=(0.001, 0.02))
    initial_active_government: float = param(0.2, 0, 1, "share", "departments active at the start",
                                             ASSUMED, plausible=(0.1, 0.35))
    initial_share_enterprise: float = param(0.1, 0, 1, "share", "enterprises other than the grid sharing at the start",
                                            ASSUMED, plausible=(0.05, 0.2))
    initial_share_grid: float = param(1.0, 0, 1, "probability", "chance the grid company shares at the start",
                                      CASE + " (it already shares with some departments)")
    initial_participation: float = param(0.1, 0, 1, "share", "public participating at the start",
                                         ASSUMED, plausible=(0.05, 0.2))

    @model_validator(mode="after")
    def _consistent(self) -> "Parameters":
        if self.open_share + self.restricted_share > 1:
            raise ValueError(
                f"open_share + restricted_share = {self.open_share + self.restricted_share:g} exceeds 1"
            )
        if self.catalogue_unconditional + self.catalogue_not_shareable > 1:
            raise ValueError("catalogue_unconditional + catalogue_not_shareable = "
                             f"{self.catalogue_unconditional + self.catalogue_not_shareable:g} exceeds 1")
        if self.water_quality_min > self.water_quality_max:
            raise ValueError(f"water_quality_min = {self.water_quality_min:g} exceeds"
                             f" water_quality_max = {self.water_quality_max:g}")
        return self


class CountermeasureSettings(Block):
    """A countermeasure's settings as a scenario declares them (its behaviour is the object of the
    same name without ``Settings`` in ``simulation/core/countermeasures.py``)."""

    enabled: bool = Field(False, description="whether the countermeasure acts",
                          json_schema_extra={"unit": "-", "source": POLICY})
    start: int = param(0, 0, 100_000, "month", "month the countermeasure starts; its budget is paid from then on",
                       POLICY)
    ramp: int = param(12, 0, 100_000, "months", "months from start to full strength (0: at once)", POLICY)
    scale: float = param(1.0, 0, 10, "x", "intensity: multiplies the strength of every lever, rate and brokering the "
                         "countermeasure moves and its running budgets (1: as designed; shares and rates stop at 1)",
                         POLICY)

    def strength(self, step: int) -> float:
        """Share of full strength at ``step``: 0 before start, linear over the ramp, then 1."""
        if not self.enabled or step < self.start:
            return 0.0
        if self.ramp == 0:
            return 1.0
        return min(1.0, (step - self.start + 1) / self.ramp)


class EcosystemSettings(CountermeasureSettings):
    coordinator_strength: float = param(0.9, 0, 1, "share",
                                        "how strongly the data administration leads: raises coordination toward it",
                                        POLICY)
    escalation: float = param(0.8, 0, 1, "share",
                              "share of refusals the requester may take to the authority at full strength (it does "
                              "if the case is worth its effort)", ASSUMED + " (an unresolved refusal goes to the data "
                              "authority: published rule; the share is assumed)", plausible=(0.3, 0.9))
    arbitration: float = param(0.9, 0, 1, "probability",
                               "chance the authority orders a conditional item shared once it decides the case "
                               "(unconditional items always, not-shareable never)",
                               ASSUMED + " (Decree 809: sharing is the rule)", plausible=(0.5, 0.95))
    authority_capacity: float = param(20.0, 0, 100_000, "cases/month per 100 holders",
                                      "cases the authority can decide a month at full strength (its queue is first "
                                      "in, first out)", POLICY)
    case_cost: float = param(0.1, 0, 10_000, "10k yuan/case", "the authority's cost of deciding one case",
                             ASSUMED + " (two staff days: docs/money.md)", plausible=(0.05, 0.2))
    vouched_trust: float = param(0.6, 0, 1, "share", "trust the authority lends to links it brokers or arbitrates",
                                 POLICY)
    link_rate: float = param(0.05, 0, 10, "links/holder/month",
                             "new department-enterprise links the coordinator brokers at full strength", POLICY)
    enterprise_subsidy: float = param(0.2, 0, 100, "10k yuan/unit",
                                      "subsidy per data unit an enterprise provides in time", POLICY)
    public_reward: float = param(0.3, 0, 100, "10k yuan/month", "reward to a participating member of the public",
                                 POLICY)
    coordinator_budget: float = param(2.0, 0, 10_000, "10k yuan/month",
                                      "running cost of the coordination office at full coordinator strength",
                                      ASSUMED + " (two staff: docs/money.md)", plausible=(1.0, 4.0))
    link_cost: float = param(0.5, 0, 10_000, "10k yuan/link", "cost of brokering one department-enterprise agreement",
                             ASSUMED + " (ten staff days: docs/money.md)", plausible=(0.25, 1.0))


class MechanismSettings(CountermeasureSettings):
    evaluation_reward: float = param(0.2, 0, 100, "10k yuan/unit", "reward per data unit a holder provides in time",
                                     POLICY)
    evaluation_penalty: float = param(0.5, 0, 100, "10k yuan/unit",
                                      "fine per data unit of a refusal the evaluation finds", POLICY)
    evaluation_budget: float = param(1.0, 0, 10_000, "10k yuan/month", "running cost of the sharing-ability evaluation",
                                     ASSUMED + " (one staff: docs/money.md)", plausible=(0.5, 2.0))
    ownership_clarity: float = param(0.9, 0, 1, "share", "clarity of data ownership (favouring public interest)",
                                     POLICY)
    price_per_quality: float = param(0.5, 0, 100, "10k yuan/unit",
                                     "data price per unit at quality 1 (prices follow quality)", POLICY)
    price_cap: float = param(0.6, 0, 100, "10k yuan/unit", "cap on the data price per unit", POLICY)


class CognitionSettings(CountermeasureSettings):
    training_rate: float = param(0.06, 0, 1, "1/month",
                                 "share of a holder's cognition gap closed by training each month", POLICY)
    publicity_rate: float = param(0.06, 0, 1, "1/month",
                                  "share of the public's cognition gap closed by publicity each month", POLICY)
    participation_cost_cut: float = param(0.5, 0, 1, "share",
                                          "share of the public's participation cost removed by publicity", POLICY)
    training_cost: float = param(0.33, 0, 1000, "10k yuan/holder/month per unit rate",
                                 "cost of training one holder a month, per unit of training rate",
                                 ASSUMED, plausible=(0.15, 0.66))
    publicity_cost: float = param(0.005, 0, 1000, "10k yuan/person/month per unit",
                                  "cost of publicity per citizen a month, per unit of publicity rate plus cost cut",
                                  ASSUMED, plausible=(0.0025, 0.01))


class SecuritySettings(CountermeasureSettings):
    tiering: float = param(1.0, 0, 1, "share", "chance that requested data is in a graded catalogue (unconditional / "
                           "conditional / not shared)", PUBLISHED + " (three tiers: Decree 809)")
    tiering_cost: float = param(0.02, 0, 100, "10k yuan/holder/month",
                                "cost of grading and running graded catalogues per holder at full tiering",
                                ASSUMED, plausible=(0.01, 0.04))
    transparency: float = param(1.0, 0, 10, "x", "extra speed of trust gain from transparent use of shared data",
                                POLICY)
    technology_investment: float = param(0.05, 0, 1, "10k yuan/holder/month", "technology investment per holder",
                                         POLICY)
    security_investment: float = param(0.05, 0, 1, "10k yuan/holder/month", "security investment per holder", POLICY)
    investment_efficiency: float = param(1.0, 0, 100, "1/(10k yuan)", "capacity gap closed per unit invested",
                                         ASSUMED, plausible=(0.5, 2.0))


class Countermeasures(Block):
    ecosystem: EcosystemSettings = Field(default_factory=EcosystemSettings)
    mechanism: MechanismSettings = Field(default_factory=MechanismSettings)
    cognition: CognitionSettings = Field(default_factory=CognitionSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)


class Scenario(Block):
    name: str = Field("baseline", description="scenario name used in results")
    description: str = Field("", description="what the scenario represents")
    seed: int = param(1, 0, 2**63 - 1, "-", "default seed of a run", RUN_INPUT)
    steps: int = param(60, 1, 100_000, "months", "default horizon of a run", CASE + " (a five-year plan)")
    population: Population = Field(default_factory=Population)
    network: Network = Field(default_factory=Network)
    demand: Demand = Field(default_factory=Demand)
    parameters: Parameters = Field(default_factory=Parameters)
    countermeasures: Countermeasures = Field(default_factory=Countermeasures)

    def config_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def assumptions() -> dict[str, list[Any]]:
    """Every parameter whose source is an assumption, by dotted key, with its plausible range
    ``[low, high]`` or its plausible choices: exactly what the robustness study samples."""
    return {key: field_plausible(field) for key, field in leaf_fields(Scenario) if source_kind(field) == ASSUMED}


def plausible_text(field: Any) -> str:
    """An assumption's plausible range ``[low, high]`` or choices ``a / b``, as the table shows it."""
    plausible = field_plausible(field)
    if plausible is None:
        return "-"
    if all(isinstance(v, str) for v in plausible):
        return " / ".join(plausible)
    return range_text(*plausible)


def parameter_table() -> list[dict[str, str]]:
    """One row per declared parameter: dotted key, default, range, unit, meaning, source, and an
    assumption's plausible range."""
    rows: list[dict[str, str]] = []
    for key, field in leaf_fields(Scenario):
        if key in ("name", "description"):
            continue
        low, high = field_bounds(field)
        choices = getattr(field.annotation, "__args__", None)
        if low is None and high is None and choices and all(isinstance(c, str) for c in choices):
            allowed = " / ".join(choices)
        elif low is None and high is None:
            allowed = "-"
        else:
            allowed = range_text(low, high)
        default = field.get_default(call_default_factory=True)
        rows.append({"key": key, "default": "-" if default is None else str(default), "range": allowed,
                     "unit": field_unit(field), "meaning": field.description or "", "source": field_source(field),
                     "plausible": plausible_text(field)})
    return rows


def parameter_markdown() -> str:
    lines = ["| key | default | range | unit | meaning | source | plausible (sampled) |",
             "|---|---|---|---|---|---|---|"]
    for row in parameter_table():
        lines.append(f"| `{row['key']}` | {row['default']} | {row['range']} | {row['unit']} | {row['meaning']} "
                     f"| {row['source']} | {row['plausible']} |")
    return "\n".join(lines) + "\n"
