"""The parameter schema: the one place every number of a run is defined.

Each field gives its type, default, unit, allowed range and provenance (``report``, a citation,
or ``assumed`` with a plausible range; see ``sim/provenance.py``).  The defaults *are* the
Jiangbei district: ``conf/scenario/jiangbei.yaml`` only names the scenario, and other scenarios
and policies hold just the values that differ.  Hydra sees these defaults as the config nodes
``scenario/schema``, ``policy/schema`` and ``run_schema`` (registered at import, below), so every
field can be overridden on the command line without ``+``.

``parse_config`` turns a plain dict or a Hydra DictConfig into a validated ``RunConfig`` and
raises ``ConfigError`` with one line naming the first offending field and its allowed range.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from sim.events import EVENT_COMMON_FIELDS, EVENT_FIELDS, EVENT_KINDS, MEDIATOR_KINDS, Event
from sim.provenance import (
    AREA,
    ASSUMED,
    CENSUS,
    CFS,
    EVENT,
    FOLDER_CHECK,
    LABEL,
    LEVER,
    MOJ,
    QUICK_RESPONSE,
    REPORT,
    RUN,
    SWITCH,
    VALIDATION,
    param,
)

INF = math.inf
LEVELS = ("community", "street", "district")
DISPATCH_RULES = ("own_then_nearest", "own_grid", "nearest", "own_then_lowest_index")
OVERFLOW_MODES = ("queue", "backup")
BREAKABLE_DUTIES = ("meal", "post")
MEALS_ON_CALL = ("a meal is taken on call in many forces: Bellevue WA Police Policy Manual "
                 "11.00.280 (meal periods 'subject to call'; officers 'prepared to respond to "
                 "emergency calls'); Fridley MN Police General Order 417 (breaks are 'continual "
                 "duty', the officer 'responsible for assigned calls'). Jiangbei's practice "
                 "is not published: off by default (the duty is kept), a policy to try")
SERVICE_DISTRIBUTIONS = ("lognormal", "exponential")
FULL_TIME_SPLIT = "the report gives 85 full-time committee mediators in all; the split is ours"
PART_TIME_SPLIT = "the report gives 717 part-time committee mediators in all; the split is ours"
PATTERN = "a pattern, held fixed by the sensitivity analysis"
LAW = "People's Mediation Law: a mediation should generally conclude within one month"
CALIBRATED = "calibrated (python -m benchmarks.calibration): "
SURVEY = ("Liang Ping, 'Institutional design of diversified dispute resolution: an empirical "
          "study of public preferences' (多元化纠纷解决机制的制度构建), urban residents' first "
          "choice: residents' committee 4.8 %, litigation 5.3 % + street office 1.8 % + "
          "petition 1.0 %, police about twice the committee, negotiation or a middleman over "
          "60 % (+ the rest)")
CHARKOUDIAN = ("Charkoudian 2005 (Baltimore): 0.431 police calls a week to a conflict's homes "
               "before mediation, 0.10 after")
HOUR_KINDS = ("xiaoma", "full_time", "part_time", "senior")
Rate = Annotated[float, Field(ge=0.0, le=1e6)]
Weight = Annotated[float, Field(ge=0.0, le=1e3)]
Factor = Annotated[float, Field(ge=0.0, le=100.0)]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of its allowed range."""


class Invalid(ValueError):
    """Raised inside a validator: `field` (relative to the model) and what is wrong with it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Schema(BaseModel):
    """Strict: no extra keys, no silent coercion (bool for int, "1e3" for a number), no NaN/inf."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False,
                              validate_assignment=False)


def per_level(name: str, *, unit: str, ge: float, le: float, defaults: tuple, source: str,
              plausible: tuple | None = None, integer: bool = False,
              note: str = "") -> type[Schema]:
    """A model with one field per mediation level (community, street, district)."""
    tp = int if integer else float
    fields = {}
    for i, lvl in enumerate(LEVELS):
        rng = plausible[i] if plausible is not None else None
        fields[lvl] = (tp, param(defaults[i], unit=unit, ge=ge, le=le, source=source,
                                 plausible=rng, note=note))
    return create_model(name, __base__=Schema, **fields)


# --------------------------------------------------------------------------- geography


MAX_CELLS = 4_000_000     # raster cells of a map (synthetic or a folder's): a memory bound


class Geography(Schema):
    area_km2: float = param(220.8, unit="km²", ge=0.01, le=1e5, source=AREA)
    cell_km: float = param(0.25, unit="km", ge=0.01, le=10.0, source=ASSUMED,
                           plausible=(0.1, 0.5))
    streets: int = param(12, unit="streets/towns", ge=1, le=10_000, source=REPORT)
    communities: int = param(126, unit="communities/villages", ge=1, le=100_000, source=REPORT)
    population: int = param(925_800, unit="residents", ge=1, le=50_000_000, source=CENSUS)
    community_pop_sigma: float = param(0.45, unit="log-sd of community sizes", ge=0.0, le=5.0,
                                       source=ASSUMED, plausible=(0.2, 0.8))
    hotspots: dict[str, Annotated[int, Field(ge=0, le=10_000)]] = param(
        {"complex_public_order": 10, "hospital": 8, "school": 20, "transit": 12, "scenic": 6},
        unit="venues", source=ASSUMED, relative=(0.5, 2.0),
        note="the report names the kinds ('safe cell' venue programmes); counts are ours")
    hotspot_radius_km: float = param(0.3, unit="km", ge=0.0, le=10.0, source=ASSUMED,
                                     plausible=(0.1, 0.6))

    def n_cells(self) -> int:
        side = math.sqrt(self.area_km2)
        n = max(1, math.ceil(side / self.cell_km))
        return n * n

    @model_validator(mode="after")
    def _sizes(self):
        n_cells = self.n_cells()
        if n_cells > MAX_CELLS:
            raise Invalid("cell_km", f"gives {n_cells:,} cells over {self.area_km2:g} km²; "
                          f"must give at most {MAX_CELLS:,} (use a coarser cell)")
        if self.streets > n_cells:
            raise Invalid("streets", f"must be an integer in [1, {n_cells}] (the district has "
                          f"{n_cells} cells of {self.cell_km:g} km), got {self.streets}")
        if not self.streets <= self.communities <= n_cells:
            raise Invalid("communities", f"must be an integer in [{self.streets}, {n_cells}] "
                          f"(at least one per street), got {self.communities}")
        if self.population < self.communities:
            raise Invalid("population", f"must be at least the number of communities "
                          f"({self.communities}), got {self.population}")
        return self


DISTRICT_FOLDER = ("setting: the district's map, a folder of files (conf/districts/README.md); "
                   "the default is the stylised Jiangbei, every source in its README.md")
TOMTOM = ("TomTom Traffic Index 2020, Chongqing: travel times +42 % on average, +87 % at the "
          "morning and +86 % at the evening peak (statista.com chart 16998); hourly shape ours")
Speed = Annotated[float, Field(ge=1.0, le=200.0)]
Congestion = Annotated[float, Field(ge=1.0, le=10.0)]


class DistrictFolder(Schema):
    """Where the map comes from: a district folder (communities.geojson, optional roads.osm or
    roads.graphml, hotspots.geojson, grids.geojson), absolute or relative to the project root.
    None draws a synthetic square from `geography`, the same square for every seed."""

    path: str | None = param("conf/districts/jiangbei", unit="folder", source=DISTRICT_FOLDER,
                             min_length=1, max_length=1000)
    max_gap_km: float = param(
        25.0, unit="km", ge=0.0, le=1000.0,
        source=FOLDER_CHECK,
        note="a folder's community lying farther than this from every other community is an "
             "error (a misplaced polygon, e.g. 100 km off, gave 205-min responses); "
             "Jiangbei's communities all touch a neighbour")

    @model_validator(mode="after")
    def _usable(self):
        # The file system's own error for these is an OSError, not a message about the field.
        if self.path is not None and (any(ord(ch) < 32 for ch in self.path) or any(
                len(part.encode("utf-8", "surrogateescape")) > 255
                for part in self.path.split("/"))):
            raise Invalid("path", "must be a folder path without control characters, each "
                          f"name at most 255 bytes, got {self.path[:60]!r}")
        return self


