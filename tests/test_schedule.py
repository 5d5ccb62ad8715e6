"""The pure schedule (:mod:`isaac_rerun.schedule`) on plain ints and bools: no env, no Rerun, no arrays.

The tracked env's done flags are bools and ``flag`` is ``bool``; the recorder's side (the schedule's ``Actions``) is a
small object that writes down what it is asked to do. The snippets must be the ones Gymnasium's ``RecordVideo`` would
make (``tests/schedule.py``), and the terminal-frame hook must be on exactly for the steps that may be recorded.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from tests.schedule import expected_snippets

from isaac_rerun.schedule import Schedule


class Tape:
    """The recorder's side: opens, frames, stops and the hook, written down."""

    def __init__(self) -> None:
        self.snippets: list[tuple[str, list[tuple[str, int]]]] = []
        self.open: list[tuple[str, int]] | None = None
        self.on = False  # the hook is on the env
        self.schedule: Schedule | None = None
        self.hooked_at: list[int] = []  # steps during which the hook was on (inside env.step())

    def start_snippet(self, trigger: str, ident: int) -> bool:
        self.open = []
        self.snippets.append((f"rl-rerun-{trigger}-{ident}", self.open))
        return True

    def stop_snippet(self) -> None:
        self.open = None

    def frame(self, reset: bool) -> None:
        assert self.open is not None and self.schedule is not None
        step = self.schedule.step_id
        self.open.append(("reset" if reset else "step", step))

    def hook(self, on: bool) -> None:
        assert on != self.on, "the hook was set to what it already was"
        self.on = on


def run(dones: list[bool], **triggers: Any) -> tuple[Tape, Schedule]:
    tape = Tape()
    schedule = Schedule(
        tape,
        episode_trigger=triggers.get("episode_trigger"),
        step_trigger=triggers.get("step_trigger"),
        iteration_trigger=None,
        recording_length=triggers.get("length", 0),
    )
    tape.schedule = schedule
    schedule.begin_run()
    schedule.begin()
    for s, done in enumerate(dones):
        if tape.on:
            tape.hooked_at.append(s)
            schedule.terminal_frame_wanted()
        result = schedule.count(None, done)
        if result is not None:
            schedule.step(result)
    schedule.close()
    return tape, schedule


def as_expected(tape: Tape) -> list[tuple[str, list[tuple[str, int]]]]:
    return [(name, frames) for name, frames in tape.snippets]


@pytest.mark.parametrize("length", [0, 1, 3, 7])
@pytest.mark.parametrize("seed", range(6))
def test_snippets_are_record_videos_on_random_episodes_and_triggers(seed, length):
    rng = random.Random(seed)
    dones = [rng.random() < 0.15 for _ in range(60)]
    steps = {rng.randrange(60) for _ in range(3)}
    episodes = {rng.randrange(6) for _ in range(2)}
    for kw in ({"step_trigger": steps.__contains__}, {"episode_trigger": episodes.__contains__}):
        tape, schedule = run(dones, length=length, **kw)
        want = expected_snippets(dones, kw.get("episode_trigger"), kw.get("step_trigger"), length)
        assert as_expected(tape) == [(w.name, w.frames) for w in want]
        assert schedule.step_id == len(dones) - 1 and schedule.episode_id == sum(dones)


def test_the_hook_is_on_only_for_steps_that_may_be_recorded():
    """With a step trigger, the hook is on inside env.step() exactly for the steps the trigger picks and while a
    snippet is open; never on idle steps."""
    picked = {10, 30}
    tape, _ = run([False] * 50, step_trigger=picked.__contains__, length=3)
    assert tape.hooked_at == [10, 11, 12, 30, 31, 32]


def test_a_trigger_is_called_once_per_step_and_one_that_raises_raises_at_its_own_step():
    calls: list[int] = []

    def trigger(s: int) -> bool:
        calls.append(s)
        if s == 7:
            raise RuntimeError("boom")
        return False

    tape = Tape()
    schedule = Schedule(tape, episode_trigger=None, step_trigger=trigger, iteration_trigger=None, recording_length=0)
    tape.schedule = schedule
    schedule.begin_run()
    schedule.begin()
    for s in range(7):
        assert schedule.count(None, False) is None, s
    assert tape.on  # the look-ahead could not ask about step 7: it may be recorded
    with pytest.raises(RuntimeError, match="boom") as info:
        schedule.count(None, False)
    assert any("step_trigger(7)" in note for note in info.value.__notes__)
    assert sorted(set(calls)) == list(range(8)) and [c for c in calls if c != 7] == list(range(7))


def test_recording_length_0_ends_with_the_terminal_frame_and_the_next_episode_starts_with_its_reset_frame():
    dones = [False, False, True, False, True, False]
    tape, _ = run(dones, episode_trigger=lambda e: True)
    assert as_expected(tape) == [
        ("rl-rerun-episode-0", [("reset", -1), ("step", 0), ("step", 1), ("step", 2)]),
        ("rl-rerun-episode-1", [("reset", 2), ("step", 3), ("step", 4)]),
        ("rl-rerun-episode-2", [("reset", 4), ("step", 5)]),
    ]


def test_iteration_trigger_with_a_length_starts_at_the_iterations_first_step():
    tape = Tape()
    schedule = Schedule(
        tape, episode_trigger=None, step_trigger=None, iteration_trigger=lambda i: i == 1, recording_length=2
    )
    tape.schedule = schedule
    schedule.begin_run()
    schedule.begin()
    for it, s in itertools.product(range(3), range(4)):
        if s == 0:
            schedule.iteration_start(it)
        result = schedule.count(None, False)
        if result is not None:
            schedule.step(result)
    schedule.close()
    assert as_expected(tape) == [("rl-rerun-iteration-1", [("step", 4), ("step", 5)])]
    assert not tape.on
