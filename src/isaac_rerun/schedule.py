"""When snippets start and stop and which frames they get: counters, triggers and the one-step look-ahead (pure).

:class:`Schedule` sees the tracked env's events — :meth:`~Schedule.begin` (the env was reset),
:meth:`~Schedule.iteration_start`, :meth:`~Schedule.count` and :meth:`~Schedule.step` (a vector step finished;
was the tracked env done?) — and
tells the recorder what to do through four callbacks (:class:`Actions`): ``start_snippet(trigger, ident)``,
``stop_snippet()``, take a ``frame(reset)`` (the step's frame, or the next episode's first frame after an
auto-reset), and
whether the terminal-frame ``hook`` must be on the env. It holds no Rerun, no torch, no arrays: it is tested on
plain ints and bools (``tests/test_schedule.py``).

Counters
--------
``step_id``
    Vector steps since :meth:`~Schedule.begin`: 0 for the first ``env.step()`` (or the framework's own id).
``episode_id``
    Episodes of the tracked env: 0 at the first :meth:`~Schedule.begin`, +1 at each of its episode ends (and each
    further reset).
``iteration``
    The framework's training iteration (:meth:`~Schedule.iteration_start`).

Look-ahead
----------
After each step the step trigger is asked about the **next** step (once per step: a trigger is never called twice
for one step). The terminal-frame hook — which costs a Python call inside every ``env.step()`` — is on the env only
while a snippet is open, when the next step may start one, or with the rolling history. A trigger that raises is
asked again at its own step, so the error surfaces where it belongs (with a note naming the trigger and the id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["Actions", "Schedule", "call_trigger"]

Trigger = Callable[[int], bool]
Due = tuple[str, int] | None
"""A snippet that starts: ``(trigger, ident)`` — ``("step", 120)``, ``("iteration", 5)`` — or None."""
_UNKNOWN = object()  # the look-ahead could not ask the trigger (it raised): the step may be recorded


class Actions(Protocol):
    """What the schedule asks the recorder to do."""

    def start_snippet(self, trigger: str, ident: int) -> bool:
        """Open a snippet (``{prefix}-{trigger}-{ident}``); False if it could not be opened."""
        ...

    def stop_snippet(self) -> None:
        """Finish the open snippet."""
        ...

    def frame(self, reset: bool) -> None:
        """Record a frame into the open snippet: the step's (``reset=False``) or the reset frame after it."""
        ...

    def hook(self, on: bool) -> None:
        """Put the terminal-frame hook on the env (``on``) or take it off."""
        ...


def call_trigger(trigger: Trigger, name: str, i: int) -> bool:
    """Call a user's trigger; an exception propagates with a note saying which trigger and id raised it."""
    try:
        return bool(trigger(i))
    except Exception as exc:
        exc.add_note(f"isaac_rerun: raised by {name}({i}) ({getattr(trigger, '__name__', trigger)!r})")
        raise