class Roads(Schema):
    """Travel on the road network: quickest paths at free-flow speeds by road class, slowed by
    the hour's congestion (driving units), or shortest walks (units on foot)."""

    speed_kmh: dict[str, Speed] = param(
        {"motorway": 80.0, "motorway_link": 40.0, "trunk": 60.0, "trunk_link": 35.0,
         "primary": 50.0, "primary_link": 30.0, "secondary": 40.0, "secondary_link": 30.0,
         "tertiary": 30.0, "tertiary_link": 25.0, "unclassified": 25.0, "residential": 20.0,
         "living_street": 10.0, "service": 15.0},
        unit="km/h free flow, by OSM highway class", source=ASSUMED, relative=(0.75, 1.25),
        note="a class not listed carries no vehicles; Amap's 2020 Q3 report gives Chongqing's "
             "peak-hour average 23.3 km/h, i.e. about 40-45 km/h free flow on main roads at "
             "its peak delay")
    congestion_by_hour: list[Congestion] = param(
        [1.05, 1.03, 1.02, 1.02, 1.03, 1.08, 1.25, 1.65, 1.87, 1.70, 1.50, 1.50,
         1.45, 1.40, 1.45, 1.50, 1.55, 1.80, 1.86, 1.62, 1.42, 1.30, 1.20, 1.10],
        unit="driving time / free-flow time, by hour 0-23", source=TOMTOM,
        relative=(0.85, 1.15), note="mean 1.39 over the day")
    grid_spacing_km: float = param(0.4, unit="km", ge=0.05, le=10.0, source=ASSUMED,
                                   plausible=(0.2, 1.0),
                                   note="the street grid drawn where a folder has no road file")
    grid_road_class: str = param("tertiary", source=ASSUMED,
                                 note="the class (hence speed) of that generated street grid")
    max_nodes: int = param(6000, unit="road nodes", ge=2, le=20_000,
                           source="setting: memory bound of the node-to-node tables "
                                  "(12 bytes per pair of nodes)")
    max_snap_km: float = param(
        5.0, unit="km", ge=0.01, le=1000.0,
        source=FOLDER_CHECK,
        note="a folder's community farther than this from every road node (of the network "
             "kept: its largest connected part) is an error; roads 50 km off gave 195-min "
             "P1 responses.  Jiangbei's and the test towns' communities all hold a node")

    @model_validator(mode="after")
    def _classes(self):
        if len(self.congestion_by_hour) != 24:
            raise Invalid("congestion_by_hour", f"must be 24 numbers in [1, 10] (one per "
                          f"hour), got {len(self.congestion_by_hour)}")
        if self.grid_road_class not in self.speed_kmh:
            raise Invalid("grid_road_class", f"must be one of the classes in speed_kmh "
                          f"({', '.join(self.speed_kmh)}), got {self.grid_road_class!r}")
        return self


class Grids(Schema):
    count: int = param(33, unit="patrol grids", ge=1, le=100_000, source=REPORT)
    lloyd_iterations: int = param(6, unit="iterations", ge=0, le=100, source=ASSUMED,
                                  plausible=(0, 20))


# --------------------------------------------------------------------------- residents


class Residents(Schema):
    propensity_sigma: float = param(0.8, unit="log-sd of dispute propensity", ge=0.0, le=5.0,
                                    source=ASSUMED, plausible=(0.4, 1.2))
    satisfaction_init: float = param(0.75, unit="0..1", ge=0.0, le=1.0, source=ASSUMED,
                                     plausible=(0.6, 0.9))
    satisfaction_settled: float = param(0.05, unit="change per event", ge=-1.0, le=1.0,
                                        source=ASSUMED, plausible=(0.0, 0.1))
    satisfaction_court: float = param(-0.10, unit="change per event", ge=-1.0, le=1.0,
                                      source=ASSUMED, plausible=(-0.2, 0.0))
    satisfaction_violent: float = param(-0.30, unit="change per event", ge=-1.0, le=1.0,
                                        source=ASSUMED, plausible=(-0.5, -0.1))
    satisfaction_fast_response: float = param(0.02, unit="change per event", ge=-1.0, le=1.0,
                                              source=ASSUMED, plausible=(0.0, 0.05))
    satisfaction_slow_response: float = param(-0.05, unit="change per event", ge=-1.0, le=1.0,
                                              source=ASSUMED, plausible=(-0.1, 0.0))
    satisfaction_overflow: float = param(-0.05, unit="change per event", ge=-1.0, le=1.0,
                                         source=ASSUMED, plausible=(-0.1, 0.0))
    fast_response_min: float = param(10.0, unit="min", ge=0.0, le=1e4, source=ASSUMED,
                                     plausible=(5.0, 15.0))
    # Trust in mediation and in the police; one handled dispute moves trust and satisfaction
    # part of the way towards how it went (so both stay in [0, 1]).
    trust_mediation_init: float = param(
        0.75, unit="0..1", ge=0.0, le=1.0, source=ASSUMED, plausible=(0.5, 0.9),
        note="near the mean experience of a handled case at reported staffing, so trust does "
             "not trend at constant policy")
    trust_police_init: float = param(0.6, unit="0..1", ge=0.0, le=1.0, source=ASSUMED,
                                     plausible=(0.4, 0.8),
                                     note="near the mean experience of a dispute call")
    trust_learning_rate: float = param(0.3, unit="share of the gap closed by one experience",
                                       ge=0.0, le=1.0, source=ASSUMED, plausible=(0.1, 0.6))
    satisfaction_learning_rate: float = param(0.3, unit="share of the gap closed by one "
                                              "experience", ge=0.0, le=1.0, source=ASSUMED,
                                              plausible=(0.1, 0.6))


# --------------------------------------------------------------------------- disputes


class DisputeCategory(Schema):
    """One kind of dispute; the district has one per special working group (report: 12)."""

    share: float = param(0.1, unit="share of disputes", ge=0.0, le=1.0, source=ASSUMED,
                         relative=(0.5, 2.0))
    severity_mean: float = param(0.4, unit="0..1", ge=0.01, le=0.99, source=ASSUMED,
                                 relative=(0.7, 1.3))
    # Amounts were set so that the year's total is near the report's 466 M yuan at 7 disputes
    # per 1,000 residents: an input fitted to a headline (see the calibration benchmark).
    amount_median_yuan: float = param(10_000.0, unit="yuan", ge=0.0, le=1e10, source=ASSUMED,
                                      relative=(0.5, 2.0))
    amount_sigma: float = param(1.0, unit="log-sd", ge=0.0, le=5.0, source=ASSUMED,
                                relative=(0.7, 1.3))
    parties_extra_mean: float = param(0.3, unit="parties beyond two (geometric mean)", ge=0.0,
                                      le=1000.0, source=ASSUMED, plausible=(0.0, 3.0))
    district_intake_share: float = param(
        0.0, unit="share of the parties' own cases", ge=0.0, le=1.0, source=ASSUMED,
        plausible=(0.0, 0.9), note="taken straight to the district's specialised committee "
                                   "(行业性专业性调委会); the report counts 8 district committees")


def _category(share, severity, amount, sigma=1.0, parties=0.2, district=0.0) -> DisputeCategory:
    return DisputeCategory(share=share, severity_mean=severity, amount_median_yuan=amount,
                           amount_sigma=sigma, parties_extra_mean=parties,
                           district_intake_share=district)


FirstSessionDays = per_level("FirstSessionDays", unit="days", ge=0.0, le=365.0,
                             defaults=(1.0, 2.0, 3.0), source=ASSUMED,
                             plausible=((0.5, 3.0), (1.0, 5.0), (1.0, 7.0)))
SessionHours = per_level("SessionHours", unit="hours", ge=0.0, le=1000.0,
                         defaults=(1.5, 2.0, 3.0), source=ASSUMED,
                         plausible=((1.0, 3.0), (1.0, 4.0), (1.5, 5.0)))
SessionGapDays = per_level("SessionGapDays", unit="days", ge=0.0, le=365.0,
                           defaults=(3.0, 4.0, 5.0), source=ASSUMED, note=LAW,
                           plausible=((1.0, 7.0), (2.0, 7.0), (2.0, 10.0)))
MaxSessions = per_level("MaxSessions", unit="sessions", ge=1, le=1000, defaults=(3, 3, 4),
                        source=ASSUMED, plausible=((2, 5), (2, 5), (2, 6)), integer=True)
