"""Typed configuration of one simulation run, and its validation.

The YAML under ``conf/`` is the source of every number; these dataclasses give the same tree a
type, a default and an allowed range.  ``parse_config`` turns a plain dict (or a Hydra
DictConfig) into a ``RunConfig`` and raises ``ConfigError`` naming the first offending field,
before any work starts.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

INF = math.inf


def _register_resolvers() -> None:
    from omegaconf import OmegaConf

    # `${len:${scenario.arrival_rates}}`: the hypercube scenario sizes its grids from its rates.
    OmegaConf.register_new_resolver("len", lambda xs: len(xs), replace=True)


_register_resolvers()


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of its allowed range."""


def rng_field(default: Any, lo: float | None = None, hi: float | None = None, **kw) -> Any:
    """A dataclass field with an allowed closed range [lo, hi] checked by ``parse_config``."""
    metadata = {"range": (lo, hi)}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=metadata, **kw)
    return field(default=default, metadata=metadata, **kw)


def prob(default: float) -> Any:
    """A probability field: allowed range [0, 1]."""
    return rng_field(default, 0.0, 1.0)


# --------------------------------------------------------------------------- geography


@dataclass
class Geography:
    area_km2: float = rng_field(220.8, 0.01, 1e5)
    cell_km: float = rng_field(0.25, 0.01, 10.0)
    streets: int = rng_field(12, 1, 10_000)
    communities: int = rng_field(126, 1, 100_000)
    population: int = rng_field(925_000, 1, 50_000_000)
    community_pop_sigma: float = rng_field(0.45, 0.0, 5.0)
    hotspots: dict[str, int] = rng_field(
        {"complex_public_order": 10, "hospital": 8, "school": 20, "transit": 12, "scenic": 6},
        0,
        10_000,
    )
    hotspot_radius_km: float = rng_field(0.3, 0.0, 10.0)

    def n_cells(self) -> int:
        side = math.sqrt(self.area_km2)
        n = max(1, math.ceil(side / self.cell_km))
        return n * n


@dataclass
class Grids:
    count: int = rng_field(33, 1, 100_000)
    lloyd_iterations: int = rng_field(6, 0, 100)


# --------------------------------------------------------------------------- residents


@dataclass
class Residents:
    propensity_sigma: float = rng_field(0.8, 0.0, 5.0)
    satisfaction_init: float = prob(0.75)
    satisfaction_settled: float = rng_field(0.05, -1.0, 1.0)
    satisfaction_court: float = rng_field(-0.10, -1.0, 1.0)
    satisfaction_violent: float = rng_field(-0.30, -1.0, 1.0)
    satisfaction_fast_response: float = rng_field(0.02, -1.0, 1.0)
    satisfaction_slow_response: float = rng_field(-0.05, -1.0, 1.0)
    satisfaction_overflow: float = rng_field(-0.05, -1.0, 1.0)
    fast_response_min: float = rng_field(10.0, 0.0, 1e4)
    # Trust in mediation and in the police, and how far one handled dispute moves trust and
    # satisfaction towards how it went (an exponential moving average, so both stay in [0, 1]).
    trust_mediation_init: float = prob(0.6)
    trust_police_init: float = prob(0.6)
    trust_learning_rate: float = prob(0.3)
    satisfaction_learning_rate: float = prob(0.3)


# --------------------------------------------------------------------------- disputes


@dataclass
class DisputeCategory:
    share: float = prob(0.1)
    severity_mean: float = rng_field(0.4, 0.01, 0.99)
    amount_median_yuan: float = rng_field(10_000.0, 0.0, 1e10)
    amount_sigma: float = rng_field(1.0, 0.0, 5.0)
    parties_extra_mean: float = rng_field(0.3, 0.0, 1000.0)   # parties beyond two (geometric)
    district_intake_share: float = prob(0.0)   # raised straight with the specialised committee


@dataclass
class Levels:
    """A number per mediation level."""

    community: float = rng_field(1.0, 0.0, 1e6)
    street: float = rng_field(1.0, 0.0, 1e6)
    district: float = rng_field(1.0, 0.0, 1e6)


@dataclass
class Logits:
    """A log-odds per mediation level."""

    community: float = rng_field(0.0, -100.0, 100.0)
    street: float = rng_field(0.0, -100.0, 100.0)
    district: float = rng_field(0.0, -100.0, 100.0)


