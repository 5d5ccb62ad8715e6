"""What one recorded frame holds: every channel's data, read at the right moment, with the step's per-env rows.

A **step's frame** is the state at the end of the step **before** the env's auto-reset moved the finished envs: inside
``env.step()``, a hook around the env's ``_reset_idx`` (on only while the schedule wants it) calls
:meth:`FrameTaker.keep_terminal`, which gathers the frame there; when no env reset during the step, it is gathered
after the step. Its rows (:class:`~isaac_rerun.channels.StepRows`) are what the framework handed over for the logged
envs: rewards, actions, which episodes ended and why. A **reset frame** is the next episode's first frame, taken after
the tracked env's episode ended (or after ``env.reset()``); it says which envs are seen from their start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from isaac_rerun._arrays import RowSelector
from isaac_rerun.channels import Channel, StepRows

__all__ = ["FrameTaker"]


class FrameTaker:
    """Take the logged envs' frames for a recorder.

    Parameters
    ----------
    sample:
        Reads the simulator's state now (the scene's :meth:`~isaac_rerun.scene.IsaacLabScene.sample`).
    channels:
        What each frame records (each channel's :meth:`~isaac_rerun.channels.Channel.gather`).
    select:
        The logged envs' rows of per-env arrays (done flags, rewards, actions); its first row is the tracked env.
    reasons:
        Why the given envs' episodes ended (:meth:`~isaac_rerun.envview.EnvView.termination_reasons`), or None when
        terminations are not recorded.
    """

    def __init__(
        self,
        sample: Callable[[], Any],
        channels: Sequence[Channel],
        select: RowSelector,
        reasons: Callable[[list[int]], list[str]] | None,
    ):
        self._sample = sample
        self.channels = list(channels)
        self._select = select
        self._envs = [int(e) for e in select.host]
        self._reasons = reasons
        n = len(self._envs)
        self._terminal: list[Any] | None = None  # the step's frame, gathered inside env.step() before the reset
        self._jumped = np.ones(n, dtype=bool)  # a logged env was reset since the last frame taken
        self._all_started: np.ndarray | None = None  # every env starts now (env.reset()): seen from its start
        self._tracked_only = np.zeros(n, dtype=bool)
        self._tracked_only[:1] = True

    def gather(self) -> list[Any]:
        """This moment's data of every channel, read from the simulator now."""
        sample = self._sample()
        return [channel.gather(sample) for channel in self.channels]

    def keep_terminal(self, wanted: Callable[[], bool]) -> None:
        """Inside ``env.step()``, before the finished envs are reset: keep this step's frame if it is ``wanted()``
        (asked once per step)."""
        if self._terminal is None and wanted():
            self._terminal = self.gather()

    def take_terminal(self) -> list[Any] | None:
        """The frame kept inside the step that just returned (None if none was), handed over once."""
        terminal, self._terminal = self._terminal, None
        return terminal

    def env_reset(self, started: bool) -> None:
        """``env.reset()`` reset every env: each jumps; ``started`` True while the schedule takes the reset frame
        (each env is seen from its start), False after."""
        self._terminal = None
        self._jumped[:] = True
        self._all_started = np.ones(len(self._envs), dtype=bool) if started else None

    def step_frame(
        self, terminal: list[Any] | None, dones: Any, rewards: Any, actions: Any, truncated: Any
    ) -> tuple[list[Any], StepRows]:
        """The step's frame (``terminal``, or gathered now) and its rows from the step's per-env arrays."""
        select = self._select
        ended = select(dones, dtype=bool).reshape(-1)
        if truncated is not None:
            ended |= select(truncated, dtype=bool).reshape(-1)
        reasons = None
        if self._reasons is not None:
            reasons = [""] * len(ended)
            idx = np.nonzero(ended)[0]
            for j, why in zip(idx, self._reasons([self._envs[j] for j in idx]), strict=True):
                reasons[j] = why
        rows = StepRows(
            rewards=None if rewards is None else select(rewards).reshape(-1),
            actions=None if actions is None else select(actions).reshape(len(self._envs), -1),
            ended=ended,
            jumped=self._jumped.copy(),
            reasons=reasons,
        )
        self._jumped = ended.copy()
        return (terminal if terminal is not None else self.gather()), rows

    def reset_frame(self, tracked_started: bool) -> tuple[list[Any], StepRows]:
        """The next episode's first frame, after the envs that ended were reset. ``tracked_started``: the tracked
        env's new episode began a snippet (it is seen from its start)."""
        started = self._all_started
        if started is None and tracked_started:
            started = self._tracked_only
        rows = StepRows(started=started, jumped=self._jumped.copy(), advance=False)
        self._jumped[:] = False
        return self.gather(), rows