SettleLogit = per_level("SettleLogit", unit="log-odds", ge=-100.0, le=100.0,
                        defaults=(1.5, 1.5, 1.5),
                        source=CALIBRATED + "99.9 % success among the cases taken",
                        plausible=((0.5, 2.5), (0.5, 2.5), (0.5, 2.5)))
PrepHours = per_level("PrepHours", unit="hours per session", ge=0.0, le=1000.0,
                      defaults=(1.0, 1.5, 2.0), source=ASSUMED,
                      plausible=((0.5, 2.0), (0.5, 3.0), (1.0, 4.0)))
FollowupHours = per_level("FollowupHours", unit="hours per session (回访 follow-up visits)",
                          ge=0.0, le=1000.0, defaults=(0.5, 0.5, 1.0), source=ASSUMED,
                          plausible=((0.25, 1.0), (0.25, 1.0), (0.5, 2.0)))
SkillInit = per_level("SkillInit", unit="0..1", ge=0.0, le=1.0, defaults=(0.5, 0.7, 0.8),
                      source=ASSUMED, plausible=((0.3, 0.7), (0.5, 0.9), (0.6, 0.95)))


class Violence(Schema):
    hazard_per_day: float = param(2.0e-5, unit="per day, at severity 0.4 and day 0", ge=0.0,
                                  le=10.0, source=CALIBRATED + "99.9 % success",
                                  plausible=(5e-6, 2e-4))
    severity_exponent: float = param(2.0, unit="exponent", ge=0.0, le=10.0, source=ASSUMED,
                                     plausible=(1.0, 3.0))
    growth_days: float = param(10.0, unit="days for the hazard to double", ge=0.001, le=1e4,
                               source=ASSUMED, plausible=(5.0, 30.0))


class Screening(Schema):
    """Proactive screening for latent disputes (排查, the Fengqiao method): station staff
    visiting households, out of their casework hours."""

    hours_per_week: float = param(
        4.0, unit="hours / station / week", ge=0.0, le=168.0,
        source="county screening rules: residents' committees screen every half month "
               "(村(居)委会每半月排查一次); one 8-hour round", plausible=(1.0, 10.0))
    households_per_hour: float = param(15.0, unit="households reached / screening hour",
                                       ge=0.0, le=1e4, source=ASSUMED, plausible=(5.0, 40.0),
                                       note="with informants such as building heads (楼栋长)")
    household_size: float = param(2.6, unit="residents / household", ge=1.0, le=20.0,
                                  source="2020 census: 2.62 residents per household")
    max_share: float = param(0.5, unit="of a person's casework hours", ge=0.0, le=1.0,
                             source=ASSUMED, plausible=(0.25, 0.75))


class Intake(Schema):
    """Redirection at intake (to litigation, arbitration or an administrative channel), more
    often when the station cannot meet soon; where the parties' own cases are taken."""

    redirect_logit: float = param(
        -3.5, unit="log-odds at 10,000 yuan, severity 0, no backlog", ge=-100.0, le=100.0,
        source=ASSUMED, plausible=(-5.0, -1.0),
        note="People's Mediation Law art. 17-18: a party may refuse; some matters belong to "
             "other organs")
    redirect_amount_weight: float = param(0.5, unit="log-odds per log(amount / 10,000 yuan)",
                                          ge=0.0, le=100.0, source=ASSUMED,
                                          plausible=(0.0, 1.0))
    redirect_severity_weight: float = param(2.0, unit="log-odds per unit severity", ge=0.0,
                                            le=100.0, source=ASSUMED, plausible=(0.0, 4.0))
    redirect_backlog_weight: float = param(0.3, unit="log-odds per day until a meeting",
                                           ge=0.0, le=100.0, source=ASSUMED,
                                           plausible=(0.05, 1.0))
    street_intake_share: float = param(0.1, unit="share of the parties' own cases", ge=0.0,
                                       le=1.0, source=ASSUMED, plausible=(0.0, 0.3),
                                       note="taken straight to the street studio (老马工作室)")


class Channels(Schema):
    """Where a surfacing conflict is taken, as log-odds against the parties handling it
    themselves, at the residents' initial trust; and how each ending feels to the parties."""

    station_logit: float = param(-2.78, unit="log-odds", ge=-100.0, le=100.0,
                                 source=SURVEY + ": log(4.8 / 77.6)")
    police_logit: float = param(
        -1.65, unit="log-odds", ge=-100.0, le=100.0,
        source=CALIBRATED + "dispute calls at Xuzhou 2017's 12.6 % of valid 110 reports, in "
                            "the steady state (a year after a 120-day warm-up)",
        plausible=(-2.5, 0.0), note="the survey's police share (about twice the committee's) "
                                    "would give -2.1")
    court_logit: float = param(-2.26, unit="log-odds", ge=-100.0, le=100.0,
                               source=SURVEY + ": log(8.1 / 77.6)")
    trust_weight: float = param(3.0, unit="log-odds per unit of trust above its initial value",
                                ge=0.0, le=100.0, source=ASSUMED, plausible=(1.0, 6.0))
    police_severity_weight: float = param(2.0, unit="log-odds per unit severity above 0.4",
                                          ge=0.0, le=100.0, source=ASSUMED,
                                          plausible=(0.0, 4.0))
    court_amount_weight: float = param(0.5, unit="log-odds per log(amount / 10,000 yuan)",
                                       ge=0.0, le=100.0, source=ASSUMED, plausible=(0.0, 1.0))
    self_resolve_prob: float = param(0.75, unit="probability", ge=0.0, le=1.0, source=ASSUMED,
                                     plausible=(0.5, 0.9),
                                     note="handled by the parties: settles quietly")
    flare_days_mean: float = param(30.0, unit="days", ge=0.01, le=3650.0, source=ASSUMED,
                                   plausible=(7.0, 120.0), note="else it flares up again")
    flare_severity_bump: float = param(0.1, unit="severity", ge=0.0, le=1.0, source=ASSUMED,
                                       plausible=(0.0, 0.3))
    experience: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = param(
        {"settled": 0.9, "police_settled": 0.7, "referred": 0.55, "redirected": 0.35,
         "court": 0.25, "unresolved": 0.2, "violent": 0.0},
        unit="0..1, how each ending feels to the parties", source=ASSUMED, relative=(0.8, 1.2))
    experience_delay_penalty: float = param(0.3, unit="experience lost by a 30-day mediation",
                                            ge=0.0, le=1.0, source=ASSUMED,
                                            plausible=(0.1, 0.5))

    @model_validator(mode="after")
    def _endings(self):
        missing = set(EXPERIENCES) - set(self.experience)
        if missing:
            raise Invalid("experience", f"needs a value for {', '.join(sorted(missing))}")
        return self


EXPERIENCES = ("settled", "police_settled", "referred", "redirected", "court", "unresolved",
               "violent")


class PoliceLink(Schema):
    """Disputes at the police (110) and the police-mediation link (警调对接)."""

    on_scene_min: float = param(35.0, unit="min", ge=0.0, le=1e4, source=ASSUMED,
                                plausible=(20.0, 60.0),
                                note=f"{CFS}; on-the-spot mediation takes longer")
    priority: int = param(2, ge=1, le=3, source=ASSUMED, plausible=(2, 3))
    settle_on_spot_prob: float = param(
        0.6, unit="probability at severity 0.4", ge=0.0, le=1.0, source=ASSUMED,
        plausible=(0.4, 0.85),
        note="Sun Wu county: officers mediate on the spot first and transfer what they cannot "
             "settle to the station's mediation room")
    settle_on_spot_severity_weight: float = param(0.6, unit="probability per unit severity",
                                                  ge=0.0, le=10.0, source=ASSUMED,
                                                  plausible=(0.0, 1.5))
    refer_prob: float = param(0.15, unit="of those not settled on the spot", ge=0.0, le=1.0,
                              source=ASSUMED, plausible=(0.1, 0.6))
    referral_severity_bump: float = param(0.1, unit="severity", ge=0.0, le=1.0,
                                          source=ASSUMED, plausible=(0.0, 0.3))
    repeat_calls_per_week: float = param(0.43, unit="calls / week while unsettled after a "
                                         "call", ge=0.0, le=100.0, source=CHARKOUDIAN)


