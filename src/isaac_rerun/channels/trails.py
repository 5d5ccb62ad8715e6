"""Trails: the path a body takes, as one line segment per frame from the previous frame's position.

Which bodies: :attr:`SceneLogCfg.trails <isaac_rerun.config.SceneLogCfg.trails>`. Entities:
``/World/trails/<body path without /World>`` — ``/World/trails/envs/env_3/Robot/cart`` per env, or
``/World/trails/envs/instances/Robot/cart`` holding one segment per logged env in the instanced layout. A trail is
broken where its env resets (and at a snippet's first frame); the default blueprint shows every segment from the
snippet's start up to the time cursor, so the line grows as the cursor moves. Colours: one per logged env, by its
position in ``logged_envs``.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun.channels.base import Channel, ChannelContext, Sample, StepRows, TimeColumns, Views, instanced_path

__all__ = ["TRAILS_ROOT", "TrailChannel", "channels", "trail_entities"]

TRAILS_ROOT = "/World/trails"
TRAIL_RADIUS = 0.01  # metres
# one colour per logged env (by its position in logged_envs): Rerun's own categorical palette order
TRAIL_COLORS = [(255, 127, 14), (31, 119, 180), (44, 160, 44), (214, 39, 40), (148, 103, 189), (23, 190, 207)]


def channels(ctx: ChannelContext) -> list[Channel]:
    channel = TrailChannel(ctx)
    return [channel] if len(channel.rows) else []


def trail_rows(ctx: ChannelContext) -> list[int]:
    """The body rows that get a trail (all logged envs); warns about name patterns that match no body."""
    trails = ctx.cfg.trails
    if trails is False:
        return []
    if trails is True:
        return [i for i, b in enumerate(ctx.bodies) if b.root]
    patterns = [re.compile(p) for p in trails]
    rows = [i for i, b in enumerate(ctx.bodies) if any(p.fullmatch(b.name) for p in patterns)]
    unmatched = [p.pattern for p in patterns if not any(p.fullmatch(b.name) for b in ctx.bodies)]
    if unmatched:
        names = sorted({b.name for b in ctx.bodies})
        warnings.warn(
            f"isaac_rerun: `trails` patterns {unmatched} match no body of the scene; its bodies are {names}",
            RuntimeWarning,
            stacklevel=4,
        )
    return rows


def trail_entities(ctx: ChannelContext) -> list[str]:
    """The trail entities of a scene's context, in the per-env layout (one per body row with a trail)."""
    return [_trail_path(ctx.bodies[r].entity) for r in trail_rows(ctx)]


def _trail_path(entity: str) -> str:
    path = entity[len("/World") :] if entity.startswith("/World/") else entity
    return f"{TRAILS_ROOT}{path}"


class TrailChannel(Channel):
    """The trails of the logged envs (see the module docstring)."""

    def __init__(self, ctx: ChannelContext):
        self.ctx = ctx
        rows = trail_rows(ctx)
        bodies = ctx.bodies
        if ctx.instanced:
            # one entity per trail body of the first logged env (global bodies keep their own), all envs its instances
            first = ctx.logged_envs[0]
            index = {(b.env, b.source): r for r, b in enumerate(bodies)}
            sources = [r for r in rows if bodies[r].env in (first, -1)]
            envs = [
                [index[(e, bodies[r].source)] for e in ctx.logged_envs] if bodies[r].env >= 0 else [r] for r in sources
            ]
            self.groups = [np.asarray(g, dtype=np.int64) for g in envs]
            self.entities = [_trail_path(instanced_path(bodies[r].entity, bodies[r].env)) for r in sources]
            self.colors = [[TRAIL_COLORS[ctx.env_position(bodies[r].env) % len(TRAIL_COLORS)] for r in g] for g in envs]
        else:
            self.groups = [np.asarray([r], dtype=np.int64) for r in rows]
            self.entities = [_trail_path(bodies[r].entity) for r in rows]
            self.colors = [[TRAIL_COLORS[ctx.env_position(bodies[r].env) % len(TRAIL_COLORS)]] for r in rows]
        self.rows = np.concatenate(self.groups) if self.groups else np.zeros(0, np.int64)
        # per trail point: the logged env's position (whose reset breaks it)
        self.point_env = np.array([ctx.env_position(bodies[r].env) for r in self.rows], dtype=np.int64)
        self.frames: list[np.ndarray] = []
        self.jumped: list[np.ndarray] = []
        self.prev: np.ndarray | None = None  # the last point sent; None at a snippet's start

    def views(self) -> Views:
        return Views(growing=list(self.entities))

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        self.prev = None
        if static:
            for entity, colors in zip(self.entities, self.colors, strict=True):
                stream.log(entity, rr.LineStrips3D.from_fields(radii=[TRAIL_RADIUS], colors=colors), static=True)

    def gather(self, sample: Sample) -> np.ndarray:
        return sample.poses[self.rows, 0:3]

    def append(self, row: int, data: Any, step: StepRows) -> None:
        self.frames.append(data)
        jumped = step.jumped[self.point_env] if step.jumped is not None else np.zeros(len(self.rows), dtype=bool)
        self.jumped.append(jumped)

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        if not self.frames:
            return
        points = np.stack(self.frames)  # (F, P, 3)
        jumped = np.stack(self.jumped)  # (F, P)
        self.frames, self.jumped = [], []
        prev = np.concatenate([self.prev[None] if self.prev is not None else points[:1], points[:-1]])
        if self.prev is None:
            jumped[0] = True
        self.prev = points[-1].copy()
        start = 0
        for entity, group in zip(self.entities, self.groups, strict=True):
            cols = slice(start, start + len(group))
            start += len(group)
            if len(group) == 1:  # per env: no segment where the env jumped
                rows = np.nonzero(~jumped[:, cols.start])[0]
                if len(rows) == 0:
                    continue
                segments = np.stack([prev[rows, cols.start], points[rows, cols.start]], axis=1)  # (m, 2, 3)
                strips = rr.LineStrips3D.columns(strips=segments).partition([1] * len(rows))
                stream.send_columns(entity, indexes=times(rows), columns=strips)
                continue
            # instanced: one segment per env every frame (a zero-length one where the env jumped), so that segment
            # i is always env i and takes its colour
            a, b = prev[:, cols], points[:, cols]
            a = np.where(jumped[:, cols, None], b, a)
            segments = np.stack([a, b], axis=2).reshape(-1, 2, 3)  # (F * L, 2, 3)
            strips = rr.LineStrips3D.columns(strips=segments).partition([len(group)] * points.shape[0])
            stream.send_columns(entity, indexes=times(None), columns=strips)

    def clear(self) -> None:
        self.frames, self.jumped = [], []