class Schedule:
    """The snippet schedule of one recorder (see the module docstring).

    Parameters
    ----------
    actions:
        The recorder's side (:class:`Actions`).
    episode_trigger, step_trigger, iteration_trigger:
        The triggers (validated already), or None.
    recording_length:
        0: until the tracked env's episode ends; ``N``: exactly ``N`` frames.
    always_hooked:
        The terminal-frame hook stays on during runs (the rolling history needs every terminal frame).
    """

    def __init__(
        self,
        actions: Actions,
        *,
        episode_trigger: Trigger | None,
        step_trigger: Trigger | None,
        iteration_trigger: Trigger | None,
        recording_length: int,
        always_hooked: bool = False,
    ):
        self.actions = actions
        self.episode_trigger = episode_trigger
        self.step_trigger = step_trigger
        self.iteration_trigger = iteration_trigger
        self.recording_length = recording_length
        self.always_hooked = always_hooked
        self.step_id = -1
        self.episode_id = -1
        self.iteration = -1
        self.open = False  # a snippet is open
        self.frames = 0  # frames of the open snippet
        self.episode_snippet = False  # the last episode start began a snippet (its env is seen from its start)
        self.run_on = False
        self.closed = False
        self._due: Due | object = _UNKNOWN  # the snippet due at step `_due_for` (look-ahead)
        self._due_for = -2
        self._armed: int | None = None  # an iteration waiting for the tracked env's next episode
        self._start_at: int | None = None  # an iteration whose first step starts a snippet
        self._hooked = False
        self._idle_at = -2  # a step known idle: nothing open, due or armed at it, the hook off (the fast path)

    # ------------------------------------------------------------------ events
    def begin(self, next_step_id: int | None = None) -> None:
        """The env was reset: the tracked env's next episode starts; an open snippet gets the reset frame."""
        if next_step_id is not None:  # the look-ahead's answer is kept for the step it was asked about
            self.step_id = int(next_step_id) - 1
        self._episode_starts()
        if self.open:
            self._frame(reset=True)
        self._look_ahead()

    def iteration_start(self, iteration: int) -> None:
        """A training iteration begins: arm the iteration trigger."""
        self.iteration = int(iteration)
        if self.closed or self.iteration_trigger is None:
            return
        if not call_trigger(self.iteration_trigger, "iteration_trigger", self.iteration):
            return
        if self.recording_length > 0:
            self._start_at = self.iteration
            self._idle_at = -2
            self._sync_hook()
        else:
            self._armed = self.iteration

    def count(self, step_id: int | None, ended: bool) -> bool | None:
        """Count a vector step (its id ``step_id``, default one more than the last) whose end the tracked env
        reached (``ended``: its episode ended). None: nothing to record (no snippet open or due, the tracked env
        not done; the step trigger was asked about the next step) — the idle path: a counter, one check of the
        look-ahead's answer and at most one trigger call. Else ``ended``: call :meth:`step` with it."""
        sid = self.step_id = self.step_id + 1 if step_id is None else int(step_id)
        if self._idle_at != sid:  # something may be open, due or armed at this step: the general path
            if self._due_for != sid and not (self.open or self._start_at is not None):
                self._due, self._due_for = self._ask(sid), sid  # a trigger that raises does it at its own step
            return ended
        if ended:
            return True
        trigger = self.step_trigger
        if trigger is None:
            self._idle_at = sid + 1
            return None
        try:
            ahead = trigger(sid + 1)  # look ahead: the hook goes on the env only for a step that may be recorded
        except Exception:  # asked again at its own step, where the error is raised
            self._due, self._due_for, self._idle_at = _UNKNOWN, -2, -2
            self._sync_hook()
            return None
        if ahead:
            self._due, self._due_for = ("step", sid + 1), sid + 1
            self._sync_hook()
        else:  # the hook is off already (the look-ahead that made this step idle took it off)
            self._due, self._due_for, self._idle_at = None, sid + 1, sid + 1
        return None

    def step(self, tracked_done: bool) -> None:
        """The step counted by :meth:`count`: start what is due, record its frame, and the tracked env's episode
        end."""
        if self.closed:
            return
        sid = self.step_id
        due = self._due if self._due_for == sid and self._start_at is None else _UNKNOWN
        self._due, self._due_for = _UNKNOWN, -2
        if due is _UNKNOWN:
            due = self._due_at(sid)
        if due:
            self._start(*due)  # type: ignore[misc]
        if self.open:
            self._frame(reset=False)
        if tracked_done:
            self._episode_starts()
            if self.open:
                self._frame(reset=True)
        self._look_ahead()

    def terminal_frame_wanted(self) -> bool:
        """Inside ``env.step()``, before the auto-reset: will this step's frame be recorded? (Asks the step trigger
        for it, once.)"""
        if self.open:
            return True
        sid = self.step_id + 1
        if self._due_for != sid:
            self._due, self._due_for = self._due_at(sid), sid
        return bool(self._due)

    # ------------------------------------------------------------------ runs
    def begin_run(self) -> None:
        self.run_on = True
        self._look_ahead()

    def end_run(self) -> None:
        """The run ends: the open snippet is finished, nothing stays due or armed, the hook comes off."""
        self.stop()
        self._due, self._due_for = _UNKNOWN, -2
        self._armed = self._start_at = None
        self._idle_at = -2
        self.run_on = False
        self._sync_hook()

    def close(self) -> None:
        self.end_run()
        self.closed = True
        self._sync_hook()

    def start(self, trigger: str, ident: int) -> None:
        """Start a snippet now (finishing the open one)."""
        self._start(trigger, ident)
        self._sync_hook()

    def stop(self) -> None:
        if self.open:
            self.open = False
            self.frames = 0
            self.actions.stop_snippet()

    # ------------------------------------------------------------------ inside
    def _start(self, trigger: str, ident: int) -> None:
        self.stop()
        self._idle_at = -2
        self.open = bool(self.actions.start_snippet(trigger, ident))
        self.frames = 0

    def _frame(self, *, reset: bool) -> None:
        self.actions.frame(reset)
        self.frames += 1
        if self.recording_length and self.frames >= self.recording_length:
            self.stop()

    def _episode_starts(self) -> None:
        self.episode_id += 1
        if self.open and self.recording_length == 0:
            self.stop()
        due: Due = None
        if self.episode_trigger is not None and call_trigger(self.episode_trigger, "episode_trigger", self.episode_id):
            due = ("episode", self.episode_id)
        if self._armed is not None:  # an iteration's episode; one snippet if the episode trigger picked it too
            due, self._armed = ("iteration", self._armed), None
        self.episode_snippet = due is not None
        if due is not None:
            self._start(*due)

    def _due_at(self, sid: int) -> Due:
        """The snippet that starts at step ``sid`` (an iteration's first step, or the step trigger's), or None."""
        if self._start_at is not None:
            it, self._start_at = self._start_at, None
            return ("iteration", it)
        if self.step_trigger is not None and call_trigger(self.step_trigger, "step_trigger", sid):
            return ("step", sid)
        return None

    def _ask(self, sid: int) -> Due:
        """The step trigger about step ``sid`` (raises at its own step)."""
        if self.step_trigger is not None and call_trigger(self.step_trigger, "step_trigger", sid):
            return ("step", sid)
        return None

    def _look_ahead(self) -> None:
        if self.closed:
            return
        nxt = self.step_id + 1
        if self._start_at is not None:
            self._due, self._due_for = None, nxt
        elif self._due_for != nxt:
            try:
                self._due = self._due_at(nxt)
                self._due_for = nxt
            except Exception:  # asked again at that step
                self._due, self._due_for = _UNKNOWN, -2
        self._sync_hook()
        quiet = not (self._hooked or self.open or self._due is not None or self._start_at is not None)
        self._idle_at = nxt if quiet and self._due_for == nxt else -2

    def _want_hook(self) -> bool:
        if not self.run_on or self.closed:
            return False
        return self.open or self.always_hooked or self._due is _UNKNOWN or bool(self._due) or self._start_at is not None

    def _sync_hook(self) -> None:
        want = self._want_hook()
        if want != self._hooked:
            self._hooked = want
            self.actions.hook(want)