@dataclass
class Violence:
    hazard_per_day: float = rng_field(4e-5, 0.0, 10.0)
    severity_exponent: float = rng_field(2.0, 0.0, 10.0)
    growth_days: float = rng_field(10.0, 0.001, 1e4)


@dataclass
class Screening:
    """Proactive screening for latent disputes (排查): station staff visiting households."""

    hours_per_week: float = rng_field(0.0, 0.0, 168.0)          # per community station
    households_per_hour: float = rng_field(15.0, 0.0, 1e4)       # reached per screening hour
    household_size: float = rng_field(2.6, 1.0, 20.0)
    max_share: float = prob(0.5)      # most of a person's casework hours screening may take


@dataclass
class Intake:
    """Redirection at intake: some disputes go to litigation, arbitration or an administrative
    channel instead, more of them when the station is overloaded."""

    redirect_logit: float = rng_field(-50.0, -100.0, 100.0)
    redirect_amount_weight: float = rng_field(0.0, 0.0, 100.0)    # per log(amount / 10,000)
    redirect_severity_weight: float = rng_field(0.0, 0.0, 100.0)
    redirect_backlog_weight: float = rng_field(0.0, 0.0, 100.0)   # per day until first meeting
    street_intake_share: float = prob(0.0)     # raised straight at the street studio


@dataclass
class Channels:
    """Where a resident takes a dispute when it surfaces (multinomial logit against handling it
    themselves): the people's mediation station, the police (110), a court or other formal
    channel."""

    station_logit: float = rng_field(-2.8, -100.0, 100.0)
    police_logit: float = rng_field(-2.1, -100.0, 100.0)
    court_logit: float = rng_field(-2.3, -100.0, 100.0)
    trust_weight: float = rng_field(3.0, 0.0, 100.0)          # per unit of trust above 0.5
    police_severity_weight: float = rng_field(2.0, 0.0, 100.0)
    court_amount_weight: float = rng_field(0.5, 0.0, 100.0)   # per log(amount / 10,000)
    self_resolve_prob: float = prob(0.75)   # handled by themselves: settles quietly
    flare_days_mean: float = rng_field(30.0, 0.01, 3650.0)    # else it flares up again
    flare_severity_bump: float = rng_field(0.1, 0.0, 1.0)
    # How each way a dispute ends feels to its parties, 0..1 (moves trust and satisfaction).
    experience: dict[str, float] = rng_field(
        {"settled": 0.9, "police_settled": 0.7, "referred": 0.55, "redirected": 0.35,
         "court": 0.25, "unresolved": 0.2, "violent": 0.0}, 0.0, 1.0)
    experience_delay_penalty: float = prob(0.3)    # lost by a mediation that took a month


@dataclass
class PoliceLink:
    """Disputes that reach the police (110) and the police-mediation link (警调对接)."""

    on_scene_min: float = rng_field(35.0, 0.0, 1e4)
    priority: int = rng_field(2, 1, 3)
    settle_on_spot_prob: float = prob(0.6)       # at severity 0
    settle_on_spot_severity_weight: float = rng_field(0.6, 0.0, 10.0)
    refer_prob: float = prob(0.3)                # of those not settled on the spot
    referral_severity_bump: float = rng_field(0.1, 0.0, 1.0)
    repeat_calls_per_week: float = rng_field(0.0, 0.0, 100.0)   # while unsettled after a call


@dataclass
class Recurrence:
    """Settled disputes can break out again between the same parties."""

    prob_max: float = prob(0.0)       # a settlement reached with a coin-flip chance recurs
    police_prob: float = prob(0.0)    # a dispute the police settled on the spot
    days_mean: float = rng_field(120.0, 0.01, 36500.0)


