"""Scenario configuration: every parameter declared once, with default, range, unit and meaning.

A scenario file is YAML with ``name, description, seed, steps, population, network, parameters,
countermeasures`` and an optional ``extends:`` naming another scenario file (relative to the file
that says it).  Files are read with ``yaml.safe_load`` and validated by pydantic models that forbid
unknown keys and non-finite numbers; every problem becomes a :class:`ConfigError` whose message
names the file, the field path, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ConfigError(ValueError):
    """A scenario, experiment or override that cannot be used; the message is meant for users."""


def param(default: Any, low: float | None, high: float | None, unit: str, meaning: str) -> Any:
    """Declare a parameter: its default, allowed range, unit and one-line meaning."""
    return Field(default, ge=low, le=high, description=meaning, json_schema_extra={"unit": unit})


def field_bounds(field: Any) -> tuple[float | None, float | None]:
    """The ``ge`` and ``le`` bounds a declared field carries (None where open)."""
    low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    return low, high


def field_of(dotted: str) -> Any:
    """The declared field of a dotted scenario key such as ``parameters.trust_gain`` (KeyError if none)."""
    *blocks, name = dotted.split(".")
    parent = _model_at(Scenario, blocks)
    if parent is None:
        raise KeyError(dotted)
    return parent.model_fields[name]


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


# ---------------------------------------------------------------------------------------------
# Loading, merging, overriding and friendly errors


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping with safe_load, turning every failure into a ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(f"{path}: line {_line(exc)}: tag {_tag(exc)} is not allowed (plain YAML only; nothing in a file is executed)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: line {_line(exc)}: YAML syntax error: {_problem(exc)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}")
    return data


def _line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return str(mark.line + 1) if mark is not None else "?"


def _tag(exc: yaml.YAMLError) -> str:
    found = re.search(r"'([^']+)'", getattr(exc, "problem", "") or "")
    return found.group(1).replace("tag:yaml.org,2002:", "!!") if found else "?"


def _problem(exc: yaml.YAMLError) -> str:
    return getattr(exc, "problem", None) or str(exc).splitlines()[0]


def deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_extends(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """The file's fields merged over those of the file it extends (recursively)."""
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ConfigError(f"{chain[0]}: extends: cycle {cycle}")
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends: expected a file path, got {parent!r}")
    parent_path = (path.parent / parent) if not Path(parent).is_absolute() else Path(parent)
    if not parent_path.is_file():
        raise ConfigError(f"{path}: extends: file not found: {parent_path}")
    return deep_merge(resolve_extends(parent_path, (*chain, path)), data)


def parse_override(text: str) -> tuple[str, Any]:
    """``dotted.key=value`` from the command line; the value is read as a YAML scalar."""
    if "=" not in text:
        raise ConfigError(f"--set {text}: expected dotted.key=value")
    key, raw = text.split("=", 1)
    if raw.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return key.strip(), float(raw)  # so the non-finite check names it, not a type error
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def apply_overrides(data: dict, overrides: dict[str, Any], source: str) -> dict:
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for dotted, value in overrides.items():
        check_dotted_key(Scenario, dotted, source)
        node = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{source}: {dotted}: {part} is not a block")
        node[parts[-1]] = value
    return data


def check_dotted_key(model: type[BaseModel], dotted: str, source: str) -> None:
    """Raise a ConfigError naming the nearest valid key when ``dotted`` is not a field path."""
    current: Any = model
    walked: list[str] = []
    for part in dotted.split("."):
        fields = current.model_fields if isinstance(current, type) and issubclass(current, BaseModel) else {}
        if part not in fields:
            prefix = ".".join(walked)
            valid = [f"{prefix}.{f}" if prefix else f for f in fields]
            hint = _suggest(part, list(fields), prefix)
            raise ConfigError(f"{source}: unknown key '{dotted}'{hint}" + ("" if hint else f"; valid keys here: {', '.join(valid)}"))
        walked.append(part)
        current = fields[part].annotation


def _suggest(word: str, candidates: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean '{prefix + '.' if prefix else ''}{close[0]}'?)"


