"""Mediation rules: part-time availability, mentoring, escalation and the policy factors."""

import pytest

from agents.mediator import DAY, Mediator
from sim import Simulation
from tests.conftest import run


def test_part_timer_meets_only_on_its_days():
    model = Simulation.from_overrides(["scenario=small_district", "sim.days=1"]).build()
    m = Mediator(model, "part_time", "community", 0, 2, 0.5, available_days=(2, 5))
    assert m.next_available(2 * DAY + 60) == 2 * DAY + 60      # Wednesday: same time
    assert m.next_available(3 * DAY + 60) == 5 * DAY            # Thursday -> Saturday 00:00
    assert m.next_available(6 * DAY) == 9 * DAY                 # Sunday -> next Wednesday
    m.absent_until = 20 * DAY
    assert m.next_available(10 * DAY) == 23 * DAY               # back on day 20, a Sunday


def test_mentoring_raises_community_settlement():
    common = ["scenario=small_district", "sim.days=200", "scenario.calls.enabled=false",
              "scenario.mediators.mentoring_settle_bonus=2.0"]
    on = run(*common)
    off = run(*common, "policy=mentoring_off")
    assert on.metrics["community_settled_share"] > off.metrics["community_settled_share"] + 0.02
    assert on.metrics["escalation_rate"] < off.metrics["escalation_rate"]


def test_failed_disputes_climb_the_levels_to_court():
    # Nobody can settle anything: every closed dispute went community -> street -> district
    # -> court, unless it turned violent on the way.
    r = run("scenario=small_district", "sim.days=120", "scenario.calls.enabled=false",
            "scenario.disputes.settle_logit.community=-50",
            "scenario.disputes.settle_logit.street=-50",
            "scenario.disputes.settle_logit.district=-50",
            # Six groups, so each has one of small_district's six full-timers (an unstaffed
            # group is skipped: its cases go straight to court).
            "scenario.mediators.working_groups=6")
    closed = r.disputes[r.disputes.outcome != "open"]
    assert len(closed) > 50
    assert set(closed.outcome) <= {"court", "violent"}
    court = closed[closed.outcome == "court"]
    assert (court.escalations == 2).all() and (court.level == "district").all()


@pytest.mark.parametrize("policy, field, expected", [
    ("more_fulltime", ("street_full_time", "district_full_time"), 120),
    ("fewer_parttime", ("community_part_time", "street_part_time", "district_part_time"), 359),
])
def test_policies_scale_the_reported_staffing(policy, field, expected):
    m = Simulation.from_overrides([f"policy={policy}"]).config.scenario.mediators
    assert sum(getattr(m, f) for f in field) == expected