@dataclass
class Disputes:
    enabled: bool = True
    rate_per_1000_per_year: float = rng_field(7.0, 0.0, 1e5)
    arrival_rate_per_hour: float | None = rng_field(None, 0.0, 1e6)
    severity_concentration: float = rng_field(6.0, 0.1, 1e3)
    categories: dict[str, DisputeCategory] = field(
        default_factory=lambda: {"neighbour": DisputeCategory(share=1.0)}
    )
    single_session: bool = False
    first_session_days: Levels = field(default_factory=Levels)
    session_hours: Levels = field(default_factory=Levels)
    session_gap_days: Levels = field(default_factory=Levels)
    max_sessions: Levels = field(default_factory=Levels)
    settle_logit: Logits = field(default_factory=Logits)
    settle_skill_weight: float = rng_field(3.0, 0.0, 100.0)
    settle_severity_weight: float = rng_field(3.0, 0.0, 100.0)
    escalation_handoff_days: float = rng_field(1.0, 0.0, 365.0)
    escalation_handoff_days_no_platform: float = rng_field(3.0, 0.0, 365.0)
    violence: Violence = field(default_factory=Violence)
    # Before it surfaces a dispute is latent, and its severity grows.
    latent_days_mean: float = rng_field(0.0, 0.0, 3650.0)
    severity_growth_days: float = rng_field(365.0, 0.01, 1e5)
    # Work per session besides the meeting itself, and what the settlement chance depends on.
    prep_hours: Levels = field(default_factory=lambda: Levels(0.0, 0.0, 0.0))
    followup_hours: Levels = field(default_factory=lambda: Levels(0.0, 0.0, 0.0))
    session_hours_severity: float = rng_field(0.0, 0.0, 100.0)
    settle_hours_weight: float = rng_field(0.0, 0.0, 100.0)
    settle_amount_weight: float = rng_field(0.0, 0.0, 100.0)     # per log(1 + amount/100,000)
    settle_parties_weight: float = rng_field(0.0, 0.0, 100.0)    # per party beyond two
    settle_delay_weight: float = rng_field(0.0, 0.0, 100.0)      # per 30 days since raised
    screening: Screening = field(default_factory=Screening)
    intake: Intake = field(default_factory=Intake)
    channels: Channels = field(default_factory=Channels)
    police: PoliceLink = field(default_factory=PoliceLink)
    recurrence: Recurrence = field(default_factory=Recurrence)


# --------------------------------------------------------------------------- mediators


@dataclass
class Mediators:
    committees: int = rng_field(146, 0, 100_000)
    community_xiaoma: int = rng_field(150, 0, 100_000)
    community_part_time: int = rng_field(600, 0, 100_000)
    street_full_time: int = rng_field(48, 0, 100_000)
    street_part_time: int = rng_field(72, 0, 100_000)
    district_full_time: int = rng_field(37, 0, 100_000)
    district_part_time: int = rng_field(45, 0, 100_000)
    working_groups: int = rng_field(12, 1, 1000)
    caseload_full_time: int = rng_field(6, 1, 1000)
    caseload_part_time: int = rng_field(2, 1, 1000)
    part_time_days_per_week: int = rng_field(2, 1, 7)
    skill_init: Levels = field(default_factory=Levels)
    skill_spread: float = rng_field(0.1, 0.0, 1.0)
    skill_growth_per_case: float = rng_field(0.01, 0.0, 1.0)
    mentoring: bool = True
    mentoring_growth_bonus: float = rng_field(0.01, 0.0, 1.0)
    mentoring_settle_bonus: float = rng_field(0.3, 0.0, 10.0)
    cost_yuan: dict[str, float] = rng_field(
        {"xiaoma": 90_000.0, "full_time": 110_000.0, "part_time": 24_000.0}, 0.0, 1e9
    )
    # Time is the resource: paid hours a week, the share left for casework, screening and
    # mentoring after other duties, and the days a week full-time staff work.
    paid_hours_per_week: dict[str, float] = rng_field(
        {"xiaoma": 168.0, "full_time": 168.0, "part_time": 168.0, "senior": 168.0}, 0.0, 168.0)
    casework_share: dict[str, float] = rng_field(
        {"xiaoma": 1.0, "full_time": 1.0, "part_time": 1.0, "senior": 1.0}, 0.0, 1.0)
    full_time_days_per_week: int = rng_field(7, 1, 7)
    travel_speed_kmh: float = rng_field(1e9, 0.1, 1e9)
    part_time_skill_offset: float = rng_field(0.0, -1.0, 1.0)
    turnover_per_year: dict[str, float] = rng_field(
        {"xiaoma": 0.0, "full_time": 0.0, "part_time": 0.0}, 0.0, 10.0)
    cases_per_year_init: dict[str, float] = rng_field(
        {"xiaoma": 0.0, "full_time": 0.0, "part_time": 0.0}, 0.0, 1e4)
    mentoring_hours_per_case: float = rng_field(0.0, 0.0, 100.0)
    mentoring_max_wait_days: float = rng_field(7.0, 0.0, 365.0)
    rush_days: float = rng_field(1e9, 0.01, 1e9)   # backlog at which prep and follow-up halve