def format_validation_error(exc: ValidationError, model: type[BaseModel], source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        path = ".".join(loc) or "(top level)"
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            fields = list(parent.model_fields) if parent else []
            hint = _suggest(loc[-1], fields, ".".join(loc[:-1]))
            allowed = hint or f"; allowed keys: {', '.join(fields)}"
            lines.append(f"{source}: {path}: unknown key{allowed}")
            continue
        allowed = _allowed(model, loc, err)
        lines.append(f"{source}: {path}: {_short(value)} is not allowed: {allowed}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        current = current.model_fields[part].annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _allowed(model: type[BaseModel], loc: list[str], err: dict) -> str:
    parent = _model_at(model, loc[:-1]) if loc else None
    field = parent.model_fields.get(loc[-1]) if parent and loc else None
    message = err["msg"]
    if err["type"] in ("finite_number",):
        message = "NaN and infinite numbers are not allowed"
    if field is None:
        return message.removeprefix("Value error, ")
    low, high = field_bounds(field)
    kind = getattr(field.annotation, "__name__", str(field.annotation))
    unit = (field.json_schema_extra or {}).get("unit", "") if isinstance(field.json_schema_extra, dict) else ""
    unit_text = f" {unit}" if unit and unit != "-" else ""
    if low is not None or high is not None:
        if err["type"] in ("greater_than_equal", "less_than_equal"):
            message = "out of range"
        return f"{message}; allowed: {kind} in [{_num(low)}, {_num(high)}]{unit_text} ({field.description})"
    return f"{message} ({field.description})"


def _num(x: float | None) -> str:
    if x is None:
        return "-inf"
    return f"{x:g}" if isinstance(x, float) else str(x)


def read_validated(path: str | Path, model: type[BaseModel]) -> tuple[dict, Any]:
    """A YAML file as written and validated against ``model`` (experiments, games, study specs)."""
    path = Path(path)
    data = read_yaml(path)
    bad = _non_finite(data)
    if bad:
        raise ConfigError(f"{path}: {bad}: NaN and infinite numbers are not allowed")
    try:
        return data, model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, str(path))) from None


def validate_data(data: dict, source: str) -> Scenario:
    bad = _non_finite(data)
    if bad:
        raise ConfigError(f"{source}: {bad}: NaN and infinite numbers are not allowed")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, Scenario, source)) from None


def _non_finite(data: Any, path: str = "") -> str | None:
    if isinstance(data, float) and not math.isfinite(data):
        return path or "(value)"
    if isinstance(data, dict):
        for key, value in data.items():
            found = _non_finite(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(data, list):
        for i, value in enumerate(data):
            found = _non_finite(value, f"{path}.{i}")
            if found:
                return found
    return None


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, resolve ``extends``, apply dotted overrides and validate a scenario file."""
    path = Path(path)
    data = resolve_extends(path)
    if overrides:
        data = apply_overrides(data, overrides, f"{path} (--set)")
    scenario = validate_data(data, str(path))
    if scenario.network.kind == "file":
        net_path = Path(scenario.network.path)
        if not net_path.is_absolute():
            net_path = (path.resolve().parent / net_path)
        if not net_path.is_file():
            raise ConfigError(f"{path}: network.path: file not found: {net_path}")
        scenario.network.path = str(net_path)
    return scenario


def parameter_table() -> list[dict[str, str]]:
    """One row per declared parameter: dotted key, default, range, unit, meaning."""
    rows: list[dict[str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
                continue
            if prefix == "" and name in ("name", "description"):
                continue
            low, high = field_bounds(field)
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            args = getattr(ann, "__args__", None)
            if low is None and high is None and args and all(isinstance(a, str) for a in args):
                rng = " / ".join(args)
            elif low is None and high is None:
                rng = "-"
            else:
                rng = f"[{_num(low)}, {_num(high)}]"
            default = field.get_default(call_default_factory=True)
            rows.append({
                "key": prefix + name,
                "default": "-" if default is None else str(default),
                "range": rng,
                "unit": extra.get("unit", "-"),
                "meaning": field.description or "",
            })

    walk(Scenario, "")
    return rows


def parameter_markdown() -> str:
    lines = ["| key | default | range | unit | meaning |", "|---|---|---|---|---|"]
    for row in parameter_table():
        lines.append(f"| `{row['key']}` | {row['default']} | {row['range']} | {row['unit']} | {row['meaning']} |")
    return "\n".join(lines) + "\n"