class Recurrence(Schema):
    """Settled disputes can break out again between the same parties."""

    prob_max: float = param(0.2, unit="probability for a settlement reached at a coin-flip "
                            "chance (scales with 1 - that chance)", ge=0.0, le=1.0,
                            source=ASSUMED, plausible=(0.05, 0.4))
    police_prob: float = param(0.25, unit="probability after an on-the-spot police settlement",
                               ge=0.0, le=1.0, source=ASSUMED, plausible=(0.1, 0.5),
                               note=f"police rarely resolve the underlying issue ({CHARKOUDIAN})")
    days_mean: float = param(120.0, unit="days", ge=0.01, le=36_500.0, source=ASSUMED,
                             plausible=(30.0, 365.0))


class Disputes(Schema):
    enabled: bool = param(True, source=SWITCH)
    rate_per_1000_per_year: float = param(
        100.0, unit="conflicts arising / 1,000 residents / year (all channels)", ge=0.0,
        le=1e5, source=CALIBRATED + "the report's 466 M yuan at stake (the report gives no "
                                    "counts)", plausible=(30.0, 200.0),
        note=f"cases at the stations come out near Chongqing's 11 per 1,000 ({MOJ})")
    arrival_rate_per_hour: float | None = param(None, unit="disputes / hour", ge=0.0, le=1e6,
                                                source=VALIDATION)
    severity_concentration: float = param(6.0, unit="Beta a + b", ge=0.1, le=1e3,
                                          source=ASSUMED, plausible=(3.0, 12.0))
    categories: dict[str, DisputeCategory] = param({
        "neighbour": _category(0.22, 0.25, 3350, parties=0.2),
        "family": _category(0.16, 0.30, 8950, parties=0.3),
        "property": _category(0.10, 0.45, 67000, parties=0.5, district=0.2),
        "labour": _category(0.10, 0.45, 44700, 0.9, parties=1.5, district=0.4),
        "commercial": _category(0.06, 0.50, 279500, parties=0.5, district=0.3),
        "traffic": _category(0.08, 0.35, 33500, 0.8, parties=0.2, district=0.6),
        "medical": _category(0.03, 0.55, 89400, parties=0.5, district=0.8),
        "land": _category(0.04, 0.55, 167700, parties=1.0, district=0.3),
        "consumer": _category(0.07, 0.25, 5600, parties=0.2),
        "tenancy": _category(0.07, 0.30, 13400, 0.9, parties=0.2),
        "school": _category(0.03, 0.35, 5600, parties=0.5),
        "environment": _category(0.04, 0.40, 22400, parties=1.0, district=0.3),
    }, source="report: 12 special working groups, one risk area each")
    single_session: bool = param(False, source=SWITCH)
    first_session_days: FirstSessionDays = param(FirstSessionDays(), source=ASSUMED)
    session_hours: SessionHours = param(SessionHours(), source=ASSUMED)
    session_gap_days: SessionGapDays = param(SessionGapDays(), source=ASSUMED)
    max_sessions: MaxSessions = param(MaxSessions(), source=ASSUMED)
    # Settlement chance per session: logistic(level logit + skill_w*skill - severity_w*severity)
    # (+ the mentoring bonus); the logits were calibrated to the report's 99.9 %.
    settle_logit: SettleLogit = param(SettleLogit(), source=ASSUMED)
    settle_skill_weight: float = param(3.0, unit="log-odds per unit skill", ge=0.0, le=100.0,
                                       source=ASSUMED, plausible=(1.5, 4.5))
    settle_severity_weight: float = param(3.0, unit="log-odds per unit severity", ge=0.0,
                                          le=100.0, source=ASSUMED, plausible=(1.5, 4.5))
    escalation_handoff_days: float = param(1.0, unit="days", ge=0.0, le=365.0, source=ASSUMED,
                                           plausible=(0.5, 3.0))
    escalation_handoff_days_no_platform: float = param(3.0, unit="days", ge=0.0, le=365.0,
                                                       source=ASSUMED, plausible=(1.0, 7.0))
    violence: Violence = param(Violence(), source=ASSUMED)
    # Latent before it surfaces, its severity growing.
    latent_days_mean: float = param(21.0, unit="days before a party acts", ge=0.0, le=3650.0,
                                    source=ASSUMED, plausible=(7.0, 90.0))
    severity_growth_days: float = param(180.0, unit="days for (1 - severity) to fall by 1/e "
                                        "while latent", ge=0.01, le=1e5, source=ASSUMED,
                                        plausible=(60.0, 720.0))
    # Work per session besides the meeting, and what the settlement chance depends on:
    # logistic(level logit + skill_w*skill - severity_w*severity + hours_w*log(hours put in /
    # full hours) - amount_w*log(1 + amount/100,000) - parties_w*(parties - 2)
    # - delay_w*months since raised + mentoring bonus).
    prep_hours: PrepHours = param(PrepHours(), source=ASSUMED)
    followup_hours: FollowupHours = param(FollowupHours(), source=ASSUMED)
    session_hours_severity: float = param(1.0, unit="meeting length x (1 + this x severity)",
                                          ge=0.0, le=100.0, source=ASSUMED,
                                          plausible=(0.0, 2.0))
    settle_hours_weight: float = param(1.0, unit="log-odds per log of the hours ratio", ge=0.0,
                                       le=100.0, source=ASSUMED, plausible=(0.0, 2.0))
    settle_amount_weight: float = param(
        0.3, unit="log-odds per log(1 + amount / 100,000 yuan)", ge=0.0, le=100.0,
        source=ASSUMED, plausible=(0.0, 1.0),
        note="Wissler 2002: disparity in the parties' positions lowers settlement")
    settle_parties_weight: float = param(0.2, unit="log-odds per party beyond two", ge=0.0,
                                         le=100.0, source=ASSUMED, plausible=(0.0, 0.5))
    settle_delay_weight: float = param(0.5, unit="log-odds per 30 days since raised", ge=0.0,
                                       le=100.0, source=ASSUMED, plausible=(0.0, 1.5))
    screening: Screening = param(Screening(), source=ASSUMED)
    intake: Intake = param(Intake(), source=ASSUMED)
    channels: Channels = param(Channels(), source=ASSUMED)
    police: PoliceLink = param(PoliceLink(), source=ASSUMED)
    recurrence: Recurrence = param(Recurrence(), source=ASSUMED)

    @model_validator(mode="after")
    def _tables(self):
        _shares_sum_to_one("categories", self.categories)
        return self


def _shares_sum_to_one(name: str, table: dict, required: bool = True) -> None:
    if not table:
        if required:
            raise Invalid(name, "must have at least one entry")
        return
    total = sum(v.share for v in table.values())
    if abs(total - 1.0) > 1e-6:
        raise Invalid(name, f"shares must sum to 1, got {total:g}")


# --------------------------------------------------------------------------- mediators