# --------------------------------------------------------------------------- incidents


@dataclass
class IncidentKind:
    share: float = prob(0.1)
    priority: int = rng_field(2, 1, 3)
    on_scene_min: float = rng_field(25.0, 0.0, 1e5)
    violent: bool = False
    deterrable: bool = False


@dataclass
class Calls:
    enabled: bool = True
    rate_per_1000_per_year: float = rng_field(200.0, 0.0, 1e6)
    rate_per_grid_per_hour: list[float] | None = rng_field(None, 0.0, 1e6)
    hourly_profile: list[float] = rng_field([1.0] * 24, 0.0, 1e3)
    weekday_profile: list[float] = rng_field([1.0] * 7, 0.0, 1e3)
    hotspot_share: float = prob(0.3)
    kinds: dict[str, IncidentKind] = field(
        default_factory=lambda: {"call": IncidentKind(share=1.0)}
    )
    deterrence: float = prob(0.0)
    found_per_patrol_hour: float = rng_field(0.0, 0.0, 100.0)
    found_kinds: dict[str, IncidentKind] = field(default_factory=dict)
    violent_dispute_on_scene_min: float = rng_field(45.0, 0.0, 1e5)
    # When set, every incident's service time has this mean, whatever its kind (hypercube test).
    mean_service_hours: float | None = rng_field(None, 1e-6, 1e6)
    service_distribution: str = "lognormal"
    service_cv: float = rng_field(0.6, 0.01, 10.0)


@dataclass
class UnitType:
    per_shift: int = rng_field(1, 0, 100_000)
    shifts: list[float] = rng_field([0.0], 0.0, 24.0)
    shift_hours: float = rng_field(24.0, 0.5, 24.0)
    speed_kmh: float = rng_field(30.0, 0.1, 500.0)
    turnout_min: float = rng_field(1.0, 0.0, 600.0)
    priorities: list[int] = rng_field([1, 2, 3], 1, 3)
    support_violent_p1: bool = False
    hotspot_grids_only: bool = False
    patrol_hotspot_share: float = prob(0.6)
    cost_yuan: float = rng_field(300_000.0, 0.0, 1e10)


@dataclass
class Dispatch:
    rule: str = "own_then_nearest"
    unified_platform: bool = True
    handoff_min: float = rng_field(0.5, 0.0, 600.0)
    handoff_min_no_platform: float = rng_field(1.5, 0.0, 600.0)
    cross_grid_handoff_min_no_platform: float = rng_field(4.0, 0.0, 600.0)
    overflow: str = "queue"
    travel: bool = True
    p1_target_min: float = rng_field(5.0, 0.0, 600.0)


DISPATCH_RULES = ("own_then_nearest", "own_grid", "nearest", "own_then_lowest_index")
OVERFLOW_MODES = ("queue", "backup")
SERVICE_DISTRIBUTIONS = ("lognormal", "exponential")


# --------------------------------------------------------------------------- timeline events


@dataclass
class Event:
    """Something that happens at a set time: injected by a stress scenario or a trainer's
    timeline.  Which fields matter depends on `kind` (see sim/timeline.py)."""

    at: Any = 0.0                 # days since the start (number) or "day 2 14:00" (day 1 = start)
    kind: str | None = None       # required: one of EVENT_KINDS
    duration_days: float | None = rng_field(None, 0.0, 36_500.0)
    note: str = ""
    # call_surge
    factor: float = rng_field(1.0, 0.0, 1000.0)
    hotspot_kinds: list[str] = field(default_factory=list)
    # mediator_absence / unit_absence
    share: float = prob(0.0)
    mediator_kind: str | None = None
    unit_type: str | None = None
    shift: int | None = rng_field(None, 0, 23)
    # dispute / incident
    category: str | None = None
    community: int | None = rng_field(None, 1, 1_000_000)   # as numbered on the map (from 1)
    severity: float | None = rng_field(None, 0.0, 1.0)
    amount_yuan: float | None = rng_field(None, 0.0, 1e12)
    parties: int = rng_field(2, 1, 1_000_000)
    incident_kind: str | None = None
    priority: int | None = rng_field(None, 1, 3)
    grid: int | None = rng_field(None, 1, 1_000_000)        # as numbered on the map (from 1)


