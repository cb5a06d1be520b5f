"""Trainers' timeline files: the shipped ones run; a broken one is reported by file, line, field."""

import textwrap

import pytest

from sim import ConfigError, Simulation
from sim.timeline_file import TimelineError, config_with_timeline, load_timeline, timeline_names

SHIPPED = ("festival_night", "staff_shortage", "wage_dispute")


def test_three_timelines_ship_with_teaching_notes():
    assert set(SHIPPED) <= set(timeline_names())
    for name in SHIPPED:
        tl = load_timeline(name)
        assert tl.scenario == "small_district"
        note = tl.teaching_note
        assert len(note["en"]) > 100 and note["zh"] != note["en"]
        assert tl.events


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_timeline_runs_and_its_notes_reach_the_narrative(name):
    cfg, tl = config_with_timeline([f"timeline={name}", "sim.days=3.5", "sim.progress=false"])
    assert cfg["scenario"]["name"] == "small_district"
    model = Simulation(cfg).build(narrative=True)
    while model.running:
        model.step()
    text = "\n".join(model.narrative_lines("en", last=500))
    firsts = [ev["note"] for ev in tl.events if ev.get("note")]
    assert any(note in text for note in firsts)


def test_wage_dispute_injects_the_forty_worker_case():
    cfg, _ = config_with_timeline(["timeline=wage_dispute", "sim.progress=false"])
    result = Simulation(cfg).run()
    wage = result.disputes[result.disputes.amount_yuan == 1_200_000]
    assert len(wage) == 1
    row = wage.iloc[0]
    assert row.category == "labour" and row.community == 4   # tables count from 0
    assert row.t_raised == pytest.approx(1440 + 14 * 60)


def _write(tmp_path, body):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_invalid_event_names_line_and_field(tmp_path):
    path = _write(tmp_path, """\
        scenario: small_district
        events:
          - at: day 2 14:00
            kind: note
            note: fine
          - at: day 3
            kind: mediator_absence
            share: 1.3
        """)
    with pytest.raises(TimelineError) as err:
        config_with_timeline([f"timeline={path}"])
    message = str(err.value)
    assert "bad.yaml, line 8: events[1].share: must be a number in [0, 1], got 1.3" in message


@pytest.mark.parametrize("body, line, field", [
    ("events:\n  - at: tuesday\n    kind: note\n", 2, "events[0].at"),
    ("events:\n  - at: 1\n    kind: earthquake\n", 3, "events[0].kind"),
    ("events:\n  - at: 1\n    kind: dispute\n    community: 99\n", 4, "events[0].community"),
    ("events:\n  - at: 1\n    kind: call_surge\n    hotspot_kinds: [stadium]\n", 4,
     "events[0].hotspot_kinds"),
    ("events:\n  - at: 1\n    kind: note\n    colour: red\n", 4, "events[0].colour"),
    ("scenario: small_district\nevnts: []\n", 2, "evnts"),
    ("events:\n  - at: 1\n    kind: note: x\n", 3, "not valid YAML"),
])
def test_more_invalid_timelines(tmp_path, body, line, field):
    path = _write(tmp_path, "scenario: small_district\n" + body
                  if not body.startswith("scenario") else body)
    offset = 0 if body.startswith("scenario") else 1
    with pytest.raises(ConfigError) as err:
        config_with_timeline([f"timeline={path}"])
    message = str(err.value)
    assert f"line {line + offset}" in message and field in message, message


def test_unknown_timeline_lists_the_shipped_ones():
    with pytest.raises(TimelineError, match="festival_night"):
        load_timeline("no_such_timeline")
