"""Scenario configuration: every parameter declared once, with default, range, unit and meaning.

A scenario is ``name, description, seed, steps`` and the blocks ``population, network, parameters,
countermeasures``.  The pydantic models below forbid unknown keys, wrong types and non-finite
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


def param(default: Any, low: float | None, high: float | None, unit: str, meaning: str) -> Any:
    """Declare a parameter: its default, allowed range, unit and one-line meaning."""
    return Field(default, ge=low, le=high, description=meaning, json_schema_extra={"unit": unit})


def field_bounds(field: Any) -> tuple[float | None, float | None]:
    """The ``ge`` and ``le`` bounds a declared field carries (None where open)."""
    low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    return low, high


def field_unit(field: Any) -> str:
    """The unit a declared field carries ("-" for none)."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return extra.get("unit", "-")


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
    government: int = param(20, 2, 200_000, "agents", "government departments, the coordinator included")
    enterprise: int = param(100, 1, 2_000_000, "agents", "enterprises: grid company, water, telecom and others")
    public: int = param(300, 0, 20_000_000, "agents", "members of the public")
    water_companies: int = param(37, 0, 1_000_000, "agents", "water companies tied to the grid by confidentiality agreements")
    telecom_operators: int = param(3, 0, 1_000, "agents", "telecom operators whose data is mostly restricted")

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
    kind: Literal["sectoral", "small_world", "scale_free", "complete", "erdos_renyi", "file"] = Field(
        "sectoral", description="network generator", json_schema_extra={"unit": "-"}
    )
    department_density: float = param(0.5, 0, 1, "probability", "chance that two departments are tied (sectoral)")
    enterprise_departments: int = param(2, 0, 1000, "links", "departments each ordinary enterprise is tied to (sectoral)")
    grid_departments: int = param(12, 0, 100_000, "links", "departments the grid company is tied to (sectoral)")
    enterprise_density: float = param(0.02, 0, 1, "probability", "chance that two other enterprises are tied (sectoral)")
    public_degree: int = param(3, 0, 1000, "links", "holders each public agent is tied to (sectoral)")
    mean_degree: float = param(6.0, 0, 10_000, "links", "mean degree for small_world and erdos_renyi")
    rewiring: float = param(0.1, 0, 1, "probability", "rewiring probability for small_world")
    attachment: int = param(3, 1, 1000, "links", "links per new node for scale_free")
    path: str | None = Field(None, description="GraphML or CSV edge list with roles (kind: file)", json_schema_extra={"unit": "path"})

    @model_validator(mode="after")
    def _file_needs_path(self) -> "Network":
        if self.kind == "file" and not self.path:
            raise ValueError("kind 'file' needs network.path (a .graphml or .csv edge list with roles)")
        return self