class Mediators(Schema):
    committees: int = param(146, unit="mediation committees", ge=0, le=100_000, source=REPORT)
    community_xiaoma: int = param(150, unit="people", ge=0, le=100_000, source=REPORT,
                                  note="150 full-time 'Xiao Ma' at the 126 community stations")
    # The report gives 85 full-time and 717 part-time committee mediators; their split across
    # levels is ours.
    community_part_time: int = param(600, unit="people", ge=0, le=100_000, source=ASSUMED,
                                     plausible=(500, 680), note=PART_TIME_SPLIT)
    street_full_time: int = param(48, unit="people", ge=0, le=100_000, source=ASSUMED,
                                  plausible=(30, 60), note=FULL_TIME_SPLIT)
    street_part_time: int = param(72, unit="people", ge=0, le=100_000, source=ASSUMED,
                                  plausible=(30, 120), note=PART_TIME_SPLIT)
    district_full_time: int = param(37, unit="people", ge=0, le=100_000, source=ASSUMED,
                                    plausible=(25, 55), note=FULL_TIME_SPLIT)
    district_part_time: int = param(45, unit="people", ge=0, le=100_000, source=ASSUMED,
                                    plausible=(20, 90), note=PART_TIME_SPLIT)
    working_groups: int = param(12, unit="groups", ge=1, le=1000, source=REPORT)
    caseload_full_time: int = param(6, unit="concurrent cases", ge=1, le=1000, source=ASSUMED,
                                    plausible=(3, 10))
    caseload_part_time: int = param(2, unit="concurrent cases", ge=1, le=1000, source=ASSUMED,
                                    plausible=(1, 4))
    part_time_days_per_week: int = param(2, unit="days / week", ge=1, le=7, source=ASSUMED,
                                         plausible=(1, 3))
    skill_init: SkillInit = param(SkillInit(), source=ASSUMED)
    skill_spread: float = param(0.1, unit="sd of initial skill", ge=0.0, le=1.0,
                                source=ASSUMED, plausible=(0.05, 0.2))
    skill_growth_per_case: float = param(0.005, unit="skill / case", ge=0.0, le=1.0,
                                         source=ASSUMED, plausible=(0.001, 0.01))
    mentoring: bool = param(True, source=REPORT, note="'the old horse leads the young horse'")
    mentoring_growth_bonus: float = param(0.005, unit="skill / case", ge=0.0, le=1.0,
                                          source=ASSUMED, plausible=(0.0, 0.01))
    mentoring_settle_bonus: float = param(0.3, unit="log-odds", ge=0.0, le=10.0,
                                          source=ASSUMED, plausible=(0.0, 0.6))
    cost_yuan: dict[str, Annotated[float, Field(ge=0.0, le=1e9)]] = param(
        {"xiaoma": 90_000.0, "full_time": 110_000.0, "part_time": 24_000.0},
        unit="yuan / person-year", source=ASSUMED, relative=(0.7, 1.4))
    # Time is the resource: paid hours a week, the share left for casework, screening and
    # mentoring after other duties, the days full-time staff work; seniors are the street
    # studios' Lao Ma.
    paid_hours_per_week: dict[str, Annotated[float, Field(ge=0.0, le=168.0)]] = param(
        {"xiaoma": 40.0, "full_time": 40.0, "part_time": 4.0, "senior": 40.0},
        unit="hours / week", source=ASSUMED, relative=(0.5, 2.0),
        note="full-time staff: the Labour Law's 40-hour week; part-timers' hours ours")
    casework_share: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = param(
        {"xiaoma": 0.5, "full_time": 0.8, "part_time": 1.0, "senior": 0.8},
        unit="of paid hours, left after other duties", source=ASSUMED, relative=(0.6, 1.0),
        note="Xiao Ma: community workers report half or more of their time on administrative "
             "tasks (surveys of community workers' burden, 社区减负)")
    full_time_days_per_week: int = param(5, unit="days / week", ge=1, le=7,
                                         source="Labour Law: a five-day, 40-hour week")
    travel_speed_kmh: float = param(10.0, unit="km/h to the parties' homes (1e9: no travel)",
                                    ge=0.1, le=1e9, source=ASSUMED, plausible=(4.0, 25.0),
                                    note="on foot or by e-bike")
    part_time_skill_offset: float = param(
        -0.1, unit="skill", ge=-1.0, le=1.0, source=ASSUMED, plausible=(-0.2, 0.0),
        note="full-time posts call for legal training (MoJ 2018 opinion on mediator teams)")
    turnover_per_year: dict[str, Annotated[float, Field(ge=0.0, le=10.0)]] = param(
        {"xiaoma": 0.18, "full_time": 0.1, "part_time": 0.1}, unit="leavers / year",
        source=ASSUMED, relative=(0.5, 1.5),
        note="Xiao Ma: social workers' turnover 17.6-20 % a year (Shenzhen, Beijing, Shanghai "
             "surveys); committee staff ours")
    cases_per_year_init: dict[str, Annotated[float, Field(ge=0.0, le=1e4)]] = param(
        {"xiaoma": 40.0, "full_time": 11.0, "part_time": 5.0},
        unit="cases / year before the run", source=ASSUMED, relative=(0.5, 1.5),
        note="warm start of experience, near the model's own rate so skill does not trend")
    mentoring_hours_per_case: float = param(1.0, unit="senior's hours / mentored case",
                                            ge=0.0, le=100.0, source=ASSUMED,
                                            plausible=(0.5, 3.0))
    mentoring_max_wait_days: float = param(7.0, unit="days", ge=0.0, le=365.0, source=ASSUMED,
                                           plausible=(2.0, 14.0),
                                           note="a senior busier than this skips the review")
    rush_days: float = param(14.0, unit="days of backlog at which preparation and follow-up "
                             "halve", ge=0.01, le=1e9, source=ASSUMED, plausible=(3.0, 60.0))

    @model_validator(mode="after")
    def _kinds(self):
        for name in ("paid_hours_per_week", "casework_share"):
            missing = set(HOUR_KINDS) - set(getattr(self, name))
            if missing:
                raise Invalid(name, f"needs a value for {', '.join(sorted(missing))}")
        return self


# --------------------------------------------------------------------------- incidents


class IncidentKind(Schema):
    share: float = param(0.1, unit="share of calls", ge=0.0, le=1.0, source=ASSUMED,
                         relative=(0.5, 2.0))
    priority: int = param(2, ge=1, le=3, source=ASSUMED, relative=(1.0, 1.0))
    on_scene_min: float = param(25.0, unit="min", ge=0.0, le=1e5, source=ASSUMED,
                                relative=(0.75, 1.33), note=CFS)
    violent: bool = param(False, source=ASSUMED)
    deterrable: bool = param(False, source=ASSUMED)


def _kind(share, priority, on_scene, violent=False, deterrable=False) -> IncidentKind:
    return IncidentKind(share=share, priority=priority, on_scene_min=on_scene, violent=violent,
                        deterrable=deterrable)


CHONGQING_110 = ("Chongqing 110 centre 2018: 8.8 M calls, 5 M valid, over 32 M residents (about "
                 "156 valid calls per 1,000 a year)")
CPSM = ("ICMA Center for Public Safety Management, Police Operations and Data Analysis Report, "
        "Morgan Hill CA (2015), table 8-12: meals averaged 36.4 min, other out-of-service "
        "activities 61 min")
POLICE_ON_DUTY = ("police: chinanews 2010-02-08, 800-1,000 traffic-patrol police on duty round "
                  "the clock in Chongqing's main city; Jiangbei has about 10 % of its residents "
                  "(2010 census 738 k of 7.46 M): 80-100 officers, 40-50 two-officer cars")