# The fields each kind of event reads, besides at, kind, duration_days and note.
EVENT_FIELDS = {
    "note": (),
    "call_surge": ("factor", "hotspot_kinds"),
    "mediator_absence": ("share", "mediator_kind"),
    "unit_absence": ("share", "unit_type", "shift"),
    "dispute": ("category", "community", "severity", "amount_yuan", "parties"),
    "incident": ("incident_kind", "priority", "grid", "community"),
}
EVENT_KINDS = tuple(EVENT_FIELDS)


# --------------------------------------------------------------------------- scenario / run


@dataclass
class Scenario:
    name: str = "jiangbei"
    description: str = ""
    geography: Geography = field(default_factory=Geography)
    grids: Grids = field(default_factory=Grids)
    residents: Residents = field(default_factory=Residents)
    disputes: Disputes = field(default_factory=Disputes)
    mediators: Mediators = field(default_factory=Mediators)
    calls: Calls = field(default_factory=Calls)
    units: dict[str, UnitType] = field(default_factory=dict)
    dispatch: Dispatch = field(default_factory=Dispatch)
    events: list[Event] = field(default_factory=list)
    # Shortcuts the validation scenarios expose on the command line (`scenario.servers=7`);
    # their YAML interpolates them into the fields above.  The model never reads them directly.
    servers: int | None = rng_field(None, 1, 100_000)
    arrival_rate: float | None = rng_field(None, 0.0, 1e6)
    arrival_rates: list[float] | None = rng_field(None, 0.0, 1e6)
    mean_service: float | None = rng_field(None, 1e-6, 1e6)
    overflow: str | None = None


@dataclass
class Policy:
    """A policy variant: what it changes relative to the scenario's own staffing and rules.
    Factors scale the scenario's counts (so one policy means the same thing in every
    district); None leaves a rule as the scenario has it."""

    name: str = "baseline"
    description: str = ""
    xiaoma_factor: float = rng_field(1.0, 0.0, 100.0)
    full_time_factor: float = rng_field(1.0, 0.0, 100.0)
    part_time_factor: float = rng_field(1.0, 0.0, 100.0)
    unit_factors: dict[str, float] = rng_field({}, 0.0, 100.0)
    grids: int | None = rng_field(None, 1, 100_000)
    dispatch_rule: str | None = None
    unified_platform: bool | None = None
    mentoring: bool | None = None
    overflow: str | None = None
    screening_factor: float = rng_field(1.0, 0.0, 100.0)


@dataclass
class SimSettings:
    days: float = rng_field(365.0, 0.001, 36_500.0)
    tick_minutes: float = rng_field(60.0, 1.0, 525_600.0)
    progress: bool = True


@dataclass
class RunConfig:
    seed: int = rng_field(0, 0, 2**63 - 1)
    sim: SimSettings = field(default_factory=SimSettings)
    scenario: Scenario = field(default_factory=Scenario)
    policy: Policy = field(default_factory=Policy)
    output: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- parsing


def _range_text(lo, hi) -> str:
    def text(v, none):
        if v is None:
            return none
        return str(v) if isinstance(v, int) else f"{v:g}"

    return f"[{text(lo, '-inf')}, {text(hi, 'inf')}]"


def _check_range(path: str, value: float, rng: tuple, kind: str) -> None:
    lo, hi = rng
    bad = (isinstance(value, float) and math.isnan(value)) or (lo is not None and value < lo)
    bad = bad or (hi is not None and value > hi)
    if bad:
        raise ConfigError(f"{path}: must be {kind} in {_range_text(lo, hi)}, got {value!r}")


def _coerce_scalar(path: str, tp: type, value: Any, rng: tuple | None) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ConfigError(f"{path}: must be an integer"
                              f"{' in ' + _range_text(*rng) if rng else ''}, got {value!r}")
        value = int(value)
        if rng:
            _check_range(path, value, rng, "an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: must be a number"
                              f"{' in ' + _range_text(*rng) if rng else ''}, got {value!r}")
        value = float(value)
        if rng:
            _check_range(path, value, rng, "a number")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: must be a string, got {value!r}")
        return value
    if tp is Any:
        return value
    raise TypeError(f"unsupported config type {tp} at {path}")