class Parameters(Block):
    # Data holdings and capabilities
    volume_dispersion: float = param(1.0, 0, 3, "log-sd", "spread of the lognormal data volume of ordinary holders (median 1)")
    grid_volume_factor: float = param(20.0, 1, 1000, "x median", "the grid company's data volume relative to the median holder")
    quality_government: float = param(0.7, 0, 1, "share", "mean initial data quality of departments")
    quality_enterprise: float = param(0.6, 0, 1, "share", "mean initial data quality of enterprises (water: spread 0.2-0.9)")
    quality_standard: float = param(0.7, 0, 1, "share", "quality gate: data below it is remediated before it is shared")
    quality_decay: float = param(0.01, 0, 0.5, "1/month", "share of quality lost each month as data ages")
    technology_quality_gain: float = param(0.03, 0, 1, "1/month", "quality recovered per month per unit of technology")
    remediation_learning: float = param(0.05, 0, 1, "1/month", "share of the gap to the standard closed by remediating")
    technology_initial: float = param(0.3, 0, 1, "share", "mean initial technology capacity of holders")
    security_initial: float = param(0.3, 0, 1, "share", "mean initial security capacity of holders")
    cognition_government: float = param(0.45, 0, 1, "share", "mean initial cognition of departments")
    cognition_enterprise: float = param(0.3, 0, 1, "share", "mean initial cognition of enterprises")
    cognition_public: float = param(0.25, 0, 1, "share", "mean initial cognition of the public")
    open_share: float = param(0.4, 0, 1, "share", "mean share of a holder's data that is unconditionally shareable")
    restricted_share: float = param(0.2, 0, 1, "share", "mean share of a holder's data that may not be shared")
    telecom_restricted_share: float = param(0.8, 0, 1, "share", "share of telecom data that is restricted")
    restricted_tolerance: float = param(0.5, 0, 1, "share", "without tiering, a holder with more restricted data than this shares nothing")
    # Trust and links
    trust_initial: float = param(0.4, 0, 1, "share", "mean initial trust on a holder link (departments among themselves +0.2)")
    trust_spread: float = param(0.2, 0, 0.5, "share", "half-width of the uniform spread of initial trust")
    trust_threshold: float = param(0.5, 0, 1, "share", "trust needed before conditional data passes a link")
    trust_gain: float = param(0.08, 0, 1, "1/month", "share of the gap to full trust closed by a two-way exchange")
    trust_loss: float = param(0.02, 0, 1, "1/month", "share of trust lost by the sender after one-sided sharing")
    incident_trust_loss: float = param(0.2, 0, 1, "share", "share of trust lost on a holder's links after an incident")
    min_flow: float = param(0.05, 0, 1000, "units/month", "smallest transfer on a link that counts as sharing (less is not sent)")
    flow_window: int = param(3, 1, 120, "months", "a link counts toward islands if data flowed on it within this window")
    decay_after: int = param(6, 1, 600, "months", "a holder link unused this long may decay")
    decay_probability: float = param(0.02, 0, 1, "1/month", "chance per month that an unused link decays")
    base_coordination: float = param(0.2, 0, 1, "share", "coordination strength without a leading coordinator")
    base_ownership_clarity: float = param(0.2, 0, 1, "share", "clarity of data ownership without the mechanism countermeasure")
    # Enterprise payoff
    reciprocal_value: float = param(1.5, 0, 100, "payoff/month", "value of fully reciprocal, full-quality sharing to an enterprise")
    remediation_cost: float = param(2.0, 0, 100, "payoff/unit", "cost of lifting one data unit by the whole quality scale")
    handling_cost: float = param(0.05, 0, 100, "payoff/unit", "cost of preparing one data unit for sharing (pricing base)")
    coordination_cost: float = param(0.15, 0, 100, "payoff/month", "cost of negotiating sharing with no coordination")
    risk_premium: float = param(0.2, 0, 100, "payoff/month", "perceived risk of sharing with untrusted partners under unclear ownership")
    incident_loss: float = param(2.0, 0, 1000, "payoff/incident", "loss to a holder from one security incident")
    incident_probability: float = param(0.05, 0, 1, "1/month", "incident chance of a sharing holder with no security and no tiering")
    detection_base: float = param(0.3, 0, 1, "probability", "chance that an evaluation detects hoarding without public help")
    detection_public: float = param(0.7, 0, 1, "probability", "extra detection when the public fully participates")
    reputation: float = param(0.2, 0, 100, "payoff/month", "reputation loss of a hoarder under full public participation")
    # Government payoff
    public_value: float = param(1.0, 0, 100, "payoff/month", "public value an active department creates from fully shared data")
    public_approval: float = param(0.4, 0, 100, "payoff/month", "approval an active department earns from full participation")
    supervision_cost: float = param(0.1, 0, 100, "payoff/month", "coordination and supervision cost of an active department")
    accountability_loss: float = param(0.3, 0, 100, "payoff/month", "loss of a passive department under full public participation")
    department_budget_share: float = param(0.2, 0, 1, "share", "share of subsidies and rewards borne by the active departments")
    # Public payoff
    participation_cost: float = param(0.35, 0, 100, "payoff/month", "time and effort of participating")
    responsiveness: float = param(0.4, 0, 100, "payoff/month", "benefit of participating when every department is active")
    privacy_sensitivity: float = param(3.0, 0, 1000, "payoff/incident rate", "privacy cost per unit of recent incident rate")
    privacy_concern: float = param(0.5, 0, 1, "share", "mean privacy concern of the public")
    # Learning
    learning_rule: Literal["imitation", "logit"] = Field(
        "imitation", description="strategy revision: proportional imitation or logit best response", json_schema_extra={"unit": "-"}
    )
    revision_rate: float = param(0.3, 0, 1, "1/month", "chance an agent revises its strategy in a month")
    imitation_scale: float = param(1.0, 1e-6, 1000, "payoff", "payoff difference at which imitation is certain")
    logit_temperature: float = param(0.2, 1e-6, 1000, "payoff", "noise of logit best response")
    exploration: float = param(0.005, 0, 1, "1/month", "chance a revising agent picks a strategy at random")
    initial_active_government: float = param(0.2, 0, 1, "share", "departments active at the start (the coordinator always is)")
    initial_share_enterprise: float = param(0.1, 0, 1, "share", "enterprises sharing at the start (the grid always is)")
    initial_participation: float = param(0.1, 0, 1, "share", "public participating at the start")

    @model_validator(mode="after")
    def _tiers_fit(self) -> "Parameters":
        if self.open_share + self.restricted_share > 1:
            raise ValueError(
                f"open_share + restricted_share = {self.open_share + self.restricted_share:g} exceeds 1"
            )
        return self