class Calls(Schema):
    enabled: bool = param(True, source=SWITCH)
    rate_per_1000_per_year: float = param(
        163.0, unit="calls / 1,000 residents / year, before patrol deters some", ge=0.0,
        le=1e6, source=CHONGQING_110,
        note="the default patrol deters about 7 per 1,000 (this model), so 163 before "
             f"deterrence reports about 156; {CFS}")
    rate_per_grid_per_hour: list[Rate] | None = param(None, unit="calls / hour, per grid",
                                                      source=VALIDATION)
    hourly_profile: list[Weight] = param(
        [0.9, 0.7, 0.55, 0.45, 0.4, 0.4, 0.5, 0.7, 0.9, 1.0, 1.05, 1.1,
         1.1, 1.05, 1.05, 1.1, 1.15, 1.2, 1.3, 1.35, 1.35, 1.3, 1.2, 1.05],
        unit="relative rate by hour (normalised)", source=ASSUMED, relative=(0.75, 1.33))
    weekday_profile: list[Weight] = param([0.95, 0.95, 0.95, 1.0, 1.1, 1.1, 0.95],
                                         unit="relative rate Mon..Sun (normalised)",
                                         source=ASSUMED, relative=(0.9, 1.1))
    hotspot_share: float = param(0.3, unit="share of calls", ge=0.0, le=1.0, source=ASSUMED,
                                 plausible=(0.15, 0.5))
    kinds: dict[str, IncidentKind] = param({
        "fight": _kind(0.04, 1, 35, violent=True, deterrable=True),
        "assault_robbery": _kind(0.02, 1, 45, violent=True, deterrable=True),
        "traffic_accident": _kind(0.14, 2, 30),
        "theft": _kind(0.14, 2, 30, deterrable=True),
        "disturbance": _kind(0.16, 2, 20, deterrable=True),
        "noise": _kind(0.18, 3, 15),
        "assistance": _kind(0.14, 3, 25),
        "other_service": _kind(0.18, 3, 20),
    }, source=f"kinds and shares assumed; on-scene times within {CFS}")
    # Deterrence by patrol intensity I (units on patrol per km², i.e. patrol hours per km² per
    # hour, in the call's grid or at its hotspot): deterrence * (1 - exp(-I / scale)).
    deterrence: float = param(
        0.3, unit="share of deterrable calls prevented at saturating patrol", ge=0.0, le=1.0,
        source=ASSUMED, plausible=(0.1, 0.6),
        note="with deterrence_scale_per_km2, an elasticity of deterrable calls to patrol of "
             "about -0.1 at the default grids' intensity (about 0.26 units / km²), the low end "
             "of the police elasticity of crime (about -0.2 to -0.3: Chalfin & McCrary 2018, "
             "'Are U.S. cities underpoliced?'); hotspots are near saturation")
    deterrence_scale_per_km2: float = param(0.5, unit="units on patrol / km²", ge=1e-6,
                                            le=1e4, source=ASSUMED, plausible=(0.2, 2.0))
    found_per_patrol_hour: float = param(0.02, unit="incidents / patrolling unit-hour",
                                         ge=0.0, le=100.0, source=ASSUMED,
                                         plausible=(0.005, 0.05),
                                         note="at low patrol intensity; it saturates with "
                                              "found_sweep_km2")
    found_sweep_km2: float = param(0.5, unit="km² one patrolling unit watches", ge=1e-6,
                                   le=1e4, source=ASSUMED, plausible=(0.1, 2.0))
    found_kinds: dict[str, IncidentKind] = param({
        "suspicious": _kind(0.5, 2, 20),
        "disorder": _kind(0.5, 3, 15),
    }, source=ASSUMED)
    violent_dispute_on_scene_min: float = param(45.0, unit="min", ge=0.0, le=1e5,
                                                source=ASSUMED, plausible=(30.0, 90.0))
    # When set, every incident's service time has this mean, whatever its kind (hypercube).
    mean_service_hours: float | None = param(None, unit="hours", ge=1e-6, le=1e6,
                                             source=VALIDATION)
    service_distribution: Literal["lognormal", "exponential"] = param("lognormal",
                                                                      source=ASSUMED)
    service_cv: float = param(0.6, unit="coefficient of variation", ge=0.01, le=10.0,
                              source=ASSUMED, plausible=(0.4, 1.0))

    @model_validator(mode="after")
    def _profiles(self):
        if len(self.hourly_profile) != 24 or sum(self.hourly_profile) <= 0:
            raise Invalid("hourly_profile", "must be 24 non-negative numbers, not all 0")
        if len(self.weekday_profile) != 7 or sum(self.weekday_profile) <= 0:
            raise Invalid("weekday_profile", "must be 7 non-negative numbers, not all 0")
        _shares_sum_to_one("kinds", self.kinds)
        _shares_sum_to_one("found_kinds", self.found_kinds, required=False)
        return self


class UnitType(Schema):
    per_shift: int = param(1, unit="units on duty per shift", ge=0, le=100_000, source=ASSUMED,
                           relative=(0.5, 1.5))
    shifts: list[Annotated[float, Field(ge=0.0, lt=24.0)]] = param(
        [0.0], unit="start hours", source=ASSUMED, relative=(1.0, 1.0), note=PATTERN)
    shift_hours: float = param(24.0, unit="hours", ge=0.5, le=24.0, source=ASSUMED,
                               relative=(1.0, 1.0))
    speed_kmh: float = param(30.0, unit="km/h", ge=0.1, le=500.0, source=ASSUMED,
                             relative=(0.67, 1.2))
    turnout_min: float = param(1.0, unit="min", ge=0.0, le=600.0, source=ASSUMED,
                               relative=(0.5, 2.0))
    priorities: list[Annotated[int, Field(ge=1, le=3)]] = param(
        [1, 2, 3], unit="priorities it answers", source=ASSUMED, relative=(1.0, 1.0),
        note=PATTERN)
    # drive: road-class speeds and congestion on the road graph; walk: the shortest walk at
    # speed_kmh.  Either way speed_kmh covers the leg between the road and the spot.
    travel_mode: Literal["drive", "walk"] = param("drive", source=ASSUMED)
    support_violent_p1: bool = param(False, source=ASSUMED)
    hotspot_grids_only: bool = param(False, source=ASSUMED)
    patrol_hotspot_share: float = param(0.6, unit="share of patrol time", ge=0.0, le=1.0,
                                        source=ASSUMED, relative=(0.7, 1.1))
    cost_yuan: float = param(300_000.0, unit="yuan / post-year", ge=0.0, le=1e10,
                             source=ASSUMED, relative=(0.7, 1.4))
    # The longest arrival the platform accepts from this unit (None: any); beyond it the call
    # waits for another unit.  Foot patrols answer only what they can walk to.
    max_eta_min: float | None = param(None, unit="min", ge=0.0, le=1e4, source=ASSUMED,
                                      relative=(0.67, 2.0))
    # Work that keeps a unit off patrol: after each incident, and once per shift.
    report_min: float = param(0.0, unit="min per incident (mean)", ge=0.0, le=1e4,
                              source=ASSUMED, relative=(0.5, 2.0))
    handover_min: float = param(0.0, unit="min at the start of each shift", ge=0.0, le=1440.0,
                                source=ASSUMED, relative=(0.67, 2.0),
                                note="the crew going off stays on patrol until the incoming "
                                     "crew's hand-over is done (shifts overlap by it)")
    meal_break_min: float = param(0.0, unit="min per shift", ge=0.0, le=1440.0,
                                  source=ASSUMED, relative=(0.75, 1.5),
                                  note=f"36 min per 8-hour shift from {CPSM}; 60 min per "
                                       "12-hour shift assumed")
    post_duty_min: float = param(0.0, unit="min per shift (fixed-post or station duty)",
                                 ge=0.0, le=1440.0, source=ASSUMED, relative=(0.5, 2.0),
                                 note=f"60 min for police from {CPSM}")

    @model_validator(mode="after")
    def _hours(self):
        if not self.shifts:
            raise Invalid("shifts", "must list at least one start hour")
        return self


def _unit(per_shift, shifts, shift_hours, speed, turnout, priorities, cost, hotspot_share,
          **kw) -> UnitType:
    return UnitType(per_shift=per_shift, shifts=shifts, shift_hours=shift_hours,
                    speed_kmh=speed, turnout_min=turnout, priorities=priorities,
                    cost_yuan=cost, patrol_hotspot_share=hotspot_share, **kw)


class Dispatch(Schema):
    rule: Literal[DISPATCH_RULES] = param("own_then_nearest", source=ASSUMED)
    unified_platform: bool = param(True, source=REPORT,
                                   note="one dispatch platform over the three levels")
    handoff_min: float = param(0.5, unit="min", ge=0.0, le=600.0, source=ASSUMED,
                               plausible=(0.25, 1.0))
    handoff_min_no_platform: float = param(1.5, unit="min", ge=0.0, le=600.0, source=ASSUMED,
                                           plausible=(1.0, 3.0))
    cross_grid_handoff_min_no_platform: float = param(4.0, unit="min", ge=0.0, le=600.0,
                                                      source=ASSUMED, plausible=(2.0, 8.0))
    overflow: Literal[OVERFLOW_MODES] = param("queue", source=ASSUMED)
    travel: bool = param(True, source=SWITCH)
    p1_target_min: float = param(5.0, unit="min", ge=0.0, le=600.0, source=QUICK_RESPONSE)
    # Own grid first, within a tolerance: the own-grid unit goes unless another unit arrives
    # this many minutes sooner.
    own_grid_tolerance_min: float = param(2.0, unit="min", ge=0.0, le=600.0, source=ASSUMED,
                                          plausible=(0.5, 5.0))
    # Stacking: a priority-3 call does not take a unit able to answer priority 1 when no more
    # than this share of the on-duty such units are free; it waits for one to come free.
    p3_reserve_share: float = param(0.1, unit="share of on-duty units able to answer P1",
                                    ge=0.0, le=1.0, source=ASSUMED, plausible=(0.0, 0.25))
    # Mean minutes a caller waits for a unit to be sent before giving up (exponential), by
    # priority; None: callers never give up.
    # Duties a priority-1 call may break when no eligible unit is free: the unit leaves its
    # meal (or post) for the call and takes the rest of the duty once clear.
    p1_breaks_duties: list[Literal[BREAKABLE_DUTIES]] = param(
        [], unit="duties (meal, post)", source=ASSUMED, note=MEALS_ON_CALL)
    duty_breakoff_min: float = param(2.0, unit="min added to the ETA of a unit called from "
                                     "its duty", ge=0.0, le=60.0, source=ASSUMED,
                                     plausible=(0.5, 5.0),
                                     note="leaving the table or the post and back to the car")
    duty_break_gain_min: float = param(
        0.0, unit="min sooner than the free unit the rule picks", ge=0.0, le=1440.0,
        source=ASSUMED, plausible=(0.0, 10.0),
        note="0: the quickest unit, free or on its duty (its breakoff counted), as a dispatcher "
             "sends the closest unit to an emergency; 1440: only when no unit is free")
    patience_min: list[Annotated[float, Field(gt=0.0, le=1e6)]] | None = param(
        [30.0, 60.0, 240.0], unit="min (mean), for P1, P2, P3", source=ASSUMED,
        relative=(0.5, 3.0), note="P3 calls are stacked and served later in the shift")

    @model_validator(mode="after")
    def _patience(self):
        if self.patience_min is not None and len(self.patience_min) != 3:
            raise Invalid("patience_min", f"must list 3 means (P1, P2, P3), got "
                          f"{len(self.patience_min)}")
        return self


