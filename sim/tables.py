"""One schema per output table: column, dtype, unit, meaning and allowed values, defined once.

Each table is a pandera ``DataFrameModel``; a field's ``description`` is its meaning and its
``metadata`` carries the ``unit`` (and, for a column that may be empty, what a null means).
The schemas do three jobs:

* **write**: ``typed(df, table)`` casts a table to the schema's dtypes before it is written
  (``sim/output.py`` for a run's tables): categoricals for kinds, outcomes and levels, nullable
  integers, nulls instead of sentinels;
* **document**: ``docs/data-dictionary.md`` is generated from them
  (``python -m sim.tables --write docs/data-dictionary.md``; a test fails when it is stale);
* **check**: tests validate real tables against them (``validate``: value ranges, allowed
  categories).  A run never validates, so a column another part of the model adds does not
  break any run: it only fails the dictionary test, which names the column and this file.

Columns whose names follow a pattern (one per unit type, per swept parameter) are one field
with a regex ``alias``; ``metadata["display"]`` is how the dictionary names them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from agents.dispute import LEVELS, OUTCOMES
from sim.events import MEDIATOR_KINDS

DICTIONARY = Path(__file__).resolve().parent.parent / "docs" / "data-dictionary.md"
MIN = "min since start"
SHARE = "share (0-1)"


def field(meaning: str, unit: str = "", *, null: str = "", display: str = "",
          allowed: str = "", **checks):
    """A column: its meaning, unit, what a null means (nullable if given) and its checks."""
    meta = {"unit": unit}
    if null:
        meta["null"] = null
    if display:
        meta["display"] = display
    if allowed:
        meta["allowed"] = allowed
    return pa.Field(description=meaning, nullable=bool(null), metadata=meta,
                    regex=bool(display), **checks)


class Table(pa.DataFrameModel):
    """Shared settings: extra columns are allowed (the dictionary test catches them)."""

    class Config:
        strict = False
        coerce = False


# --------------------------------------------------------------------------- a run's tables


class Incidents(Table):
    """`incidents.parquet`: one row per incident (a call, a dispute turned violent, or a
    patrol's find), from report to clearance."""

    incident_id: Series[np.int64] = field("incident number in the run, from 0", ge=0)
    source: Series[pd.CategoricalDtype] = field(
        "how it arose: a resident's call, a dispute that turned violent, or a patrol's find",
        isin=["call", "dispute", "patrol"])
    kind: Series[pd.CategoricalDtype] = field(
        "incident kind", allowed="a key of scenario.calls.kinds or scenario.calls.found_kinds;"
        " dispute (a first call about a dispute), dispute_repeat (a party calling again) or"
        " dispute_violence (a dispute that turned violent)")
    priority: Series[np.int8] = field("priority, 1 most urgent", ge=1, le=3)
    grid: Series[np.int32] = field("patrol grid it lies in (0-based; the map numbers "
                                        "from 1)", ge=0)
    community: Series[np.int32] = field("community it lies in (0-based)", ge=0)
    x_km: Series[float] = field("east coordinate", "km", ge=0)
    y_km: Series[float] = field("north coordinate", "km", ge=0)
    t_reported: Series[float] = field("reported (or found)", MIN, ge=0)
    t_dispatched: Series[float] = field("a unit was assigned", MIN, ge=0,
                                        null="no unit assigned by the end, handed to the "
                                        "backup force, or given up by the caller")
    t_arrived: Series[float] = field("the first unit arrived", MIN, ge=0,
                                     null="not reached by the end, handed to the backup "
                                     "force, or given up by the caller")
    t_cleared: Series[float] = field("the unit left the scene", MIN, ge=0,
                                     null="not cleared by the end, handed to the backup "
                                     "force, or given up by the caller")
    unit_id: Series[pd.StringDtype] = field("unit that answered, e.g. P-07", null="none yet")
    unit_type: Series[pd.CategoricalDtype] = field(
        "type of that unit", allowed="a key of scenario.units", null="none yet")
    cross_grid: Series[bool] = field("answered by a unit from another grid")
    overflow: Series[bool] = field("handed to the backup force (no unit free)")
    violent: Series[bool] = field("violent incident (a fight, an assault, a "
                                             "dispute turned violent)")
    support_unit_id: Series[pd.StringDtype] = field(
        "rapid-response team sent in support of a violent priority-1 incident",
        null="no support sent")
    caller: Series[pd.Int64Dtype] = field("resident who called (row in the population)",
                                          ge=0, null="no caller (a patrol's find)")
    abandoned: Series[bool] = field("the caller gave up waiting for a unit")
    t_abandoned: Series[float] = field("the caller gave up", MIN, ge=0,
                                       null="not given up")
    t_unit_free: Series[float] = field("the unit had written the incident up and was free "
                                       "again", MIN, ge=0,
                                       null="not yet, or no unit sent")


class Disputes(Table):
    """`disputes.parquet`: one row per dispute, from the moment it is raised to its one
    outcome."""

    dispute_id: Series[np.int64] = field("dispute number in the run, from 0", ge=0)
    category: Series[pd.CategoricalDtype] = field(
        "category (one per district working group)",
        allowed="a key of scenario.disputes.categories")
    severity: Series[float] = field("how hard it is to settle", "0-1", ge=0, le=1)
    amount_yuan: Series[float] = field("money at stake", "yuan", ge=0)
    community: Series[np.int32] = field("community of the resident who raised it "
                                             "(0-based)", ge=0)
    street: Series[np.int32] = field("street of that community (0-based)", ge=0)
    t_raised: Series[float] = field("raised", MIN, ge=0)
    t_first_session: Series[float] = field("first mediation session", MIN, ge=0,
                                           null="no session by the end")
    t_closed: Series[float] = field("closed: settled, sent to court, turned violent, or "
                                    "redirected at intake (then t_raised)", MIN,
                                    ge=0, null="still open at the end")
    outcome: Series[pd.CategoricalDtype] = field(
        "how it ended; open if it had not ended by the end of the run", isin=list(OUTCOMES))
    level: Series[pd.CategoricalDtype] = field(
        "mediation level it reached (where it is or was last)", isin=list(LEVELS))
    escalations: Series[np.int16] = field("times it moved up a level", "count", ge=0)
    mediator_id: Series[pd.Int64Dtype] = field("mediator last assigned (agent id)", ge=0,
                                               null="no mediator assigned yet")
    mediator_kind: Series[pd.CategoricalDtype] = field(
        "kind of that mediator", isin=list(MEDIATOR_KINDS), null="no mediator assigned yet")
    sessions: Series[np.int16] = field("mediation sessions held", "count", ge=0)
    raiser: Series[np.int64] = field("resident who raised it (row in the population)",
                                          ge=0)
    source: Series[pd.StringDtype] = field(
        "how it reached a station: resident (walked in), screening (found by a visit), police "
        "(referred by the police), recurrence (the same parties again), or timeline (a "
        "timeline event)")
    n_parties: Series[np.int32] = field("people in the dispute", "count", ge=1)
    intake_level: Series[pd.StringDtype] = field(
        "mediation level it was taken in at (community, street or district)")


class Timeseries(Table):
    """`timeseries.parquet`: one row per reporting tick (an hour by default), the state of the
    district at that moment."""

    t_min: Series[float] = field("time of the tick", MIN, ge=0)
    day: Series[float] = field("the same time in days", "days since start", ge=0)
    open_disputes: Series[np.int64] = field("disputes open", "count", ge=0)
    open_disputes_level: Series[np.int64] = field(
        "disputes open at that mediation level", "count", ge=0,
        display="open_disputes_<level>", alias=f"open_disputes_({'|'.join(LEVELS)})")
    busy_mediators: Series[np.int64] = field(
        "mediators of that kind holding at least one case", "count", ge=0,
        display="busy_mediators_<kind>", alias=f"busy_mediators_({'|'.join(MEDIATOR_KINDS)})")
    busy_units: Series[np.int64] = field(
        "units of that type busy (on the way, on scene or returning)", "count", ge=0,
        display="busy_units_<unit type>", alias="busy_units_.+")
    queued_incidents: Series[np.int64] = field("incidents waiting for a unit", "count",
                                                    ge=0)
    incidents_reported: Series[np.int64] = field("incidents so far (all sources)",
                                                      "count", ge=0)
    disputes_raised: Series[np.int64] = field("disputes raised so far", "count", ge=0)
    mean_satisfaction: Series[float] = field("mean satisfaction of all residents", "0-1", ge=0,
                                             le=1)


# --------------------------------------------------------------------------- sweep tables


class RunLabels(Table):
    """Columns `experiments.collect` adds to every row of a sweep's stacked `incidents`,
    `disputes` and `timeseries` tables, naming the run the row comes from.  Read them with
    `experiments.analysis.collect.load_long_table`, which gives these dtypes (a plain
    `pd.read_parquet` gives `seed` as int64, or float64 where a run had no seed)."""

    variant: Series[pd.CategoricalDtype] = field(
        "the run's overrides that vary across the sweep, e.g. policy=grids_50 (default if "
        "none)")
    seed: Series[pd.Int64Dtype] = field("the run's seed (replication k uses seed k in every "
                                        "variant)", ge=0, null="no seed found")
    job: Series[pd.CategoricalDtype] = field("the run's folder in the sweep (Hydra job)")


class Metrics(Table):
    """The summary metrics of a run, one column each (`summary.json` "metrics")."""

    disputes_raised: Series[float] = field("disputes raised", "count", ge=0, required=False)
    disputes_closed: Series[float] = field("disputes settled, sent to court or turned violent",
                                           "count", ge=0, required=False)
    mediation_success_rate: Series[float] = field(
        "settled / closed disputes", SHARE, ge=0, le=1, null="no dispute closed",
        required=False)
    community_settled_share: Series[float] = field(
        "settled at community level / closed disputes", SHARE, ge=0, le=1,
        null="no dispute closed", required=False)
    time_to_settle_p: Series[float] = field(
        "median (p50) or 90th percentile (p90) of raise-to-settlement time: Kaplan-Meier "
        "over settled disputes, disputes still open at the end censored; where the estimate "
        "never reaches the quantile (few or no settlements yet), the longest time seen, a "
        "lower bound", "days", ge=0,
        null="no dispute settled or open", required=False,
        display="time_to_settle_p<50|90>_days", alias="time_to_settle_p(50|90)_days")
    mean_wait_first_session_days: Series[float] = field(
        "mean wait from raising to the first session held; a case that left mediation "
        "(turned violent, went to court) before any session counts with its wait until it "
        "left (t_closed), cases still waiting at the end with their wait so far (a lower "
        "bound)", "days", ge=0,
        null="no session held and none waiting", required=False)
    escalation_rate: Series[float] = field("closed disputes that moved up at least one level",
                                           SHARE, ge=0, le=1, null="no dispute closed",
                                           required=False)
    court_share: Series[float] = field("closed disputes that went to court", SHARE, ge=0,
                                       le=1, null="no dispute closed", required=False)
    violent_turns_per_100k: Series[float] = field(
        "disputes that turned violent, from every channel (in mediation, or before reaching "
        "it: self-help, unsettled conflicts)", "per 100,000 residents a year", ge=0, required=False)
    money_at_stake_yuan: Series[float] = field("money at stake in the disputes taken for "
                                               "mediation (those redirected at intake are "
                                               "not counted), as the district reports it",
                                               "yuan", ge=0, required=False)
    disputes_resolved_share: Series[float] = field(
        "settled / all disputes raised (redirected, open and failed ones included)", SHARE,
        ge=0, le=1, null="no dispute raised", required=False)
    redirected_share: Series[float] = field(
        "disputes redirected at intake (litigation, arbitration, administration) / raised",
        SHARE, ge=0, le=1, null="no dispute raised", required=False)
    closed_within_30_days_share: Series[float] = field(
        "mediations closed within 30 days (the People's Mediation Law's month): Kaplan-Meier, "
        "cases still open at the end censored; in a run shorter than a month, the share by "
        "the longest time followed", SHARE, ge=0, le=1, null="no mediation", required=False)
    dispute_calls_share: Series[float] = field(
        "dispute-related incidents / reported incidents", SHARE, ge=0, le=1,
        null="no incident reported", required=False)
    repeat_calls: Series[float] = field("repeat police calls from unsettled disputes", "count",
                                        ge=0, required=False)
    police_settled_on_spot_share: Series[float] = field(
        "dispute calls the police settled on the spot / dispute calls attended", SHARE, ge=0,
        le=1, null="no dispute call attended", required=False)
    police_referred_share_of_raised: Series[float] = field(
        "cases referred by the police / disputes raised", SHARE, ge=0, le=1,
        null="no dispute raised", required=False)
    cases_per_1000_per_year: Series[float] = field(
        "cases taken for mediation", "per 1,000 residents a year", ge=0, required=False)
    cases_per_mediator_per_year: Series[float] = field(
        "cases taken for mediation per mediator", "per mediator a year", ge=0, required=False)
    mean_severity_at_intake: Series[float] = field("mean severity when a case is taken in",
                                                   "0-1", ge=0, le=1, null="no case taken",
                                                   required=False)
    party_satisfaction: Series[float] = field(
        "mean satisfaction of the residents who were parties to a dispute", "0-1", ge=0, le=1,
        null="no party yet", required=False)
    caller_satisfaction: Series[float] = field(
        "mean satisfaction of the residents who called the police", "0-1", ge=0, le=1,
        null="no call handled yet", required=False)
    incidents_total: Series[float] = field("incidents, patrol finds included", "count", ge=0,
                                           required=False)
    incidents_reported: Series[float] = field("incidents reported (calls and violent "
                                              "disputes)", "count", ge=0, required=False)
    mean_queue_delay_min: Series[float] = field(
        "mean wait from report to dispatch (still waiting: wait so far)", "min", ge=0,
        null="no incident reported", required=False)
    cross_grid_share: Series[float] = field("dispatches answered from another grid", SHARE,
                                            ge=0, le=1, null="no dispatch", required=False)
    overflow_share: Series[float] = field("reported incidents handed to the backup force",
                                          SHARE, ge=0, le=1, null="no incident reported",
                                          required=False)
    unreached_share: Series[float] = field("reported incidents still waiting at the end",
                                           SHARE, ge=0, le=1, null="no incident reported",
                                           required=False)
    abandoned_share: Series[float] = field("reported incidents whose caller gave up waiting",
                                           SHARE, ge=0, le=1, null="no incident reported",
                                           required=False)
    response: Series[float] = field(
        "median (p50), 90th (p90) or 99th (p99) percentile of report-to-arrival time at that "
        "priority; Kaplan-Meier, calls still waiting censored at their wait so far", "min",
        ge=0, null="no incident of that priority", required=False,
        display="response_p<50|90|99>_min_p<priority>", alias="response_p(50|90|99)_min_p[123]")
    p1_within_5min_share: Series[float] = field(
        "priority-1 incidents reached within the target (scenario.dispatch.p1_target_min)",
        SHARE, ge=0, le=1, null="no priority-1 incident", required=False)
    utilisation_unit: Series[float] = field(
        "on-duty time not free for dispatch (calls, report writing, other duties) / on-duty "
        "time of that unit type (overtime included)", SHARE, ge=0,
        null="none on duty", required=False, display="utilisation_unit_<unit type>",
        alias="utilisation_unit_.+")
    calls_share_unit: Series[float] = field(
        "time on calls, dispatch to report written / on-duty time of that unit type (the "
        "'rule of 60' figure)", SHARE, ge=0, null="none on duty", required=False,
        display="calls_share_unit_<unit type>", alias="calls_share_unit_.+")
    utilisation_mediator: Series[float] = field(
        "hours spent on casework, screening visits and mentoring / paid hours of that "
        "mediator kind (hours: all mediators)", SHARE, ge=0, null="none of that kind",
        required=False, display="utilisation_mediator_<kind>", alias="utilisation_mediator_.+")
    mean_satisfaction: Series[float] = field("mean satisfaction at the end of the residents "
                                             "who had a dispute or a call handled", "0-1",
                                             ge=0, le=1, required=False)
    annual_staffing_cost_yuan: Series[float] = field(
        "annual cost of the staffing deployed (assumed unit costs)", "yuan / year", ge=0,
        required=False)
    deterred_calls: Series[float] = field("calls prevented by patrol presence", "count", ge=0,
                                          required=False)
    duties_broken_per_day: Series[float] = field(
        "meals or posts a priority-1 call took a unit from (scenario.dispatch.p1_breaks_duties)"
        ", per day", "count / day", ge=0, null="run shorter than its warm-up", required=False)
    simulated_days: Series[float] = field("length of the run", "days", ge=0, required=False)


class Runs(Metrics):
    """`runs.parquet` of a sweep (`experiments.collect`): one row per finished run, its
    swept settings (typed: numbers as numbers), its identity, and every summary metric."""

    group: Series[pd.StringDtype] = field(
        "config group chosen on the command line, e.g. policy=grids_50", null="not set in "
        "this run", required=False, display="<group> (policy, scenario, timeline, ...)",
        alias="(scenario|policy|timeline|experiment|sample|world)")
    setting: Series[object] = field(
        "a swept setting's value, typed as it was given (int, float, bool or string); a key "
        "that would shadow a metric gets the prefix override.", null="not set in this run",
        required=False, display="<dotted key>, e.g. policy.grids",
        alias=r"[A-Za-z_+~][\w+~]*\.[\w.\[\]]+")
    variant: Series[pd.StringDtype] = field(
        "the run's overrides that vary across the sweep, e.g. policy=grids_50 (default if "
        "none)")
    seed: Series[pd.Int64Dtype] = field("the run's seed", ge=0, null="no seed found")
    job: Series[pd.StringDtype] = field("the run's folder in the sweep (Hydra job)")
    wall_seconds: Series[float] = field("wall time of the run", "s", ge=0,
                                        null="not recorded")
    git_commit: Series[pd.StringDtype] = field("commit of the simulator that made the run",
                                               null="not recorded")


# --------------------------------------------------------------------------- assumptions


PARAMETER = dict(display="<parameter>, e.g. scenario.units.police.speed_kmh",
                 alias=r"scenario\..+")


# Columns only one method fills; a run's file holds its own method's columns only.
MORRIS_ONLY = dict(null="undefined; a Sobol run's file has no such column", required=False)
SOBOL_ONLY = dict(null="undefined; a Morris run's file has no such column", required=False)


class Sensitivity(Table):
    """`sensitivity.csv` (`experiments.sensitivity`): how much each assumed number moves each
    metric over its plausible range. Morris fills mu_star, mu_star_conf, sigma and mu; Sobol
    fills S1, S1_conf, ST and ST_conf."""

    parameter: Series[pd.StringDtype] = field("dotted config path, as experiments.params "
                                              "names it")
    metric: Series[pd.StringDtype] = field("summary metric (see runs)")
    method: Series[pd.CategoricalDtype] = field("screening method", isin=["morris", "sobol"])
    rank: Series[pd.Int64Dtype] = field("1 = moves this metric most (by mu_star or ST)", ge=1,
                                        null="index undefined (metric missing in runs)")
    low: Series[float] = field("lower end of the range explored", "the parameter's unit")
    high: Series[float] = field("upper end of the range explored", "the parameter's unit")
    mu_star: Series[float] = field(
        "Morris: mean absolute elementary effect, the metric's change when the parameter "
        "moves across its whole range", "the metric's unit", ge=0, **MORRIS_ONLY)
    mu_star_conf: Series[float] = field("Morris: half-width of mu_star's 95 % bootstrap CI",
                                        "the metric's unit", ge=0, **MORRIS_ONLY)
    sigma: Series[float] = field("Morris: sd of the elementary effects (interactions, "
                                 "non-linearity, noise)", "the metric's unit", ge=0, **MORRIS_ONLY)
    mu: Series[float] = field("Morris: mean signed elementary effect (direction)",
                              "the metric's unit", **MORRIS_ONLY)
    S1: Series[float] = field("Sobol: first-order index, share of the metric's variance due "
                              "to this parameter alone", "share", **SOBOL_ONLY)
    S1_conf: Series[float] = field("Sobol: half-width of S1's 95 % CI", "share", ge=0, **SOBOL_ONLY)
    ST: Series[float] = field("Sobol: total-order index, share of variance involving this "
                              "parameter (with interactions)", "share", **SOBOL_ONLY)
    ST_conf: Series[float] = field("Sobol: half-width of ST's 95 % CI", "share", ge=0, **SOBOL_ONLY)


class Samples(Metrics):
    """`samples.parquet` (`experiments.sensitivity`): one row per sampled point and seed, the
    assumed numbers as run and every summary metric of that run."""

    sample: Series[pd.Int64Dtype] = field("point of the design, from 0", ge=0)
    seed: Series[pd.Int64Dtype] = field("the run's seed", ge=0)
    parameter: Series[float] = field("the value this run used", "the parameter's unit",
                                     required=False, **PARAMETER)


class Worlds(Table):
    """`worlds.csv` (`experiments.robustness`): one row per plausible world, the Latin-
    hypercube draw of the assumed numbers it runs with."""

    world: Series[pd.Int64Dtype] = field("world number, from 0", ge=0)
    parameter: Series[float] = field("the value in this world", "the parameter's unit",
                                     required=False, **PARAMETER)


class Verdicts(Table):
    """`verdicts.csv` (`experiments.robustness`): one row per world, metric and variant: the
    paired difference from the baseline over the common seeds in that world."""

    world: Series[pd.Int64Dtype] = field("world number (worlds.csv)", ge=0)
    metric: Series[pd.StringDtype] = field("summary metric (see runs)")
    variant: Series[pd.StringDtype] = field("the policy variant compared with the baseline")
    n_pairs: Series[pd.Int64Dtype] = field("seeds with both runs", "count", ge=0)
    diff: Series[float] = field("mean paired difference, variant - baseline",
                                "the metric's unit", null="no pair")
    ci_low: Series[float] = field("lower end of its 95 % t interval", "the metric's unit",
                                  null="fewer than 2 pairs")
    ci_high: Series[float] = field("upper end of its 95 % t interval", "the metric's unit",
                                   null="fewer than 2 pairs")
    verdict: Series[pd.CategoricalDtype] = field(
        "better / worse (CI excludes 0; direction from the metric's metadata), higher / lower "
        "for a neutral metric, else no detectable difference",
        isin=["better", "worse", "higher", "lower", "no detectable difference",
              "inconclusive"])
    holds: Series[pd.BooleanDtype] = field("same verdict as in the original sweep")


class Robustness(Table):
    """`robustness.csv` (`experiments.robustness`): for each metric and variant, the verdict
    of the original sweep and in what share of plausible worlds it holds, and which assumed
    numbers flip it."""

    metric: Series[pd.StringDtype] = field("summary metric (see runs)")
    variant: Series[pd.StringDtype] = field("the policy variant compared with the baseline")
    baseline: Series[pd.StringDtype] = field("the baseline variant")
    verdict: Series[pd.CategoricalDtype] = field(
        "the original sweep's verdict (as in verdicts.csv)",
        isin=["better", "worse", "higher", "lower", "no detectable difference",
              "inconclusive"])
    diff: Series[float] = field("the original mean paired difference", "the metric's unit",
                                null="no pair")
    ci_low: Series[float] = field("its 95 % CI, lower end", "the metric's unit",
                                  null="fewer than 2 pairs")
    ci_high: Series[float] = field("its 95 % CI, upper end", "the metric's unit",
                                   null="fewer than 2 pairs")
    worlds: Series[pd.Int64Dtype] = field("plausible worlds with a verdict", "count", ge=0)
    holds_share: Series[float] = field("worlds where the verdict is the same", SHARE, ge=0,
                                       le=1, null="no world")
    holds_ci_low: Series[float] = field("95 % Wilson interval of that share, lower end",
                                        SHARE, ge=0, le=1, null="no world")
    holds_ci_high: Series[float] = field("95 % Wilson interval of that share, upper end",
                                         SHARE, ge=0, le=1, null="no world")
    same_direction_share: Series[float] = field(
        "worlds whose mean difference has the original's sign", SHARE, ge=0, le=1,
        null="no world")
    flipped_to: Series[pd.StringDtype] = field(
        "the verdicts of the worlds where it does not hold, e.g. worse in 14",
        null="it holds everywhere")
    flip_driver: Series[pd.StringDtype] = field(
        "assumed number that best separates worlds where the verdict flips from those where "
        "it holds (largest |AUC - 0.5|)", null="no flip, or it never holds")
    flip_auc: Series[float] = field(
        "P(its value is higher in a flipping world than in a holding one)", SHARE, ge=0, le=1,
        null="no flip, or it never holds")
    flip_p: Series[float] = field(
        "Mann-Whitney p-value of that AUC times the number of assumptions tested "
        "(Bonferroni); below 0.05 the report names the driver", "p", ge=0, le=1,
        null="no flip, or it never holds")
    flip_rule: Series[pd.StringDtype] = field(
        "the best single split on it, e.g. holds in 12/12 worlds with x < 0.6, 2/8 above",
        null="no flip, or it never holds")
    effect_driver: Series[pd.StringDtype] = field(
        "assumed number most correlated (Spearman) with the size of the difference across "
        "worlds", null="fewer than 3 worlds")
    effect_rho: Series[float] = field("that Spearman correlation", "-1..1", ge=-1, le=1,
                                      null="fewer than 3 worlds")
    effect_p: Series[float] = field("its p-value times the number of assumptions tested",
                                    "p", ge=0, le=1, null="fewer than 3 worlds")


TABLES: dict[str, type[Table]] = {
    "incidents": Incidents, "disputes": Disputes, "timeseries": Timeseries,
    "run labels": RunLabels, "runs": Runs, "sensitivity": Sensitivity, "samples": Samples,
    "worlds": Worlds, "verdicts": Verdicts, "robustness": Robustness,
}


# --------------------------------------------------------------------------- using them


def schema(table: str) -> pa.DataFrameSchema:
    return TABLES[table].to_schema()


def column_for(table: str, name: str) -> pa.Column | None:
    """The schema column that documents `name` (by name, or by its pattern), or None."""
    columns = schema(table).columns
    if name in columns and not columns[name].regex:
        return columns[name]
    for key, col in columns.items():
        if col.regex and re.fullmatch(key, name):
            return col
    return None


def undocumented(table: str, columns) -> list[str]:
    """Columns of a table that its schema (hence the data dictionary) does not describe."""
    return [c for c in columns if column_for(table, str(c)) is None]


def missing_message(table: str, columns) -> str:
    """The message the dictionary test gives for undocumented columns."""
    return "; ".join(f"column {c} of {table} is not in the data dictionary: add it to "
                     f"sim/tables.py" for c in undocumented(table, columns))


def typed(df: pd.DataFrame, table: str, known: dict[str, list] | None = None
          ) -> pd.DataFrame:
    """`df` with every column the schema knows cast to its dtype; other columns unchanged.

    A categorical's categories are the allowed values in the schema's order (or `known[name]`,
    e.g. the kinds a run's config defines), then any other value found (sorted), so an
    unexpected value is kept (and fails `validate`), never lost.
    """
    out = df.copy()
    for name in out.columns:
        col = column_for(table, str(name))
        if col is None:
            continue
        dtype = str(col.dtype)
        if dtype == "object":
            continue
        if dtype == "category":
            values = out[name].astype("string")
            first = list(dict.fromkeys((known or {}).get(name) or _allowed_values(col)))
            seen = sorted(set(values.dropna().unique()) - set(first))
            out[name] = pd.Categorical(values, categories=[*first, *seen])
        elif dtype.startswith("string"):
            out[name] = out[name].astype("string")
        else:
            out[name] = out[name].astype(col.dtype.type)
    return out


def validate(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Check values against the schema (every failure at once); raises SchemaErrors."""
    return TABLES[table].validate(df, lazy=True)


def _allowed_values(col: pa.Column) -> list:
    for check in col.checks:
        if check.name == "isin":
            return list(check.statistics["allowed_values"])
    return []


# --------------------------------------------------------------------------- the dictionary


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def allowed_text(col: pa.Column) -> str:
    parts = []
    for check in col.checks:
        s = check.statistics
        if check.name == "isin":
            parts.append(", ".join(f"`{v}`" for v in s["allowed_values"]))
        elif check.name == "greater_than_or_equal_to":
            parts.append(f"≥ {_num(s['min_value'])}")
        elif check.name == "less_than_or_equal_to":
            parts.append(f"≤ {_num(s['max_value'])}")
        elif check.name == "in_range":
            parts.append(f"[{_num(s['min_value'])}, {_num(s['max_value'])}]")
    meta = col.metadata or {}
    if meta.get("allowed"):
        parts.append(meta["allowed"])
    if ("≥" in " ".join(parts)) and ("≤" in " ".join(parts)):
        lo = next(p for p in parts if p.startswith("≥"))[2:]
        hi = next(p for p in parts if p.startswith("≤"))[2:]
        parts = [p for p in parts if p[0] not in "≥≤"]
        parts.insert(0, f"[{lo}, {hi}]")
    if col.nullable:
        parts.append(f"null: {meta.get('null', 'missing')}")
    return "; ".join(parts)


def _dtype_text(col: pa.Column) -> str:
    text = str(col.dtype)
    if text.startswith("string"):
        text = "string"
    if text == "object":
        text = "typed per key"
    return text


def data_dictionary() -> str:
    """The Markdown data dictionary: one section per table, one row per column."""
    lines = [
        "# Data dictionary",
        "",
        "Generated from the table schemas in `sim/tables.py` by",
        "`python -m sim.tables --write docs/data-dictionary.md`; do not edit by hand (a test",
        "fails when it is stale, or when a table has a column that is not described here).",
        "Times are minutes since the start of the run; a null (empty cell in CSV, NaN or <NA>",
        "in pandas) means what its row says, never a sentinel value. Grids and communities",
        "are numbered from 0 in the tables (the map numbers them from 1).",
        "",
    ]
    for name, model in TABLES.items():
        doc = " ".join((model.__doc__ or "").split())
        lines += [f"## {name}", "", doc, "",
                  "| column | dtype | unit | meaning | allowed values |", "|---|---|---|---|---|"]
        for key, col in schema(name).columns.items():
            meta = col.metadata or {}
            shown = meta.get("display", key)
            cells = [f"`{shown}`", _dtype_text(col), meta.get("unit", ""),
                     col.description or "", allowed_text(col)]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim.tables",
                                     description="Print or write the data dictionary.")
    parser.add_argument("--write", metavar="FILE", nargs="?", const=str(DICTIONARY),
                        help="write it to FILE (default: docs/data-dictionary.md)")
    args = parser.parse_args(argv)
    text = data_dictionary()
    if args.write:
        from sim.output import write_text

        write_text(Path(args.write), text)
        print(f"wrote {args.write}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
