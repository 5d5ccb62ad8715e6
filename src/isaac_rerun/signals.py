"""What a signal is: the user's own (:class:`Signal`) and the names of the built-in ones, checked at construction.

A signal is a per-env value recorded beside the scene at every frame (:mod:`isaac_rerun.channels.signals` records
them; :mod:`isaac_rerun.envview` finds Isaac Lab's). This module holds only their specification, so that the options
(:mod:`isaac_rerun.config`) and the channels share it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BUILTIN_SIGNALS", "DEFAULT_SIGNALS", "Signal", "check_builtin_signals", "check_signals"]

BUILTIN_SIGNALS = ("rewards", "terminations", "commands", "actions", "joints", "observations")
"""What Isaac Lab's managers and the robot's articulation can add to every recorded frame
(:attr:`RecordingCfg.builtin_signals`, ``--rerun_signals``)."""
DEFAULT_SIGNALS = ("rewards", "terminations", "commands", "actions", "joints")
"""The built-in signals recorded by default (all but the observation terms)."""
_SIGNAL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")


@dataclass(frozen=True)
class Signal:
    """A signal of your own, recorded for every logged env at every frame (:attr:`RecordingCfg.signals`).

    Parameters
    ----------
    read:
        ``read(env) -> (num_envs, k)`` (or ``(num_envs,)``) tensor or array, called with the Isaac Lab env
        (``env.unwrapped``) at each recorded frame — and every step when the rolling history is on. Read the
        simulator's buffers, do not step it. Rows are selected on the device before one host copy.
    columns:
        Names of the ``k`` columns (the plot's series), default ``[0] … [k-1]``; their count is checked against the
        first value read.
    per_step:
        True for a value of the step that led to the frame (a reward, an action): not logged again on the reset
        frame that follows a terminal frame. False (default) for state (a position, a sensor reading).

    Examples
    --------
    >>> from isaac_rerun import RecordingCfg, Signal
    >>> cfg = RecordingCfg(signals={
    ...     "foot_air_time": Signal(lambda env: env.scene["contact_forces"].data.current_air_time,
    ...                             columns=["FL", "FR", "RL", "RR"]),
    ...     "base_height": lambda env: env.scene["robot"].data.root_pos_w.torch[:, 2],
    ... })
    """

    read: Callable[[Any], Any]
    columns: tuple[str, ...] | None = None
    per_step: bool = False

    def __post_init__(self) -> None:
        if not callable(self.read):
            raise TypeError(f"`Signal.read` must be a callable taking the env, got {type(self.read).__name__}")
        if self.columns is not None:
            cols = self.columns
            if isinstance(cols, str) or not isinstance(cols, (list, tuple)) or not cols:
                raise TypeError(f"`Signal.columns` must be None or a non-empty list of names, got {cols!r}")
            if not all(isinstance(c, str) and c for c in cols):
                raise TypeError(f"`Signal.columns` must hold non-empty strings, got {cols!r}")
            object.__setattr__(self, "columns", tuple(cols))
        if not isinstance(self.per_step, bool):
            raise TypeError(f"`Signal.per_step` must be True or False, got {self.per_step!r}")


def check_builtin_signals(value: object, argument: str = "builtin_signals") -> tuple[str, ...]:
    """``value`` as a tuple of :data:`BUILTIN_SIGNALS` names: a list of names, or one comma-separated string
    (``"rewards,joints"``; ``"all"``; ``""`` / ``"none"`` for none); an error names ``argument`` and the valid names."""
    valid = f"names from {list(BUILTIN_SIGNALS)} (a list, or comma-separated text; 'all'; 'none')"
    if isinstance(value, str):
        text = value.strip()
        if text == "all":
            return BUILTIN_SIGNALS
        names: list[Any] = [] if text in ("", "none") else [n.strip() for n in text.split(",")]
    elif isinstance(value, (list, tuple)):
        names = list(value)
    else:
        raise TypeError(f"`{argument}` must be {valid}, got {type(value).__name__}: {value!r}")
    bad = [n for n in names if n not in BUILTIN_SIGNALS]
    if bad:
        raise ValueError(f"`{argument}` must be {valid}, got unknown {bad}")
    return tuple(n for n in BUILTIN_SIGNALS if n in names)


def check_signals(value: object) -> dict[str, Signal]:
    """User signals (:attr:`RecordingCfg.signals`) as ``{name: Signal}``; errors name the signal."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"`signals` must be a dict of name -> Signal or function(env) -> (num_envs, k) tensor, "
            f"got {type(value).__name__}"
        )
    out: dict[str, Signal] = {}
    for name, sig in value.items():
        if not isinstance(name, str) or not _SIGNAL_NAME.match(name):
            raise ValueError(
                f"`signals`: {name!r} is not a valid signal name (letters, digits, '_', '-', '.', "
                "'/' between parts; e.g. 'foot_air_time' or 'feet/air_time')"
            )
        if name.split("/")[0] in ("reward", "action", "episode_return", "episode_length", *BUILTIN_SIGNALS):
            raise ValueError(f"`signals`: {name!r} is taken by a built-in signal; choose another name")
        if isinstance(sig, Signal):
            out[name] = sig
        elif callable(sig):
            out[name] = Signal(sig)
        else:
            raise TypeError(
                f"`signals[{name!r}]` must be a Signal or a function(env) -> (num_envs, k) tensor, "
                f"got {type(sig).__name__}"
            )
    return out
