"""The channel interface and what the scene hands channels (see :mod:`isaac_rerun.channels`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import rerun as rr

from isaac_rerun._arrays import RowSelector

if TYPE_CHECKING:
    from isaac_rerun.config import SceneLogCfg
    from isaac_rerun.envview import EnvView
    from isaac_rerun.usd_visuals import PrimVisual

__all__ = [
    "INSTANCES",
    "Body",
    "Channel",
    "ChannelContext",
    "Sample",
    "StepRows",
    "TimeColumns",
    "Views",
    "instanced_path",
    "partitioned",
]

TimeColumns = Callable[[Sequence[int] | None], list[rr.TimeColumn]]
"""``times(rows)``: the time columns of the buffered frames ``rows`` (indices into this flush's frames); ``None``:
all of them."""

INSTANCES = "instances"
"""The env segment of entity paths in the instanced layout: ``/World/envs/instances/Robot/pole``."""


@dataclass(frozen=True)
class Body:
    """One logged body (a row of the pose array :meth:`Sample.poses`)."""

    entity: str
    """Entity path in the per-env layout: the body's USD prim path in its env (``/World/envs/env_3/Robot/pole``)."""
    name: str
    """The asset's name for it (Isaac Lab's ``body_names`` / object name)."""
    env: int
    """The env it belongs to; -1 for a global asset (one not cloned per env)."""
    parent: int
    """Row of the nearest logged ancestor body in the same env (nested links), -1 if none."""
    source: int
    """Row of the same body in the first logged env (whose visuals and instanced entity it shares); itself for
    global bodies."""
    root: bool = False
    """The root body of an articulation."""
    kind: str = ""
    """``"articulations"``, ``"rigid_objects"`` or ``"rigid_object_collections"``."""
    prim: str = ""
    """The prim its visuals are read from: its own, or env 0's under replicated physics (default: ``entity``)."""


@dataclass(frozen=True)
class ChannelContext:
    """What the scene hands a channel: read-only facts about the logged envs, nothing else of the scene."""

    logged_envs: tuple[int, ...]
    num_envs: int
    layout: str
    """``"per_env"`` or ``"instanced"`` (resolved)."""
    cfg: SceneLogCfg
    bodies: tuple[Body, ...]
    rows: RowSelector
    """The logged envs' rows of any per-env array (numpy, torch on any device, ``ProxyArray``), as owned numpy."""
    sensors: Mapping[str, Any]
    """``scene.sensors``."""
    wxyz_data: bool
    """Isaac Lab 2.x data (quaternions wxyz): markers are given wxyz too."""
    visuals: Callable[[int], Sequence[PrimVisual]]
    """The USD visuals of body row ``r`` (relative to its rigid frame), read once and cached by the scene."""
    global_visuals: Callable[[], Sequence[PrimVisual]]
    """The visuals outside the envs (relative to the world), read once and cached."""
    global_shift: Callable[[], np.ndarray | None]
    """What the ``"origin"`` env layout subtracts from global prims (the tracked env's origin), None otherwise."""
    resolve_env_pattern: Callable[[str, int], str | None]
    """An Isaac Lab prim-path expression (``{ENV_REGEX_NS}/Robot/.*``) resolved in one env; None if not per env."""
    env: EnvView | None = None
    """The env's managers and articulations, read-only (:class:`~isaac_rerun.envview.EnvView`); None without an env."""

    @property
    def instanced(self) -> bool:
        return self.layout == "instanced"

    def env_position(self, env: int) -> int:
        """Position of ``env`` in ``logged_envs`` (0 for global bodies, env -1)."""
        return self.logged_envs.index(env) if env >= 0 else 0


def instanced_path(entity: str, env: int) -> str:
    """The instanced-layout path of a per-env entity path: its ``env_<i>`` segment becomes ``instances``."""
    if env < 0:
        return entity
    parts = entity.split("/")
    for i, part in enumerate(parts):
        if part == f"env_{env}":
            parts[i] = INSTANCES
            return "/".join(parts)
    return entity


@dataclass
class Sample:
    """The simulator's state for one frame of the logged envs, read at capture time."""

    poses: np.ndarray
    """``(num_rows, 7)`` float32 world poses (position, quaternion xyzw) of every logged body; with
    ``env_layout="origin"`` each env's origin is already subtracted."""
    shift: np.ndarray | None
    """``(len(logged_envs), 3)``: the env origins subtracted from the poses (``env_layout="origin"``), else None."""


@dataclass
class StepRows:
    """What the framework handed over for one frame, for the logged envs (position ``j`` is ``logged_envs[j]``)."""

    rewards: np.ndarray | None = None
    """``(L,)`` rewards of the step that led to this frame; None for reset frames and when not logged."""
    actions: np.ndarray | None = None
    """``(L, A)`` actions of that step; None for reset frames and when not logged."""
    ended: np.ndarray | None = None
    """``(L,)`` bool: the env's episode ended at this frame (it is the terminal frame)."""
    started: np.ndarray | None = None
    """``(L,)`` bool: the env's episode is seen from its start from here on (its returns can be summed up)."""
    jumped: np.ndarray | None = None
    """``(L,)`` bool: the env was reset since the previous frame of this snippet (trails break here)."""
    advance: bool = True
    """False for a frame that took no env step (a reset frame): no reward, same ``sim_time`` as the frame before."""
    reasons: Sequence[str] | None = None
    """``(L,)`` why each env's episode ended at this frame (termination terms joined by ``+``; ``""`` where it did not
    end or the env has no termination manager); None when terminations are not recorded."""


@dataclass
class Views:
    """What a channel adds to the default layout (:mod:`isaac_rerun.blueprint`): plots beside the 3D view, text logs,
    and entities drawn from the snippet's start up to the time cursor (trails)."""

    plots: list[tuple[str, list[str], str]] = field(default_factory=list)
    """``(name, entity paths, slot)``; plots of the same name are merged; ``slot``: ``"top"`` (always shown),
    ``"middle"`` or ``"bottom"`` (tabs)."""
    texts: list[tuple[str, str]] = field(default_factory=list)
    """``(name, entity path)`` of text logs (shown with the bottom tabs)."""
    growing: list[str] = field(default_factory=list)
    """Entities shown from the start of the snippet's frame timeline up to the cursor (trails)."""
    documents: list[tuple[str, str]] = field(default_factory=list)
    """``(name, entity path)`` of text documents (shown with the middle tabs: joint limits)."""

    def plot(self, name: str, contents: list[str], slot: str = "middle") -> None:
        self.plots.append((name, contents, slot))


class Channel:
    """One kind of recorded data (see the module docstring). Subclasses override what they need."""

    key: str = ""
    """A name for the rolling history: a channel with a key and :meth:`read_all` has its data kept every step."""

    max_buffered_frames: int | None = None
    """A bound on frames between sends (large data such as images), None for none."""
    reads_simulator: bool = False
    """True when :meth:`gather` reads state beyond the body poses (a frame from the history cannot feed it)."""

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        """A snippet starts in ``stream``: log the static part when ``static`` (first snippet in that stream)."""

    def gather(self, sample: Sample) -> Any:
        """This frame's data from the simulator (owned arrays), or None."""
        return None

    def append(self, row: int, data: Any, step: StepRows) -> None:
        """Buffer frame ``row`` of this flush (``data`` from :meth:`gather`)."""

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        """Send the buffered frames, then empty the buffer."""

    def clear(self) -> None:
        """Drop the buffered frames (the snippet failed)."""

    def views(self) -> Views | None:
        """This channel's part of the default layout (:mod:`isaac_rerun.blueprint`), or None."""
        return None

    def read_all(self) -> Any:
        """For the rolling history: every env's data now as one ``(num_envs, width)`` tensor on the simulation
        device, or None when this channel's frames are not kept that way."""
        return None

    def from_rows(self, rows: np.ndarray) -> Any:
        """Rows ``(L, width)`` of :meth:`read_all` for the logged envs, as :meth:`gather` returns them."""
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """What this channel tells about the snippet so far, for the recording's properties (see
        :meth:`isaac_rerun.recorder.Recorder.stop`)."""
        return {}

    def close(self) -> None:
        """Release what the channel installed (hooks)."""


def partitioned(values: list[np.ndarray], width: int, dtype: Any = np.float32) -> tuple[np.ndarray, list[int]]:
    """Concatenate per-frame ``(n_i, width)`` arrays into one ``(sum n_i, width)`` array and the lengths ``n_i``."""
    lengths = [len(v) for v in values]
    flat = np.concatenate(values) if values else np.zeros((0, width), dtype)
    return flat.reshape(-1, width), lengths
