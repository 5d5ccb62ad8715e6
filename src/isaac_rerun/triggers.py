"""Triggers: when a recording snippet starts, and how long it lasts.

The semantics are those of Gymnasium 1.x :class:`gymnasium.wrappers.RecordVideo`, mapped onto vectorized,
auto-resetting Isaac Lab environments:

- ``step_trigger(step_id) -> bool`` is called once per **vector step** (``step_id`` = 0 for the first
  ``env.step()`` after the recorder started, then 1, 2, …). When it returns True, a snippet named
  ``{prefix}-step-{step_id}`` starts with the frame of that step.
- ``episode_trigger(episode_id) -> bool`` is called once per **episode of the tracked env** (the first logged env):
  ``episode_id`` = 0 for the episode that starts at ``reset()``, and increases by one each time the tracked env's
  done flag (``terminated | truncated``) is set. When it returns True, a snippet named ``{prefix}-episode-{episode_id}``
  starts with the first frame of that episode.
- ``recording_length``: 0 records until the tracked env's episode ends (the terminal frame is the snippet's last
  frame); N > 0 records exactly N frames, possibly across episode boundaries. (Gymnasium's ``RecordVideo`` writes
  N + 1 frames for ``video_length=N`` because it compares with ``>``; here N means N.)
- A trigger that fires while a snippet is open finishes that snippet and starts a new one.
- If no trigger is given (neither these two nor ``iteration_trigger``) and neither an episode filter nor the NaN
  guard is on, ``episode_trigger`` defaults to :func:`capped_cubic_video_schedule` (episodes 0, 1, 8, 27, …, 729,
  1000, 2000, …).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "Trigger",
    "capped_cubic_video_schedule",
    "every_n",
    "validate_recording_length",
    "validate_trigger",
]

Trigger = Callable[[int], bool]


def capped_cubic_video_schedule(episode_id: int) -> bool:
    """Gymnasium's default schedule: perfect cubes up to 1000, then every 1000th episode.

    Same values as :func:`gymnasium.utils.save_video.capped_cubic_video_schedule`.

    Examples
    --------
    >>> [e for e in range(3000) if capped_cubic_video_schedule(e)][:12]
    [0, 1, 8, 27, 64, 125, 216, 343, 512, 729, 1000, 2000]
    """
    if episode_id < 1000:
        return round(episode_id ** (1.0 / 3)) ** 3 == episode_id
    return episode_id % 1000 == 0


def every_n(n: int, *, offset: int = 0) -> Trigger:
    """A trigger that fires on ids ``offset, offset + n, offset + 2n, …``.

    Examples
    --------
    >>> t = every_n(100)
    >>> [i for i in range(350) if t(i)]
    [0, 100, 200, 300]
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"every_n: `n` must be a positive int, got {n!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"every_n: `offset` must be an int >= 0, got {offset!r}")

    def trigger(i: int) -> bool:
        return i >= offset and (i - offset) % n == 0

    trigger.__name__ = f"every_{n}"
    return trigger


def validate_trigger(name: str, trigger: Any) -> Trigger | None:
    """Return ``trigger`` if it is None or callable, else raise a ``TypeError`` naming the argument."""
    if trigger is None or callable(trigger):
        return trigger
    raise TypeError(
        f"`{name}` must be None or a callable taking an int id and returning bool "
        f"(e.g. `lambda i: i % 100 == 0`), got {type(trigger).__name__}: {trigger!r}"
    )


def validate_recording_length(recording_length: object) -> int:
    """Return ``recording_length`` as an int, or raise naming the argument and the valid values."""
    if isinstance(recording_length, bool) or not isinstance(recording_length, int):
        raise TypeError(
            "`recording_length` must be an int: 0 (record until the episode ends) or N > 0 (record N frames), "
            f"got {type(recording_length).__name__}: {recording_length!r}"
        )
    if recording_length < 0:
        raise ValueError(
            "`recording_length` must be 0 (record until the episode ends) or N > 0 (record N frames), "
            f"got {recording_length}"
        )
    return recording_length