# --------------------------------------------------------------------------- scenario / run


class Scenario(Schema):
    name: str = param(..., source=LABEL)
    description: str = param("", source=LABEL, max_length=500)
    district: DistrictFolder = param(DistrictFolder(), source=DISTRICT_FOLDER)
    geography: Geography = param(Geography(), source=ASSUMED)
    roads: Roads = param(Roads(), source=ASSUMED)
    grids: Grids = param(Grids(), source=REPORT)
    residents: Residents = param(Residents(), source=ASSUMED)
    disputes: Disputes = param(Disputes(), source=ASSUMED)
    mediators: Mediators = param(Mediators(), source=REPORT)
    calls: Calls = param(Calls(), source=ASSUMED)
    units: dict[str, UnitType] = param({
        # Report names the four forces; counts, shifts, speeds and costs are assumed.
        "police": _unit(45, [0.0, 8.0, 16.0], 8.0, 30.0, 1.0, [1, 2, 3], 420_000.0, 0.6,
                        report_min=20.0, handover_min=15.0, meal_break_min=36.0,
                        post_duty_min=60.0),
        "armed_patrol": _unit(8, [10.0, 18.0], 8.0, 25.0, 1.0, [1, 2], 360_000.0, 0.9,
                              hotspot_grids_only=True, report_min=10.0, handover_min=15.0,
                              meal_break_min=36.0),
        "rapid_response": _unit(6, [8.0, 20.0], 12.0, 35.0, 0.5, [], 540_000.0, 0.8,
                                support_violent_p1=True, hotspot_grids_only=True,
                                report_min=20.0, handover_min=15.0, meal_break_min=60.0),
        "guard": _unit(33, [7.0, 19.0], 12.0, 5.0, 0.5, [3], 70_000.0, 0.5,
                       travel_mode="walk", max_eta_min=15.0, report_min=5.0,
                       handover_min=10.0, meal_break_min=60.0),
    }, source=f"report names the four forces; {POLICE_ON_DUTY}; the other numbers are "
              "assumed")
    dispatch: Dispatch = param(Dispatch(), source=ASSUMED)
    events: list[Event] = param([], source=EVENT)
    # Shortcuts the validation scenarios expose on the command line (`scenario.servers=7`);
    # their YAML interpolates them into the fields above.  The model never reads them.
    servers: int | None = param(None, unit="mediators", ge=1, le=100_000, source=VALIDATION)
    arrival_rate: float | None = param(None, unit="per hour", ge=0.0, le=1e6, source=VALIDATION)
    arrival_rates: list[Rate] | None = param(None, unit="per hour, per grid", source=VALIDATION)
    mean_service: float | None = param(None, unit="hours", ge=1e-6, le=1e6, source=VALIDATION)
    overflow: Literal[OVERFLOW_MODES] | None = param(None, source=VALIDATION)

    @model_validator(mode="after")
    def _consistent(self):
        if not _NAME.match(self.name):
            raise Invalid("name", "must be 1-100 letters, digits, '_', '-' or '.', starting "
                          f"with a letter or digit (it names the output folder), got "
                          f"{self.name[:60]!r}")
        n_cells = self.geography.n_cells()
        if self.district.path is None and self.grids.count > n_cells:
            raise Invalid("grids.count", f"must be an integer in [1, {n_cells}] (the district "
                          f"has {n_cells} cells of {self.geography.cell_km:g} km), got "
                          f"{self.grids.count}")
        rates = self.calls.rate_per_grid_per_hour
        if rates is not None and len(rates) != self.grids.count:
            raise Invalid("calls.rate_per_grid_per_hour", f"must list one rate per grid "
                          f"({self.grids.count}), got {len(rates)}")
        if self.district.path is None:   # a folder's counts are checked with its files
            _check_events(self, self.geography.communities, self.grids.count)
        else:
            _check_events(self, None, None)
        return self


def _one_of(field: str, value, allowed) -> None:
    if value is not None and value not in allowed:
        raise Invalid(field, f"must be one of {', '.join(map(str, allowed)) or '(none)'}, "
                      f"got {value!r}")


def _index(field: str, value: int | None, size: int, first: int = 0) -> None:
    if value is not None and not first <= value < size + first:
        raise Invalid(field, f"must be an integer in [{first}, {size - 1 + first}], got {value}")


def _check_events(s: Scenario, n_communities: int | None, n_grids: int | None) -> None:
    """Check the events; the community and grid numbers only when the counts are given."""
    for i, ev in enumerate(s.events):
        where = f"events[{i}]"
        if ev.kind is None:
            raise Invalid(f"{where}.kind", f"required, one of {', '.join(EVENT_KINDS)}")
        _one_of(f"{where}.kind", ev.kind, EVENT_KINDS)
        misplaced = ev.misplaced_field()
        if misplaced is not None:
            own = ", ".join(EVENT_FIELDS[ev.kind]) or "none"
            raise Invalid(f"{where}.{misplaced}", f"does not apply to a {ev.kind} event (its "
                          f"fields: {own}; any event: {', '.join(EVENT_COMMON_FIELDS)})")
        for k in ev.hotspot_kinds:
            _one_of(f"{where}.hotspot_kinds", k, tuple(s.geography.hotspots))
        _one_of(f"{where}.mediator_kind", ev.mediator_kind, MEDIATOR_KINDS)
        _one_of(f"{where}.unit_type", ev.unit_type, tuple(s.units))
        if ev.unit_type is not None:
            _index(f"{where}.shift", ev.shift, len(s.units[ev.unit_type].shifts))
        elif ev.shift is not None:
            _index(f"{where}.shift", ev.shift, min(len(u.shifts) for u in s.units.values())
                   if s.units else 0)
        _one_of(f"{where}.category", ev.category, tuple(s.disputes.categories))
        if n_communities is not None:
            _index(f"{where}.community", ev.community, n_communities, first=1)
        _one_of(f"{where}.incident_kind", ev.incident_kind, tuple(s.calls.kinds))
        if n_grids is not None:
            _index(f"{where}.grid", ev.grid, n_grids, first=1)


class Policy(Schema):
    """A policy variant: what it changes relative to the scenario's own staffing and rules.
    Factors scale the scenario's counts (so one policy means the same thing in every
    district); None leaves a rule as the scenario has it."""

    name: str = param("baseline", source=LABEL)
    description: str = param("", source=LABEL, max_length=500)
    xiaoma_factor: float = param(1.0, unit="x full-time community Xiao Ma", ge=0.0, le=100.0,
                                 source=LEVER)
    full_time_factor: float = param(1.0, unit="x full-time street/district mediators",
                                    ge=0.0, le=100.0, source=LEVER)
    part_time_factor: float = param(1.0, unit="x part-time committee mediators", ge=0.0,
                                    le=100.0, source=LEVER)
    unit_factors: dict[str, Factor] = param({}, unit="x that unit type's strength per shift",
                                            source=LEVER)
    grids: int | None = param(None, unit="patrol grids (null: the scenario's)", ge=1,
                              le=100_000, source=LEVER)
    dispatch_rule: Literal[DISPATCH_RULES] | None = param(None, source=LEVER)
    unified_platform: bool | None = param(None, source=LEVER)
    mentoring: bool | None = param(None, source=LEVER)
    overflow: Literal[OVERFLOW_MODES] | None = param(None, source=LEVER)
    p1_breaks_duties: list[Literal[BREAKABLE_DUTIES]] | None = param(None, source=LEVER)
    screening_factor: float = param(1.0, unit="x proactive screening hours per station (排查)",
                                    ge=0.0, le=100.0, source=LEVER)

    @model_validator(mode="after")
    def _label(self):
        if not _NAME.match(self.name):
            raise Invalid("name", "must be 1-100 letters, digits, '_', '-' or '.', got "
                          f"{self.name[:60]!r}")
        return self