class Countermeasure(Block):
    enabled: bool = Field(False, description="whether the countermeasure acts", json_schema_extra={"unit": "-"})
    start: int = param(0, 0, 100_000, "month", "month the countermeasure starts; its budget is paid from then on")
    ramp: int = param(12, 0, 100_000, "months", "months from start to full strength (0: at once)")

    def strength(self, step: int) -> float:
        """Share of full strength at ``step``: 0 before start, linear over the ramp, then 1."""
        if not self.enabled or step < self.start:
            return 0.0
        if self.ramp == 0:
            return 1.0
        return min(1.0, (step - self.start + 1) / self.ramp)


class Ecosystem(Countermeasure):
    coordinator_strength: float = param(0.9, 0, 1, "share", "how strongly the data administration leads: raises coordination toward 1")
    link_rate: float = param(0.05, 0, 10, "links/holder/month", "new cross-sector links the coordinator brokers at full strength")
    enterprise_subsidy: float = param(0.6, 0, 100, "payoff/month", "subsidy to a sharing enterprise whose departments are all active")
    public_reward: float = param(0.3, 0, 100, "payoff/month", "reward to a participating member of the public")
    coordinator_budget: float = param(2.0, 0, 10_000, "payoff/month", "running cost of the coordination office at full coordinator strength")
    link_cost: float = param(0.5, 0, 10_000, "payoff/link", "cost of brokering one department-enterprise agreement")


class Mechanism(Countermeasure):
    evaluation_reward: float = param(0.6, 0, 100, "payoff/month", "reward to a sharing enterprise rated by active departments")
    evaluation_penalty: float = param(1.2, 0, 100, "payoff/month", "penalty on a detected hoarder")
    evaluation_budget: float = param(1.0, 0, 10_000, "payoff/month", "running cost of the sharing-ability evaluation")
    ownership_clarity: float = param(0.9, 0, 1, "share", "clarity of data ownership (favouring public interest)")
    price_markup: float = param(0.2, 0, 10, "share", "cost-plus markup on the cost of preparing and remediating data")
    price_cap: float = param(0.6, 0, 100, "payoff/unit", "cap on the data price per unit")


class Cognition(Countermeasure):
    training_rate: float = param(0.06, 0, 1, "1/month", "share of a holder's cognition gap closed by training each month")
    publicity_rate: float = param(0.06, 0, 1, "1/month", "share of the public's cognition gap closed by publicity each month")
    participation_cost_cut: float = param(0.5, 0, 1, "share", "share of the public's participation cost removed by publicity")
    training_cost: float = param(0.33, 0, 1000, "payoff/holder/month per unit rate", "cost of training one holder a month, per unit of training rate")
    publicity_cost: float = param(0.005, 0, 1000, "payoff/person/month per unit", "cost of publicity per citizen a month, per unit of publicity rate plus cost cut")


class Security(Countermeasure):
    tiering: float = param(1.0, 0, 1, "share", "how fully graded (open / conditional / restricted) sharing is used")
    tiering_cost: float = param(0.02, 0, 100, "payoff/holder/month", "cost of grading and running graded catalogues per holder at full tiering")
    transparency: float = param(1.0, 0, 10, "x", "extra speed of trust gain from transparent use of shared data")
    technology_investment: float = param(0.05, 0, 1, "payoff/holder/month", "technology investment per holder")
    security_investment: float = param(0.05, 0, 1, "payoff/holder/month", "security investment per holder")
    investment_efficiency: float = param(1.0, 0, 100, "1/payoff", "capacity gap closed per unit invested")


class Countermeasures(Block):
    ecosystem: Ecosystem = Field(default_factory=Ecosystem)
    mechanism: Mechanism = Field(default_factory=Mechanism)
    cognition: Cognition = Field(default_factory=Cognition)
    security: Security = Field(default_factory=Security)


class Scenario(Block):
    name: str = Field("baseline", description="scenario name used in results")
    description: str = Field("", description="what the scenario represents")
    seed: int = param(1, 0, 2**63 - 1, "-", "default seed of a run")
    steps: int = param(60, 1, 100_000, "months", "default horizon of a run")
    population: Population = Field(default_factory=Population)
    network: Network = Field(default_factory=Network)
    parameters: Parameters = Field(default_factory=Parameters)
    countermeasures: Countermeasures = Field(default_factory=Countermeasures)

    def config_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def parameter_table() -> list[dict[str, str]]:
    """One row per declared parameter: dotted key, default, range, unit, meaning."""
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
                     "unit": field_unit(field), "meaning": field.description or ""})
    return rows


def parameter_markdown() -> str:
    lines = ["| key | default | range | unit | meaning |", "|---|---|---|---|---|"]
    for row in parameter_table():
        lines.append(f"| `{row['key']}` | {row['default']} | {row['range']} | {row['unit']} | {row['meaning']} |")
    return "\n".join(lines) + "\n"
