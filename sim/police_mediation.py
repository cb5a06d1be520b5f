"""The police-mediation link (警调对接): disputes that reach the police, and back.

A resident who takes a conflict to the police calls 110: a dispute call joins the incident
stream at the raiser's home and a unit attends (sim/incidents.py tells that story).  When the
unit has cleared it, the officers have either settled it on the spot (less often the more
severe it is) or, failing that, referred it to the community station, where it starts as a
new case a little more severe than before, or left it to the parties.  While a conflict the
police have seen stays unsettled, its parties call again (repeat calls add to police demand),
and waiting feeds its violence hazard.  A conflict the police settled can break out again.

A first call whose caller gave up before a unit came settles nothing: the parties are left
with it, as when officers leave it unresolved.  The link touches the incident code only through
``IncidentDesk.on_done`` (called when an incident is cleared, handed to the backup force or
given up by its caller) and ``IncidentDesk.report``.
"""

from __future__ import annotations

from agents.dispute import ROW, Conflict
from sim.clock import DAY
from sim.incidents import N_DRAWS, IncidentDraws
from sim.streams import exp1

FIRST_KIND = "dispute"            # incident kinds of the dispute calls
REPEAT_KIND = "dispute_repeat"
DISPUTE_CALL_KINDS = (FIRST_KIND, REPEAT_KIND)


class PoliceMediationLink:
    """Dispute calls to the police and their hand-over to the mediation stations."""

    def __init__(self, model, mediation):
        self.model = model
        self.env = model.env
        self.mediation = mediation
        self.cfg = mediation.dcfg.police
        self.recurrence = mediation.dcfg.recurrence
        self._pending: dict[int, tuple[Conflict, bool]] = {}
        self.reset_counts()
        model.desk.on_done = self.done

    def reset_counts(self) -> None:
        """Dispute calls and what became of them (read by the metrics; started again at the
        end of a warm-up)."""
        self.counts = dict.fromkeys(
            ("first_calls", "repeat_calls", "settled_on_spot", "referred", "unresolved",
             "unanswered"), 0)

    def call(self, conflict: Conflict, repeat: bool = False) -> None:
        """One of the parties calls 110 about the conflict."""
        model = self.model
        res = model.residents
        conflict.police_involved = True
        conflict.calls += 1
        self.counts["repeat_calls" if repeat else "first_calls"] += 1
        # The call's own draws come from the conflict's stream, so staffing variants see
        # the same calls.
        scene = (conflict.row[ROW["call_service"]] if conflict.calls == 1
                 else self._draw(conflict, 0))
        draws = IncidentDraws(scene, *(self._draw(conflict, 0) for _ in range(N_DRAWS - 1)))
        raiser = conflict.raiser
        inc = model.desk.report(
            "call", REPEAT_KIND if repeat else FIRST_KIND, None, float(res.x[raiser]),
            float(res.y[raiser]), raiser, on_scene_min=self.cfg.on_scene_min,
            priority=self.cfg.priority, violent=False, draws=draws)
        self._pending[inc.incident_id] = (conflict, repeat)

    def done(self, inc) -> None:
        """Hook from the incident desk: an incident was cleared, went to the backup force or
        was given up.  For a first dispute call that was attended, the officers settle it on
        the spot, refer it or leave it unresolved."""
        entry = self._pending.pop(inc.incident_id, None)
        if entry is None:
            return
        conflict, repeat = entry
        if repeat or not conflict.is_open:
            return
        c = self.cfg
        conflicts = self.mediation.conflicts
        if inc.abandoned:
            # No one came before the caller gave up: nothing was settled or referred, and the
            # parties are left with it, as when officers leave it unresolved.
            self.counts["unanswered"] += 1
            self._left_unresolved(conflict)
            return
        first = conflict.calls == 1 and conflict.flares == 0
        u = conflict.row[ROW["on_spot"]] if first else self._draw(conflict, 1)
        p_spot = min(max(c.settle_on_spot_prob
                         - c.settle_on_spot_severity_weight * (conflict.severity - 0.4), 0.0),
                     1.0)
        if u < p_spot:
            self.counts["settled_on_spot"] += 1
            conflicts.end(conflict, "police_settled", police=True)
            conflicts.maybe_recur(conflict, self.recurrence.police_prob)
            return
        u = conflict.row[ROW["refer"]] if first else self._draw(conflict, 2)
        if u < c.refer_prob:
            self.counts["referred"] += 1
            self.model.residents.update_trust(conflict.parties,
                                              conflicts.channels.experience["referred"],
                                              police=True)
            conflict.severity = min(1.0, conflict.severity + c.referral_severity_bump)
            conflicts.to_station(conflict, "police")
            self._call_again_while_open(conflict)
        else:
            self.counts["unresolved"] += 1
            self._left_unresolved(conflict)

    def _left_unresolved(self, conflict: Conflict) -> None:
        """The police did not settle or refer it: trust in them falls, the parties handle it
        themselves and call again while it stays open."""
        conflicts = self.mediation.conflicts
        self.model.residents.update_trust(conflict.parties,
                                          conflicts.channels.experience["unresolved"],
                                          police=True)
        conflicts.self_help(conflict)
        self._call_again_while_open(conflict)

    def _call_again_while_open(self, conflict: Conflict) -> None:
        if not conflict.repeating:
            conflict.repeating = True
            self._schedule_repeat(conflict)

    def _schedule_repeat(self, conflict: Conflict) -> None:
        """While the conflict stays unsettled its parties call again (Poisson)."""
        rate = self.cfg.repeat_calls_per_week
        if rate <= 0 or not conflict.is_open:
            return
        u = conflict.row[ROW["repeat"]] if conflict.calls == 1 else self._draw(conflict, 3)
        gap = 7 * DAY / rate * exp1(u)

        def again(_event, conflict=conflict):
            if conflict.is_open:
                self.call(conflict, repeat=True)
                self._schedule_repeat(conflict)

        self.env.timeout(gap).callbacks.append(again)

    def _draw(self, conflict: Conflict, slot: int) -> float:
        """A further draw of the conflict's own (its later calls)."""
        return conflict.draw(self.model.streams)
