"""The default layout of a recording, assembled from what each channel contributes (:class:`~.channels.Views`).

The 3D scene on the left; on the right, the ``"top"`` plots (the reward and its terms) always shown, the
``"middle"`` plots (actions, commands, joints, your signals) in tabs, and the ``"bottom"`` plots (episode return and
length) and text logs (episode ends) in tabs. Plots of the same name from several channels are merged (the total
reward and its terms in one plot). The time panel opens on the snippet's ``frame`` timeline; trails show what was
logged from the snippet's start up to the cursor. The recorder builds a layout once per frame timeline and framing
(:class:`BlueprintCache`), not per snippet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import rerun.blueprint as rrb

from isaac_rerun import _compat
from isaac_rerun.channels import Channel, Views

__all__ = ["BlueprintCache", "default_blueprint", "merged_views"]


def merged_views(channels: Sequence[Channel]) -> Views:
    """Every channel's :meth:`~isaac_rerun.channels.Channel.views`, plots of the same name merged (in order)."""
    out = Views()
    index: dict[str, int] = {}
    for channel in channels:
        v = channel.views()
        if v is None:
            continue
        for name, contents, slot in v.plots:
            if name in index:
                i = index[name]
                old = out.plots[i]
                out.plots[i] = (name, old[1] + [c for c in contents if c not in old[1]], old[2])
            else:
                index[name] = len(out.plots)
                out.plots.append((name, list(contents), slot))
        out.texts += v.texts
        out.growing += v.growing
        out.documents += v.documents
    return out


def default_blueprint(
    views: Views,
    *,
    eye: tuple[Any, Any] | None = None,
    frame_timeline: str = "frame",
    scene_origin: str = "/World",
    active: dict[str, str] | None = None,
) -> rrb.Blueprint:
    """The layout for ``views`` (:func:`merged_views`): the 3D view framed by ``eye`` = (position, look target)
    beside the plots, the time panel on ``frame_timeline``; ``active``: the tab shown first per slot (``{"bottom":
    "episodes"}``; default the first)."""

    def plot(name: str, contents: list[str]) -> rrb.TimeSeriesView:
        return rrb.TimeSeriesView(name=name, origin="/", contents=contents)

    slots: dict[str, list[Any]] = {"top": [], "middle": [], "bottom": []}
    for name, contents, slot in views.plots:
        slots.get(slot, slots["middle"]).append(plot(name, contents))
    slots["middle"] += [rrb.TextDocumentView(name=name, origin=path) for name, path in views.documents]
    slots["bottom"] += [rrb.TextLogView(name=name, origin=path) for name, path in views.texts]
    column: list[Any] = list(slots["top"])
    for slot in ("middle", "bottom"):
        if len(slots[slot]) == 1:
            column.append(slots[slot][0])
        elif slots[slot]:
            column.append(rrb.Tabs(*slots[slot], active_tab=(active or {}).get(slot)))
    scene = _compat.spatial3d_view("scene", scene_origin, eye, views.growing, frame_timeline)
    if column:
        main: Any = rrb.Horizontal(scene, rrb.Vertical(*column), column_shares=[3, 2])
    else:
        main = scene
    return rrb.Blueprint(main, *_compat.time_panel(frame_timeline), collapse_panels=True)


class BlueprintCache:
    """The default layout of one set of channels, built once per frame timeline and framing.

    The framing follows the logged envs: a new layout is built only when the look target moved by more than
    ``moved`` metres since the layout was built (a robot that walked away), not per snippet.
    """

    def __init__(self, channels: Sequence[Channel], moved: float = 2.0):
        self.views = merged_views(channels)
        self.moved = moved
        self._built: dict[str, tuple[np.ndarray | None, rrb.Blueprint]] = {}

    def get(self, frame_timeline: str, eye: tuple[Any, Any] | None) -> rrb.Blueprint:
        cached = self._built.get(frame_timeline)
        target = None if eye is None else np.asarray(eye[1], dtype=np.float64)
        if cached is not None:
            old, blueprint = cached
            if old is None or target is None or float(np.linalg.norm(old - target)) <= self.moved:
                return blueprint
        blueprint = default_blueprint(self.views, eye=eye, frame_timeline=frame_timeline)
        self._built[frame_timeline] = (target, blueprint)
        return blueprint