class SimSettings(Schema):
    days: float = param(365.0, unit="simulated days", ge=0.001, le=36_500.0,
                        source=RUN)
    tick_minutes: float = param(60.0, unit="min per model.step()", ge=1.0, le=525_600.0,
                                source=RUN)
    progress: bool = param(True, source=RUN)
    # A run starts with empty queues and no open disputes: the first days are not typical.
    warmup_days: float = param(0.0, unit="simulated days left out of the metrics", ge=0.0,
                               le=36_500.0, source=RUN,
                               note="incidents reported and disputes raised before it are left "
                                    "out of every metric built from them; utilisation, deterred "
                                    "calls and satisfaction still count the whole run")

    @model_validator(mode="after")
    def _warmup(self):
        if self.warmup_days >= self.days:
            raise Invalid("warmup_days", f"must be a number in [0, {self.days:g}) (less than "
                          f"sim.days), got {self.warmup_days:g}")
        return self


class Output(Schema):
    # None: Hydra's run folder under results/.
    dir: str | None = param(None, unit="folder", source=RUN, min_length=1,
                            max_length=1000)


class RunConfig(Schema):
    seed: int = param(0, ge=0, le=2**63 - 1, source=RUN)
    sim: SimSettings = param(SimSettings(), source=RUN)
    scenario: Scenario = param(..., source=LABEL)
    policy: Policy = param(Policy(), source=LEVER)
    output: Output = param(Output(), source=RUN)


# --------------------------------------------------------------------------- parsing


def _to_plain(cfg: Any) -> dict:
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sim.config_errors import plain_values

    if isinstance(cfg, RunConfig):
        return cfg.model_dump()
    if not isinstance(cfg, (dict, DictConfig)):
        raise ConfigError(f"config: must be a mapping, got {type(cfg).__name__}")
    if isinstance(cfg, dict):
        cfg = plain_values(cfg, RunConfig)
        if not _interpolates(cfg):
            return cfg      # nothing to resolve: OmegaConf would only cost time
    try:
        # A plain dict may carry the same ${...} interpolations as the YAML it was copied from.
        node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
        plain = OmegaConf.to_container(node, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        where = f"{key}: " if key else "config: "
        raise ConfigError(f"{where}cannot resolve: {exc}".splitlines()[0]) from None
    except (ValueError, TypeError, RecursionError) as exc:
        # OmegaConf refuses some Python values (Decimal, numpy types, sets) outright.
        raise ConfigError(f"config: unsupported value: {exc}".splitlines()[0]) from None
    return plain


def _interpolates(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_interpolates(v) for v in value.values())
    if isinstance(value, list):
        return any(_interpolates(v) for v in value)
    return False


def parse_config(cfg: Any) -> RunConfig:
    """Validate a plain dict / DictConfig and return the typed ``RunConfig``.

    Raises ``ConfigError`` with one line naming the field and its allowed range.
    """
    from sim.config_errors import explain_validation

    plain = _to_plain(cfg)
    # Hydra adds its own node when a DictConfig comes from a running app; it is not ours.
    plain.pop("hydra", None)
    try:
        run = RunConfig.model_validate(plain)
        apply_policy(run)
        # Re-validate: a policy may have moved a count or grid number out of range.
        run = RunConfig.model_validate(run.model_dump(exclude_unset=True))
        _check_map(run)
        return run
    except ValidationError as exc:
        raise ConfigError(explain_validation(exc, RunConfig)) from None
    except Invalid as exc:
        raise ConfigError(str(exc)) from None


def _check_map(run: RunConfig) -> None:
    """Read the district (a folder's file errors are config errors naming the file, feature and
    field); a folder's grids.geojson sets the grid count unless a policy redraws the grids."""
    from sim.geography import base_district

    s = run.scenario
    try:
        d = base_district(s)
    except OSError as exc:      # unreadable folder or file (permissions, a device, ...)
        raise Invalid("scenario.district.path", f"cannot read {s.district.path!r}: "
                      f"{exc.strerror or exc}") from None
    if s.district.path is None:
        return
    if d.grid_file is not None and run.policy.grids is None:
        s.grids.count = len(d.grid_file[0])
    n_cells = int(d.inside.sum())
    if s.grids.count > n_cells:
        raise Invalid("scenario.grids.count", f"must be an integer in [1, {n_cells}] (the "
                      f"district has {n_cells} cells of {s.geography.cell_km:g} km), got "
                      f"{s.grids.count}")
    rates = s.calls.rate_per_grid_per_hour
    if rates is not None and len(rates) != s.grids.count:
        raise Invalid("scenario.calls.rate_per_grid_per_hour", f"must list one rate per grid "
                      f"({s.grids.count}), got {len(rates)}")
    try:
        _check_events(s, d.n_communities, s.grids.count)
    except Invalid as exc:
        raise Invalid(f"scenario.{exc.field}", exc.message) from None


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
            raise Invalid(f"policy.unit_factors.{unit_type}", "unknown unit type; allowed: "
                          f"{', '.join(s.units) or '(none in this scenario)'}")
        s.units[unit_type].per_shift = _scaled(s.units[unit_type].per_shift, factor)
    if p.grids is not None:
        s.grids.count = p.grids
    if p.dispatch_rule is not None:
        s.dispatch.rule = p.dispatch_rule
    if p.overflow is not None:
        s.dispatch.overflow = p.overflow
    if p.unified_platform is not None:
        s.dispatch.unified_platform = p.unified_platform
    if p.p1_breaks_duties is not None:
        s.dispatch.p1_breaks_duties = list(p.p1_breaks_duties)
    if p.mentoring is not None:
        m.mentoring = p.mentoring
    if p.screening_factor != 1.0:
        s.disputes.screening.hours_per_week = min(
            s.disputes.screening.hours_per_week * p.screening_factor, 168.0)


def to_dict(cfg: RunConfig) -> dict:
    """The resolved config as a plain, JSON-serialisable dict."""
    return cfg.model_dump(mode="json")


# --------------------------------------------------------------------------- Hydra defaults


def schema_defaults() -> dict[str, dict]:
    """The defaults as plain dicts: the config nodes Hydra composes the YAML onto."""
    scenario = Scenario(name="schema").model_dump(mode="json")
    scenario.pop("name")
    run = {"seed": RunConfig.model_fields["seed"].default,
           "sim": SimSettings().model_dump(mode="json"), "output": Output().model_dump()}
    policy = Policy().model_dump(mode="json")
    policy.pop("name")
    policy.pop("description")
    return {"scenario": scenario, "policy": policy, "run": run}


def schema_paths(model: type[BaseModel] = None, prefix: str = "") -> dict[str, str]:
    """Every dotted path the schema defines: "leaf", "model", or "table" (a mapping whose keys
    are free, e.g. policy.unit_factors or scenario.units)."""
    import typing

    model = model or RunConfig
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        tp = info.annotation
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, __import__("types").UnionType) and args:
            tp = args[0]
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            out[path] = "model"
            out.update(schema_paths(tp, path + "."))
        elif typing.get_origin(tp) is dict:
            out[path] = "table"
            value = typing.get_args(tp)[1]
            if isinstance(value, type) and issubclass(value, BaseModel):
                out.update(schema_paths(value, path + ".<name>."))
        else:
            out[path] = "leaf"
    return out


def _register() -> None:
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    # `${len:${scenario.arrival_rates}}`: the hypercube scenario sizes its grids from its rates.
    OmegaConf.register_new_resolver("len", lambda xs: len(xs), replace=True)
    nodes = schema_defaults()
    store = ConfigStore.instance()
    store.store(group="scenario", name="schema", node=nodes["scenario"])
    store.store(group="policy", name="schema", node=nodes["policy"])
    store.store(name="run_schema", node=nodes["run"])


_register()
