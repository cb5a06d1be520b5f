"""The simulator against queueing theory: the mediation station as M/M/c (Erlang C) and patrol
dispatch as Larson's hypercube model.

Horizons are chosen so the standard error of each estimate is about a third of the tolerance
(measured by replication), so these tests fail on a real bias, not on bad luck.
"""

import numpy as np
import pytest

from sim import Simulation
from sim.theory import hypercube_two_units_loss, mmc_mean_wait


def finished_model(*overrides):
    sim = Simulation.from_overrides(["sim.progress=false", *overrides])
    model = sim.build()
    while model.running:
        model.step()
    return sim, model


@pytest.mark.slow
@pytest.mark.parametrize(
    "servers, load, customers",
    # At (3, 0.5) the mean wait's relative SE over 200,000 customers is 3 % (measured over 8
    # seeds), not a third of the 5 % tolerance: 600,000 brings it to 1.7 %.
    [(3, 0.5, 600_000), (5, 0.8, 700_000), (3, 0.9, 1_000_000)],
)
def test_mmc_mediation_mean_wait_matches_erlang_c(servers, load, customers):
    lam = load * servers          # per hour, mean session 1 h
    days = customers / (lam * 24)
    _, model = finished_model(
        "scenario=mmc_mediation", f"scenario.servers={servers}",
        f"scenario.arrival_rate={lam}", "scenario.mean_service=1.0",
        f"sim.days={days}", "sim.tick_minutes=43200", "seed=11",
    )
    disputes = model.mediation.disputes
    waits = np.array([d.t_first_session - d.t_raised for d in disputes
                      if not np.isnan(d.t_first_session)]) / 60.0
    assert len(waits) > 0.95 * customers
    expected = mmc_mean_wait(servers, lam, 1.0)
    assert waits.mean() == pytest.approx(expected, rel=0.05)
    # Every dispute is settled in its one session at the community station.
    closed = [d for d in disputes if d.outcome != "open"]
    assert {d.outcome for d in closed} == {"settled"}
    assert {d.level for d in closed} == {"community"}


def _both_idle_share(incidents, horizon):
    """Time share with no unit busy, from the units' busy intervals."""
    events = []
    for start, end in zip(incidents.t_dispatched, incidents.t_cleared, strict=True):
        if not np.isnan(start):
            events.append((start, 1))
            events.append((min(end, horizon) if not np.isnan(end) else horizon, -1))
    events.sort()
    idle, busy, last = 0.0, 0, 0.0
    for t, step in events:
        if busy == 0:
            idle += t - last
        busy += step
        last = t
    return (idle + (horizon - last if busy == 0 else 0.0)) / horizon


def test_hypercube_loss_matches_larson():
    sim, model = finished_model("scenario=hypercube", "scenario.overflow=backup",
                                "sim.days=2500", "sim.tick_minutes=1440", "seed=5")
    result = sim.collect(model)
    inc = result.incidents
    theory = hypercube_two_units_loss(0.3, 0.2, 1.0)
    horizon = model.env.now
    work = {u.home_grid: u.utilisation_parts(horizon)[0] / horizon for u in model.units}
    served = inc[~inc.overflow]
    assert _both_idle_share(inc, horizon) == pytest.approx(theory["p00"], abs=0.02)
    assert work[0] == pytest.approx(theory["workload_1"], abs=0.02)
    assert work[1] == pytest.approx(theory["workload_2"], abs=0.02)
    assert served.cross_grid.mean() == pytest.approx(theory["cross_share_of_served"], abs=0.02)
    # Loss system: the overflow share is Erlang B, P(both busy).
    assert inc.overflow.mean() == pytest.approx(theory["p11"], abs=0.02)


def test_hypercube_queue_matches_erlang_c():
    sim, model = finished_model("scenario=hypercube", "scenario.overflow=queue",
                                "sim.days=12000", "sim.tick_minutes=43200", "seed=5")
    inc = sim.collect(model).incidents
    assert not inc.overflow.any()
    served = inc[inc.t_dispatched.notna()]
    wait_h = (served.t_dispatched - served.t_reported).mean() / 60.0
    assert wait_h == pytest.approx(mmc_mean_wait(2, 0.5, 1.0), rel=0.05)