def _build(path: str, tp: Any, value: Any, rng: tuple | None = None) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _build(path, args[0], value, rng)
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(path, tp, value)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: must be a list, got {value!r}")
        (item_tp,) = typing.get_args(tp)
        return [_build(f"{path}[{i}]", item_tp, v, rng) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: must be a mapping, got {value!r}")
        _, val_tp = typing.get_args(tp)
        return {str(k): _build(f"{path}.{k}", val_tp, v, rng) for k, v in value.items()}
    return _coerce_scalar(path, tp, value, rng)


def _build_dataclass(path: str, cls: type, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path or 'config'}: must be a mapping, got {value!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(f"{where}: unknown key; allowed keys here: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, f in fields.items():
        if name not in value:
            continue
        sub = f"{path}.{name}" if path else name
        kwargs[name] = _build(sub, hints[name], value[name], f.metadata.get("range"))
    return cls(**kwargs)


def _to_plain(cfg: Any) -> dict:
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(cfg, RunConfig):
        return dataclasses.asdict(cfg)
    if not isinstance(cfg, (Mapping, DictConfig)):
        raise ConfigError(f"config: must be a mapping, got {type(cfg).__name__}")
    try:
        # A plain dict may carry the same ${...} interpolations as the YAML it was copied from.
        node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
        return OmegaConf.to_container(node, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"config: cannot resolve: {exc}".splitlines()[0]) from None


def _one_of(path: str, value: str, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"{path}: must be one of {', '.join(allowed)}, got {value!r}")


def _optional_one_of(path: str, value: str | None, allowed) -> None:
    if value is not None:
        _one_of(path, value, tuple(allowed))


def _optional_index(path: str, value: int | None, size: int, first: int = 0) -> None:
    if value is not None and value >= size + first:
        raise ConfigError(f"{path}: must be an integer in [{first}, {size - 1 + first}], "
                          f"got {value}")


def _check_events(s: Scenario) -> None:
    from sim.timeline import event_start_minutes

    for i, ev in enumerate(s.events):
        where = f"scenario.events[{i}]"
        if ev.kind is None:
            raise ConfigError(f"{where}.kind: required, one of {', '.join(EVENT_KINDS)}")
        _one_of(f"{where}.kind", ev.kind, EVENT_KINDS)
        defaults = Event()
        for f in dataclasses.fields(Event):
            if f.name in ("at", "kind", "duration_days", "note") or f.name in EVENT_FIELDS[
                    ev.kind]:
                continue
            if getattr(ev, f.name) != getattr(defaults, f.name):
                raise ConfigError(f"{where}.{f.name}: does not apply to a {ev.kind} event "
                                  f"(its fields: {', '.join(EVENT_FIELDS[ev.kind]) or 'none'})")
        try:
            event_start_minutes(ev.at)
        except ValueError as exc:
            raise ConfigError(f"{where}.at: {exc}") from None
        for k in ev.hotspot_kinds:
            _one_of(f"{where}.hotspot_kinds", k, tuple(s.geography.hotspots))
        _optional_one_of(f"{where}.mediator_kind", ev.mediator_kind,
                         ("xiaoma", "full_time", "part_time"))
        _optional_one_of(f"{where}.unit_type", ev.unit_type, s.units)
        if ev.unit_type is not None:
            _optional_index(f"{where}.shift", ev.shift, len(s.units[ev.unit_type].shifts))
        _optional_one_of(f"{where}.category", ev.category, s.disputes.categories)
        _optional_index(f"{where}.community", ev.community, s.geography.communities, first=1)
        _optional_one_of(f"{where}.incident_kind", ev.incident_kind, s.calls.kinds)
        _optional_index(f"{where}.grid", ev.grid, s.grids.count, first=1)


def _check_cross_field(cfg: RunConfig) -> None:
    s = cfg.scenario
    _check_events(s)
    geo = s.geography
    n_cells = geo.n_cells()
    if s.grids.count > n_cells:
        raise ConfigError(
            f"scenario.grids.count: must be an integer in [1, {n_cells}] (the district has "
            f"{n_cells} cells of {geo.cell_km} km), got {s.grids.count}"
        )
    if geo.streets > n_cells:
        raise ConfigError(
            f"scenario.geography.streets: must be in [1, {n_cells}], got {geo.streets}")
    if not geo.streets <= geo.communities <= n_cells:
        raise ConfigError(
            f"scenario.geography.communities: must be in [{geo.streets}, {n_cells}] "
            f"(at least one per street), got {geo.communities}"
        )
    _one_of("scenario.dispatch.rule", s.dispatch.rule, DISPATCH_RULES)
    _one_of("scenario.dispatch.overflow", s.dispatch.overflow, OVERFLOW_MODES)
    _one_of("scenario.calls.service_distribution", s.calls.service_distribution,
            SERVICE_DISTRIBUTIONS)
    if len(s.calls.hourly_profile) != 24 or sum(s.calls.hourly_profile) <= 0:
        raise ConfigError(
            "scenario.calls.hourly_profile: must be 24 non-negative numbers, not all 0")
    if len(s.calls.weekday_profile) != 7 or sum(s.calls.weekday_profile) <= 0:
        raise ConfigError(
            "scenario.calls.weekday_profile: must be 7 non-negative numbers, not all 0")
    rates = s.calls.rate_per_grid_per_hour
    if rates is not None and len(rates) != s.grids.count:
        raise ConfigError(
            f"scenario.calls.rate_per_grid_per_hour: must list one rate per grid "
            f"({s.grids.count}), got {len(rates)}"
        )
    for name, table in (("calls.kinds", s.calls.kinds), ("disputes.categories",
                                                         s.disputes.categories)):
        if not table:
            raise ConfigError(f"scenario.{name}: must have at least one entry")
        total = sum(v.share for v in table.values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"scenario.{name}: shares must sum to 1, got {total:g}")
    if s.calls.found_kinds:
        total = sum(v.share for v in s.calls.found_kinds.values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"scenario.calls.found_kinds: shares must sum to 1, got {total:g}")
    for name, unit in s.units.items():
        if not unit.shifts:
            raise ConfigError(f"scenario.units.{name}.shifts: must list at least one start hour")
        for h in unit.shifts:
            if h >= 24:
                raise ConfigError(f"scenario.units.{name}.shifts: start hours must be in [0, 24)")
    if s.disputes.enabled:
        for lvl in ("community", "street", "district"):
            if getattr(s.disputes.max_sessions, lvl) < 1:
                raise ConfigError(f"scenario.disputes.max_sessions.{lvl}: must be >= 1")


def parse_config(cfg: Any) -> RunConfig:
    """Validate a plain dict / DictConfig and return the typed ``RunConfig``.

    Raises ``ConfigError`` with one line naming the field and its allowed range.
    """
    plain = _to_plain(cfg)
    # Hydra adds its own node when a DictConfig comes from a running app; it is not ours.
    plain.pop("hydra", None)
    run = _build_dataclass("", RunConfig, plain)
    apply_policy(run)
    _check_cross_field(run)
    return run


def _scaled(count: int, factor: float) -> int:
    return int(math.floor(count * factor + 0.5))


def apply_policy(run: RunConfig) -> None:
    """Write the policy's changes into the scenario, so the resolved config shows what ran."""
    p, s = run.policy, run.scenario
    m = s.mediators
    m.community_xiaoma = _scaled(m.community_xiaoma, p.xiaoma_factor)
    for name in ("street_full_time", "district_full_time"):
        setattr(m, name, _scaled(getattr(m, name), p.full_time_factor))
    for name in ("community_part_time", "street_part_time", "district_part_time"):
        setattr(m, name, _scaled(getattr(m, name), p.part_time_factor))
    for unit_type, factor in p.unit_factors.items():
        if unit_type not in s.units:
            raise ConfigError(f"policy.unit_factors.{unit_type}: unknown unit type; allowed: "
                              f"{', '.join(s.units)}")
        s.units[unit_type].per_shift = _scaled(s.units[unit_type].per_shift, factor)
    if p.grids is not None:
        s.grids.count = p.grids
    if p.dispatch_rule is not None:
        _one_of("policy.dispatch_rule", p.dispatch_rule, DISPATCH_RULES)
        s.dispatch.rule = p.dispatch_rule
    if p.overflow is not None:
        _one_of("policy.overflow", p.overflow, OVERFLOW_MODES)
        s.dispatch.overflow = p.overflow
    if p.unified_platform is not None:
        s.dispatch.unified_platform = p.unified_platform
    if p.mentoring is not None:
        m.mentoring = p.mentoring
    s.disputes.screening.hours_per_week *= p.screening_factor


def to_dict(cfg: RunConfig) -> dict:
    """The resolved config as a plain, JSON-serialisable dict."""
    return dataclasses.asdict(cfg)
