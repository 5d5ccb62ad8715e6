"""Episode filters: which episodes the rolling history writes after they ended (``RecordingCfg.episode_filter``).

A filter is either

* a function ``episode_filter(ep) -> bool`` called when a candidate env's episode ends, with an
  :class:`~isaac_rerun.history.Episode` (``ep.env``, ``ep.episode_id``, ``ep.episode_return``, ``ep.length``,
  ``ep.terminated``, ``ep.truncated``, ``ep.reasons``, ``ep.info``): True keeps it — e.g.
  ``lambda ep: "base_contact" in ep.reasons``; or
* a **window filter**, an object with ``select(episodes) -> kept episodes`` and a window — every ``window`` env steps,
  or per training iteration (``per_iteration=True``): ``select`` is called with the episodes that ended in the
  window when it closes.

A kept episode's snippet is named ``{name_prefix}-env-{env}-{reason}-episode-{episode_id}``; ``reason`` is the
filter's ``reason`` attribute (else its name, else ``"kept"``).

Examples
--------
>>> from isaac_rerun.filters import terminated, worst_return
>>> f = terminated()
>>> f.reason
'terminated'
>>> terminated("base_contact").reason
'base-contact'
>>> worst_return(window=1000).window, worst_return(per_iteration=True).per_iteration
(1000, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from isaac_rerun.history import Episode

__all__ = ["WindowFilter", "best_return", "reason_of", "terminated", "terminated_episode", "worst_return"]


@runtime_checkable
class WindowFilter(Protocol):
    """A filter that chooses among the episodes that ended in a window (see the module docstring)."""

    window: int | None
    per_iteration: bool
    reason: str

    def select(self, episodes: Sequence[Episode]) -> list[Episode]: ...


def reason_of(episode_filter: Any) -> str:
    """The word a kept episode's snippet name carries for this filter."""
    reason = getattr(episode_filter, "reason", None) or getattr(episode_filter, "__name__", None) or "kept"
    return "kept" if reason == "<lambda>" else str(reason).replace("_", "-")


def terminated_episode(ep: Episode) -> bool:
    """True for an episode that ended by a termination (the robot fell, …), not by a time-out. A plain function, so
    that it survives Isaac Lab's ``configclass.to_dict()`` (as ``"isaac_rerun.filters:terminated_episode"``)."""
    return bool(ep.terminated) and not bool(ep.truncated)


terminated_episode.reason = "terminated"  # type: ignore[attr-defined]


class _TerminatedBy:
    """Keep the episodes that a given termination term ended (``ep.reasons``)."""

    def __init__(self, terms: tuple[str, ...]):
        for t in terms:
            if not isinstance(t, str) or not t:
                raise TypeError(f"`terminated()` takes termination term names (non-empty str), got {t!r}")
        self.terms = terms
        self.reason = "+".join(terms).replace("_", "-")
        self.__name__ = f"terminated_{'_or_'.join(terms)}"

    def __call__(self, ep: Episode) -> bool:
        return any(t in ep.reasons for t in self.terms)

    def __repr__(self) -> str:
        return f"terminated({', '.join(map(repr, self.terms))})"


def terminated(*terms: str) -> Callable[[Episode], bool]:
    """Keep the episodes that ended by a termination, not by a time-out; with ``terms`` (Isaac Lab termination term
    names, e.g. ``terminated("base_contact")``), those that one of these terms ended (:attr:`Episode.reasons
    <isaac_rerun.history.Episode.reasons>`: needs ``"terminations"`` in ``builtin_signals``, the default)."""
    return _TerminatedBy(tuple(terms)) if terms else terminated_episode


class _Extreme:
    """The lowest (or highest) return among the episodes that ended in each window."""

    def __init__(self, reason: str, lowest: bool, window: int | None, per_iteration: bool):
        if per_iteration and window is not None:
            raise ValueError("give `window` (env steps) or `per_iteration=True`, not both")
        if not per_iteration and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
            raise ValueError(f"`window` must be an int >= 1 (env steps) unless `per_iteration=True`, got {window!r}")
        self.reason, self.lowest, self.window, self.per_iteration = reason, lowest, window, per_iteration

    def select(self, episodes: Sequence[Episode]) -> list[Episode]:
        if not episodes:
            return []
        if self.lowest:
            return [min(episodes, key=lambda ep: (ep.episode_return, ep.env))]
        return [max(episodes, key=lambda ep: (ep.episode_return, -ep.env))]

    def __repr__(self) -> str:
        where = "per_iteration=True" if self.per_iteration else f"window={self.window}"
        return f"{'worst' if self.lowest else 'best'}_return({where})"


def worst_return(window: int | None = None, *, per_iteration: bool = False) -> WindowFilter:
    """Keep the episode with the lowest return among those that ended within each window of ``window`` env steps
    (or each training iteration, ``per_iteration=True``); ties go to the lowest env index."""
    return _Extreme("worst", True, window, per_iteration)


def best_return(window: int | None = None, *, per_iteration: bool = False) -> WindowFilter:
    """Keep the episode with the highest return among those that ended within each window (see
    :func:`worst_return`)."""
    return _Extreme("best", False, window, per_iteration)
